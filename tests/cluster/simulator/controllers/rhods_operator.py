"""The RHODS / OpenShift AI operator, simulated.

``on_installed`` (called by ``installed_operators`` once the real OLM has
made the rhods-operator CSV Succeeded and its CRDs are Established) creates namespaces
``redhat-ods-applications`` and ``redhat-ods-monitoring`` and the
DSCInitialization ``default-dsci`` in whichever version is served, and the Auth ``auth``
(admin group ``rhods-admins``, allowed ``system:authenticated``) when that kind is served.

``run`` watches DSCInitializations (-> ``Ready`` after delay ``dsci``) and
DataScienceClusters (any served version):

* only the oldest DSC is reconciled; another one gets ``phase: Error``;
* each ``Managed`` component becomes ready ``dsc`` seconds after it was first
  seen Managed (condition ``<Component>Ready`` True), unless
  ``failures.dscComponents.<component>`` is set (then False, reason Error);
  ``Removed`` components get ``<Component>Ready`` False reason Removed and do
  not hold the DSC back;
* when every Managed component is ready: ``phase: Ready``, ``Ready`` and
  ``Available`` True;
* dashboard ready -> Route ``rhods-dashboard`` and OdhDashboardConfig
  ``odh-dashboard-config``; workbenches ready -> namespace ``rhods-notebooks``
  and the base ImageStream ``s2i-generic-data-science-notebook`` with the tags
  of ``rhods.notebookTags`` in spec and status.
"""

import json
import logging
import time

from kubernetes.client.rest import ApiException

from .. import core
from . import openshift

log = logging.getLogger("simulator.rhods")

DSC_CRD = "datascienceclusters.datasciencecluster.opendatahub.io"
DSCI_CRD = "dscinitializations.dscinitialization.opendatahub.io"
DSC_GROUP = "datasciencecluster.opendatahub.io"
DSCI_GROUP = "dscinitialization.opendatahub.io"
APPS_NS = "redhat-ods-applications"
MONITORING_NS = "redhat-ods-monitoring"
NOTEBOOKS_NS = "rhods-notebooks"
DSCI_NAME = "default-dsci"
BASE_IMAGE = "s2i-generic-data-science-notebook"
BASE_IMAGE_REPO = "quay.io/modh/odh-generic-data-science-notebook"
RELEASE = {"name": "OpenShift AI Self-Managed", "version": "2.22.1"}
IMAGE_API = "image.openshift.io/v1"
ROUTE_API = "route.openshift.io/v1"
DASHBOARD_CONFIG_API = "opendatahub.io/v1alpha"
AUTH_API = "services.platform.opendatahub.io/v1alpha1"
AUTH_CRD = "auths.services.platform.opendatahub.io"

# DSC component -> the prefix of its "<Prefix>Ready" condition (as in ODH).
CONDITION_PREFIX = {
    "dashboard": "Dashboard",
    "workbenches": "Workbenches",
    "datasciencepipelines": "DataSciencePipelines",
    "aipipelines": "AIPipelines",
    "kserve": "Kserve",
    "modelmeshserving": "ModelMeshServing",
    "kueue": "Kueue",
    "ray": "Ray",
    "trustyai": "TrustyAI",
    "trainingoperator": "TrainingOperator",
    "trainer": "Trainer",
    "codeflare": "CodeFlare",
    "modelregistry": "ModelRegistry",
    "feastoperator": "FeastOperator",
    "llamastackoperator": "LlamaStackOperator",
}

DSC_STATUS_CONDITIONS = ("Ready", "Available", "ProvisioningSucceeded", "ComponentsReady")


def condition_type(component):
    prefix = CONDITION_PREFIX.get(component) or (component[:1].upper() + component[1:])
    return prefix + "Ready"


def dsc_api(ctx):
    version = ctx.served_version(DSC_CRD)
    return DSC_GROUP + "/" + version if version else None


def dsci_api(ctx):
    version = ctx.served_version(DSCI_CRD)
    return DSCI_GROUP + "/" + version if version else None


# ---------------------------------------------------------------------------
# Install
# ---------------------------------------------------------------------------

