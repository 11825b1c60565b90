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

import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError

from ansible_collections.rhods.gitops.plugins.module_utils import dsp, naming, notebooks

_URL = re.compile(r"^https?://")
_STORAGE = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")


def _level(options):
    """The options of one level, without their suboptions (checked one item at a time)."""
    return {name: {key: value for key, value in spec.items() if key != "options"}
            for name, spec in options.items()}


def _message(error):
    if isinstance(error, UnsupportedError):
        return "unknown key(s) {0}".format(error.msg)
    return error.msg


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
    numbers = _numbers_for_strings(options, values, where)
    result = ArgumentSpecValidator(_level(options)).validate(values)
    secrets.update(result._no_log_values)  # pylint: disable=protected-access
    prefix = where + ": " if where else ""
    out = result.validated_parameters
    problems = numbers + [prefix + _message(error) for error in result.errors.errors]
    for name, spec in options.items():
        sub, value = spec.get("options"), out.get(name)
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
    out = naming.dns_label_problems(values["minio_namespace"], "minio_namespace", "namespace name")
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
    out.extend(naming.dns_label_problems(values["dsp_minio_namespace"], "dsp_minio_namespace",
                                         "namespace name"))
    return out + _url_problems(values, ["dsp_minio_endpoint", "dsp_minio_verify_endpoint"])


CHECKS = {
    "minio": minio_problems,
    "dsp": dsp_problems,
    "custom_notebook": notebooks.input_problems,
}

DERIVED = {
    "custom_notebook": notebooks.derive,
}


def problems(role, values):
    """The problems a spec cannot express of a role's normalized values."""
    check = CHECKS.get(role)
    return check(values) if check else []


def derive(role, values):
    """The values with the defaults that depend on other fields filled in."""
    fill = DERIVED.get(role)
    return fill(values) if fill else values
