"""Every object the collection renders passes the API server's strict validation.

Each object is sent as a server-side apply dry run (``dryRun=All``,
``fieldValidation=Strict``, field manager ``rhods.gitops``) to the local control
plane, whose CRDs are the upstream ones (Route, the OLM kinds, Application,
AppProject, DataScienceCluster v1, Notebook; tests/cluster/README.md): an unknown,
duplicated or mistyped field fails it, where a normal apply would drop it silently.

What is covered, for the defaults and for a non-default set of variables (several
projects with access and S3 connections, several images with every source type,
workbenches of several sizes with access entries, a stopped one, a Subscription
config, component overrides, GitOps credentials, extra controller rules):

- direct delivery: what the roles apply, taken from the roles' own render tasks
  (``rhods_manifests``, ``minio_manifests``, ``dsp_manifests``,
  ``custom_notebook_manifests``: the lists deliver.yml applies, Secrets included;
  the rhods list is built by the same functions as the olm_operator and
  datasciencecluster modules), the application controller's ClusterRole(Binding)s
  and the GitOps operator's Subscription (``olm.subscription_definition``, as
  olm_operator builds it);
- GitOps delivery: the files of the tree ``playbooks/render.yml`` writes (what
  Argo CD would sync), the Secrets applied beside it, the AppProject, the
  repository Secret, and one Application per component
  (``argocd.application_definition``, as argocd_application builds it, with the
  role's settings).

Not covered: the merge patches the modules send to existing objects (InstallPlan
approval, a BuildConfig's trigger bookkeeping), which carry no field of our own.

Namespaces the objects need are created for real when absent (a dry run cannot
create a namespace for the next object) and removed again; so are the operator
CRDs (lc.crds.operator_crds) when the cluster has none yet.
"""

import json
import os
import sys

import pytest
import yaml
from kubernetes import dynamic
from kubernetes.client.rest import ApiException

from .ansible import REPO_ROOT, collection_path, run_playbook

sys.path.insert(0, collection_path())
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "cluster"))
# pylint: disable=wrong-import-position,wrong-import-order
from ansible_collections.rhods.gitops.plugins.filter.gitops import (  # noqa: E402
    app_project, gitops_namespaces)
from ansible_collections.rhods.gitops.plugins.module_utils.argocd import (  # noqa: E402
    application_definition)
from ansible_collections.rhods.gitops.plugins.module_utils.olm import (  # noqa: E402
    subscription_definition)
from lc import crds as lc_crds  # noqa: E402

CRD_API = "apiextensions.k8s.io/v1"
RENDER_ALL = "render_objects.yml"
RENDER_TREE = os.path.join(REPO_ROOT, "playbooks", "render.yml")
REPO_URL = "https://git.example.test/platform/cluster-config.git"