def on_installed(ctx, operator_namespace):
    kube = ctx.kube
    log.info("RHODS operator installed in %s: namespaces and %s", operator_namespace, DSCI_NAME)
    for name in (APPS_NS, MONITORING_NS):
        kube.ensure("v1", "namespaces", {"metadata": {
            "name": name,
            "labels": {"opendatahub.io/generated-namespace": "true",
                       "openshift.io/cluster-monitoring": "true"}}})
    api = dsci_api(ctx)
    if api is None:
        log.error("DSCInitialization CRD not served: cannot create %s", DSCI_NAME)
        return
    kube.ensure(api, "dscinitializations", {
        "apiVersion": api, "kind": "DSCInitialization",
        "metadata": {"name": DSCI_NAME,
                     "labels": {"app.kubernetes.io/created-by": "rhods-operator",
                                "app.kubernetes.io/name": "dscinitialization"}},
        "spec": {"applicationsNamespace": APPS_NS,
                 "monitoring": {"managementState": "Managed", "namespace": MONITORING_NS}}})
    # The operator's platform service Auth "auth": the dashboard's admin and allowed groups
    # (RHOAI's defaults), when the Auth kind is served.
    if kube.get("apiextensions.k8s.io/v1", "customresourcedefinitions", AUTH_CRD) is not None:
        kube.ensure(AUTH_API, "auths", {
            "apiVersion": AUTH_API, "kind": "Auth", "metadata": {"name": "auth"},
            "spec": {"adminGroups": ["rhods-admins"],
                     "allowedGroups": ["system:authenticated"]}})


# ---------------------------------------------------------------------------
# DSCInitialization
# ---------------------------------------------------------------------------

def reconcile_dsci(ctx, name):
    api = dsci_api(ctx)
    if api is None:
        return
    obj = ctx.kube.get(api, "dscinitializations", name)
    if obj is None or obj["metadata"].get("deletionTimestamp"):
        return
    status = obj.get("status") or {}
    conditions = [
        core.condition("ReconcileComplete", "True", "ReconcileCompleted",
                       "Reconcile completed successfully"),
        core.condition("Available", "True", "ReconcileCompleted",
                       "Reconcile completed successfully"),
        core.condition("Ready", "True", "Ready", "Ready"),
        core.condition("Progressing", "False", "ReconcileCompleted", ""),
        core.condition("Degraded", "False", "ReconcileCompleted", ""),
    ]
    wanted = {"phase": "Ready", "release": RELEASE,
              "conditions": core.merge_conditions(status.get("conditions"), conditions)}
    if core.differs(status, wanted):
        ctx.kube.patch_status(api, "dscinitializations", name, wanted)
        log.info("DSCInitialization %s Ready", name)
    # DSCs wait for the DSCI: let them continue.
    for dsc in ctx.kube.list(dsc_api(ctx), "datascienceclusters") if dsc_api(ctx) else []:
        CONTROLLER.schedule(ctx, dsc["metadata"]["name"], 0)


def dsci_ready(ctx):
    api = dsci_api(ctx)
    if api is None:
        return False
    for obj in ctx.kube.list(api, "dscinitializations"):
        if (obj.get("status") or {}).get("phase") == "Ready":
            return True
    return False


# ---------------------------------------------------------------------------
# DataScienceCluster
# ---------------------------------------------------------------------------

