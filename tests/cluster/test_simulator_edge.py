"""The edges of the local cluster: the front proxy, the notebook webhook, Argo CD.

These test the test infrastructure itself against the real kube-apiserver:

* ``simulator/proxy.py``: every request is forwarded (watches stream, errors
  pass through unchanged, large bodies, many clients at once); the two
  OpenShift-only endpoints ``buildconfigs/<name>/instantiate`` and
  ``builds/<name>/log`` are served with real authentication and authorization.
* ``simulator/webhook.py``: the oauth-proxy injection of ODH's notebook webhook,
  and that a server-side re-apply by another field manager keeps it.
* Argo CD: the real application controller and repo-server the simulated GitOps
  operator starts for the ``openshift-gitops`` instance (``lc/argocd_instance.py``):
  an Application synced from a local git repository, wave order, status,
  self-heal, prune, a broken manifest, ignoreDifferences against the webhook.
  These check that the local cluster runs Argo CD the way the collection needs
  (repositories on this machine, RBAC of its ServiceAccount), not Argo CD itself.

The Notebook and Application CRDs exist only once their operators are installed
through OLM (real, from the test catalog), so the fixtures below subscribe to them (once per
session; they are left installed, as on a real cluster).
"""

import http.client
import json
import os
import ssl
import subprocess
import threading
import time
import uuid

import pytest
import yaml

GITOPS_NS = "openshift-gitops"
BUILD_API = "/apis/build.openshift.io/v1"


# --------------------------------------------------------------------------- helpers

