"""The dsp role's input checks and defaults, and the workload filter (pure Python)."""

import copy

import os

import yaml

from ansible_collections.rhods.gitops.plugins.filter.naming import FilterModule
from ansible_collections.rhods.gitops.plugins.filter.workloads import (
    awaited_result,
    pod_problems,
    workbench_waits,
)
from ansible_collections.rhods.gitops.plugins.module_utils import dsp, role_input

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO_ROOT, "roles", "dsp", "meta", "argument_specs.yml"), encoding="utf-8") as _f:
    OPTIONS = yaml.safe_load(_f)["argument_specs"]["main"]["options"]

DEMO = [{"name": "notebook-demo", "display_name": "Notebook Demo",
         "description": "Project created to demonstrate custom notebook images and notebook "
                        "instances.",
         "connections": [{"name": "minio", "display_name": "MinIO", "type": "minio",
                          "bucket": "notebook-demo"}]}]
EXTERNAL = {"name": "archive", "type": "s3", "endpoint": "https://s3.example.com",
            "bucket": "team-archive", "access_key": "AKIAEXAMPLE", "secret_key": "s3cr3t"}


def checked(projects, **settings):
    """The role's input as rhods.gitops.role_input makes it: (dsp_input, problems)."""
    values, problems, _secrets = role_input.normalize(OPTIONS, dict(settings, dsp_projects=projects))
    return values, problems or role_input.problems("dsp", values)


def text_of(projects):
    return "\n".join(checked(projects)[1])


def test_filters_are_registered():
    names = set(FilterModule().filters())
    assert {"dsp_normalize", "dsp_verification_list", "dsp_uses_minio",
            "k8s_identities", "project_name_problems", "bucket_name_problems",
            "dns_label_problems"} <= names


def test_the_demo_is_valid():
    assert checked(DEMO)[1] == []
    assert checked([])[1] == []


def test_all_problems_at_once_each_naming_its_field():
    projects = [
        {"name": "openshift-lab"},
        {"name": "Bad_Name", "connections": [{"name": "x", "type": "s3", "bucket": "ok-bucket",
                                              "endpoint": "https://s3"}]},
        {"name": "good", "connections": [
            {"name": "a", "type": "minio", "bucket": "Bad_Bucket"},
            {"name": "a", "type": "minio", "bucket": "fine-bucket", "secret_key": "x"}],
         "access": [{"role": "view", "users": [""]}, {"role": "view"}]},
        {"name": "good"},
    ]
    text = text_of(projects)
    for field in ("dsp_projects[0].name", "dsp_projects[1].name",
                  "dsp_projects[1].connections[0].access_key",
                  "dsp_projects[1].connections[0].secret_key",
                  "dsp_projects[2].connections[0].bucket",
                  "dsp_projects[2].connections[1].name",
                  "dsp_projects[2].connections[1].secret_key",
                  "dsp_projects[2].access[0].users[0]", "dsp_projects[2].access[1]",
                  "dsp_projects[3].name"):
        assert field in text, field
    assert "vault" in text


def test_the_spec_refuses_unknown_keys_wrong_types_and_choices_naming_the_item():
    text = text_of([{"name": "p", "secretkey": 1, "labels": "x",
                     "access": [{"role": "owner", "users": ["u"]}],
                     "connections": [{"name": "c", "type": "gcs", "bucket": "bkt",
                                      "verify": "maybe"}, {"type": "s3"}]},
                    "not-a-dict"])
    assert "dsp_projects[0].secretkey is not a known key: correct or remove it (known keys: " \
        "access, " in text
    assert "dsp_projects[0].labels is of type str, it must be a dict" in text
    assert "dsp_projects[0].access[0].role is 'owner': it must be one of admin, edit, view" in text
    assert "dsp_projects[0].connections[0].type is 'gcs': it must be one of minio, s3" in text
    assert "dsp_projects[0].connections[0].verify is 'maybe': it must be one of" in text
    assert "dsp_projects[0].connections[1].bucket is missing: it is required" in text
    assert "dsp_projects[0].connections[1].name is missing: it is required" in text
    assert "dsp_projects[1] is the str 'not-a-dict': each item must be a mapping" in text
    assert checked({"name": "x"})[1]


def test_the_spec_fills_nested_defaults():
    values, problems = checked([{"name": "p", "connections": [{"name": "c", "bucket": "bkt",
                                                               "endpoint": "https://s3",
                                                               "access_key": "a",
                                                               "secret_key": "b"}]}])
    assert problems == []
    (conn,) = values["dsp_projects"][0]["connections"]
    assert conn["type"] == "s3" and conn["verify"] is None
    assert values["dsp_verify_connections"] == "auto" and values["dsp_prune"] is True


def test_an_url_must_start_with_http():
    text = text_of([{"name": "p", "connections": [dict(EXTERNAL, endpoint="s3.example.com")]}])
    assert "endpoint is 's3.example.com': give a URL that starts with http://" in text


