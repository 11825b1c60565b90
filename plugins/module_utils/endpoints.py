# SPDX-License-Identifier: Apache-2.0
"""Where everything lives: the URLs of the Routes the collection's components
expose (Argo CD, the RHODS dashboard, every workbench, MinIO) and, only when
asked, the Argo CD admin password.

``route_url`` and ``workbench_entry`` are pure; ``collect`` reads what exists
(one GET per fixed Route, one list of Notebooks, one list of Routes per
namespace holding workbenches) and never fails because a component is not
installed: a missing Route is reported as ``None`` with the reason.
"""

import base64

from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError, NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import NOTEBOOK, ROUTE, SECRET
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig

DASHBOARD_LABEL = "opendatahub.io/dashboard=true"
DISPLAY_NAME = "openshift.io/display-name"
STOPPED = "kubeflow-resource-stopped"


def route_host(route):
    """The admitted host of a Route (``status.ingress[0].host``), else ``spec.host``."""
    ingress = dig(route, "status.ingress", []) or []
    return (ingress[0].get("host") if ingress else None) or dig(route, "spec.host")


def route_url(route, path=""):
    host = route_host(route) if route else None
    return "https://{0}{1}".format(host, path) if host else None


def workbench_entry(notebook, route):
    """One workbench of the report: name, project, URL (with the notebook path), state."""
    namespace, name = dig(notebook, "metadata.namespace"), dig(notebook, "metadata.name")
    annotations = dig(notebook, "metadata.annotations", {}) or {}
    if STOPPED in annotations:
        state = "stopped"
    elif (dig(notebook, "status.readyReplicas") or 0) >= 1:
        state = "ready"
    else:
        state = "starting"
    return {
        "name": name,
        "namespace": namespace,
        "display_name": annotations.get(DISPLAY_NAME) or name,
        "url": route_url(route, "/notebook/{0}/{1}".format(namespace, name)),
        "state": state,
    }


class Endpoints:
    """Reads the endpoints; ``collect()`` returns the module result."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.notes = []

    def _get(self, kind, name, namespace):
        try:
            return self.cluster.get(self.cluster.resource(*kind), name, namespace)
        except NotServed:
            return None
        except ApiError as exc:
            if exc.status == 403:
                self.notes.append("{0} {1}/{2}: not readable by this identity".format(
                    kind.kind, namespace, name))
                return None
            raise

    def _list(self, kind, namespace=None, label_selector=None):
        try:
            items, _resource_version = self.cluster.list(self.cluster.resource(*kind),
                                                         namespace=namespace,
                                                         label_selector=label_selector)
            return items
        except NotServed:
            return []
        except ApiError as exc:
            if exc.status == 403:
                self.notes.append("{0} list{1}: not allowed for this identity".format(
                    kind.kind, " in " + namespace if namespace else ""))
                return []
            raise

    def route(self, ref):
        if not ref or not ref.get("name"):
            return None
        route = self._get(ROUTE, ref["name"], ref.get("namespace"))
        return {"namespace": ref.get("namespace"), "name": ref["name"],
                "url": route_url(route, ref.get("path") or "")}

    def workbenches(self, namespaces=None):
        notebooks = []
        if namespaces:
            for namespace in namespaces:
                notebooks += self._list(NOTEBOOK, namespace, DASHBOARD_LABEL)
        else:
            notebooks = self._list(NOTEBOOK, None, DASHBOARD_LABEL)
        routes = {}
        for namespace in sorted({dig(n, "metadata.namespace") for n in notebooks}):
            for route in self._list(ROUTE, namespace):
                routes[(namespace, dig(route, "metadata.name"))] = route
        out = []
        for notebook in sorted(notebooks, key=lambda n: (dig(n, "metadata.namespace"),
                                                         dig(n, "metadata.name"))):
            key = (dig(notebook, "metadata.namespace"), dig(notebook, "metadata.name"))
            out.append(workbench_entry(notebook, routes.get(key)))
        return out

    def secret_value(self, ref):
        secret = self._get(SECRET, ref["name"], ref["namespace"])
        value = dig(secret, "data", {}).get(ref["key"]) if secret else None
        if value is None:
            return None
        try:
            return base64.b64decode(value).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None

    def collect(self, params):
        routes = {}
        for key in ("gitops", "dashboard", "minio_console", "minio_s3"):
            routes[key] = self.route(params.get(key))
        result = {
            "urls": {key: (value or {}).get("url") for key, value in routes.items()},
            "routes": routes,
            "workbenches": self.workbenches(params.get("workbench_namespaces")),
        }
        if params.get("show_secrets"):
            ref = params["gitops_admin_secret"]
            result["gitops_admin"] = {"username": "admin", "password": self.secret_value(ref)}
        result["notes"] = self.notes
        result["report"] = report_lines(result)
        return result


NOT_FOUND = "not found (not installed, or not ready yet)"


def report_lines(result):
    """The credentials report as lines, without any secret."""
    urls = result["urls"]
    lines = ["OpenShift GitOps (Argo CD): {0}".format(urls.get("gitops") or NOT_FOUND),
             "RHODS dashboard: {0}".format(urls.get("dashboard") or NOT_FOUND)]
    workbenches = result.get("workbenches") or []
    lines.append("Workbenches:" + ("" if workbenches else " none found"))
    for bench in workbenches:
        lines.append("  {0}/{1} ({2}, {3}): {4}".format(
            bench["namespace"], bench["name"], bench["display_name"], bench["state"],
            bench["url"] or "no Route yet"))
    lines.append("MinIO console: {0}".format(urls.get("minio_console") or NOT_FOUND))
    lines.append("MinIO S3 API: {0}".format(urls.get("minio_s3") or NOT_FOUND))
    if result.get("notes"):
        lines.append("Not readable by this identity: " + "; ".join(result["notes"]))
    return lines
