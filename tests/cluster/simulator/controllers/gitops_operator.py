"""The OpenShift GitOps operator, simulated.

``on_installed`` (called by ``installed_operators`` once the real OLM has
made the CSV Succeeded and its CRDs are Established) creates what the operator creates on a real cluster:
namespace ``openshift-gitops``, the default ArgoCD ``openshift-gitops``, the
application controller's ServiceAccount, the admin Secret
``openshift-gitops-cluster`` (``admin.password``, random, created once), the
Service and Route ``openshift-gitops-server``.

``run`` watches ArgoCD objects.  For each instance it writes what Argo CD reads
(``argocd_config``), then starts the REAL Argo CD application controller,
repo-server and a redis for it (``lc/argocd_instance.py``: processes of the
local cluster, recorded in its state directory) and, once they answer, reports
``phase: Available`` with the server's host.  Deleting the ArgoCD stops them.
The Route, the Service and the admin Secret stay simulated (no API server, no
UI, no dex, no ApplicationSet or notifications controller run here).
"""

import base64
import logging
import secrets

from lc import argocd_instance

from .. import core
from . import argocd_config

log = logging.getLogger("simulator.gitops")

NAMESPACE = "openshift-gitops"
INSTANCE = "openshift-gitops"
ARGOCD_CRD = "argocds.argoproj.io"
ROUTE = "route.openshift.io/v1"


def argocd_version(ctx):
    return ctx.served_version(ARGOCD_CRD)


def server_host(ctx, name, namespace):
    return "%s-server-%s.%s" % (name, namespace, core.route_domain(ctx))


def ensure_instance_objects(ctx, namespace, name, owner=None, route=True):
    """What the operator creates for every ArgoCD instance (no pods here)."""
    kube = ctx.kube
    labels = {"app.kubernetes.io/managed-by": name, "app.kubernetes.io/part-of": "argocd"}

    def body(kind_name, extra):
        meta = {"name": kind_name, "namespace": namespace, "labels": dict(labels)}
        if owner is not None:
            meta["ownerReferences"] = [core.owner_ref(owner)]
        return dict(extra, metadata=meta)

    for component in ("argocd-application-controller", "argocd-server"):
        kube.ensure("v1", "serviceaccounts", body("%s-%s" % (name, component), {}))
    password = secrets.token_urlsafe(24)
    kube.ensure("v1", "secrets", body("%s-cluster" % name, {
        "type": "Opaque",
        "data": {"admin.password": base64.b64encode(password.encode()).decode()}}))
    kube.ensure("v1", "services", body("%s-server" % name, {
        "spec": {"selector": {"app.kubernetes.io/name": "%s-server" % name},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                           {"name": "https", "port": 443, "targetPort": 8080}]}}))
    if route:
        kube.ensure(ROUTE, "routes", body("%s-server" % name, {
            "apiVersion": ROUTE, "kind": "Route",
            "spec": {"host": server_host(ctx, name, namespace),
                     "to": {"kind": "Service", "name": "%s-server" % name, "weight": 100},
                     "port": {"targetPort": "https"},
                     "tls": {"termination": "reencrypt",
                             "insecureEdgeTerminationPolicy": "Redirect"},
                     "wildcardPolicy": "None"}}))


def on_installed(ctx, operator_namespace):
    kube = ctx.kube
    log.info("GitOps operator installed in %s: creating the default instance", operator_namespace)
    kube.ensure("v1", "namespaces", {"metadata": {
        "name": NAMESPACE,
        "labels": {"openshift.io/cluster-monitoring": "true",
                   "argocd.argoproj.io/managed-by": NAMESPACE}}})
    # The default instance's objects are not owned by it (they survive its re-creation).
    ensure_instance_objects(ctx, NAMESPACE, INSTANCE)
    version = argocd_version(ctx)
    if version is None:
        log.error("ArgoCD CRD not served: cannot create the default instance")
        return
    api = "argoproj.io/" + version
    kube.ensure(api, "argocds", {
        "apiVersion": api, "kind": "ArgoCD",
        "metadata": {"name": INSTANCE, "namespace": NAMESPACE},
        "spec": {"server": {"route": {"enabled": True}},
                 "applicationSet": {},
                 "rbac": {"defaultPolicy": "", "scopes": "[groups]",
                          "policy": "g, system:cluster-admins, role:admin\n"
                                    "g, cluster-admins, role:admin\n"}}})


