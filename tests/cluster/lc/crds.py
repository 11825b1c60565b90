"""CRDs from upstream Go modules: downloaded by ``build``, installed by ``up`` and by OLM.

The real schemas come from the modules the products publish (``go mod download``
into the shared module cache; nothing is committed).  The chosen files are
copied to ``$LOCALCLUSTER_CACHE/crds/<source>-<version>/``; a second ``build``
finds them there and does nothing.  The project's own compact CRDs
(``tests/cluster/crds/``) remain only for the kinds no module publishes: the
aggregated OpenShift APIs (Build, BuildConfig, ImageStream(Tag),
Project(Request)), OdhDashboardConfig, and the DSC/DSCI variants that serve v2.

Interface for the rest of ``localcluster`` and the simulated operators:

- ``platform_crds()``: paths installed by ``up`` (Route, the OLM kinds, the
  compact platform kinds).
- ``operator_crds(package, dsc_versions)``: paths an operator's installation
  brings (``openshift-gitops-operator``, ``rhods-operator``).
"""

import collections
import glob
import json
import os
import shutil
import subprocess
import sys
import time

from . import config

Source = collections.namedtuple("Source", "module version files")

# name -> module, exact version (the proxy refuses @latest), files inside the module.
SOURCES = {
    "openshift-api": Source(
        "github.com/openshift/api", "v0.0.0-20260204104751-e09e5a4ebcd0",
        ("route/v1/zz_generated.crd-manifests/routes.crd.yaml",)),
    "operator-framework-api": Source(
        "github.com/operator-framework/api", "v0.45.0",
        tuple("crds/operators.coreos.com_%s.yaml" % plural for plural in (
            "catalogsources", "clusterserviceversions", "installplans", "olmconfigs",
            "operatorconditions", "operatorgroups", "operators", "subscriptions"))),
    "argo-cd": Source(
        "github.com/argoproj/argo-cd/v3", "v3.2.11",
        ("manifests/crds/application-crd.yaml", "manifests/crds/appproject-crd.yaml")),
    "argocd-operator": Source(
        "github.com/argoproj-labs/argocd-operator", "v0.18.0",
        ("config/crd/bases/argoproj.io_argocds.yaml",)),
    "opendatahub-operator": Source(
        "github.com/opendatahub-io/opendatahub-operator/v2", "v2.35.0",
        ("config/crd/bases/datasciencecluster.opendatahub.io_datascienceclusters.yaml",
         "config/crd/bases/dscinitialization.opendatahub.io_dscinitializations.yaml")),
    # The Auth kind (services.platform.opendatahub.io), where RHOAI 2.17+ / ODH read the
    # dashboard's admin and allowed groups; the same module and version as the DSC above.
    "opendatahub-operator-auth": Source(
        "github.com/opendatahub-io/opendatahub-operator/v2", "v2.35.0",
        ("config/crd/bases/services.platform.opendatahub.io_auths.yaml",)),
    "notebook-controller": Source(
        "github.com/kubeflow/kubeflow/components/notebook-controller",
        "v0.0.0-20220728153354-fc09bd1eefb8",
        ("config/crd/bases/kubeflow.org_notebooks.yaml",)),
}

COMPACT_DIR = os.path.join(config.CLUSTER_SRC, "crds")

PLATFORM_UPSTREAM = ("openshift-api", "operator-framework-api")
OPERATOR_UPSTREAM = {
    "openshift-gitops-operator": ("argocd-operator", "argo-cd"),
    "rhods-operator": ("notebook-controller", "opendatahub-operator-auth"),
}


class CrdError(Exception):
    pass


# ---------------------------------------------------------------- download

def source_dir(name):
    source = SOURCES[name]
    return os.path.join(config.cache_dir(), "crds", "%s-%s" % (name, source.version))


def _cached_paths(name):
    return [os.path.join(source_dir(name), os.path.basename(f)) for f in SOURCES[name].files]


def _go_env():
    env = dict(os.environ)
    # sum.golang.org is not reachable from the build machines; the module proxy is.
    env["GOSUMDB"] = "off"
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -mod=mod").strip()
    return env


