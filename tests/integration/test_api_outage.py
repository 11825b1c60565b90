"""A wait outlives an API server outage up to its deadline (issue 13, item 3).

While ``rhods.gitops.k8s_wait`` waits (progress rounds of 5 s, so several module processes
start, connect and discover while the API is gone), kube-apiserver is stopped for 30 s and
started again with the same command line (``localcluster stop kube-apiserver``, then ``start``).
The automation identity talks to the cluster through the local front proxy, so during the
outage it gets what a load balancer gives: HTTP 502 and refused connections. The wait must go
on, say in its progress that it is retrying, and succeed once the awaited object appears.

The second test runs each kind of long wait at once (the operator's CSV, a Build, a workbench,
an Argo CD Application, the DataScienceCluster; one playbook run each) and stops kube-apiserver
for 45 s once every wait has begun, while what each awaits is still out of reach
(docs/testing.md).

Local control plane only: it stops and starts kube-apiserver with ``localcluster stop`` and
``start``.
"""

import json
import os
import subprocess
import threading
import time

import pytest
import yaml

from .ansible import REPO_ROOT, run_playbook
from .site import SITE, play

LOCALCLUSTER = os.path.join(REPO_ROOT, "tests", "cluster", "localcluster")

OUTAGE_SECONDS = 30
NAMESPACE = "outage-probe"
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Wait for the probe ConfigMap across an API outage
      rhods.gitops.k8s_wait:
        kind: ConfigMap
        name: probe
        namespace: %s
        condition: "data.ready == 'yes'"
        wait_timeout: 240
        progress_interval: 5