def wait_for(what, probe, timeout=30.0, interval=0.2):
    """Poll ``probe()`` until it returns something truthy; fail with the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s; last: %r" % (timeout, what, last))


class Raw:
    """Plain HTTPS requests with the credentials of one kubeconfig (status codes intact)."""

    def __init__(self, kubeconfig):
        with open(kubeconfig, encoding="utf-8") as handle:
            conf = yaml.safe_load(handle)
        cluster = conf["clusters"][0]["cluster"]
        self.token = conf["users"][0]["user"]["token"]
        host, port = cluster["server"].split("://", 1)[1].rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.ssl = ssl.create_default_context(cafile=cluster["certificate-authority"])

    def connect(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ssl,
                                           timeout=timeout)

    def request(self, method, path, body=None, headers=None, token=True):
        conn = self.connect()
        try:
            hdrs = {"Accept": "application/json"}
            if token:
                hdrs["Authorization"] = "Bearer " + self.token
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                hdrs["Content-Type"] = "application/json"
            hdrs.update(headers or {})
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheader("Content-Type", ""), data
        finally:
            conn.close()

    def json(self, method, path, body=None):
        status, _ctype, data = self.request(method, path, body)
        return status, (json.loads(data) if data else None)


def kubectl_apply(cluster, obj, manager="edge-test", kubeconfig=None, force=True):
    args = ["apply", "--server-side", "--field-manager=" + manager, "-f", "-", "-o", "json"]
    if force:
        args.append("--force-conflicts")
    res = cluster.kubectl(*args, kubeconfig=kubeconfig, input_text=json.dumps(obj))
    return json.loads(res.stdout)


def get_json(cluster, *args):
    res = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None


def crd_established(cluster, name):
    crd = get_json(cluster, "crd", name)
    return bool(crd) and any(c["type"] == "Established" and c["status"] == "True"
                             for c in (crd.get("status") or {}).get("conditions") or [])


OPERATOR_GROUPS = {"redhat-ods-operator": "rhods"}


def ensure_operator(cluster, package, namespace, channel, crd, timeout=90):
    """Install ``package`` through OLM (once) and wait for ``crd``."""
    if crd_established(cluster, crd):
        return
    if namespace != "openshift-operators":
        cluster.kubectl("create", "namespace", namespace, check=False)
        groups = get_json(cluster, "operatorgroups.operators.coreos.com", "-n", namespace)
        if not (groups or {}).get("items"):
            # Named as the collection's rhods role names it, so a later site run on
            # the same cluster finds the OperatorGroup it expects.
            kubectl_apply(cluster, {
                "apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
                "metadata": {"name": OPERATOR_GROUPS.get(namespace, namespace),
                             "namespace": namespace}, "spec": {}})
    kubectl_apply(cluster, {
        "apiVersion": "operators.coreos.com/v1alpha1", "kind": "Subscription",
        "metadata": {"name": package, "namespace": namespace},
        "spec": {"channel": channel, "name": package, "source": "redhat-operators",
                 "sourceNamespace": "openshift-marketplace",
                 "installPlanApproval": "Automatic"}})
    wait_for("CRD %s established (operator %s installed)" % (crd, package),
             lambda: crd_established(cluster, crd), timeout=timeout, interval=0.5)


@pytest.fixture
def namespace(cluster):
    name = "edge-" + uuid.uuid4().hex[:8]
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def admin(cluster):
    return Raw(cluster.kubeconfig)


# --------------------------------------------------------------------------- proxy

def test_proxy_passes_errors_through_unchanged(cluster, admin):
    status, body = admin.json("GET", "/api/v1/namespaces/default/configmaps/no-such-thing")
    assert status == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["details"] == {"name": "no-such-thing", "kind": "configmaps"}
    outsider = Raw(cluster.outsider_kubeconfig)
    status, body = outsider.json("GET", "/api/v1/namespaces")
    assert status == 403 and body["reason"] == "Forbidden"
    assert 'User "outsider"' in body["message"]
    status, _ctype, _data = admin.request("GET", "/api/v1/namespaces", token=False)
    assert status in (401, 403)  # anonymous: whatever the apiserver says


def test_proxy_large_bodies_and_many_clients(cluster, admin, namespace):
    payload = "x" * (900 * 1024)  # close to the 1 MiB object limit
    status, body = admin.json("POST", "/api/v1/namespaces/%s/configmaps" % namespace, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
        "data": {"payload": payload}})
    assert status == 201, body
    status, body = admin.json("GET", "/api/v1/namespaces/%s/configmaps/big" % namespace)
    assert status == 200 and body["data"]["payload"] == payload

    errors = []

    def client(index):
        try:
            conn = admin.connect()  # one kept-alive connection, several requests
            for round_ in range(5):
                conn.request("GET", "/api/v1/namespaces/%s/configmaps?limit=5" % namespace,
                             headers={"Authorization": "Bearer " + admin.token})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200 or json.loads(data)["kind"] != "ConfigMapList":
                    errors.append((index, round_, resp.status))
            conn.close()
        except Exception as exc:  # pylint: disable=broad-except
            errors.append((index, repr(exc)))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def test_watch_streams_through_the_proxy(cluster, admin, namespace):
    status, listing = admin.json("GET", "/api/v1/namespaces/%s/configmaps" % namespace)
    assert status == 200
    conn = admin.connect(timeout=20)
    conn.request("GET", "/api/v1/namespaces/%s/configmaps?watch=true&timeoutSeconds=30"
                        "&resourceVersion=%s" % (namespace, listing["metadata"]["resourceVersion"]),
                 headers={"Authorization": "Bearer " + admin.token})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Transfer-Encoding") == "chunked"
    seen = []
    for index in range(3):
        created = time.monotonic()
        cluster.kubectl("create", "configmap", "w%d" % index, "-n", namespace,
                        "--from-literal=i=%d" % index)
        while True:
            event = json.loads(resp.readline())
            if event["object"]["metadata"]["name"] == "w%d" % index:
                break
        # The event arrives while the watch is open, not when it ends (30 s).
        assert time.monotonic() - created < 5
        seen.append((event["type"], event["object"]["metadata"]["name"]))
    conn.close()
    assert seen == [("ADDED", "w0"), ("ADDED", "w1"), ("ADDED", "w2")]


def test_watch_with_the_python_client(cluster, kube_client, namespace):
    from kubernetes import client, watch  # pylint: disable=import-outside-toplevel
    core = client.CoreV1Api(kube_client)

    def later():
        time.sleep(0.5)
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "late"}})

    threading.Thread(target=later).start()
    stream = watch.Watch()
    names = []
    for event in stream.stream(core.list_namespaced_config_map, namespace, timeout_seconds=20):
        names.append(event["object"].metadata.name)
        if event["object"].metadata.name == "late":
            stream.stop()
    assert "late" in names


# --------------------------------------------------------------------------- builds

@pytest.fixture
def buildconfig(cluster, namespace, simulator):
    simulator.set({"delays": {"build": 0.2}})
    kubectl_apply(cluster, {
        "apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
        "metadata": {"name": "edge", "namespace": namespace},
        "spec": {"runPolicy": "Serial",
                 "source": {"type": "Git", "git": {"uri": "https://example.com/repo.git"}},
                 "strategy": {"type": "Docker", "dockerStrategy": {}},
                 "output": {"to": {"kind": "DockerImage", "name": "quay.io/example/edge:1"}},
                 "triggers": []}})
    return namespace, "edge"


def test_instantiate_creates_a_build(cluster, admin, buildconfig):
    namespace, name = buildconfig
    request = {"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
               "metadata": {"name": name}}
    path = "%s/namespaces/%s/buildconfigs/%s/instantiate" % (BUILD_API, namespace, name)
    status, build = admin.json("POST", path, request)
    assert status == 201, build
    assert build["kind"] == "Build"
    assert build["metadata"]["labels"]["openshift.io/build-config.name"] == name
    assert build["metadata"]["annotations"]["openshift.io/build.number"] == "1"
    assert get_json(cluster, "builds.build.openshift.io", build["metadata"]["name"],
                    "-n", namespace)

    status, body = Raw(cluster.outsider_kubeconfig).json("POST", path, request)
    assert status == 403, body
    assert body["reason"] == "Forbidden"
    assert 'cannot create resource "buildconfigs/instantiate"' in body["message"]

    status, _ctype, _data = admin.request("POST", path, json.dumps(request), token=False)
    assert status == 401

    missing = "%s/namespaces/%s/buildconfigs/nope/instantiate" % (BUILD_API, namespace)
    status, body = admin.json("POST", missing, request)
    assert status == 404 and body["reason"] == "NotFound"

    # kubectl reaches the same endpoint through the proxy; --as is honoured.
    res = cluster.kubectl("create", "--raw", path, "-f", "-", input_text=json.dumps(request))
    assert json.loads(res.stdout)["metadata"]["annotations"]["openshift.io/build.number"] == "2"
    res = cluster.kubectl("create", "--raw", path, "-f", "-", "--as", "outsider", check=False,
                          input_text=json.dumps(request))
    assert res.returncode != 0 and 'User "outsider" cannot create' in res.stderr


def test_build_log_endpoint(cluster, admin, buildconfig):
    namespace, name = buildconfig
    status, build = admin.json(
        "POST", "%s/namespaces/%s/buildconfigs/%s/instantiate" % (BUILD_API, namespace, name),
        {"kind": "BuildRequest", "apiVersion": "build.openshift.io/v1",
         "metadata": {"name": name}})
    assert status == 201
    build_name = build["metadata"]["name"]
    wait_for("build %s complete" % build_name, lambda: (get_json(
        cluster, "builds.build.openshift.io", build_name, "-n", namespace) or {}).get(
            "status", {}).get("phase") in ("Complete", "Failed"))
    log_path = "%s/namespaces/%s/builds/%s/log" % (BUILD_API, namespace, build_name)
    status, ctype, data = admin.request("GET", log_path)
    assert status == 200 and ctype.startswith("text/plain")
    text = data.decode()
    assert len(text.splitlines()) > 1, text
    status, _ctype, data = admin.request("GET", log_path + "?tailLines=1")
    assert status == 200
    assert data.decode().splitlines() == text.splitlines()[-1:]
    status, _ctype, _data = Raw(cluster.outsider_kubeconfig).request("GET", log_path)
    assert status == 403
    status, _ctype, _data = admin.request("GET", "%s/namespaces/%s/builds/nope/log"
                                          % (BUILD_API, namespace))
    assert status == 404
    # What `oc logs` would call, through kubectl.
    assert cluster.kubectl("get", "--raw", log_path).stdout == text


def test_discovery_lists_the_build_subresources(admin):
    status, doc = admin.json("GET", BUILD_API)
    assert status == 200
    names = {r["name"]: r for r in doc["resources"]}
    assert names["buildconfigs/instantiate"]["verbs"] == ["create"]
    assert names["builds/log"]["verbs"] == ["get"]


# --------------------------------------------------------------------------- webhook

@pytest.fixture(scope="session")
def notebooks_served(cluster):
    ensure_operator(cluster, "rhods-operator", "redhat-ods-operator", "stable",
                    "notebooks.kubeflow.org")


def notebook(name, namespace, inject=True):
    meta = {"name": name, "namespace": namespace,
            "labels": {"app": name, "opendatahub.io/dashboard": "true"}}
    if inject:
        meta["annotations"] = {"notebooks.opendatahub.io/inject-oauth": "true"}
    return {"apiVersion": "kubeflow.org/v1", "kind": "Notebook", "metadata": meta,
            "spec": {"template": {"spec": {
                "serviceAccountName": name,
                "containers": [{"name": name, "image": "quay.io/example/nb:1",
                                "ports": [{"name": "notebook-port", "containerPort": 8888,
                                           "protocol": "TCP"}]}],
                "volumes": [{"name": "shm",
                             "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}]}}}}


def pod_spec(obj):
    return obj["spec"]["template"]["spec"]


def test_webhook_is_registered(cluster):
    config = get_json(cluster, "mutatingwebhookconfiguration", "localcluster-notebook-oauth")
    hook = config["webhooks"][0]
    assert hook["clientConfig"]["url"].startswith("https://127.0.0.1:")
    assert hook["clientConfig"]["url"].endswith("/mutate-notebook")
    assert hook["failurePolicy"] == "Fail" and hook["sideEffects"] == "None"
    assert hook["reinvocationPolicy"] == "IfNeeded"
    assert hook["rules"][0]["resources"] == ["notebooks"]


def test_webhook_injects_oauth_proxy(cluster, namespace, notebooks_served):
    nb = kubectl_apply(cluster, notebook("wb", namespace), manager="rhods-gitops")
    spec = pod_spec(nb)
    names = [c["name"] for c in spec["containers"]]
    assert names == ["wb", "oauth-proxy"]
    proxy = spec["containers"][1]
    assert proxy["image"].startswith("registry.redhat.io/openshift4/ose-oauth-proxy@sha256:")
    assert "--upstream=http://localhost:8888" in proxy["args"]
    assert "--https-address=:8443" in proxy["args"]
    sar = [a for a in proxy["args"] if a.startswith("--openshift-sar=")][0]
    assert json.loads(sar.split("=", 1)[1]) == {
        "verb": "get", "resource": "notebooks", "resourceAPIGroup": "kubeflow.org",
        "resourceName": "wb", "namespace": namespace}
    assert proxy["ports"] == [{"name": "oauth-proxy", "containerPort": 8443, "protocol": "TCP"}]
    assert {m["name"] for m in proxy["volumeMounts"]} == {"oauth-config", "tls-certificates"}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["oauth-config"]["secret"]["secretName"] == "wb-oauth-config"
    assert volumes["tls-certificates"]["secret"]["secretName"] == "wb-tls"
    assert "shm" in volumes
    assert spec["serviceAccountName"] == "wb"

    plain = kubectl_apply(cluster, notebook("plain", namespace, inject=False),
                          manager="rhods-gitops")
    assert [c["name"] for c in pod_spec(plain)["containers"]] == ["plain"]
    assert [v["name"] for v in pod_spec(plain)["volumes"]] == ["shm"]


def test_reapply_keeps_the_injected_container(cluster, namespace, notebooks_served):
    kubectl_apply(cluster, notebook("wb", namespace), manager="rhods-gitops")
    # Our own field manager again, then somebody else's, then a change of image.
    for manager in ("rhods-gitops", "another-manager"):
        nb = kubectl_apply(cluster, notebook("wb", namespace), manager=manager)
        assert [c["name"] for c in pod_spec(nb)["containers"]] == ["wb", "oauth-proxy"]
    changed = notebook("wb", namespace)
    pod_spec(changed)["containers"][0]["image"] = "quay.io/example/nb:2"
    nb = kubectl_apply(cluster, changed, manager="rhods-gitops")
    spec = pod_spec(nb)
    assert [c["name"] for c in spec["containers"]] == ["wb", "oauth-proxy"]
    assert spec["containers"][0]["image"] == "quay.io/example/nb:2"
    assert sorted(v["name"] for v in spec["volumes"]) == ["oauth-config", "shm",
                                                           "tls-certificates"]
    # A changed injected container is left as it is (no second one added).
    cluster.kubectl("patch", "notebook", "wb", "-n", namespace, "--type=json", "-p", json.dumps([
        {"op": "replace", "path": "/spec/template/spec/containers/1/image",
         "value": "example.com/custom-proxy:1"}]))
    nb = get_json(cluster, "notebook", "wb", "-n", namespace)
    assert [c["image"] for c in pod_spec(nb)["containers"]] == ["quay.io/example/nb:2",
                                                                 "example.com/custom-proxy:1"]


# --------------------------------------------------------------------------- Argo CD

EDGE_BINDING = "localcluster-edge-argocd"


def argocd_available(cluster):
    argocd = get_json(cluster, "argocd.argoproj.io", GITOPS_NS, "-n", GITOPS_NS) or {}
    return (argocd.get("status") or {}).get("phase") == "Available"


@pytest.fixture(scope="module")
def gitops(cluster):
    """The default Argo CD instance, running, with write rights for these tests only.

    The operator gives its application controller read rights cluster-wide and
    nothing more (the collection grants what it delivers); these tests deliver
    their own kinds into their own namespaces, so for this module the controller
    is bound to cluster-admin, and unbound afterwards so the collection's tests
    see only the collection's ClusterRole."""
    ensure_operator(cluster, "openshift-gitops-operator", "openshift-operators", "latest",
                    "applications.argoproj.io")
    wait_for("ArgoCD openshift-gitops Available", lambda: argocd_available(cluster),
             timeout=120)
    kubectl_apply(cluster, {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": EDGE_BINDING},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "namespace": GITOPS_NS,
                      "name": "openshift-gitops-argocd-application-controller"}]})
    yield
    cluster.kubectl("delete", "clusterrolebinding", EDGE_BINDING, check=False)


