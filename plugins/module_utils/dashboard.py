# SPDX-License-Identifier: Apache-2.0
"""The dashboard's settings: container sizes, admin and allowed groups, other settings (pure).

The rhods role owns them (``rhods_notebook_sizes``, ``rhods_dashboard_admin_groups``,
``rhods_dashboard_allowed_groups``, ``rhods_dashboard_config``); the custom_notebook role
resolves a workbench's ``size`` against the same ``rhods_notebook_sizes``, so a size is written
once. Where each setting lives on the cluster:

- sizes and other settings: OdhDashboardConfig ``odh-dashboard-config`` in the applications
  namespace (``spec.notebookSizes``, the rest of ``spec`` passed through);
- groups: the Auth ``auth`` (``services.platform.opendatahub.io/v1alpha1``, cluster-scoped,
  ``spec.adminGroups`` and ``spec.allowedGroups`` lists) when the cluster serves that kind
  (RHOAI 2.17 and later, Open Data Hub 2.22 and later); else the OdhDashboardConfig's
  ``spec.groupsConfig.adminGroups`` / ``allowedGroups``, comma-separated strings.

A group variable left out (``None``) keeps what the cluster has: the definition then carries
the live value, so a server-side apply never removes a field the role stops managing.

``offered_size_warnings`` tells custom_notebook when the live dashboard does not offer a
workbench's size as declared (the rhods role has not applied rhods_notebook_sizes there).

``problems`` (no cluster) and ``definitions``, ``readback_problems`` (from objects read
before and after) are unit-tested in ``tests/unit/test_dashboard.py``.
"""

from ansible_collections.rhods.gitops.plugins.module_utils import naming
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import AUTH, DASHBOARD_CONFIG
from ansible_collections.rhods.gitops.plugins.module_utils.notebooks import parse_quantity
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig

CONFIG_API = DASHBOARD_CONFIG.api_version
CONFIG_NAME = "odh-dashboard-config"
AUTH_API = AUTH.api_version
AUTH_NAME = "auth"
GROUP_VARIABLES = {"adminGroups": "rhods_dashboard_admin_groups",
                   "allowedGroups": "rhods_dashboard_allowed_groups"}
# Fields of the OdhDashboardConfig's spec that variables of their own own.
OWN_FIELDS = {"notebookSizes": "rhods_notebook_sizes",
              "groupsConfig": "rhods_dashboard_admin_groups and rhods_dashboard_allowed_groups"}


def _quantities(resources):
    """Requests and limits with each quantity a string, as the rhods role's spec makes them
    (``cpu: 1`` in YAML is the number 1)."""
    return {part: {field: value if isinstance(value, str) else str(value)
                   for field, value in (fields or {}).items()}
            for part, fields in (resources or {}).items()}


def sizes_by_name(sizes):
    """``{name: resources}`` of the dashboard's list of sizes (the shape a Notebook's container
    takes), in the list's order."""
    return {size["name"]: _quantities(size.get("resources"))
            for size in sizes or [] if isinstance(size, dict)}


def same_resources(one, other):
    """Two containers' resources are the same: the same fields, quantities equal by value."""
    return _same(one, other) and _same(other, one)


def _size_problems(where, size):
    out = []
    resources = size.get("resources") or {}
    parsed = {}
    for part in ("requests", "limits"):
        for field, example in (("cpu", "2"), ("memory", "8Gi")):
            value = dig(resources, "{0}.{1}".format(part, field))
            number = parse_quantity(value)
            if number is None or number <= 0:
                out.append("{0}.resources.{1}.{2} is {3!r}: give a Kubernetes quantity above "
                           "zero, for example {2}: \"{4}\".".format(where, part, field, value,
                                                                    example))
            parsed[(part, field)] = number
    for field in ("cpu", "memory"):
        request, limit = parsed[("requests", field)], parsed[("limits", field)]
        if request and limit and request > limit:
            out.append("{0}.resources.requests.{1} {2} is more than limits.{1} {3}: the API "
                       "refuses a request above its limit.".format(
                           where, field, resources["requests"][field],
                           resources["limits"][field]))
    return out


def size_problems(sizes, variable="rhods_notebook_sizes"):
    """The sizes a spec cannot check: at least one, names unique, quantities valid and above
    zero, requests not above limits."""
    if not sizes:
        return ["{0} is empty: give at least one size (the dashboard and the workbenches choose "
                "from it), for example the default Small.".format(variable)]
    out, seen = [], set()
    for index, size in enumerate(sizes):
        where = "{0}[{1}]".format(variable, index)
        name = size.get("name")
        if not isinstance(name, str) or not name.strip():
            out.append("{0}.name is empty: name the size, for example Small.".format(where))
        elif name in seen:
            out.append("{0}.name {1!r} is declared twice: each size needs its own name.".format(
                where, name))
        seen.add(name)
        out.extend(_size_problems("{0} ({1})".format(where, name) if name else where, size))
    return out


