"""The local control plane itself: a real kube-apiserver with RBAC, audit and our CRDs."""

import json
import os
import re
import subprocess
import sys
import time
import uuid

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
LOCALCLUSTER = os.path.join(HERE, "localcluster")
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from lc import crds as lc_crds  # noqa: E402  pylint: disable=wrong-import-position

# Every kind the issue names, as `kubectl api-resources` prints them (NAME, APIVERSION).
PLATFORM_KINDS = {
    ("routes", "route.openshift.io/v1"),
    ("imagestreams", "image.openshift.io/v1"),
    ("imagestreamtags", "image.openshift.io/v1"),
    ("buildconfigs", "build.openshift.io/v1"),
    ("builds", "build.openshift.io/v1"),
    ("projects", "project.openshift.io/v1"),
    ("projectrequests", "project.openshift.io/v1"),
    ("subscriptions", "operators.coreos.com/v1alpha1"),
    ("operatorgroups", "operators.coreos.com/v1"),
    ("clusterserviceversions", "operators.coreos.com/v1alpha1"),
    ("installplans", "operators.coreos.com/v1alpha1"),
    ("catalogsources", "operators.coreos.com/v1alpha1"),
}


def _api_resources(cluster):
    out = cluster.kubectl("api-resources", "--no-headers", "-o", "wide").stdout
    found = set()
    for line in out.splitlines():
        cols = line.split()
        # NAME [SHORTNAMES] APIVERSION NAMESPACED KIND VERBS...
        version = next(c for c in cols[1:] if "/" in c or c == "v1")
        found.add((cols[0], version))
    return found


def test_apiserver_ready_and_versioned(cluster):
    assert cluster.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
    version = json.loads(cluster.kubectl("get", "--raw", "/version").stdout)
    assert version["gitVersion"].startswith("v1.3"), version


def test_platform_kinds_are_served(cluster):
    missing = PLATFORM_KINDS - _api_resources(cluster)
    assert not missing, "not served: %s" % sorted(missing)


def _crd_documents(paths):
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    yield path, doc


def test_platform_crds_installed_as_published(cluster):
    """Every platform CRD file is installed unchanged: Established, same versions, same marks."""
    docs = list(_crd_documents(lc_crds.platform_crds()))
    assert {d["spec"]["names"]["plural"] for _, d in docs} >= {p for p, _ in PLATFORM_KINDS}
    for path, doc in docs:
        live = json.loads(cluster.kubectl("get", "crd", doc["metadata"]["name"],
                                          "-o", "json").stdout)
        conds = {c["type"]: c["status"] for c in live["status"]["conditions"]}
        assert conds.get("Established") == "True", path
        assert [v["name"] for v in live["spec"]["versions"]] == [
            v["name"] for v in doc["spec"]["versions"]], path
        for field in ("annotations", "labels"):
            wanted = doc["metadata"].get(field) or {}
            assert wanted.items() <= (live["metadata"].get(field) or {}).items(), (path, field)


# How each publisher marks the CRDs it generates: controller-gen's version annotation, except
# openshift/api (its own generator, API review annotation) and argo-cd (it strips the
# annotation from its manifests; the part-of label stays).
UPSTREAM_MARK = {
    "openshift-api": ("annotations", "api-approved.openshift.io"),
    "argo-cd": ("labels", "app.kubernetes.io/part-of"),
}


@pytest.mark.parametrize("source", sorted(lc_crds.SOURCES))
def test_upstream_crds_carry_their_generator_marks(source):
    field, key = UPSTREAM_MARK.get(source, ("annotations", "controller-gen.kubebuilder.io/version"))
    docs = list(_crd_documents(lc_crds.upstream(source)))
    assert len(docs) == len(lc_crds.SOURCES[source].files)
    for path, doc in docs:
        assert (doc["metadata"].get(field) or {}).get(key), (path, field, key)
        assert "localcluster" not in json.dumps(doc), path  # not one of ours


def test_operator_crds_interface():
    """Upstream where a module publishes the kind, compact only where none does."""
    def kinds(paths):
        return {d["spec"]["names"]["kind"]: p for p, d in _crd_documents(paths)}
    gitops = kinds(lc_crds.operator_crds("openshift-gitops-operator"))
    assert set(gitops) >= {"ArgoCD", "Application", "AppProject"}
    assert all(not p.startswith(lc_crds.COMPACT_DIR) for p in gitops.values())
    rhods = kinds(lc_crds.operator_crds("rhods-operator", ["v1"]))
    assert set(rhods) == {"DataScienceCluster", "DSCInitialization", "OdhDashboardConfig",
                          "Notebook", "Auth"}
    assert [k for k, p in rhods.items() if p.startswith(lc_crds.COMPACT_DIR)] == [
        "OdhDashboardConfig"]
    for variant in (["v2"], ["v1", "v2"]):
        both = kinds(lc_crds.operator_crds("rhods-operator", variant))
        assert both["DataScienceCluster"].startswith(lc_crds.COMPACT_DIR), variant
        assert both["Notebook"] == rhods["Notebook"]
    assert lc_crds.operator_crds("example-operator") == []


