# SPDX-License-Identifier: Apache-2.0
"""Red Hat OpenShift AI (RHODS/RHOAI): the DataScienceCluster and its readiness.

The served API version is discovered (v1 on RHODS/RHOAI 2.x, v2 on 3.x; when
both are served, v2 is used: it is the storage version going forward). The
component list comes from the served CRD's schema, so every component the
operator knows is pinned explicitly; a static list per version is the fallback
when the CRD cannot be read.
"""

import copy

from ansible_collections.rhods.gitops.plugins.module_utils.apply import Applier
from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    ApiError,
    GitopsError,
    NotServed,
)
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import (
    CRD,
    DSC_CRD,
    DSC_GROUP,
    DSCI_GROUP,
    ROUTE,
    datasciencecluster,
    dscinitialization,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    describe_condition,
    dig,
    find_condition,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    SEES_MISSING,
    phase_is,
    predicate,
)


# Preference when the served versions are discovered (api_version: auto).
VERSION_PREFERENCE = ("v2", "v1")

# Fallback component lists (used when the CRD schema cannot be read): RHOAI 2.25 (v1)
# and RHOAI 3.0 (v2).
KNOWN_COMPONENTS = {
    "v1": ("codeflare", "dashboard", "datasciencepipelines", "feastoperator", "kserve", "kueue",
           "llamastackoperator", "modelmeshserving", "modelregistry", "ray", "trainingoperator",
           "trustyai", "workbenches"),
    "v2": ("aipipelines", "dashboard", "feastoperator", "kserve", "kueue", "llamastackoperator",
           "modelregistry", "ray", "trainingoperator", "trustyai", "workbenches"),
}
DEFAULT_MANAGED = ("dashboard", "workbenches")
MANAGED = "Managed"
REMOVED = "Removed"

# The operator names a component's condition after its kind: <Kind>Ready. For
# these components the kind differs from the field name in the DSC spec.
CONDITION_KINDS = {"aipipelines": ("DataSciencePipelines",)}


def choose_version(served, wanted="auto"):
    """The DataScienceCluster API version to use, from the versions the cluster serves."""
    if not served:
        raise GitopsError(
            "The cluster does not serve {0} (DataScienceCluster): the RHODS/RHOAI operator is not "
            "installed or its CRDs are not established yet. Install it first "
            "(rhods.gitops.olm_operator waits for its CRDs).".format(DSC_GROUP))
    if wanted != "auto":
        if wanted not in served:
            raise GitopsError("api_version {0} is not served for DataScienceCluster; the cluster "
                              "serves {1}. Use api_version: auto or one of those.".format(
                                  wanted, ", ".join(served)))
        return wanted
    for version in VERSION_PREFERENCE:
        if version in served:
            return version
    raise GitopsError("DataScienceCluster is served as {0}, and this collection knows {1}: "
                      "set api_version explicitly only if its components match.".format(
                          ", ".join(served), ", ".join(VERSION_PREFERENCE)))


def schema_components(crd, version):
    """Component names of ``version`` in the DataScienceCluster CRD schema, or None."""
    for served in dig(crd, "spec.versions", []):
        if served.get("name") == version:
            props = dig(served, "schema.openAPIV3Schema.properties.spec.properties.components."
                                "properties")
            return sorted(props) if props else None
    return None