class GitRepo:
    def __init__(self, path):
        self.path = str(path)
        os.makedirs(self.path, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args):
        return subprocess.run(["git", "-c", "user.name=edge", "-c", "user.email=edge@example.com",
                               *args], cwd=self.path, check=True, capture_output=True,
                              text=True).stdout.strip()

    def commit(self, files, message="change"):
        """Write ``files`` ({relative path: objects, text, or None to delete}); commit."""
        for rel, docs in files.items():
            path = os.path.join(self.path, rel)
            if docs is None:
                os.remove(path)
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                if isinstance(docs, str):
                    handle.write(docs)
                else:
                    yaml.safe_dump_all(docs, handle)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def wave(obj, number):
    obj["metadata"].setdefault("annotations", {})["argocd.argoproj.io/sync-wave"] = str(number)
    return obj


def configmap(name, namespace, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data}


def deployment(name, namespace, ready_after=None):
    # ready_after: kwok makes the pod Ready only after that long (README, "Failure injection").
    annotations = {"localcluster.rhods.gitops/ready-after": ready_after} if ready_after else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name},
                                               "annotations": annotations},
                                  "spec": {"containers": [{"name": "main",
                                                           "image": "quay.io/example/app:1"}]}}}}


@pytest.fixture
def application(cluster, gitops, tmp_path):
    """Factory: (name, repo, destination namespace) of a new automated Application."""
    created = []

    def make(files, path="manifests", self_heal=True, prune=True, extra_spec=None,
             automated=True):
        suffix = uuid.uuid4().hex[:6]
        name, dest = "edge-" + suffix, "edge-app-" + suffix
        repo = GitRepo(tmp_path / ("repo-" + suffix))
        sha = repo.commit({os.path.join(path, rel): docs if isinstance(docs, str) else docs(dest)
                           for rel, docs in files.items()}, "initial")
        spec = {"project": "default",
                "source": {"repoURL": repo.path, "path": path, "targetRevision": "main"},
                "destination": {"server": "https://kubernetes.default.svc", "namespace": dest},
                "syncPolicy": {"automated": {"prune": prune, "selfHeal": self_heal},
                               "syncOptions": ["CreateNamespace=true", "ServerSideApply=true"]}}
        if not automated:
            del spec["syncPolicy"]["automated"]
        spec.update(extra_spec or {})
        kubectl_apply(cluster, {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                                "metadata": {"name": name, "namespace": GITOPS_NS,
                                             "finalizers": [
                                                 "resources-finalizer.argocd.argoproj.io"]},
                                "spec": spec})
        created.append((name, dest))
        return name, repo, dest, sha

    yield make
    for name, dest in created:
        cluster.kubectl("delete", "application", name, "-n", GITOPS_NS, "--wait=false",
                        check=False)
        cluster.kubectl("delete", "namespace", dest, "--wait=false", check=False)


