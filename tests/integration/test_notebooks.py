"""The custom_notebook role and the image_build module against the local control plane,
run by ansible-playbook as the automation identity (docs/rbac/automation-clusterrole.yml).

Each test works on its own names (an image ``cn-it-*`` in the applications namespace, a
namespace ``cn-it-<random>`` for the workbench), so it does not disturb site.yml's objects.
What is proven here:

- the role converges; a second run reports changed=0 and starts no build; re-applying a
  changed Notebook keeps the container and volumes the notebook webhook injected;
- who may open a workbench is what SubjectAccessReviews of the real API server say;
- a workbench can be declared stopped, and started again;
- a build failure ends with the phase, reason and the build log's tail in the error;
- a missing base tag and an invalid shm size fail with clear messages before anything is
  written (the audit log shows no write);
- image_build: check mode says whether a build would start; rebuild: true starts one;
- check mode writes nothing; the role's teardown (tasks_from: absent) leaves nothing behind.
"""

import json
import uuid

import pytest

from .ansible import run_playbook
from .audit import AuditWindow, writes

APPS = "redhat-ods-applications"
IMAGE = "cn-it-img"
WORKBENCH = "cn-it-wb"
LOCK = ("lightgbm==3.3.5 \\\n"
        "    --hash=sha256:044f65664c1a32c98cb619bafa97d8cd9d93c2c2d5053376aadfe509a3a3e7fa\n")


def image(name=IMAGE, **over):
    out = {"name": name, "tag": "1.0", "display_name": "CN IT image", "requirements": LOCK,
           "python_imports": ["lightgbm"], "software": [{"name": "LightGBM", "version": "3.3.5"}],
           "source": {"type": "dockerfile"}}
    out.update(over)
    return out


def workbench(namespace, **over):
    out = {"name": WORKBENCH, "namespace": namespace, "display_name": "CN IT workbench",
           "description": "first", "image": IMAGE + ":1.0", "size": "Small",
           "storage_size": "1Gi", "shm_size": "2Gi", "data_connections": [],
           "access": {"users": ["data-scientist"], "groups": []}}
    out.update(over)
    return out


def role_vars(namespace, images=None, workbenches=None, **extra):
    out = {"custom_notebook_images": [image()] if images is None else images,
           "custom_notebook_workbenches": ([workbench(namespace)] if workbenches is None
                                           else workbenches),
           "custom_notebook_trigger_grace": 10, "custom_notebook_wait_timeout": 120,
           "custom_notebook_build_timeout": 120}
    out.update(extra)
    return out


def get(cluster, kind, name, namespace=None, check=True):
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    res = cluster.kubectl(*args, check=check)
    return json.loads(res.stdout) if res.returncode == 0 else None


def builds_of(cluster, config):
    res = cluster.kubectl("get", "builds", "-n", APPS, "-l",
                          "openshift.io/build-config.name=" + config, "-o", "json")
    return sorted(b["metadata"]["name"] for b in json.loads(res.stdout)["items"])


def run_role(cluster, variables, check=False, playbook="custom_notebook.yml"):
    return run_playbook(playbook, variables, kubeconfig=cluster.automation_kubeconfig,
                        check=check, kube_bin=cluster.kube_bin)


@pytest.fixture(scope="module")
def rhods(cluster):
    """OpenShift AI installed (Notebook CRD, base notebook ImageStream), as site.yml does it."""
    result = run_playbook("custom_notebook_prereqs.yml", {}, kubeconfig=cluster.automation_kubeconfig,
                          kube_bin=cluster.kube_bin)
    assert result.rc == 0, str(result)
    return result


@pytest.fixture(scope="module")
def project(cluster, rhods):
    """A namespace of this module's own, removed at the end."""
    name = "cn-it-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "namespace", name)
    yield name
    run_role(cluster, role_vars(name), playbook="custom_notebook_absent.yml")
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def converged(cluster, project):
    """The role run twice with this module's image and workbench."""
    first = run_role(cluster, role_vars(project))
    assert first.rc == 0, str(first)
    second = run_role(cluster, role_vars(project))
    return first, second


