# SPDX-License-Identifier: Apache-2.0
"""A role's input, checked and normalized against the role's argument spec (pure Python).

``meta/argument_specs.yml`` is the only place where a role's keys, types, defaults and
choices are written. ``normalize(options, values)`` runs ansible-core's own
``ArgumentSpecValidator`` over the role's variables one level at a time, so that every
problem names the variable and the list item (``dsp_projects[1].connections[0]: ...``),
and returns the values with every default of the spec filled in, nested ones included.
Options a value leaves out are ``None`` (the validator's convention).

``problems(role, values)`` adds the checks a spec cannot express (DNS-1123 names, bucket
names, quantities, rules across fields); each role's live next to its other pure code
(``dsp.problems``, ``notebooks.input_problems``, ``minio_problems`` here).

Used by the action ``rhods.gitops.role_input``; unit-tested in ``tests/unit/test_role_input.py``.
"""

import difflib
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.rhods.gitops.plugins.module_utils import dashboard, dsp, naming, notebooks

_URL = re.compile(r"^https?://")
_STORAGE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def _level(options):
    """The options of one level, without their suboptions (checked one item at a time)."""
    return {name: {key: value for key, value in spec.items() if key != "options"}
            for name, spec in options.items()}


_MISSING = re.compile(r"^missing required arguments: (?P<names>.+)$")
_TYPE = re.compile(r"^argument '(?P<name>[^']+)' is of type (?P<got>\S+)(?: found in '[^']*'\.)? "
                   r"and we were unable to convert to (?P<want>\w+)")
_CHOICE = re.compile(r"^value of (?P<name>\S+) must be one of: (?P<choices>.*), got: (?P<got>.*?)"
                     r"(?: found in .*)?$")
_UNKNOWN = re.compile(r"^(?P<names>.*?)\. Supported parameters include: (?P<known>.*?)\.?$")
_HOW = {"bool": "write true or false", "int": "write a whole number, for example 600",
        "float": "write a number", "dict": "write a mapping (key: value)",
        "list": "write a list (one '- ' item per line)", "str": "write a string (quote it)",
        "path": "write a path"}


def _path(where, name):
    return "{0}.{1}".format(where, name) if where else name


def _unknown(where, names, known):
    out = []
    for name in names.split(", "):
        near = difflib.get_close_matches(name, known.split(", "), n=1)
        out.append("{0} is not a known key{1}: correct or remove it (known keys: {2}).".format(
            _path(where, name), " (did you mean {0}?)".format(near[0]) if near else "", known))
    return out


def _messages(where, error):
    """ansible-core's message of one problem, rewritten to name the field first
    (``dsp_projects[1].name``) and to say what to do."""
    text = error.msg
    match = _UNKNOWN.match(text) if isinstance(error, UnsupportedError) else None
    if match:
        return _unknown(where, match.group("names"), match.group("known"))
    match = _MISSING.match(text)
    if match:
        return ["{0} is missing: it is required, add it.".format(_path(where, name))
                for name in match.group("names").split(", ")]
    match = _TYPE.match(text)
    if match:
        want = match.group("want")
        return ["{0} is of type {1}, it must be {2} {3}: {4}.".format(
            _path(where, match.group("name")), match.group("got"),
            "an" if want[0] in "aeiou" else "a", want, _HOW.get(want, want))]
    match = _CHOICE.match(text)
    if match:
        return ["{0} is {1!r}: it must be one of {2} (the case matters).".format(
            _path(where, match.group("name")), match.group("got"), match.group("choices"))]
    return [(where + ": " if where else "") + text]


def _not_mappings(options, values, where):
    """Lists of mappings given as something else (``dsp_projects: notebook-demo``), each item
    named; ``(problems, names of such options)``."""
    problems, broken = [], set()
    for name, spec in options.items():
        value = values.get(name)
        if spec.get("type") != "list" or spec.get("elements") != "dict" or value is None:
            continue
        keys = ", ".join(sorted(k for k, s in (spec.get("options") or {}).items()
                                if s.get("required"))) or "its keys"
        if not isinstance(value, list):
            broken.add(name)
            problems.append("{0} is a {1}, not a list: write a list of mappings, each with {2} "
                            "(see docs/variables.md).".format(
                                _path(where, name), naming.type_name(value), keys))
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                broken.add(name)
                problems.append("{0}[{1}] is the {2} {3!r}: each item must be a mapping with {4}, "
                                "for example {{name: ...}}.".format(
                                    _path(where, name), index, naming.type_name(item),
                                    str(item) if isinstance(item, str) else item, keys))
    return problems, broken


