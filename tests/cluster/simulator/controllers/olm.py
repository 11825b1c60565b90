"""OLM, simulated: CatalogSource, OperatorGroup, Subscription, InstallPlan, CSV.

A fixed catalog (``CATALOG``) is served by the CatalogSource
``openshift-marketplace/redhat-operators``.  The flow follows OLM:

Subscription -> (delay ``installPlan``) InstallPlan ``install-xxxxx`` owned by
the Subscription -> RequiresApproval (Manual, until ``spec.approved``) ->
Installing -> Complete, creating the CSV (phase Installing) -> (delay
``csvInstalling``) CSV Succeeded or Failed -> (delay ``crds``) the operator's
CRDs are applied and the operator's operands are created.

As in OLM, the Subscription reports ``state: AtLatestKnown`` and
``installedCSV`` as soon as the CSV exists, whatever its phase: clients must
wait for the CSV phase.  An older ``startingCSV`` is installed first and then
upgraded to the channel head with a second InstallPlan (approved
automatically only with Automatic approval).

Everything is derived from the objects, so a restarted simulator continues
where the previous one stopped.
"""

import importlib
import logging
import threading
import time

import yaml
from kubernetes.client.rest import ApiException

from lc import crds as lc_crds

from .. import core

log = logging.getLogger("simulator.olm")

OLM = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
CRD_API = "apiextensions.k8s.io/v1"
CATALOG_NAME = "redhat-operators"
CATALOG_NAMESPACE = "openshift-marketplace"

# package -> channels (oldest ... head) and CSVs.  "crds" names the package whose
# CRDs lc.crds.operator_crds() gives, or lists CRD documents; "operand" a module of this package with
# on_installed(ctx, namespace).
CATALOG = {
    "openshift-gitops-operator": {
        "defaultChannel": "latest",
        "channels": {
            "latest": ["openshift-gitops-operator.v1.15.1"],
            "gitops-1.15": ["openshift-gitops-operator.v1.15.1"],
        },
        "csvs": {
            "openshift-gitops-operator.v1.15.1": {
                "version": "1.15.1", "replaces": None,
                "displayName": "Red Hat OpenShift GitOps",
            },
        },
        "crds": "openshift-gitops-operator",
        "operand": "gitops_operator",
    },
    "rhods-operator": {
        "defaultChannel": "stable",
        "channels": {
            "stable": ["rhods-operator.2.21.0", "rhods-operator.2.22.1"],
            "fast": ["rhods-operator.2.22.1"],
            "stable-2.22": ["rhods-operator.2.22.1"],
        },
        "csvs": {
            "rhods-operator.2.21.0": {
                "version": "2.21.0", "replaces": None,
                "displayName": "Red Hat OpenShift AI",
            },
            "rhods-operator.2.22.1": {
                "version": "2.22.1", "replaces": "rhods-operator.2.21.0",
                "displayName": "Red Hat OpenShift AI",
            },
        },
        "crds": "rhods-operator",
        "operand": "rhods_operator",
    },
    # Harmless packages for tests.  example-operator owns no CRD (its head is
    # v0.1.0; v0.0.9 exists for startingCSV/upgrade tests).  example-crd-operator
    # owns one cluster-scoped CRD of its own, to observe "CRDs only after the CSV".
    "example-operator": {
        "defaultChannel": "stable",
        "channels": {"stable": ["example-operator.v0.0.9", "example-operator.v0.1.0"]},
        "csvs": {
            "example-operator.v0.0.9": {
                "version": "0.0.9", "replaces": None, "displayName": "Example Operator",
            },
            "example-operator.v0.1.0": {
                "version": "0.1.0", "replaces": "example-operator.v0.0.9",
                "displayName": "Example Operator",
            },
        },
        "crds": None,
        "operand": None,
    },
    "example-crd-operator": {
        "defaultChannel": "stable",
        "channels": {"stable": ["example-crd-operator.v0.1.0"]},
        "csvs": {
            "example-crd-operator.v0.1.0": {
                "version": "0.1.0", "replaces": None, "displayName": "Example CRD Operator",
            },
        },
        "crds": [{
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.localcluster.test",
                         "labels": {"localcluster.rhods.gitops/crd": "true"}},
            "spec": {
                "group": "example.localcluster.test", "scope": "Namespaced",
                "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets",
                          "singular": "widget"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "subresources": {"status": {}},
                              "schema": {"openAPIV3Schema": {
                                  "type": "object",
                                  "x-kubernetes-preserve-unknown-fields": True}}}],
            },
        }],
        "operand": None,
    },
}

