"""The whole collection: site.yml converges on the local control plane, every object of the
original demo (docs: domain.md, section 1) exists with its names, labels, annotations and
specs, a second run reports changed=0 and starts no build, and the credentials report lists
where everything lives. Runs as the automation identity.

The removal of everything and a new convergence are in test_zz_teardown.py (run last).
"""

import base64
import json

import pytest

from .audit import AuditWindow, writes
from .s3server import SecretMirror
from .site import APPS, CREDENTIALS, SITE, changed_tasks, get, names, play, report, site_vars


@pytest.fixture(scope="module")
def site(cluster, s3server):
    mirror = SecretMirror(s3server, cluster.kubeconfig).start()
    variables = site_vars(s3server)
    try:
        first = play(cluster, SITE, variables)
        assert first.rc == 0, str(first)
        builds = names(cluster, "builds", APPS, "openshift.io/build-config.name=lightgbm")
        window = AuditWindow(cluster.audit_log)
        second = play(cluster, SITE, variables)
        window.close()
        yield {"first": first, "second": second, "builds": builds, "window": window,
               "vars": variables}
    finally:
        mirror.stop()


# ---------------------------------------------------------------- bad input, nothing changed

BAD_INPUT = [
    pytest.param({"dsp_projects": [{"name": "ok-site-project"}, {"name": "kube-lab"}]},
                 ["dsp_projects[1].name 'kube-lab'", "Fix these dsp variables"], id="dsp-name"),
    pytest.param({"custom_notebook_workbenches": [
        {"name": "site-wb", "namespace": "notebook-demo", "image": "lightgbm:3.3.5",
         "shm_size": "2GB"}]},
        ["custom_notebook_workbenches[0] (site-wb): shm_size '2GB' is not a Kubernetes quantity",
         "Fix these custom_notebook variables"], id="custom-notebook-shm"),
    pytest.param({"custom_notebook_workbenches": [
        {"name": "site-wb", "namespace": "notebook-demo", "image": "lightgbm:3.3.5",
         "shm": "2Gi"}]},
        ["custom_notebook_workbenches[0].shm is not a known key"], id="custom-notebook-key"),
    # Across roles: the demo workbench uses aws-connection-minio, its project no longer has it.
    pytest.param({"dsp_projects": [{"name": "notebook-demo", "connections": []}]},
                 ["custom_notebook_workbenches[0] (demo-lightgbm-workbench) uses data connection "
                  "aws-connection-minio, which dsp_projects[0] (notebook-demo) does not declare"],
                 id="connection-still-used"),
]


@pytest.mark.parametrize("variables, expected", BAD_INPUT)
def test_bad_input_of_any_role_fails_before_anything_changes(cluster, variables, expected):
    """site.yml checks the input of every role first: bad input of the last role fails
    before gitops_bootstrap (the first one) installs anything."""
    window = AuditWindow(cluster.audit_log)
    res = play(cluster, SITE, variables)
    window.close()
    assert res.rc != 0, str(res)
    for text in expected:
        assert text in res.stdout, str(res)
    assert "nothing was changed" in res.stdout.lower()
    written = writes(window.events())
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]
    assert "TASK [rhods.gitops.gitops_bootstrap" not in res.stdout


def test_site_converges(site):
    assert site["first"].failed == 0 and site["first"].changed >= 0, str(site["first"])


def test_second_run_changes_nothing_and_starts_no_build(cluster, site):
    second = site["second"]
    assert second.rc == 0, str(second)
    assert second.changed == 0, changed_tasks(second)
    assert "changed=0" in second.stdout
    assert names(cluster, "builds", APPS, "openshift.io/build-config.name=lightgbm") == \
        site["builds"]
    assert len(site["builds"]) >= 1
    built = [w for w in writes(site["window"].events())
             if (w.get("objectRef") or {}).get("subresource") == "instantiate"]
    assert built == []


# ---------------------------------------------------------------- the objects of the demo

def test_gitops_operator_and_scoped_controller_rights(cluster, site):
    sub = get(cluster, "subscriptions.operators.coreos.com", "openshift-gitops-operator",
              "openshift-operators")
    assert sub["spec"]["channel"] == "latest"
    assert sub["spec"]["installPlanApproval"] == "Automatic"
    assert (sub["spec"]["source"], sub["spec"]["sourceNamespace"]) == (
        "redhat-operators", "openshift-marketplace")
    # The scoped alternative to the demo's cluster-admin binding.
    assert get(cluster, "clusterrolebinding", "argocd-cluster-admin") is None
    binding = get(cluster, "clusterrolebinding", "rhods-gitops-argocd-components")
    assert binding["subjects"] == [{"kind": "ServiceAccount",
                                    "name": "openshift-gitops-argocd-application-controller",
                                    "namespace": "openshift-gitops"}]


