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
                                             "labels": {"opendatahub.io/dashboard": "true"},
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
        key, _sep, value = (label_selector or "=").partition("=")
        return [o for o in self.objects if o["kind"] == resource.kind and
                (namespace is None or o["metadata"].get("namespace") == namespace) and
                (not key or (o["metadata"].get("labels") or {}).get(key) == value)], "1"


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


def b64(text):
    return base64.b64encode(text.encode()).decode()


def project(name, display=None):
    return {"kind": "Namespace", "metadata": {
        "name": name, "labels": {"opendatahub.io/dashboard": "true"},
        "annotations": {"openshift.io/display-name": display} if display else {}}}


def connection(ns, name, endpoint, bucket="b", region=None, kind="s3"):
    data = {"AWS_ACCESS_KEY_ID": b64("AKIAEXAMPLEKEY"), "AWS_SECRET_ACCESS_KEY": b64("topsecret/Key"),
            "AWS_S3_ENDPOINT": b64(endpoint), "AWS_S3_BUCKET": b64(bucket)}
    if region:
        data["AWS_DEFAULT_REGION"] = b64(region)
    return {"kind": "Secret", "metadata": {
        "namespace": ns, "name": name, "labels": {"opendatahub.io/dashboard": "true"},
        "annotations": {"opendatahub.io/connection-type-ref": kind} if kind else {}},
        "data": data}


def test_a_connection_entry_decodes_endpoint_bucket_and_region_only():
    entry = endpoints.connection_entry(connection("p", "aws-connection-x", "https://s3.example",
                                                  bucket="models", region="eu-west-1"))
    assert entry == {"name": "aws-connection-x", "namespace": "p",
                     "display_name": "aws-connection-x", "type": "s3",
                     "endpoint": "https://s3.example", "bucket": "models", "region": "eu-west-1"}


def test_minio_is_recognised_by_its_service_or_its_route():
    assert endpoints.is_minio("http://minio.minio.svc:9000", "minio")
    assert endpoints.is_minio("http://minio.minio.svc.cluster.local:9000/", "minio")
    assert not endpoints.is_minio("http://minio.other.svc:9000", "minio")
    assert endpoints.is_minio("https://minio-s3-minio.apps.example", "minio",
                              ["minio-s3-minio.apps.example"])
    assert not endpoints.is_minio("https://s3.amazonaws.com", "minio", ["minio-s3-minio.apps"])
    assert not endpoints.is_minio(None, "minio")


def test_projects_connections_and_endpoints_in_the_report_without_any_key():
    cluster = Cluster([
        project("demo", "Demo project"), project("empty"),
        {"kind": "Namespace", "metadata": {"name": "not-a-project"}},
        connection("demo", "aws-connection-minio", "http://minio.minio.svc:9000", bucket="demo"),
        connection("demo", "aws-connection-own", "https://s3.example", region="us-east-1"),
        connection("not-a-project", "aws-connection-z", "https://s3.example"),
        connection("demo", "not-a-connection", "https://ignored", kind=None),
        route("minio", "minio-s3", admitted="minio-s3-minio.apps"),
    ])
    out = endpoints.Endpoints(cluster).collect(dict(PARAMS))
    assert [p["name"] for p in out["projects"]] == ["demo", "empty"]
    assert [c["name"] for c in out["projects"][0]["connections"]] == [
        "aws-connection-minio", "aws-connection-own"]
    assert out["s3_endpoints"] == [
        {"endpoint": "http://minio.minio.svc:9000", "minio": True, "connections": 1},
        {"endpoint": "https://s3.example", "minio": False, "connections": 1}]
    text = "\n".join(out["report"])
    assert "  demo (Demo project): 2 data connections" in text
    assert "    aws-connection-minio (s3): http://minio.minio.svc:9000 bucket demo" in text
    assert "    aws-connection-own (s3): https://s3.example bucket b, region us-east-1" in text
    assert "  empty: no data connection" in text
    assert "  http://minio.minio.svc:9000 (MinIO in the cluster, 1 connection)" in text
    assert "  https://s3.example (your own, 1 connection)" in text
    flat = repr(out)
    for secret in ("AKIAEXAMPLEKEY", "topsecret/Key", b64("AKIAEXAMPLEKEY"), b64("topsecret/Key")):
        assert secret not in flat


def test_without_projects_the_report_says_so():
    out = endpoints.Endpoints(Cluster([])).collect(dict(PARAMS))
    assert "Data Science Projects: none found" in out["report"]
    assert "S3 endpoints in use: none (no data connection)" in out["report"]
