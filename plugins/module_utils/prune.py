# SPDX-License-Identifier: Apache-2.0
"""Delete the objects a component created earlier and no longer renders.

One list request per kind (cluster-wide, by label selector), then, for every
object in one of the managed namespaces that is not in ``keep``, a delete (a
server-side dry run in check mode). Only identities travel in and out: the
objects found are never returned, so listing Secrets leaks no values.
"""

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef


def _key(kind, namespace, name):
    return (kind, namespace or None, name)


def stale_objects(found, keep, namespaces):
    """Identities of ``found`` objects (dicts with kind/namespace/name) in ``namespaces``
    that ``keep`` does not list; pure, sorted."""
    wanted = {_key(k.get("kind"), k.get("namespace"), k.get("name")) for k in keep or []}
    managed = set(namespaces or [])
    out = [f for f in found
           if f.get("namespace") in managed
           and _key(f.get("kind"), f.get("namespace"), f.get("name")) not in wanted]
    return sorted(out, key=lambda f: (f["kind"], f["namespace"], f["name"]))


def run_prune(run):
    params = run.params
    selectors = [s for s in params["label_selectors"] if s.strip()]
    if not selectors:
        raise GitopsError("label_selectors is empty: prune only deletes objects that carry the "
                          "labels of their owner; give at least one selector.")
    found = []
    resources = {}
    for item in params["kinds"]:
        resource = run.cluster.resource(item["api_version"], item["kind"])
        if not resource.namespaced:
            raise GitopsError("{0} {1} is cluster-scoped: prune only deletes namespaced objects "
                              "inside the namespaces given.".format(item["api_version"],
                                                                    item["kind"]))
        resources[item["kind"]] = (item["api_version"], resource)
        objects, _resource_version = run.cluster.list(resource, label_selector=",".join(selectors))
        for obj in objects:
            meta = obj.get("metadata") or {}
            found.append({"api_version": item["api_version"], "kind": item["kind"],
                          "namespace": meta.get("namespace"), "name": meta.get("name")})
    deleted = []
    for item in stale_objects(found, params["keep"], params["namespaces"]):
        api_version, resource = resources[item["kind"]]
        gone = run.cluster.delete(resource, item["name"], item["namespace"],
                                  dry_run=run.check_mode)
        if gone is not None:
            deleted.append(item)
            run.changed = True
            run.diffs.append({
                "before_header": str(ObjectRef(api_version, item["kind"], item["name"],
                                               item["namespace"])),
                "after_header": "{0} (deleted)".format(ObjectRef(
                    api_version, item["kind"], item["name"], item["namespace"])),
                "before": {"kind": item["kind"], "metadata": {
                    "name": item["name"], "namespace": item["namespace"]}},
                "after": {}})
    run.result.update(deleted=deleted, found=len(found))
