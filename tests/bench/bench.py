"""The benchmark of issue 14: site.yml against the kubectl baseline of the same objects.

Run it with ``scripts/bench`` (which starts a local control plane of its own when none runs);
``python -m tests.bench.bench --help`` lists the options. What it does, in order:

1. Sets the operator simulator's delays to 0 (ConfigMap ``localcluster-system/simulator``;
   the previous configuration is put back at the end), starts an S3 server playing MinIO
   (as the integration tests do: ``tests/integration/s3server.py``) unless one is given.
2. Runs ``site.yml`` with the defaults once (on a fresh control plane that is the cold
   run of the whole platform), then, for the default site and for N generated projects
   (a data connection and a workbench each), runs pairs of:
   - Ansible: ``site.yml`` as the automation identity, cold (the generated projects
     do not exist) and again (idempotent);
   - kubectl: ``kubectl apply --server-side`` of the same objects and ``kubectl wait`` on
     the same conditions, as the same identity, cold and again;
   interleaved (the order of the two alternates from pair to pair), the generated
   projects deleted before every cold run (not timed).
3. Counts the API requests of each run by verb in the audit log (the byte range the run
   wrote), its peak memory (largest ``ru_maxrss`` of the processes it ran), its wall time.
4. Measures the wait reaction: an admin writes a ConfigMap that ``rhods.gitops.k8s_wait``
   awaits; the time from that write (audit log) to the next task's timestamp.
5. Writes the table (median and spread of each row, the ratio to kubectl) to a Markdown
   file between markers, keeping the prose around it.

"The same objects": after Ansible has converged a set of variables, every object whose
managed fields say that the collection's field manager (``rhods.gitops``) applied it and
that belongs to this run's ApplySets (or is one of the platform objects the collection
applies outside them: the operators' Subscriptions and OperatorGroups, their Namespace,
the DataScienceCluster, the Argo CD controller's ClusterRole and binding) is read back and
reduced to exactly the fields that field manager owns (``fieldsV1``). Secrets included.
The ApplySet parent ConfigMaps are not: they are the collection's bookkeeping, which a
plain ``kubectl apply`` does not keep.

Not a test: nothing here asserts a time. ``tests/integration/test_site_bench.py`` runs
``--smoke`` and checks only what cannot be flaky.
"""

import argparse
import copy
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

# pylint: disable=wrong-import-position
from tests.integration.ansible import (  # noqa: E402
    localcluster_env, parse_recap, playbook_env)
from tests.integration.audit import AUTOMATION_USER  # noqa: E402

SITE = os.path.join(REPO_ROOT, "site.yml")
FIELD_MANAGER = "rhods.gitops"
KUBECTL_MANAGER = "bench-kubectl"
STATE_NAMESPACE = "rhods-gitops-bench"
PROJECT_PREFIX = "bench-p"
PART_OF = "applyset.kubernetes.io/part-of"
APPLYSET_ID = "applyset.kubernetes.io/id"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
BEGIN = "<!-- bench:begin (scripts/bench writes what is between these markers) -->"
END = "<!-- bench:end -->"
# The kinds the collection writes: where the captured objects are looked for.
KINDS = ["namespaces", "secrets", "configmaps", "services", "serviceaccounts",
         "persistentvolumeclaims", "deployments.apps", "roles.rbac.authorization.k8s.io",
         "rolebindings.rbac.authorization.k8s.io", "clusterroles.rbac.authorization.k8s.io",
         "clusterrolebindings.rbac.authorization.k8s.io", "routes.route.openshift.io",
         "subscriptions.operators.coreos.com", "operatorgroups.operators.coreos.com",
         "datascienceclusters.datasciencecluster.opendatahub.io",
         "imagestreams.image.openshift.io", "buildconfigs.build.openshift.io",
         "notebooks.kubeflow.org", "networkpolicies.networking.k8s.io",
         "odhdashboardconfigs.opendatahub.io"]
# Components in the order site.yml delivers them (ApplySet parents rhods-gitops-<name>).
COMPONENT_ORDER = ["gitops", "rhods", "minio", "dsp", "custom-notebook", "other"]
OPERATOR_NAMESPACES = {"openshift-operators": "gitops", "redhat-ods-operator": "rhods"}


# ---------------------------------------------------------------- the cluster

