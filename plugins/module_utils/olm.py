# SPDX-License-Identifier: Apache-2.0
"""Operator installs through OLM: OperatorGroup, Subscription, the referenced
InstallPlan, the ClusterServiceVersion and its CRDs.

The decisions are pure functions of observed objects (``subscription_step``,
``plan_decision``, ``subscription_failure``, ``choose_operator_group``), so
they are unit tested without a cluster; ``olm_install.OperatorInstall`` drives
them with the waiter.
"""

import re
from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import OPERATOR_GROUP, SUBSCRIPTION
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    describe_condition,
    dig,
    find_condition,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import SEES_MISSING, predicate

AUTOMATIC = "Automatic"
MANUAL = "Manual"

Step = namedtuple("Step", "action reason")
PlanDecision = namedtuple("PlanDecision", "plan reason")


# Definitions

def subscription_definition(name, namespace, package, channel, source, source_namespace,
                            approval, starting_csv=None, config=None):
    spec = {"name": package, "source": source, "sourceNamespace": source_namespace,
            "installPlanApproval": approval}
    if channel:
        spec["channel"] = channel
    if starting_csv:
        spec["startingCSV"] = starting_csv
    if config:
        spec["config"] = config
    return SUBSCRIPTION.definition(name, namespace, spec=spec)


def operator_group_definition(name, namespace, target_namespaces=None):
    spec = {"targetNamespaces": list(target_namespaces)} if target_namespaces else {}
    return OPERATOR_GROUP.definition(name, namespace, spec=spec)


def choose_operator_group(existing, namespace, name=None, target_namespaces=None):
    """The OperatorGroup definition to apply, or None when an existing one serves.

    A namespace needs exactly one OperatorGroup. None yet: create ``name``
    (default: the namespace's name; no targetNamespaces = AllNamespaces mode).
    One: keep it (``openshift-operators`` has ``global-operators``), unless it
    is the named one, which is then applied as asked. More: OLM refuses to
    install anything there (TooManyOperatorGroups), so fail.
    """
    names = sorted(dig(og, "metadata.name") for og in existing)
    if len(names) > 1:
        raise GitopsError(
            "Namespace {0} has {1} OperatorGroups ({2}); OLM installs nothing in a namespace "
            "with more than one (TooManyOperatorGroups). Delete all but one.".format(
                namespace, len(names), ", ".join(names)), operator_groups=names)
    if names and names[0] != name:
        return None
    return operator_group_definition(name or namespace, namespace, target_namespaces)


# Decisions on observed state

def _condition_is_true(obj, ctype):
    cond = find_condition(obj, ctype)
    return cond if cond is not None and cond.get("status") == "True" else None


def is_stale(timestamp, applied_at):
    """A status older than our last change of the spec says nothing about it."""
    return bool(applied_at and timestamp and timestamp < applied_at)


_CHANNEL_IN_MESSAGE = re.compile(r"\bin channel (\S+?)[\s,.;:)]")


def _about_another_channel(cond, sub):
    """Whether a resolution message is about a channel the Subscription no longer asks for.

    OLM v0 Subscriptions have no observedGeneration, and right after a spec change the catalog
    operator may write the previous failure again, with a new timestamp, from its cache; its
    message still names the old channel ("no operators found in channel nope ...")."""
    named = set(_CHANNEL_IN_MESSAGE.findall((cond.get("message") or "") + " "))
    channel = dig(sub, "spec.channel")
    return bool(named) and bool(channel) and channel not in named


_ORPHAN_CSV = re.compile(r"clusterserviceversion (\S+) exists and is not referenced by a "
                         r"subscription")


def _orphan_csv_failure(cond, csv, sub):
    """OLM made the CSV but never recorded it in the Subscription (an install interrupted, for
    example by an API server outage, or the CSV of a deleted Subscription); OLM does not repair
    that by itself (operator-framework/operator-lifecycle-manager issue 2201)."""
    return (
        "failed: OLM cannot resolve the package ({0}): ClusterServiceVersion {1} exists but OLM "
        "did not record it in the Subscription (its install was interrupted, for example by an "
        "API server outage, or it was left by a deleted Subscription), and OLM does not repair "
        "that itself. Delete it (oc delete csv {1} -n {2}) and run again: OLM installs it "
        "again for this Subscription.".format(describe_condition(cond), csv,
                                              dig(sub, "metadata.namespace")))


def subscription_failure(applied_at=None):
    """Failure check on a Subscription: resolution failed, or its InstallPlan failed."""
    @predicate("Subscription failed", SEES_MISSING)
    def check(sub):
        cond = _condition_is_true(sub, "ResolutionFailed")
        if cond and not is_stale(cond.get("lastTransitionTime"), applied_at) \
                and not _about_another_channel(cond, sub):
            orphan = _ORPHAN_CSV.search(cond.get("message") or "")
            if orphan:
                return True, _orphan_csv_failure(cond, orphan.group(1), sub)
            unhealthy = _condition_is_true(sub, "CatalogSourcesUnhealthy")
            note = (" The catalog source is unhealthy ({0}); run again once it is READY.".format(
                describe_condition(unhealthy)) if unhealthy else "")
            return True, (
                "failed: OLM cannot resolve the package ({0}).{1} Check package, channel, source "
                "and source_namespace against the catalog (oc get packagemanifest <package> -n "
                "<source_namespace> -o yaml).".format(describe_condition(cond), note))
        cond = _condition_is_true(sub, "InstallPlanFailed")
        if cond and not is_stale(cond.get("lastTransitionTime"), applied_at):
            plan = "InstallPlan " + dig(sub, "status.installPlanRef.name", "(unnamed)")
            return True, (
                "failed: its {0} failed ({1}). Inspect it (oc get installplan -n {2} -o yaml), "
                "fix the cause, delete the failed InstallPlan and the Subscription, and run "
                "again.".format(plan, describe_condition(cond), dig(sub, "metadata.namespace")))
        return False, ""
    return check