def group_problems(values):
    """Group names the dashboard and the Auth CRD accept."""
    out = []
    for field, variable in sorted(GROUP_VARIABLES.items()):
        groups = values.get(variable)
        if groups is None:
            continue
        if field == "adminGroups" and not groups:
            out.append("{0} is empty: the dashboard needs at least one admin group (leave the "
                       "variable out to keep the cluster's).".format(variable))
        for index, group in enumerate(groups):
            where = "{0}[{1}]".format(variable, index)
            if not isinstance(group, str) or not group.strip() or group != group.strip():
                out.append("{0} is {1!r}: give a group name without leading or trailing "
                           "spaces.".format(where, group))
            elif "," in group:
                out.append("{0} {1!r} holds a comma: give one group per list item (the "
                           "dashboard of RHOAI 2.16 and earlier reads them comma-separated)."
                           .format(where, group))
            elif field == "adminGroups" and group == "system:authenticated":
                out.append("{0} is system:authenticated: that would make every user an admin; "
                           "the operator refuses it. Put it in rhods_dashboard_allowed_groups."
                           .format(where))
    return out


def config_problems(config):
    """``rhods_dashboard_config`` holds the other spec fields, not the ones with variables."""
    return ["rhods_dashboard_config.{0} is set: write it with {1} instead (one place for each "
            "setting).".format(field, variable)
            for field, variable in sorted(OWN_FIELDS.items()) if field in (config or {})]


def raw_problems(values):
    """Checks on the values as given, before the validator converts them: a group list given
    as a string (which it would split at commas)."""
    return ["{0} is a {1}, not a list: write a list of group names (one '- ' item per line), "
            "or leave it out to keep the cluster's groups.".format(
                variable, naming.type_name(values[variable]))
            for variable in sorted(GROUP_VARIABLES.values())
            if values.get(variable) is not None and not isinstance(values[variable], list)]


def problems(values):
    """Everything the dashboard settings of the rhods role's normalized input can get wrong."""
    return (size_problems(values["rhods_notebook_sizes"]) + group_problems(values)
            + config_problems(values["rhods_dashboard_config"]))


def _groups(values, live):
    """``{field: list}`` of the groups to write: the variable, or the live value when the
    variable is left out (``live``: field -> list or None)."""
    out = {}
    for field, variable in GROUP_VARIABLES.items():
        value = values.get(variable)
        if value is None:
            value = live.get(field)
        if value is not None:
            out[field] = list(value)
    return out


def _split(text):
    return [g.strip() for g in (text or "").split(",") if g.strip()] if isinstance(
        text, str) else None


def definitions(values, namespace, live_config=None, live_auth=None, auth_served=False):
    """The objects to apply: the OdhDashboardConfig (sizes, settings and, without the Auth
    kind, groups) and, when the groups are managed and the Auth kind is served, the Auth."""
    manages_groups = any(values.get(v) is not None for v in GROUP_VARIABLES.values())
    spec = dict(values.get("rhods_dashboard_config") or {})
    spec["notebookSizes"] = [{"name": size["name"], "resources": size["resources"]}
                             for size in values["rhods_notebook_sizes"]]
    out = []
    if manages_groups and auth_served:
        live = {field: dig(live_auth or {}, "spec." + field) for field in GROUP_VARIABLES}
        out.append({"apiVersion": AUTH_API, "kind": "Auth", "metadata": {"name": AUTH_NAME},
                    "spec": _groups(values, live)})
    elif manages_groups:
        live = {field: _split(dig(live_config or {}, "spec.groupsConfig." + field))
                for field in GROUP_VARIABLES}
        spec["groupsConfig"] = {field: ",".join(groups)
                                for field, groups in _groups(values, live).items()}
    config = {"apiVersion": CONFIG_API, "kind": "OdhDashboardConfig",
              "metadata": {"name": CONFIG_NAME, "namespace": namespace}, "spec": spec}
    return [config] + out


def _same(want, have):
    """``want`` is in ``have``: mappings compared key by key (the server may add fields),
    quantities by value (``8Gi`` is ``8192Mi``), everything else exactly."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_same(v, have.get(k)) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(
            _same(w, h) for w, h in zip(want, have))
    parsed = parse_quantity(want)
    if parsed is not None and parsed == parse_quantity(have):
        return True
    return want == have


def readback_problems(wanted, live):
    """What the objects read back after the apply lack of the definitions applied: a message
    per top-level spec field that differs, or per object that is missing. ``live``: per
    definition the object, or the list a read returned."""
    out = []
    for index, definition in enumerate(wanted):
        have = live[index] if index < len(live) else None
        if isinstance(have, list):  # the resources of a k8s_info result
            have = have[0] if have else None
        name = "{0} {1}".format(definition["kind"], definition["metadata"]["name"])
        if not have:
            out.append("{0} is not there after the apply.".format(name))
            continue
        for field, value in sorted(definition["spec"].items()):
            if not _same(value, dig(have, "spec." + field)):
                out.append("{0}: spec.{1} reads back as {2!r}, not {3!r} (another writer, an "
                           "admission webhook or the operator changed it).".format(
                               name, field, dig(have, "spec." + field), value))
    return out


def offered_size_warnings(workbenches, sizes, live_config):
    """Workbenches whose size the live OdhDashboardConfig does not offer with the same
    resources: the dashboard would show them with a custom size."""
    offered = sizes_by_name(dig(live_config or {}, "spec.notebookSizes") or [])
    out = []
    for bench in workbenches or []:
        name = bench.get("size")
        if name in (sizes or {}) and not (name in offered and same_resources(
                sizes[name], offered[name])):
            out.append("Workbench {0}/{1}: the dashboard ({2} {3}) does not offer size {4!r} "
                       "with these requests and limits, so it shows the workbench with a custom "
                       "size; run the rhods role, which applies rhods_notebook_sizes there."
                       .format(bench.get("namespace"), bench.get("name"),
                               DASHBOARD_CONFIG.kind, CONFIG_NAME, name))
    return out
