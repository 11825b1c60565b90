# SPDX-License-Identifier: Apache-2.0
"""Keep fields that a controller writes into an object's spec, the way Argo CD's
``RespectIgnoreDifferences`` does: copy their live values into the definition
before it is applied.

Why: OpenShift's build controllers record the image an ImageChange trigger
last fired for in ``spec.triggers[].imageChange.lastTriggeredImageID`` of the
BuildConfig. ``spec.triggers`` is an atomic list, so after the controller's
write it owns the whole list, and a server-side apply of the rendered list
(without that field) conflicts with it, or, forced, removes the value and
reports a change on every run. With the live value copied in, the applied
list equals the live one: no conflict, no change, and the apply still changes
every field it should.

A path is dotted, with ``[]`` for "every element of this list"; list elements
are matched by position and only when their scalar fields (``type`` of a
trigger) agree, so a reordered list is applied as rendered.
"""

import copy

MISSING = object()

# The fields controllers write into specs the collection applies.
DEFAULT_RULES = [
    {"kind": "BuildConfig", "path": "spec.triggers[].imageChange.lastTriggeredImageID"},
]


def _segments(path):
    out = []
    for part in path.split("."):
        if part.endswith("[]"):
            out.append((part[:-2], True))
        else:
            out.append((part, False))
    return out


def _scalars_agree(desired, live):
    for key, value in desired.items():
        if value is None or isinstance(value, (dict, list)):
            continue
        if live.get(key) != value:
            return False
    return True


def _copy(desired, live, segments):
    """Copy the value at ``segments`` from ``live`` into ``desired`` (in place)."""
    if not isinstance(desired, dict) or not isinstance(live, dict) or not segments:
        return
    (key, each), rest = segments[0], segments[1:]
    if key not in live:
        return
    if not rest and not each:
        if key not in desired:
            desired[key] = copy.deepcopy(live[key])
        return
    if each:
        wanted, current = desired.get(key), live.get(key)
        if not isinstance(wanted, list) or not isinstance(current, list):
            return
        for index, element in enumerate(wanted):
            if index < len(current) and isinstance(element, dict) and \
                    isinstance(current[index], dict) and _scalars_agree(element, current[index]):
                if rest:
                    _copy(element, current[index], rest)
        return
    child = desired.get(key, MISSING)
    if child is MISSING:
        return  # the definition does not render this part: nothing to keep
    if child is None and isinstance(live[key], dict):
        # `imageChange:` with no value is null in YAML; the server stores it as {}.
        desired[key] = {}
        child = desired[key]
    _copy(child, live[key], rest)


def keep_live_fields(definitions, live_objects, rules=None):
    """``definitions`` with the live values of ``rules`` paths copied in (a new list)."""
    rules = DEFAULT_RULES if rules is None else rules
    live_by_key = {}
    for obj in live_objects or []:
        meta = obj.get("metadata") or {}
        live_by_key[(obj.get("kind"), meta.get("namespace"), meta.get("name"))] = obj
    out = []
    for definition in definitions or []:
        if not isinstance(definition, dict):
            out.append(definition)
            continue
        meta = definition.get("metadata") or {}
        live = live_by_key.get((definition.get("kind"), meta.get("namespace"), meta.get("name")))
        matching = [r for r in rules if r.get("kind") == definition.get("kind")]
        if live is None or not matching:
            out.append(definition)
            continue
        definition = copy.deepcopy(definition)
        for rule in matching:
            _copy(definition, live, _segments(rule["path"]))
        out.append(definition)
    return out
