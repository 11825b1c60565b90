"""Names the cluster, the dashboard and S3 accept (plugins/module_utils/naming.py)."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.naming import (
    bucket_name_problems,
    connection_name_problems,
    dns_label_problems,
    project_name_problems,
    rolebinding_name,
    subject_slug,
    suggest_label,
)


@pytest.mark.parametrize("name", ["notebook-demo", "a", "x1", "team-42-lab", "a" * 63,
                                  "openlab"])
def test_valid_project_names(name):
    assert project_name_problems(name, "f") == []


@pytest.mark.parametrize("name, needle", [
    ("Notebook-Demo", "DNS-1123"),
    ("demo_1", "DNS-1123"),
    ("-demo", "DNS-1123"),
    ("demo-", "DNS-1123"),
    ("demo.lab", "DNS-1123"),
    ("a" * 64, "at most 63"),
    ("", "empty"),
    (None, "empty"),
    (42, "a int"),
])
def test_invalid_dns_labels(name, needle):
    problems = project_name_problems(name, "dsp_projects[2].name")
    assert problems and all(p.startswith("dsp_projects[2].name") for p in problems)
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("name", ["openshift", "openshift-ai", "openshiftlab", "kube",
                                  "kube-system", "kubeflow"])
def test_reserved_project_names(name):
    problems = project_name_problems(name, "dsp_projects[0].name")
    assert len(problems) == 1
    assert "dashboard refuses" in problems[0] and "dsp_projects[0].name" in problems[0]


def test_dns_label_suggests_a_fix():
    (problem,) = dns_label_problems("My_Project", "x")
    assert "'my-project'" in problem


def test_connection_names_keep_the_secret_name_a_label():
    assert connection_name_problems("minio", "c") == []
    assert connection_name_problems("a" * 48, "c") == []
    (problem,) = connection_name_problems("a" * 49, "c.name")
    assert "aws-connection-" in problem and "at most 48" in problem
    assert connection_name_problems("Bad Name", "c.name")


@pytest.mark.parametrize("name", ["notebook-demo", "abc", "a.b.c", "team-archive-2024",
                                  "x" * 63])
def test_valid_bucket_names(name):
    assert bucket_name_problems(name, "b") == []


@pytest.mark.parametrize("name, needle", [
    ("ab", "3 to 63"),
    ("x" * 64, "3 to 63"),
    ("Notebook", "not a valid bucket name"),
    ("bad_bucket", "not a valid bucket name"),
    ("-bucket", "not a valid bucket name"),
    ("bucket.", "not a valid bucket name"),
    ("my..bucket", "'..'"),
    ("my.-bucket", "'..'"),
    ("192.168.1.10", "IP address"),
    ("xn--bucket", "reserved prefix"),
    ("sthree-data", "reserved prefix"),
    ("data-s3alias", "reserved suffix"),
    ("data--ol-s3", "reserved suffix"),
    ("", "empty"),
    (None, "empty"),
])
def test_invalid_bucket_names(name, needle):
    problems = bucket_name_problems(name, "minio_buckets[3]")
    assert problems and all(p.startswith("minio_buckets[3]") for p in problems)
    assert any(needle in p for p in problems), problems


def test_suggest_label():
    assert suggest_label("Jane.Doe@Example.com") == "jane-doe-example-com"
    assert suggest_label("___") == "x"
    assert len(suggest_label("a" * 100)) == 63


def test_subject_slug_is_stable_readable_and_collision_free():
    assert subject_slug("alice") == "alice"
    assert subject_slug("data-scientists") == "data-scientists"
    one, two = subject_slug("Jane.Doe@example.com"), subject_slug("jane-doe@example.com")
    assert one != two
    assert one.startswith("jane-doe-example-com-") and len(one.split("-")[-1]) == 8
    assert subject_slug("Jane.Doe@example.com") == one
    assert len(subject_slug("x" * 200)) <= 40


def test_rolebinding_names_are_dns_labels():
    name = rolebinding_name("edit", "Group", "Data Scientists (EMEA)")
    assert name.startswith("rhods-gitops-edit-group-data-scientists-emea-")
    assert dns_label_problems(name, "n") == []
    assert rolebinding_name("view", "User", "alice") == "rhods-gitops-view-user-alice"
