# SPDX-License-Identifier: Apache-2.0
"""Action plugin of rhods.gitops.role_input: check a role's variables against its
``meta/argument_specs.yml`` and the checks a spec cannot express, fill in every default of the
spec (nested ones included), and publish the result as one fact, ``<role>_input``.

Runs on the controller only (no module is sent anywhere); the pure work is in
``plugins/module_utils/role_input.py``."""

import os

import yaml

from ansible.errors import AnsibleActionFail
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.rhods.gitops.plugins.module_utils import role_input

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def spec_options(role, entry_point):
    """The options of a role's entry point, from the collection's roles/<role>/meta/argument_specs.yml."""
    path = os.path.join(COLLECTION, "roles", role, "meta", "argument_specs.yml")
    if not os.path.isfile(path):
        raise AnsibleActionFail("role {0!r} of rhods.gitops has no {1}".format(role, path))
    with open(path, encoding="utf-8") as handle:
        specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
    if entry_point not in specs:
        raise AnsibleActionFail("role {0} has no entry point {1!r} in {2}".format(role, entry_point, path))
    return specs[entry_point].get("options") or {}


def owner_default(role, name):
    """The default of ``name`` in the spec of the role whose prefix it carries (``rhods_`` ->
    rhods), when that is another role of the collection; else None."""
    for owner in sorted(role_input.CHECKS, key=len, reverse=True):
        if owner != role and name.startswith(owner + "_"):
            spec = spec_options(owner, "main").get(name) or {}
            return spec.get("default")
    return None


def argument_spec():
    """What plugins/modules/role_input.py documents."""
    return {"role": {"type": "str", "required": True},
            "entry_point": {"type": "str", "default": "main"}}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("role", "entry_point"))

    def _values(self, role, options, task_vars):
        """Each option's value as the play sees it; the spec's default when it is not defined,
        or, for a variable of another role (``rhods_notebook_sizes`` in custom_notebook's spec,
        declared there without a default), that role's default: written once, in its spec."""
        raw = {}
        for name, spec in options.items():
            if name in task_vars:
                raw[name] = task_vars[name]
            elif spec.get("default") is not None:
                raw[name] = spec["default"]
            else:
                owner = owner_default(role, name)
                if owner is not None:
                    raw[name] = owner
        return self._templar.template(raw)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        checked = ArgumentSpecValidator(argument_spec()).validate(dict(self._task.args))
        if checked.error_messages:
            raise AnsibleActionFail("rhods.gitops.role_input: {0} (role: the name of a role of "
                                    "rhods.gitops)".format("; ".join(checked.error_messages)))
        role = checked.validated_parameters["role"]
        entry_point = checked.validated_parameters["entry_point"]
        options = spec_options(role, entry_point)
        raw = self._values(role, options, task_vars)
        values, problems, secrets = role_input.normalize(options, raw)
        problems = role_input.raw_problems(role, raw) + problems
        if not problems:
            problems = role_input.problems(role, values)
        if problems:
            result.update(failed=True, problems=problems, msg="Fix these {0} variables, nothing was changed: {1}".format(
                role, " ".join(p if p.endswith(".") else p + "." for p in problems)))
            return result
        result["ansible_facts"] = {role + "_input": role_input.derive(role, values)}
        # The fact may carry credentials (no_log options of the spec): hide it from the output.
        if secrets and boolean(self._templar.template(task_vars.get("rhods_gitops_no_log", True)), strict=False):
            result["_ansible_no_log"] = True
        return result
