"""What the deliver action decides before it calls a module (pure logic of
plugins/plugin_utils/delivery.py)."""

import pytest

from ansible_collections.rhods.gitops.plugins.filter.gitops import (
    app_project,
    controller_rights,
    controller_rules,
    resource_of,
)
from ansible_collections.rhods.gitops.plugins.plugin_utils import delivery

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "minio"}}
PVC = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
       "metadata": {"name": "data", "namespace": "minio"}}
SECRET = {"apiVersion": "v1", "kind": "Secret",
          "metadata": {"name": "minio-root-user", "namespace": "minio"},
          "stringData": {"MINIO_ROOT_PASSWORD": "s3cr3t-value"}}
TARGET = {"repo_url": "https://git.example.com/c.git", "push_url": "", "revision": "main",
          "path": "rhods-gitops", "render_dir": "/tmp/w", "push": True, "git_username": "bot",
          "git_password": "t0ken", "author_name": "a", "author_email": "a@b",
          "application_prefix": "rhods-gitops-", "argocd_namespace": "openshift-gitops",
          "project": "rhods-gitops", "sync_policy": {"automated": {"prune": True}},
          "ignore_differences": [{"kind": "Route", "jsonPointers": ["/spec/host"]}],
          "finalizer": False, "timeout": 900, "controller_role": "rhods-gitops-argocd-components",
          "controller_service_account": "openshift-gitops-argocd-application-controller"}


def test_secrets_are_split_off_in_order():
    other_secret = dict(SECRET, metadata={"name": "b", "namespace": "minio"})
    objects, secrets = delivery.split([NS, SECRET, PVC, other_secret])
    assert objects == [NS, PVC]
    assert secrets == [SECRET, other_secret]


def test_a_kind_named_secret_of_another_group_is_not_a_secret():
    sealed = {"apiVersion": "bitnami.com/v1alpha1", "kind": "Secret", "metadata": {"name": "x"}}
    assert delivery.split([sealed]) == ([sealed], [])


@pytest.mark.parametrize("bad", [None, "a", [NS, "b"], {"a": 1}])
def test_manifests_that_are_not_a_list_of_objects_are_refused(bad):
    with pytest.raises(delivery.DeliveryInputError, match="list of objects"):
        delivery.split(bad)


@pytest.mark.parametrize("name", ["Minio", "-a", "a_b", "", None, "custom notebook"])
def test_component_names_that_cannot_name_a_folder_and_an_application_are_refused(name):
    with pytest.raises(delivery.DeliveryInputError, match="component"):
        delivery.check_component(name)


def test_the_mode_defaults_to_direct_and_names_the_variable_when_wrong():
    assert delivery.delivery_mode(None) == "direct"
    assert delivery.delivery_mode("") == "direct"
    assert delivery.delivery_mode("gitops") == "gitops"
    with pytest.raises(delivery.DeliveryInputError, match="rhods_gitops_delivery must be"):
        delivery.delivery_mode("argo")


def test_gitops_without_the_target_fact_says_which_role_publishes_it():
    with pytest.raises(delivery.DeliveryInputError) as info:
        delivery.gitops_target(None, "minio")
    assert "gitops_bootstrap_target" in str(info.value) and "gitops_bootstrap" in str(info.value)
    with pytest.raises(delivery.DeliveryInputError, match="lacks push, project"):
        delivery.gitops_target({k: v for k, v in TARGET.items() if k not in ("push", "project")},
                               "minio")
    with pytest.raises(delivery.DeliveryInputError, match="rhods_gitops_repo_url"):
        delivery.gitops_target(dict(TARGET, repo_url=""), "minio")


def test_the_tree_is_pushed_to_the_push_url_else_the_repository():
    args = delivery.render_args(TARGET, "minio", [NS])
    assert args["git"]["url"] == TARGET["repo_url"]
    assert args["git"]["username"] == "bot" and args["git"]["password"] == "t0ken"
    assert args["dest"] == "/tmp/w" and args["path"] == "rhods-gitops"
    pushed = delivery.render_args(dict(TARGET, push_url="file:///r.git", git_username="",
                                       git_password=""), "minio", [NS])
    assert pushed["git"]["url"] == "file:///r.git"
    assert "username" not in pushed["git"] and "password" not in pushed["git"]