# ---------------------------------------------------------------- converge, idempotence, webhook

def test_the_role_converges_and_a_second_run_changes_nothing(cluster, converged):
    first, second = converged
    assert first.changed > 0
    assert second.rc == 0, str(second)
    assert second.changed == 0, str(second)
    assert len(builds_of(cluster, IMAGE)) == 1


def test_the_image_is_published_to_the_dashboard(cluster, converged):
    stream = get(cluster, "imagestream", IMAGE, APPS)
    labels = stream["metadata"]["labels"]
    assert labels["opendatahub.io/notebook-image"] == "true"
    assert stream["metadata"]["annotations"]["opendatahub.io/notebook-image-name"] == "CN IT image"
    spec_tag = stream["spec"]["tags"][0]
    assert spec_tag["name"] == "1.0"
    assert json.loads(spec_tag["annotations"]["opendatahub.io/notebook-software"]) == \
        [{"name": "LightGBM", "version": "3.3.5"}]
    status_tag = [t for t in stream["status"]["tags"] if t["tag"] == "1.0"][0]
    assert status_tag["items"][0]["dockerImageReference"].startswith(
        "image-registry.openshift-image-registry.svc:5000/%s/%s@sha256:" % (APPS, IMAGE))
    bc = get(cluster, "buildconfig", IMAGE, APPS)
    assert bc["spec"]["strategy"]["dockerStrategy"]["from"] == {
        "kind": "ImageStreamTag", "name": "s2i-generic-data-science-notebook:2025.2",
        "namespace": APPS}
    assert bc["spec"]["triggers"][0]["type"] == "ImageChange"
    dockerfile = bc["spec"]["source"]["dockerfile"]
    assert "python3 -m pip install" in dockerfile and "--require-hashes" in dockerfile
    assert "python3.9" not in dockerfile and "/usr/bin/python" not in dockerfile


