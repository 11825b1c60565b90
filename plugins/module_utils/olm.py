# SPDX-License-Identifier: Apache-2.0
"""Operator installs through OLM: OperatorGroup, Subscription, the referenced
InstallPlan, the ClusterServiceVersion and its CRDs.

The decisions are pure functions of observed objects (``subscription_step``,
``plan_decision``, ``subscription_failure``, ``choose_operator_group``), so
they are unit tested without a cluster; ``ensure_present``/``ensure_absent``
drive them with the waiter.
"""

import re
from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils.apply import Applier
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError, NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    ObjectRef,
    Selection,
    describe_condition,
    dig,
    find_condition,
    for_display,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    condition_true,
    phase_is,
    predicate,
)

OPERATOR_GROUP = ("operators.coreos.com/v1", "OperatorGroup")
SUBSCRIPTION = ("operators.coreos.com/v1alpha1", "Subscription")
INSTALL_PLAN = ("operators.coreos.com/v1alpha1", "InstallPlan")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
NAMESPACE = ("v1", "Namespace")

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
    return {"apiVersion": SUBSCRIPTION[0], "kind": SUBSCRIPTION[1],
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def operator_group_definition(name, namespace, target_namespaces=None):
    spec = {"targetNamespaces": list(target_namespaces)} if target_namespaces else {}
    return {"apiVersion": OPERATOR_GROUP[0], "kind": OPERATOR_GROUP[1],
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


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


def _is_stale(timestamp, applied_at):
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


def subscription_failure(applied_at=None):
    """Failure check on a Subscription: resolution failed, or its InstallPlan failed."""
    @predicate("Subscription failed")
    def check(sub):
        cond = _condition_is_true(sub, "ResolutionFailed")
        if cond and not _is_stale(cond.get("lastTransitionTime"), applied_at) \
                and not _about_another_channel(cond, sub):
            unhealthy = _condition_is_true(sub, "CatalogSourcesUnhealthy")
            note = (" The catalog source is unhealthy ({0}); run again once it is READY.".format(
                describe_condition(unhealthy)) if unhealthy else "")
            return True, (
                "failed: OLM cannot resolve the package ({0}).{1} Check package, channel, source "
                "and source_namespace against the catalog (oc get packagemanifest <package> -n "
                "<source_namespace> -o yaml).".format(describe_condition(cond), note))
        cond = _condition_is_true(sub, "InstallPlanFailed")
        if cond and not _is_stale(cond.get("lastTransitionTime"), applied_at):
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
    @predicate("Subscription installs its CSV")
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
    @predicate("InstallPlan failed")
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
    @predicate("ClusterServiceVersion failed")
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


# Driving it against the cluster

class OperatorInstall:
    """Ensure (or remove) one operator; fills ``run.result``."""

    def __init__(self, run, params):
        self.run = run
        self.p = params
        self.namespace = params["namespace"]
        self.name = params["name"] or params["package"]
        self.sub_ref = ObjectRef(SUBSCRIPTION[0], SUBSCRIPTION[1], self.name, self.namespace)
        self.applier = Applier(run.cluster, run.check_mode,
                               force_conflicts=params["force_conflicts"])

    def resource(self, gvk):
        try:
            return self.run.cluster.resource(*gvk)
        except NotServed:
            raise GitopsError(
                "{0} {1} is not served: OLM (operators.coreos.com) is not installed on this "
                "cluster, so operators cannot be installed with olm_operator.".format(*gvk)
            ) from None

    # present

    def ensure_present(self):
        if self.p["apply"]:
            self.ensure_namespace()
            operator_group = self.ensure_operator_group()
            sub_result = self.apply(subscription_definition(
                self.name, self.namespace, self.p["package"], self.p["channel"],
                self.p["source"], self.p["source_namespace"], self.p["approval"],
                self.p["starting_csv"], self.p["config"]))
        else:  # another writer (Argo CD) delivers them: observe only
            operator_group = None
            sub_result = {"object": self.run.cluster.get(
                self.resource(SUBSCRIPTION), self.name, self.namespace)}
        self.run.result.update(subscription=self.name, operator_group=operator_group)
        if self.run.check_mode or not self.p["wait"]:
            self.report(sub_result["object"], None, None, [])
            return
        since = sub_result.get("applied_at")
        sub, plan = self.wait_subscription(since)
        csv_name = dig(sub, "status.installedCSV")
        csv = self.run.waiter.wait(
            Selection(CSV[0], CSV[1], csv_name, self.namespace), phase_is("Succeeded"),
            fail_on=csv_failure())
        crds = owned_crds(csv)
        for crd in crds:
            self.run.waiter.wait(Selection(CRD[0], CRD[1], crd), condition_true("Established"))
        self.report(sub, csv, plan, crds)

    def apply(self, definition):
        result = self.applier.apply(self.applier.prepare(definition))
        self.run.record([result])
        self.run.warnings.extend(self.applier.warnings)
        del self.applier.warnings[:]
        return result

    def ensure_namespace(self):
        """Create the namespace if it is missing; never re-apply an existing one (its
        labels belong to whoever created it, e.g. a role's own apply)."""
        if not self.p["create_namespace"]:
            return
        resource = self.run.cluster.resource(*NAMESPACE)
        if self.run.cluster.get(resource, self.namespace) is None:
            self.apply({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": self.namespace}})

    def ensure_operator_group(self):
        wanted = self.p["operator_group"] or {}
        existing = self.run.cluster.list(self.resource(OPERATOR_GROUP), namespace=self.namespace)[0]
        definition = choose_operator_group(existing, self.namespace, wanted.get("name"),
                                           wanted.get("target_namespaces"))
        if definition is None:
            return dig(existing[0], "metadata.name")
        self.apply(definition)
        return definition["metadata"]["name"]

    def wait_subscription(self, since):
        """Wait until the Subscription has installed its CSV, approving (Manual) only
        the InstallPlan it references that contains the wanted CSV."""
        approval, starting_csv = self.p["approval"], self.p["starting_csv"]
        handled, approved = set(), None
        waiter = self.run.waiter
        plan_failed = plan_failure(None if approval == MANUAL else self.name)
        while True:
            sub = waiter.wait(Selection(*self.sub_ref),
                              subscription_actionable(approval, starting_csv, handled),
                              fail_on=subscription_failure(since))
            step = subscription_step(sub, approval, starting_csv, handled)
            if step.action == "settled":
                return sub, approved
            plan_ref = ObjectRef(INSTALL_PLAN[0], INSTALL_PLAN[1],
                                 dig(sub, "status.installPlanRef.name"),
                                 dig(sub, "status.installPlanRef.namespace") or self.namespace)
            plan = self.run.cluster.get(self.resource(INSTALL_PLAN), plan_ref.name,
                                        plan_ref.namespace)
            if plan is not None and _is_stale(dig(plan, "metadata.creationTimestamp"), since):
                handled.add(plan_ref.name)  # made for the previous spec; OLM makes a new one
                continue
            if approval == MANUAL and plan is not None and not dig(plan, "spec.approved"):
                if not self.approve(sub, plan, plan_ref):
                    return sub, approved  # an upgrade the user did not ask for waits
                approved = plan_ref.name
            waiter.wait(Selection(*plan_ref), phase_is("Complete"), fail_on=plan_failed)
            handled.add(plan_ref.name)

    def approve(self, sub, plan, plan_ref):
        """Approve ``plan`` if it is the one to approve; False when it is not ours to approve."""
        wanted = self.p["starting_csv"] or dig(sub, "status.currentCSV")
        decision = plan_decision(sub, [plan], wanted)
        if decision.plan is None:
            if dig(sub, "status.installedCSV"):
                self.run.warnings.append("Not approving {0}: {1}.".format(
                    plan_ref, decision.reason))
                return False
            raise GitopsError("Not approving {0}: {1}. Set starting_csv to a CSV this plan "
                              "installs, or approve it yourself.".format(plan_ref, decision.reason),
                              install_plan=plan_ref.name)
        self.run.cluster.merge_patch(self.resource(INSTALL_PLAN), plan_ref.name, plan_ref.namespace,
                                     {"spec": {"approved": True}})
        self.run.changed = True
        self.run.progress.record(str(plan_ref), "approved by rhods.gitops ({0})".format(
            decision.reason))
        return True

    def report(self, sub, csv, plan, crds):
        status = (sub or {}).get("status") or {}
        self.run.result.update(
            csv=dig(csv, "metadata.name") or status.get("installedCSV"),
            csv_version=dig(csv, "spec.version"),
            csv_phase=dig(csv, "status.phase"),
            install_plan=dig(status, "installPlanRef.name"),
            install_plan_approved=plan,
            crds=crds,
            subscription_state=status.get("state"),
        )

    # absent

    def ensure_absent(self):
        """Delete the Subscription and its CSV(s); wait until they are gone."""
        sub_resource = self.resource(SUBSCRIPTION)
        csv_resource = self.resource(CSV)
        sub = self.run.cluster.get(sub_resource, self.name, self.namespace)
        csv_names = {dig(sub, "status.installedCSV"), dig(sub, "status.currentCSV")} - {None}
        label = "operators.coreos.com/{0}.{1}".format(self.p["package"], self.namespace)
        labelled = self.run.cluster.list(csv_resource, namespace=self.namespace,
                                         label_selector=label)[0]
        csv_names.update(dig(c, "metadata.name") for c in labelled)
        targets = [(sub_resource, SUBSCRIPTION, self.name, sub)] if sub else []
        for name in sorted(csv_names):
            found = self.run.cluster.get(csv_resource, name, self.namespace)
            if found:
                targets.append((csv_resource, CSV, name, found))
        for resource, gvk, name, found in targets:
            self.run.cluster.delete(resource, name, self.namespace, dry_run=self.run.check_mode)
            self.run.changed = True
            header = str(ObjectRef(gvk[0], gvk[1], name, self.namespace))
            self.run.diffs.append({"before_header": header, "after_header": header + " (deleted)",
                                   "before": for_display(found), "after": {}})
        self.run.result.update(removed=[str(ObjectRef(g[0], g[1], n, self.namespace))
                                        for _resource, g, n, _found in targets])
        if self.run.check_mode or not self.p["wait"]:
            return
        for _resource, gvk, name, _found in targets:
            self.run.waiter.wait(Selection(gvk[0], gvk[1], name, self.namespace), absent())


def run_olm_operator(run):
    install = OperatorInstall(run, run.params)
    if run.params["state"] == "absent":
        install.ensure_absent()
    else:
        install.ensure_present()
