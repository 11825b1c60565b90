"""The operators against the local control plane, run by ansible-playbook as the
automation identity (the least-privilege ClusterRole of docs/rbac/).

What is proven here:
- the roles gitops_bootstrap and rhods converge, and a second run reports
  changed=0 and writes nothing;
- check mode on objects that do not exist yet reports the changes and sends no
  mutating request without dryRun;
- OLM failures end at once with a message naming the object, its reason and
  what to do; Manual approval approves only the referenced InstallPlan; a CRD
  that comes late is awaited; a DataScienceCluster component that never gets
  ready is named in the timeout message;
- long waits print progress lines while they run.
"""

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECAP = re.compile(r"^\S+\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
MUTATING = ("create", "update", "patch", "delete", "deletecollection")
AUTOMATION_USER = "rhods-gitops-automation"
OLM_USER = "localcluster-olm"  # the real OLM of the local control plane


@pytest.fixture(scope="session")
def collections_path():
    """A collections path on which rhods.gitops is this source tree."""
    base = tempfile.mkdtemp(prefix="rhods-gitops-it-")
    os.makedirs(os.path.join(base, "ansible_collections", "rhods"))
    os.symlink(REPO_ROOT, os.path.join(base, "ansible_collections", "rhods", "gitops"))
    return base


class Run:
    """One ansible-playbook run: exit code, output, recap and the failure results."""

    def __init__(self, proc, started, ended, workdir):
        self.workdir = workdir
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.started = started
        self.ended = ended
        match = RECAP.search(proc.stdout)
        self.ok, self.changed, _, self.failed = (int(x) for x in match.groups()) if match \
            else (0, 0, 0, 1)

    def saved(self, name):
        """A variable the play saved with ``save(name)``."""
        with open(os.path.join(self.workdir, name + ".json"), encoding="utf-8") as handle:
            return json.load(handle)

    def failures(self):
        """The result dicts of failed tasks (``fatal: [host]: FAILED! => {...}``)."""
        found = []
        for line in self.output.splitlines():
            if "FAILED! =>" in line:
                found.append(json.loads(line.split("=>", 1)[1]))
        return found

    def __str__(self):
        # Assertion messages pass str(run): pytest cuts a repr() to 240 characters.
        failed = "\n".join(json.dumps(result)[:3000] for result in self.failures())
        return "rc={0}\nfailed tasks:\n{1}\n{2}".format(self.rc, failed or "(none)",
                                                       self.output[-6000:])


@pytest.fixture
def playbook(cluster, collections_path, tmp_path):
    """Run a play (list of tasks or roles) with ansible-playbook as the automation identity."""
    def run(play, *args, kubeconfig=None, extra_vars=None):
        path = tmp_path / "play-{0}.yml".format(uuid.uuid4().hex[:6])
        document = [dict({"name": "test", "hosts": "localhost", "connection": "local",
                          "gather_facts": False}, **play)]
        path.write_text(json.dumps(document))
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(path)]
        command += list(args)
        if extra_vars:
            command += ["--extra-vars", json.dumps(extra_vars)]
        env = cluster.env(kubeconfig or cluster.automation_kubeconfig,
                          ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1",
                          ANSIBLE_FORCE_COLOR="0", PY_COLORS="0",
                          ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
        started = time.time()
        proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False,
                              cwd=str(tmp_path), timeout=900)
        return Run(proc, started, time.time(), str(tmp_path))
    return run


