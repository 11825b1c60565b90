# SPDX-License-Identifier: Apache-2.0
"""The ``applyset`` module: record a component's ApplySet before its objects are applied,
and prune its members that the component no longer renders afterwards (KEP-3659's order:
the parent first lists the union of old and new, then exactly what is left); or the three
steps with the apply between them in one run (``step: deliver``, direct delivery)."""

from ansible_collections.rhods.gitops.plugins.module_utils import applyset
from ansible_collections.rhods.gitops.plugins.module_utils.apply import Applier, public_result
from ansible_collections.rhods.gitops.plugins.module_utils.client import NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef


def _state_namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "rhods.gitops"}}}


def _record(run, params, group_kinds, namespaces):
    """Apply the parent (and its namespace) listing ``group_kinds`` and ``namespaces``."""
    applier = Applier(run.cluster, run.check_mode)
    parent = applyset.parent_manifest(params["name"], params["namespace"], params["component"],
                                      group_kinds, namespaces)
    results = [applier.apply(applier.prepare(_state_namespace(params["namespace"]))),
               applier.apply(applier.prepare(parent))]
    run.record(results)  # (check mode on a new cluster: the warning that the namespace is
    # not there yet would be about our own bookkeeping, so it is not passed on)


def _parent(run, params):
    resource = run.cluster.resource("v1", "ConfigMap")
    return run.cluster.get(resource, params["name"], params["namespace"])


def _resource(run, group_kind):
    """The API resource of ``Kind.group`` (the group's preferred version); None if not served."""
    group, kind = applyset.split_group_kind(group_kind)
    versions = ["v1"] if not group else run.cluster.served_versions(group)
    for version in versions[:1]:
        try:
            return run.cluster.resource("{0}/{1}".format(group, version) if group else version, kind)
        except NotServed:
            return None
    return None


def _members(run, set_id, group_kinds):
    """Every object labelled as a member, found with one labelled list per group-kind."""
    found = {}
    for group_kind in group_kinds:
        resource = _resource(run, group_kind)
        if resource is None:
            continue
        try:
            items, _version = run.cluster.list(resource, label_selector="{0}={1}".format(
                applyset.PART_OF, set_id))
        except NotServed:
            continue
        for obj in items:
            meta = obj.get("metadata") or {}
            found[(group_kind, meta.get("namespace"), meta.get("name"))] = (resource, {
                "api_version": resource.group_version, "kind": resource.kind,
                "namespace": meta.get("namespace"), "name": meta.get("name")})
    return list(found.values())


def run_prepare(run):
    params = run.params
    wanted = params["objects"]
    kinds, namespaces = applyset.members(wanted)
    old_kinds, old_namespaces = applyset.recorded(_parent(run, params))
    recorded = sorted(set(namespaces) | set(old_namespaces))
    recorded_kinds = sorted(set(kinds) | set(old_kinds))
    _record(run, params, recorded_kinds, recorded)
    run.result.update(id=applyset.applyset_id(params["name"], params["namespace"]),
                      group_kinds=kinds, namespaces=namespaces, recorded_namespaces=recorded,
                      recorded_group_kinds=recorded_kinds)


def run_prune(run):
    params = run.params
    set_id = applyset.applyset_id(params["name"], params["namespace"])
    parent = _parent(run, params)
    old_kinds, _old_namespaces = applyset.recorded(parent)
    members = _members(run, set_id, old_kinds)
    resources = {applyset.identity(item): resource for resource, item in members}
    delete, keep = applyset.prune_plan([item for _resource, item in members], params["objects"],
                                       params["delete_data"])
    for item in delete:
        gone = run.cluster.delete(resources[applyset.identity(item)], item["name"],
                                  item["namespace"], dry_run=run.check_mode)
        if gone is not None:
            run.changed = True
            ref = ObjectRef(item["api_version"], item["kind"], item["name"], item["namespace"])
            run.diffs.append({"before_header": str(ref), "after_header": "{0} (deleted)".format(ref),
                              "before": {"kind": item["kind"], "metadata": {
                                  "name": item["name"], "namespace": item["namespace"]}},
                              "after": {}})
    for item in keep:
        run.warnings.append("kept {0} ({1} holds user data and left the variables): delete it "
                            "with {2}".format(ObjectRef(item["api_version"], item["kind"],
                                                        item["name"], item["namespace"]),
                                              item["kind"], applyset.how_to_delete(item)))
    kinds, namespaces = applyset.members(list(params["objects"]) + keep)
    if parent is not None or params["objects"]:
        _record(run, params, kinds, namespaces)
    run.result.update(id=set_id, deleted=delete, kept=keep, group_kinds=kinds,
                      namespaces=namespaces)


def run_deliver(run):
    """Direct delivery in one module run: prepare, apply the objects (``definitions``, already
    labelled as members), then the Secrets (``secrets``: the result says only how many and
    whether any changed), then prune (with ``prune``). A failure stops at its step."""
    params = run.params
    run_prepare(run)
    applier = Applier(run.cluster, run.check_mode, force_conflicts=params["force_conflicts"])
    results = applier.apply_all(params["definitions"] or [])
    run.record(results)
    run.result["applied"] = [public_result(item) for item in results]
    secrets = params["secrets"] or []
    try:
        changed = [item["changed"] for item in applier.apply_all(secrets)]
    except GitopsError as exc:
        raise GitopsError("Cannot apply the {0} Secret(s): {1}".format(len(secrets), exc)) from None
    run.changed = run.changed or any(changed)
    run.result["secrets"] = len(secrets)
    run.warnings.extend(applier.warnings)
    if params["prune"]:
        run_prune(run)