class Env:
    """The local control plane (or the test cluster): kubeconfigs, audit log, kubectl."""

    def __init__(self, admin, automation, audit_log, kube_bin):
        self.admin = admin
        self.automation = automation
        self.audit_log = audit_log
        self.kube_bin = kube_bin
        self.kubectl_path = os.path.join(kube_bin, "kubectl")

    @classmethod
    def from_localcluster(cls):
        env, out = localcluster_env()
        kube_bin = re.search(r"PATH='([^']+)'", out).group(1)
        return cls(env["KUBECONFIG"], env["LOCALCLUSTER_KUBECONFIG_AUTOMATION"],
                   env["LOCALCLUSTER_AUDIT_LOG"], kube_bin)

    def process_env(self, kubeconfig):
        env = playbook_env(kubeconfig, self.kube_bin)
        return env

    def kubectl(self, *args, kubeconfig=None, input_text=None, check=True, timeout=600):
        res = subprocess.run([self.kubectl_path, *args], env=self.process_env(
            kubeconfig or self.admin), capture_output=True, text=True, input=input_text,
            check=False, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args)[:300], res.stderr[-2000:]))
        return res

    def get_json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)


class Meter:
    """Runs the processes of one measured run: wall time, peak RSS, audit window."""

    def __init__(self, env):
        self.env = env
        self.peak_kib = 0
        self.start_offset = None
        self.end_offset = None
        self.started = self.elapsed = None

    def __enter__(self):
        time.sleep(0.3)  # the audit backend writes asynchronously: let earlier events land
        self.start_offset = os.path.getsize(self.env.audit_log)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.elapsed = time.monotonic() - self.started
        time.sleep(0.8)
        self.end_offset = os.path.getsize(self.env.audit_log)
        return False

    def run(self, cmd, env, input_text=None, timeout=1800):
        """Run one process; its output; raises on failure."""
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            proc = subprocess.Popen(  # pylint: disable=consider-using-with
                cmd, env=env, stdout=out, stderr=err, cwd=REPO_ROOT,
                stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL)
            if input_text is not None:
                proc.stdin.write(input_text.encode())
                proc.stdin.close()
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    raise RuntimeError("timed out: %s" % " ".join(cmd)[:300])
                time.sleep(0.02)
            proc.returncode = os.waitstatus_to_exitcode(status)
            self.peak_kib = max(self.peak_kib, usage.ru_maxrss)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(), err.read().decode()
        return proc.returncode, stdout, stderr

    def events(self, user=AUTOMATION_USER):
        with open(self.env.audit_log, "rb") as handle:
            handle.seek(self.start_offset)
            chunk = handle.read(self.end_offset - self.start_offset)
        out = []
        for line in chunk.decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") == "ResponseComplete" and \
                    (event.get("user") or {}).get("username") == user:
                out.append(event)
        return out


def is_discovery(event):
    """A request for API discovery or the OpenAPI document (not about any object)."""
    return not event.get("objectRef") and event.get("verb") == "get"


def is_write(event):
    return event.get("verb") in WRITE_VERBS and "dryRun=All" not in event.get("requestURI", "")


def count_requests(events):
    verbs = Counter()
    for event in events:
        verb = event.get("verb", "?")
        if is_discovery(event):
            verb = "discovery"
        elif "dryRun=All" in event.get("requestURI", ""):
            verb = "dry-run " + verb
        verbs[verb] += 1
    return {"total": len(events), "writes": sum(1 for e in events if is_write(e)),
            "discovery": verbs.get("discovery", 0), "verbs": dict(verbs)}


# ---------------------------------------------------------------- variables