class DSCController:
    def __init__(self):
        self._since = {}  # (dsc uid, component) -> monotonic time first seen Managed

    def schedule(self, ctx, name, delay):
        ctx.later(("dsc", name), delay, self.reconcile, ctx, name)

    def reconcile(self, ctx, name):
        api = dsc_api(ctx)
        if api is None:
            return
        kube = ctx.kube
        dsc = kube.get(api, "datascienceclusters", name)
        if dsc is None or dsc["metadata"].get("deletionTimestamp"):
            return
        uid = dsc["metadata"]["uid"]
        status = dsc.get("status") or {}
        all_dscs = sorted(kube.list(api, "datascienceclusters"),
                          key=lambda d: (d["metadata"]["creationTimestamp"], d["metadata"]["name"]))
        if all_dscs and all_dscs[0]["metadata"]["uid"] != uid:
            message = ("only one DataScienceCluster allowed: %s already exists"
                       % all_dscs[0]["metadata"]["name"])
            wanted = {"phase": "Error", "errorMessage": message,
                      "conditions": core.merge_conditions(status.get("conditions"), [
                          core.condition("Ready", "False", "Error", message),
                          core.condition("ProvisioningSucceeded", "False", "Error", message)])}
            if core.differs(status, wanted):
                kube.patch_status(api, "datascienceclusters", name, wanted)
                log.info("DSC %s: Error (not the only one)", name)
            return

        components = ((dsc.get("spec") or {}).get("components") or {})
        delay = ctx.seconds("dsc")
        now = time.monotonic()
        old_conditions = {c.get("type"): c for c in status.get("conditions") or []}
        conditions, installed, component_status = [], {}, {}
        not_ready, failed, next_check = [], [], None
        waiting_dsci = not dsci_ready(ctx)
        for component in sorted(components):
            state = (components[component] or {}).get("managementState") or "Removed"
            ctype = condition_type(component)
            component_status[component] = {"managementState": state}
            installed[component] = state == "Managed"
            if state != "Managed":
                self._since.pop((uid, component), None)
                conditions.append(core.condition(
                    ctype, "False", state,
                    "Component ManagementState is set to %s" % state))
                continue
            since = self._since.setdefault((uid, component), now)
            injected = ctx.failure("dscComponents", component)
            previous = old_conditions.get(ctype) or {}
            if injected:
                conditions.append(core.condition(ctype, "False", "Error", injected))
                failed.append("%s: %s" % (component, injected))
                not_ready.append(component)
                next_check = 1.0 if next_check is None else min(next_check, 1.0)
            elif waiting_dsci:
                conditions.append(core.condition(ctype, "False", "Progressing",
                                                 "waiting for DSCInitialization to be Ready"))
                not_ready.append(component)
            elif previous.get("status") == "True" or now >= since + delay:
                conditions.append(core.condition(ctype, "True", "Ready",
                                                 "Component is ready"))
            else:
                conditions.append(core.condition(ctype, "False", "Progressing",
                                                 "waiting for %s deployments to be ready"
                                                 % component))
                not_ready.append(component)
                remaining = since + delay - now
                next_check = remaining if next_check is None else min(next_check, remaining)

        ready = {c for c in components if installed.get(c) and c not in not_ready}
        for component, error in self.side_effects(ctx, components, ready).items():
            # What the component deploys could not be created (e.g. its namespace is
            # terminating): not ready, try again shortly.
            ctype = condition_type(component)
            message = "deploying %s: %s" % (component, error)
            conditions = [c for c in conditions if c["type"] != ctype]
            conditions.append(core.condition(ctype, "False", "Error", message))
            not_ready.append(component)
            failed.append("%s: %s" % (component, message))
            next_check = 1.0 if next_check is None else min(next_check, 1.0)

        if not not_ready:
            phase = "Ready"
            conditions += [
                core.condition("Ready", "True", "Ready", "Ready"),
                core.condition("Available", "True", "Ready", "DataScienceCluster is available"),
                core.condition("ProvisioningSucceeded", "True", "ProvisioningSucceeded",
                               "DataScienceCluster resource reconciled successfully"),
                core.condition("ComponentsReady", "True", "Ready", "All components are ready"),
            ]
        else:
            phase = "Progressing"
            if waiting_dsci:
                message = "waiting for DSCInitialization %s to be Ready" % DSCI_NAME
            elif failed:
                message = "Some components are not ready: " + "; ".join(failed)
            else:
                message = "Some components are not ready: " + ", ".join(not_ready)
            conditions += [
                core.condition("Ready", "False", "NotReady", message),
                core.condition("Available", "False", "NotReady", message),
                core.condition("ProvisioningSucceeded", "True", "ProvisioningSucceeded",
                               "DataScienceCluster resource reconciled successfully"),
                core.condition("ComponentsReady", "False", "NotReady", message),
            ]
        managed_types = tuple(condition_type(c) for c in CONDITION_PREFIX) + DSC_STATUS_CONDITIONS
        wanted = {
            "phase": phase,
            "conditions": core.merge_conditions(status.get("conditions"), conditions,
                                                managed=managed_types),
            "installedComponents": installed,
            "components": component_status,
            "release": RELEASE,
            "observedGeneration": dsc["metadata"].get("generation"),
        }
        if status.get("errorMessage"):
            wanted["errorMessage"] = None
        if core.differs(status, wanted):
            kube.patch_status(api, "datascienceclusters", name, wanted)
            log.info("DSC %s: %s%s", name, phase,
                     (" (waiting: %s)" % ", ".join(not_ready)) if not_ready else "")
        if next_check is not None:
            self.schedule(ctx, name, max(0.0, next_check))

    # -- what ready components bring along ------------------------------------

    def side_effects(self, ctx, components, ready):
        """Create or remove what components deploy; {component: error} of failures."""
        kube = ctx.kube
        errors = {}
        actions = {
            "dashboard": (ensure_dashboard,
                          lambda: kube.delete(ROUTE_API, "routes", "rhods-dashboard", APPS_NS)),
            "workbenches": (ensure_workbenches,
                            lambda: kube.delete(IMAGE_API, "imagestreams", BASE_IMAGE, APPS_NS)),
        }
        for component, (ensure, remove) in actions.items():
            state = (components.get(component) or {}).get("managementState")
            try:
                if component in ready:
                    ensure(ctx)
                elif state == "Removed":
                    remove()
            except ApiException as exc:
                reason = exc.reason
                try:
                    reason = json.loads(exc.body).get("message") or reason
                except (TypeError, ValueError):
                    pass
                log.warning("DSC component %s: %s", component, reason)
                errors[component] = reason
        return errors