""" % NAMESPACE


def localcluster(cluster, *args):
    """``tests/cluster/localcluster <args>`` on the test's control plane."""
    res = subprocess.run([LOCALCLUSTER, *args], capture_output=True, text=True, check=False,
                         env=dict(os.environ, LOCALCLUSTER_DIR=cluster.state_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def api_outage(cluster, seconds, kube_client=None):
    """kube-apiserver stopped for ``seconds`` (from the stop request to the start request),
    then started again with the same command line; returns once it answers.

    The connections the admin client (``kube_client``, shared by the whole session) keeps open
    died with the API server: they are dropped, or the next request of a later test on each
    of them would fail (RemoteDisconnected)."""
    stopped = time.monotonic()
    localcluster(cluster, "stop", "kube-apiserver")
    time.sleep(max(0, seconds - (time.monotonic() - stopped)))
    localcluster(cluster, "start", "kube-apiserver")
    if kube_client is not None:
        kube_client.rest_client.pool_manager.clear()


def _until(check, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.5)
    return False


def test_a_wait_survives_the_api_server_stopping_for_30_seconds(cluster, kube_client, tmp_path):
    if not cluster.state_dir:
        pytest.skip("needs the local control plane (restarts its kube-apiserver)")
    cluster.kubectl("create", "namespace", NAMESPACE, check=False)
    cluster.kubectl("delete", "configmap", "probe", "-n", NAMESPACE, "--ignore-not-found")
    cluster.kubectl("create", "rolebinding", "probe-reader", "-n", NAMESPACE,
                    "--clusterrole=view", "--user=rhods-gitops-automation", check=False)
    playbook = tmp_path / "wait.yml"
    playbook.write_text(PLAYBOOK)
    result = {}
    runner = threading.Thread(target=lambda: result.update(res=run_playbook(
        str(playbook), kubeconfig=cluster.automation_kubeconfig, timeout=600)))
    runner.start()
    try:
        time.sleep(8)  # the wait is watching
        api_outage(cluster, OUTAGE_SECONDS, kube_client)
        time.sleep(3)
        cluster.kubectl("create", "configmap", "probe", "-n", NAMESPACE, "--from-literal=ready=yes")
    finally:
        runner.join(600)
    res = result["res"]
    assert res.rc == 0, str(res)
    assert "did not answer" in res.output or "connection lost" in res.output or \
        "API error 50" in res.output, "the progress says the API was gone: " + str(res)
    cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


# ---------------------------------------------------------------- every kind of long wait

WAIT_OUTAGE_SECONDS = 45
WAIT_TIMEOUT = 600
OLM_NAMESPACE = "outage-olm"
WORKBENCH_NAMESPACE = "outage-workbench"
APP_NAMESPACE = "outage-app"
# The pod of the Application's Deployment becomes Ready this long after it starts (kwok), the
# Build completes this long after it runs (simulator): longer than an outage.
READY_AFTER = "90s"
BUILD_SECONDS = 90
READY_AFTER_ANNOTATION = "localcluster.rhods.gitops/ready-after"
STOPPED = "kubeflow-resource-stopped"


def wait_tasks(repo_url):
    """The tasks of each kind of long wait, each kind its own playbook run."""
    # Stopped (no pod) until the test starts it after the outage.
    notebook = {"apiVersion": "kubeflow.org/v1", "kind": "Notebook",
                "metadata": {"name": "outage-wb", "namespace": WORKBENCH_NAMESPACE,
                             "annotations": {STOPPED: "held by the outage test"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "outage-wb", "image": "quay.io/outage/workbench:1"}]}}}}
    return {
        "operator": [{"name": "operator", "rhods.gitops.olm_operator": {
            "package": "example-slow-operator", "namespace": OLM_NAMESPACE,
            "wait_timeout": WAIT_TIMEOUT}}],
        "build": [{"name": "build", "rhods.gitops.image_build": {
            "namespace": "redhat-ods-applications", "name": "lightgbm", "rebuild": True,
            "wait_timeout": WAIT_TIMEOUT}}],
        "workbench": [
            {"name": "workbench", "rhods.gitops.apply": {"definitions": [notebook]}},
            {"name": "workbench ready", "rhods.gitops.k8s_wait": {
                "api_version": "kubeflow.org/v1", "kind": "Notebook", "namespace":
                WORKBENCH_NAMESPACE, "name": "outage-wb",
                "condition": "status.readyReplicas >= `1`", "wait_timeout": WAIT_TIMEOUT}}],
        "application": [{"name": "application", "rhods.gitops.argocd_application": {
            "name": "outage-app", "project": "outage-app", "repo_url": repo_url,
            "target_revision": "main", "destination": {"namespace": APP_NAMESPACE},
            "wait_timeout": WAIT_TIMEOUT}}],
        "dsc": [{"name": "dsc", "rhods.gitops.datasciencecluster": {
            "components": {"ray": "Managed"}, "wait_timeout": WAIT_TIMEOUT}}],
    }


def playbook_file(path, tasks):
    path.write_text(yaml.safe_dump([{"hosts": "localhost", "connection": "local",
                                     "gather_facts": False, "tasks": tasks}]))
    return str(path)


def application_repo(tmp_path):
    """A bare repository whose main branch holds one Deployment with slow pods."""
    work = tmp_path / "app"
    work.mkdir()
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "outage-app", "namespace": APP_NAMESPACE},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "outage-app"}},
                           "template": {"metadata": {
                               "labels": {"app": "outage-app"},
                               "annotations": {READY_AFTER_ANNOTATION: READY_AFTER}},
                               "spec": {"containers": [{"name": "main",
                                                        "image": "quay.io/outage/app:1"}]}}}}
    (work / "deployment.yaml").write_text(yaml.safe_dump(deployment))
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "app"],
                 ["clone", "-q", "--bare", ".", str(tmp_path / "app.git")]):
        subprocess.run(["git", *args], cwd=work, check=True, capture_output=True)
    return "file://%s" % (tmp_path / "app.git")


def _json(cluster, *args):
    res = cluster.kubectl(*args, "-o", "json", check=False)
    return json.loads(res.stdout) if res.returncode == 0 else None


