"""Modules: argument validation, and documentation that matches the argument specs."""

import importlib
import os
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MODULES = ["apply", "k8s_wait", "olm_operator", "datasciencecluster", "openshift_login"]
FRAGMENTS = {
    "kubernetes.core.k8s_auth_options":
        "ansible_collections.kubernetes.core.plugins.doc_fragments.k8s_auth_options",
    "rhods.gitops.wait": "ansible_collections.rhods.gitops.plugins.doc_fragments.wait",
    "rhods.gitops.apply": "ansible_collections.rhods.gitops.plugins.doc_fragments.apply",
}


def module(name):
    return importlib.import_module("ansible_collections.rhods.gitops.plugins.modules." + name)


def documented_options(mod):
    doc = yaml.safe_load(mod.DOCUMENTATION)
    options = dict(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment") or []:
        if fragment in FRAGMENTS:
            text = importlib.import_module(FRAGMENTS[fragment]).ModuleDocFragment.DOCUMENTATION
            options.update(yaml.safe_load(text).get("options") or {})
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


def validate(name, params):
    result = ArgumentSpecValidator(module(name).argument_spec()).validate(params)
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
    ("k8s_wait", {"name": "x"}, "missing required arguments: kind"),
    ("k8s_wait", {"kind": "Pod", "wait_timeout": "soon"}, "wait_timeout"),
    ("apply", {}, "missing required arguments: definitions"),
    ("apply", {"definitions": [], "state": "patched"}, "value of state must be one of"),
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
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