def _module_dir(module, version):
    """``go mod download`` one module version into the module cache; its directory."""
    res = subprocess.run(["go", "mod", "download", "-json", "%s@%s" % (module, version)],
                         capture_output=True, text=True, check=False, env=_go_env(),
                         cwd=config.cache_dir())
    info = {}
    try:
        info = json.loads(res.stdout) if res.stdout.strip() else {}
    except ValueError:
        pass
    if res.returncode != 0 or info.get("Error") or not info.get("Dir"):
        raise CrdError("go mod download %s@%s failed: %s" % (
            module, version, info.get("Error") or res.stderr.strip()))
    return info["Dir"]


def _check_crd_file(path):
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if "kind: CustomResourceDefinition" not in text or "apiextensions.k8s.io/v1" not in text:
        raise CrdError("%s is not an apiextensions.k8s.io/v1 CustomResourceDefinition" % path)


def download(name):
    """Copy one source's CRD files into the cache; False when they were cached already."""
    if all(os.path.exists(p) for p in _cached_paths(name)):
        return False
    source = SOURCES[name]
    print("+ go mod download %s@%s" % (source.module, source.version), file=sys.stderr, flush=True)
    moddir = _module_dir(source.module, source.version)
    dest = source_dir(name)
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for rel in source.files:
        src = os.path.join(moddir, rel)
        if not os.path.exists(src):
            raise CrdError("%s@%s has no %s" % (source.module, source.version, rel))
        target = os.path.join(tmp, os.path.basename(rel))
        shutil.copyfile(src, target)  # the module cache is read-only; the copy is not
        _check_crd_file(target)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    return True


def build():
    """``localcluster build``: every upstream CRD in the cache, with the time it took."""
    started = time.monotonic()
    fetched = []
    for name in SOURCES:
        if download(name):
            fetched.append(name)
    count = sum(len(s.files) for s in SOURCES.values())
    print("crds: %d upstream files %s in %.1fs into %s" % (
        count, "downloaded (%s)" % ", ".join(fetched) if fetched else "cached",
        time.monotonic() - started, os.path.join(config.cache_dir(), "crds")))


def missing():
    """Names of the sources not downloaded yet (``up`` refuses to start without them)."""
    return [name for name in SOURCES
            if not all(os.path.exists(p) for p in _cached_paths(name))]


# ---------------------------------------------------------------- what to install

def upstream(name):
    """The cached CRD files of one source; CrdError when ``build`` has not fetched them."""
    paths = _cached_paths(name)
    absent = [p for p in paths if not os.path.exists(p)]
    if absent:
        raise CrdError("upstream CRDs not downloaded (%s); run `tests/cluster/localcluster build`"
                       % ", ".join(absent))
    return paths


def compact(*parts):
    """The project's own CRD files under tests/cluster/crds/<parts...>."""
    return sorted(glob.glob(os.path.join(COMPACT_DIR, *parts)))


def platform_crds():
    """Installed by ``up``: Route and the OLM kinds (upstream), the OpenShift kinds (compact)."""
    paths = []
    for name in PLATFORM_UPSTREAM:
        paths += upstream(name)
    return paths + compact("platform", "*.yaml")


def operator_crds(package, dsc_versions=("v1",)):
    """The CRDs an operator's installation brings; [] for a package with none here.

    ``rhods-operator``: DataScienceCluster and DSCInitialization are upstream when
    only v1 is wanted; the variants serving v2 (``dsc_versions`` [v2] or [v1, v2])
    have no module to come from and are compact.
    """
    paths = []
    for name in OPERATOR_UPSTREAM.get(package, ()):
        paths += upstream(name)
    if package == "rhods-operator":
        variant = "".join(sorted(dsc_versions or ("v1",)))
        if variant == "v1":
            paths += upstream("opendatahub-operator")
        else:
            for kind in ("datasciencecluster", "dscinitialization"):
                found = compact("operators", package, "versions", "%s-%s.yaml" % (kind, variant))
                if not found:
                    raise CrdError("no CRD variant %s-%s (rhods.dscVersions=%s)"
                                   % (kind, variant, list(dsc_versions)))
                paths += found
    return paths + compact("operators", package, "*.yaml")