def _builds(cluster):
    found = _json(cluster, "get", "builds", "-n", "redhat-ods-applications", "-l",
                  "openshift.io/build-config.name=lightgbm") or {"items": []}
    return {b["metadata"]["name"]: (b.get("status") or {}).get("phase") for b in found["items"]}


def _csv_phase(cluster):
    found = _json(cluster, "get", "csv", "-n", OLM_NAMESPACE) or {"items": []}
    return [(c["metadata"]["name"], (c.get("status") or {}).get("phase"))
            for c in found["items"] if c["metadata"]["name"].startswith("example-slow")]


def _dsc_ray(cluster):
    dsc = _json(cluster, "get", "datasciencecluster", "default-dsc") or {}
    return ((dsc.get("spec") or {}).get("components") or {}).get("ray", {}).get(
        "managementState")


def wait_steps(cluster, builds_before, simulator):
    """(kind, started: whether the wait has begun, pending: whether it still waits, release:
    what lets it end, after the outage, or None)."""
    def notebook():
        return _json(cluster, "get", "notebook", "outage-wb", "-n", WORKBENCH_NAMESPACE)

    def application():
        return _json(cluster, "get", "applications.argoproj.io", "outage-app", "-n",
                     "openshift-gitops")

    def app_done():
        status = (application() or {}).get("status") or {}
        return ((status.get("sync") or {}).get("status"),
                (status.get("health") or {}).get("status")) == ("Synced", "Healthy")

    return [
        ("build", lambda: set(_builds(cluster)) - set(builds_before),
         lambda: all(phase != "Complete" for name, phase in _builds(cluster).items()
                     if name not in builds_before), None),
        ("workbench", notebook,
         lambda: ((notebook() or {}).get("status") or {}).get("readyReplicas", 0) < 1,
         lambda: cluster.kubectl("annotate", "notebook", "outage-wb", "-n",
                                 WORKBENCH_NAMESPACE, STOPPED + "-")),
        ("application", application, lambda: not app_done(), None),
        ("dsc", lambda: _dsc_ray(cluster) == "Managed",
         lambda: (_json(cluster, "get", "datasciencecluster", "default-dsc") or {}).get(
             "status", {}).get("phase") != "Ready",
         lambda: _release_ray(cluster, simulator)),
        # Last (its window is the shortest, about 4 s), and once OLM has bound the CSV to the
        # Subscription: an outage between its creating the CSV and recording it in the
        # Subscription leaves them unbound for good (OLM's ResolutionFailed "exists and is not
        # referenced by a subscription", its issue 2201).
        ("operator", lambda: ((_json(cluster, "get", "subscription", "example-slow-operator",
                                     "-n", OLM_NAMESPACE) or {}).get("status") or {}).get(
                                         "installedCSV"),
         lambda: all(phase != "Succeeded" for _, phase in _csv_phase(cluster)), None),
    ]


def _prepare_waits(cluster):
    for namespace in (OLM_NAMESPACE, WORKBENCH_NAMESPACE, APP_NAMESPACE):
        cluster.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=true",
                        "--timeout=300s", check=False)
    for namespace in (WORKBENCH_NAMESPACE, APP_NAMESPACE):
        cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl("delete", "applications.argoproj.io,appprojects.argoproj.io", "outage-app",
                    "-n", "openshift-gitops", "--ignore-not-found", check=False)
    project = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
               "metadata": {"name": "outage-app", "namespace": "openshift-gitops"},
               "spec": {"sourceRepos": ["*"], "destinations": [
                   {"server": "https://kubernetes.default.svc", "namespace": APP_NAMESPACE}],
                   "namespaceResourceWhitelist": [{"group": "apps", "kind": "Deployment"}]}}
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(project))
    # The controller may sync only the kinds the collection's components deliver: an Application
    # of one's own needs its rights granted, as a user would (gitops_bootstrap_controller_rules).
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps({"apiVersion": "v1", "kind": "List",
                                                               "items": CONTROLLER_RIGHTS}))


