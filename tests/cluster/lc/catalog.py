"""The test operator catalog: tests/cluster/catalog.yml -> a file-based catalog (FBC).

Every bundle embeds its ClusterServiceVersion and CRDs as ``olm.bundle.object``
properties and has no image: OLM's resolver then keeps the bundle content it
got from the registry (``newOperatorFromBundle``) and builds the InstallPlan
steps from it, so no bundle-unpack Job (which would need a container runtime)
is involved.
"""

import base64
import copy
import glob
import json
import os

import yaml

from . import config, crds

DESCRIPTION = os.path.join(config.CLUSTER_SRC, "catalog.yml")
OLM = "operators.coreos.com/v1alpha1"


def description(path=DESCRIPTION):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# ---------------------------------------------------------------- CRDs of an operator

def _operator_crd_files(package, dsc_versions=("v1",)):
    """The CRD files of ``package``: where they come from is said by ``lc/crds.py``."""
    return crds.operator_crds(package, dsc_versions)


def operator_crds(package, dsc_versions=("v1",)):
    docs = []
    for path in _operator_crd_files(package, dsc_versions):
        with open(path, encoding="utf-8") as handle:
            docs.extend(_as_served(d) for d in yaml.safe_load_all(handle)
                        if d and d.get("kind") == "CustomResourceDefinition")
    return docs


# The one change made to an upstream CRD. The Kubeflow Notebook CRD of the pinned commit
# requires status.conditions, containerState and readyReplicas, but the controller of the
# same commit first updates a new Notebook's status with only readyReplicas (its conditions
# marshal as null), which that schema refuses, forever ("status.conditions: Required value"
# in its log, and no Notebook ever gets a status). ODH ships the controller with its own CRD;
# here the status' "required" list is dropped, the rest of the schema stays upstream's.
def _as_served(crd):
    if crd["metadata"]["name"] == "notebooks.kubeflow.org":
        for version in crd["spec"]["versions"]:
            status = (((version.get("schema") or {}).get("openAPIV3Schema") or {})
                      .get("properties") or {}).get("status") or {}
            status.pop("required", None)
    return crd


# ---------------------------------------------------------------- one bundle