def ensure_dashboard(ctx):
    kube = ctx.kube
    host = "rhods-dashboard-%s.%s" % (APPS_NS, core.route_domain(ctx))
    kube.ensure("v1", "namespaces", {"metadata": {"name": APPS_NS}})
    kube.ensure(ROUTE_API, "routes", {
        "apiVersion": ROUTE_API, "kind": "Route",
        "metadata": {"name": "rhods-dashboard", "namespace": APPS_NS,
                     "labels": {"app": "rhods-dashboard",
                                "app.kubernetes.io/part-of": "dashboard",
                                "platform.opendatahub.io/part-of": "dashboard"}},
        "spec": {"host": host,
                 "to": {"kind": "Service", "name": "rhods-dashboard", "weight": 100},
                 "port": {"targetPort": "https"},
                 "tls": {"termination": "reencrypt",
                         "insecureEdgeTerminationPolicy": "Redirect"},
                 "wildcardPolicy": "None"}})
    if ctx.kube.get("apiextensions.k8s.io/v1", "customresourcedefinitions",
                    "odhdashboardconfigs.opendatahub.io") is None:
        return
    kube.ensure(DASHBOARD_CONFIG_API, "odhdashboardconfigs", {
        "apiVersion": DASHBOARD_CONFIG_API, "kind": "OdhDashboardConfig",
        "metadata": {"name": "odh-dashboard-config", "namespace": APPS_NS,
                     "labels": {"app.kubernetes.io/part-of": "rhods-dashboard",
                                "app.opendatahub.io/rhods-dashboard": "true"}},
        "spec": {"dashboardConfig": {"disableTracking": True, "enablement": True},
                 "notebookController": {"enabled": True,
                                        "notebookNamespace": NOTEBOOKS_NS,
                                        "pvcSize": "20Gi"},
                 "notebookSizes": [
                     {"name": "Small",
                      "resources": {"requests": {"cpu": "1", "memory": "8Gi"},
                                    "limits": {"cpu": "2", "memory": "8Gi"}}},
                     {"name": "Medium",
                      "resources": {"requests": {"cpu": "3", "memory": "24Gi"},
                                    "limits": {"cpu": "6", "memory": "24Gi"}}}]}})


