"""Integration tests of the operator simulator's controllers, on the real kube-apiserver.

They drive the controllers only through the API (create objects, change the
simulator's ConfigMap through the ``simulator`` fixture) and check what a
client of the real operators would see.  Each test works in its own
namespace(s) and removes what it created; cluster-scoped things a test needs
(a CRD, the DataScienceCluster) are installed only when absent and removed
again afterwards.
"""

import os
import sys
import time
import types
import uuid

import pytest
import yaml
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from lc import argocd_instance  # noqa: E402  pylint: disable=wrong-import-position
from simulator import core  # noqa: E402  pylint: disable=wrong-import-position
from simulator.controllers import openshift  # noqa: E402  pylint: disable=wrong-import-position
from lc import crds as lc_crds  # noqa: E402  pylint: disable=wrong-import-position

CRD_API = "apiextensions.k8s.io/v1"
BUILD = "build.openshift.io/v1"
IMAGE = "image.openshift.io/v1"
ROUTE = "route.openshift.io/v1"
PROJECT = "project.openshift.io/v1"
DOMAIN = core.DEFAULTS["routes"]["domain"]

# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kube(kube_client):
    return core.Kube(kube_client)


def wait_for(what, fn, timeout=60.0, interval=0.02):
    """Poll ``fn`` until it returns something truthy; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
            last = "ApiException %s %s" % (exc.status, exc.reason)
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s; last seen: %r"
                        % (timeout, what, last), pytrace=False)
        time.sleep(interval)


def phase(obj):
    return ((obj or {}).get("status") or {}).get("phase")


def cond(obj, ctype):
    return core.get_condition(obj, ctype) or {}


@pytest.fixture
def namespace(kube):
    """A fresh namespace, deleted afterwards."""
    name = "sim-" + uuid.uuid4().hex[:8]
    kube.create("v1", "namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete("v1", "namespaces", name)


def _apply_crd_files(kube, paths, keep):
    """Apply the CRDs of ``paths`` that are absent; remember them in ``keep``."""
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for crd in yaml.safe_load_all(handle):
                if not crd:
                    continue
                name = crd["metadata"]["name"]
                if kube.get(CRD_API, "customresourcedefinitions", name) is None:
                    kube.apply(CRD_API, "customresourcedefinitions", crd)
                    keep.append(name)
                # The upstream CRDs are large (ArgoCD: 2 MB): on a loaded machine
                # establishing one takes longer than a simulator reaction.
                wait_for("CRD %s Established" % name, lambda n=name: core.is_established(
                    kube.get(CRD_API, "customresourcedefinitions", n) or {}), timeout=60)


def _served(kube, group, plural, version):
    """Wait until the new type answers (a fresh CRD can take a moment)."""
    wait_for("%s.%s/%s served" % (plural, group, version),
             lambda: kube.request("GET", core.api_path(group + "/" + version, plural)) is not None,
             timeout=60)


# ---------------------------------------------------------------------------
# Builds and image streams
# ---------------------------------------------------------------------------

def _base_stream(kube, namespace, reference="quay.io/example/base:1.0"):
    return kube.create(IMAGE, "imagestreams", {
        "kind": "ImageStream", "metadata": {"name": "base", "namespace": namespace},
        "spec": {"tags": [{"name": "1.0", "from": {"kind": "DockerImage", "name": reference}}]}})


def _buildconfig(kube, namespace, name="app", triggers=("ConfigChange", "ImageChange"),
                 run_policy="Serial"):
    return kube.create(BUILD, "buildconfigs", {
        "kind": "BuildConfig", "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "runPolicy": run_policy,
            "source": {"type": "Git", "git": {"uri": "https://git.example.test/app.git",
                                              "ref": "main"}, "contextDir": "image"},
            "strategy": {"type": "Docker", "dockerStrategy": {
                "from": {"kind": "ImageStreamTag", "name": "base:1.0"}}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "%s:v1" % name}},
            "triggers": [{"type": t, "imageChange": {}} if t == "ImageChange" else {"type": t}
                         for t in triggers]}})


def _build(kube, namespace, name):
    return kube.get(BUILD, "builds", name, namespace)


def _stream_tag(kube, namespace, stream, tag):
    obj = kube.get(IMAGE, "imagestreams", stream, namespace) or {}
    for entry in (obj.get("status") or {}).get("tags") or []:
        if entry.get("tag") == tag and entry.get("items"):
            return entry["items"][0]
    return None


def test_imagestream_import_status(kube, namespace):
    _base_stream(kube, namespace, "quay.io/example/base:1.0")
    item = wait_for("imported tag", lambda: _stream_tag(kube, namespace, "base", "1.0"))
    digest = core.sha256_hex("quay.io/example/base:1.0")
    assert item["dockerImageReference"] == "quay.io/example/base@sha256:" + digest
    assert item["image"] == "sha256:" + digest
    stream = kube.get(IMAGE, "imagestreams", "base", namespace)
    assert stream["status"]["dockerImageRepository"] == (
        "image-registry.openshift-image-registry.svc:5000/%s/base" % namespace)
    assert stream["status"]["publicDockerImageRepository"].endswith("/%s/base" % namespace)


def test_build_triggered_once_completes_and_pushes_digest(kube, namespace, simulator):
    simulator.set({"delays": {"build": 0.5}})
    _base_stream(kube, namespace)
    base = wait_for("base imported", lambda: _stream_tag(kube, namespace, "base", "1.0"))
    started = time.monotonic()
    _buildconfig(kube, namespace)
    build = wait_for("build app-1 Complete", lambda: (
        lambda b: b if phase(b) in ("Complete", "Failed") else None)(
            _build(kube, namespace, "app-1")))
    assert phase(build) == "Complete", build["status"]
    assert time.monotonic() - started >= 0.5
    meta = build["metadata"]
    assert meta["labels"]["openshift.io/build-config.name"] == "app"
    assert meta["labels"]["buildconfig"] == "app"
    assert meta["labels"]["openshift.io/build.start-policy"] == "Serial"
    assert meta["annotations"]["openshift.io/build.number"] == "1"
    assert meta["ownerReferences"][0]["kind"] == "BuildConfig"
    assert build["spec"]["triggeredBy"][0]["imageChangeBuild"]["imageID"] == \
        base["dockerImageReference"]
    assert build["spec"]["strategy"]["dockerStrategy"]["from"] == {
        "kind": "DockerImage", "name": base["dockerImageReference"]}
    digest = build["status"]["output"]["to"]["imageDigest"]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert build["status"]["outputDockerImageReference"].endswith("/%s/app:v1" % namespace)
    assert build["status"]["startTimestamp"] and build["status"]["completionTimestamp"]

    item = _stream_tag(kube, namespace, "app", "v1")
    assert item is not None, "output ImageStream has no status tag v1"
    assert item["image"] == digest
    assert item["dockerImageReference"] == (
        "image-registry.openshift-image-registry.svc:5000/%s/app@%s" % (namespace, digest))

    bc = kube.get(BUILD, "buildconfigs", "app", namespace)
    assert bc["status"]["lastVersion"] == 1
    assert bc["status"]["imageChangeTriggers"][0]["lastTriggeredImageID"] == \
        base["dockerImageReference"]
    assert bc["spec"]["triggers"][1]["imageChange"]["lastTriggeredImageID"] == \
        base["dockerImageReference"]
    # ConfigChange and ImageChange together start one build, not two.
    time.sleep(0.5)
    assert [b["metadata"]["name"] for b in kube.list(BUILD, "builds", namespace)] == ["app-1"]

    # A new base image triggers the next build, with another digest.
    kube.patch(IMAGE, "imagestreams", "base", {"spec": {"tags": [
        {"name": "1.0", "from": {"kind": "DockerImage", "name": "quay.io/example/base:1.1"}}]}},
        namespace)
    build2 = wait_for("image change build app-2 Complete", lambda: (
        lambda b: b if phase(b) == "Complete" else None)(_build(kube, namespace, "app-2")))
    assert build2["spec"]["triggeredBy"][0]["message"] == "Image change"
    assert build2["status"]["output"]["to"]["imageDigest"] != digest
    wait_for("ImageStream points at build 2", lambda: (_stream_tag(kube, namespace, "app", "v1")
                                                        or {}).get("image") ==
             build2["status"]["output"]["to"]["imageDigest"])


def test_injected_build_failure_has_reason_and_log(cluster, kube, namespace, simulator):
    message = "pip install failed: No matching distribution found for lightgbm==99"
    simulator.set({"delays": {"build": 0.2},
                   "failures": {"builds": {"%s/app" % namespace: message}}})
    _buildconfig(kube, namespace, triggers=("ConfigChange",))
    build = wait_for("build Failed", lambda: (lambda b: b if phase(b) in ("Failed", "Complete")
                                              else None)(_build(kube, namespace, "app-1")))
    assert phase(build) == "Failed"
    assert build["status"]["reason"] == "DockerBuildFailed"
    assert build["status"]["message"] == "Docker build strategy has failed."
    assert message in build["status"]["logSnippet"]
    text = openshift.read_build_log(types.SimpleNamespace(kube=kube), namespace, "app-1")
    assert text.rstrip().splitlines()[-1] == "error: build error: " + message
    assert _stream_tag(kube, namespace, "app", "v1") is None
    if cluster.state_dir:
        # The same log through builds/<name>/log (the front proxy on the local cluster).
        raw = cluster.kubectl("get", "--raw", "/apis/build.openshift.io/v1/namespaces/%s/builds/"
                              "app-1/log" % namespace).stdout
        assert ("error: build error: " + message) in raw


def test_serial_builds_wait_for_each_other(kube, namespace, simulator):
    simulator.set({"delays": {"build": 0.6}})
    _buildconfig(kube, namespace, triggers=())
    ctx = types.SimpleNamespace(kube=kube)
    first = openshift.start_build(ctx, namespace, "app", [{"message": "Manually triggered"}])
    second = openshift.start_build(ctx, namespace, "app", "Manually triggered")
    assert (first["metadata"]["name"], second["metadata"]["name"]) == ("app-1", "app-2")
    wait_for("app-1 Running", lambda: phase(_build(kube, namespace, "app-1")) == "Running")
    time.sleep(0.2)
    assert phase(_build(kube, namespace, "app-2")) == "New"
    wait_for("app-1 Complete", lambda: phase(_build(kube, namespace, "app-1")) == "Complete")
    wait_for("app-2 Complete", lambda: phase(_build(kube, namespace, "app-2")) == "Complete")
    one, two = _build(kube, namespace, "app-1"), _build(kube, namespace, "app-2")
    assert two["status"]["startTimestamp"] >= one["status"]["completionTimestamp"]
    assert kube.get(BUILD, "buildconfigs", "app", namespace)["status"]["lastVersion"] == 2


# ---------------------------------------------------------------------------
# Routes and projects
# ---------------------------------------------------------------------------

def test_route_gets_host_and_is_admitted(kube, namespace):
    kube.create(ROUTE, "routes", {"kind": "Route", "metadata": {"name": "web",
                                                                "namespace": namespace},
                                  "spec": {"to": {"kind": "Service", "name": "web"}}})
    route = wait_for("Route admitted", lambda: (
        lambda r: r if (r.get("status") or {}).get("ingress") else None)(
            kube.get(ROUTE, "routes", "web", namespace)))
    host = "web-%s.%s" % (namespace, DOMAIN)
    assert route["spec"]["host"] == host
    ingress = route["status"]["ingress"][0]
    assert ingress["host"] == host and ingress["routerName"] == "default"
    assert ingress["conditions"][0]["type"] == "Admitted"
    assert ingress["conditions"][0]["status"] == "True"


def test_projects_and_namespaces(kube):
    suffix = uuid.uuid4().hex[:8]
    requested, project, plain = ("sim-pr-" + suffix, "sim-project-" + suffix,
                                 "sim-ns-" + suffix)
    try:
        kube.create(PROJECT, "projectrequests", {
            "kind": "ProjectRequest", "metadata": {"name": requested},
            "displayName": "Requested", "description": "made by a ProjectRequest"})
        ns = wait_for("Namespace from the ProjectRequest",
                      lambda: kube.get("v1", "namespaces", requested))
        annotations = ns["metadata"]["annotations"]
        assert annotations["openshift.io/display-name"] == "Requested"
        assert annotations["openshift.io/description"] == "made by a ProjectRequest"
        assert "openshift.io/requester" in annotations
        wait_for("Project Active", lambda: phase(kube.get(PROJECT, "projects", requested))
                 == "Active")
        wait_for("ProjectRequest gone (virtual)",
                 lambda: kube.get(PROJECT, "projectrequests", requested) is None)

        kube.create(PROJECT, "projects", {
            "kind": "Project",
            "metadata": {"name": project, "labels": {"opendatahub.io/dashboard": "true"},
                         "annotations": {"openshift.io/display-name": "Demo"}}})
        ns = wait_for("Namespace from the Project", lambda: kube.get("v1", "namespaces", project))
        assert ns["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
        assert ns["metadata"]["annotations"]["openshift.io/display-name"] == "Demo"
        wait_for("Project Active", lambda: phase(kube.get(PROJECT, "projects", project))
                 == "Active")

        kube.create("v1", "namespaces", {"metadata": {"name": plain, "labels": {"team": "a"}}})
        mirror = wait_for("mirror Project", lambda: kube.get(PROJECT, "projects", plain))
        assert mirror["metadata"]["labels"]["team"] == "a"
        kube.patch("v1", "namespaces", plain, {"metadata": {"labels": {"team": "b"}}})
        wait_for("mirror follows the Namespace", lambda: kube.get(
            PROJECT, "projects", plain)["metadata"]["labels"].get("team") == "b")

        # As on OpenShift, a deleted Project stays (Terminating) until its Namespace is gone.
        kube.delete(PROJECT, "projects", project)
        deleting = kube.get(PROJECT, "projects", project)
        assert deleting is None or deleting["metadata"].get("deletionTimestamp")
        wait_for("Namespace of a deleted Project terminating or gone", lambda: (
            lambda n: n is None or n["metadata"].get("deletionTimestamp"))(
                kube.get("v1", "namespaces", project)))
        wait_for("Project and Namespace gone", lambda: kube.get(
            PROJECT, "projects", project) is None and kube.get(
                "v1", "namespaces", project) is None, timeout=180)
        kube.delete("v1", "namespaces", plain)
        wait_for("mirror Project of a deleted Namespace gone",
                 lambda: kube.get(PROJECT, "projects", plain) is None, timeout=180)
    finally:
        for name in (requested, project, plain):
            kube.delete(PROJECT, "projects", name)
            kube.delete("v1", "namespaces", name)


# ---------------------------------------------------------------------------
# RHODS: DSCInitialization and DataScienceCluster
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rhods_crds(kube):
    """DSC/DSCI CRDs (v1 variant) when absent, removed again at the end of the module."""
    installed = []
    namespaces_before = {n["metadata"]["name"] for n in kube.list("v1", "namespaces")}
    dsc_crd = kube.get(CRD_API, "customresourcedefinitions",
                       "datascienceclusters.datasciencecluster.opendatahub.io")
    if dsc_crd is None:
        _apply_crd_files(kube, lc_crds.operator_crds("rhods-operator", ["v1"]), installed)
    versions = {}
    for crd in ("datascienceclusters.datasciencecluster.opendatahub.io",
                "dscinitializations.dscinitialization.opendatahub.io"):
        obj = kube.get(CRD_API, "customresourcedefinitions", crd)
        versions[crd.split(".")[0]] = "%s/%s" % (obj["spec"]["group"], next(
            v["name"] for v in obj["spec"]["versions"] if v.get("storage")))
    yield versions
    for name in installed:
        kube.delete(CRD_API, "customresourcedefinitions", name)
    # What the simulated components created in namespaces of their own.
    for name in ("redhat-ods-applications", "rhods-notebooks"):
        if name not in namespaces_before:
            kube.delete("v1", "namespaces", name)


@pytest.fixture
def dsc_slot(kube, rhods_crds):
    """The cluster's one DataScienceCluster slot, and a Ready DSCInitialization."""
    dsc_api, dsci_api = rhods_crds["datascienceclusters"], rhods_crds["dscinitializations"]
    existing = kube.list(dsc_api, "datascienceclusters")
    if existing:
        pytest.skip("a DataScienceCluster already exists (%s): only one is allowed"
                    % existing[0]["metadata"]["name"])
    created_dsci = None
    if not kube.list(dsci_api, "dscinitializations"):
        created_dsci = "sim-test-dsci"
        kube.create(dsci_api, "dscinitializations", {
            "kind": "DSCInitialization", "metadata": {"name": created_dsci},
            "spec": {"applicationsNamespace": "redhat-ods-applications",
                     "monitoring": {"managementState": "Managed",
                                    "namespace": "redhat-ods-monitoring"}}})
    wait_for("a DSCInitialization Ready", lambda: any(
        phase(d) == "Ready" for d in kube.list(dsci_api, "dscinitializations")))
    made = []
    yield types.SimpleNamespace(api=dsc_api, made=made)
    for name in made:
        kube.delete(dsc_api, "datascienceclusters", name)
    for name in made:
        wait_for("DSC %s deleted" % name,
                 lambda n=name: kube.get(dsc_api, "datascienceclusters", n) is None)
    if created_dsci:
        kube.delete(dsci_api, "dscinitializations", created_dsci)


