"""Pods for real: kube-scheduler, the workload controllers and kwok's fake nodes.

No kubelet runs here; kwok plays it for the Nodes ``up`` creates. These tests
check what a client of a real cluster relies on: a Deployment gets a ReplicaSet
and scheduled pods and reports them available, a StatefulSet's pod and a Job
run, a claim of the default StorageClass is provisioned and bound, the
pvc-protection finalizer holds a claim while a pod uses it, and the fault
stages (tests/cluster/README.md, "Failure injection") make pods fail the way
a kubelet would report it.
"""

import os
import sys
import time
import uuid

import pytest
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from simulator import core  # noqa: E402  pylint: disable=wrong-import-position

APPS = "apps/v1"
FAULT = "localcluster.rhods.gitops/fault"
READY_AFTER = "localcluster.rhods.gitops/ready-after"


@pytest.fixture(scope="module")
def kube(kube_client):
    return core.Kube(kube_client)


@pytest.fixture
def namespace(kube):
    name = "pods-" + uuid.uuid4().hex[:8]
    kube.create("v1", "namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete("v1", "namespaces", name)


def wait_for(what, fn, timeout=60.0, interval=0.1):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except ApiException as exc:
            if exc.status != 404:
                raise
            last = "404"
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.0fs waiting for %s; last seen: %r"
                        % (timeout, what, last), pytrace=False)
        time.sleep(interval)


def _template(app, labels=None, annotations=None, image="registry.example.test/app:1"):
    meta = {"labels": dict({"app": app}, **(labels or {}))}
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta,
            "spec": {"containers": [{"name": "c", "image": image,
                                     "resources": {"requests": {"cpu": "100m",
                                                                "memory": "64Mi"}}}]}}


def _deployment(kube, namespace, name, replicas=1, **template):
    kube.create(APPS, "deployments", {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "progressDeadlineSeconds": 600, "template": _template(name, **template)}})


def _pods(kube, namespace, app):
    return kube.list("v1", "pods", namespace, label_selector="app=" + app)


def _count(obj, key):
    return int(((obj or {}).get("status") or {}).get(key) or 0)