CONTROLLER_RIGHTS = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "outage-app-controller"},
     "rules": [{"apiGroups": ["apps"], "resources": ["deployments"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "outage-app-controller"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "outage-app-controller"},
     "subjects": [{"kind": "ServiceAccount", "namespace": "openshift-gitops",
                   "name": "openshift-gitops-argocd-application-controller"}]}]


@pytest.fixture
def converged(cluster):
    """The site, direct delivery, as the other tests converge it (the build, the workbench
    and the Application waits need its BuildConfig, Argo CD and the DataScienceCluster)."""
    res = play(cluster, SITE, {"minio_create_buckets": False, "dsp_verify_connections": "never",
                               "rhods_gitops_state_namespace": "rhods-gitops"})
    assert res.rc == 0, str(res)


def test_every_kind_of_long_wait_survives_a_45_second_outage(cluster, converged, simulator,
                                                             kube_client, tmp_path):
    """The five waits run at once (one playbook run each); one outage interrupts them all."""
    # pylint: disable=redefined-outer-name,unused-argument
    if not cluster.state_dir:
        pytest.skip("needs the local control plane (restarts its kube-apiserver)")
    _prepare_waits(cluster)
    simulator.set({"delays": {"build": BUILD_SECONDS},
                   "failures": {"dscComponents": {"ray": "held back by the outage test"}}})
    results, pending = {}, {}
    runners = [threading.Thread(target=lambda k=kind, t=tasks: results.update({k: run_playbook(
        playbook_file(tmp_path / ("wait-%s.yml" % k), t),
        kubeconfig=cluster.automation_kubeconfig, timeout=1800)}))
        for kind, tasks in wait_tasks(application_repo(tmp_path)).items()]
    steps = wait_steps(cluster, _builds(cluster), simulator)
    for runner in runners:
        runner.start()

    def running():
        return all(r.is_alive() for r in runners)

    try:
        _until(lambda: not running() or all(step[1]() for step in steps), 600)
        if running():
            pending = {kind: bool(still()) for kind, _, still, _ in steps}
            api_outage(cluster, WAIT_OUTAGE_SECONDS, kube_client)
            for release in (step[3] for step in steps if step[3]):
                release()
    finally:
        for runner in runners:
            runner.join(1800)
        restore = run_playbook(playbook_file(tmp_path / "restore.yml", [
            {"name": "ray back to Removed",
             "rhods.gitops.datasciencecluster": {"wait_timeout": 300}}]),
            kubeconfig=cluster.automation_kubeconfig)
        cluster.kubectl("delete", "applications.argoproj.io,appprojects.argoproj.io",
                        "outage-app", "-n", "openshift-gitops", "--ignore-not-found",
                        check=False)
        cluster.kubectl("delete", "clusterrolebinding,clusterrole", "outage-app-controller",
                        "--ignore-not-found", check=False)
        for namespace in (OLM_NAMESPACE, WORKBENCH_NAMESPACE, APP_NAMESPACE):
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    print("\nwaits across one outage: %s" % {
        kind: (pending.get(kind), res.rc, round(res.elapsed)) for kind, res in results.items()})
    assert pending == {step[0]: True for step in steps}, {k: str(r) for k, r in results.items()}
    for kind, res in results.items():
        assert res.rc == 0, "%s: %s" % (kind, res)
        assert "did not answer" in res.output or "connection lost" in res.output, \
            "%s: the progress says the API was gone: %s" % (kind, res)
    assert restore.rc == 0, str(restore)


def _release_ray(cluster, simulator):
    """Clear the injected failure (the DataScienceCluster's ray gets ready) and touch the
    DataScienceCluster so that the simulator looks at it again."""
    simulator.reset()
    cluster.kubectl("annotate", "--overwrite", "datasciencecluster", "default-dsc",
                    "outage-test/released=%d" % time.time(), check=False)