SUB_CONDITIONS = ("ResolutionFailed", "InstallPlanPending", "InstallPlanFailed",
                  "InstallPlanMissing", "CatalogSourcesUnhealthy")


def package_of_csv(csv_name):
    for package, entry in CATALOG.items():
        if csv_name in entry["csvs"]:
            return package
    return None


# ---------------------------------------------------------------------------
# CRDs of an operator
# ---------------------------------------------------------------------------

def operator_crds(ctx, package):
    """The CRD documents an operator owns (for rhods: with the DSC/DSCI variant)."""
    folder = CATALOG[package]["crds"]
    if not folder:
        return []
    if isinstance(folder, list):
        return [dict(crd) for crd in folder]
    versions = ctx.config()["rhods"].get("dscVersions") or ["v1"]
    docs = []
    for path in lc_crds.operator_crds(package, versions):
        with open(path, encoding="utf-8") as handle:
            docs.extend(d for d in yaml.safe_load_all(handle)
                        if d and d.get("kind") == "CustomResourceDefinition")
    return docs


def owned_crd_descriptions(ctx, package):
    owned = []
    for crd in operator_crds(ctx, package):
        versions = [v for v in crd["spec"]["versions"] if v.get("served")]
        storage = next((v["name"] for v in versions if v.get("storage")), versions[0]["name"])
        owned.append({"name": crd["metadata"]["name"], "version": storage,
                      "kind": crd["spec"]["names"]["kind"],
                      "displayName": crd["spec"]["names"]["kind"]})
    return owned


def install_crds(ctx, package):
    """Server-side apply the operator's CRDs and wait until they are Established.

    When every CRD of the operator exists already (a restarted simulator, a
    second installation), they are left as they are: the variant chosen by
    ``rhods.dscVersions`` is decided once, when the operator is installed.
    """
    crds = operator_crds(ctx, package)
    if crds and all(ctx.kube.get(CRD_API, "customresourcedefinitions", c["metadata"]["name"])
                    for c in crds):
        ctx.crds_changed()
        return
    names = []
    for crd in crds:
        try:
            ctx.kube.apply(CRD_API, "customresourcedefinitions", crd)
            names.append(crd["metadata"]["name"])
        except ApiException as exc:
            log.error("applying CRD %s: %s %s", crd["metadata"]["name"], exc.status,
                      (exc.body or exc.reason or "")[:300])
    deadline = time.monotonic() + 30
    pending = list(names)
    while pending and time.monotonic() < deadline:
        pending = [n for n in pending
                   if not core.is_established(ctx.kube.get(CRD_API, "customresourcedefinitions", n)
                                              or {})]
        if pending:
            time.sleep(0.05)
    if pending:
        log.error("CRDs not Established after 30s: %s", ", ".join(pending))
    ctx.crds_changed()
    log.info("CRDs of %s installed: %d", package, len(names))


# ---------------------------------------------------------------------------
# The controller
# ---------------------------------------------------------------------------