def app_status(cluster, name):
    return (get_json(cluster, "application.argoproj.io", name, "-n", GITOPS_NS) or {}).get(
        "status") or {}


def refresh(cluster, name):
    """Ask Argo CD to compare with git now, as a webhook or the collection does after a push."""
    cluster.kubectl("annotate", "--overwrite", "application.argoproj.io", name, "-n", GITOPS_NS,
                    "argocd.argoproj.io/refresh=normal")


def sync_failed(cluster, name, resource):
    """The Application's status once the sync of ``resource`` failed (while retrying or after)."""
    status = app_status(cluster, name)
    results = ((status.get("operationState") or {}).get("syncResult") or {}).get("resources")
    failed = [r for r in results or [] if r["name"] == resource and r["status"] == "SyncFailed"]
    return status if failed else None


def failed_entry(status, resource):
    return [r for r in status["operationState"]["syncResult"]["resources"]
            if r["name"] == resource][0]


def wait_synced(cluster, name, sha, timeout=60):
    def probe():
        status = app_status(cluster, name)
        if (status.get("sync", {}).get("status") == "Synced"
                and status.get("sync", {}).get("revision") == sha
                and status.get("health", {}).get("status") == "Healthy"
                and status.get("operationState", {}).get("phase") == "Succeeded"):
            return status
        return None
    return wait_for("application %s Synced/Healthy at %s" % (name, sha[:10]), probe, timeout)


