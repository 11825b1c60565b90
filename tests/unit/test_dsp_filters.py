"""The dsp role's input checks and defaults, and the workload filter (pure Python)."""

import copy

from ansible_collections.rhods.gitops.plugins.filter.naming import (
    FilterModule,
    bucket_names_problems,
)
from ansible_collections.rhods.gitops.plugins.filter.workloads import pod_problems
from ansible_collections.rhods.gitops.plugins.module_utils import dsp

DEMO = [{"name": "notebook-demo", "display_name": "Notebook Demo",
         "description": "Project created to demonstrate custom notebook images and notebook "
                        "instances.",
         "connections": [{"name": "minio", "display_name": "MinIO", "type": "minio",
                          "bucket": "notebook-demo"}]}]
EXTERNAL = {"name": "archive", "type": "s3", "endpoint": "https://s3.example.com",
            "bucket": "team-archive", "access_key": "AKIAEXAMPLE", "secret_key": "s3cr3t"}


def test_filters_are_registered():
    names = set(FilterModule().filters())
    assert {"dsp_problems", "dsp_normalize", "dsp_verification_list", "dsp_uses_minio",
            "k8s_identities", "project_name_problems", "bucket_name_problems",
            "bucket_names_problems", "dns_label_problems"} <= names


def test_the_demo_is_valid():
    assert dsp.problems(DEMO) == []
    assert dsp.problems([]) == []


def test_all_problems_at_once_each_naming_its_field():
    projects = [
        {"name": "openshift-lab"},
        {"name": "Bad_Name", "connections": [{"name": "x", "type": "s3", "bucket": "ok-bucket",
                                              "endpoint": "https://s3"}]},
        {"name": "good", "connections": [
            {"name": "a", "type": "minio", "bucket": "Bad_Bucket"},
            {"name": "a", "type": "minio", "bucket": "fine-bucket", "secret_key": "x"}],
         "access": [{"role": "owner", "users": ["u"]}, {"role": "view"}]},
        {"name": "good"},
        "not-a-dict",
    ]
    problems = dsp.problems(projects)
    text = "\n".join(problems)
    for field in ("dsp_projects[0].name", "dsp_projects[1].name",
                  "dsp_projects[1].connections[0].access_key",
                  "dsp_projects[1].connections[0].secret_key",
                  "dsp_projects[2].connections[0].bucket",
                  "dsp_projects[2].connections[1].name",
                  "dsp_projects[2].connections[1].secret_key",
                  "dsp_projects[2].access[0].role", "dsp_projects[2].access[1]",
                  "dsp_projects[3].name", "dsp_projects[4]"):
        assert field in text, field
    assert "vault" in text


def test_unknown_keys_and_wrong_types():
    problems = dsp.problems([{"name": "p", "secretkey": 1, "labels": "x",
                              "connections": [{"name": "c", "type": "gcs", "bucket": "bkt",
                                               "verify": "maybe",
                                               "endpoint": "s3.example.com"}]}])
    text = "\n".join(problems)
    assert "unknown key(s) secretkey" in text
    assert "dsp_projects[0].labels must be a mapping" in text
    assert "dsp_projects[0].connections[0].type is 'gcs'" in text
    assert "verify is 'maybe'" in text
    assert "endpoint is 's3.example.com': give a URL that starts with http://" in text
    assert dsp.problems({"name": "x"}) == ["dsp_projects must be a list of projects, not a dict."]


def test_problems_never_show_secret_values():
    bad = copy.deepcopy(EXTERNAL)
    bad.update(bucket="Bad_Bucket", name="Bad Name", secret_key="TOP-SECRET-VALUE")
    text = "\n".join(dsp.problems([{"name": "p", "connections": [bad]}]))
    assert "TOP-SECRET-VALUE" not in text


def test_normalize_fills_every_default():
    minio = {"access_key": "user", "secret_key": "pass", "verify_endpoint": "https://s3.apps"}
    (project,) = dsp.normalize(DEMO, {"minio_endpoint": "http://minio.minio.svc:9000"}, minio)
    assert project["display_name"] == "Notebook Demo"
    assert project["modelmesh"] is True
    assert project["rolebindings"] == []
    (conn,) = project["connections"]
    assert conn == {
        "field": "dsp_projects[0].connections[0]", "name": "minio",
        "secret_name": "aws-connection-minio", "namespace": "notebook-demo",
        "display_name": "MinIO", "type": "minio", "endpoint": "http://minio.minio.svc:9000",
        "region": "us", "bucket": "notebook-demo", "access_key": "user", "secret_key": "pass",
        "verify": "auto", "verify_endpoint": "https://s3.apps", "validate_certs": True}


