"""Modules: argument validation, and documentation that matches the argument specs, for every
module in plugins/modules (discovered, not listed)."""

import ast
import importlib
import os
import re
import subprocess
import sys
import types

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.rhods.gitops.plugins.module_utils.args import GROUPS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES_DIR = os.path.join(ROOT, "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR)
                 if name.endswith(".py") and not name.startswith("_"))


def source(name):
    with open(os.path.join(MODULES_DIR, name + ".py"), encoding="utf-8") as handle:
        return handle.read()


def action_only(name):
    """A module file that only documents an action plugin of the same name (no code runs on
    the target): its argument spec is the action plugin's ``argument_spec()``."""
    return not re.search(r"^def main\(", source(name), re.M)


def module(name):
    mod = importlib.import_module("ansible_collections.rhods.gitops.plugins.modules." + name)
    if not action_only(name):
        return mod
    action = importlib.import_module("ansible_collections.rhods.gitops.plugins.action." + name)
    return types.SimpleNamespace(DOCUMENTATION=mod.DOCUMENTATION, EXAMPLES=mod.EXAMPLES,
                                 RETURN=mod.RETURN, argument_spec=action.argument_spec,
                                 RULES=getattr(action, "RULES", {}))


def fragment_documentation(name):
    """The DOCUMENTATION of a doc fragment named ``ns.collection.name`` (or ansible.builtin.*)."""
    namespace, collection, fragment = name.split(".")
    if (namespace, collection) == ("ansible", "builtin"):
        path = "ansible.plugins.doc_fragments." + fragment
    else:
        path = "ansible_collections.{0}.{1}.plugins.doc_fragments.{2}".format(
            namespace, collection, fragment)
    return yaml.safe_load(importlib.import_module(path).ModuleDocFragment.DOCUMENTATION) or {}


def documented_options(mod):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        options.update(fragment_documentation(fragment).get("options") or {})
    return options


def compare(spec, docs, path=""):
    """Differences between an argument spec and its documentation (names, types, defaults,
    choices, required, aliases, suboptions)."""
    problems = []
    for name in sorted(set(spec) | set(docs)):
        where = path + name
        if name not in docs:
            problems.append("{0}: in the argument spec, not documented".format(where))
            continue
        if name not in spec:
            problems.append("{0}: documented, not in the argument spec".format(where))
            continue
        arg, doc = spec[name], docs[name]
        for key, fallback in (("type", "str"), ("default", None), ("choices", None),
                              ("required", False), ("elements", None)):
            if arg.get(key, fallback) != doc.get(key, fallback):
                problems.append("{0}: {1} is {2!r} in the spec, {3!r} in the docs".format(
                    where, key, arg.get(key, fallback), doc.get(key, fallback)))
        if sorted(arg.get("aliases") or []) != sorted(doc.get("aliases") or []):
            problems.append("{0}: aliases differ".format(where))
        if arg.get("options") or doc.get("suboptions"):
            problems.extend(compare(arg.get("options") or {}, doc.get("suboptions") or {},
                                    where + "."))
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_argument_spec(name):
    mod = module(name)
    assert compare(mod.argument_spec(), documented_options(mod)) == []
    for section in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(mod, section))


@pytest.mark.parametrize("group", GROUPS, ids=lambda group: group.fragment)
def test_each_option_group_matches_its_doc_fragment(group):
    assert compare(group.spec, fragment_documentation(group.fragment).get("options") or {}) == []


@pytest.mark.parametrize("name", MODULES)
def test_a_module_extends_the_fragment_of_each_option_group_it_takes(name):
    mod = module(name)
    spec = mod.argument_spec()
    fragments = yaml.safe_load(mod.DOCUMENTATION).get("extends_documentation_fragment") or []
    for group in GROUPS:
        # the cluster group's options are kubernetes.core's connection options
        takes = set(group.spec) <= set(spec) if group.spec else "kubeconfig" in spec
        assert takes == (group.fragment in fragments), group.fragment


def mentions(description, text):
    if isinstance(description, list):
        description = " ".join(description)
    return text in (description or "")


def rule_problems(rules, spec, docs):
    """Cross-option rules (AnsibleModule's required_if, mutually_exclusive, required_together,
    required_by) that name an unknown option or that the documentation does not state: the
    options they constrain must say so in their description, with O(...) markup."""
    problems = []
    for key, value, required, *_any in rules.get("required_if", []):
        for option in [key] + list(required):
            if option not in spec:
                problems.append("required_if names unknown option {0}".format(option))
        for option in required:
            expected = "O({0}={1})".format(key, value)
            if option in docs and not mentions(docs[option].get("description"), expected):
                problems.append("{0}: the description does not say it is required with {1}"
                                .format(option, expected))
    for kind in ("mutually_exclusive", "required_together"):
        for group in rules.get(kind, []):
            for option in group:
                if option not in spec:
                    problems.append("{0} names unknown option {1}".format(kind, option))
                    continue
                for other in set(group) - {option}:
                    if not mentions(docs.get(option, {}).get("description"), "O({0})".format(other)):
                        problems.append("{0}: the description does not name O({1}) ({2})".format(
                            option, other, kind))
    for option, needed in rules.get("required_by", {}).items():
        for other in [needed] if isinstance(needed, str) else needed:
            if not mentions(docs.get(option, {}).get("description"), "O({0})".format(other)):
                problems.append("{0}: the description does not name O({1}) (required_by)".format(
                    option, other))
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_cross_option_rules_are_documented(name):
    mod = module(name)
    rules = getattr(mod, "RULES", {})
    assert set(rules) <= {"required_if", "mutually_exclusive", "required_together",
                          "required_by", "required_one_of"}
    assert rule_problems(rules, mod.argument_spec(), documented_options(mod)) == []