def test_rhods_operator(cluster, site):
    ns = get(cluster, "namespace", "redhat-ods-operator")
    assert ns["metadata"]["labels"]["openshift.io/cluster-monitoring"] == "true"
    group = get(cluster, "operatorgroups.operators.coreos.com", "rhods", "redhat-ods-operator")
    assert not group["spec"].get("targetNamespaces")
    sub = get(cluster, "subscriptions.operators.coreos.com", "rhods-operator",
              "redhat-ods-operator")
    assert sub["spec"]["channel"] == "stable"
    assert sub["spec"]["installPlanApproval"] == "Automatic"
    dsc = get(cluster, "datascienceclusters.datasciencecluster.opendatahub.io", "default-dsc")
    components = dsc["spec"]["components"]
    assert components["dashboard"]["managementState"] == "Managed"
    assert components["workbenches"]["managementState"] == "Managed"


def test_minio(cluster, site):
    ns = get(cluster, "namespace", "minio")
    assert ns["metadata"]["annotations"]["openshift.io/display-name"] == "MinIO Object Storage"
    secret = get(cluster, "secret", "minio-root-user", "minio")
    assert set(secret["data"]) == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    pvc = get(cluster, "pvc", "minio", "minio")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    deploy = get(cluster, "deployment", "minio", "minio")
    assert deploy["spec"]["strategy"]["type"] == "Recreate"
    container = deploy["spec"]["template"]["spec"]["containers"][0]
    command = (container.get("command") or []) + (container.get("args") or [])
    assert command[-4:] == ["server", "/data", "--console-address", ":9090"]
    assert {p["containerPort"] for p in container["ports"]} == {9000, 9090}
    assert {"secretRef": {"name": "minio-root-user"}} in container["envFrom"]
    service = get(cluster, "service", "minio", "minio")
    assert {p["port"] for p in service["spec"]["ports"]} == {9000, 9090}
    for name in ("minio-console", "minio-s3"):
        route = get(cluster, "route", name, "minio")
        assert route["spec"]["tls"]["termination"] == "edge"
        assert route["spec"]["tls"]["insecureEdgeTerminationPolicy"] == "Redirect"


