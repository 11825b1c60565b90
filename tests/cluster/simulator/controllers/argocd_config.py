"""What the OpenShift GitOps operator writes for an ArgoCD instance before its pods start.

Simulated operator work, real Argo CD reads it: the ConfigMaps and the Secret the
application controller and repo-server read at start (``argocd-cm``,
``argocd-rbac-cm``, ``argocd-cmd-params-cm``, the TLS/SSH/GPG ConfigMaps,
``argocd-secret``), the ``default`` AppProject, the application controller's RBAC
and a token of its ServiceAccount from the TokenRequest API.

RBAC, as the operator sets it up: the controller may do anything in its own
namespace (a Role); the default instance (``openshift-gitops/openshift-gitops``)
is cluster-scoped and may read every kind in every namespace (a ClusterRole with
get/list/watch), any other instance manages only its own namespace (a cluster
Secret restricting ``in-cluster`` to it).  Unlike the real operator, the default
instance gets no cluster-wide WRITE rights here (the real one may write
namespaces, OLM and RBAC objects): whatever Argo CD applies outside its namespace
must be allowed by the collection's own ClusterRole (roles/gitops_bootstrap), so
that ClusterRole is what the tests exercise.
"""

import base64
import secrets

from .. import core

APP_API = "argoproj.io/v1alpha1"
LABELS = {"app.kubernetes.io/part-of": "argocd"}
TOKEN_SECONDS = 7 * 24 * 3600


def controller_account(name):
    return "%s-argocd-application-controller" % name


def _meta(name, namespace, owner, labels=None):
    meta = {"name": name, "namespace": namespace, "labels": dict(LABELS, **(labels or {}))}
    if owner is not None:
        meta["ownerReferences"] = [core.owner_ref(owner)]
    return meta


def _rbac_policy(argocd):
    rbac = (argocd.get("spec") or {}).get("rbac") or {}
    data = {"policy.default": rbac.get("defaultPolicy") or "", "scopes": rbac.get("scopes") or
            "[groups]"}
    if rbac.get("policy"):
        data["policy.csv"] = rbac["policy"]
    return data


def ensure_config(ctx, argocd, owner):
    """ConfigMaps, Secret and the default AppProject of instance ``argocd``."""
    kube = ctx.kube
    meta = argocd["metadata"]
    namespace = meta["namespace"]
    for name, data in (("argocd-cm", {"admin.enabled": "true"}),
                       ("argocd-rbac-cm", _rbac_policy(argocd)),
                       ("argocd-cmd-params-cm", {}),
                       ("argocd-tls-certs-cm", {}),
                       ("argocd-ssh-known-hosts-cm", {}),
                       ("argocd-gpg-keys-cm", {})):
        kube.ensure("v1", "configmaps", {"metadata": _meta(name, namespace, owner), "data": data})
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    kube.ensure("v1", "secrets", {"metadata": _meta("argocd-secret", namespace, owner),
                                  "type": "Opaque",
                                  "data": {"server.secretkey": base64.b64encode(
                                      key.encode()).decode()}})
    kube.ensure(APP_API, "appprojects", {
        "apiVersion": APP_API, "kind": "AppProject",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": {"sourceRepos": ["*"],
                 "destinations": [{"server": "*", "namespace": "*"}],
                 "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}})


def ensure_rbac(ctx, argocd, owner, cluster_scoped):
    kube = ctx.kube
    meta = argocd["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    account = controller_account(name)
    subject = [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]
    kube.ensure("rbac.authorization.k8s.io/v1", "roles", {
        "kind": "Role", "metadata": _meta(account, namespace, owner),
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    kube.ensure("rbac.authorization.k8s.io/v1", "rolebindings", {
        "kind": "RoleBinding", "metadata": _meta(account, namespace, owner),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        "subjects": subject})
    if cluster_scoped:
        cluster_name = "%s-%s-argocd-application-controller" % (name, namespace)
        kube.ensure("rbac.authorization.k8s.io/v1", "clusterroles", {
            "kind": "ClusterRole", "metadata": {"name": cluster_name, "labels": dict(LABELS)},
            "rules": [{"apiGroups": ["*"], "resources": ["*"],
                       "verbs": ["get", "list", "watch"]},
                      {"nonResourceURLs": ["*"], "verbs": ["get", "list"]}]})
        kube.ensure("rbac.authorization.k8s.io/v1", "clusterrolebindings", {
            "kind": "ClusterRoleBinding",
            "metadata": {"name": cluster_name, "labels": dict(LABELS)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": cluster_name},
            "subjects": subject})
    else:
        # A namespace-scoped instance: in-cluster limited to its own namespace.
        kube.ensure("v1", "secrets", {
            "metadata": _meta("%s-default-cluster-config" % name, namespace, owner,
                              {"argocd.argoproj.io/secret-type": "cluster"}),
            "type": "Opaque",
            "stringData": {"name": "in-cluster", "server": "https://kubernetes.default.svc",
                           "namespaces": namespace}})


def controller_token(ctx, argocd):
    """A token of the application controller's ServiceAccount (TokenRequest API)."""
    meta = argocd["metadata"]
    path = core.api_path("v1", "serviceaccounts", meta["namespace"],
                         controller_account(meta["name"]), "token")
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS}}
    return ctx.kube.request("POST", path, body=body)["status"]["token"]