def test_openshift_baseline_objects(cluster):
    og = json.loads(cluster.kubectl("get", "operatorgroup", "global-operators", "-n",
                                    "openshift-operators", "-o", "json").stdout)
    assert not og["spec"].get("targetNamespaces")
    cluster.kubectl("get", "catalogsource", "redhat-operators", "-n", "openshift-marketplace")


@pytest.fixture
def namespace(cluster):
    name = "lc-test-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_core_crud(cluster, namespace):
    cluster.kubectl("create", "configmap", "demo", "-n", namespace, "--from-literal=a=1")
    cluster.kubectl("patch", "configmap", "demo", "-n", namespace, "-p", '{"data":{"a":"2"}}')
    data = json.loads(cluster.kubectl("get", "configmap", "demo", "-n", namespace,
                                      "-o", "json").stdout)["data"]
    assert data == {"a": "2"}
    cluster.kubectl("delete", "configmap", "demo", "-n", namespace)
    res = cluster.kubectl("get", "configmap", "demo", "-n", namespace, check=False)
    assert res.returncode != 0 and "NotFound" in res.stderr


def _sample_objects(namespace):
    """One minimal object of each namespaced platform kind, as our roles write them."""
    return [
        {"apiVersion": "route.openshift.io/v1", "kind": "Route",
         "metadata": {"name": "r1", "namespace": namespace},
         "spec": {"to": {"kind": "Service", "name": "svc"}, "port": {"targetPort": 9000},
                  "tls": {"termination": "edge", "insecureEdgeTerminationPolicy": "Redirect"}}},
        {"apiVersion": "image.openshift.io/v1", "kind": "ImageStream",
         "metadata": {"name": "is1", "namespace": namespace},
         "spec": {"lookupPolicy": {"local": True},
                  "tags": [{"name": "1.0", "annotations": {"a": "b"}}]}},
        {"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
         "metadata": {"name": "bc1", "namespace": namespace},
         "spec": {"runPolicy": "Serial",
                  "source": {"type": "Dockerfile", "dockerfile": "FROM scratch\n"},
                  "strategy": {"type": "Docker", "dockerStrategy": {
                      "from": {"kind": "ImageStreamTag", "name": "base:1"}}},
                  "output": {"to": {"kind": "ImageStreamTag", "name": "is1:1.0"}},
                  "triggers": []}},
        {"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
         "metadata": {"name": "og1", "namespace": namespace}, "spec": {}},
    ]


def test_platform_crd_crud_and_status_subresource(cluster, namespace):
    docs = _sample_objects(namespace)
    cluster.kubectl("apply", "--server-side", "--field-manager=test", "-f", "-",
                    input_text=yaml.safe_dump_all(docs))
    for doc in docs:
        ref = "%s.%s/%s" % (doc["kind"].lower(), doc["apiVersion"].split("/")[0],
                            doc["metadata"]["name"])
        got = json.loads(cluster.kubectl("get", ref, "-n", namespace, "-o", "json").stdout)
        assert _contains(got["spec"], doc["spec"]), (got["spec"], doc["spec"])
    # A write to the main resource must not be able to set status (status subresource).
    cluster.kubectl("patch", "route.route.openshift.io/r1", "-n", namespace, "--type=merge",
                    "-p", '{"status":{"ingress":[{"host":"forged"}]}}')
    route = json.loads(cluster.kubectl("get", "route.route.openshift.io/r1", "-n", namespace,
                                       "-o", "json").stdout)
    assert "forged" not in json.dumps(route.get("status", {}))
    for doc in docs:
        cluster.kubectl("delete", "%s.%s/%s" % (doc["kind"].lower(), doc["apiVersion"].split(
            "/")[0], doc["metadata"]["name"]), "-n", namespace)