def role_defaults(role):
    with open(os.path.join(REPO_ROOT, "roles", role, "defaults", "main.yml"),
              encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def project_names(count):
    return ["%s%03d" % (PROJECT_PREFIX, i) for i in range(1, count + 1)]


def site_variables(s3_endpoint, projects=0):
    """The default site, plus ``projects`` generated projects with a data connection and a
    workbench each (the connection on the demo's bucket, the workbench on the demo's image)."""
    out = {"minio_s3_endpoint": s3_endpoint, "dsp_minio_verify_endpoint": s3_endpoint,
           "rhods_gitops_state_namespace": STATE_NAMESPACE}
    if projects:
        dsp = role_defaults("dsp")["dsp_projects"]
        workbenches = role_defaults("custom_notebook")["custom_notebook_workbenches"]
        for name in project_names(projects):
            dsp.append({"name": name, "display_name": "Bench " + name,
                        "connections": [{"name": "minio", "display_name": "MinIO",
                                         "type": "minio", "bucket": "notebook-demo"}]})
            workbenches.append({"name": "wb", "namespace": name, "display_name": "wb",
                                "image": "lightgbm:3.3.5", "size": "Small",
                                "storage_size": "1Gi", "shm_size": "2Gi",
                                "data_connections": ["aws-connection-minio"]})
        out["dsp_projects"] = dsp
        out["custom_notebook_workbenches"] = workbenches
    return out


# ---------------------------------------------------------------- the objects

def owned_part(value, fields):
    """The part of ``value`` that the managed-fields trie ``fields`` (fieldsV1) covers."""
    children = {k: v for k, v in (fields or {}).items() if k != "."}
    if not children or value is None:
        return copy.deepcopy(value)
    if isinstance(value, dict):
        out = {}
        for key, sub in children.items():
            if key.startswith("f:") and key[2:] in value:
                out[key[2:]] = owned_part(value[key[2:]], sub)
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            for key, sub in children.items():
                if key.startswith("k:"):
                    wanted = json.loads(key[2:])
                    if isinstance(item, dict) and all(item.get(k) == v
                                                      for k, v in wanted.items()):
                        out.append(owned_part(item, sub))
                        break
                elif key.startswith("v:") and json.loads(key[2:]) == item:
                    out.append(copy.deepcopy(item))
                    break
        return out
    return copy.deepcopy(value)


def applied_configuration(obj):
    """``obj`` reduced to what the collection's field manager applied, or None."""
    fields = [e.get("fieldsV1") for e in obj["metadata"].get("managedFields") or []
              if e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply"]
    if not fields:
        return None
    out = owned_part(obj, fields[0])
    out["apiVersion"], out["kind"] = obj["apiVersion"], obj["kind"]
    meta = out.setdefault("metadata", {})
    meta["name"] = obj["metadata"]["name"]
    if obj["metadata"].get("namespace"):
        meta["namespace"] = obj["metadata"]["namespace"]
    return out


def applysets(env):
    """{ApplySet id: component} of this benchmark's state namespace."""
    res = env.kubectl("get", "configmaps", "-n", STATE_NAMESPACE, "-o", "json", check=False)
    if res.returncode != 0:
        return {}
    out = {}
    for item in json.loads(res.stdout)["items"]:
        labels = item["metadata"].get("labels") or {}
        if APPLYSET_ID in labels:
            out[labels[APPLYSET_ID]] = item["metadata"]["name"].replace("rhods-gitops-", "", 1)
    return out


def component_of(obj, sets):
    """Which component (delivery phase) an object of the collection belongs to, or None when
    it is not this benchmark's (another ApplySet's, or not one the collection delivers)."""
    meta = obj["metadata"]
    labels = meta.get("labels") or {}
    if PART_OF in labels:
        return sets.get(labels[PART_OF])
    kind = obj["kind"]
    if kind in ("Subscription", "OperatorGroup"):
        return OPERATOR_NAMESPACES.get(meta.get("namespace"))
    if kind == "Namespace":
        return OPERATOR_NAMESPACES.get(meta["name"])
    if kind == "DataScienceCluster":
        return "rhods"
    if kind in ("ClusterRole", "ClusterRoleBinding") and \
            labels.get("app.kubernetes.io/part-of") == "rhods-gitops":
        return "gitops"
    return None


def capture(env):
    """The objects the collection applied for this benchmark's variables, by component."""
    sets = applysets(env)
    listing = env.get_json(",".join(KINDS), "-A", "--show-managed-fields")
    out = {name: [] for name in COMPONENT_ORDER}
    for obj in listing["items"]:
        component = component_of(obj, sets)
        if component is None:
            continue
        config = applied_configuration(obj)
        if config is not None:
            out[component if component in out else "other"].append(config)
    for objects in out.values():  # namespaces first: a file is applied in its order
        objects.sort(key=lambda o: (o["kind"] != "Namespace", o["kind"],
                                    o["metadata"].get("namespace", ""), o["metadata"]["name"]))
    return out


def count_objects(objects):
    return sum(len(v) for v in objects.values())


# ---------------------------------------------------------------- the two tools

class Result:
    def __init__(self, tool, label, elapsed, peak_kib, requests, changed=None):
        self.tool, self.label = tool, label
        self.elapsed, self.peak_kib, self.requests, self.changed = (
            elapsed, peak_kib, requests, changed)

    def as_dict(self):
        return {"tool": self.tool, "label": self.label, "elapsed": round(self.elapsed, 2),
                "peak_mib": round(self.peak_kib / 1024.0, 1), "requests": self.requests,
                "changed": self.changed}


def run_ansible(env, variables, label, extra_env=None):
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="bench-vars-",
                                     delete=False) as handle:
        json.dump(variables, handle)
        vars_file = handle.name
    os.chmod(vars_file, 0o600)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
           "-e", "@" + vars_file, SITE]
    process_env = playbook_env(env.automation, env.kube_bin, extra_env)
    try:
        with Meter(env) as meter:
            rc, stdout, stderr = meter.run(cmd, process_env)
    finally:
        os.unlink(vars_file)
    if rc != 0:
        raise RuntimeError("site.yml failed (%s):\n%s\n%s" % (label, stdout[-6000:],
                                                              stderr[-2000:]))
    recap = parse_recap(stdout)
    changed = sum(c.get("changed", 0) for c in recap.values())
    return Result("ansible", label, meter.elapsed, meter.peak_kib,
                  count_requests(meter.events()), changed)