def test_problems_never_show_secret_values():
    bad = copy.deepcopy(EXTERNAL)
    bad.update(bucket="Bad_Bucket", name="Bad Name", secret_key="TOP-SECRET-VALUE", verify="maybe")
    assert "TOP-SECRET-VALUE" not in text_of([{"name": "p", "connections": [bad]}])
    bad.update(verify="auto", region=["TOP-SECRET-VALUE"])
    assert "TOP-SECRET-VALUE" not in text_of([{"name": "p", "connections": [bad]}])


def normalized(projects, minio=None, **settings):
    values, problems = checked(projects, **settings)
    assert problems == []
    return dsp.normalize(values, minio)


def test_normalize_fills_every_default():
    minio = {"access_key": "user", "secret_key": "pass", "verify_endpoint": "https://s3.apps"}
    (project,) = normalized(DEMO, minio)
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
    (project,) = normalized(projects, dsp_verify_connections="never")
    assert project["display_name"] == "team" and project["modelmesh"] is False
    assert project["labels"] == {"cost-center": "42"}
    assert [(b["name"], b["subject_kind"]) for b in project["rolebindings"]] == [
        ("rhods-gitops-edit-group-ds", "Group"), ("rhods-gitops-edit-user-alice", "User")]
    (conn,) = project["connections"]
    assert conn["region"] == "us-east-1" and conn["verify"] == "always"
    assert conn["verify_endpoint"] == "https://s3.example.com"
    assert conn["validate_certs"] is False and conn["secret_key"] == "s3cr3t"


def test_minio_connections_without_keys_are_not_verified():
    (project,) = normalized(DEMO, None, dsp_minio_namespace="storage")
    (conn,) = project["connections"]
    assert conn["access_key"] == "" and conn["verify"] == "never"
    assert conn["endpoint"] == "http://minio.storage.svc:9000"


def test_verification_list():
    (project,) = normalized(DEMO, {"access_key": "u", "secret_key": "p",
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


EXTERNAL_PROJECT = {"name": "team-archive", "connections": [EXTERNAL]}


def test_a_workbench_cannot_use_a_connection_its_project_does_not_declare():
    projects, _problems = checked(DEMO + [dict(EXTERNAL_PROJECT)])
    problems = FilterModule().filters()["workbench_connection_problems"]
    benches = [{"name": "wb", "namespace": "notebook-demo",
                "data_connections": ["aws-connection-minio"]},
               {"name": "other", "namespace": "team-archive",
                "data_connections": ["aws-connection-minio", "aws-connection-archive"]},
               {"name": "byo", "namespace": "not-a-project", "data_connections": ["my-secret"]}]
    assert problems(projects["dsp_projects"], benches) == [
        "custom_notebook_workbenches[1] (other) uses data connection aws-connection-minio, which "
        "dsp_projects[1] (team-archive) does not declare (its connections: "
        "aws-connection-archive): dsp would not deliver it, or would delete it. Add it to "
        "dsp_projects[1].connections or remove it from the workbench's data_connections."]


def test_workbench_waits_one_entry_per_workbench_stopped_ones_without_fail_condition():
    waits = workbench_waits([
        {"name": "wb", "namespace": "a", "image": "lightgbm:3.3.5", "size": "Small"},
        {"name": "wb", "namespace": "b", "stopped": True},
        {"name": "wb2", "namespace": "b", "stopped": "false"},
    ])
    assert waits == [
        {"namespace": "a", "name": "wb", "condition": "status.readyReplicas >= `1`",
         "fail_condition": 'metadata.annotations."kubeflow-resource-stopped" != null'},
        {"namespace": "b", "name": "wb", "condition": "(status.readyReplicas || `0`) == `0`"},
        {"namespace": "b", "name": "wb2", "condition": "status.readyReplicas >= `1`",
         "fail_condition": 'metadata.annotations."kubeflow-resource-stopped" != null'},
    ]
    assert workbench_waits([]) == []


def test_awaited_result_is_what_a_wait_for_that_object_alone_registered():
    route = {"kind": "Route", "metadata": {"name": "dash"}, "status": {"ingress": [{"host": "h"}]}}
    result = {"changed": False, "satisfied": True, "elapsed": 0.4, "awaited": [
        {"api_version": "route.openshift.io/v1", "kind": "Route", "namespace": "apps",
         "name": "dash", "satisfied": True, "reason": "ok", "resource": route},
        {"api_version": "image.openshift.io/v1", "kind": "ImageStream", "namespace": "apps",
         "name": "nb", "satisfied": True, "reason": "ok", "resource": None}],
        "progress": [{"object": "Route apps/dash", "state": "a"},
                     {"object": "ImageStream apps/nb", "state": "b"}]}
    assert awaited_result(result, "Route") == {
        "changed": False, "satisfied": True, "resource": route, "resources": [route],
        "elapsed": 0.4, "progress": [{"object": "Route apps/dash", "state": "a"}]}
    assert awaited_result(result, "ImageStream")["resources"] == []
    assert awaited_result(result, "Build") == {"skipped": True, "changed": False}
    assert awaited_result({"skipped": True}, "Route") == {"skipped": True, "changed": False}
