"""endpoints_info: URLs of Routes and workbenches, secrets only when asked."""

import base64

from ansible_collections.rhods.gitops.plugins.module_utils import endpoints
from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError


def route(ns, name, host=None, admitted=None):
    out = {"kind": "Route", "metadata": {"namespace": ns, "name": name}, "spec": {}}
    if host:
        out["spec"]["host"] = host
    if admitted:
        out["status"] = {"ingress": [{"host": admitted}]}
    return out


def notebook(ns, name, ready=0, stopped=False, display=None):
    annotations = {"openshift.io/display-name": display} if display else {}
    if stopped:
        annotations["kubeflow-resource-stopped"] = "x"
    return {"kind": "Notebook", "metadata": {"namespace": ns, "name": name,
                                             "annotations": annotations},
            "status": {"readyReplicas": ready}}


def test_route_url_prefers_the_admitted_host():
    assert endpoints.route_url(route("a", "b", host="spec.example", admitted="adm.example")) == \
        "https://adm.example"
    assert endpoints.route_url(route("a", "b", host="spec.example")) == "https://spec.example"
    assert endpoints.route_url(route("a", "b")) is None
    assert endpoints.route_url(None) is None


def test_workbench_entries_have_the_notebook_path_and_a_state():
    entry = endpoints.workbench_entry(notebook("nd", "wb", ready=1, display="My WB"),
                                      route("nd", "wb", admitted="wb-nd.apps"))
    assert entry == {"name": "wb", "namespace": "nd", "display_name": "My WB",
                     "url": "https://wb-nd.apps/notebook/nd/wb", "state": "ready"}
    assert endpoints.workbench_entry(notebook("nd", "wb"), None)["url"] is None
    assert endpoints.workbench_entry(notebook("nd", "wb"), None)["state"] == "starting"
    assert endpoints.workbench_entry(notebook("nd", "wb", ready=1, stopped=True),
                                     None)["state"] == "stopped"


class Resource:
    def __init__(self, kind):
        self.kind = kind


class Cluster:
    def __init__(self, objects, forbidden=()):
        self.objects = objects
        self.forbidden = forbidden

    def resource(self, api_version, kind):
        return Resource(kind)

    def get(self, resource, name, namespace=None):
        if (resource.kind, namespace, name) in self.forbidden:
            raise ApiError("forbidden", status=403)
        for obj in self.objects:
            meta = obj["metadata"]
            if obj["kind"] == resource.kind and meta["name"] == name and \
                    meta.get("namespace") == namespace:
                return obj
        return None

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        return [o for o in self.objects if o["kind"] == resource.kind and
                (namespace is None or o["metadata"]["namespace"] == namespace)], "1"


PARAMS = {
    "gitops": {"namespace": "openshift-gitops", "name": "openshift-gitops-server", "path": ""},
    "dashboard": {"namespace": "redhat-ods-applications", "name": "rhods-dashboard", "path": ""},
    "minio_console": {"namespace": "minio", "name": "minio-console", "path": ""},
    "minio_s3": {"namespace": "minio", "name": "minio-s3", "path": ""},
    "workbench_namespaces": None, "show_secrets": False,
    "gitops_admin_secret": {"namespace": "openshift-gitops", "name": "openshift-gitops-cluster",
                            "key": "admin.password"},
}


def test_collect_reports_what_exists_and_null_for_the_rest():
    cluster = Cluster([route("openshift-gitops", "openshift-gitops-server", admitted="argo.apps"),
                       route("redhat-ods-applications", "rhods-dashboard", host="dash.apps"),
                       notebook("nd", "wb", ready=1), route("nd", "wb", admitted="wb.apps")])
    out = endpoints.Endpoints(cluster).collect(dict(PARAMS))
    assert out["urls"] == {"gitops": "https://argo.apps", "dashboard": "https://dash.apps",
                           "minio_console": None, "minio_s3": None}
    assert out["workbenches"][0]["url"] == "https://wb.apps/notebook/nd/wb"
    assert "gitops_admin" not in out


def test_the_password_only_with_show_secrets_and_unreadable_things_are_notes():
    secret = {"kind": "Secret", "metadata": {"namespace": "openshift-gitops",
                                             "name": "openshift-gitops-cluster"},
              "data": {"admin.password": base64.b64encode(b"s3cret").decode()}}
    cluster = Cluster([secret], forbidden=[("Route", "minio", "minio-s3")])
    out = endpoints.Endpoints(cluster).collect(dict(PARAMS, show_secrets=True))
    assert out["gitops_admin"] == {"username": "admin", "password": "s3cret"}
    assert out["notes"] == ["Route minio/minio-s3: not readable by this identity"]
