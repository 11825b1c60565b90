# SPDX-License-Identifier: Apache-2.0
"""Server-side apply of many definitions with exact change detection.

For each object: read it, then apply it as a server-side DRY RUN. The dry run
returns exactly what the object would become (defaults, admission webhooks and
merging with other field managers included); comparing it with what was read
(ignoring bookkeeping like managedFields, resourceVersion, generation and
status) says whether anything would change. Only then, and not in check mode,
is the apply sent for real. An idempotent run therefore writes nothing, and
check mode reports exactly what a real run would change.

Secrets never leave this module in clear: values of ``data``/``stringData``
(and a ``last-applied-configuration`` annotation) are replaced by a
placeholder in diffs and returned objects.
"""

import copy

from ansible_collections.rhods.gitops.plugins.module_utils.client import FIELD_MANAGER
from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    ApiError,
    GitopsError,
    NotServed,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    BOOKKEEPING,
    ObjectRef,
    Selection,
    for_display,
    redact,
    require_identity,
    without_managed_fields,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    failure,
    jmespath_true,
    readiness,
)

try:
    import yaml
except ImportError:  # reported by the module (kubernetes.core requires PyYAML)
    yaml = None

OWNED_KEY = "(fields owned by {0})".format(FIELD_MANAGER)


def comparable(obj):
    """What an apply can change: the object without status and server bookkeeping,
    plus the set of fields our field manager owns (so a change of ownership counts)."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    owned = [entry.get("fieldsV1") for entry in meta.get("managedFields") or []
             if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply"]
    for key in BOOKKEEPING:
        meta.pop(key, None)
    out[OWNED_KEY] = owned
    return out


def applied_time(obj):
    """Server time of our field manager's last apply of ``obj`` (from managedFields)."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            return entry.get("time")
    return None


def differs(before, after):
    """Whether applying turned ``before`` into something else (exact, see ``comparable``)."""
    return comparable(before) != comparable(after)


def _namespace_missing(exc):
    """A 404 whose object is the namespace (the object's namespace does not exist)."""
    causes = exc.details.get("causes") or []
    return exc.status == 404 and ("namespaces" in exc.msg or any(
        c.get("field") == "metadata.namespace" for c in causes))


class Applier:
    """Applies definitions one by one; remembers results and diffs."""

    def __init__(self, cluster, check_mode=False, force_conflicts=False):
        self.cluster = cluster
        self.check_mode = check_mode
        self.force_conflicts = force_conflicts
        self.warnings = []

    def apply_all(self, definitions, namespace=None):
        results = []
        for index, definition in enumerate(definitions):
            definition = self.prepare(definition, index, namespace)
            results.append(self.apply(definition))
        return results

    def prepare(self, definition, index=None, namespace=None):
        """Validate a definition and fill in the namespace of a namespaced object."""
        ref = require_identity(definition, index)
        definition = copy.deepcopy(definition)
        try:
            resource = self.cluster.resource(ref.api_version, ref.kind)
        except NotServed:
            return definition  # reported by apply()
        meta = definition["metadata"]
        if resource.namespaced and not meta.get("namespace"):
            if not namespace:
                raise GitopsError(
                    "{0} is namespaced but has no metadata.namespace: set it in the definition "
                    "or give the namespace option.".format(ref))
            meta["namespace"] = namespace
        elif not resource.namespaced:
            meta.pop("namespace", None)
        return definition

    def apply(self, definition):
        """Apply one prepared definition; return its result (see ``result``)."""
        ref = ObjectRef.of(definition)
        try:
            resource = self.cluster.resource(ref.api_version, ref.kind)
        except NotServed:
            if not self.check_mode:
                raise
            self.warnings.append("{0}: {1} is not served yet, so check mode cannot validate this "
                                 "object; a real run needs its operator first.".format(
                                     ref, ref.api_version))
            return self.result(ref, None, definition, validated=False)
        name, namespace = ref.name, ref.namespace
        before = self.cluster.get(resource, name, namespace)
        try:
            predicted = self.cluster.apply(resource, definition, dry_run=True,
                                           force_conflicts=self.force_conflicts)
        except ApiError as exc:
            if not (self.check_mode and before is None and _namespace_missing(exc)):
                raise
            self.warnings.append("{0}: namespace {1} does not exist yet, so check mode cannot "
                                 "validate this object.".format(ref, namespace))
            return self.result(ref, None, definition, validated=False)
        if not differs(before, predicted):
            return self.result(ref, before, before)
        if self.check_mode:
            return self.result(ref, before, predicted)
        after = self.cluster.apply(resource, definition, force_conflicts=self.force_conflicts)
        result = self.result(ref, before, after)
        result["applied_at"] = applied_time(after)
        return result

    @staticmethod
    def result(ref, before, after, validated=True):
        """Per-object result: identity, changed, operation, object and diff (all redacted)."""
        changed = before is None or differs(before, after)
        operation = "unchanged"
        if changed:
            operation = "created" if before is None else "updated"
        out = {
            "api_version": ref.api_version,
            "kind": ref.kind,
            "name": ref.name,
            "namespace": ref.namespace,
            "changed": changed,
            "operation": operation,
            "object": redact(without_managed_fields(after), before),
            "diff": {
                "before_header": str(ref),
                "after_header": str(ref),
                "before": redact(for_display(before)) or {},
                "after": redact(for_display(after), before) or {},
            },
        }
        if not validated:
            out["validated"] = False
        return out