def _numbers_for_strings(options, values, where):
    """A float where the spec wants a string in a list item or mapping: YAML read ``3.10`` as
    3.1, the validator would quietly make it "3.1"; say so instead. (A top-level variable such as
    ``custom_notebook_base_tag: 2025.2`` is converted, as the roles always did.)"""
    if not where:
        return []
    return ["{0}.{1} is the number {2!r}: quote it so YAML keeps it a string (\"{2}\" is what "
            "YAML read).".format(where, name, values[name])
            for name, spec in options.items()
            if spec.get("type", "str") == "str" and isinstance(values.get(name), float)]


def _check_level(options, values, where, secrets):
    """Validate one mapping; return (normalized mapping, problems)."""
    problems, broken = _not_mappings(options, values, where)
    problems.extend(_numbers_for_strings(options, values, where))
    result = ArgumentSpecValidator(_level(options)).validate(
        {k: ([] if k in broken else v) for k, v in values.items()})
    secrets.update(result._no_log_values)  # pylint: disable=protected-access
    out = result.validated_parameters
    for error in result.errors.errors:
        problems.extend(_messages(where, error))
    for name, spec in options.items():
        sub, value = spec.get("options"), out.get(name)
        if name in broken:
            value = values[name] if isinstance(values[name], list) else None
        if not sub or value is None:
            continue
        path = "{0}.{1}".format(where, name) if where else name
        if spec.get("type") == "dict" and isinstance(value, dict):
            out[name], more = _check_level(sub, value, path, secrets)
            problems.extend(more)
        elif spec.get("type") == "list" and isinstance(value, list):
            items = []
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    item, more = _check_level(sub, item, "{0}[{1}]".format(path, index), secrets)
                    problems.extend(more)
                items.append(item)
            out[name] = items
    return out, problems


def normalize(options, values):
    """``(normalized values, problems, no_log values)`` of a role's variables.

    ``options`` is an entry point's ``options`` from ``meta/argument_specs.yml``;
    ``values`` the variables as the play sees them (missing ones get the spec's default).
    Problems never show a ``no_log`` value."""
    secrets = set()
    out, problems = _check_level(options, dict(values), "", secrets)
    return out, [remove_values(p, secrets) for p in problems], secrets


def _url_problems(values, names):
    return ["{0} {1!r} must start with http:// or https://.".format(name, values[name])
            for name in names if values.get(name) and not _URL.match(values[name])]


def minio_problems(values):
    """What MinIO would refuse, beyond the spec."""
    if not values["minio_enabled"]:
        return []
    user, password = values["minio_root_user"] or "", values["minio_root_password"] or ""
    out = naming.namespace_problems(values["minio_namespace"], "minio_namespace")
    for index, name in enumerate(values["minio_buckets"]):
        out.extend(naming.bucket_name_problems(name, "minio_buckets[{0}]".format(index)))
    if bool(user) != bool(password):
        out.append("minio_root_user and minio_root_password go together: give both (from a "
                   "vault), or neither (then they are generated once and kept in the cluster).")
    if 0 < len(user) < 3:
        out.append("minio_root_user must have at least 3 characters (MinIO refuses shorter ones).")
    if 0 < len(password) < 8:
        out.append("minio_root_password must have at least 8 characters (MinIO refuses shorter "
                   "ones).")
    if values["minio_root_user_length"] < 3 or values["minio_root_password_length"] < 8:
        out.append("minio_root_user_length must be at least 3 and minio_root_password_length at "
                   "least 8.")
    if not _STORAGE.match(values["minio_pvc_size"]):
        out.append("minio_pvc_size {0!r} is not a storage quantity: write it like 20Gi or "
                   "500Mi.".format(values["minio_pvc_size"]))
    if not values["minio_command"]:
        out.append("minio_command must be a non-empty list of strings (the server command and "
                   "its arguments).")
    return out + _url_problems(values, ["minio_s3_endpoint"])


def dsp_problems(values):
    """What the cluster, the dashboard or S3 would refuse, beyond the spec."""
    out = dsp.problems(values["dsp_projects"])
    out.extend(naming.namespace_problems(values["dsp_minio_namespace"], "dsp_minio_namespace"))
    return out + _url_problems(values, ["dsp_minio_endpoint", "dsp_minio_verify_endpoint"])


def rhods_problems(values):
    """What OLM or the DataScienceCluster would refuse, beyond the spec."""
    out = []
    for name in ("rhods_operator_namespace", "rhods_source_namespace"):
        out.extend(naming.dns_label_problems(values[name], name, "namespace name"))
    for name, value in sorted((values["rhods_components"] or {}).items()):
        state = value.get("managementState", "Managed") if isinstance(value, dict) else value
        if state not in ("Managed", "Removed"):
            out.append("rhods_components.{0} is {1!r}: give a management state, Managed or "
                       "Removed, or a mapping with managementState and the component's own "
                       "fields.".format(name, state))
    return out + dashboard.problems(values)


