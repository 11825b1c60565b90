"""What the ODH notebook controller adds to a Notebook, simulated (kubeflow.org Notebook).

The StatefulSet ``<name>``, the Service ``<name>`` and the Notebook's status
(``readyReplicas``, ``containerState``, conditions) are the work of the real
Kubeflow notebook-controller (``lc/notebook_controller.py``), and the pod is run
by kwok. The ODH notebook controller cannot be fetched here (the module proxy
answers 403), so this keeps, owned by the Notebook, what it adds on OpenShift:

* ServiceAccount ``<name>``;
* with annotation ``notebooks.opendatahub.io/inject-oauth: "true"``: Service
  ``<name>-tls`` (443 -> 8443 ``oauth-proxy``), Secret ``<name>-oauth-config``
  (random ``cookie_secret``, created once), reencrypt Route ``<name>`` to
  ``<name>-tls`` and NetworkPolicies ``<name>-ctrl-np`` / ``<name>-oauth-np``.

The ``oauth-proxy`` sidecar itself is injected by the simulated mutating webhook
(``simulator/webhook.py``).
"""

import base64
import logging
import secrets

from .. import core

log = logging.getLogger("simulator.notebooks")

NOTEBOOK_CRD = "notebooks.kubeflow.org"
INJECT_OAUTH = "notebooks.opendatahub.io/inject-oauth"
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

    def schedule(self, namespace, name, delay=0):
        self.ctx.later(("notebook", namespace, name), delay, self.reconcile, namespace, name)

    def on_notebook(self, etype, obj):
        namespace, name = core.meta_key(obj)
        if etype == "DELETED":
            return
        self.schedule(namespace, name)

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
        oauth = str(annotations.get(INJECT_OAUTH, "")).lower() == "true"
        sa_annotations = {}
        if oauth:
            sa_annotations["serviceaccounts.openshift.io/oauth-redirectreference.first"] = (
                '{"kind":"OAuthRedirectReference","apiVersion":"v1",'
                '"reference":{"kind":"Route","name":"%s"}}' % name)
        missing = kube.get("v1", "serviceaccounts", name, namespace) is None
        kube.ensure("v1", "serviceaccounts", self._owned(notebook, {
            "metadata": {"name": name, "annotations": sa_annotations}}))
        if missing:
            # The real Kubeflow controller may have made the StatefulSet first; its pod cannot
            # be created without this ServiceAccount, and the StatefulSet controller retries with
            # a backoff that doubles per failure (minutes when this simulator noticed a freshly
            # installed Notebook CRD late). Touch the StatefulSet so it tries again now. The real
            # ODH controller does not; on a real cluster the pod comes after the backoff.
            kube.patch("apps/v1", "statefulsets", name, {"metadata": {"annotations": {
                "localcluster.test/service-account-ready": "true"}}}, namespace)
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
        self.unstick_status(api, notebook)

    def unstick_status(self, api, notebook):
        """kwok makes a pod Running and Ready in one status write. When the StatefulSet's
        readyReplicas reaches the real Kubeflow controller before the pod's container state,
        its first status write holds readyReplicas but no conditions, which the CRD requires
        (422), and it retries that same write forever. A kubelet reports Running before Ready,
        so this does not happen on a real cluster; here the simulator writes the empty initial
        status once the StatefulSet is ready and the Notebook still has none."""
        namespace, name = notebook["metadata"]["namespace"], notebook["metadata"]["name"]
        if notebook.get("status"):
            return
        sts = self.kube.get("apps/v1", "statefulsets", name, namespace)
        if sts is not None and (sts.get("status") or {}).get("readyReplicas"):
            self.kube.patch_status(api, "notebooks", name, {
                "conditions": [], "containerState": {}, "readyReplicas": 0}, namespace)
        elif sts is None or (sts.get("spec") or {}).get("replicas"):
            self.schedule(namespace, name, delay=2)


def run(ctx):
    notebooks = Notebooks(ctx)

    def version_fn():
        return notebook_api(ctx)

    core.watch_forever(ctx, ctx.kube.lister(None, "notebooks", version_fn=version_fn),
                       notebooks.on_notebook, "notebooks")
