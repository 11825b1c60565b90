# SPDX-License-Identifier: Apache-2.0
"""Small, pure helpers on Kubernetes objects (plain dicts): references, field
access, conditions and a one-line state summary for progress and errors."""

import copy
from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError


REDACTED = "<redacted>"
REDACTED_CHANGED = "<redacted, changed>"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Metadata the server maintains; it says nothing about the desired state.
BOOKKEEPING = ("managedFields", "resourceVersion", "generation", "creationTimestamp", "uid",
               "selfLink")


class ObjectRef(namedtuple("ObjectRef", "api_version kind name namespace")):
    """Which object: apiVersion, kind, name and (for namespaced kinds) namespace."""

    __slots__ = ()

    def __new__(cls, api_version, kind, name=None, namespace=None):
        return super().__new__(cls, api_version, kind, name, namespace)

    @classmethod
    def of(cls, obj):
        meta = obj.get("metadata") or {}
        return cls(obj.get("apiVersion"), obj.get("kind"), meta.get("name"), meta.get("namespace"))

    def __str__(self):
        where = "{0}/{1}".format(self.namespace, self.name) if self.namespace else self.name
        return "{0} {1}".format(self.kind, where)


class Selection(namedtuple("Selection", "api_version kind name namespace label_selector")):
    """What a wait looks at: one named object, or every object matching a label selector."""

    __slots__ = ()

    def __new__(cls, api_version, kind, name=None, namespace=None, label_selector=None):
        return super().__new__(cls, api_version, kind, name, namespace, label_selector)

    @classmethod
    def of(cls, ref):
        return cls(ref.api_version, ref.kind, ref.name, ref.namespace)

    def __str__(self):
        if self.name:
            return str(ObjectRef(self.api_version, self.kind, self.name, self.namespace))
        scope = " in namespace {0}".format(self.namespace) if self.namespace else ""
        labels = " with labels {0}".format(self.label_selector) if self.label_selector else ""
        return "{0} objects{1}{2}".format(self.kind, labels, scope)


def dig(obj, path, default=None):
    """``obj`` at a dotted ``path`` (``status.phase``), or ``default`` if any step is missing."""
    current = obj
    for key in path.split("."):
        if isinstance(current, dict) and key in current:
            current = current[key]
        else:
            return default
    return default if current is None else current


def conditions(obj):
    return dig(obj, "status.conditions", []) or []


def find_condition(obj, ctype, ignore_case=False):
    """The condition of type ``ctype`` in ``status.conditions``, or None."""
    wanted = ctype.lower() if ignore_case else ctype
    for cond in conditions(obj):
        found = cond.get("type") or ""
        if (found.lower() if ignore_case else found) == wanted:
            return cond
    return None


def describe_condition(cond):
    """``Ready=False (Reason: message)`` for one condition."""
    text = "{0}={1}".format(cond.get("type"), cond.get("status"))
    detail = ": ".join(x for x in (cond.get("reason"), cond.get("message")) if x)
    return "{0} ({1})".format(text, detail) if detail else text


_SUMMARY_FIELDS = ("phase", "state", "health.status", "sync.status", "reason", "installedCSV",
                   "readyReplicas")


def summarize(obj, limit=240):
    """A short, human summary of an object's state for progress lines and errors."""
    if obj is None:
        return "does not exist"
    status = obj.get("status") or {}
    parts = []
    for field in _SUMMARY_FIELDS:
        value = dig(status, field)
        if value not in (None, ""):
            parts.append("{0}={1}".format(field, value))
    for cond in conditions(obj):
        if cond.get("type") in ("Ready", "Available", "Established", "ResolutionFailed",
                                "InstallPlanPending", "InstallPlanFailed", "Degraded", "Failed",
                                "Complete"):
            parts.append(describe_condition(cond))
    if not parts:
        parts.append("exists, no status yet" if not status else "exists")
    text = "; ".join(parts)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def require_identity(definition, index=None):
    """Check that a definition names its apiVersion, kind and metadata.name; return its ref."""
    where = "definition" if index is None else "definitions[{0}]".format(index)
    if not isinstance(definition, dict):
        raise GitopsError("{0} is a {1}, not a mapping: give each object as a dict "
                          "(apiVersion, kind, metadata).".format(where, type(definition).__name__))
    for field in ("apiVersion", "kind"):
        if not definition.get(field):
            raise GitopsError("{0} has no {1}: every object needs apiVersion, kind and "
                              "metadata.name.".format(where, field))
    if not dig(definition, "metadata.name"):
        raise GitopsError("{0} ({1}) has no metadata.name: server-side apply needs a name "
                          "(generateName is not supported).".format(where, definition["kind"]))
    return ObjectRef.of(definition)


def for_display(obj):
    """The object as shown in diffs: no status, no bookkeeping."""
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in BOOKKEEPING:
        meta.pop(key, None)
    return out


def without_managed_fields(obj):
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    (out.get("metadata") or {}).pop("managedFields", None)
    return out


def redact(obj, previous=None):
    """A copy of ``obj`` safe to print. For a Secret, every value of ``data`` and
    ``stringData`` becomes a placeholder; with ``previous`` (the object before),
    values that differ from it are marked as changed without being shown."""
    if obj is None or obj.get("kind") != "Secret":
        return obj
    out = copy.deepcopy(obj)
    old_values = {}
    if previous:
        old_values.update(previous.get("data") or {})
        old_values.update(previous.get("stringData") or {})
    for field in ("data", "stringData"):
        values = out.get(field)
        if isinstance(values, dict):
            out[field] = {
                key: REDACTED if previous is None or old_values.get(key) == value
                else REDACTED_CHANGED
                for key, value in values.items()}
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = REDACTED
    return out
