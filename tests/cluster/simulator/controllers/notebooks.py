"""The ODH notebook controller, simulated (kubeflow.org Notebook).

For each Notebook it keeps, owned by the Notebook:

* StatefulSet ``<name>`` (replicas 1, or 0 with annotation
  ``kubeflow-resource-stopped``) whose pod template is the Notebook's
  ``spec.template``;
* Service ``<name>`` (port 80 -> 8888, ``http-<name>``) and ServiceAccount ``<name>``;
* with annotation ``notebooks.opendatahub.io/inject-oauth: "true"``: Service
  ``<name>-tls`` (443 -> 8443 ``oauth-proxy``), Secret ``<name>-oauth-config``
  (random ``cookie_secret``, created once), reencrypt Route ``<name>`` to
  ``<name>-tls`` and NetworkPolicies ``<name>-ctrl-np`` / ``<name>-oauth-np``.

Readiness: once the StatefulSet reports ready replicas (the workloads
controller does that), after delay ``notebook`` the Notebook's status gets
``readyReplicas``, ``containerState.running`` and, as kubeflow's controller
does, a condition named after the container state (``Running``, ``Waiting``;
type, lastProbeTime, reason, message: the upstream NotebookCondition has no
``status``) prepended when the state changes.  A stopped Notebook reports 0
ready replicas.
"""

import base64
import copy
import logging
import secrets
import time

from .. import core

log = logging.getLogger("simulator.notebooks")

NOTEBOOK_CRD = "notebooks.kubeflow.org"
STOPPED = "kubeflow-resource-stopped"
INJECT_OAUTH = "notebooks.opendatahub.io/inject-oauth"
APPS = "apps/v1"
ROUTE_API = "route.openshift.io/v1"
NETPOL_API = "networking.k8s.io/v1"
CONTROLLER_NAMESPACE = "redhat-ods-applications"


def notebook_api(ctx):
    version = ctx.served_version(NOTEBOOK_CRD)
    return "kubeflow.org/" + version if version else None


