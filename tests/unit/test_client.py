"""API errors become messages that name the request, the object and what to do."""

import json

from ansible_collections.rhods.gitops.plugins.module_utils.client import api_error
from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef


class FakeApiException(Exception):
    def __init__(self, status, reason, body):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.body = json.dumps(body)


REF = ObjectRef("operators.coreos.com/v1alpha1", "InstallPlan", "install-abc", "ns")


def test_forbidden_names_the_verb_the_kind_and_the_rbac_file():
    exc = FakeApiException(403, "Forbidden", {
        "reason": "Forbidden", "message": 'installplans.operators.coreos.com "install-abc" is '
        'forbidden: User "automation" cannot patch resource "installplans"'})
    error = api_error(exc, "patch", REF)
    assert error.status == 403
    assert error.msg.startswith("patch InstallPlan ns/install-abc was refused: HTTP 403 Forbidden")
    assert "may not patch InstallPlan" in error.msg
    assert "docs/rbac/automation-clusterrole.yml" in error.msg


def test_apply_conflict_suggests_force_conflicts():
    exc = FakeApiException(409, "Conflict", {"reason": "Conflict", "message": "Apply failed with "
                           "1 conflict: conflict with \"kubectl\": .spec.channel"})
    error = api_error(exc, "apply", REF)
    assert ".spec.channel" in error.msg and "force_conflicts: true" in error.msg


def test_invalid_lists_the_fields():
    exc = FakeApiException(422, "Unprocessable Entity", {
        "reason": "Invalid", "message": "Subscription.operators.coreos.com is invalid",
        "details": {"causes": [{"field": "spec.installPlanApproval",
                                "message": "Unsupported value: \"manual\""}]}})
    error = api_error(exc, "apply", REF)
    assert "spec.installPlanApproval (Unsupported value: \"manual\")" in error.msg
    assert error.details["causes"][0]["field"] == "spec.installPlanApproval"


def test_collections_are_described_without_a_name():
    exc = FakeApiException(500, "Internal Server Error", {"message": "etcd timeout"})
    error = api_error(exc, "list", ObjectRef("v1", "ConfigMap", None, "ns"))
    assert error.msg == ("list ConfigMap (v1) in namespace ns was refused: HTTP 500 Internal "
                         "Server Error: etcd timeout")