def test_a_rule_the_documentation_does_not_state_is_found():
    spec = {"state": {}, "api_key": {}, "a": {}, "b": {}}
    docs = {"api_key": {"description": "The token."}, "a": {"description": "A, not with O(b)."},
            "b": {"description": "B."}}
    problems = rule_problems({"required_if": [("state", "absent", ["api_key"])],
                              "mutually_exclusive": [["a", "b"]]}, spec, docs)
    assert problems == ["api_key: the description does not say it is required with "
                        "O(state=absent)",
                        "b: the description does not name O(a) (mutually_exclusive)"]


@pytest.mark.parametrize("name", MODULES)
def test_the_module_exits_through_the_runner(name):
    """One way to exit: run_module (redacted failures, no traceback), with the module's RULES.
    A module that only documents its action plugin holds no code, and the plugin checks its
    arguments against ``argument_spec()``, the spec the documentation is compared with."""
    text = source(name)
    if action_only(name):
        tree = ast.parse(text)
        assert all(isinstance(node, ast.Assign) for node in tree.body), "documentation only"
        with open(os.path.join(ROOT, "plugins", "action", name + ".py"), encoding="utf-8") as handle:
            plugin = handle.read()
        assert "ArgumentSpecValidator(" in plugin and "argument_spec" in plugin
        return
    calls = [node.func for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Call)]
    names = {getattr(func, "attr", None) or getattr(func, "id", None) for func in calls}
    assert "run_module" in names
    assert not names & {"fail_json", "exit_json", "AnsibleModule", "AnsibleK8SModule"}
    if re.search(r"^RULES = ", text, re.M):
        assert "**RULES" in text


def validate(name, params):
    """The module's argument spec and cross-option rules applied to ``params``."""
    mod = module(name)
    validator = ArgumentSpecValidator(mod.argument_spec(), **getattr(mod, "RULES", {}))
    result = validator.validate(params)
    return result, [str(e) for e in result.errors]


def test_valid_parameters_get_their_defaults():
    result, errors = validate("olm_operator", {"package": "rhods-operator",
                                               "namespace": "redhat-ods-operator"})
    assert errors == []
    params = result.validated_parameters
    assert params["approval"] == "Automatic" and params["wait"] is True
    assert params["wait_timeout"] == 600 and params["progress_interval"] == 30
    assert params["source"] == "redhat-operators"


@pytest.mark.parametrize("name, params, message", [
    ("olm_operator", {"package": "p", "namespace": "n", "approval": "manual"},
     "value of approval must be one of: Automatic, Manual"),
    ("olm_operator", {"package": "p"}, "missing required arguments: namespace"),
    ("datasciencecluster", {"api_version": "v3"}, "value of api_version must be one of"),
    ("datasciencecluster", {"existing": "replace"}, "value of existing must be one of"),
    ("k8s_wait", {"name": "x"}, "one of the following is required: kind, objects"),
    ("k8s_wait", {"kind": "Notebook", "objects": [{"namespace": "a"}]},
     "missing required arguments: name found in objects"),
    ("k8s_wait", {"name": "x", "objects": [{"name": "x"}]},
     "parameters are mutually exclusive: objects|name"),
    ("k8s_wait", {"kind": "Pod", "wait_timeout": "soon"}, "wait_timeout"),
    ("apply", {}, "missing required arguments: definitions"),
    ("apply", {"definitions": [], "state": "patched"}, "value of state must be one of"),
    ("image_build", {"namespace": "n", "name": "b", "as_file": "context.tar.gz"},
     "missing parameter(s) required by 'as_file': source_dir"),
    ("openshift_login", {"host": "https://api.example.com:6443", "state": "absent"},
     "state is absent but all of the following are missing: api_key"),
])
def test_invalid_parameters_are_refused(name, params, message):
    errors = validate(name, params)[1]
    assert any(message in e for e in errors), errors


def test_wait_round_needs_its_length():
    errors = validate("k8s_wait", {"kind": "Pod", "wait_round": {"spent": 1.0}})[1]
    assert any("seconds" in e for e in errors)


def test_the_action_group_is_every_module_with_cluster_connection_options():
    """module_defaults of group/rhods.gitops.rhods pass kubernetes.core's connection options,
    so the group holds exactly the modules that accept them."""
    root = ROOT
    with open(os.path.join(root, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    group = runtime["action_groups"]["rhods"]
    assert {"metadata": {"extend_group": ["kubernetes.core.k8s"]}} in group
    connecting = []
    for name in sorted(os.listdir(os.path.join(root, "plugins", "modules"))):
        if name.endswith(".py") and not name.startswith("_"):
            doc = yaml.safe_load(module(name[:-3]).DOCUMENTATION)
            if "kubernetes.core.k8s_auth_options" in doc.get("extends_documentation_fragment", []):
                connecting.append(name[:-3])
    assert sorted(m for m in group if isinstance(m, str)) == connecting
    assert "openshift_login" not in connecting


def collections_root():
    """The directory that holds ansible_collections/rhods/gitops (made by conftest.py)."""
    marker = os.sep + "ansible_collections" + os.sep
    return module("apply").__file__.rsplit(marker, 1)[0]


@pytest.mark.parametrize("name", MODULES)
def test_ansible_doc_renders(name):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_root(), ANSIBLE_NOCOLOR="1")
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    res = subprocess.run([ansible_doc, "rhods.gitops." + name], env=env, capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "WARNING" not in res.stderr and "ERROR" not in res.stderr, res.stderr
    assert "EXAMPLES" in res.stdout and "RETURN VALUES" in res.stdout