class Notebooks:
    def __init__(self, ctx):
        self.ctx = ctx
        self.kube = ctx.kube
        self._ready_since = {}  # notebook uid -> monotonic time its StatefulSet was seen ready

    def schedule(self, namespace, name, delay=0):
        self.ctx.later(("notebook", namespace, name), delay, self.reconcile, namespace, name)

    def on_notebook(self, etype, obj):
        namespace, name = core.meta_key(obj)
        if etype == "DELETED":
            self._ready_since.pop(obj["metadata"].get("uid"), None)
            return
        self.schedule(namespace, name)

    def on_statefulset(self, etype, obj):
        for ref in obj["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "Notebook" and \
                    ref.get("apiVersion", "").startswith("kubeflow.org/"):
                namespace = obj["metadata"]["namespace"]
                self.schedule(namespace, ref["name"])

    # -- owned objects -----------------------------------------------------------

    def _owned(self, notebook, body):
        body.setdefault("metadata", {})
        body["metadata"]["namespace"] = notebook["metadata"]["namespace"]
        body["metadata"]["ownerReferences"] = [core.owner_ref(notebook)]
        labels = body["metadata"].setdefault("labels", {})
        labels["notebook-name"] = notebook["metadata"]["name"]
        return body

    def ensure_children(self, notebook):
        kube = self.kube
        meta = notebook["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        annotations = meta.get("annotations") or {}
        stopped = STOPPED in annotations
        template = copy.deepcopy((notebook.get("spec") or {}).get("template") or {})
        tmeta = template.setdefault("metadata", {})
        tmeta.setdefault("labels", {}).update({"statefulset": name, "notebook-name": name})
        tmeta.pop("creationTimestamp", None)
        kube.apply(APPS, "statefulsets", self._owned(notebook, {
            "apiVersion": APPS, "kind": "StatefulSet",
            "metadata": {"name": name, "labels": {"statefulset": name}},
            "spec": {"replicas": 0 if stopped else 1,
                     "selector": {"matchLabels": {"statefulset": name}},
                     "serviceName": "",
                     "template": template}}))
        kube.apply("v1", "services", self._owned(notebook, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"statefulset": name},
                     "ports": [{"name": "http-" + name, "port": 80, "targetPort": 8888,
                                "protocol": "TCP"}]}}))
        oauth = str(annotations.get(INJECT_OAUTH, "")).lower() == "true"
        sa_annotations = {}
        if oauth:
            sa_annotations["serviceaccounts.openshift.io/oauth-redirectreference.first"] = (
                '{"kind":"OAuthRedirectReference","apiVersion":"v1",'
                '"reference":{"kind":"Route","name":"%s"}}' % name)
        kube.ensure("v1", "serviceaccounts", self._owned(notebook, {
            "metadata": {"name": name, "annotations": sa_annotations}}))
        if not oauth:
            return
        kube.apply("v1", "services", self._owned(notebook, {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name + "-tls",
                         "annotations": {"service.beta.openshift.io/serving-cert-secret-name":
                                         name + "-tls"}},
            "spec": {"selector": {"statefulset": name},
                     "ports": [{"name": "oauth-proxy", "port": 443, "targetPort": 8443,
                                "protocol": "TCP"}]}}))
        cookie = base64.b64encode(secrets.token_urlsafe(24).encode()).decode()
        kube.ensure("v1", "secrets", self._owned(notebook, {
            "metadata": {"name": name + "-oauth-config"}, "type": "Opaque",
            "data": {"cookie_secret": base64.b64encode(cookie.encode()).decode()}}))
        kube.ensure(ROUTE_API, "routes", self._owned(notebook, {
            "apiVersion": ROUTE_API, "kind": "Route",
            "metadata": {"name": name},
            "spec": {"to": {"kind": "Service", "name": name + "-tls", "weight": 100},
                     "port": {"targetPort": "oauth-proxy"},
                     "tls": {"termination": "reencrypt",
                             "insecureEdgeTerminationPolicy": "Redirect"},
                     "wildcardPolicy": "None"}}))
        kube.ensure(NETPOL_API, "networkpolicies", self._owned(notebook, {
            "apiVersion": NETPOL_API, "kind": "NetworkPolicy",
            "metadata": {"name": name + "-ctrl-np"},
            "spec": {"podSelector": {"matchLabels": {"notebook-name": name}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"protocol": "TCP", "port": 8888}],
                                  "from": [{"namespaceSelector": {"matchLabels": {
                                      "kubernetes.io/metadata.name": CONTROLLER_NAMESPACE}}}]}]}}))
        kube.ensure(NETPOL_API, "networkpolicies", self._owned(notebook, {
            "apiVersion": NETPOL_API, "kind": "NetworkPolicy",
            "metadata": {"name": name + "-oauth-np"},
            "spec": {"podSelector": {"matchLabels": {"notebook-name": name}},
                     "policyTypes": ["Ingress"],
                     "ingress": [{"ports": [{"protocol": "TCP", "port": 8443}]}]}}))

    # -- reconcile -----------------------------------------------------------------

    def reconcile(self, namespace, name):
        api = notebook_api(self.ctx)
        if api is None:
            return
        notebook = self.kube.get(api, "notebooks", name, namespace)
        if notebook is None or notebook["metadata"].get("deletionTimestamp"):
            return
        self.ensure_children(notebook)
        uid = notebook["metadata"]["uid"]
        stopped = STOPPED in (notebook["metadata"].get("annotations") or {})
        sts = self.kube.get(APPS, "statefulsets", name, namespace) or {}
        sts_status = sts.get("status") or {}
        ready = int(sts_status.get("readyReplicas") or 0)
        status = notebook.get("status") or {}
        if stopped or ready < 1:
            self._ready_since.pop(uid, None)
            state = {} if stopped else {"waiting": {"reason": "ContainerCreating"}}
            wanted = {"readyReplicas": 0 if stopped else ready,
                      "conditions": _next_conditions(status, state),
                      "containerState": state}
            if core.differs(status, wanted):
                self.kube.patch_status(api, "notebooks", name, _replace_state(status, wanted),
                                       namespace)
            return
        now = time.monotonic()
        since = self._ready_since.setdefault(uid, now)
        remaining = since + self.ctx.seconds("notebook") - now
        if remaining > 0 and not status.get("readyReplicas"):
            self.schedule(namespace, name, remaining)
            return
        started = (((status.get("containerState") or {}).get("running") or {})
                   .get("startedAt")) or core.now_iso()
        state = {"running": {"startedAt": started}}
        wanted = {"readyReplicas": ready, "conditions": _next_conditions(status, state),
                  "containerState": state}
        if core.differs(status, wanted):
            self.kube.patch_status(api, "notebooks", name, _replace_state(status, wanted),
                                   namespace)
            log.info("Notebook %s/%s ready", namespace, name)


def _next_conditions(status, state):
    """kubeflow's getNextCondition: the newest first, one per change of container state."""
    old = list(status.get("conditions") or [])
    if not state:
        return old
    kind = next(iter(state))
    detail = state[kind] or {}
    new = {"type": kind.capitalize(), "lastProbeTime": core.now_iso()}
    new.update({k: detail[k] for k in ("reason", "message") if detail.get(k)})
    if old and all(old[0].get(k) == new.get(k) for k in ("type", "reason", "message")):
        return old
    return [new] + old


def _replace_state(status, wanted):
    """A merge patch that replaces containerState (merge would keep old keys)."""
    patch = dict(wanted)
    old_state = status.get("containerState") or {}
    new_state = dict(wanted.get("containerState") or {})
    for key in old_state:
        if key not in new_state:
            new_state[key] = None
    patch["containerState"] = new_state
    return patch


def run(ctx):
    notebooks = Notebooks(ctx)

    def version_fn():
        return notebook_api(ctx)

    core.spawn(core.watch_forever, ctx, ctx.kube.lister(APPS, "statefulsets"),
               notebooks.on_statefulset, "notebook-statefulsets", name="notebooks-statefulsets")
    core.watch_forever(ctx, ctx.kube.lister(None, "notebooks", version_fn=version_fn),
                       notebooks.on_notebook, "notebooks")