def load_definitions(value):
    """Definitions from a list, a mapping or a (multi-document) YAML string, with
    ``kind: List`` objects flattened and empty documents dropped."""
    if isinstance(value, str):
        try:
            value = list(yaml.safe_load_all(value))
        except yaml.YAMLError as exc:
            raise GitopsError("definitions is not valid YAML: {0}".format(exc)) from None
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise GitopsError("definitions must be a list of objects, one object or a YAML string, "
                          "not {0}.".format(type(value).__name__))
    out = []
    for item in value:
        if item is None:
            continue
        if isinstance(item, list):
            out.extend(load_definitions(item))
        elif isinstance(item, dict) and item.get("kind") == "List":
            out.extend(load_definitions(item.get("items") or []))
        else:
            out.append(item)
    return out


def public_result(result):
    """An object's apply result as a module returns it: without its diff (the diff goes to
    Ansible's ``diff``, where the Secret redaction applies)."""
    return {k: v for k, v in result.items() if k != "diff"}


def run_apply(run):
    """The apply module: apply (or delete) every definition in one call, then wait."""
    params = run.params
    definitions = load_definitions(params["definitions"])
    applier = Applier(run.cluster, run.check_mode, force_conflicts=params["force_conflicts"])
    waiting = params["wait"] and not run.check_mode
    if waiting:
        for definition in definitions:
            ref = require_identity(definition)
            run.waiter.wait_served(ref.api_version, ref.kind)
    if params["state"] == "absent":
        results = [delete(run, applier.prepare(d, i, params["namespace"]))
                   for i, d in enumerate(definitions)]
    else:
        results = applier.apply_all(definitions, params["namespace"])
    run.record(results)
    run.warnings.extend(applier.warnings)
    run.result["results"] = [public_result(r) for r in results]
    if waiting:
        wait_for_results(run, results, params)


def delete(run, definition):
    """Delete one object (dry run in check mode); a result shaped like an apply result."""
    ref = ObjectRef.of(definition)
    try:
        resource = run.cluster.resource(ref.api_version, ref.kind)
    except NotServed:  # no API, so no object
        resource = None
    before = run.cluster.get(resource, ref.name, ref.namespace) if resource else None
    if before is not None:
        run.cluster.delete(resource, ref.name, ref.namespace, dry_run=run.check_mode)
    out = Applier.result(ref, before, None)
    out.update(changed=before is not None, operation="deleted" if before is not None else "absent")
    out["diff"]["after_header"] = "{0} (deleted)".format(ref)
    return out


def wait_for_results(run, results, params):
    """Wait for each object: gone (state absent), the JMESPath ``wait_condition``,
    or the kind's readiness (Deployment available, Job complete, ...)."""
    for item in results:
        selection = Selection(item["api_version"], item["kind"], item["name"], item["namespace"])
        if params["state"] == "absent":
            run.waiter.wait(selection, absent())
            continue
        condition = (jmespath_true(params["wait_condition"], option="wait_condition")
                     if params["wait_condition"] else readiness(item["api_version"], item["kind"]))
        run.waiter.wait(selection, condition, fail_on=failure(item["api_version"], item["kind"]))