def subscription_step(sub, approval, starting_csv=None, handled=()):
    """What to do next for a Subscription: settled, plan (look at the referenced
    InstallPlan) or wait. ``handled``: InstallPlans already dealt with."""
    status = (sub or {}).get("status") or {}
    installed = status.get("installedCSV")
    current = status.get("currentCSV")
    state = status.get("state")
    plan = dig(status, "installPlanRef.name")
    wanted = starting_csv or current
    if installed and state == "AtLatestKnown":
        return Step("settled", "{0} installed, state AtLatestKnown".format(installed))
    if approval == MANUAL and installed and installed == wanted:
        note = ", an upgrade waits for approval" if state == "UpgradePending" else ""
        return Step("settled", "{0} installed{1}".format(installed, note))
    if plan and plan not in handled:
        return Step("plan", "InstallPlan {0} referenced (state {1})".format(
            plan, state or "not set"))
    if sub is None:
        return Step("wait", "does not exist yet")
    return Step("wait", "state {0}, installedCSV {1}, currentCSV {2}".format(
        state or "not set", installed or "none", current or "none"))


def subscription_actionable(approval, starting_csv, handled):
    """Predicate: the Subscription is settled or references an InstallPlan to look at."""
    @predicate("Subscription installs its CSV", SEES_MISSING)
    def check(sub):
        step = subscription_step(sub, approval, starting_csv, handled)
        return step.action != "wait", step.reason
    return check


def plan_decision(sub, plans, wanted_csv):
    """The InstallPlan to approve, if any: only the one the Subscription references
    (status.installPlanRef), only when it is not approved yet and only when its
    spec.clusterServiceVersionNames contains ``wanted_csv``. Never another plan."""
    ref = dig(sub, "status.installPlanRef") or {}
    if not ref.get("name"):
        return PlanDecision(None, "the Subscription references no InstallPlan yet")
    namespace = ref.get("namespace") or dig(sub, "metadata.namespace")
    plan = next((p for p in plans if dig(p, "metadata.name") == ref["name"]
                 and dig(p, "metadata.namespace") == namespace), None)
    if plan is None:
        return PlanDecision(None, "InstallPlan {0}/{1} referenced by the Subscription was not "
                                  "found".format(namespace, ref["name"]))
    if dig(plan, "spec.approved"):
        return PlanDecision(None, "InstallPlan {0} is already approved".format(ref["name"]))
    names = dig(plan, "spec.clusterServiceVersionNames", [])
    if not wanted_csv:
        return PlanDecision(None, "no wanted CSV is known yet (no starting_csv and no "
                                  "currentCSV in the Subscription status)")
    if wanted_csv not in names:
        return PlanDecision(None, "InstallPlan {0} installs {1}, not the wanted CSV {2}".format(
            ref["name"], ", ".join(names) or "nothing", wanted_csv))
    return PlanDecision(plan, "InstallPlan {0} installs {1}".format(ref["name"], wanted_csv))


def plan_failure(subscription=None):
    """Failure check on an InstallPlan: phase Failed, or (for an Automatic
    ``subscription``) waiting for a manual approval that will never come."""
    @predicate("InstallPlan failed", SEES_MISSING)
    def check(plan):
        namespace = dig(plan, "metadata.namespace")
        phase = dig(plan, "status.phase")
        if phase == "Failed":
            detail = "; ".join(describe_condition(c) for c in dig(plan, "status.conditions", [])
                               if c.get("status") == "False" or c.get("reason")) \
                or dig(plan, "status.message", "no reason given")
            return True, (
                "failed: phase Failed ({0}). Inspect it (oc get installplan {1} -n {2} -o yaml), "
                "fix the cause, delete it and the Subscription, and run again.".format(
                    detail, dig(plan, "metadata.name"), namespace))
        if subscription and phase == "RequiresApproval" and not dig(plan, "spec.approved"):
            return True, (
                "is blocked: it requires manual approval although Subscription {0} uses Automatic "
                "approval; another Subscription in namespace {1} uses Manual approval, and OLM "
                "then requires approval for every InstallPlan there. Approve it yourself, or make "
                "every Subscription in {1} Automatic.".format(subscription, namespace))
        return False, ""
    return check


def csv_failure():
    """Failure check on a ClusterServiceVersion: phase Failed."""
    @predicate("ClusterServiceVersion failed", SEES_MISSING)
    def check(csv):
        if dig(csv, "status.phase") != "Failed":
            return False, ""
        return True, (
            "failed: phase Failed, reason {0}: {1}. Inspect the operator's deployments, pods and "
            "events in namespace {2}, fix the cause, then delete the CSV and the Subscription and "
            "run again.".format(dig(csv, "status.reason", "not given"),
                                dig(csv, "status.message", "no message"),
                                dig(csv, "metadata.namespace")))
    return check


def owned_crds(csv):
    """Names of the CRDs a CSV owns (spec.customresourcedefinitions.owned[].name)."""
    names = []
    for crd in dig(csv, "spec.customresourcedefinitions.owned", []):
        if crd.get("name") and crd["name"] not in names:
            names.append(crd["name"])
    return names