def audit_events(cluster, since, user=AUTOMATION_USER):
    """Completed requests of ``user`` received at or after ``since`` (epoch seconds)."""
    time.sleep(0.5)  # the audit backend writes asynchronously to the file
    events = []
    with open(cluster.audit_log, encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            if event.get("stage") != "ResponseComplete" or event["user"].get("username") != user:
                continue
            if _epoch(event["requestReceivedTimestamp"]) >= since:
                events.append(event)
    return events


def _epoch(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def writes(events):
    """Mutating requests that were not dry runs."""
    return [e for e in events if e["verb"] in MUTATING and "dryRun=All" not in e["requestURI"]]


def save(name):
    """A task that saves the registered variable ``name`` for ``Run.saved``."""
    return {"name": "save " + name, "ansible.builtin.copy": {
        "content": "{{ %s | to_json }}" % name, "dest": "{{ playbook_dir }}/%s.json" % name}}


_CREATED = []


def fresh_namespace(prefix="it"):
    """A namespace name no other test uses; ``_remove_fresh_namespaces`` deletes it after the test."""
    name = "{0}-{1}".format(prefix, uuid.uuid4().hex[:8])
    _CREATED.append(name)
    return name


@pytest.fixture(autouse=True)
def _remove_fresh_namespaces(cluster):
    """A test's operators leave with its namespaces: an AllNamespaces OperatorGroup that stays
    would claim its operator's APIs for every namespace, and OLM would refuse the same operator
    anywhere else (InterOperatorGroupOwnerConflict). The next test starts once they are gone:
    an OperatorGroup in a namespace that is still terminating claims them all the same."""
    yield
    names = list(_CREATED)
    del _CREATED[:]
    if names:
        cluster.kubectl("delete", "namespace", *names, "--ignore-not-found", "--wait=true",
                        "--timeout=180s", check=False)


def operator_task(namespace, package="example-operator", **options):
    args = {"package": package, "namespace": namespace, "wait_timeout": 60}
    args.update(options)
    return {"name": "install " + package, "rhods.gitops.olm_operator": args,
            "register": "operator"}


# Converge and idempotence

ROLES_PLAY = {"roles": ["rhods.gitops.gitops_bootstrap", "rhods.gitops.rhods"]}


def test_roles_converge_and_a_second_run_changes_nothing(playbook, cluster):
    first = playbook(ROLES_PLAY)
    assert first.rc == 0, str(first)
    assert "Argo CD openshift-gitops Available" in first.output
    assert "dashboard https://rhods-dashboard-redhat-ods-applications." in first.output

    second = playbook(ROLES_PLAY)
    assert second.rc == 0, str(second)
    assert second.changed == 0, str(second)
    events = audit_events(cluster, second.started)
    assert writes(events) == [], [e["requestURI"] for e in writes(events)]
    print("\nidempotent run of gitops_bootstrap + rhods: {0} API requests in {1:.1f}s".format(
        len(events), second.ended - second.started))


def test_the_operators_credentials_reach_it_through_a_secret_and_nowhere_else(playbook, cluster):
    """rhods_operator_secret_env: a Secret in the operator namespace, referenced by the
    Subscription's config.envFrom, which the real OLM hands to the operator's Deployment; the
    value is in no output (-vvv --diff). Without entries, the reference goes again."""
    value = "http://proxy-user:Pr0xy-{0}@proxy.example.test:3128".format(uuid.uuid4().hex[:8])
    run = playbook(dict(ROLES_PLAY, vars={"rhods_operator_secret_env": {"HTTPS_PROXY": value}}),
                   "-vvv", "--diff")
    assert run.rc == 0, str(run)
    assert value not in run.output
    assert base64.b64encode(value.encode()).decode() not in run.output
    secret = json.loads(cluster.kubectl("get", "secret", "rhods-operator-env", "-n",
                                        "redhat-ods-operator", "-o", "json").stdout)
    assert base64.b64decode(secret["data"]["HTTPS_PROXY"]).decode() == value
    sub = json.loads(cluster.kubectl("get", "subscription", "rhods-operator", "-n",
                                     "redhat-ods-operator", "-o", "json").stdout)
    assert sub["spec"]["config"]["envFrom"] == [{"secretRef": {"name": "rhods-operator-env"}}]
    csv = sub["status"]["installedCSV"]

    def deployment_env_from():
        found = json.loads(cluster.kubectl("get", "deployments", "-n", "redhat-ods-operator",
                                           "-l", "olm.owner=" + csv, "-o", "json").stdout)
        return [c.get("envFrom") for d in found["items"]
                for c in d["spec"]["template"]["spec"]["containers"]]
    deadline = time.time() + 120
    while time.time() < deadline and not all(deployment_env_from()):
        time.sleep(2)
    assert deployment_env_from() and all(e == [{"secretRef": {"name": "rhods-operator-env"}}]
                                          for e in deployment_env_from()), deployment_env_from()
    back = playbook(ROLES_PLAY)
    assert back.rc == 0, str(back)
    sub = json.loads(cluster.kubectl("get", "subscription", "rhods-operator", "-n",
                                     "redhat-ods-operator", "-o", "json").stdout)
    assert "envFrom" not in (sub["spec"].get("config") or {}), sub["spec"]
    secret = json.loads(cluster.kubectl("get", "secret", "rhods-operator-env", "-n",
                                        "redhat-ods-operator", "-o", "json").stdout)
    assert not secret.get("data"), "the removed entries are still in the Secret"


# Check mode

def test_check_mode_on_new_objects_reports_changes_and_writes_nothing(playbook, cluster):
    namespace = fresh_namespace("check")
    run = playbook({"tasks": [operator_task(namespace)]}, "--check", "--diff")
    assert run.rc == 0, str(run)
    assert run.changed == 1, str(run)
    assert "+++ after: Subscription {0}/example-operator".format(namespace) in run.output
    # Only this run touches the fresh namespace (other tests may run as the same identity).
    events = [e for e in audit_events(cluster, run.started) if namespace in e["requestURI"]]
    assert [e for e in events if e["verb"] in MUTATING], "check mode sent no dry run at all"
    assert writes(events) == [], [e["requestURI"] for e in writes(events)]
    assert cluster.kubectl("get", "namespace", namespace, check=False).returncode != 0


# OLM failures and approvals

def test_csv_failed_ends_at_once_with_its_reason(playbook):
    """The catalog's example-failing-csv-operator has a Deployment the API server rejects."""
    namespace = fresh_namespace("csvfail")
    package = "example-failing-csv-operator"
    run = playbook({"tasks": [operator_task(namespace, package=package, wait_timeout=600)]})
    assert run.rc != 0
    failure = run.failures()[0]
    assert failure["msg"].startswith(
        "ClusterServiceVersion {0}/{1}.v0.1.0 failed: phase Failed, reason "
        "InstallComponentFailed: install strategy failed".format(namespace, package)), failure
    assert "selector" in failure["msg"], failure
    assert "delete the CSV and the Subscription" in failure["msg"]
    assert "Timed out" not in failure["msg"]
    print("\nCSV Failed seen after {0:.1f}s".format(failure["elapsed"]))


def test_resolution_failure_names_the_channel(playbook):
    namespace = fresh_namespace("resolve")
    run = playbook({"tasks": [operator_task(namespace, channel="nope")]})
    assert run.rc != 0
    msg = run.failures()[0]["msg"]
    assert msg.startswith("Subscription {0}/example-operator failed: OLM cannot resolve the "
                          "package (ResolutionFailed=True (ConstraintsNotSatisfiable: ".format(
                              namespace))
    assert "no operators found in channel nope" in msg
    assert "Check package, channel, source and source_namespace" in msg
    # Fixed, the next run installs: the old ResolutionFailed is older than the fix.
    # The real OLM may write the old ResolutionFailed again (new timestamp, old channel in its
    # message) just after the spec changed; olm_operator must not take it for the fixed spec's.
    fixed = playbook({"tasks": [operator_task(namespace, channel="stable")]})
    assert fixed.rc == 0, str(fixed)


def test_install_plan_failure_names_the_plan(playbook):
    """The catalog's example-failing-plan-operator carries a CRD the API server rejects."""
    namespace = fresh_namespace("planfail")
    run = playbook({"tasks": [operator_task(namespace, package="example-failing-plan-operator",
                                            wait_timeout=300)]})
    assert run.rc != 0
    msg = run.failures()[0]["msg"]
    # Seen on the InstallPlan itself or, first, through the Subscription's condition.
    assert re.search(r"InstallPlan ({0}/)?install-\w+ failed".format(namespace), msg), msg
    assert "gadgets.wrong-group.localcluster.test" in msg, msg


def test_manual_approval_approves_only_the_referenced_plan_with_the_wanted_csv(
        playbook, kube_client):
    from kubernetes import dynamic  # pylint: disable=import-outside-toplevel

    namespace = fresh_namespace("manual")
    task = operator_task(namespace, approval="Manual", starting_csv="example-operator.v0.0.9")
    run = playbook({"tasks": [task, save("operator")]})
    assert run.rc == 0, str(run)
    result = run.saved("operator")
    assert result["csv"] == "example-operator.v0.0.9" and result["csv_phase"] == "Succeeded"
    approved = result["install_plan_approved"]
    assert approved and approved.startswith("install-")

    # OLM then plans the upgrade to v0.1.0: with Manual approval and starting_csv
    # v0.0.9 it is not wanted, so a re-run must leave it waiting for approval.
    plans = dynamic.DynamicClient(kube_client).resources.get(
        api_version="operators.coreos.com/v1alpha1", kind="InstallPlan")
    deadline = time.monotonic() + 60
    upgrade = None
    while upgrade is None and time.monotonic() < deadline:
        items = plans.get(namespace=namespace).to_dict()["items"]
        upgrade = next((p for p in items if p["metadata"]["name"] != approved), None)
        time.sleep(0.2)
    assert upgrade is not None, "OLM did not plan the upgrade"
    again = playbook({"tasks": [task]})
    assert again.rc == 0, str(again)
    assert again.changed == 0, str(again)
    upgrade = plans.get(name=upgrade["metadata"]["name"], namespace=namespace).to_dict()
    assert upgrade["spec"]["approved"] is False


def test_state_absent_removes_the_subscription_and_its_csv(playbook, cluster):
    namespace = fresh_namespace("absent")
    run = playbook({"tasks": [
        operator_task(namespace),
        {"name": "remove", "rhods.gitops.olm_operator": {
            "package": "example-operator", "namespace": namespace, "state": "absent",
            "wait_timeout": 60}, "register": "removed"},
        save("removed"),
        {"name": "remove again", "rhods.gitops.olm_operator": {
            "package": "example-operator", "namespace": namespace, "state": "absent"},
         "register": "again"},
        save("again"),
    ]})
    assert run.rc == 0, str(run)
    assert run.saved("removed")["removed"] == [
        "Subscription {0}/example-operator".format(namespace),
        "ClusterServiceVersion {0}/example-operator.v0.1.0".format(namespace)]
    assert run.saved("again")["changed"] is False
    # OLM copies the CSVs of AllNamespaces operators into every namespace: not ours.
    left = cluster.kubectl("get", "subscriptions,clusterserviceversions", "-n", namespace,
                           "-l", "!olm.copiedFrom", "-o", "name").stdout.strip()
    assert left == ""


def test_a_crd_that_comes_late_is_awaited(playbook, kube_client, cluster):
    """The kind is not served when the wait starts; it is served once OLM creates the CRD.

    The operator is installed by the automation identity; the Widgets (a test-only
    kind the automation has no rights on) are awaited and created as admin.
    """
    from kubernetes import client  # pylint: disable=import-outside-toplevel

    crd = "widgets.example.localcluster.test"
    apiext = client.ApiextensionsV1Api(kube_client)
    try:
        apiext.delete_custom_resource_definition(crd)
    except client.ApiException as exc:
        assert exc.status == 404
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            apiext.read_custom_resource_definition(crd)
            time.sleep(0.2)
        except client.ApiException:
            break
    namespace = fresh_namespace("late")
    widget = {"apiVersion": "example.localcluster.test/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": namespace}, "spec": {"size": 1}}
    run = playbook({"tasks": [
        {"name": "wait for a Widget whose kind is not served yet",
         "rhods.gitops.k8s_wait": {"api_version": "example.localcluster.test/v1", "kind": "Widget",
                                   "name": "w1", "namespace": namespace, "wait_timeout": 600,
                                   "kubeconfig": cluster.kubeconfig},
         "async": 660, "poll": 0, "register": "widget_wait"},
        operator_task(namespace, package="example-crd-operator"),
        {"name": "create a Widget right away", "rhods.gitops.apply": {
            "definitions": [widget], "kubeconfig": cluster.kubeconfig}},
        {"name": "the early wait saw it", "ansible.builtin.async_status": {
            "jid": "{{ widget_wait.ansible_job_id }}"},
         "register": "waited", "until": "waited.finished", "retries": 600, "delay": 1},
        save("operator"), save("waited"),
    ]})
    assert run.rc == 0, str(run)
    assert run.saved("operator")["crds"] == [crd]
    waited = run.saved("waited")
    assert waited["resource"]["metadata"]["name"] == "w1"
    assert any("not served" in p["state"] for p in waited["progress"]), waited["progress"]


def test_progress_is_printed_while_waiting(playbook):
    # The operator's pod becomes Ready 4 s after it runs (catalog.yml readyAfter): OLM keeps
    # the CSV Installing and the InstallPlan Installing (the Subscription settles when the plan
    # completes).
    namespace = fresh_namespace("progress")
    run = playbook({"tasks": [operator_task(namespace, package="example-slow-operator",
                                            progress_interval=1)]})
    assert run.rc == 0, str(run)
    lines = [line for line in run.output.splitlines() if line.startswith("  [localhost]")]
    waiting = ("Subscription {0}/example-slow-operator: ".format(namespace),
               "InstallPlan {0}/install-".format(namespace),
               "ClusterServiceVersion {0}/example-slow-operator.v0.1.0: phase is Installing".format(
                   namespace))
    assert len([line for line in lines if any(w in line for w in waiting)]) >= 2, str(run)


def test_reaction_time_after_the_csv_succeeds(playbook, cluster):
    """How long after OLM marks the CSV Succeeded the module returns (printed, not asserted:
    the machines are shared; the benchmark reports it)."""
    namespace = fresh_namespace("latency")
    run = playbook({"tasks": [operator_task(namespace, package="example-slow-operator",
                                            progress_interval=0),
                              {"name": "returned", "ansible.builtin.debug": {
                                  "msg": "RETURNED {{ now(utc=true).timestamp() }}"}}]})
    assert run.rc == 0, str(run)
    returned = float(re.search(r"RETURNED ([0-9.]+)", run.output).group(1))
    # OLM writes the CSV status several times; the Succeeded write is the last one
    # before the module returned.
    succeeded = [e for e in audit_events(cluster, run.started, user=OLM_USER)
                 if e["verb"] in ("update", "patch") and e["requestURI"].startswith(
                     "/apis/operators.coreos.com/v1alpha1/namespaces/{0}/clusterserviceversions/"
                     "example-slow-operator.v0.1.0/status".format(namespace))
                 and _epoch(e["stageTimestamp"]) <= returned]
    assert succeeded, "no CSV status update by OLM in the audit log"
    marked = _epoch(succeeded[-1]["stageTimestamp"])
    print("\nCSV Succeeded -> next task started: {0:.2f}s".format(returned - marked))


# DataScienceCluster readiness

def test_a_component_that_never_gets_ready_is_named_on_timeout(playbook, simulator):
    converge = playbook(ROLES_PLAY)
    assert converge.rc == 0, str(converge)
    simulator.set({"failures": {"dscComponents": {
        "ray": "RayCluster CRD missing: install the KubeRay operator"}}})
    try:
        run = playbook({"tasks": [{"name": "enable ray", "rhods.gitops.datasciencecluster": {
            "components": {"ray": "Managed"}, "wait_timeout": 8}}]})
        assert run.rc != 0
        failure = run.failures()[0]
        # The seconds spent are measured, not asserted: on a loaded machine 8s become 9s.
        assert re.match(r"Timed out after \d+s \(wait_timeout=8\) waiting for "
                        r"DataScienceCluster default-dsc", failure["msg"]), failure["msg"]
        assert ("components not ready: ray (RayReady=False (Error: RayCluster CRD missing: "
                "install the KubeRay operator))") in failure["msg"]
        assert "dashboard" not in failure["reason"] and "kserve" not in failure["reason"]
    finally:
        simulator.reset()
        restore = playbook({"tasks": [{"name": "ray back to Removed",
                                       "rhods.gitops.datasciencecluster": {"wait_timeout": 60}}]})
        assert restore.rc == 0, str(restore)


# apply

def test_apply_waits_for_readiness_redacts_secrets_and_deletes(playbook):
    namespace = fresh_namespace("apply")
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s3", "namespace": namespace},
         "stringData": {"AWS_SECRET_ACCESS_KEY": "do-not-print-me"}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": namespace},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}},
    ]
    run = playbook({"tasks": [
        {"name": "apply and wait", "rhods.gitops.apply": {"definitions": objects, "wait": True,
                                                          "wait_timeout": 60},
         "register": "applied"},
        save("applied"),
        {"name": "apply again", "rhods.gitops.apply": {"definitions": objects},
         "register": "again"},
        save("again"),
        {"name": "delete and wait", "rhods.gitops.apply": {
            "definitions": objects[1:], "state": "absent", "wait": True, "wait_timeout": 60},
         "register": "deleted"},
        save("deleted"),
    ]}, "--diff")
    assert run.rc == 0, str(run)
    assert "do-not-print-me" not in run.output
    assert '"AWS_SECRET_ACCESS_KEY": "<redacted>"' in run.output
    applied = run.saved("applied")
    assert [r["operation"] for r in applied["results"]] == ["created"] * 3
    assert any("Deployment {0}/web".format(namespace) == p["object"] for p in applied["progress"])
    assert [r["operation"] for r in run.saved("again")["results"]] == ["unchanged"] * 3
    assert [r["operation"] for r in run.saved("deleted")["results"]] == ["deleted"] * 2