def test_rbac_denies_outsider_and_scientist(cluster, namespace):
    res = cluster.kubectl("get", "secrets", "-n", namespace,
                          kubeconfig=cluster.outsider_kubeconfig, check=False)
    assert res.returncode != 0 and "Forbidden" in res.stderr
    assert 'User "outsider"' in res.stderr
    res = cluster.kubectl("create", "namespace", "lc-forbidden",
                          kubeconfig=cluster.scientist_kubeconfig, check=False)
    assert res.returncode != 0 and "Forbidden" in res.stderr


def test_automation_identity_has_documented_role(cluster, namespace):
    res = cluster.kubectl("auth", "can-i", "create", "subscriptions.operators.coreos.com",
                          "-n", namespace, kubeconfig=cluster.automation_kubeconfig, check=False)
    assert res.stdout.strip() == "yes"
    # ... and not more than documented: it cannot touch nodes.
    res = cluster.kubectl("auth", "can-i", "delete", "nodes",
                          kubeconfig=cluster.automation_kubeconfig, check=False)
    assert res.stdout.strip() == "no"


def test_namespace_deletion_completes_and_gc_works(cluster):
    name = "lc-del-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "namespace", name)
    # The serviceaccount controller gives every namespace a `default` ServiceAccount.
    deadline = time.monotonic() + 30
    while cluster.kubectl("get", "sa", "default", "-n", name, check=False).returncode != 0:
        assert time.monotonic() < deadline, "no default ServiceAccount: controller-manager down?"
        time.sleep(0.2)
    owner = json.loads(cluster.kubectl("create", "configmap", "owner", "-n", name,
                                       "-o", "json").stdout)
    child = {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "child", "namespace": name, "ownerReferences": [{
                 "apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                 "uid": owner["metadata"]["uid"]}]}}
    cluster.kubectl("create", "-f", "-", input_text=json.dumps(child))
    cluster.kubectl("delete", "configmap", "owner", "-n", name)
    cluster.kubectl("wait", "--for=delete", "configmap/child", "-n", name, "--timeout=30s")
    cluster.kubectl("delete", "namespace", name, "--timeout=60s")
    res = cluster.kubectl("get", "namespace", name, check=False)
    assert "NotFound" in res.stderr


def test_audit_log_records_who_did_what(cluster, namespace):
    marker = "audit-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "configmap", marker, "-n", namespace)
    cluster.kubectl("get", "configmap", marker, "-n", namespace,
                    kubeconfig=cluster.outsider_kubeconfig, check=False)
    events = []
    with open(cluster.audit_log, encoding="utf-8") as handle:
        for line in handle:
            if marker in line:
                events.append(json.loads(line))
    by_user = {(e["user"]["username"], e["verb"], e["responseStatus"]["code"]) for e in events}
    assert ("localcluster-admin", "create", 201) in by_user
    assert ("outsider", "get", 403) in by_user


def test_lifecycle_of_a_second_cluster(tmp_path):
    """up, up again (no-op), env, status, down (no process left), down --purge."""
    env = dict(os.environ, LOCALCLUSTER_DIR=str(tmp_path / "lc2"))

    def run(*args):
        return subprocess.run([LOCALCLUSTER, *args], env=env, capture_output=True, text=True,
                              check=False)

    res = run("up")
    assert res.returncode == 0, res.stderr
    try:
        assert "already running" in run("up").stdout
        status = run("status")
        assert status.returncode == 0, status.stdout
        for name in ("opm", "olm", "catalog-operator"):  # the real OLM runs in every cluster
            assert re.search(r"^%s\s+healthy$" % name, status.stdout, re.M), status.stdout
        out = run("env").stdout
        for key in ("KUBECONFIG", "LOCALCLUSTER_KUBECONFIG_AUTOMATION",
                    "LOCALCLUSTER_KUBECONFIG_SCIENTIST", "LOCALCLUSTER_KUBECONFIG_OUTSIDER",
                    "LOCALCLUSTER_AUDIT_LOG", "PATH"):
            assert "export %s=" % key in out
        pids = []
        for pidfile in (tmp_path / "lc2" / "pids").iterdir():
            pids.append(int(pidfile.read_text().split()[0]))
        assert len(pids) >= 3
    finally:
        res = run("down")
    assert res.returncode == 0
    for pid in pids:
        assert not os.path.exists("/proc/%d" % pid) or _is_zombie(pid), "pid %d survived" % pid
    assert run("status").returncode == 1
    run("down", "--purge")
    assert not (tmp_path / "lc2").exists()


def _contains(actual, expected):
    """True when every field of ``expected`` is in ``actual`` (defaults may add more)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and _contains(actual[k], v) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(
            _contains(a, e) for a, e in zip(actual, expected))
    return actual == expected


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split()[2] == "Z"
    except OSError:
        return True
