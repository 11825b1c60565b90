"""The ODH notebook mutating admission webhook (test infrastructure only).

A real HTTPS admission webhook on ``https://127.0.0.1:<ports.json webhook>``,
registered with the kube-apiserver through the MutatingWebhookConfiguration
``localcluster-notebook-oauth`` (webhooks accept plain URLs, so no Service is
needed).  Like the webhook of the ODH notebook controller, it injects the
``oauth-proxy`` sidecar, its volumes and ``serviceAccountName: <name>`` into
every Notebook annotated ``notebooks.opendatahub.io/inject-oauth: "true"``, on
CREATE and UPDATE.  That makes "re-applying our Notebook must not remove the
injected container" a real test against a real apiserver.

The mutation is idempotent: a container or volume that is already there is
left exactly as it is.  ``failurePolicy: Fail`` as upstream: while the
simulator is down, Notebooks cannot be written.
"""

import base64
import json
import logging
import os
import threading
import time
from http.server import BaseHTTPRequestHandler

from kubernetes.client.rest import ApiException

from .core import FIELD_MANAGER
from .proxy import TLSThreadingServer

log = logging.getLogger("simulator.webhook")

CONFIG_NAME = "localcluster-notebook-oauth"
WEBHOOK_NAME = "notebooks.opendatahub.io"
PATH = "/mutate-notebook"
INJECT_ANNOTATION = "notebooks.opendatahub.io/inject-oauth"
CONTAINER = "oauth-proxy"
OAUTH_PROXY_IMAGE = ("registry.redhat.io/openshift4/ose-oauth-proxy@sha256:"
                     "4bef31eb993feb6f1096b51b4876c65a6fb1f4401fee97fa4f4542b6b7c9bc46")