def test_the_webhook_injected_proxy_survives_a_changed_reapply(cluster, project, converged):
    before = get(cluster, "notebook", WORKBENCH, project)
    names = [c["name"] for c in before["spec"]["template"]["spec"]["containers"]]
    assert names == [WORKBENCH, "oauth-proxy"]
    result = run_role(cluster, role_vars(project, workbenches=[workbench(project,
                                                                         description="second")]))
    assert result.rc == 0, str(result)
    assert result.changed == 1, str(result)
    after = get(cluster, "notebook", WORKBENCH, project)
    pod = after["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == [WORKBENCH, "oauth-proxy"]
    assert {v["name"] for v in pod["volumes"]} == {
        WORKBENCH, "shm", "oauth-config", "tls-certificates"}
    assert after["metadata"]["annotations"]["openshift.io/description"] == "second"
    assert len(builds_of(cluster, IMAGE)) == 1  # no new build


def test_the_workbench_is_what_the_dashboard_writes_plus_shm(cluster, project, converged):
    notebook = get(cluster, "notebook", WORKBENCH, project)
    meta = notebook["metadata"]
    # What the dashboard writes, and the component's ApplySet membership (who owns it).
    owner = {key: meta["labels"].pop(key) for key in ("applyset.kubernetes.io/part-of",
                                                     "rhods.gitops/component")}
    assert owner["rhods.gitops/component"] == "custom-notebook"
    assert owner["applyset.kubernetes.io/part-of"].startswith("applyset-")
    assert meta["labels"] == {"app": WORKBENCH, "opendatahub.io/dashboard": "true",
                              "opendatahub.io/odh-managed": "true"}
    annotations = meta["annotations"]
    assert annotations["notebooks.opendatahub.io/inject-oauth"] == "true"
    assert annotations["notebooks.opendatahub.io/last-image-selection"] == IMAGE + ":1.0"
    assert annotations["notebooks.opendatahub.io/last-size-selection"] == "Small"
    assert annotations["argocd.argoproj.io/sync-wave"] == "4"
    pod = notebook["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False and pod["serviceAccountName"] == WORKBENCH
    main = pod["containers"][0]
    assert main["image"] == "image-registry.openshift-image-registry.svc:5000/%s/%s:1.0" % (
        APPS, IMAGE)
    assert main["workingDir"] == "/opt/app-root/src"
    assert main["resources"] == {"requests": {"cpu": "1", "memory": "8Gi"},
                                 "limits": {"cpu": "2", "memory": "8Gi"}}
    assert {m["mountPath"]: m["name"] for m in main["volumeMounts"]} == {
        "/opt/app-root/src": WORKBENCH, "/dev/shm": "shm"}
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert "--ServerApp.base_url=/notebook/%s/%s" % (project, WORKBENCH) in env["NOTEBOOK_ARGS"]
    assert main["readinessProbe"]["httpGet"]["path"] == "/notebook/%s/%s/api" % (
        project, WORKBENCH)
    shm = [v for v in pod["volumes"] if v["name"] == "shm"][0]
    assert shm["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert notebook["status"]["readyReplicas"] >= 1
    pvc = get(cluster, "pvc", WORKBENCH, project)
    assert pvc["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert pvc["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"


# ---------------------------------------------------------------- who may open it

def _access_review(cluster, user, groups, namespace, name):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": user, "groups": groups, "resourceAttributes": {
                  "namespace": namespace, "verb": "get", "group": "kubeflow.org",
                  "resource": "notebooks", "name": name}}}
    res = cluster.kubectl("create", "-f", "-", "-o", "json",
                          kubeconfig=cluster.automation_kubeconfig,
                          input_text=json.dumps(review))
    return json.loads(res.stdout)["status"]


def test_who_may_open_the_workbench_is_proven_by_subject_access_reviews(cluster, project,
                                                                        converged):
    # The OAuth proxy admits whoever may `get` the Notebook (its --openshift-sar).
    allowed = _access_review(cluster, "data-scientist", ["data-scientists"], project, WORKBENCH)
    denied = _access_review(cluster, "outsider", [], project, WORKBENCH)
    other = _access_review(cluster, "data-scientist", ["data-scientists"], project, "other-wb")
    assert allowed.get("allowed") is True, allowed
    assert not denied.get("allowed"), denied
    assert not other.get("allowed"), other


# ---------------------------------------------------------------- stopped

def test_a_workbench_declared_stopped_stops_and_starts_again(cluster, project, converged):
    stopped = run_role(cluster, role_vars(project, workbenches=[
        workbench(project, description="second", stopped=True)]))
    assert stopped.rc == 0, str(stopped)
    notebook = get(cluster, "notebook", WORKBENCH, project)
    assert "kubeflow-resource-stopped" in notebook["metadata"]["annotations"]
    assert not notebook["status"].get("readyReplicas")
    assert get(cluster, "statefulset", WORKBENCH, project)["spec"]["replicas"] == 0
    started = run_role(cluster, role_vars(project, workbenches=[
        workbench(project, description="second")]))
    assert started.rc == 0, str(started)
    notebook = get(cluster, "notebook", WORKBENCH, project)
    assert "kubeflow-resource-stopped" not in notebook["metadata"]["annotations"]
    assert notebook["status"]["readyReplicas"] >= 1


# ---------------------------------------------------------------- failures

def test_a_failed_build_ends_with_its_log_tail(cluster, rhods, simulator):
    name = "cn-it-fail"
    simulator.set({"failures": {"builds": {"%s/%s" % (APPS, name): (
        "ERROR: No matching distribution found for lightgbm==9.9.9")}}})
    variables = role_vars("unused", images=[image(name)], workbenches=[])
    try:
        result = run_role(cluster, variables)
        assert result.rc != 0
        assert "Build %s/%s-" % (APPS, name) in result.output
        assert "ended Failed (DockerBuildFailed: Docker build strategy has failed.)" in \
            result.output
        assert "Last " in result.output and "lines of its log" in result.output
        assert "error: build error: ERROR: No matching distribution found for " \
               "lightgbm==9.9.9" in result.output
    finally:
        run_role(cluster, variables, playbook="custom_notebook_absent.yml")


def _nothing_written(cluster, variables, expected):
    window = AuditWindow(cluster.audit_log)
    result = run_role(cluster, variables)
    written = writes(window.close().events())
    assert result.rc != 0
    for text in expected:
        assert text in result.output, str(result)
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]
    return result