def audit_applies(audit_log, namespace, names):
    """{name: time} of the first server-side apply by argocd-controller of each object."""
    first = {}
    with open(audit_log, encoding="utf-8") as handle:
        for line in handle:
            if "argocd-controller" not in line or namespace not in line:
                continue
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            if (event.get("verb") != "patch" or event.get("stage") != "ResponseComplete"
                    or "fieldManager=argocd-controller" not in event.get("requestURI", "")
                    or ref.get("name") not in names or ref.get("subresource")):
                continue
            if ref.get("resource") != "namespaces" and ref.get("namespace") != namespace:
                continue
            first.setdefault(ref["name"], event["requestReceivedTimestamp"])
    return first


def test_application_syncs_in_wave_order(cluster, application):
    # The Deployment's pod becomes ready only after 1.5 s: wave 3 must wait for that.
    name, _repo, dest, sha = application({
        "all.yaml": lambda ns: [
            wave(configmap("w3-after", ns, wave="3"), 3),
            wave(deployment("w2-app", ns, ready_after="1500ms"), 2),
            wave(configmap("w1-config", ns, wave="1"), 1),
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": ns, "labels": {"edge": "true"}}},
        ]})
    status = wait_synced(cluster, name, sha)
    assert status["sourceType"] == "Directory"
    assert status["sync"]["comparedTo"]["source"]["path"] == "manifests"
    resources = {(r["kind"], r["name"]): r for r in status["resources"]}
    # The Project is OpenShift's view of the Namespace: it carries the Namespace's tracking
    # annotation, so Argo CD lists it too, as a resource it neither syncs nor prunes.
    project = resources.pop(("Project", dest))
    assert not project.get("requiresPruning")
    assert set(resources) == {("Namespace", dest), ("ConfigMap", "w1-config"),
                              ("Deployment", "w2-app"), ("ConfigMap", "w3-after")}
    # Argo CD 3 keeps each resource's health out of the Application (in its cache), unless
    # asked to persist it; the Application's health is the roll-up.
    for entry in resources.values():
        assert entry["status"] == "Synced" and "health" not in entry, entry
    results = status["operationState"]["syncResult"]
    assert results["revision"] == sha
    assert all(r["status"] == "Synced" for r in results["resources"])

    tracked = get_json(cluster, "deployment", "w2-app", "-n", dest, "--show-managed-fields")
    assert tracked["metadata"]["annotations"]["argocd.argoproj.io/tracking-id"] == \
        "%s:apps/Deployment:%s/w2-app" % (name, dest)
    managers = {m["manager"] for m in tracked["metadata"]["managedFields"]}
    assert "argocd-controller" in managers

    # The audit log shows the order and the wait for the Deployment's health.
    from datetime import datetime  # pylint: disable=import-outside-toplevel
    stamps = audit_applies(cluster.audit_log, dest, {dest, "w1-config", "w2-app", "w3-after"})
    order = sorted(stamps, key=stamps.get)
    assert order == [dest, "w1-config", "w2-app", "w3-after"], stamps
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    assert (parse(stamps["w3-after"]) - parse(stamps["w2-app"])).total_seconds() >= 1.0