def component_spec(names, overrides=None, default_managed=DEFAULT_MANAGED):
    """``spec.components`` with every component pinned: ``overrides`` (name -> state
    string or mapping) over the defaults (``default_managed`` Managed, others Removed)."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise GitopsError(
            "components: {0} {1} not part of this DataScienceCluster version; its components are: "
            "{2}.".format(", ".join(unknown), "is" if len(unknown) == 1 else "are",
                          ", ".join(names)), unknown_components=unknown)
    spec = {}
    for name in names:
        default = MANAGED if name in default_managed else REMOVED
        value = overrides.get(name)
        if value is None:
            spec[name] = {"managementState": default}
        elif isinstance(value, str):
            spec[name] = {"managementState": value}
        elif isinstance(value, dict):
            spec[name] = copy.deepcopy(value)
            spec[name].setdefault("managementState", MANAGED)
        else:
            raise GitopsError("components.{0} must be a management state (Managed, Removed) or "
                              "a mapping, not {1}.".format(name, type(value).__name__))
    return spec


def dsc_definition(name, version, components):
    return datasciencecluster(version).definition(name, spec={"components": components})


def choose_name(existing, wanted, on_other):
    """The DSC name to manage; only one DataScienceCluster may exist."""
    others = sorted(dig(d, "metadata.name") for d in existing if dig(d, "metadata.name") != wanted)
    if not others:
        return wanted
    if on_other == "adopt" and len(others) == 1:
        return others[0]
    raise GitopsError(
        "DataScienceCluster {0} already exists and only one is allowed per cluster. Set name: {1} "
        "to manage it{2}, or delete it.".format(
            ", ".join(others), others[0], " (or existing: adopt)" if on_other != "adopt" else ""),
        existing_datascienceclusters=others)


def component_condition(dsc, component):
    """The ``<Component>Ready`` condition of a component (case-insensitive), or None."""
    for kind in (component,) + CONDITION_KINDS.get(component, ()):
        cond = find_condition(dsc, kind + "Ready", ignore_case=True)
        if cond is not None:
            return cond
    return None


def component_states(dsc, components):
    """Per component: its management state and, for Managed ones, readiness and message."""
    states = {}
    for name, spec in sorted(components.items()):
        state = {"managementState": spec.get("managementState")}
        if state["managementState"] == MANAGED:
            cond = component_condition(dsc, name)
            state["ready"] = bool(cond and cond.get("status") == "True")
            state["reason"] = (cond or {}).get("reason")
            state["message"] = (cond or {}).get("message")
        states[name] = state
    return states


def evaluate_dsc(dsc, components):
    """``(ok, reason)``: ready when the operator has seen the current spec, the DSC is
    Ready (phase or condition) and every Managed component's condition is True.
    Removed components are ignored; the reason names the components not ready."""
    if dsc is None:
        return False, "does not exist yet"
    observed = dig(dsc, "status.observedGeneration")
    generation = dig(dsc, "metadata.generation")
    if observed is not None and generation is not None and observed < generation:
        return False, "the operator has not reconciled generation {0} yet (observed {1})".format(
            generation, observed)
    waiting = []
    for name, spec in sorted(components.items()):
        if spec.get("managementState") != MANAGED:
            continue
        cond = component_condition(dsc, name)
        if cond is None:
            waiting.append("{name} (no {name}Ready condition yet)".format(name=name))
        elif cond.get("status") != "True":
            waiting.append("{0} ({1})".format(name, describe_condition(cond)))
    phase = dig(dsc, "status.phase")
    ready_cond = find_condition(dsc, "Ready")
    overall = phase == "Ready" or (ready_cond or {}).get("status") == "True"
    if overall and not waiting:
        return True, "phase Ready, all Managed components ready"
    parts = []
    if waiting:
        parts.append("components not ready: " + "; ".join(waiting))
    if not overall:
        parts.append("DataScienceCluster phase {0}{1}".format(
            phase or "not set yet",
            ", " + describe_condition(ready_cond) if ready_cond else ""))
    return False, "; ".join(parts)


def dsc_ready(components):
    @predicate("DataScienceCluster Ready with every Managed component ready", SEES_MISSING)
    def check(dsc):
        return evaluate_dsc(dsc, components)
    return check


def route_url(route):
    """``https://<host>`` of a Route (admitted host first), or None."""
    ingress = dig(route, "status.ingress", [])
    host = (ingress[0].get("host") if ingress else None) or dig(route, "spec.host")
    return "https://{0}".format(host) if host else None


class DataScienceCluster:
    """Ensure the DataScienceCluster, then wait for DSCI and DSC; fills ``run.result``."""

    def __init__(self, run, params):
        self.run = run
        self.p = params
        self.cluster = run.cluster

    def ensure(self):
        served = self.cluster.served_versions(DSC_GROUP)
        if not served and self.run.check_mode:
            self.run.warnings.append(
                "{0} is not served yet (the operator is not installed), so check mode cannot "
                "validate the DataScienceCluster; a real run creates it.".format(DSC_GROUP))
            self.run.changed = True
            self.run.result.update(name=self.p["name"], api_version=None)
            return
        version = choose_version(served, self.p["api_version"])
        kind = datasciencecluster(version)
        components = component_spec(self.components_of(version), self.p["components"])
        existing = self.cluster.list(self.cluster.resource(*kind))[0]
        name = choose_name(existing, self.p["name"], self.p["existing"])
        definition = dsc_definition(name, version, components)
        if self.p["apply"]:
            applier = Applier(self.cluster, self.run.check_mode,
                              force_conflicts=self.p["force_conflicts"])
            result = applier.apply(applier.prepare(copy.deepcopy(definition)))
            self.run.record([result])
            self.run.warnings.extend(applier.warnings)
        # else another writer (rhods.gitops.deliver, or Argo CD) delivers ``definition``
        self.run.result.update(name=name, api_version=kind.api_version, definition=definition,
                               components=component_states(None, components))
        if self.run.check_mode or not self.p["wait"]:
            return
        dsci = self.wait_dsci(version)
        dsc = self.run.waiter.wait(kind.select(name), dsc_ready(components))
        namespace = dig(dsci, "spec.applicationsNamespace") or self.p["applications_namespace"]
        self.run.result.update(
            components=component_states(dsc, components),
            phase=dig(dsc, "status.phase"),
            applications_namespace=namespace,
            dsci=dig(dsci, "metadata.name"),
            dashboard_url=self.dashboard_url(namespace, components),
        )

    def components_of(self, version):
        """Components of the served schema, or the known list of ``version``."""
        try:
            crd = self.cluster.get(self.cluster.resource(*CRD), DSC_CRD)
        except ApiError as exc:
            if exc.status != 403:
                raise
            crd = None
        return schema_components(crd, version) or list(KNOWN_COMPONENTS[version])

    def wait_dsci(self, dsc_version):
        served = self.cluster.served_versions(DSCI_GROUP)
        version = dsc_version if dsc_version in served else (served or [dsc_version])[0]
        return self.run.waiter.wait(
            dscinitialization(version).select(self.p["dsci_name"]),
            phase_is("Ready"))

    def dashboard_url(self, namespace, components):
        if components.get("dashboard", {}).get("managementState") != MANAGED:
            return None
        try:
            resource = self.cluster.resource(*ROUTE)
        except NotServed:
            return None
        return route_url(self.cluster.get(resource, self.p["dashboard_route"], namespace))


def run_datasciencecluster(run):
    DataScienceCluster(run, run.params).ensure()
