"""What an operator does once the real OLM has installed it.

OLM itself runs for real (``lc/olm_run.py``): it resolves Subscriptions from
the test catalog, creates the InstallPlan, the operator's CRDs, its CSV and
Deployment.  The operators' own code cannot run here, so this controller
watches what OLM produces and starts the simulated operator's work:

a CSV of a known package (``OPERANDS``) in its operator namespace (not a copy
OLM places in other namespaces) reaches ``phase: Succeeded`` and every CRD it
owns is Established -> ``on_installed(ctx, namespace)`` of that package's
simulated operator (``gitops_operator``, ``rhods_operator``), once per CSV.
"""

import importlib
import logging
import threading

from .. import core

log = logging.getLogger("simulator.installed")

OLM = "operators.coreos.com/v1alpha1"
CRD_API = "apiextensions.k8s.io/v1"
# package -> module of simulator.controllers with on_installed(ctx, namespace)
OPERANDS = {"openshift-gitops-operator": "gitops_operator", "rhods-operator": "rhods_operator"}
RETRY_SECONDS = 0.5


def package_of(csv):
    """The package of an operator's own CSV, or None (another package, or a copied CSV)."""
    labels = csv["metadata"].get("labels") or {}
    if "olm.copiedFrom" in labels or (csv.get("status") or {}).get("reason") == "Copied":
        return None
    name = csv["metadata"]["name"]
    return next((p for p in OPERANDS if name.startswith(p + ".")), None)


def owned_crds_established(ctx, csv):
    owned = ((csv.get("spec") or {}).get("customresourcedefinitions") or {}).get("owned") or []
    for crd in owned:
        obj = ctx.kube.get(CRD_API, "customresourcedefinitions", crd["name"])
        if not obj or not core.is_established(obj):
            return False
    return True


class InstalledOperators:
    def __init__(self, ctx):
        self.ctx = ctx
        self._done = set()  # CSV uids whose operator was started in this process
        self._lock = threading.Lock()

    def on_csv(self, etype, csv):
        if etype == "DELETED" or package_of(csv) is None:
            return
        if (csv.get("status") or {}).get("phase") != "Succeeded":
            return
        ns, name = core.meta_key(csv)
        self.ctx.later(("installed", ns, name), 0, self.reconcile, ns, name)

    def reconcile(self, ns, name):
        csv = self.ctx.kube.get(OLM, "clusterserviceversions", name, ns)
        if csv is None or (csv.get("status") or {}).get("phase") != "Succeeded":
            return
        package = package_of(csv)
        if package is None:
            return
        with self._lock:
            if csv["metadata"]["uid"] in self._done:
                return
        if not owned_crds_established(self.ctx, csv):
            self.ctx.later(("installed", ns, name), RETRY_SECONDS, self.reconcile, ns, name)
            return
        self.ctx.crds_changed()
        module = importlib.import_module("simulator.controllers." + OPERANDS[package])
        module.on_installed(self.ctx, ns)
        with self._lock:
            self._done.add(csv["metadata"]["uid"])
        log.info("%s/%s Succeeded: %s started", ns, name, package)


def run(ctx):
    controller = InstalledOperators(ctx)
    core.watch_forever(ctx, ctx.kube.lister(OLM, "clusterserviceversions"), controller.on_csv,
                       "clusterserviceversions")