def test_self_heal_and_prune(cluster, application):
    name, repo, dest, sha = application({
        "cm.yaml": lambda ns: [configmap("keep", ns, a="1"), configmap("drop", ns, b="2")]})
    wait_synced(cluster, name, sha)
    cluster.kubectl("delete", "configmap", "keep", "-n", dest)
    wait_for("deleted ConfigMap recreated", lambda: get_json(cluster, "configmap", "keep",
                                                             "-n", dest), timeout=20)
    cluster.kubectl("patch", "configmap", "keep", "-n", dest, "-p", '{"data":{"a":"changed"}}')
    wait_for("changed ConfigMap healed", lambda: (get_json(
        cluster, "configmap", "keep", "-n", dest) or {}).get("data", {}).get("a") == "1",
        timeout=20)
    # A new revision without "drop": pruned.
    sha2 = repo.commit({"manifests/cm.yaml": [configmap("keep", dest, a="1")]}, "drop one")
    refresh(cluster, name)
    status = wait_synced(cluster, name, sha2)
    assert get_json(cluster, "configmap", "drop", "-n", dest) is None
    assert [r["name"] for r in status["resources"]] == ["keep"]
    # Real Argo CD may prune in a selective auto-heal sync of just that object, whose syncResult
    # lists no resources: what counts is an operation at sha2 with prune on, and drop gone.
    operation = status["operationState"]
    assert operation["syncResult"]["revision"] == sha2
    assert operation["operation"]["sync"]["prune"] is True
    history = status["history"]
    assert [h["revision"] for h in history][-1] == sha2


