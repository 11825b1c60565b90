"""OLM decisions: which InstallPlan to approve, when a Subscription is settled or failed."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.olm import (
    choose_operator_group,
    csv_failure,
    owned_crds,
    plan_decision,
    plan_failure,
    subscription_definition,
    subscription_failure,
    subscription_step,
)

NS = "redhat-ods-operator"


def subscription(state=None, installed=None, current=None, plan=None, conditions=()):
    status = {"conditions": list(conditions)}
    for key, value in (("state", state), ("installedCSV", installed), ("currentCSV", current)):
        if value:
            status[key] = value
    if plan:
        status["installPlanRef"] = {"name": plan, "namespace": NS, "kind": "InstallPlan"}
    return {"kind": "Subscription", "metadata": {"name": "rhods-operator", "namespace": NS},
            "status": status}


def plan(name, csvs, approved=False, namespace=NS, phase="RequiresApproval"):
    return {"kind": "InstallPlan", "metadata": {"name": name, "namespace": namespace},
            "spec": {"approved": approved, "clusterServiceVersionNames": list(csvs)},
            "status": {"phase": phase}}


# plan_decision: approve only the referenced plan, only with the wanted CSV

def test_approves_the_referenced_plan_that_installs_the_wanted_csv():
    sub = subscription(current="rhods-operator.2.25.0", plan="install-abc")
    decision = plan_decision(sub, [plan("install-abc", ["rhods-operator.2.25.0"])],
                             "rhods-operator.2.25.0")
    assert decision.plan["metadata"]["name"] == "install-abc"


def test_never_approves_another_plan_even_if_it_has_the_wanted_csv():
    sub = subscription(current="rhods-operator.2.25.0", plan="install-abc")
    plans = [plan("install-old", ["rhods-operator.2.25.0"]),
             plan("install-abc", ["other-operator.v1"]),
             plan("install-xyz", ["rhods-operator.2.25.0"])]
    decision = plan_decision(sub, plans, "rhods-operator.2.25.0")
    assert decision.plan is None
    assert decision.reason == ("InstallPlan install-abc installs other-operator.v1, not the "
                               "wanted CSV rhods-operator.2.25.0")


def test_a_plan_with_the_same_name_in_another_namespace_is_not_the_referenced_one():
    sub = subscription(current="a.v1", plan="install-abc")
    decision = plan_decision(sub, [plan("install-abc", ["a.v1"], namespace="elsewhere")], "a.v1")
    assert decision.plan is None and "was not found" in decision.reason


def test_no_reference_means_nothing_to_approve():
    decision = plan_decision(subscription(), [plan("install-abc", ["a.v1"])], "a.v1")
    assert decision.plan is None
    assert decision.reason == "the Subscription references no InstallPlan yet"


def test_an_approved_plan_is_not_approved_again():
    sub = subscription(current="a.v1", plan="install-abc")
    decision = plan_decision(sub, [plan("install-abc", ["a.v1"], approved=True)], "a.v1")
    assert decision.plan is None and "already approved" in decision.reason


def test_without_a_wanted_csv_nothing_is_approved():
    sub = subscription(plan="install-abc")
    assert plan_decision(sub, [plan("install-abc", ["a.v1"])], None).plan is None


def test_plan_with_several_csvs_containing_the_wanted_one_is_approved():
    sub = subscription(current="b.v2", plan="install-abc")
    decision = plan_decision(sub, [plan("install-abc", ["a.v1", "b.v2"])], "b.v2")
    assert decision.plan is not None


# subscription_step

def test_automatic_is_settled_at_latest_known():
    sub = subscription(state="AtLatestKnown", installed="a.v2", current="a.v2")
    assert subscription_step(sub, "Automatic").action == "settled"


def test_automatic_upgrading_is_not_settled():
    sub = subscription(state="UpgradePending", installed="a.v1", current="a.v2", plan="p2")
    step = subscription_step(sub, "Automatic")
    assert step.action == "plan"
    assert subscription_step(sub, "Automatic", handled={"p2"}).action == "wait"


def test_manual_with_starting_csv_installed_is_settled_despite_a_pending_upgrade():
    sub = subscription(state="UpgradePending", installed="a.v1", current="a.v2", plan="p2")
    step = subscription_step(sub, "Manual", starting_csv="a.v1")
    assert step.action == "settled"
    assert "an upgrade waits for approval" in step.reason


def test_manual_without_starting_csv_follows_the_current_csv():
    sub = subscription(state="UpgradePending", installed="a.v1", current="a.v2", plan="p2")
    assert subscription_step(sub, "Manual").action == "plan"


def test_nothing_yet():
    assert subscription_step(None, "Automatic") == ("wait", "does not exist yet")
    step = subscription_step(subscription(), "Automatic")
    assert step.action == "wait" and "state not set" in step.reason


# failures

RESOLUTION_FAILED = {"type": "ResolutionFailed", "status": "True", "reason": "ConstraintsNotSatisfiable",
                     "message": "no operators found in channel nope of package rhods-operator",
                     "lastTransitionTime": "2025-06-01T10:00:05Z"}


def test_resolution_failed_is_a_failure_with_what_to_do():
    failed, reason = subscription_failure()(subscription(conditions=[RESOLUTION_FAILED]))
    assert failed
    assert "ResolutionFailed=True (ConstraintsNotSatisfiable: no operators found in channel nope" in reason
    assert "Check package, channel, source and source_namespace" in reason


def test_a_csv_olm_did_not_bind_is_named_with_the_repair():
    """An API outage between OLM's creating the CSV and its recording it in the Subscription
    leaves them unbound for good (seen in tests/integration/test_api_outage.py)."""
    message = ("constraints not satisfiable: @existing/ops//example-operator.v0.1.0 and "
               "redhat-operators/openshift-marketplace/stable/example-operator.v0.1.0 originate "
               "from package example-operator, clusterserviceversion example-operator.v0.1.0 "
               "exists and is not referenced by a subscription, subscription example-operator "
               "exists")
    sub = subscription(conditions=[dict(RESOLUTION_FAILED, message=message)])
    sub["metadata"] = {"name": "example-operator", "namespace": "ops"}
    failed, reason = subscription_failure()(sub)
    assert failed
    assert "ClusterServiceVersion example-operator.v0.1.0 exists but OLM did not record it" in reason
    assert "oc delete csv example-operator.v0.1.0 -n ops" in reason
    assert "Check package, channel" not in reason


def test_a_resolution_failure_about_another_channel_is_stale():
    """The real OLM writes the old failure again, with a new timestamp, after a channel fix."""
    sub = subscription(conditions=[RESOLUTION_FAILED])
    sub["spec"] = {"channel": "stable"}
    assert subscription_failure("2025-06-01T10:00:00Z")(sub) == (False, "")
    sub["spec"] = {"channel": "nope"}
    assert subscription_failure("2025-06-01T10:00:00Z")(sub)[0]


def test_a_failure_older_than_our_change_of_the_spec_is_ignored():
    sub = subscription(conditions=[RESOLUTION_FAILED])
    assert not subscription_failure(applied_at="2025-06-01T10:00:06Z")(sub)[0]
    assert subscription_failure(applied_at="2025-06-01T10:00:05Z")(sub)[0]


def test_resolution_failed_false_is_fine():
    ok = dict(RESOLUTION_FAILED, status="False")
    assert subscription_failure()(subscription(conditions=[ok])) == (False, "")


def test_install_plan_failed_condition():
    cond = {"type": "InstallPlanFailed", "status": "True", "reason": "InstallComponentFailed",
            "message": "bundle unpack timeout"}
    failed, reason = subscription_failure()(subscription(plan="install-abc", conditions=[cond]))
    assert failed and "its InstallPlan install-abc failed" in reason
    assert "bundle unpack timeout" in reason


def test_install_plan_phase_failed():
    failed_plan = plan("install-abc", ["a.v1"], phase="Failed")
    failed_plan["status"]["conditions"] = [{"type": "Installed", "status": "False",
                                            "reason": "InstallComponentFailed",
                                            "message": "deployment a failed"}]
    failed, reason = plan_failure()(failed_plan)
    assert failed
    assert reason.startswith("failed: phase Failed (Installed=False (InstallComponentFailed: "
                             "deployment a failed))")
    assert "oc get installplan install-abc -n redhat-ods-operator" in reason


def test_automatic_plan_waiting_for_approval_is_blocked():
    waiting = plan("install-abc", ["a.v1"], phase="RequiresApproval")
    failed, reason = plan_failure(subscription="a")(waiting)
    assert failed and reason.startswith("is blocked: it requires manual approval")
    assert not plan_failure()(waiting)[0]  # Manual: approving is our job


def test_csv_failed():
    csv = {"metadata": {"name": "a.v1", "namespace": NS},
           "status": {"phase": "Failed", "reason": "InstallCheckFailed",
                      "message": "install timeout"}}
    failed, reason = csv_failure()(csv)
    assert failed
    assert reason.startswith("failed: phase Failed, reason InstallCheckFailed: install timeout.")
    assert not csv_failure()({"status": {"phase": "Installing"}})[0]


# operator groups and definitions

def og(name):
    return {"metadata": {"name": name, "namespace": NS}}


def test_operator_group_created_when_the_namespace_has_none():
    definition = choose_operator_group([], NS, "rhods")
    assert definition["metadata"] == {"name": "rhods", "namespace": NS}
    assert definition["spec"] == {}  # AllNamespaces mode: no targetNamespaces
    assert choose_operator_group([], NS)["metadata"]["name"] == NS


def test_existing_operator_group_is_kept():
    assert choose_operator_group([og("global-operators")], "openshift-operators") is None
    assert choose_operator_group([og("mine")], NS, "rhods") is None


def test_named_existing_operator_group_is_applied():
    definition = choose_operator_group([og("rhods")], NS, "rhods", ["a", "b"])
    assert definition["spec"] == {"targetNamespaces": ["a", "b"]}


def test_more_than_one_operator_group_fails():
    with pytest.raises(GitopsError) as info:
        choose_operator_group([og("a"), og("b")], NS)
    assert "has 2 OperatorGroups (a, b)" in info.value.msg
    assert "TooManyOperatorGroups" in info.value.msg


def test_subscription_definition():
    definition = subscription_definition(
        "rhods-operator", NS, "rhods-operator", "stable", "redhat-operators",
        "openshift-marketplace", "Manual", starting_csv="rhods-operator.2.25.0",
        config={"env": [{"name": "A", "value": "1"}]})
    assert definition["spec"] == {
        "name": "rhods-operator", "channel": "stable", "source": "redhat-operators",
        "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Manual",
        "startingCSV": "rhods-operator.2.25.0", "config": {"env": [{"name": "A", "value": "1"}]}}
    assert "channel" not in subscription_definition("a", NS, "a", None, "s", "sn", "Automatic")["spec"]


def test_owned_crds():
    csv = {"spec": {"customresourcedefinitions": {"owned": [
        {"name": "a.example.com", "version": "v1"}, {"name": "a.example.com", "version": "v2"},
        {"name": "b.example.com"}]}}}
    assert owned_crds(csv) == ["a.example.com", "b.example.com"]
    assert owned_crds({}) == []