def test_fake_nodes_are_ready_and_default_storage_class_exists(kube):
    nodes = [n for n in kube.list("v1", "nodes")
             if (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake"]
    assert nodes
    for node in nodes:
        assert core.get_condition(node, "Ready")["status"] == "True"
        assert int(node["status"]["allocatable"]["pods"]) >= 100
    classes = kube.list("storage.k8s.io/v1", "storageclasses")
    defaults = [c["metadata"]["name"] for c in classes if (c["metadata"].get("annotations") or {})
                .get("storageclass.kubernetes.io/is-default-class") == "true"]
    assert defaults == ["kwok-volume"]


def test_deployment_statefulset_job_and_claim(kube, namespace):
    _deployment(kube, namespace, "web", replicas=2)
    kube.create(APPS, "statefulsets", {
        "metadata": {"name": "db", "namespace": namespace},
        "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                 "template": _template("db")}})
    kube.create("batch/v1", "jobs", {"metadata": {"name": "once", "namespace": namespace},
                                     "spec": {"template": {"spec": dict(
                                         _template("once")["spec"], restartPolicy="Never")}}})
    kube.create("v1", "persistentvolumeclaims", {
        "metadata": {"name": "data", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "20Gi"}}}})

    dep = wait_for("Deployment web available", lambda: (lambda d: d if _count(
        d, "availableReplicas") == 2 else None)(kube.get(APPS, "deployments", "web", namespace)))
    assert core.get_condition(dep, "Available")["status"] == "True"
    assert core.get_condition(dep, "Progressing")["reason"] == "NewReplicaSetAvailable"
    pods = _pods(kube, namespace, "web")
    assert len(pods) == 2
    for pod in pods:
        assert pod["spec"]["nodeName"].startswith("kwok-node-")
        assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"]
        assert pod["metadata"]["ownerReferences"][0]["kind"] == "ReplicaSet"

    sts = wait_for("StatefulSet db ready", lambda: (lambda s: s if _count(
        s, "readyReplicas") == 1 else None)(kube.get(APPS, "statefulsets", "db", namespace)))
    assert sts["status"]["observedGeneration"] == sts["metadata"]["generation"]
    assert kube.get("v1", "pods", "db-0", namespace)["status"]["phase"] == "Running"

    job = wait_for("Job complete", lambda: (lambda j: j if (core.get_condition(
        j, "Complete") or {}).get("status") == "True" else None)(
            kube.get("batch/v1", "jobs", "once", namespace)))
    assert job["status"]["succeeded"] == 1

    pvc = wait_for("claim Bound", lambda: (lambda p: p if (p.get("status") or {}).get(
        "phase") == "Bound" else None)(kube.get("v1", "persistentvolumeclaims", "data",
                                                 namespace)))
    assert pvc["spec"]["storageClassName"] == "kwok-volume"
    assert pvc["status"]["capacity"] == {"storage": "20Gi"}
    volume = kube.get("v1", "persistentvolumes", pvc["spec"]["volumeName"])
    assert volume["spec"]["claimRef"]["name"] == "data"

    # Scaling goes through the ReplicaSet and the scheduler again.
    kube.patch(APPS, "deployments", "web", {"spec": {"replicas": 3}}, namespace)
    wait_for("scaled Deployment available", lambda: _count(kube.get(
        APPS, "deployments", "web", namespace), "availableReplicas") == 3)

    # The service's endpoints are the pods' addresses.
    kube.create("v1", "services", {"metadata": {"name": "web", "namespace": namespace},
                                   "spec": {"selector": {"app": "web"},
                                            "ports": [{"port": 80, "targetPort": 8080}]}})
    slices = wait_for("EndpointSlice with 3 addresses", lambda: [
        s for s in kube.list("discovery.k8s.io/v1", "endpointslices", namespace,
                             label_selector="kubernetes.io/service-name=web")
        if len(s.get("endpoints") or []) == 3])
    assert all(e["conditions"]["ready"] for e in slices[0]["endpoints"])


def test_claim_in_use_is_protected_until_its_pod_is_gone(kube, namespace):
    kube.create("v1", "persistentvolumeclaims", {
        "metadata": {"name": "used", "namespace": namespace},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    template = _template("user")
    template["spec"]["volumes"] = [{"name": "d", "persistentVolumeClaim": {"claimName": "used"}}]
    template["spec"]["containers"][0]["volumeMounts"] = [{"name": "d", "mountPath": "/d"}]
    kube.create(APPS, "deployments", {
        "metadata": {"name": "user", "namespace": namespace},
        "spec": {"selector": {"matchLabels": {"app": "user"}}, "template": template}})
    wait_for("Deployment user available", lambda: _count(kube.get(
        APPS, "deployments", "user", namespace), "availableReplicas") == 1)
    kube.delete("v1", "persistentvolumeclaims", "used", namespace)
    time.sleep(2)
    held = kube.get("v1", "persistentvolumeclaims", "used", namespace)
    assert held["metadata"]["deletionTimestamp"]
    assert "kubernetes.io/pvc-protection" in held["metadata"]["finalizers"]
    kube.delete(APPS, "deployments", "user", namespace)
    wait_for("claim gone once no pod uses it", lambda: kube.get(
        "v1", "persistentvolumeclaims", "used", namespace) is None)


@pytest.mark.parametrize("fault, how", [
    ("never-ready", "label"), ("crash-loop", "label"), ("image-pull", "image")])
def test_fault_stages(kube, namespace, fault, how):
    if how == "label":
        _deployment(kube, namespace, "bad", labels={FAULT: fault})
    else:
        _deployment(kube, namespace, "bad",
                    image="%s.fault.localcluster.test/app:1" % fault)
    pod = wait_for("pod with container statuses", lambda: next(
        (p for p in _pods(kube, namespace, "bad")
         if (p.get("status") or {}).get("containerStatuses")), None))
    status = pod["status"]
    container = status["containerStatuses"][0]
    assert core.get_condition(pod, "Ready")["status"] == "False"
    assert container["ready"] is False
    if fault == "never-ready":
        assert status["phase"] == "Running" and "running" in container["state"]
    elif fault == "crash-loop":
        assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
        assert container["lastState"]["terminated"]["exitCode"] == 1
        assert container["restartCount"] > 2
    else:
        assert status["phase"] == "Pending"
        assert container["state"]["waiting"]["reason"] == "ImagePullBackOff"
    time.sleep(2)
    dep = kube.get(APPS, "deployments", "bad", namespace)
    assert _count(dep, "availableReplicas") == 0
    assert _count(dep, "unavailableReplicas") == 1
    assert core.get_condition(dep, "Available")["status"] == "False"


def test_ready_after_delays_readiness(kube, namespace):
    started = time.monotonic()
    _deployment(kube, namespace, "late", annotations={READY_AFTER: "3s"})
    wait_for("late Deployment available", lambda: _count(kube.get(
        APPS, "deployments", "late", namespace), "availableReplicas") == 1)
    assert time.monotonic() - started >= 3