class OLMController:
    def __init__(self, ctx):
        self.ctx = ctx
        self.kube = ctx.kube
        self._operands_done = set()  # CSV uids whose CRDs/operands were handled in this process
        self._locks = {}
        self._locks_lock = threading.Lock()

    # -- event handlers: only schedule work ----------------------------------

    def on_subscription(self, etype, obj):
        if etype == "DELETED":
            return
        ns, name = core.meta_key(obj)
        self.ctx.later(("sub", ns, name), 0, self.reconcile_subscription, ns, name)

    def on_installplan(self, etype, obj):
        ns, name = core.meta_key(obj)
        if etype != "DELETED":
            self.ctx.later(("ip", ns, name), 0, self.reconcile_installplan, ns, name)
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Subscription":
                self.ctx.later(("sub", ns, ref["name"]), 0, self.reconcile_subscription,
                               ns, ref["name"])

    def on_csv(self, etype, obj):
        ns, name = core.meta_key(obj)
        if etype != "DELETED":
            self.ctx.later(("csv", ns, name), 0, self.reconcile_csv, ns, name)
        self.requeue_namespace(ns)

    def on_operatorgroup(self, etype, obj):
        ns, name = core.meta_key(obj)
        if etype != "DELETED":
            self.ctx.later(("og", ns, name), 0, self.reconcile_operatorgroup, ns, name)
        if etype != "MODIFIED":
            self.requeue_namespace(ns)

    def on_catalogsource(self, etype, obj):
        ns, name = core.meta_key(obj)
        if etype != "DELETED":
            self.ctx.later(("catsrc", ns, name), 0, self.reconcile_catalogsource, ns, name)
        if etype != "MODIFIED":
            for sub in self.kube.list(OLM, "subscriptions"):
                self.on_subscription("MODIFIED", sub)

    def requeue_namespace(self, ns):
        for sub in self.kube.list(OLM, "subscriptions", ns):
            self.on_subscription("MODIFIED", sub)

    # -- CatalogSource / OperatorGroup ---------------------------------------

    def reconcile_catalogsource(self, ns, name):
        cat = self.kube.get(OLM, "catalogsources", name, ns)
        if not cat:
            return
        known = (ns, name) == (CATALOG_NAMESPACE, CATALOG_NAME)
        state = "READY" if known else "TRANSIENT_FAILURE"
        current = ((cat.get("status") or {}).get("connectionState") or {})
        if current.get("lastObservedState") == state:
            return
        self.kube.patch_status(OLM, "catalogsources", name, {
            "connectionState": {"address": "%s.%s.svc:50051" % (name, ns),
                                "lastConnect": core.now_iso(), "lastObservedState": state},
            "registryService": {"createdAt": core.now_iso(), "port": "50051",
                                "protocol": "grpc", "serviceName": name,
                                "serviceNamespace": ns},
        }, ns)

    def reconcile_operatorgroup(self, ns, name):
        og = self.kube.get(OLM_V1, "operatorgroups", name, ns)
        if not og:
            return
        targets = (og.get("spec") or {}).get("targetNamespaces") or [""]
        if (og.get("status") or {}).get("namespaces") == targets:
            return
        self.kube.patch_status(OLM_V1, "operatorgroups", name,
                               {"namespaces": targets, "lastUpdated": core.now_iso()}, ns)

    # -- Subscription --------------------------------------------------------

    def _resolve(self, sub):
        """(package entry, channel, target CSV name) or raise _Unresolvable."""
        spec = sub.get("spec") or {}
        ns, name = core.meta_key(sub)
        ogs = self.kube.list(OLM_V1, "operatorgroups", ns)
        if not ogs:
            raise _Unresolvable("NoOperatorGroup",
                                "no operator group found in namespace %s: create an "
                                "OperatorGroup there before subscribing" % ns)
        if len(ogs) > 1:
            raise _Unresolvable("TooManyOperatorGroups",
                                "csv created in namespace %s with multiple operatorgroups (%s), "
                                "can't pick one automatically"
                                % (ns, ", ".join(sorted(o["metadata"]["name"] for o in ogs))))
        source, source_ns = spec.get("source"), spec.get("sourceNamespace")
        if (source, source_ns) != (CATALOG_NAME, CATALOG_NAMESPACE) or \
                self.kube.get(OLM, "catalogsources", source, source_ns) is None:
            raise _Unresolvable("ConstraintsNotSatisfiable",
                                "failed to populate resolver cache from source %s/%s: catalog "
                                "source not found (subscription %s)" % (source_ns, source, name),
                                catalog_unhealthy=True)
        package = spec.get("name")
        entry = CATALOG.get(package)
        if entry is None:
            raise _Unresolvable("ConstraintsNotSatisfiable",
                                "constraints not satisfiable: no operators found in package %s in "
                                "the catalog referenced by subscription %s" % (package, name))
        channel = spec.get("channel") or entry["defaultChannel"]
        if channel not in entry["channels"]:
            raise _Unresolvable("ConstraintsNotSatisfiable",
                                "constraints not satisfiable: no operators found in channel %s of "
                                "package %s in the catalog referenced by subscription %s"
                                % (channel, package, name))
        injected = self.ctx.failure("resolution", package)
        if injected:
            raise _Unresolvable("ConstraintsNotSatisfiable", injected)
        entries = entry["channels"][channel]
        starting = spec.get("startingCSV")
        if starting and starting not in entries:
            raise _Unresolvable("ConstraintsNotSatisfiable",
                                "constraints not satisfiable: no operators found with name %s in "
                                "channel %s of package %s in the catalog referenced by "
                                "subscription %s" % (starting, channel, package, name))
        return package, channel, entries, starting

    def _write_sub_status(self, sub, wanted, conditions):
        status = sub.get("status") or {}
        wanted = dict(wanted)
        wanted["conditions"] = core.merge_conditions(status.get("conditions"), conditions,
                                                     managed=SUB_CONDITIONS)
        wanted["catalogHealth"] = [{
            "catalogSourceRef": {"apiVersion": OLM, "kind": "CatalogSource",
                                 "name": CATALOG_NAME, "namespace": CATALOG_NAMESPACE},
            "healthy": True,
            "lastUpdated": (status.get("catalogHealth") or [{}])[0].get("lastUpdated")
                           or core.now_iso(),
        }]
        if not core.differs(status, wanted):
            return
        wanted["lastUpdated"] = core.now_iso()
        ns, name = core.meta_key(sub)
        self.kube.patch_status(OLM, "subscriptions", name, wanted, ns)

    def _sub_lock(self, ns, name):
        with self._locks_lock:
            return self._locks.setdefault((ns, name), threading.RLock())

    def reconcile_subscription(self, ns, name):
        with self._sub_lock(ns, name):
            self._reconcile_subscription(ns, name)

    def _reconcile_subscription(self, ns, name):
        sub = self.kube.get(OLM, "subscriptions", name, ns)
        if sub is None or sub["metadata"].get("deletionTimestamp"):
            return
        status = sub.get("status") or {}
        try:
            package, _channel, entries, starting = self._resolve(sub)
        except _Unresolvable as exc:
            conditions = [core.condition("ResolutionFailed", "True", exc.reason, exc.message)]
            if exc.catalog_unhealthy:
                conditions.append(core.condition("CatalogSourcesUnhealthy", "True",
                                                 "UnhealthyCatalogSourceFound", exc.message))
            else:
                conditions.append(core.condition("CatalogSourcesUnhealthy", "False",
                                                 "AllCatalogSourcesHealthy",
                                                 "all available catalogsources are healthy"))
            self._write_sub_status(sub, {}, conditions)
            # OLM keeps retrying resolution; so do we (an injected failure may be lifted).
            self.ctx.later(("sub", ns, name), 2.0, self.reconcile_subscription, ns, name)
            return

        healthy = core.condition("CatalogSourcesUnhealthy", "False", "AllCatalogSourcesHealthy",
                                 "all available catalogsources are healthy")
        head = entries[-1]
        installed = status.get("installedCSV")
        installed_csv = self.kube.get(OLM, "clusterserviceversions", installed, ns) \
            if installed else None
        if installed_csv is None:
            installed = None
        if installed:
            succeeded = (installed_csv.get("status") or {}).get("phase") == "Succeeded"
            if installed == head or installed not in entries or not succeeded:
                target = installed
            else:
                target = entries[entries.index(installed) + 1]
        elif status.get("currentCSV") in entries:
            target = status["currentCSV"]  # resolved before: keep it (startingCSV applies once)
        else:
            target = starting or head

        plan = self._current_plan(sub, target)
        if plan is None:
            if installed == target:
                # Installed (e.g. adopted from an earlier Subscription): nothing to plan.
                self._write_sub_status(sub, {
                    "currentCSV": target, "installedCSV": installed,
                    "state": "AtLatestKnown" if target == head else "UpgradeAvailable"}, [healthy])
                return
            # Resolved, the plan comes after the installPlan delay.
            self._write_sub_status(sub, {"currentCSV": target}, [healthy])
            self.ctx.later(("plan", ns, name), "installPlan", self.create_plan, ns, name, target)
            return

        phase = (plan.get("status") or {}).get("phase") or ""
        ref = {"apiVersion": OLM, "kind": "InstallPlan", "name": plan["metadata"]["name"],
               "namespace": ns, "resourceVersion": plan["metadata"]["resourceVersion"],
               "uid": plan["metadata"]["uid"]}
        wanted = {"currentCSV": target,
                  "installPlanRef": ref,
                  "installplan": {"apiVersion": OLM, "kind": "InstallPlan",
                                  "name": plan["metadata"]["name"],
                                  "uuid": plan["metadata"]["uid"]},
                  "installPlanGeneration": int(plan["spec"].get("generation") or 1)}
        # Do not rewrite the ref for resourceVersion churn alone.
        old_ref = status.get("installPlanRef") or {}
        if old_ref.get("uid") == ref["uid"]:
            wanted["installPlanRef"] = old_ref
        conditions = [healthy]
        target_csv = self.kube.get(OLM, "clusterserviceversions", target, ns)
        if phase == "Complete" and target_csv is not None:
            # As OLM: the CSV exists, whatever its phase (clients must check the CSV).
            wanted.update(installedCSV=target,
                          state="AtLatestKnown" if target == head else "UpgradeAvailable")
        elif phase == "Failed":
            message = next((c.get("message") for c in (plan.get("status") or {}).get("conditions")
                            or [] if c.get("type") == "Installed"), "install plan failed")
            wanted["state"] = "UpgradeFailed"
            conditions.append(core.condition("InstallPlanFailed", "True", "InstallComponentFailed",
                                             message))
        else:
            wanted["state"] = "UpgradePending"
            if phase == "RequiresApproval":
                conditions.append(core.condition("InstallPlanPending", "True", "RequiresApproval",
                                                 ""))
            else:
                conditions.append(core.condition("InstallPlanPending", "True",
                                                 phase or "Installing", ""))
        if installed and installed != wanted.get("installedCSV"):
            wanted.setdefault("installedCSV", installed)
        self._write_sub_status(sub, wanted, conditions)

    def _current_plan(self, sub, target):
        """The InstallPlan of this Subscription for ``target`` (referenced or owned)."""
        ns, _name = core.meta_key(sub)
        ref = (sub.get("status") or {}).get("installPlanRef") or {}
        candidates = []
        if ref.get("name"):
            plan = self.kube.get(OLM, "installplans", ref["name"], ns)
            if plan is not None:
                candidates.append(plan)
        uid = sub["metadata"]["uid"]
        for plan in self.kube.list(OLM, "installplans", ns):
            if any(o.get("uid") == uid for o in plan["metadata"].get("ownerReferences") or []):
                candidates.append(plan)
        candidates = [p for p in candidates
                      if target in ((p.get("spec") or {}).get("clusterServiceVersionNames") or [])]
        if not candidates:
            return None
        # A Complete plan whose CSV was deleted since does not count: OLM plans again.
        if self.kube.get(OLM, "clusterserviceversions", target, ns) is None:
            candidates = [p for p in candidates
                          if (p.get("status") or {}).get("phase") != "Complete"]
            if not candidates:
                return None
        candidates.sort(key=lambda p: p["metadata"]["creationTimestamp"])
        return candidates[-1]

    def create_plan(self, ns, name, target):
        with self._sub_lock(ns, name):
            self._create_plan(ns, name, target)

    def _create_plan(self, ns, name, target):
        sub = self.kube.get(OLM, "subscriptions", name, ns)
        if sub is None or sub["metadata"].get("deletionTimestamp"):
            return
        if (sub.get("status") or {}).get("currentCSV") != target:
            self._reconcile_subscription(ns, name)
            return
        if self._current_plan(sub, target) is not None:
            self._reconcile_subscription(ns, name)
            return
        spec = sub.get("spec") or {}
        approval = spec.get("installPlanApproval") or "Automatic"
        package = spec.get("name")
        generation = int((sub.get("status") or {}).get("installPlanGeneration") or 0) + 1
        body = {
            "apiVersion": OLM, "kind": "InstallPlan",
            "metadata": {
                "name": "install-" + core.random_suffix(),
                "namespace": ns,
                "ownerReferences": [core.owner_ref(sub, controller=False)],
                "labels": {"operators.coreos.com/%s.%s" % (package, ns): ""},
            },
            "spec": {"approval": approval, "approved": approval == "Automatic",
                     "clusterServiceVersionNames": [target], "generation": generation},
        }
        plan = self.kube.create(OLM, "installplans", body, ns)
        log.info("%s/%s: InstallPlan %s for %s (%s)", ns, name, plan["metadata"]["name"],
                 target, approval)
        self.kube.patch_status(OLM, "installplans", plan["metadata"]["name"], {
            "phase": "RequiresApproval" if approval == "Manual" else "Installing",
            "catalogSources": [CATALOG_NAME],
            "plan": [{"resolving": target, "status": "Unknown",
                      "resource": {"group": "operators.coreos.com",
                                   "version": "v1alpha1", "kind": "ClusterServiceVersion",
                                   "name": target, "sourceName": CATALOG_NAME,
                                   "sourceNamespace": CATALOG_NAMESPACE}}],
        }, ns)
        self._reconcile_subscription(ns, name)

    # -- InstallPlan ---------------------------------------------------------

    def reconcile_installplan(self, ns, name):
        plan = self.kube.get(OLM, "installplans", name, ns)
        if plan is None:
            return
        spec, status = plan.get("spec") or {}, plan.get("status") or {}
        phase = status.get("phase") or ""
        if phase in ("Complete", "Failed"):
            return
        # status.catalogSources is required by the schema: a first status patch carries it.
        sources = {"catalogSources": status.get("catalogSources") or [CATALOG_NAME]}
        if not spec.get("approved"):
            if phase != "RequiresApproval":
                self.kube.patch_status(OLM, "installplans", name,
                                       dict(sources, phase="RequiresApproval"), ns)
            return
        csvs = spec.get("clusterServiceVersionNames") or []
        package = next((p for p in map(package_of_csv, csvs) if p), None)
        if phase != "Installing":
            self.kube.patch_status(OLM, "installplans", name,
                                   dict(sources, phase="Installing",
                                        startTime=core.now_iso()), ns)
        injected = self.ctx.failure("installPlan", package) if package else None
        if injected:
            log.info("%s/%s: InstallPlan Failed (injected)", ns, name)
            self.kube.patch_status(OLM, "installplans", name, dict(sources, **{
                "phase": "Failed", "message": injected,
                "conditions": [core.condition("Installed", "False", "InstallComponentFailed",
                                              injected)]}), ns)
            return
        steps = []
        for csv_name in csvs:
            steps.append(self.create_csv(ns, csv_name, plan))
        self.kube.patch_status(OLM, "installplans", name, dict(sources, **{
            "phase": "Complete",
            "conditions": [dict(core.condition("Installed", "True"),
                                lastUpdateTime=core.now_iso())],
            "plan": steps,
        }), ns)
        log.info("%s/%s: InstallPlan Complete (%s)", ns, name, ", ".join(csvs))

    def create_csv(self, ns, csv_name, plan):
        package = package_of_csv(csv_name)
        step = {"resolving": csv_name, "status": "Created",
                "resource": {"group": "operators.coreos.com", "version": "v1alpha1",
                             "kind": "ClusterServiceVersion", "name": csv_name,
                             "sourceName": CATALOG_NAME, "sourceNamespace": CATALOG_NAMESPACE}}
        if self.kube.get(OLM, "clusterserviceversions", csv_name, ns) is not None:
            step["status"] = "Present"
            return step
        if package is None:
            step["status"] = "Unknown"
            return step
        info = CATALOG[package]["csvs"][csv_name]
        ogs = self.kube.list(OLM_V1, "operatorgroups", ns)
        og = ogs[0] if ogs else None
        targets = ((og or {}).get("spec") or {}).get("targetNamespaces") or []
        body = {
            "apiVersion": OLM, "kind": "ClusterServiceVersion",
            "metadata": {
                "name": csv_name, "namespace": ns,
                "labels": {"operators.coreos.com/%s.%s" % (package, ns): "",
                           "olm.managed": "true"},
                "annotations": {
                    "olm.operatorGroup": og["metadata"]["name"] if og else "",
                    "olm.operatorNamespace": ns,
                    "olm.targetNamespaces": ",".join(targets),
                    "operatorframework.io/installed-by-plan": plan["metadata"]["name"],
                },
            },
            "spec": {
                "displayName": info["displayName"],
                "version": info["version"],
                "provider": {"name": "Red Hat"},
                "installModes": [
                    {"type": "OwnNamespace", "supported": package != "rhods-operator"},
                    {"type": "SingleNamespace", "supported": package != "rhods-operator"},
                    {"type": "MultiNamespace", "supported": False},
                    {"type": "AllNamespaces", "supported": True},
                ],
                "install": {"strategy": "deployment", "spec": {"deployments": []}},
                "customresourcedefinitions": {"owned": owned_crd_descriptions(self.ctx, package)},
            },
        }
        if info.get("replaces"):
            body["spec"]["replaces"] = info["replaces"]
        try:
            self.kube.create(OLM, "clusterserviceversions", body, ns)
        except ApiException as exc:
            if exc.status != 409:
                raise
        self.kube.patch_status(OLM, "clusterserviceversions", csv_name, {
            "phase": "Installing", "reason": "InstallWaiting",
            "message": "installing: waiting for deployment %s to become ready" % package,
            "lastUpdateTime": core.now_iso(), "lastTransitionTime": core.now_iso(),
            "conditions": [{"phase": "Pending", "reason": "RequirementsUnknown",
                            "message": "requirements not yet checked",
                            "lastTransitionTime": core.now_iso(),
                            "lastUpdateTime": core.now_iso()},
                           {"phase": "Installing", "reason": "InstallWaiting",
                            "message": "installing: waiting for deployment to become ready",
                            "lastTransitionTime": core.now_iso(),
                            "lastUpdateTime": core.now_iso()}],
        }, ns)
        log.info("%s: CSV %s Installing", ns, csv_name)
        return step

    # -- ClusterServiceVersion -----------------------------------------------

    def reconcile_csv(self, ns, name):
        csv = self.kube.get(OLM, "clusterserviceversions", name, ns)
        if csv is None:
            return
        package = package_of_csv(name)
        if package is None:
            return  # not from our catalog: leave it alone
        phase = (csv.get("status") or {}).get("phase") or ""
        if phase in ("", "Pending", "InstallReady", "Installing"):
            self.ctx.later(("csv-finish", ns, name), "csvInstalling", self.finish_csv, ns, name)
        elif phase == "Succeeded":
            uid = csv["metadata"]["uid"]
            if uid not in self._operands_done:
                self._operands_done.add(uid)
                self.ctx.later(("operands", ns, name), "crds", self.install_operands, ns, name)

    def finish_csv(self, ns, name):
        csv = self.kube.get(OLM, "clusterserviceversions", name, ns)
        if csv is None:
            return
        status = csv.get("status") or {}
        if status.get("phase") not in (None, "", "Pending", "InstallReady", "Installing"):
            return
        package = package_of_csv(name)
        injected = self.ctx.failure("csv", package)
        now = core.now_iso()
        conditions = list(status.get("conditions") or [])
        if injected:
            phase, reason, message = "Failed", "InstallCheckFailed", injected
        else:
            phase, reason, message = ("Succeeded", "InstallSucceeded",
                                      "install strategy completed with no errors")
        conditions.append({"phase": phase, "reason": reason, "message": message,
                           "lastTransitionTime": now, "lastUpdateTime": now})
        self.kube.patch_status(OLM, "clusterserviceversions", name, {
            "phase": phase, "reason": reason, "message": message,
            "lastTransitionTime": now, "lastUpdateTime": now, "conditions": conditions,
            "requirementStatus": [{"group": "apiextensions.k8s.io", "version": "v1",
                                   "kind": "CustomResourceDefinition", "name": c["name"],
                                   "status": "Present", "message": "CRD is present"}
                                  for c in ((csv.get("spec") or {})
                                            .get("customresourcedefinitions") or {})
                                  .get("owned") or []],
        }, ns)
        log.info("%s: CSV %s %s", ns, name, phase)

    def install_operands(self, ns, name):
        csv = self.kube.get(OLM, "clusterserviceversions", name, ns)
        if csv is None or (csv.get("status") or {}).get("phase") != "Succeeded":
            return
        package = package_of_csv(name)
        install_crds(self.ctx, package)
        replaced = (csv.get("spec") or {}).get("replaces")
        if replaced and self.kube.delete(OLM, "clusterserviceversions", replaced, ns):
            log.info("%s: CSV %s replaced by %s, deleted", ns, replaced, name)
        operand = CATALOG[package].get("operand")
        if operand:
            module = importlib.import_module("simulator.controllers." + operand)
            module.on_installed(self.ctx, ns)


class _Unresolvable(Exception):
    def __init__(self, reason, message, catalog_unhealthy=False):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.catalog_unhealthy = catalog_unhealthy


def run(ctx):
    olm = OLMController(ctx)
    kube = ctx.kube
    core.spawn(core.watch_forever, ctx, kube.lister(OLM, "catalogsources"),
               olm.on_catalogsource, "catalogsources", name="olm-catalogsources")
    core.spawn(core.watch_forever, ctx, kube.lister(OLM_V1, "operatorgroups"),
               olm.on_operatorgroup, "operatorgroups", name="olm-operatorgroups")
    core.spawn(core.watch_forever, ctx, kube.lister(OLM, "installplans"),
               olm.on_installplan, "installplans", name="olm-installplans")
    core.spawn(core.watch_forever, ctx, kube.lister(OLM, "clusterserviceversions"),
               olm.on_csv, "clusterserviceversions", name="olm-csvs")
    core.watch_forever(ctx, kube.lister(OLM, "subscriptions"), olm.on_subscription,
                       "subscriptions")
