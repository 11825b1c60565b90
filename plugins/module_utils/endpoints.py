# SPDX-License-Identifier: Apache-2.0
"""Where everything lives: the URLs of the Routes the collection's components
expose (Argo CD, the RHODS dashboard, every workbench, MinIO) and, only when
asked, the Argo CD admin password.

The Data Science Projects (namespaces labelled for the dashboard) are listed
with their data connections: name, type, endpoint, bucket and region, read from
the connection Secrets. Only those fields are decoded; the keys never leave the
Secret. The S3 endpoints in use are the distinct endpoints of the connections,
each marked when it is the in-cluster MinIO.

``route_url``, ``workbench_entry``, ``connection_entry`` and ``report_lines`` are
pure; ``collect`` reads what exists (one GET per fixed Route, one list of
Notebooks, one list of Routes per namespace holding workbenches, one list of
projects, one list of connection Secrets per project) and never fails because a
component is not installed: a missing Route is reported as ``None`` with the
reason.
"""

import base64

from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError, NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import (
    NAMESPACE, NOTEBOOK, ROUTE, SECRET)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig

DASHBOARD_LABEL = "opendatahub.io/dashboard=true"
DISPLAY_NAME = "openshift.io/display-name"
STOPPED = "kubeflow-resource-stopped"
CONNECTION_TYPES = ("opendatahub.io/connection-type-ref", "opendatahub.io/connection-type-protocol",
                    "opendatahub.io/connection-type")
# The only fields of a connection Secret that are decoded; the access keys are never read.
CONNECTION_FIELDS = {"endpoint": "AWS_S3_ENDPOINT", "bucket": "AWS_S3_BUCKET",
                     "region": "AWS_DEFAULT_REGION"}


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


def _decoded(data, key):
    value = (data or {}).get(key)
    if value is None:
        return None
    try:
        return base64.b64decode(value).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


def connection_entry(secret):
    """One data connection of the report: name, display name, type, endpoint, bucket, region.
    Nothing else of the Secret is decoded."""
    annotations = dig(secret, "metadata.annotations", {}) or {}
    kind = next((annotations[key] for key in CONNECTION_TYPES if annotations.get(key)), None)
    entry = {"name": dig(secret, "metadata.name"),
             "namespace": dig(secret, "metadata.namespace"),
             "display_name": annotations.get(DISPLAY_NAME) or dig(secret, "metadata.name"),
             "type": kind}
    for field, key in CONNECTION_FIELDS.items():
        entry[field] = _decoded(secret.get("data"), key)
    return entry


def is_minio(endpoint, minio_namespace, minio_hosts=()):
    """Whether an S3 endpoint is the in-cluster MinIO: a Service of its namespace
    (``<service>.<namespace>.svc``) or one of its Routes' hosts."""
    if not endpoint:
        return False
    host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    if host in set(h for h in minio_hosts if h):
        return True
    parts = host.split(".")
    return bool(minio_namespace) and len(parts) >= 3 and parts[1] == minio_namespace and \
        parts[2] == "svc"


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

    def projects(self, namespaces=None):
        """The Data Science Projects (or the given namespaces) with their data connections."""
        if namespaces:
            names = sorted(set(namespaces))
            display = {}
        else:
            found = self._list(NAMESPACE, None, DASHBOARD_LABEL)
            names = sorted(dig(n, "metadata.name") for n in found)
            display = {dig(n, "metadata.name"): (dig(n, "metadata.annotations", {}) or {}).get(
                DISPLAY_NAME) for n in found}
        out = []
        for name in names:
            secrets = self._list(SECRET, name, DASHBOARD_LABEL)
            connections = [connection_entry(s) for s in secrets
                           if any((dig(s, "metadata.annotations", {}) or {}).get(key)
                                  for key in CONNECTION_TYPES)]
            out.append({"name": name, "display_name": display.get(name) or name,
                        "connections": sorted(connections, key=lambda c: c["name"])})
        return out

    def secret_value(self, ref):
        secret = self._get(SECRET, ref["name"], ref["namespace"])
        return _decoded(secret.get("data"), ref["key"]) if secret else None

    def collect(self, params):
        routes = {}
        for key in ("gitops", "dashboard", "minio_console", "minio_s3"):
            routes[key] = self.route(params.get(key))
        result = {
            "urls": {key: (value or {}).get("url") for key, value in routes.items()},
            "routes": routes,
            "workbenches": self.workbenches(params.get("workbench_namespaces")),
            "projects": self.projects(params.get("workbench_namespaces")),
        }
        minio_url = result["urls"].get("minio_s3")
        result["s3_endpoints"] = s3_endpoints(
            result["projects"], (params.get("minio_s3") or {}).get("namespace"),
            [minio_url.split("://", 1)[1]] if minio_url else [])
        if params.get("show_secrets"):
            ref = params["gitops_admin_secret"]
            result["gitops_admin"] = {"username": "admin", "password": self.secret_value(ref)}
        result["notes"] = self.notes
        result["report"] = report_lines(result)
        return result


def s3_endpoints(projects, minio_namespace, minio_hosts=()):
    """The distinct S3 endpoints the data connections use, each with whether it is MinIO's
    and how many connections use it."""
    counts = {}
    for project in projects:
        for connection in project["connections"]:
            if connection.get("endpoint"):
                counts[connection["endpoint"]] = counts.get(connection["endpoint"], 0) + 1
    return [{"endpoint": endpoint, "minio": is_minio(endpoint, minio_namespace, minio_hosts),
             "connections": count} for endpoint, count in sorted(counts.items())]


NOT_FOUND = "not found (not installed, or not ready yet)"


def project_lines(projects):
    """Each Data Science Project with its data connections (endpoint and bucket, no keys)."""
    lines = ["Data Science Projects:" + ("" if projects else " none found")]
    for project in projects:
        title = project["name"] + (" ({0})".format(project["display_name"])
                                   if project["display_name"] != project["name"] else "")
        connections = project["connections"]
        lines.append("  {0}: {1}".format(title, "{0} data connection{1}".format(
            len(connections), "" if len(connections) == 1 else "s") if connections
            else "no data connection"))
        for connection in connections:
            lines.append("    {0} ({1}): {2} bucket {3}{4}".format(
                connection["name"], connection["type"] or "unknown type",
                connection["endpoint"] or "no endpoint", connection["bucket"] or "(none)",
                ", region " + connection["region"] if connection["region"] else ""))
    return lines


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
    lines += project_lines(result.get("projects") or [])
    lines.append("MinIO console: {0}".format(urls.get("minio_console") or NOT_FOUND))
    lines.append("MinIO S3 API: {0}".format(urls.get("minio_s3") or NOT_FOUND))
    endpoints = result.get("s3_endpoints") or []
    lines.append("S3 endpoints in use:" + ("" if endpoints else " none (no data connection)"))
    for item in endpoints:
        lines.append("  {0} ({1}, {2} connection{3})".format(
            item["endpoint"], "MinIO in the cluster" if item["minio"] else "your own",
            item["connections"], "" if item["connections"] == 1 else "s"))
    if result.get("notes"):
        lines.append("Not readable by this identity: " + "; ".join(result["notes"]))
    return lines