class KubectlBaseline:
    """``kubectl apply --server-side`` of the captured objects and ``kubectl wait`` on what
    site.yml waits for, component by component in site.yml's order."""

    def __init__(self, env, objects, timeout=900):
        self.env = env
        self.objects = objects
        self.timeout = "%ds" % timeout
        self.meter = None
        self.process_env = env.process_env(env.automation)

    def kubectl(self, *args, input_text=None):
        rc, stdout, stderr = self.meter.run([self.env.kubectl_path, *args], self.process_env,
                                            input_text=input_text)
        if rc != 0:
            raise RuntimeError("kubectl %s: %s" % (" ".join(args)[:300], stderr[-2000:]))
        return stdout

    def apply(self, objects):
        if objects:
            self.kubectl("apply", "--server-side", "--field-manager=" + KUBECTL_MANAGER,
                         "-f", "-", input_text=yaml.safe_dump_all(objects))

    def wait(self, target, condition, namespace=None):
        args = ["wait", target, "--for=" + condition, "--timeout=" + self.timeout]
        if namespace:
            args += ["-n", namespace]
        self.kubectl(*args)

    def wait_operator(self, subscription):
        """CSV Succeeded and its CRDs Established (OLM names the CSV in the Subscription)."""
        namespace = subscription["metadata"]["namespace"]
        target = "subscription.operators.coreos.com/" + subscription["metadata"]["name"]
        self.wait(target, "jsonpath={.status.installedCSV}", namespace)
        csv_name = self.kubectl("get", target, "-n", namespace, "-o",
                                "jsonpath={.status.installedCSV}").strip()
        csv = "clusterserviceversion.operators.coreos.com/" + csv_name
        self.wait(csv, "jsonpath={.status.phase}=Succeeded", namespace)
        crds = self.kubectl("get", csv, "-n", namespace, "-o",
                            "jsonpath={.spec.customresourcedefinitions.owned[*].name}").split()
        if crds:
            self.kubectl("wait", "--for=condition=Established", "--timeout=" + self.timeout,
                         *["crd/" + name for name in sorted(set(crds))])

    def by_kind(self, component, kind):
        return [o for o in self.objects.get(component, []) if o["kind"] == kind]

    def run(self, label):
        with Meter(self.env) as self.meter:
            for component in COMPONENT_ORDER:
                self.deliver(component)
        return Result("kubectl", label, self.meter.elapsed, self.meter.peak_kib,
                      count_requests(self.meter.events()))

    def deliver(self, component):
        objects = self.objects.get(component, [])
        if not objects:
            return
        if component in ("gitops", "rhods"):
            # The operator first, then what needs its CRDs.
            olm = [o for o in objects if o["kind"] in ("Namespace", "OperatorGroup",
                                                       "Subscription")]
            self.apply(olm)
            for subscription in self.by_kind(component, "Subscription"):
                self.wait_operator(subscription)
            rest = [o for o in objects if o not in olm]
            if component == "gitops":
                self.wait("argocd.argoproj.io/openshift-gitops", "jsonpath={.status.phase}="
                          "Available", "openshift-gitops")
                self.apply(rest)
                return
            self.apply(rest)
            if self.by_kind(component, "DataScienceCluster"):
                self.wait("dscinitialization.dscinitialization.opendatahub.io/default-dsci",
                          "jsonpath={.status.phase}=Ready")
                for dsc in self.by_kind(component, "DataScienceCluster"):
                    self.wait("datasciencecluster.datasciencecluster.opendatahub.io/"
                              + dsc["metadata"]["name"], "jsonpath={.status.phase}=Ready")
                self.wait("route.route.openshift.io/rhods-dashboard",
                          "jsonpath={.status.ingress[0].host}", "redhat-ods-applications")
                self.wait("imagestream.image.openshift.io/s2i-generic-data-science-notebook",
                          "jsonpath={.status.tags[?(@.tag==\"2025.2\")].tag}=2025.2",
                          "redhat-ods-applications")
            return
        self.apply(objects)
        for kind, condition in (
                ("Deployment", "condition=Available"),
                ("Route", "jsonpath={.status.ingress[0].host}")):
            for obj in self.by_kind(component, kind):
                self.wait("%s/%s" % (kind.lower(), obj["metadata"]["name"]), condition,
                          obj["metadata"]["namespace"])
        for stream in self.by_kind(component, "ImageStream"):
            for tag in stream.get("spec", {}).get("tags", []) or []:
                self.wait("imagestream.image.openshift.io/" + stream["metadata"]["name"],
                          "jsonpath={.status.tags[?(@.tag==\"%s\")].tag}=%s" % (
                              tag["name"], tag["name"]), stream["metadata"]["namespace"])
        notebooks = self.by_kind(component, "Notebook")
        if notebooks:
            # One command for all of them: every Notebook of this component's ApplySet.
            part_of = notebooks[0]["metadata"]["labels"][PART_OF]
            self.kubectl("wait", "notebooks.kubeflow.org", "-A", "-l", PART_OF + "=" + part_of,
                         "--for=jsonpath={.status.readyReplicas}=1",
                         "--timeout=" + self.timeout)