def test_the_application_joins_the_target_rules_with_the_component_rules():
    rule = {"group": "kubeflow.org", "kind": "Notebook", "jsonPointers": ["/spec/x"]}
    app = delivery.application_args(TARGET, "custom-notebook", [PVC, NS], {"path": "rhods-gitops/c"},
                                    [rule])
    assert app["name"] == "rhods-gitops-custom-notebook"
    assert app["path"] == "rhods-gitops/c" and app["target_revision"] == "main"
    assert app["destination"] == {"namespace": "minio"}
    assert app["ignore_differences"] == TARGET["ignore_differences"] + [rule]
    assert app["labels"]["app.kubernetes.io/component"] == "custom-notebook"
    assert TARGET["ignore_differences"] == [{"kind": "Route", "jsonPointers": ["/spec/host"]}]


def test_a_secret_result_keeps_no_value():
    result = {"changed": True, "diff": [{"after": "s3cr3t-value"}],
              "results": [{"object": SECRET}], "invocation": {"module_args": {"x": SECRET}}}
    shown = delivery.hide_secret_result(result, 1)
    assert shown == {"changed": True, "secrets": 1}
    failed = delivery.hide_secret_result({"failed": True, "msg": "forbidden"}, 2)
    assert failed["failed"] and failed["msg"] == "Cannot apply the 2 Secret(s): forbidden"


def test_each_component_has_a_project_of_its_namespaces_and_kinds_only():
    dsc = {"apiVersion": "datasciencecluster.opendatahub.io/v1", "kind": "DataScienceCluster",
           "metadata": {"name": "default-dsc"}}
    project = app_project(TARGET, "minio", [NS, PVC, dsc])
    assert project["metadata"]["name"] == "rhods-gitops-minio"
    assert project["metadata"]["namespace"] == "openshift-gitops"
    assert project["metadata"]["labels"]["app.kubernetes.io/component"] == "minio"
    spec = project["spec"]
    assert spec["sourceRepos"] == ["https://git.example.com/c.git"]
    assert spec["destinations"] == [{"server": "https://kubernetes.default.svc",
                                     "namespace": "minio"}]
    assert spec["clusterResourceWhitelist"] == [
        {"group": "", "kind": "Namespace"},
        {"group": "datasciencecluster.opendatahub.io", "kind": "DataScienceCluster"}]
    assert spec["namespaceResourceWhitelist"] == [{"group": "", "kind": "PersistentVolumeClaim"}]
    # The namespaces it delivered to before stay allowed until Argo CD has pruned there.
    widened = app_project(TARGET, "minio", [NS, PVC], ["old-ns", "minio"])
    assert [d["namespace"] for d in widened["spec"]["destinations"]] == ["minio", "old-ns"]
    args = delivery.application_args(TARGET, "minio", [NS, PVC], {"path": "rhods-gitops/minio"})
    assert args["project"] == project["metadata"]["name"]


def test_a_component_that_renders_nothing_still_has_a_valid_destination():
    """Every project removed: the Application stays (Argo CD prunes what it delivered), its
    destination is Argo CD's namespace, which its project allows."""
    project = app_project(TARGET, "dsp", [], ["seq-alpha"])
    assert [d["namespace"] for d in project["spec"]["destinations"]] == [
        "openshift-gitops", "seq-alpha"]
    assert [d["namespace"] for d in app_project(TARGET, "dsp", [])["spec"]["destinations"]] == [
        "openshift-gitops"]
    args = delivery.application_args(TARGET, "dsp", [], {"path": "rhods-gitops/dsp"})
    assert args["destination"] == {"namespace": "openshift-gitops"}


