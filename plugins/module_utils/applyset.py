# SPDX-License-Identifier: Apache-2.0
"""Which objects a component owns, recorded as kubectl records an ApplySet (KEP-3659).

Every object a component delivers carries the label ``applyset.kubernetes.io/part-of`` with
the id of its *parent*, a ConfigMap ``rhods-gitops-<component>`` in the collection's state
namespace. The parent lists the group-kinds and namespaces its members may be in, so a later
run (or ``kubectl``, or the teardown playbook) finds every member with one labelled list per
kind, whatever the variables say now:

    kubectl get configmap -n rhods-gitops rhods-gitops-dsp -o yaml
    kubectl get secrets,rolebindings -A -l applyset.kubernetes.io/part-of=<id>

Pure functions here (unit-tested); ``applyset_driver`` talks to the cluster.
"""

import base64
import hashlib

PART_OF = "applyset.kubernetes.io/part-of"
ID = "applyset.kubernetes.io/id"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES = "applyset.kubernetes.io/additional-namespaces"
TOOLING_VALUE = "rhods.gitops/v1"
PARENT_PREFIX = "rhods-gitops-"
DEFAULT_NAMESPACE = "rhods-gitops"
COMPONENT_LABEL = "rhods.gitops/component"
# What holds user data: kept by a prune unless deletion of data is asked for. A Namespace
# takes everything in it along (PVCs, and what users created there themselves).
DATA_KINDS = (("", "PersistentVolumeClaim"), ("", "Namespace"))
# Argo CD's instructions for what holds user data: not pruned when it leaves git, and not
# counted as out of sync for that (the prune step decides, as in direct delivery).
PROTECT = {"argocd.argoproj.io/sync-options": "Prune=false",
           "argocd.argoproj.io/compare-options": "IgnoreExtraneous"}


def applyset_id(name, namespace, kind="ConfigMap", group=""):
    """The id of the ApplySet whose parent is the given object, as KEP-3659 derives it."""
    digest = hashlib.sha256("{0}.{1}.{2}.{3}".format(name, namespace, kind, group).encode())
    return "applyset-{0}-v1".format(base64.urlsafe_b64encode(digest.digest()).decode().rstrip("="))


def parent_name(component):
    return PARENT_PREFIX + component


def group_of(api_version):
    return api_version.split("/")[0] if "/" in (api_version or "") else ""


def group_kind(api_version, kind):
    """``Kind.group`` (``Kind`` for the core group), as the parent's annotation writes it."""
    group = group_of(api_version)
    return "{0}.{1}".format(kind, group) if group else kind


def split_group_kind(value):
    """``(group, kind)`` of ``Kind.group`` or ``Kind``."""
    kind, _sep, group = value.partition(".")
    return group, kind


def identity(obj):
    """``(group, kind, namespace, name)`` of a manifest or of an identity dict: what makes an
    object the same object whatever version of its API serves it."""
    meta = obj.get("metadata") or {}
    api_version = obj.get("apiVersion", obj.get("api_version"))
    return (group_of(api_version), obj.get("kind"),
            meta.get("namespace", obj.get("namespace")) or None,
            meta.get("name", obj.get("name")))


def identities(objects):
    """The identities of ``objects`` as plain dicts (what travels to the applyset module:
    no Secret value, no spec)."""
    out = []
    for obj in objects:
        _group, kind, namespace, name = identity(obj)
        out.append({"api_version": obj.get("apiVersion", obj.get("api_version")), "kind": kind,
                    "namespace": namespace, "name": name})
    return out


def members(objects):
    """``(group_kinds, namespaces)`` of ``objects``, sorted: what the parent records."""
    kinds, namespaces = set(), set()
    for obj in objects:
        group, kind, namespace, _name = identity(obj)
        kinds.add("{0}.{1}".format(kind, group) if group else kind)
        if namespace:
            namespaces.add(namespace)
    return sorted(kinds), sorted(namespaces)


def labelled(objects, set_id, component):
    """Copies of ``objects`` with the ApplySet membership label and the component's name."""
    out = []
    for obj in objects:
        copy = dict(obj)
        meta = dict(copy.get("metadata") or {})
        meta["labels"] = dict(meta.get("labels") or {})
        meta["labels"].update({PART_OF: set_id, COMPONENT_LABEL: component})
        copy["metadata"] = meta
        out.append(copy)
    return out


def protect_data(objects, everything=False):
    """Copies of ``objects`` where what holds user data (with ``everything``, each object)
    carries Argo CD's ``PROTECT``."""
    out = []
    for obj in objects:
        if everything or (group_of(obj.get("apiVersion")), obj.get("kind")) in DATA_KINDS:
            meta = dict(obj.get("metadata") or {})
            meta["annotations"] = dict(meta.get("annotations") or {}, **PROTECT)
            obj = dict(obj, metadata=meta)
        out.append(obj)
    return out


def tree_objects(objects, component, namespace=DEFAULT_NAMESPACE, ownership=True):
    """What the GitOps tree holds of a component: its objects as members of its ApplySet, user
    data protected from Argo CD's prune; without ``ownership`` (objects whose lifecycle is someone
    else's, the rhods role's), every object protected, so that no run's prune deletes one, also
    when it moves from one component to another. The same
    function serves the deliver action and playbooks/render.yml, so the committed tree is what
    a gitops run pushes."""
    if ownership:
        objects = labelled(objects, applyset_id(parent_name(component), namespace), component)
    return protect_data(objects, everything=not ownership)


def recorded(parent):
    """``(group_kinds, namespaces)`` the parent lists (empty when there is no parent yet)."""
    annotations = ((parent or {}).get("metadata") or {}).get("annotations") or {}
    return (sorted(filter(None, (annotations.get(GROUP_KINDS) or "").split(","))),
            sorted(filter(None, (annotations.get(NAMESPACES) or "").split(","))))


def parent_manifest(name, namespace, component, group_kinds, namespaces):
    """The parent ConfigMap recording ``group_kinds`` and ``namespaces``."""
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {ID: applyset_id(name, namespace),
                       "app.kubernetes.io/managed-by": "rhods.gitops",
                       COMPONENT_LABEL: component},
            "annotations": {TOOLING: TOOLING_VALUE,
                            GROUP_KINDS: ",".join(sorted(group_kinds)),
                            NAMESPACES: ",".join(sorted(namespaces))},
        },
    }


def is_data(item):
    group, kind, _namespace, _name = identity(item)
    return (group, kind) in DATA_KINDS


def prune_plan(found, wanted, delete_data=False):
    """``(delete, keep)``: the ``found`` members (identity dicts) that ``wanted`` (manifests or
    identities) no longer lists; those holding user data are kept unless ``delete_data``.
    Namespaces go last, after what they contain."""
    keys = {identity(w) for w in wanted}
    stale = [f for f in found if identity(f) not in keys]
    keep = [f for f in stale if is_data(f) and not delete_data]
    delete = [f for f in stale if f not in keep]
    return sorted(delete, key=_deletion_order), sorted(keep, key=_deletion_order)


def _deletion_order(item):
    """Namespaces last (they take what they hold along), then by kind, namespace and name."""
    return (identity(item)[1] == "Namespace", item["kind"], item.get("namespace") or "",
            item["name"])


def how_to_delete(item):
    """What a person runs to delete a kept object, or what to set."""
    where = " -n {0}".format(item["namespace"]) if item.get("namespace") else ""
    return "kubectl delete {0}{1} {2} (or set rhods_gitops_delete_data: true)".format(
        item["kind"].lower(), where, item["name"])