def release_kubectl_fields(env, objects):
    """Give up the baseline's field ownership again (an apply of nothing but the identity):
    fields the collection owns stay, so later runs of the collection see only its own."""
    minimal = []
    for group in objects.values():
        for obj in group:
            meta = {"name": obj["metadata"]["name"]}
            if obj["metadata"].get("namespace"):
                meta["namespace"] = obj["metadata"]["namespace"]
            minimal.append({"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                            "metadata": meta})
    if minimal:
        env.kubectl("apply", "--server-side", "--field-manager=" + KUBECTL_MANAGER, "-f", "-",
                    input_text=yaml.safe_dump_all(minimal), check=False)


def delete_projects(env):
    """Delete the generated projects (their namespaces) and wait until they are gone."""
    names = [n["metadata"]["name"] for n in env.get_json("namespaces")["items"]
             if n["metadata"]["name"].startswith(PROJECT_PREFIX)]
    if names:
        env.kubectl("delete", "namespace", "--wait=true", "--timeout=600s",
                    "--ignore-not-found", *names, timeout=700)


# ---------------------------------------------------------------- simulator, S3

def set_simulator_delays(env, delays):
    """Merge ``delays`` into the simulator's configuration; the previous one, or None."""
    res = env.kubectl("get", "configmap", "simulator", "-n", "localcluster-system", "-o",
                      "json", check=False)
    if res.returncode != 0:
        return None
    original = (json.loads(res.stdout).get("data") or {}).get("config.yaml") or "{}"
    config = yaml.safe_load(original) or {}
    config.setdefault("delays", {}).update(delays)
    write_simulator_config(env, yaml.safe_dump(config, sort_keys=True))
    return original


def write_simulator_config(env, text):
    env.kubectl("patch", "configmap", "simulator", "-n", "localcluster-system", "--type=merge",
                "-p", json.dumps({"data": {"config.yaml": text}}))
    time.sleep(0.3)  # the simulator caches its configuration for 0.2 s


ZERO_DELAYS = {"argocd": 0, "dsci": 0, "dsc": 0, "build": 0, "route": 0}


# ---------------------------------------------------------------- wait reaction

REACTION_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: sample
      ansible.builtin.include_tasks: {tasks}
      loop: "{{{{ range(1, {count} + 1) | list }}}}"
      loop_control:
        loop_var: sample
"""
REACTION_TASKS = """
- name: wait {{ sample }}
  rhods.gitops.k8s_wait:
    api_version: v1
    kind: ConfigMap
    namespace: {namespace}
    name: "bench-reaction-{{{{ sample }}}}"
    condition: "data.ready == 'true'"
    wait_timeout: 60
- name: returned {{ sample }}
  ansible.builtin.debug:
    msg: "RETURNED {{{{ sample }}}} {{{{ now(utc=true).timestamp() }}}}"
"""


def _epoch(stamp):
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def wait_reaction(env, samples, namespace=STATE_NAMESPACE):
    """Seconds from the status write (audit log stageTimestamp) to the next task's start."""
    env.kubectl("create", "namespace", namespace, check=False)
    names = ["bench-reaction-%d" % i for i in range(1, samples + 1)]
    env.kubectl("delete", "configmap", "-n", namespace, "--ignore-not-found", *names)
    env.kubectl("apply", "--server-side", "--field-manager=bench", "-f", "-",
                input_text=yaml.safe_dump_all([{
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": n, "namespace": namespace},
                    "data": {"ready": "false"}} for n in names]))
    workdir = tempfile.mkdtemp(prefix="bench-reaction-")
    tasks = os.path.join(workdir, "tasks.yml")
    play = os.path.join(workdir, "play.yml")
    with open(tasks, "w", encoding="utf-8") as handle:
        handle.write(REACTION_TASKS.format(namespace=namespace))
    with open(play, "w", encoding="utf-8") as handle:
        handle.write(REACTION_PLAY.format(tasks=tasks, count=samples))
    start = os.path.getsize(env.audit_log)
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
         play], env=playbook_env(env.automation, env.kube_bin), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    output = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout), daemon=True)
    reader.start()
    writer_api = env.process_env(env.admin)
    try:
        for name in names:
            # Write once the module has read the object (its GET or LIST is in the audit log)
            # and had a moment to open its watch.
            if not _await_read(env.audit_log, start, name, proc):
                break
            time.sleep(0.5)
            subprocess.run([env.kubectl_path, "patch", "configmap", name, "-n", namespace,
                            "--type=merge", "-p", '{"data":{"ready":"true"}}'],
                           env=writer_api, capture_output=True, check=True)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    reader.join(10)
    text = "".join(output)
    if proc.returncode != 0:
        raise RuntimeError("wait reaction play failed:\n" + text[-4000:])
    returned = {int(m.group(1)): float(m.group(2))
                for m in re.finditer(r"RETURNED (\d+) ([0-9.]+)", text)}
    time.sleep(0.8)
    written = {}
    with open(env.audit_log, "rb") as handle:
        handle.seek(start)
        for line in handle.read().decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            ref = event.get("objectRef") or {}
            if event.get("stage") == "ResponseComplete" and event.get("verb") == "patch" \
                    and ref.get("resource") == "configmaps" and ref.get("namespace") == namespace \
                    and ref.get("name", "").startswith("bench-reaction-"):
                written[int(ref["name"].rsplit("-", 1)[1])] = _epoch(event["stageTimestamp"])
    env.kubectl("delete", "configmap", "-n", namespace, "--ignore-not-found", *names)
    return [returned[i] - written[i] for i in sorted(returned) if i in written]


