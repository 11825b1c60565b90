# SPDX-License-Identifier: Apache-2.0
"""Installing (or removing) one operator with OLM on the cluster: the driver of
the pure decisions in ``olm.py``, with the waiter."""

from ansible_collections.rhods.gitops.plugins.module_utils.apply import Applier
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError, NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import (
    CRD,
    CSV,
    INSTALL_PLAN,
    NAMESPACE,
    OPERATOR_GROUP,
    SUBSCRIPTION,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    Selection,
    dig,
    for_display,
)
from ansible_collections.rhods.gitops.plugins.module_utils.olm import (
    MANUAL,
    choose_operator_group,
    csv_failure,
    is_stale,
    owned_crds,
    plan_decision,
    plan_failure,
    subscription_actionable,
    subscription_definition,
    subscription_failure,
    subscription_step,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    condition_true,
    phase_is,
)


class OperatorInstall:
    """Ensure (or remove) one operator; fills ``run.result``."""

    def __init__(self, run, params):
        self.run = run
        self.p = params
        self.namespace = params["namespace"]
        self.name = params["name"] or params["package"]
        self.sub_ref = SUBSCRIPTION.ref(self.name, self.namespace)
        self.applier = Applier(run.cluster, run.check_mode,
                               force_conflicts=params["force_conflicts"])

    def resource(self, kind):
        try:
            return self.run.cluster.resource(*kind)
        except NotServed:
            raise GitopsError(
                "{0} {1} is not served: OLM (operators.coreos.com) is not installed on this "
                "cluster, so operators cannot be installed with olm_operator.".format(
                    kind.api_version, kind.kind)) from None

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
            CSV.select(csv_name, self.namespace), phase_is("Succeeded"),
            fail_on=csv_failure())
        crds = owned_crds(csv)
        for crd in crds:
            self.run.waiter.wait(CRD.select(crd), condition_true("Established"))
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
            self.apply(NAMESPACE.definition(self.namespace))

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
            plan_ref = INSTALL_PLAN.ref(dig(sub, "status.installPlanRef.name"),
                                        dig(sub, "status.installPlanRef.namespace") or self.namespace)
            plan = self.run.cluster.get(self.resource(INSTALL_PLAN), plan_ref.name,
                                        plan_ref.namespace)
            if plan is not None and is_stale(dig(plan, "metadata.creationTimestamp"), since):
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
        self.run.cluster.approve_install_plan(self.resource(INSTALL_PLAN), plan_ref.name,
                                              plan_ref.namespace)
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
        targets = [(sub_resource, SUBSCRIPTION.ref(self.name, self.namespace), sub)] if sub else []
        for name in sorted(csv_names):
            found = self.run.cluster.get(csv_resource, name, self.namespace)
            if found:
                targets.append((csv_resource, CSV.ref(name, self.namespace), found))
        for resource, ref, found in targets:
            self.run.cluster.delete(resource, ref.name, self.namespace, dry_run=self.run.check_mode)
            self.run.changed = True
            header = str(ref)
            self.run.diffs.append({"before_header": header, "after_header": header + " (deleted)",
                                   "before": for_display(found), "after": {}})
        self.run.result.update(removed=[str(ref) for _resource, ref, _found in targets])
        if self.run.check_mode or not self.p["wait"]:
            return
        for _resource, ref, _found in targets:
            self.run.waiter.wait(Selection.of(ref), absent())


def run_olm_operator(run):
    install = OperatorInstall(run, run.params)
    if run.params["state"] == "absent":
        install.ensure_absent()
    else:
        install.ensure_present()