def test_the_kinds_delivered_before_stay_allowed_in_both_scopes_but_never_secrets():
    project = app_project(TARGET, "dsp", [], ["seq-alpha"],
                          ["Namespace", "RoleBinding.rbac.authorization.k8s.io", "Secret"])
    spec = project["spec"]
    assert spec["clusterResourceWhitelist"] == spec["namespaceResourceWhitelist"] == [
        {"group": "", "kind": "Namespace"},
        {"group": "rbac.authorization.k8s.io", "kind": "RoleBinding"}]


def test_a_component_that_delivers_what_it_delivered_before_has_its_exact_project():
    """Steady state: the widened project is the exact one, so a re-run changes nothing."""
    recorded_kinds = ["Namespace", "PersistentVolumeClaim", "Secret"]
    assert app_project(TARGET, "minio", [NS, PVC], ["minio"], recorded_kinds) == \
        app_project(TARGET, "minio", [NS, PVC])


ALL = ["get", "list", "watch", "create", "update", "patch", "delete"]
ROUTE = {"apiVersion": "route.openshift.io/v1", "kind": "Route",
         "metadata": {"name": "console", "namespace": "minio"}, "spec": {"host": "s3.example.com"}}
BINDING = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": "team", "namespace": "dsp-alpha"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}}


@pytest.mark.parametrize("kind,resource", [
    ("Namespace", "namespaces"), ("PersistentVolumeClaim", "persistentvolumeclaims"),
    ("DataScienceCluster", "datascienceclusters"), ("ImageStream", "imagestreams"),
    ("Ingress", "ingresses"), ("NetworkPolicy", "networkpolicies"), ("Gateway", "gateways"),
    ("DataSciencePipelinesApplication", "datasciencepipelinesapplications")])
def test_the_resource_of_a_kind_is_its_plural_in_lower_case(kind, resource):
    assert resource_of(kind) == resource


def test_the_controller_may_do_exactly_what_the_component_delivers():
    rules = controller_rules([NS, PVC, ROUTE, BINDING])
    assert rules == [
        {"apiGroups": [""], "resources": ["namespaces", "persistentvolumeclaims"], "verbs": ALL},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ALL},
        {"apiGroups": ["route.openshift.io"], "resources": ["routes"], "verbs": ALL},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
         "verbs": ["bind"], "resourceNames": ["edit"]},
        {"apiGroups": ["route.openshift.io"], "resources": ["routes/custom-host"],
         "verbs": ["create"]}]


def test_kinds_delivered_before_stay_but_never_what_the_delivery_writes_itself():
    rules = controller_rules([NS], ["Namespace", "Deployment.apps", "Secret",
                                    "ClusterRole.rbac.authorization.k8s.io",
                                    "ClusterRoleBinding.rbac.authorization.k8s.io"])
    assert [(r["apiGroups"], r["resources"]) for r in rules] == [
        ([""], ["namespaces"]), (["apps"], ["deployments"])]
    project = app_project(TARGET, "minio", [NS], [], ["ClusterRole.rbac.authorization.k8s.io"])
    assert project["spec"]["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


def test_the_rights_of_a_component_are_a_role_bound_to_the_controller():
    role, binding = controller_rights(TARGET, "minio", [NS, PVC])
    assert role["metadata"]["name"] == binding["metadata"]["name"] == \
        "rhods-gitops-argocd-components-minio"
    assert role["metadata"]["labels"]["rhods.gitops/controller-rights"] == "true"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "rhods-gitops-argocd-components-minio"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "namespace": "openshift-gitops",
                                    "name": "openshift-gitops-argocd-application-controller"}]
    # Steady state: what the ApplySet recorded (members include the rights and Secrets) gives
    # the same rights, so a re-run changes nothing.
    recorded = ["Namespace", "PersistentVolumeClaim", "Secret",
                "ClusterRole.rbac.authorization.k8s.io", "ClusterRoleBinding.rbac.authorization.k8s.io"]
    assert controller_rights(TARGET, "minio", [NS, PVC], recorded) == [role, binding]