def test_broken_manifest_fails_the_sync_naming_the_resource(cluster, application):
    def broken(ns):
        bad = deployment("broken-app", ns)
        bad["spec"]["notAField"] = True
        return [configmap("fine", ns, a="1"), wave(bad, 1)]
    name, _repo, _dest, sha = application({"all.yaml": broken})
    # An automated sync retries (5 times by default): the failure shows at the first attempt.
    status = wait_for("sync of broken-app failed", lambda: sync_failed(cluster, name,
                                                                        "broken-app"), timeout=60)
    assert status["operationState"]["phase"] in ("Running", "Failed")
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == sha
    # The Deployment was never created; the ConfigMap of the earlier wave was.
    assert status["health"]["status"] == "Missing"
    assert failed_entry(status, "fine")["status"] == "Synced"
    entry = failed_entry(status, "broken-app")
    assert "broken-app" in entry["message"] and "notAField" in entry["message"]
    assert "broken-app" in status["operationState"]["message"]


def test_unknown_kind_fails_the_sync(cluster, application):
    name, _repo, _dest, _sha = application({"all.yaml": lambda ns: [
        {"apiVersion": "example.com/v1", "kind": "NoSuchKind",
         "metadata": {"name": "ghost", "namespace": ns}}]})

    status = wait_for("sync of ghost failed", lambda: sync_failed(cluster, name, "ghost"),
                      timeout=60)
    assert "could not find example.com/NoSuchKind" in failed_entry(status, "ghost")["message"]
    assert status["sync"]["status"] == "OutOfSync"


def test_unreachable_repository_is_a_comparison_error(cluster, gitops):
    name = "edge-remote-" + uuid.uuid4().hex[:6]
    kubectl_apply(cluster, {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
                            "metadata": {"name": name, "namespace": GITOPS_NS},
                            "spec": {"project": "default",
                                     "source": {"repoURL": "https://github.com/example/x.git",
                                                "path": "."},
                                     "destination": {"server": "https://kubernetes.default.svc",
                                                     "namespace": "default"}}})
    try:
        status = wait_for("ComparisonError", lambda: (lambda s: s if any(
            c["type"] == "ComparisonError" for c in s.get("conditions") or []) else None)(
                app_status(cluster, name)), timeout=20)
        message = [c["message"] for c in status["conditions"]
                   if c["type"] == "ComparisonError"][0]
        assert "failed to list refs" in message and "github.com/example/x.git" in message
        assert status["sync"]["status"] == "Unknown"
    finally:
        cluster.kubectl("delete", "application", name, "-n", GITOPS_NS, "--wait=false",
                        check=False)


def test_ignore_differences_keep_injected_notebook_fields(cluster, application,
                                                          notebooks_served):
    """The demo's Notebook: Argo CD must neither fight the webhook nor report OutOfSync."""
    name, _repo, dest, sha = application(
        {"nb.yaml": lambda ns: [notebook("wb", ns)]},
        extra_spec={"ignoreDifferences": [{
            "group": "kubeflow.org", "kind": "Notebook",
            "jsonPointers": ["/spec/template/spec/containers", "/spec/template/spec/volumes"]}],
            "syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                           "syncOptions": ["CreateNamespace=true", "ServerSideApply=true",
                                           "RespectIgnoreDifferences=true"]}})
    wait_synced(cluster, name, sha)
    nb = get_json(cluster, "notebook", "wb", "-n", dest)
    assert [c["name"] for c in pod_spec(nb)["containers"]] == ["wb", "oauth-proxy"]
    time.sleep(4)  # a few resync periods: still Synced, still one oauth-proxy
    status = app_status(cluster, name)
    assert status["sync"]["status"] == "Synced"
    nb = get_json(cluster, "notebook", "wb", "-n", dest)
    assert [c["name"] for c in pod_spec(nb)["containers"]] == ["wb", "oauth-proxy"]


def test_deleting_the_application_deletes_its_resources(cluster, application):
    name, _repo, dest, sha = application({"cm.yaml": lambda ns: [configmap("a", ns, a="1")]})
    wait_synced(cluster, name, sha)
    cluster.kubectl("delete", "application", name, "-n", GITOPS_NS, "--wait=false")
    wait_for("application gone", lambda: get_json(
        cluster, "application.argoproj.io", name, "-n", GITOPS_NS) is None, timeout=30)
    assert get_json(cluster, "configmap", "a", "-n", dest) is None


def gadget_crd(group):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "gadgets." + group},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget",
                              "listKind": "GadgetList"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                        "openAPIV3Schema": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}}]}}


