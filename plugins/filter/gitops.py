# SPDX-License-Identifier: Apache-2.0
"""Filters of GitOps delivery (pure Python, no cluster access).

- ``rhods_manifests(settings)``: the objects of the OpenShift AI component as Argo CD
  delivers them: the operator namespace (sync wave 0), its OperatorGroup and
  Subscription (wave 1) and the DataScienceCluster with every component pinned
  (wave 2). Built by the same functions the ``olm_operator`` and
  ``datasciencecluster`` modules use, so both deliveries write the same content.
- ``gitops_namespaces(manifests)``: the namespaces a component's objects live in,
  in order of appearance (its Namespace objects and the namespaces of the
  namespaced ones).
- ``tree_objects(objects, component, state_namespace, ownership)``: a component's objects as
  the tree holds them (ApplySet membership, user data protected from Argo CD's prune;
  module_utils/applyset.py).
- ``app_project(target, component, objects, more_namespaces)``: the component's own Argo CD
  project (``<project>-<component>``): its repository, the namespaces and kinds of its
  objects, nothing else.
- ``controller_rights(target, component, objects, more_group_kinds)``: what Argo CD's
  application controller may do for the component (a ClusterRole ``<controller_role>-<component>``
  and its binding): the kinds of its objects, nothing else. The union over the components is
  what the controller holds; the role gitops_bootstrap grants adds only the user's own rules.
"""

import copy

from ansible_collections.rhods.gitops.plugins.module_utils.applyset import tree_objects
from ansible_collections.rhods.gitops.plugins.module_utils.olm import (
    operator_group_definition,
    subscription_definition,
)
from ansible_collections.rhods.gitops.plugins.module_utils.rhods import (
    KNOWN_COMPONENTS,
    component_spec,
    dsc_definition,
)

WAVE = "argocd.argoproj.io/sync-wave"
# The version rendered when the playbook asks for "auto": the tree is rendered without
# asking the cluster, and v1 is what RHOAI 2.x (the stable channel) serves.
DEFAULT_DSC_VERSION = "v1"


def _annotate(obj, wave, labels=None):
    meta = obj.setdefault("metadata", {})
    meta.setdefault("annotations", {})[WAVE] = str(wave)
    if labels:
        meta.setdefault("labels", {}).update(labels)
    return obj


def rhods_manifests(settings):
    """The rhods component's objects for GitOps delivery (see the module docstring).

    ``settings``: namespace, operator_group, package, channel, source,
    source_namespace, approval, starting_csv, config, dsc_name, dsc_api_version
    (auto, v1 or v2), components (overrides, as ``rhods_components``).
    """
    settings = dict(settings or {})
    namespace = settings["namespace"]
    version = settings.get("dsc_api_version") or "auto"
    if version == "auto":
        version = DEFAULT_DSC_VERSION
    if version not in KNOWN_COMPONENTS:
        raise ValueError("rhods_dsc_api_version must be auto, v1 or v2, not {0!r}".format(version))
    namespace_obj = {"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": namespace,
                                  "labels": {"openshift.io/cluster-monitoring": "true"}}}
    group = operator_group_definition(settings.get("operator_group") or "rhods", namespace)
    subscription = subscription_definition(
        settings.get("package") or "rhods-operator", namespace,
        settings.get("package") or "rhods-operator", settings.get("channel"),
        settings.get("source") or "redhat-operators",
        settings.get("source_namespace") or "openshift-marketplace",
        settings.get("approval") or "Automatic", settings.get("starting_csv") or None,
        copy.deepcopy(settings.get("config")) or None)
    components = component_spec(KNOWN_COMPONENTS[version], settings.get("components") or {})
    dsc = dsc_definition(settings.get("dsc_name") or "default-dsc", version, components)
    return [_annotate(namespace_obj, 0), _annotate(group, 1), _annotate(subscription, 1), dsc]


def gitops_namespaces(manifests):
    """Namespaces of a component's objects, in order of appearance, without duplicates."""
    out = []
    for obj in manifests or []:
        meta = (obj or {}).get("metadata") or {}
        name = meta.get("name") if obj.get("kind") == "Namespace" and obj.get(
            "apiVersion") == "v1" else meta.get("namespace")
        if name and name not in out:
            out.append(name)
    return out


IN_CLUSTER = "https://kubernetes.default.svc"
# Kinds the deliver action writes itself in gitops delivery, never Argo CD: no component's
# project or controller rights include them unless the component's tree holds them.
RBAC = "rbac.authorization.k8s.io"
WRITTEN_DIRECTLY = {("", "Secret"), (RBAC, "ClusterRole"), (RBAC, "ClusterRoleBinding")}
ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RIGHTS_LABEL = "rhods.gitops/controller-rights"


def project_name(target, component):
    """The component's own Argo CD project: ``<project>-<component>``."""
    return "{0}-{1}".format(target["project"], component)


