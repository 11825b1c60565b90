"""The GitOps delivery modules (render_tree, argocd_application): argument validation. (Their
documentation is checked against their argument specs with every module's, in test_modules.)"""

import pytest

from test_modules import module, validate  # same directory


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
    ("argocd_application", {"name": "a"}, "state is present but all of the following are missing: "
                                          "repo_url"),
])
def test_invalid_parameters_are_refused(name, params, message):
    errors = validate(name, params)[1]
    assert any(message in e for e in errors), errors