def ensure_workbenches(ctx):
    kube = ctx.kube
    kube.ensure("v1", "namespaces", {"metadata": {
        "name": NOTEBOOKS_NS, "labels": {"opendatahub.io/generated-namespace": "true"}}})
    tags = [str(t) for t in ctx.config()["rhods"].get("notebookTags") or []]
    spec_tags = []
    for index, tag in enumerate(tags):
        spec_tags.append({
            "name": tag,
            "annotations": {
                "openshift.io/imported-from": BASE_IMAGE_REPO,
                "opendatahub.io/workbench-image-recommended":
                    "true" if index == len(tags) - 1 else "false",
                "opendatahub.io/notebook-python-dependencies": "[]",
                "opendatahub.io/notebook-software": "[]",
            },
            "from": {"kind": "DockerImage", "name": "%s:%s" % (BASE_IMAGE_REPO, tag)},
            "referencePolicy": {"type": "Source"},
            "importPolicy": {"importMode": "Legacy"},
        })
    current = kube.get(IMAGE_API, "imagestreams", BASE_IMAGE, APPS_NS)
    current_tags = [t.get("name") for t in ((current or {}).get("spec") or {}).get("tags") or []]
    if current is None or current_tags != tags:
        current = kube.apply(IMAGE_API, "imagestreams", {
            "apiVersion": IMAGE_API, "kind": "ImageStream",
            "metadata": {
                "name": BASE_IMAGE, "namespace": APPS_NS,
                "labels": {"opendatahub.io/notebook-image": "true",
                           "opendatahub.io/dashboard": "true",
                           "platform.opendatahub.io/part-of": "workbenches"},
                "annotations": {
                    "opendatahub.io/notebook-image-name": "Standard Data Science",
                    "opendatahub.io/notebook-image-desc":
                        "Jupyter notebook image with a set of data science libraries",
                    "opendatahub.io/notebook-image-url":
                        "https://github.com/red-hat-data-services/notebooks",
                    "opendatahub.io/notebook-image-order": "10",
                }},
            "spec": {"lookupPolicy": {"local": True}, "tags": spec_tags}})
        # Tags dropped from the configuration go from the status too (the stream is
        # fed by imports only).
        def prune(stream):
            status = stream.get("status") or {}
            kept = [t for t in status.get("tags") or [] if t.get("tag") in tags]
            if len(kept) == len(status.get("tags") or []):
                return None
            return dict(status, tags=kept)
        current = openshift.update_imagestream_status(ctx, APPS_NS, BASE_IMAGE, prune) or current
    # The status the image import gives (same helper as the ImageStream controller).
    openshift.sync_imagestream_status(ctx, current)


def remove_components(ctx):
    api = dsc_api(ctx)
    if api and ctx.kube.list(api, "datascienceclusters"):
        return
    ctx.kube.delete(ROUTE_API, "routes", "rhods-dashboard", APPS_NS)
    ctx.kube.delete(IMAGE_API, "imagestreams", BASE_IMAGE, APPS_NS)
    log.info("no DataScienceCluster left: dashboard Route and base ImageStream removed")


CONTROLLER = DSCController()


def run(ctx):
    def on_dsci(etype, obj):
        if etype == "DELETED":
            return
        name = obj["metadata"]["name"]
        if (obj.get("status") or {}).get("phase") == "Ready":
            return
        if not (obj.get("status") or {}).get("phase"):
            ctx.kube.patch_status(obj["apiVersion"], "dscinitializations", name,
                                  {"phase": "Progressing",
                                   "conditions": [core.condition(
                                       "Progressing", "True", "Reconciling",
                                       "Initializing DSCInitialization")]})
        ctx.later(("dsci", name), "dsci", reconcile_dsci, ctx, name)

    def on_dsc(etype, obj):
        name = obj["metadata"]["name"]
        if etype == "DELETED":
            others = ctx.kube.list(obj["apiVersion"], "datascienceclusters")
            if not others:
                # What the components deployed goes with them (owner references in ODH).
                ctx.later(("dsc-cleanup",), 0, remove_components, ctx)
            # Another DSC may now be the only one.
            for other in others:
                CONTROLLER.schedule(ctx, other["metadata"]["name"], 0)
            return
        CONTROLLER.schedule(ctx, name, 0)

    core.spawn(core.watch_forever, ctx,
               ctx.kube.lister(None, "dscinitializations", version_fn=lambda: dsci_api(ctx)),
               on_dsci, "dscinitializations", name="rhods-dsci")
    core.watch_forever(ctx,
                       ctx.kube.lister(None, "datascienceclusters",
                                       version_fn=lambda: dsc_api(ctx)),
                       on_dsc, "datascienceclusters")