def test_normalize_external_connection_and_access():
    projects = [{"name": "team", "modelmesh": False, "labels": {"cost-center": 42},
                 "access": [{"role": "edit", "users": ["alice"], "groups": ["ds"]}],
                 "connections": [dict(EXTERNAL, verify="always", validate_certs=False)]}]
    (project,) = dsp.normalize(projects, {"verify": "never"})
    assert project["display_name"] == "team" and project["modelmesh"] is False
    assert project["labels"] == {"cost-center": "42"}
    assert [(b["name"], b["subject_kind"]) for b in project["rolebindings"]] == [
        ("rhods-gitops-edit-group-ds", "Group"), ("rhods-gitops-edit-user-alice", "User")]
    (conn,) = project["connections"]
    assert conn["region"] == "us-east-1" and conn["verify"] == "always"
    assert conn["verify_endpoint"] == "https://s3.example.com"
    assert conn["validate_certs"] is False and conn["secret_key"] == "s3cr3t"


def test_minio_connections_without_keys_are_not_verified():
    (project,) = dsp.normalize(DEMO, {}, None)
    (conn,) = project["connections"]
    assert conn["access_key"] == "" and conn["verify"] == "never"


def test_verification_list():
    (project,) = dsp.normalize(DEMO, {}, {"access_key": "u", "secret_key": "p",
                                          "verify_endpoint": "http://127.0.0.1:9000"})
    assert dsp.verification_list([project]) == [{
        "name": "notebook-demo/aws-connection-minio", "field": "dsp_projects[0].connections[0]",
        "endpoint_url": "http://127.0.0.1:9000", "access_key": "u", "secret_key": "p",
        "region": "us", "bucket": "notebook-demo", "verify": "auto", "validate_certs": True}]


def test_uses_minio():
    assert dsp.uses_minio(DEMO)
    assert not dsp.uses_minio([{"name": "x", "connections": [EXTERNAL]}])
    assert not dsp.uses_minio([{"name": "x"}, "junk"])


def test_identities_carry_no_data():
    secret = {"apiVersion": "v1", "kind": "Secret", "data": {"K": "c2VjcmV0"},
              "metadata": {"name": "aws-connection-x", "namespace": "p", "labels": {"a": "b"}}}
    assert dsp.identities([secret]) == [{"api_version": "v1", "kind": "Secret", "namespace": "p",
                                         "name": "aws-connection-x"}]


def test_bucket_names_problems():
    assert bucket_names_problems(["notebook-demo"], "minio_buckets") == []
    problems = bucket_names_problems(["ok-one", "NO", "ab"], "minio_buckets")
    assert any(p.startswith("minio_buckets[1]") for p in problems)
    assert any(p.startswith("minio_buckets[2]") for p in problems)
    assert bucket_names_problems("notebook-demo", "minio_buckets") == [
        "minio_buckets must be a list of bucket names."]


def test_pod_problems():
    pods = [
        {"metadata": {"name": "minio-1", "namespace": "minio"},
         "status": {"containerStatuses": [{"name": "minio", "state": {"waiting": {
             "reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}},
        {"metadata": {"name": "minio-2", "namespace": "minio"},
         "status": {"conditions": [{"type": "PodScheduled", "status": "False",
                                    "message": "0/3 nodes are available"}]}},
        {"metadata": {"name": "minio-3", "namespace": "minio"},
         "status": {"containerStatuses": [{"name": "minio", "restartCount": 5, "ready": False,
                                           "state": {"terminated": {"exitCode": 1,
                                                                    "reason": "Error"}}}]}},
        {"metadata": {"name": "minio-4", "namespace": "minio"},
         "status": {"containerStatuses": [{"name": "minio", "state": {"waiting": {
             "reason": "ContainerCreating"}}}]}},
    ]
    assert pod_problems(pods) == [
        "Pod minio/minio-1: container minio is waiting: ImagePullBackOff (Back-off pulling "
        "image).",
        "Pod minio/minio-2 cannot be scheduled: 0/3 nodes are available.",
        "Pod minio/minio-3: container minio exited with code 1: Error.",
    ]
    assert pod_problems(None) == []