def _invalid_crd():
    """A CRD the API server rejects: its name is not <plural>.<group>."""
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "gadgets.wrong-group.localcluster.test"},
            "spec": {"group": "example.localcluster.test", "scope": "Namespaced",
                     "names": {"kind": "Gadget", "listKind": "GadgetList", "plural": "gadgets",
                               "singular": "gadget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


def _crd_description(crd):
    versions = [v for v in crd["spec"]["versions"] if v.get("served")]
    storage = next((v["name"] for v in versions if v.get("storage")), versions[0]["name"])
    kind = crd["spec"]["names"]["kind"]
    return {"name": crd["metadata"]["name"], "version": storage, "kind": kind,
            "displayName": kind}


def _deployment(package, version, failure, ready_after=None):
    labels = {"app.kubernetes.io/name": package}
    # kwok's stage (manifests/kwok-fault-stages.yaml) makes the pod Ready only that long after
    # it runs, so the CSV stays Installing meanwhile.
    annotations = {"localcluster.rhods.gitops/ready-after": ready_after} if ready_after else {}
    selector = dict(labels)
    if failure == "deployment-selector-mismatch":
        selector = {"app.kubernetes.io/name": package + "-other"}
    return {"name": package, "spec": {
        "replicas": 1,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": labels, "annotations": annotations},
            "spec": {"serviceAccountName": package,
                     "containers": [{"name": "manager",
                                     "image": "registry.localcluster.test/%s:%s"
                                              % (package, version),
                                     "resources": {"requests": {"cpu": "10m",
                                                                "memory": "64Mi"}}}]}}}}


def _csv(package, bundle, crds):
    modes = set(package.get("installModes") or ["AllNamespaces"])
    spec = {
        "displayName": package.get("displayName") or package["name"],
        "description": "Test bundle of the local control plane (tests/cluster/catalog.yml).",
        "version": str(bundle["version"]),
        "provider": {"name": "localcluster"},
        "maturity": "stable",
        "minKubeVersion": "1.25.0",
        "installModes": [{"type": mode, "supported": mode in modes}
                         for mode in ("OwnNamespace", "SingleNamespace", "MultiNamespace",
                                      "AllNamespaces")],
        "customresourcedefinitions": {"owned": [_crd_description(c) for c in crds]},
        "install": {"strategy": "deployment", "spec": {
            "permissions": [{"serviceAccountName": package["name"], "rules": [
                {"apiGroups": [""], "resources": ["configmaps", "events"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                 "verbs": ["get", "list", "watch", "create", "update", "patch"]}]}],
            "deployments": [_deployment(package["name"], bundle["version"],
                                        bundle.get("failure"), bundle.get("readyAfter"))]}},
    }
    if bundle.get("replaces"):
        spec["replaces"] = bundle["replaces"]
    if bundle.get("skips"):
        spec["skips"] = list(bundle["skips"])
    annotations = {"capabilities": "Basic Install",
                   "operators.openshift.io/infrastructure-features": "[]"}
    if bundle.get("skipRange"):
        annotations["olm.skipRange"] = bundle["skipRange"]
    return {"apiVersion": OLM, "kind": "ClusterServiceVersion",
            "metadata": {"name": bundle["name"], "annotations": annotations}, "spec": spec}


def _object_property(obj):
    data = base64.b64encode(json.dumps(obj, sort_keys=True).encode()).decode()
    return {"type": "olm.bundle.object", "value": {"data": data}}


def _bundle_crds(package, bundle):
    crds = []
    if package.get("crds"):
        crds = [copy.deepcopy(c) for c in operator_crds(
            package["name"], tuple(bundle.get("dscVersions") or ("v1",)))]
    if bundle.get("failure") == "invalid-crd":
        crds.append(_invalid_crd())
    return crds


def bundle_blob(package, bundle):
    """The ``olm.bundle`` blob of one bundle, its CSV and CRDs embedded."""
    crds = _bundle_crds(package, bundle)
    csv = _csv(package, bundle, crds)
    properties = [{"type": "olm.package", "value": {"packageName": package["name"],
                                                     "version": str(bundle["version"])}}]
    for crd in crds:
        for ver in crd["spec"]["versions"]:
            if ver.get("served"):
                properties.append({"type": "olm.gvk", "value": {
                    "group": crd["spec"]["group"], "kind": crd["spec"]["names"]["kind"],
                    "version": ver["name"]}})
    properties.append(_object_property(csv))
    properties.extend(_object_property(crd) for crd in crds)
    return {"schema": "olm.bundle", "name": bundle["name"], "package": package["name"],
            "image": "", "properties": properties}


# ---------------------------------------------------------------- the catalog

def _channel_blobs(package):
    channels = {}
    for bundle in package["bundles"]:
        for channel in bundle["channels"]:
            channels.setdefault(channel, []).append(bundle)
    blobs = []
    for channel, bundles in channels.items():
        names = {b["name"] for b in bundles}
        entries = []
        for bundle in bundles:
            entry = {"name": bundle["name"]}
            if bundle.get("replaces") in names:
                entry["replaces"] = bundle["replaces"]
            if bundle.get("skips"):
                entry["skips"] = list(bundle["skips"])
            if bundle.get("skipRange"):
                entry["skipRange"] = bundle["skipRange"]
            entries.append(entry)
        blobs.append({"schema": "olm.channel", "package": package["name"], "name": channel,
                      "entries": entries})
    return blobs


def blobs(desc):
    """Every FBC blob of the description, package by package."""
    out = []
    for package in desc["packages"]:
        out.append({"schema": "olm.package", "name": package["name"],
                    "defaultChannel": package["defaultChannel"],
                    "description": package.get("displayName") or package["name"]})
        out.extend(_channel_blobs(package))
        out.extend(bundle_blob(package, bundle) for bundle in package["bundles"])
    return out


def write(directory, desc=None):
    """Write the FBC into ``directory`` (one JSON file per package); return the directory."""
    desc = desc or description()
    os.makedirs(directory, exist_ok=True)
    for stale in glob.glob(os.path.join(directory, "*.json")):
        os.remove(stale)
    by_package = {}
    for blob in blobs(desc):
        name = blob["name"] if blob["schema"] == "olm.package" else blob["package"]
        by_package.setdefault(name, []).append(blob)
    for name, items in by_package.items():
        with open(os.path.join(directory, name + ".json"), "w", encoding="utf-8") as handle:
            for item in items:
                handle.write(json.dumps(item, sort_keys=True) + "\n")
    return directory