def test_kustomize_source_with_a_crd_and_its_custom_resource(cluster, application):
    group = "edge%s.example.com" % uuid.uuid4().hex[:6]
    crd = gadget_crd(group)
    name, _repo, dest, sha = application({
        "kustomization.yaml": "resources:\n- crd.yaml\n- gadget.yaml\n"
                              "commonLabels:\n  edge.example.com/kustomized: \"yes\"\n",
        "crd.yaml": lambda ns: [crd],
        "gadget.yaml": lambda ns: [{"apiVersion": group + "/v1", "kind": "Gadget",
                                    "metadata": {"name": "g1", "namespace": ns},
                                    "spec": {"size": 3}}],
    })
    try:
        status = wait_synced(cluster, name, sha)
        assert status["sourceType"] == "Kustomize"
        gadget = get_json(cluster, "gadgets." + group, "g1", "-n", dest)
        assert gadget["spec"] == {"size": 3}
        assert gadget["metadata"]["labels"]["edge.example.com/kustomized"] == "yes"
    finally:
        cluster.kubectl("delete", "application", name, "-n", GITOPS_NS, "--wait=false",
                        check=False)
        wait_for("application %s gone" % name, lambda: get_json(
            cluster, "application.argoproj.io", name, "-n", GITOPS_NS) is None, timeout=30)
        cluster.kubectl("delete", "crd", "gadgets." + group, "--wait=false", check=False)


def test_manual_sync_through_the_operation_field(cluster, application):
    name, _repo, dest, sha = application(
        {"cm.yaml": lambda ns: [configmap("manual", ns, a="1")]}, automated=False)

    def out_of_sync():
        status = app_status(cluster, name)
        return status if status.get("sync", {}).get("status") == "OutOfSync" else None
    status = wait_for("OutOfSync without automated sync", out_of_sync, timeout=20)
    assert status["resources"][0]["status"] == "OutOfSync"
    assert "operationState" not in status
    cluster.kubectl("patch", "application", name, "-n", GITOPS_NS, "--type=merge", "-p",
                    json.dumps({"operation": {"initiatedBy": {"username": "edge-test"},
                                              # An operation carries its own options (the
                                              # Application's syncOptions are not used).
                                              "sync": {"revision": sha, "syncOptions": [
                                                  "CreateNamespace=true",
                                                  "ServerSideApply=true"]}}}))
    status = wait_synced(cluster, name, sha)
    assert status["operationState"]["operation"]["initiatedBy"] == {"username": "edge-test"}
    assert get_json(cluster, "configmap", "manual", "-n", dest)
    wait_for("operation field cleared", lambda: "operation" not in (get_json(
        cluster, "application.argoproj.io", name, "-n", GITOPS_NS) or {"operation": 1}))


def test_skip_dry_run_retries_until_a_kind_is_served(cluster, application):
    """An operator's CRD appears after its Subscription: with SkipDryRunOnMissingResource the
    earlier waves apply, the custom resource fails, and a retry of the sync applies it once the
    CRD is there (the collection's sync policy retries the same way)."""
    group = "edge%s.example.com" % uuid.uuid4().hex[:6]
    name, _repo, dest, sha = application({"all.yaml": lambda ns: [
        configmap("before", ns, a="1"),
        wave({"apiVersion": group + "/v1", "kind": "Gadget",
              "metadata": {"name": "late", "namespace": ns,
                           "annotations": {"argocd.argoproj.io/sync-options":
                                           "SkipDryRunOnMissingResource=true"}},
              "spec": {"size": 1}}, 1)]},
        extra_spec={"syncPolicy": {"automated": {"prune": True, "selfHeal": True},
                                   "syncOptions": ["CreateNamespace=true",
                                                   "ServerSideApply=true"],
                                   "retry": {"limit": 20, "backoff": {"duration": "2s",
                                                                      "factor": 1}}}})
    try:
        status = wait_for("sync of the Gadget failed", lambda: sync_failed(cluster, name, "late"),
                          timeout=30)
        assert status["operationState"]["phase"] == "Running"
        assert "Retrying" in status["operationState"]["message"]
        assert get_json(cluster, "configmap", "before", "-n", dest)
        kubectl_apply(cluster, gadget_crd(group))
        wait_synced(cluster, name, sha)
        assert get_json(cluster, "gadgets." + group, "late", "-n", dest)
    finally:
        cluster.kubectl("delete", "application", name, "-n", GITOPS_NS, "--wait=false",
                        check=False)
        wait_for("application %s gone" % name, lambda: get_json(
            cluster, "application.argoproj.io", name, "-n", GITOPS_NS) is None, timeout=30)
        cluster.kubectl("delete", "crd", "gadgets." + group, "--wait=false", check=False)