def _await_read(audit_log, start, name, proc, timeout=120):
    deadline = time.monotonic() + timeout
    offset = start
    while time.monotonic() < deadline and proc.poll() is None:
        with open(audit_log, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        chunk = chunk[:chunk.rfind(b"\n") + 1]  # whole lines only; the rest comes next round
        offset += len(chunk)
        for line in chunk.decode("utf-8", "replace").splitlines():
            if name in line:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if (event.get("user") or {}).get("username") == AUTOMATION_USER and \
                        event.get("verb") in ("get", "list") and \
                        re.search(re.escape(name) + r"($|[^0-9])", event.get("requestURI", "")):
                    return True
        time.sleep(0.05)
    return False


# ---------------------------------------------------------------- the report

def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def spread(values):
    return "%.1f-%.1f" % (min(values), max(values)) if len(values) > 1 else "-"


def summarize(rows):
    """Table rows: per (row label, phase) the medians of both tools and the ratio."""
    out = []
    for row in rows:
        ans = [r for r in row["runs"] if r.tool == "ansible"]
        kub = [r for r in row["runs"] if r.tool == "kubectl"]
        item = {"row": row["label"], "objects": row["objects"], "pairs": min(len(ans), len(kub))
                if kub else len(ans)}
        for tool, runs in (("ansible", ans), ("kubectl", kub)):
            if not runs:
                item[tool] = None
                continue
            walls = [r.elapsed for r in runs]
            requests = [r.requests for r in runs]
            item[tool] = {
                "wall_median": statistics.median(walls), "wall_spread": spread(walls),
                "requests_median": statistics.median([q["total"] for q in requests]),
                "writes_max": max(q["writes"] for q in requests),
                "discovery_median": statistics.median([q["discovery"] for q in requests]),
                "verbs": _median_verbs(requests),
                "peak_mib": max(r.peak_kib for r in runs) / 1024.0,
                "changed_max": max((r.changed or 0) for r in runs) if tool == "ansible" else None,
            }
        if item["ansible"] and item["kubectl"]:
            item["ratio"] = item["ansible"]["wall_median"] / max(item["kubectl"]["wall_median"],
                                                                 1e-6)
        else:
            item["ratio"] = None
        out.append(item)
    return out


def _median_verbs(requests):
    verbs = sorted({v for q in requests for v in q["verbs"]})
    return {v: statistics.median([q["verbs"].get(v, 0) for q in requests]) for v in verbs}


def verbs_text(verbs):
    order = ["discovery", "get", "list", "watch", "create", "patch", "update", "delete"]
    keys = [k for k in order if k in verbs] + sorted(k for k in verbs if k not in order)
    return " ".join("%s %g" % (k, verbs[k]) for k in keys if verbs[k])


def render(summary, reaction, meta):
    lines = [BEGIN, "",
             "Measured %s on %s (%s), simulator delays 0, %s. Wall: median over the pairs "
             "(spread min-max); requests: median per run, by verb, from the audit log, as "
             "the automation identity; writes: the most any run made; peak RSS: the largest "
             "process of any run. Ratio: wall of Ansible / wall of kubectl." % (
                 meta["date"], meta["host"], meta["cores"], meta["cluster"]), "",
             "| Row | Objects | Pairs | Ansible wall s | kubectl wall s | Ratio | "
             "Ansible requests (writes) | kubectl requests (writes) | Ansible req./object "
             "beyond discovery | Peak RSS MiB Ansible / kubectl |",
             "|---|---:|---:|---|---|---:|---|---|---:|---|"]
    for item in summary:
        ans, kub = item["ansible"], item["kubectl"]
        per_object = (ans["requests_median"] - ans["discovery_median"]) / max(item["objects"], 1)
        lines.append("| %s | %d | %d | %.1f (%s) | %s | %s | %g (%d) | %s | %.2f | %.0f / %s |" % (
            item["row"], item["objects"], item["pairs"], ans["wall_median"], ans["wall_spread"],
            "%.1f (%s)" % (kub["wall_median"], kub["wall_spread"]) if kub else "-",
            "%.2f" % item["ratio"] if item["ratio"] is not None else "-",
            ans["requests_median"], ans["writes_max"],
            "%g (%d)" % (kub["requests_median"], kub["writes_max"]) if kub else "-",
            per_object, ans["peak_mib"], "%.0f" % kub["peak_mib"] if kub else "-"))
    lines += ["", "Requests by verb (median per run):", "",
              "| Row | Ansible | kubectl |", "|---|---|---|"]
    for item in summary:
        lines.append("| %s | %s | %s |" % (
            item["row"], verbs_text(item["ansible"]["verbs"]),
            verbs_text(item["kubectl"]["verbs"]) if item["kubectl"] else "-"))
    if reaction:
        lines += ["", "Wait reaction (an admin's write of the awaited field, audit log, to the "
                  "start of the next task, %d samples): p50 %.3f s, p95 %.3f s, max %.3f s." % (
                      len(reaction), percentile(reaction, 0.5), percentile(reaction, 0.95),
                      max(reaction))]
    lines += ["", END]
    return "\n".join(lines)


def write_report(path, block):
    text = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = (text.rstrip() + "\n\n" if text else "# Performance\n\n") + block + "\n"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


# ---------------------------------------------------------------- the benchmark

def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def raw(rows, reaction):
    """The results as plain data (``--json``)."""
    return {"rows": [{"label": r["label"], "objects": r.get("objects"),
                      "runs": [x.as_dict() for x in r["runs"]]} for r in rows],
            "reaction": reaction}


def from_raw(data):
    """``raw``'s data back into rows (``--report-from``)."""
    rows = []
    for row in data["rows"]:
        runs = [Result(x["tool"], x["label"], x["elapsed"], x["peak_mib"] * 1024.0,
                       x["requests"], x["changed"]) for x in row["runs"]]
        rows.append({"label": row["label"], "objects": row["objects"], "runs": runs})
    return rows, data.get("reaction") or []


def benchmark(env, sizes, pairs, s3_endpoint, site_row=True, reaction_samples=20,
              cluster_label="local control plane", checkpoint=None):
    """Run everything; returns {"rows": [...], "summary": [...], "reaction": [...], ...}.
    ``checkpoint``: a file the raw results so far are written to after every run."""
    original = set_simulator_delays(env, ZERO_DELAYS)
    rows = []

    def save():
        if checkpoint:
            with open(checkpoint, "w", encoding="utf-8") as handle:
                json.dump(raw(rows, []), handle, indent=1)
    try:
        fresh = env.kubectl("get", "subscriptions.operators.coreos.com", "-A", "-o", "name",
                            check=False).stdout.strip() == ""
        base = site_variables(s3_endpoint)
        log("site.yml, defaults (%s)" % ("cold: fresh control plane" if fresh else
                                         "first run of this benchmark"))
        first = run_ansible(env, base, "first")
        log("  %.1fs, %d requests" % (first.elapsed, first.requests["total"]))
        objects = capture(env)
        if fresh:
            rows.append({"label": "site (defaults), cold, fresh control plane",
                         "objects": count_objects(objects), "runs": [first]})
        if site_row:
            row = {"label": "site (defaults), idempotent", "objects": count_objects(objects),
                   "runs": []}
            rows.append(row)
            for pair in range(pairs):
                for tool in _order(pair):
                    if tool == "ansible":
                        result = run_ansible(env, base, "idempotent")
                    else:
                        result = KubectlBaseline(env, objects).run("idempotent")
                        release_kubectl_fields(env, objects)
                    log("  site idempotent %s: %.1fs %s" % (tool, result.elapsed,
                                                            result.requests))
                    row["runs"].append(result)
                    save()
        for size in sizes:
            variables = site_variables(s3_endpoint, size)
            cold = {"label": "N=%d projects, cold" % size, "runs": []}
            again = {"label": "N=%d projects, idempotent" % size, "runs": []}
            rows += [cold, again]
            objects = None
            for pair in range(pairs):
                for tool in _order(pair):
                    delete_projects(env)
                    if tool == "ansible":
                        first = run_ansible(env, variables, "cold")
                        second = run_ansible(env, variables, "idempotent")
                        if objects is None:
                            objects = capture(env)
                            cold["objects"] = again["objects"] = count_objects(objects)
                    else:
                        baseline = KubectlBaseline(env, objects)
                        first = baseline.run("cold")
                        second = baseline.run("idempotent")
                        release_kubectl_fields(env, objects)
                    cold["runs"].append(first)
                    again["runs"].append(second)
                    save()
                    log("  N=%d %s: cold %.1fs (%d req), idempotent %.1fs (%d req, %d writes)" % (
                        size, tool, first.elapsed, first.requests["total"], second.elapsed,
                        second.requests["total"], second.requests["writes"]))
        delete_projects(env)
        reaction = []
        if reaction_samples:
            log("wait reaction, %d samples" % reaction_samples)
            reaction = wait_reaction(env, reaction_samples)
            log("  p50 %.3fs p95 %.3fs" % (percentile(reaction, 0.5),
                                          percentile(reaction, 0.95)))
    finally:
        if original is not None:
            write_simulator_config(env, original)
    return report(rows, reaction, cluster_label)


def report(rows, reaction, cluster_label, meta=None):
    """The summary and the Markdown table; ``meta`` (when and where) of now unless given."""
    summary = summarize(rows)
    meta = meta or {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                    "host": "%d cores" % os.cpu_count(), "cores": _load(),
                    "cluster": cluster_label}
    return {"rows": rows, "summary": summary, "reaction": reaction, "meta": meta,
            "table": render(summary, reaction, meta)}


def _order(pair):
    """Interleaved: Ansible first in even pairs, kubectl first in odd ones (the first pair
    starts with Ansible: its run is where the kubectl baseline's objects come from)."""
    return ("ansible", "kubectl") if pair % 2 == 0 else ("kubectl", "ansible")


def _load():
    return "load average %.1f at the end" % os.getloadavg()[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--sizes", default="10,30,100",
                        help="numbers of generated projects, comma-separated (default 10,30,100)")
    parser.add_argument("--pairs", type=int, default=3, help="pairs per row (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny: the default site idempotent and N=2, one pair, 5 samples")
    parser.add_argument("--reaction-samples", type=int, default=20)
    parser.add_argument("--no-site-row", action="store_true",
                        help="skip the idempotent default-site row")
    parser.add_argument("--s3-endpoint", default="",
                        help="an S3 endpoint playing MinIO (default: start SeaweedFS)")
    parser.add_argument("--output", default=os.path.join(REPO_ROOT, "docs", "performance.md"))
    parser.add_argument("--json", default="",
                        help="also write the raw results here (after every run, too)")
    parser.add_argument("--report-from", default="", metavar="JSON",
                        help="no runs: write the report from the raw results of an earlier run")
    args = parser.parse_args(argv)
    if args.report_from:
        with open(args.report_from, encoding="utf-8") as handle:
            rows, reaction = from_raw(json.load(handle))
        with open(args.report_from, encoding="utf-8") as handle:
            meta = json.load(handle).get("meta")
        result = report(rows, reaction, "local control plane", meta)
        write_report(args.output, result["table"])
        print(result["table"])
        return 0
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    pairs, samples = args.pairs, args.reaction_samples
    if args.smoke:
        sizes, pairs, samples = [2], 1, 5
    env = Env.from_localcluster()
    server = mirror = None
    endpoint = args.s3_endpoint
    if not endpoint:
        from tests.integration.s3server import S3Server, SecretMirror  # pylint: disable=import-outside-toplevel
        server = S3Server(tempfile.mkdtemp(prefix="bench-s3-"))
        server.start()
        mirror = SecretMirror(server, env.admin).start()
        endpoint = server.endpoint
    try:
        result = benchmark(env, sizes, pairs, endpoint, site_row=not args.no_site_row,
                           reaction_samples=samples, checkpoint=args.json or None)
    finally:
        if mirror:
            mirror.stop()
        if server:
            server.stop()
    write_report(args.output, result["table"])
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(dict(raw(result["rows"], result["reaction"]), meta=result["meta"]), handle,
                      indent=1)
    print(result["table"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
