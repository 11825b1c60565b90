"""Predicates are pure: (ok, reason) from an object, and clear JMESPath errors."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    all_of,
    compile_jmespath,
    condition_is,
    condition_true,
    exists,
    jmespath_true,
    phase_is,
    readiness,
)

ARGOCD = {"kind": "ArgoCD", "metadata": {"name": "openshift-gitops"},
          "status": {"phase": "Available",
                     "conditions": [{"type": "Reconciled", "status": "True", "reason": "Success"},
                                    {"type": "Ready", "status": "False", "reason": "Pending",
                                     "message": "server not ready"}]}}


def test_phase_is():
    assert phase_is("Available")(ARGOCD) == (True, "phase is Available")
    ok, reason = phase_is("Succeeded", "Complete")(ARGOCD)
    assert not ok and reason == "phase is Available, not Succeeded or Complete"
    assert phase_is("Available")(None) == (False, "does not exist yet")
    assert phase_is("Available").description == "status.phase is Available"


def test_phase_is_shows_the_objects_message():
    ok, reason = phase_is("Succeeded")({"status": {"phase": "Failed", "message": "no space"}})
    assert not ok and reason == "phase is Failed, not Succeeded (no space)"


def test_condition_true_and_condition_is():
    assert condition_true("Reconciled")(ARGOCD) == (True, "Reconciled=True (Success)")
    ok, reason = condition_true("Ready")(ARGOCD)
    assert not ok and reason == "Ready=False (Pending: server not ready)"
    ok, reason = condition_true("Missing")(ARGOCD)
    assert not ok and reason == "condition Missing not reported yet"
    assert condition_is("Ready", "False", reason="Pending")(ARGOCD)[0]
    assert not condition_is("Ready", "False", reason="Other")(ARGOCD)[0]
    assert condition_true("ready", ignore_case=True)(ARGOCD)[0] is False


def test_exists_and_absent():
    assert exists()(ARGOCD)[0] and not exists()(None)[0]
    assert absent()(None) == (True, "is gone")
    deleting = {"metadata": {"deletionTimestamp": "2025-01-01T00:00:00Z"}}
    assert absent()(deleting) == (False, "is being deleted since 2025-01-01T00:00:00Z")


def test_all_of_reports_the_first_unmet_predicate():
    check = all_of(phase_is("Available"), condition_true("Ready"))
    assert check(ARGOCD) == (False, "Ready=False (Pending: server not ready)")
    assert check.description == "status.phase is Available and condition Ready=True"


@pytest.mark.parametrize("expression, expected", [
    ("status.phase == 'Available'", True),
    ("status.phase == 'Succeeded'", False),
    ("status.conditions[?type=='Reconciled'].status | [0] == 'True'", True),
    ("status.missing", False),
    ("status.conditions[?status=='Unknown']", False),  # empty list is false
    ("length(status.conditions) > `1`", True),
])
def test_jmespath_truthiness(expression, expected):
    assert jmespath_true(expression)(ARGOCD)[0] is expected


def test_jmespath_reason_shows_the_value():
    assert jmespath_true("status.phase")(ARGOCD) == (True, "`status.phase` is Available")
    assert jmespath_true("status.x == 'y'")(ARGOCD) == (False, "`status.x == 'y'` is false")


def test_jmespath_evaluation_error_means_not_ready_yet():
    ok, reason = jmespath_true("length(status.tags) > `0`")({"status": {}})
    assert not ok and "could not be evaluated yet" in reason


@pytest.mark.parametrize("expression, column", [
    ("status.phase == Succeeded'", 25),   # unclosed quote
    ("status.phase ==", 15),              # incomplete
    ("status..phase", 7),                 # unexpected token
])
def test_jmespath_syntax_error_names_option_and_position(expression, column):
    with pytest.raises(GitopsError) as info:
        compile_jmespath(expression, option="wait_condition")
    message = info.value.msg
    assert message.startswith("wait_condition is not a valid JMESPath expression")
    assert "at column {0}".format(column) in message
    assert expression in message
    assert "\n  " + " " * column + "^" in message
    assert "status.phase == 'Succeeded'" in message  # an example of the right form


def test_jmespath_empty_expression():
    with pytest.raises(GitopsError, match="must be a non-empty JMESPath expression"):
        compile_jmespath("  ")


def test_kind_readiness():
    deployment = {"metadata": {"generation": 2}, "spec": {"replicas": 2},
                  "status": {"observedGeneration": 2, "availableReplicas": 2,
                             "updatedReplicas": 2}}
    assert readiness("apps/v1", "Deployment")(deployment)[0]
    stale = dict(deployment, status=dict(deployment["status"], observedGeneration=1))
    assert readiness("apps/v1", "Deployment")(stale) == (
        False, "the controller has not observed the latest spec yet")
    crd = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert readiness("apiextensions.k8s.io/v1", "CustomResourceDefinition")(crd)[0]
    assert readiness("example.com/v1", "Unknown")({"metadata": {}})[0]  # exists
    route = {"status": {"ingress": [{"host": "a.b", "conditions": [
        {"type": "Admitted", "status": "True"}]}]}}
    assert readiness("route.openshift.io/v1", "Route")(route)[0]