def app_project(target, component, objects, more_namespaces=(), more_group_kinds=()):
    """The AppProject of one component: its repository, the namespaces and the kinds of its
    objects (``more_namespaces``, ``more_group_kinds`` as ``Kind.group``: those of objects it
    delivered before, so that Argo CD may still prune them; their scope unknown, they join
    both lists), nothing else. Secrets are never among the kinds: they reach the cluster
    directly."""
    # A component that renders nothing (every project removed) keeps an Application, so that
    # Argo CD prunes what it delivered: its destination is then Argo CD's own namespace.
    namespaces = set(gitops_namespaces(objects) or [target["argocd_namespace"]])
    namespaces |= set(more_namespaces or ())
    cluster, namespaced = set(), set()
    for obj in objects:
        group = (obj.get("apiVersion") or "").rpartition("/")[0]
        scope = namespaced if (obj.get("metadata") or {}).get("namespace") else cluster
        scope.add((group, obj.get("kind")))
    for group, kind in _left(more_group_kinds):
        if (group, kind) not in cluster | namespaced:
            cluster.add((group, kind))  # a kind that left: its scope is not known here
            namespaced.add((group, kind))
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": project_name(target, component),
                     "namespace": target["argocd_namespace"],
                     "labels": {"app.kubernetes.io/part-of": "rhods-gitops",
                                "app.kubernetes.io/managed-by": "rhods.gitops",
                                "app.kubernetes.io/component": component}},
        "spec": {
            "description": "rhods.gitops component {0}: only its repository, namespaces and "
                           "kinds".format(component),
            "sourceRepos": [target["repo_url"]],
            "destinations": [{"server": IN_CLUSTER, "namespace": name}
                             for name in sorted(namespaces)],
            "clusterResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(cluster)],
            "namespaceResourceWhitelist": [{"group": g, "kind": k} for g, k in sorted(namespaced)],
        },
    }


def _left(group_kinds):
    """``(group, kind)`` of ``Kind.group`` values (what an ApplySet records), without the
    kinds the deliver action writes itself."""
    for value in group_kinds or ():
        kind, _sep, group = value.partition(".")
        if (group, kind) not in WRITTEN_DIRECTLY:
            yield group, kind


def resource_of(kind):
    """The resource (plural) of a kind, as the API server names it for the kinds components
    deliver: lower case, plus "s" (or "es" after s, x, z, ch and sh; "ies" for a consonant and
    "y"). Every kind the collection delivers is checked against the served names in
    tests/integration/test_gitops.py."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in "aeiou":
        return lower[:-1] + "ies"
    return lower + "s"


def controller_rules(objects, more_group_kinds=()):
    """ClusterRole rules for the kinds of ``objects`` and ``more_group_kinds`` (kinds the
    component delivered before, which Argo CD may still have to prune): every verb a sync and
    a prune use; a Route with a host needs ``routes/custom-host``; a RoleBinding to a
    ClusterRole needs ``bind`` on that ClusterRole (the controller does not hold its rights)."""
    kinds, extra, bound = set(_left(more_group_kinds)), [], set()
    for obj in objects:
        group = (obj.get("apiVersion") or "").rpartition("/")[0]
        kinds.add((group, obj.get("kind")))
        if obj.get("kind") == "Route" and (obj.get("spec") or {}).get("host"):
            extra = [{"apiGroups": ["route.openshift.io"], "resources": ["routes/custom-host"],
                      "verbs": ["create"]}]
        ref = obj.get("roleRef") or {}
        if group == RBAC and ref.get("kind") == "ClusterRole":
            bound.add(ref.get("name"))
    by_group = {}
    for group, kind in kinds:
        by_group.setdefault(group, set()).add(resource_of(kind))
    rules = [{"apiGroups": [group], "resources": sorted(names), "verbs": list(ALL_VERBS)}
             for group, names in sorted(by_group.items())]
    if bound:
        rules.append({"apiGroups": [RBAC], "resources": ["clusterroles"], "verbs": ["bind"],
                      "resourceNames": sorted(bound)})
    return rules + extra


def controller_rights(target, component, objects, more_group_kinds=()):
    """The ClusterRole and ClusterRoleBinding that let Argo CD's application controller sync
    (and prune) the component: ``<controller_role>-<component>``, bound to its ServiceAccount."""
    name = "{0}-{1}".format(target["controller_role"], component)
    labels = {"app.kubernetes.io/part-of": "rhods-gitops",
              "app.kubernetes.io/managed-by": "rhods.gitops",
              "app.kubernetes.io/component": component, RIGHTS_LABEL: "true"}
    role = {"apiVersion": RBAC + "/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels},
            "rules": controller_rules(objects, more_group_kinds)}
    binding = {"apiVersion": RBAC + "/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": name, "labels": dict(labels)},
               "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": name},
               "subjects": [{"kind": "ServiceAccount", "name": target["controller_service_account"],
                             "namespace": target["argocd_namespace"]}]}
    return [role, binding]


class FilterModule:
    """rhods.gitops GitOps delivery filters."""

    def filters(self):
        return {
            "rhods_manifests": rhods_manifests,
            "gitops_namespaces": gitops_namespaces,
            "tree_objects": tree_objects,
            "app_project": app_project,
            "controller_rights": controller_rights,
        }