def _workbench_sizes(values):
    """custom_notebook's values with ``custom_notebook_sizes`` replaced by the sizes the
    workbenches resolve against: ``rhods_notebook_sizes`` by name; and the problems of a
    deprecated ``custom_notebook_sizes`` that disagrees with them."""
    sizes = values.get("rhods_notebook_sizes") or []
    out = dashboard.size_problems(sizes) if isinstance(sizes, list) and all(
        isinstance(s, dict) for s in sizes) else [
            "rhods_notebook_sizes must be a list of sizes, each with name and resources "
            "(see the rhods role)."]
    resolved = dashboard.sizes_by_name(sizes) if not out else {}
    for name, legacy in sorted((values.get("custom_notebook_sizes") or {}).items()):
        if name not in resolved:
            out.append("custom_notebook_sizes.{0} is not a size the dashboard offers "
                       "(rhods_notebook_sizes: {1}): custom_notebook_sizes is deprecated; move "
                       "the size into rhods_notebook_sizes and remove custom_notebook_sizes."
                       .format(name, ", ".join(resolved) or "none"))
        elif not dashboard.same_resources(legacy, resolved[name]):
            out.append("custom_notebook_sizes.{0} is {1!r}, but rhods_notebook_sizes says "
                       "{2!r}: custom_notebook_sizes is deprecated; write the size once, in "
                       "rhods_notebook_sizes, and remove custom_notebook_sizes.".format(
                           name, legacy, resolved[name]))
    return dict(values, custom_notebook_sizes=resolved), out


def custom_notebook_problems(values):
    """The workbenches' sizes come from rhods_notebook_sizes; then the role's own checks."""
    resolved, out = _workbench_sizes(values)
    return out + (notebooks.input_problems(resolved) if resolved["custom_notebook_sizes"] else [])


def custom_notebook_derive(values):
    """custom_notebook_sizes in the fact: the sizes by name the workbenches resolve against."""
    return notebooks.derive(_workbench_sizes(values)[0])


def gitops_bootstrap_problems(values):
    """What OLM, Argo CD or git would refuse, beyond the spec; the repository settings only
    matter with gitops delivery."""
    out = []
    for name in ("gitops_bootstrap_namespace", "gitops_bootstrap_argocd_namespace",
                 "gitops_bootstrap_source_namespace"):
        out.extend(naming.dns_label_problems(values[name], name, "namespace name"))
    if values["gitops_bootstrap_delivery"] != "gitops":
        return out
    if not values["gitops_bootstrap_repo_url"]:
        out.append("rhods_gitops_repo_url is empty, but rhods_gitops_delivery is gitops, so the "
                   "components are delivered from a git repository: set it to a repository Argo CD "
                   "can reach and the playbook can push to (https://... with rhods_gitops_git_username "
                   "and rhods_gitops_git_password, or, with a local Argo CD such as the project's "
                   "local control plane, file:///path/to/repo.git, created when missing); see "
                   "docs/gitops.md.")
    path = values["gitops_bootstrap_repo_path"] or ""
    if path.startswith("/") or path.split("/")[0] == "..":
        out.append("rhods_gitops_repo_path {0!r} must be a folder inside the repository: write it "
                   "relative, without a leading / or ..".format(path))
    return out


def common_problems(values):
    """Rules of every role: each ``*_timeout`` is a number of seconds above zero, and the
    collection-wide state namespace is one the automation may write into."""
    out = ["{0} is {1}: give a number of seconds greater than 0, for example {0}: 600.".format(
        name, value) for name, value in sorted(values.items())
        if name.endswith("_timeout") and isinstance(value, int) and value <= 0]
    if "rhods_gitops_state_namespace" in values:
        out.extend(naming.namespace_problems(values["rhods_gitops_state_namespace"],
                                             "rhods_gitops_state_namespace"))
    return out


CHECKS = {
    "gitops_bootstrap": gitops_bootstrap_problems,
    "rhods": rhods_problems,
    "minio": minio_problems,
    "dsp": dsp_problems,
    "custom_notebook": custom_notebook_problems,
}

DERIVED = {
    "custom_notebook": custom_notebook_derive,
}

RAW_CHECKS = {
    "rhods": dashboard.raw_problems,
}


def raw_problems(role, values):
    """The problems of a role's values as given, before the validator converts them."""
    check = RAW_CHECKS.get(role)
    return check(values) if check else []


def problems(role, values):
    """The problems a spec cannot express of a role's normalized values."""
    check = CHECKS.get(role)
    return common_problems(values) + (check(values) if check else [])


def derive(role, values):
    """The values with the defaults that depend on other fields filled in."""
    fill = DERIVED.get(role)
    return fill(values) if fill else values
