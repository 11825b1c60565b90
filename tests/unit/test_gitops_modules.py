"""The GitOps delivery modules (render_tree, argocd_application): documentation that matches
the argument specs, and argument validation."""

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from test_modules import compare, documented_options, module  # same directory

GITOPS_MODULES = ["render_tree", "argocd_application"]


@pytest.mark.parametrize("name", GITOPS_MODULES)
def test_documentation_matches_the_argument_spec(name):
    mod = module(name)
    assert compare(mod.argument_spec(), documented_options(mod)) == []
    for section in ("EXAMPLES", "RETURN"):
        assert yaml.safe_load(getattr(mod, section))


def validate(name, params):
    result = ArgumentSpecValidator(module(name).argument_spec()).validate(params)
    return result, [str(e) for e in result.errors]


def test_defaults_of_argocd_application():
    result, errors = validate("argocd_application", {"name": "a", "repo_url": "file:///r.git"})
    assert errors == []
    params = result.validated_parameters
    assert params["namespace"] == "openshift-gitops" and params["wait"] is True
    assert params["sync_policy"] == {"automated": {"prune": True, "selfHeal": True}}
    assert params["finalizer"] is False and params["cascade"] is False


def test_the_git_password_is_no_log():
    spec = module("render_tree").argument_spec()
    assert spec["git"]["options"]["password"]["no_log"] is True


@pytest.mark.parametrize("name, params, message", [
    ("render_tree", {"component": "x", "manifests": []}, "missing required arguments: dest"),
    ("render_tree", {"component": "x", "manifests": [], "dest": "/t", "git": {}},
     "missing required arguments: url"),
    ("argocd_application", {}, "missing required arguments: name"),
    ("argocd_application", {"name": "a", "state": "synced"}, "value of state must be one of"),
])
def test_invalid_parameters_are_refused(name, params, message):
    errors = validate(name, params)[1]
    assert any(message in e for e in errors), errors