def test_a_missing_base_tag_fails_before_anything_changes(cluster, project, rhods):
    variables = role_vars(project, images=[image("cn-it-base")], workbenches=[],
                          custom_notebook_base_tag="2099.1")
    _nothing_written(cluster, variables, [
        "Base image tag s2i-generic-data-science-notebook:2099.1 is not in ImageStream "
        "%s/s2i-generic-data-science-notebook" % APPS,
        "status.tags has: 2024.2, 2025.1, 2025.2",
        "custom_notebook_base_tag"])
    assert get(cluster, "buildconfig", "cn-it-base", APPS, check=False) is None


def test_an_invalid_shm_size_fails_before_anything_changes(cluster, project, rhods):
    variables = role_vars(project, images=[image("cn-it-shm")], workbenches=[
        workbench(project, name="cn-it-shm-wb", shm_size="2GB")])
    _nothing_written(cluster, variables, [
        "custom_notebook_workbenches[0] (cn-it-shm-wb): shm_size '2GB' is not a Kubernetes "
        "quantity", "shm_size: 2Gi"])
    assert get(cluster, "notebook", "cn-it-shm-wb", project, check=False) is None
    assert get(cluster, "imagestream", "cn-it-shm", APPS, check=False) is None


# ---------------------------------------------------------------- image_build, check mode

def test_image_build_check_mode_and_rebuild(cluster, converged):
    before = builds_of(cluster, IMAGE)
    check = run_playbook("custom_notebook_image_build.yml", {"name": IMAGE, "rebuild": False},
                         kubeconfig=cluster.automation_kubeconfig, check=True)
    assert check.rc == 0 and check.changed == 0, str(check)
    assert '"would_build": false' in check.output
    rebuild = run_playbook("custom_notebook_image_build.yml", {"name": IMAGE, "rebuild": True},
                           kubeconfig=cluster.automation_kubeconfig)
    assert rebuild.rc == 0 and rebuild.changed == 1, str(rebuild)
    assert '"started": true' in rebuild.output
    assert '"image": "image-registry.openshift-image-registry.svc:5000/%s/%s@sha256:' % (
        APPS, IMAGE) in rebuild.output
    assert len(builds_of(cluster, IMAGE)) == len(before) + 1


def test_check_mode_reports_changes_and_writes_nothing(cluster, project, rhods):
    # No access rules: the server-side dry run of a RoleBinding whose Role does not exist yet
    # fails (RBAC resolves the Role to check for escalation); see the role's README.
    variables = role_vars(project, images=[image("cn-it-check")], workbenches=[
        workbench(project, name="cn-it-check-wb", image="cn-it-check:1.0",
                  access={"users": [], "groups": []})])
    window = AuditWindow(cluster.audit_log)
    result = run_role(cluster, variables, check=True)
    written = writes(window.close().events())
    assert result.rc == 0, str(result)
    assert result.changed > 0
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]
    assert get(cluster, "buildconfig", "cn-it-check", APPS, check=False) is None


# ---------------------------------------------------------------- teardown of the role

def test_the_role_teardown_leaves_nothing_behind(cluster, project, converged):
    result = run_role(cluster, role_vars(project), playbook="custom_notebook_absent.yml")
    assert result.rc == 0, str(result)
    for kind, name, namespace in (("notebook", WORKBENCH, project), ("pvc", WORKBENCH, project),
                                  ("role", WORKBENCH + "-access", project),
                                  ("rolebinding", WORKBENCH + "-access", project),
                                  ("buildconfig", IMAGE, APPS), ("imagestream", IMAGE, APPS)):
        assert get(cluster, kind, name, namespace, check=False) is None, (kind, name)
    assert builds_of(cluster, IMAGE) == []
    again = run_role(cluster, role_vars(project), playbook="custom_notebook_absent.yml")
    assert again.rc == 0 and again.changed == 0, str(again)