def _argocd_status(ctx, obj):
    meta = obj["metadata"]
    # The real parts run; the others are not started here (see the module docstring).
    return {"phase": "Available", "applicationController": "Running", "repo": "Running",
            "redis": "Running", "server": "Unknown", "applicationSetController": "Unknown",
            "sso": "Unknown", "notificationsController": "Unknown",
            "host": server_host(ctx, meta["name"], meta["namespace"])}


def _start_argocd(ctx, obj, owner):
    """Config, RBAC and token for the instance, then its processes (idempotent)."""
    meta = obj["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    argocd_config.ensure_config(ctx, obj, owner)
    argocd_config.ensure_rbac(ctx, obj, owner, cluster_scoped=(namespace, name) == (
        NAMESPACE, INSTANCE))
    started = argocd_instance.start(ctx.state_dir, namespace, name,
                                    argocd_config.controller_token(ctx, obj))
    if started:
        log.info("ArgoCD %s/%s: started %s", namespace, name, ", ".join(started))


def reconcile(ctx, namespace, name):
    version = argocd_version(ctx)
    if version is None:
        return
    api = "argoproj.io/" + version
    obj = ctx.kube.get(api, "argocds", name, namespace)
    if obj is None or obj["metadata"].get("deletionTimestamp"):
        stop(ctx, namespace, name)
        return
    route = bool((((obj.get("spec") or {}).get("server") or {}).get("route") or {}).get("enabled"))
    default = (namespace, name) == (NAMESPACE, INSTANCE)
    owner = None if default else obj
    ensure_instance_objects(ctx, namespace, name, owner=owner, route=route or default)
    _start_argocd(ctx, obj, owner)
    wanted = _argocd_status(ctx, obj)
    if core.differs(obj.get("status"), wanted):
        ctx.kube.patch_status(api, "argocds", name, wanted, namespace)
        log.info("ArgoCD %s/%s Available", namespace, name)


def stop(ctx, namespace, name):
    stopped = argocd_instance.stop(ctx.state_dir, namespace, name)
    if stopped:
        log.info("ArgoCD %s/%s gone: stopped %s", namespace, name, ", ".join(sorted(stopped)))


def mark_pending(ctx, obj):
    namespace, name = core.meta_key(obj)
    ctx.kube.patch_status(obj["apiVersion"], "argocds", name,
                          {"phase": "Pending", "server": "Pending",
                           "applicationController": "Pending", "repo": "Pending",
                           "redis": "Pending"}, namespace)


def run(ctx):
    def on_event(etype, obj):
        namespace, name = core.meta_key(obj)
        if etype == "DELETED" or obj["metadata"].get("deletionTimestamp"):
            ctx.later(("argocd", namespace, name), 0, stop, ctx, namespace, name)
            return
        if (obj.get("status") or {}).get("phase") == "Available":
            # Already available: keep the processes running and the host in step.
            if core.differs(obj.get("status"), _argocd_status(ctx, obj)) or \
                    not argocd_instance.running(ctx.state_dir, namespace, name):
                ctx.later(("argocd", namespace, name), 0, reconcile, ctx, namespace, name)
            return
        if not (obj.get("status") or {}).get("phase"):
            mark_pending(ctx, obj)
        ctx.later(("argocd", namespace, name), "argocd", reconcile, ctx, namespace, name)

    def version_fn():
        version = argocd_version(ctx)
        return "argoproj.io/" + version if version else None

    core.watch_forever(ctx, ctx.kube.lister(None, "argocds", version_fn=version_fn), on_event,
                       "argocds")