def test_project_and_data_connection(cluster, site):
    project = get(cluster, "projects.project.openshift.io", "notebook-demo")
    labels, annotations = project["metadata"]["labels"], project["metadata"]["annotations"]
    assert labels["opendatahub.io/dashboard"] == "true"
    assert labels["modelmesh-enabled"] == "true"
    assert annotations["openshift.io/display-name"] == "Notebook Demo"
    assert annotations["openshift.io/description"]
    conn = get(cluster, "secret", "aws-connection-minio", "notebook-demo")
    assert conn["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
    assert conn["metadata"]["annotations"]["opendatahub.io/connection-type"] == "s3"
    data = {k: base64.b64decode(v).decode() for k, v in conn["data"].items()}
    assert data["AWS_S3_ENDPOINT"] == "http://minio.minio.svc:9000"
    assert data["AWS_S3_BUCKET"] == "notebook-demo"
    assert data["AWS_DEFAULT_REGION"] == "us"


def test_custom_notebook_image(cluster, site):
    stream = get(cluster, "imagestream", "lightgbm", APPS)
    meta = stream["metadata"]
    assert meta["labels"]["opendatahub.io/notebook-image"] == "true"
    assert meta["labels"]["opendatahub.io/dashboard"] == "true"
    assert meta["annotations"]["opendatahub.io/notebook-image-name"] == "LightGBM"
    assert meta["annotations"]["argocd.argoproj.io/sync-wave"] == "2"
    assert stream["spec"]["lookupPolicy"] == {"local": True}
    tag = stream["spec"]["tags"][0]
    assert tag["name"] == "3.3.5"
    assert {"name": "LightGBM", "version": "3.3.5"} in json.loads(
        tag["annotations"]["opendatahub.io/notebook-python-dependencies"])
    assert json.loads(tag["annotations"]["opendatahub.io/notebook-software"])
    # The dashboard lists a tag once it is in status.tags too (after a successful build).
    status = [t for t in stream["status"]["tags"] if t["tag"] == "3.3.5"][0]
    assert "@sha256:" in status["items"][0]["dockerImageReference"]
    bc = get(cluster, "buildconfig", "lightgbm", APPS)
    spec = bc["spec"]
    assert bc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "2"
    assert spec["runPolicy"] == "Serial"
    assert spec["strategy"]["type"] == "Docker"
    assert spec["strategy"]["dockerStrategy"]["from"] == {
        "kind": "ImageStreamTag", "name": "s2i-generic-data-science-notebook:2025.2",
        "namespace": APPS}
    assert spec["triggers"][0]["type"] == "ImageChange"
    assert spec["output"]["to"] == {"kind": "ImageStreamTag", "name": "lightgbm:3.3.5"}
    assert spec["source"]["type"] == "Dockerfile"
    assert "python3.9" not in spec["source"]["dockerfile"]


def test_workbench(cluster, site):
    pvc = get(cluster, "pvc", "demo-lightgbm-workbench", "notebook-demo")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
    assert pvc["metadata"]["annotations"]["openshift.io/display-name"]
    assert pvc["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "4"
    notebook = get(cluster, "notebook", "demo-lightgbm-workbench", "notebook-demo")
    assert notebook["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "4"
    assert notebook["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
    pod = notebook["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in pod["containers"]}
    assert set(containers) == {"demo-lightgbm-workbench", "oauth-proxy"}
    main = containers["demo-lightgbm-workbench"]
    assert main["envFrom"] == [{"secretRef": {"name": "aws-connection-minio"}}]
    mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "2Gi"}
    assert volumes[mounts["/opt/app-root/src"]]["persistentVolumeClaim"] == {
        "claimName": "demo-lightgbm-workbench"}
    assert main["image"] == ("image-registry.openshift-image-registry.svc:5000/"
                             "redhat-ods-applications/lightgbm:3.3.5")
    assert notebook["status"]["readyReplicas"] >= 1
    route = get(cluster, "route", "demo-lightgbm-workbench", "notebook-demo")
    assert route["spec"]["tls"]["termination"] == "reencrypt"


# ---------------------------------------------------------------- where everything lives

def test_credentials_report(cluster, site):
    result = play(cluster, CREDENTIALS)
    assert result.rc == 0, str(result)
    lines = report(result)
    text = "\n".join(lines)
    assert "OpenShift GitOps (Argo CD): https://openshift-gitops-server-openshift-gitops." in text
    assert "RHODS dashboard: https://rhods-dashboard-redhat-ods-applications." in text
    assert ("notebook-demo/demo-lightgbm-workbench (demo-lightgbm-workbench, ready): https://"
            "demo-lightgbm-workbench-notebook-demo.") in text
    assert "/notebook/notebook-demo/demo-lightgbm-workbench" in text
    assert "MinIO console: https://minio-console-minio." in text
    assert "MinIO S3 API: https://minio-s3-minio." in text
    assert "admin password: add -e show_secrets=true" in text
    # Each project with its connections (endpoint and bucket), the S3 endpoints in use.
    assert "  notebook-demo (Notebook Demo): 1 data connection" in lines, text
    assert ("    aws-connection-minio (s3): http://minio.minio.svc:9000 bucket notebook-demo, "
            "region us") in lines, text
    assert any(line.startswith("  http://minio.minio.svc:9000 (MinIO in the cluster, ")
               for line in lines), text
    conn = get(cluster, "secret", "aws-connection-minio", "notebook-demo")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert conn["data"][key] not in result.output
        assert base64.b64decode(conn["data"][key]).decode() not in result.output


def test_credentials_password_only_when_asked(cluster, site):
    secret = get(cluster, "secret", "openshift-gitops-cluster", "openshift-gitops")
    if secret is None:
        pytest.skip("the simulated GitOps operator creates no admin Secret")
    password = base64.b64decode(secret["data"]["admin.password"]).decode()
    plain = play(cluster, CREDENTIALS, verbosity=3)
    assert password not in plain.output
    shown = play(cluster, CREDENTIALS, {"show_secrets": True}, verbosity=3)
    assert shown.rc == 0, str(shown)
    assert shown.output.count(password) == 1  # in the report, nowhere else
    assert "admin password: " + password in "\n".join(report(shown))