def oauth_proxy_container(name, namespace):
    sar = json.dumps({"verb": "get", "resource": "notebooks", "resourceAPIGroup": "kubeflow.org",
                      "resourceName": name, "namespace": namespace}, separators=(",", ":"))
    probe = {"httpGet": {"path": "/oauth/healthz", "port": "oauth-proxy", "scheme": "HTTPS"},
             "initialDelaySeconds": 5, "timeoutSeconds": 1, "periodSeconds": 5,
             "successThreshold": 1, "failureThreshold": 3}
    return {
        "name": CONTAINER,
        "image": OAUTH_PROXY_IMAGE,
        "imagePullPolicy": "Always",
        "env": [{"name": "NAMESPACE",
                 "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                            "fieldPath": "metadata.namespace"}}}],
        "args": [
            "--provider=openshift",
            "--https-address=:8443",
            "--http-address=",
            "--openshift-service-account=%s" % name,
            "--cookie-secret-file=/etc/oauth/config/cookie_secret",
            "--cookie-expire=24h0m0s",
            "--tls-cert=/etc/tls/private/tls.crt",
            "--tls-key=/etc/tls/private/tls.key",
            "--upstream=http://localhost:8888",
            "--upstream-ca=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
            "--email-domain=*",
            "--skip-provider-button",
            "--openshift-sar=%s" % sar,
            "--logout-url=https://rhods-dashboard-redhat-ods-applications.apps.localcluster.test"
            "/projects/%s?notebookLogout=%s" % (namespace, name),
        ],
        "ports": [{"name": CONTAINER, "containerPort": 8443, "protocol": "TCP"}],
        "livenessProbe": probe,
        "readinessProbe": dict(probe),
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [
            {"name": "oauth-config", "mountPath": "/etc/oauth/config"},
            {"name": "tls-certificates", "mountPath": "/etc/tls/private"},
        ],
    }


def oauth_volumes(name):
    return [
        {"name": "oauth-config", "secret": {"secretName": name + "-oauth-config",
                                            "defaultMode": 420}},
        {"name": "tls-certificates", "secret": {"secretName": name + "-tls",
                                                "defaultMode": 420}},
    ]


def mutate(notebook):
    """The JSONPatch (list of operations) that injects OAuth into ``notebook``."""
    meta = notebook.get("metadata") or {}
    if (meta.get("annotations") or {}).get(INJECT_ANNOTATION) != "true":
        return []
    name = meta.get("name") or ""
    namespace = meta.get("namespace") or ""
    spec = notebook.get("spec")
    if not isinstance(spec, dict):
        return []
    ops = []
    template = spec.get("template")
    if not isinstance(template, dict):
        ops.append({"op": "add", "path": "/spec/template", "value": {"spec": {}}})
        pod = {}
    else:
        pod = template.get("spec")
        if not isinstance(pod, dict):
            ops.append({"op": "add", "path": "/spec/template/spec", "value": {}})
            pod = {}
    base = "/spec/template/spec"
    containers = pod.get("containers")
    if not isinstance(containers, list):
        ops.append({"op": "add", "path": base + "/containers",
                    "value": [oauth_proxy_container(name, namespace)]})
    elif not any(isinstance(c, dict) and c.get("name") == CONTAINER for c in containers):
        ops.append({"op": "add", "path": base + "/containers/-",
                    "value": oauth_proxy_container(name, namespace)})
    volumes = pod.get("volumes")
    wanted = oauth_volumes(name)
    if not isinstance(volumes, list):
        ops.append({"op": "add", "path": base + "/volumes", "value": wanted})
    else:
        present = {v.get("name") for v in volumes if isinstance(v, dict)}
        for volume in wanted:
            if volume["name"] not in present:
                ops.append({"op": "add", "path": base + "/volumes/-", "value": volume})
    if pod.get("serviceAccountName") != name:
        ops.append({"op": "add", "path": base + "/serviceAccountName", "value": name})
    return ops


def review_response(review):
    request = review.get("request") or {}
    response = {"uid": request.get("uid", ""), "allowed": True}
    obj = request.get("object")
    kind = (request.get("kind") or {}).get("kind")
    if request.get("operation") in ("CREATE", "UPDATE") and kind == "Notebook" and isinstance(
            obj, dict):
        ops = mutate(obj)
        if ops:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
            log.debug("injecting oauth-proxy into %s/%s: %d operations",
                      request.get("namespace"), request.get("name"), len(ops))
    return {"apiVersion": review.get("apiVersion", "admission.k8s.io/v1"),
            "kind": "AdmissionReview", "response": response}


class WebhookHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcluster-webhook"
    disable_nagle_algorithm = True  # headers and body are separate writes
    timeout = 120

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)

    log_error = log_message

    def _send(self, code, data, content_type="application/json"):
        self.send_response_only(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        if self.path.split("?")[0] in ("/healthz", "/readyz", "/livez"):
            self._send(200, b"ok", "text/plain")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self):
        if self.path.split("?")[0] != PATH:
            self._send(404, b"not found", "text/plain")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            review = json.loads(self.rfile.read(length) or b"{}")
            answer = review_response(review)
        except Exception as exc:  # pylint: disable=broad-except
            log.exception("bad admission review")
            self._send(400, json.dumps({"error": str(exc)}).encode())
            return
        self._send(200, json.dumps(answer).encode())


def webhook_configuration(url, ca_bundle):
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": CONFIG_NAME,
                     "labels": {"localcluster.rhods.gitops/simulator": "true"}},
        "webhooks": [{
            "name": WEBHOOK_NAME,
            "clientConfig": {"url": url, "caBundle": ca_bundle},
            "rules": [{"apiGroups": ["kubeflow.org"], "apiVersions": ["v1"],
                       "operations": ["CREATE", "UPDATE"], "resources": ["notebooks"],
                       "scope": "*"}],
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "failurePolicy": "Fail",
            "matchPolicy": "Equivalent",
            "reinvocationPolicy": "IfNeeded",
            "timeoutSeconds": 5,
        }],
    }


def register(ctx, port):
    with open(os.path.join(ctx.state_dir, "pki", "ca.crt"), "rb") as handle:
        ca_bundle = base64.b64encode(handle.read()).decode()
    body = webhook_configuration("https://127.0.0.1:%d%s" % (port, PATH), ca_bundle)
    ctx.api_client.call_api(
        "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/" + CONFIG_NAME,
        "PATCH", query_params=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        header_params={"Accept": "application/json",
                       "Content-Type": "application/apply-patch+yaml"},
        body=body, auth_settings=["BearerToken"], _preload_content=False,
        _return_http_data_only=True)


def run(ctx):
    port = int(ctx.ports["webhook"])
    pki = os.path.join(ctx.state_dir, "pki")
    deadline = time.monotonic() + 30
    while True:
        try:
            server = TLSThreadingServer(("127.0.0.1", port), WebhookHandler,
                                        os.path.join(pki, "serving.crt"),
                                        os.path.join(pki, "serving.key"))
            break
        except OSError as exc:
            # A simulator being replaced may still hold the port for a moment.
            if time.monotonic() > deadline:
                raise
            log.warning("webhook port %d: %s; retrying", port, exc)
            time.sleep(0.5)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.5},
                              name="webhook-server", daemon=True)
    thread.start()
    log.info("notebook webhook on https://127.0.0.1:%d%s", port, PATH)
    # Register only once we listen, and keep the registration in place (it
    # survives in etcd across simulator restarts; the port may have changed).
    while True:
        try:
            register(ctx, port)
            break
        except (ApiException, OSError) as exc:
            log.warning("registering the notebook webhook: %s", getattr(exc, "reason", exc))
            time.sleep(1)
    thread.join()