def _dsc(slot, kube, name, components):
    slot.made.append(name)
    return kube.create(slot.api, "datascienceclusters", {
        "kind": "DataScienceCluster", "metadata": {"name": name},
        "spec": {"components": {c: {"managementState": s} for c, s in components.items()}}})


def test_dsc_ready_after_delay_with_dashboard_and_workbenches(kube, dsc_slot, simulator):
    simulator.set({"delays": {"dsc": 1.0},
                   "rhods": {"notebookTags": ["2025.1", "2025.2"]}})
    started = time.monotonic()
    _dsc(dsc_slot, kube, "sim-dsc", {"dashboard": "Managed", "workbenches": "Managed",
                                     "kserve": "Removed", "datasciencepipelines": "Removed"})
    dsc = wait_for("DSC Progressing", lambda: (lambda d: d if phase(d) else None)(
        kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc")))
    if time.monotonic() - started < 0.8:
        assert phase(dsc) == "Progressing"
        assert cond(dsc, "Ready")["status"] == "False"
    dsc = wait_for("DSC Ready", lambda: (lambda d: d if phase(d) == "Ready" else None)(
        kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc")), timeout=60)
    assert time.monotonic() - started >= 1.0
    assert cond(dsc, "Ready")["status"] == "True"
    assert cond(dsc, "Available")["status"] == "True"
    assert cond(dsc, "DashboardReady")["status"] == "True"
    assert cond(dsc, "WorkbenchesReady")["status"] == "True"
    removed = cond(dsc, "KserveReady")
    assert (removed["status"], removed["reason"]) == ("False", "Removed")
    assert cond(dsc, "DataSciencePipelinesReady")["reason"] == "Removed"
    assert dsc["status"]["installedComponents"] == {
        "dashboard": True, "workbenches": True, "kserve": False, "datasciencepipelines": False}

    route = wait_for("dashboard Route admitted", lambda: (
        lambda r: r if r and (r.get("status") or {}).get("ingress") else None)(
            kube.get(ROUTE, "routes", "rhods-dashboard", "redhat-ods-applications")))
    assert route["spec"]["host"] == "rhods-dashboard-redhat-ods-applications." + DOMAIN
    stream = kube.get(IMAGE, "imagestreams", "s2i-generic-data-science-notebook",
                      "redhat-ods-applications")
    assert stream["metadata"]["labels"]["opendatahub.io/notebook-image"] == "true"
    assert [t["name"] for t in stream["spec"]["tags"]] == ["2025.1", "2025.2"]
    items = {t["tag"]: t["items"][0] for t in stream["status"]["tags"]}
    assert set(items) == {"2025.1", "2025.2"}
    for tag, item in items.items():
        assert item["dockerImageReference"].startswith(
            "quay.io/modh/odh-generic-data-science-notebook@sha256:")
        assert item["image"] == "sha256:" + core.sha256_hex(
            "quay.io/modh/odh-generic-data-science-notebook:" + tag)
    assert kube.get("v1", "namespaces", "rhods-notebooks") is not None

    # Switching a component is reconciled again: Removed does not block Ready.
    kube.patch(dsc_slot.api, "datascienceclusters", "sim-dsc",
               {"spec": {"components": {"dashboard": {"managementState": "Removed"}}}})
    dsc = wait_for("dashboard Removed", lambda: (lambda d: d if cond(d, "DashboardReady").get(
        "reason") == "Removed" else None)(kube.get(dsc_slot.api, "datascienceclusters",
                                                    "sim-dsc")))
    assert phase(dsc) == "Ready"
    wait_for("dashboard Route removed", lambda: kube.get(
        ROUTE, "routes", "rhods-dashboard", "redhat-ods-applications") is None)


def test_dsc_component_that_never_becomes_ready(kube, dsc_slot, simulator):
    message = "workbenches: notebook-controller deployment has no ready replicas (injected)"
    simulator.set({"delays": {"dsc": 0.2},
                   "failures": {"dscComponents": {"workbenches": message}}})
    _dsc(dsc_slot, kube, "sim-dsc", {"dashboard": "Managed", "workbenches": "Managed"})
    dsc = wait_for("workbenches failing", lambda: (lambda d: d if cond(d, "WorkbenchesReady").get(
        "reason") == "Error" else None)(kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc")))
    wait_for("dashboard ready", lambda: cond(kube.get(
        dsc_slot.api, "datascienceclusters", "sim-dsc"), "DashboardReady").get("status") == "True")
    time.sleep(1.0)  # five times the delay: still not ready
    dsc = kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc")
    assert phase(dsc) == "Progressing"
    assert cond(dsc, "WorkbenchesReady")["status"] == "False"
    assert cond(dsc, "WorkbenchesReady")["message"] == message
    ready = cond(dsc, "Ready")
    assert ready["status"] == "False" and "workbenches" in ready["message"]
    assert message in ready["message"]

    # Lift the failure: the component and the DSC become ready.
    simulator.set({"failures": {"dscComponents": {"workbenches": None}}})
    wait_for("DSC Ready once the failure is lifted", lambda: phase(kube.get(
        dsc_slot.api, "datascienceclusters", "sim-dsc")) == "Ready", timeout=60)


def test_second_dsc_gets_error(kube, dsc_slot, simulator):
    simulator.set({"delays": {"dsc": 0.1}})
    _dsc(dsc_slot, kube, "sim-dsc", {"dashboard": "Removed"})
    wait_for("first DSC Ready", lambda: phase(kube.get(
        dsc_slot.api, "datascienceclusters", "sim-dsc")) == "Ready")
    _dsc(dsc_slot, kube, "sim-dsc-2", {"dashboard": "Removed"})
    second = wait_for("second DSC Error", lambda: (lambda d: d if phase(d) == "Error" else None)(
        kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc-2")))
    assert "only one DataScienceCluster allowed" in second["status"]["errorMessage"]
    assert phase(kube.get(dsc_slot.api, "datascienceclusters", "sim-dsc")) == "Ready"


# ---------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def notebook_crd(kube):
    installed = []
    _apply_crd_files(kube, lc_crds.operator_crds("rhods-operator", ["v1"]), installed)
    crd = kube.get(CRD_API, "customresourcedefinitions", "notebooks.kubeflow.org")
    version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
    _served(kube, "kubeflow.org", "notebooks", version)
    yield "kubeflow.org/" + version
    for name in installed:
        kube.delete(CRD_API, "customresourcedefinitions", name)


def test_notebook_gets_statefulset_services_route_and_readiness(kube, namespace, notebook_crd):
    # StatefulSet, Service and status: the real Kubeflow notebook-controller, the pod: kwok.
    # The rest is the simulated ODH notebook controller. The Kubeflow controller looks for
    # a CRD it has not seen every 10 s, so a freshly installed CRD can take that long.
    api = notebook_crd
    kube.create(api, "notebooks", {
        "kind": "Notebook",
        "metadata": {"name": "wb", "namespace": namespace,
                     "labels": {"app": "wb", "opendatahub.io/dashboard": "true"},
                     "annotations": {"notebooks.opendatahub.io/inject-oauth": "true"}},
        "spec": {"template": {"spec": {
            "containers": [{"name": "wb", "image": "registry.example.test/nb:1",
                            "ports": [{"name": "notebook-port", "containerPort": 8888}]}]}}}})
    notebook = wait_for("Notebook ready", lambda: (
        lambda n: n if (n.get("status") or {}).get("readyReplicas") == 1
        and n["status"].get("containerState", {}).get("running") else None)(
            kube.get(api, "notebooks", "wb", namespace)), timeout=90)
    # kubeflow's NotebookCondition: named after the container state, newest first, no status.
    assert notebook["status"]["conditions"][0]["type"] == "Running"
    assert "status" not in notebook["status"]["conditions"][0]
    assert notebook["status"]["containerState"]["running"]["startedAt"]
    assert notebook["status"]["conditions"][0]["type"] == "Running"

    sts = kube.get("apps/v1", "statefulsets", "wb", namespace)
    assert sts["spec"]["replicas"] == 1
    assert sts["metadata"]["ownerReferences"][0]["kind"] == "Notebook"
    names = [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]]
    assert names[0] == "wb" and "oauth-proxy" in names
    assert sts["spec"]["template"]["metadata"]["labels"]["statefulset"] == "wb"
    pod = kube.get("v1", "pods", "wb-0", namespace)
    assert pod["status"]["phase"] == "Running"
    assert pod["spec"]["nodeName"].startswith("kwok-node-")

    svc = kube.get("v1", "services", "wb", namespace)
    port = svc["spec"]["ports"][0]
    assert (port["name"], port["port"], port["targetPort"]) == ("http-wb", 80, 8888)
    tls = kube.get("v1", "services", "wb-tls", namespace)
    assert (tls["spec"]["ports"][0]["port"], tls["spec"]["ports"][0]["targetPort"]) == (443, 8443)
    assert kube.get("v1", "serviceaccounts", "wb", namespace) is not None
    secret = kube.get("v1", "secrets", "wb-oauth-config", namespace)
    assert secret["data"]["cookie_secret"]
    route = wait_for("notebook Route admitted", lambda: (
        lambda r: r if (r.get("status") or {}).get("ingress") else None)(
            kube.get(ROUTE, "routes", "wb", namespace)))
    assert route["spec"]["to"]["name"] == "wb-tls"
    assert route["spec"]["tls"]["termination"] == "reencrypt"
    assert route["spec"]["host"] == "wb-%s.%s" % (namespace, DOMAIN)
    for policy in ("wb-ctrl-np", "wb-oauth-np"):
        assert kube.get("networking.k8s.io/v1", "networkpolicies", policy, namespace), policy

    # Stop and start again.
    kube.patch(api, "notebooks", "wb", {"metadata": {"annotations": {
        "kubeflow-resource-stopped": "2025-01-01T00:00:00Z"}}}, namespace)
    wait_for("StatefulSet scaled to 0", lambda: kube.get(
        "apps/v1", "statefulsets", "wb", namespace)["spec"]["replicas"] == 0)
    wait_for("pod of the stopped Notebook gone", lambda: kube.get(
        "v1", "pods", "wb-0", namespace) is None, timeout=120)
    wait_for("stopped Notebook reports 0 ready", lambda: not kube.get(
        api, "notebooks", "wb", namespace)["status"].get("readyReplicas"), timeout=120)
    kube.patch(api, "notebooks", "wb", {"metadata": {"annotations": {
        "kubeflow-resource-stopped": None}}}, namespace)
    wait_for("restarted Notebook ready", lambda: kube.get(
        api, "notebooks", "wb", namespace)["status"].get("readyReplicas") == 1, timeout=120)


# ---------------------------------------------------------------------------
# GitOps operator: any ArgoCD instance becomes Available
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def argocd_crd(kube):
    installed = []
    _apply_crd_files(kube, lc_crds.operator_crds("openshift-gitops-operator"), installed)
    crd = kube.get(CRD_API, "customresourcedefinitions", "argocds.argoproj.io")
    version = next(v["name"] for v in crd["spec"]["versions"] if v.get("storage"))
    _served(kube, "argoproj.io", "argocds", version)
    yield "argoproj.io/" + version
    for name in installed:
        kube.delete(CRD_API, "customresourcedefinitions", name)


def argocd_pids(cluster, namespace, name):
    """{part: pid} of the Argo CD processes of an instance that run (lc/argocd_instance.py)."""
    pids = {}
    for part in argocd_instance.PARTS:
        pid = argocd_instance.pid_alive(cluster.state_dir,
                                        argocd_instance.process_name(namespace, name, part))
        if pid:
            pids[part] = pid
    return pids


def test_argocd_instance_runs_argocd_and_is_available(cluster, kube, namespace, argocd_crd,
                                                     simulator):
    simulator.set({"delays": {"argocd": 0.5}})
    started = time.monotonic()
    kube.create(argocd_crd, "argocds", {"kind": "ArgoCD",
                                        "metadata": {"name": "team", "namespace": namespace},
                                        "spec": {"server": {"route": {"enabled": True}}}})
    argocd = wait_for("ArgoCD Available", lambda: (lambda a: a if phase(a) == "Available"
                                                   else None)(
        kube.get(argocd_crd, "argocds", "team", namespace)), timeout=120)
    assert time.monotonic() - started >= 0.5
    status = argocd["status"]
    assert status["applicationController"] == status["repo"] == status["redis"] == "Running"
    assert status["server"] == "Unknown", "no Argo CD API server runs here"
    assert sorted(argocd_pids(cluster, namespace, "team")) == sorted(argocd_instance.PARTS)
    # What Argo CD reads, written by the operator; a namespace-scoped instance's cluster.
    for name in ("argocd-cm", "argocd-rbac-cm", "argocd-cmd-params-cm"):
        assert kube.get("v1", "configmaps", name, namespace)
    assert kube.get("v1", "secrets", "argocd-secret", namespace)["data"]["server.secretkey"]
    cluster_secret = kube.get("v1", "secrets", "team-default-cluster-config", namespace)
    assert cluster_secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "cluster"
    assert status["host"] == "team-server-%s.%s" % (namespace, DOMAIN)
    secret = kube.get("v1", "secrets", "team-cluster", namespace)
    assert secret["data"]["admin.password"]
    assert kube.get("v1", "serviceaccounts", "team-argocd-application-controller", namespace)
    route = wait_for("server Route admitted", lambda: (
        lambda r: r if r and (r.get("status") or {}).get("ingress") else None)(
            kube.get(ROUTE, "routes", "team-server", namespace)))
    assert route["spec"]["host"] == status["host"]
    # Deleting the instance stops its processes.
    kube.delete(argocd_crd, "argocds", "team", namespace)
    wait_for("Argo CD processes of team stopped",
             lambda: not argocd_pids(cluster, namespace, "team"), timeout=60)