NON_DEFAULT = {
    "rhods_operator_namespace": "strict-rhods-operator",
    "rhods_operator_group": "strict-og",
    "rhods_channel": "fast",
    "rhods_approval": "Manual",
    "rhods_starting_csv": "rhods-operator.2.21.0",
    "rhods_subscription_config": {
        "env": [{"name": "HTTPS_PROXY", "value": "http://proxy.example.test:3128"}],
        "nodeSelector": {"node-role.kubernetes.io/infra": ""},
        "tolerations": [{"key": "node-role.kubernetes.io/infra", "operator": "Exists",
                         "effect": "NoSchedule"}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
    },
    "rhods_dsc_name": "strict-dsc",
    "rhods_components": {"kserve": "Managed", "datasciencepipelines": {"managementState": "Managed"},
                         "ray": "Removed"},
    "minio_namespace": "strict-minio",
    "minio_extra_env": [{"name": "MINIO_BROWSER", "value": "off"}],
    "minio_storage_size": "50Gi",
    "dsp_projects": [
        {"name": "strict-alpha", "display_name": "Alpha", "description": "first project",
         "modelmesh": False, "labels": {"team": "alpha"}, "annotations": {"owner": "alpha"},
         "access": [{"role": "admin", "users": ["alice"], "groups": ["alpha-admins"]},
                    {"role": "view", "groups": ["auditors"]}],
         "connections": [
             {"name": "minio", "type": "minio", "bucket": "alpha"},
             {"name": "archive", "display_name": "Archive", "type": "s3",
              "endpoint": "https://s3.example.test", "region": "eu-west-1", "bucket": "archive",
              "access_key": "AKIASTRICT", "secret_key": "strict-secret", "verify": "never"}]},
        {"name": "strict-beta", "display_name": "Beta",
         "access": [{"role": "edit", "users": ["bob", "carol"]}],
         "connections": []},
    ],
    "custom_notebook_namespace": "strict-images",
    "custom_notebook_images": [
        {"name": "lightgbm", "tag": "3.3.5", "display_name": "LightGBM",
         "python_dependencies": [{"name": "LightGBM", "version": "3.3.5"}],
         "software": [{"name": "Python", "version": "v3.11"}],
         "requirements": "lightgbm==3.3.5 --hash=sha256:" + "0" * 64 + "\n",
         "python_imports": ["lightgbm"],
         "build_resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
         "source": {"type": "dockerfile"}},
        {"name": "from-git", "tag": "1.0", "base_tag": "2025.1",
         "source": {"type": "git", "uri": "https://git.example.test/images.git", "ref": "v1",
                    "context_dir": "notebook", "dockerfile_path": "Dockerfile",
                    "secret": "git-credentials"}},
        {"name": "from-dir", "tag": "0.1", "recommended": True, "order": 5,
         "source": {"type": "binary", "dir": "/tmp"}},
    ],
    "custom_notebook_default_access": {"users": ["dora"], "groups": []},
    "custom_notebook_workbenches": [
        {"name": "wb-small", "namespace": "strict-alpha", "image": "lightgbm:3.3.5",
         "data_connections": ["aws-connection-minio", "aws-connection-archive"]},
        {"name": "wb-large", "namespace": "strict-alpha", "image": "from-git:1.0", "size": "Large",
         "storage_size": "100Gi", "storage_class": "fast-ssd", "shm_size": "8Gi",
         "owner": "alice", "access": {"users": ["erin"], "groups": ["alpha-admins"]}},
        {"name": "wb-stopped", "namespace": "strict-beta", "image": "from-dir:0.1",
         "size": "Medium", "pvc_name": "shared-data", "stopped": True,
         "display_name": "Stopped one", "description": "declared stopped"},
    ],
    "rhods_gitops_repo_url": REPO_URL,
    "rhods_gitops_repo_revision": "release",
    "rhods_gitops_repo_path": "clusters/prod/rhods",
    "rhods_gitops_git_username": "automation",
    "rhods_gitops_git_password": "not-a-real-token",
    "gitops_bootstrap_cluster_admin": True,
    "gitops_bootstrap_extra_controller_rules": [
        {"apiGroups": ["monitoring.coreos.com"], "resources": ["servicemonitors"],
         "verbs": ["get", "list", "watch"]}],
    "gitops_bootstrap_application_finalizer": True,
}
DEFAULTS = {"rhods_gitops_repo_url": "file:///tmp/rhods-gitops.git"}
VARIABLE_SETS = {"defaults": DEFAULTS, "non-default": NON_DEFAULT}


# ---------------------------------------------------------------- rendering

def _render(cluster, tmp_path, variables):
    out = tmp_path / "objects.json"
    res = run_playbook(RENDER_ALL, dict(variables, render_objects_out=str(out)),
                       kubeconfig=cluster.kubeconfig, kube_bin=cluster.kube_bin)
    assert res.rc == 0, str(res)
    with open(out, encoding="utf-8") as handle:
        rendered = json.load(handle)
    tree = tmp_path / "tree"
    tree_vars = {k: v for k, v in variables.items() if not k.startswith("rhods_gitops_")}
    res = run_playbook(RENDER_TREE, dict(tree_vars, rhods_gitops_render_dir=str(tree)),
                       kubeconfig=cluster.kubeconfig, kube_bin=cluster.kube_bin)
    assert res.rc == 0, str(res)
    rendered["tree"] = _tree_objects(str(tree))
    return rendered


def _tree_objects(root):
    """Every object in the rendered tree's files (kustomization.yaml excluded)."""
    out = {}
    for component in sorted(os.listdir(root)):
        objects = []
        for name in sorted(os.listdir(os.path.join(root, component))):
            if name == "kustomization.yaml":
                continue
            with open(os.path.join(root, component, name), encoding="utf-8") as handle:
                objects += [d for d in yaml.safe_load_all(handle) if d]
        out[component] = objects
    return out


def _gitops_operator_subscription(settings):
    return subscription_definition(settings["package"], settings["namespace"], settings["package"],
                                   settings["channel"], settings["source"],
                                   settings["source_namespace"], settings["approval"])


def _applications(settings, tree):
    apps = []
    for component, objects in tree.items():
        namespaces = gitops_namespaces(objects)
        apps.append(application_definition({
            "name": settings["application_prefix"] + component,
            "namespace": settings["argocd_namespace"],
            "project": "%s-%s" % (settings["project"], component),
            "repo_url": settings["repo_url"], "target_revision": settings["repo_revision"],
            "path": "%s/%s" % (settings["repo_path"], component),
            "destination": {"namespace": (namespaces or [settings["argocd_namespace"]])[0]},
            "sync_policy": settings["sync_policy"],
            "ignore_differences": settings["ignore_differences"],
            "finalizer": settings["finalizer"],
            "labels": {"app.kubernetes.io/part-of": "rhods-gitops",
                       "app.kubernetes.io/component": component,
                       "app.kubernetes.io/managed-by": "rhods.gitops"}}))
    return apps


def _objects(rendered, mode):
    boot = rendered["gitops_bootstrap"]
    settings = rendered["settings"]
    common = boot["rbac"] + boot["cluster_admin"] + [_gitops_operator_subscription(settings)]
    if mode == "direct":
        return common + [o for objs in rendered["components"].values() for o in objs]
    secrets = [o for objs in rendered["components"].values() for o in objs
               if o["kind"] == "Secret"]
    projects = [app_project(settings, component, objects)
                for component, objects in rendered["tree"].items()]
    return (common + projects + boot["repository_secret"] + secrets
            + [o for objs in rendered["tree"].values() for o in objs]
            + _applications(settings, rendered["tree"]))


# ---------------------------------------------------------------- the cluster side

class StrictDryRun:
    """Server-side apply dry runs with strict field validation, and what they need."""

    def __init__(self, api_client):
        self.api_client = api_client
        self.dyn = dynamic.DynamicClient(api_client)
        self.created_namespaces = []
        self.created_crds = []

    def _resource(self, obj):
        return self.dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])

    def _call(self, method, path, body=None, query=(), content_type="application/json"):
        resp = self.api_client.call_api(
            path, method, query_params=list(query),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body, auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True, _request_timeout=60)
        return json.loads(resp.data) if resp.data else None

    def ensure_namespace(self, name):
        path = "/api/v1/namespaces/" + name
        try:
            self._call("GET", path)
        except ApiException as exc:
            if exc.status != 404:
                raise
            self._call("POST", "/api/v1/namespaces",
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            self.created_namespaces.append(name)

    def ensure_crds(self, paths):
        for path in paths:
            with open(path, encoding="utf-8") as handle:
                for crd in (d for d in yaml.safe_load_all(handle) if d):
                    name = crd["metadata"]["name"]
                    url = "/apis/%s/customresourcedefinitions/%s" % (CRD_API, name)
                    try:
                        self._call("GET", url)
                    except ApiException as exc:
                        if exc.status != 404:
                            raise
                        self._call("PATCH", url, crd, [("fieldManager", "strict-schema-test")],
                                   "application/apply-patch+yaml")
                        self.created_crds.append(name)
        self.dyn = dynamic.DynamicClient(self.api_client)  # new kinds: discover again

    def dry_run(self, obj):
        """None when the API server accepts ``obj``, else its message."""
        try:
            resource = self._resource(obj)
        except Exception as exc:  # pylint: disable=broad-except
            return "kind not served: %s" % exc
        meta = obj["metadata"]
        path = resource.path(name=meta["name"],
                             namespace=meta.get("namespace") if resource.namespaced else None)
        query = [("dryRun", "All"), ("fieldValidation", "Strict"),
                 ("fieldManager", "rhods.gitops"), ("force", "true")]
        try:
            self._call("PATCH", path, obj, query, "application/apply-patch+yaml")
        except ApiException as exc:
            try:
                return json.loads(exc.body).get("message") or exc.body
            except (TypeError, ValueError):
                return str(exc.body or exc.reason)
        return None

    def cleanup(self):
        for name in self.created_namespaces:
            try:
                self._call("DELETE", "/api/v1/namespaces/" + name)
            except ApiException:
                pass
        for name in self.created_crds:
            try:
                self._call("DELETE", "/apis/%s/customresourcedefinitions/%s" % (CRD_API, name))
            except ApiException:
                pass


def _upstream_crd_names():
    names = {}
    for source in lc_crds.SOURCES:
        for path in lc_crds.upstream(source):
            with open(path, encoding="utf-8") as handle:
                for crd in (d for d in yaml.safe_load_all(handle) if d):
                    names[crd["metadata"]["name"]] = crd["metadata"]
    return names


@pytest.fixture(scope="module")
def strict(kube_client):
    client = StrictDryRun(kube_client)
    client.ensure_crds(lc_crds.operator_crds("openshift-gitops-operator")
                       + lc_crds.operator_crds("rhods-operator", ["v1"]))
    yield client
    client.cleanup()


@pytest.fixture(scope="module", params=sorted(VARIABLE_SETS))
def rendered(request, cluster, tmp_path_factory):
    return _render(cluster, tmp_path_factory.mktemp(request.param), VARIABLE_SETS[request.param])


def test_the_cluster_serves_the_upstream_crds(strict):
    """The validation below means something only against the published schemas."""
    for name, meta in _upstream_crd_names().items():
        live = strict._call("GET", "/apis/%s/customresourcedefinitions/%s" % (CRD_API, name))
        for field in ("annotations", "labels"):
            wanted = meta.get(field) or {}
            assert wanted.items() <= (live["metadata"].get(field) or {}).items(), (
                "%s on the cluster is not the upstream CRD (%s differ): another test left a "
                "variant installed" % (name, field))


@pytest.mark.parametrize("mode", ["direct", "gitops"])
def test_every_rendered_object_passes_strict_validation(strict, rendered, mode):
    objects = _objects(rendered, mode)
    kinds = {o["kind"] for o in objects}
    # Not vacuous: every kind the collection delivers is among them.
    assert kinds >= {"Namespace", "OperatorGroup", "Subscription", "DataScienceCluster",
                     "Secret", "PersistentVolumeClaim", "Deployment", "Service", "Route",
                     "ImageStream", "BuildConfig", "Notebook", "ClusterRole",
                     "ClusterRoleBinding"}, sorted(kinds)
    if mode == "gitops":
        assert {"Application", "AppProject"} <= kinds
    for name in sorted({o["metadata"]["namespace"] for o in objects
                        if o["metadata"].get("namespace")}):
        strict.ensure_namespace(name)
    failures = []
    for obj in objects:
        message = strict.dry_run(obj)
        if message:
            failures.append("%s %s/%s: %s" % (obj["kind"], obj["metadata"].get("namespace", ""),
                                              obj["metadata"]["name"], message))
    assert not failures, "%d of %d objects rejected:\n%s" % (len(failures), len(objects),
                                                             "\n".join(failures))
