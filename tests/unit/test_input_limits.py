"""What the API would refuse, refused before anything changes (issue 13): reserved namespaces,
name lengths, labels and the 256 KiB of annotations, timeouts above zero, hashed requirements,
and messages that name the field first and say what to do (pure Python, no cluster)."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils import naming, notebooks, role_input

from test_role_input import LOCK, bench, checked  # same directory

HASH = "--hash=sha256:" + "a" * 64


@pytest.mark.parametrize("value", ["default", "openshift", "kube", "openshift-minio", "kube-system"])
def test_reserved_namespaces(value):
    (problem,) = naming.namespace_problems(value, "minio_namespace")
    assert problem.startswith("minio_namespace {0!r} is reserved for the platform".format(value))


@pytest.mark.parametrize("value", ["minio", "my-openshift", "kubeflow", "team-default"])
def test_namespaces_of_your_own(value):
    assert naming.namespace_problems(value, "minio_namespace") == []


def test_a_project_may_not_be_named_default():
    (problem,) = naming.project_name_problems("default", "dsp_projects[0].name")
    assert problem.startswith("dsp_projects[0].name 'default' is the platform's own namespace")


@pytest.mark.parametrize("key, ok", [("team", True), ("example.com/team", True), ("a_b.c-d", True),
                                     ("bad key", False), ("-team", False), ("Example.com/x", False),
                                     ("x" * 64, False), ("example.com/", False)])
def test_label_and_annotation_keys(key, ok):
    assert (naming.qualified_name_problems(key, "f") == []) is ok


@pytest.mark.parametrize("value, ok", [("", True), ("data-science", True), ("A.b_c", True),
                                       ("data science", False), ("x" * 64, False), ("-x", False)])
def test_label_values(value, ok):
    problems = naming.label_problems({"team": value}, "dsp_projects[0].labels")
    assert (problems == []) is ok
    if not ok:
        assert problems[0].startswith("dsp_projects[0].labels['team'] ")


def test_annotations_may_have_256_kib_in_all():
    assert naming.annotation_problems({"k": "x" * 1000}, "f", extra=1024) == []
    (problem,) = naming.annotation_problems({"k": "x" * (256 * 1024)}, "f")
    assert problem.startswith("f: the object's annotations would be 262145 bytes, more than the "
                              "262144")


def test_type_names_are_the_yaml_ones():
    class Tagged(str):
        pass
    assert [naming.type_name(v) for v in (Tagged("x"), True, 1, 1.5, {}, [], None)] == \
        ["str", "bool", "int", "float", "dict", "list", "null"]


# ---------------------------------------------------------------- the roles

def test_every_timeout_must_be_above_zero():
    _fact, problems = checked("minio", minio_wait_timeout=0, minio_s3_timeout=-5)
    assert problems == [
        "minio_s3_timeout is -5: give a number of seconds greater than 0, for example "
        "minio_s3_timeout: 600.",
        "minio_wait_timeout is 0: give a number of seconds greater than 0, for example "
        "minio_wait_timeout: 600."]
    _fact, problems = checked("rhods", rhods_dsc_timeout=0)
    assert problems[0].startswith("rhods_dsc_timeout is 0")
    _fact, problems = checked("custom_notebook", custom_notebook_trigger_grace=-1)
    assert problems == ["custom_notebook_trigger_grace is -1: give 0 or more seconds."]


def test_reserved_namespaces_of_the_roles():
    _fact, problems = checked("minio", minio_namespace="openshift-minio",
                              rhods_gitops_state_namespace="kube-system")
    assert [p.split(" is ")[0] for p in problems] == [
        "rhods_gitops_state_namespace 'kube-system'", "minio_namespace 'openshift-minio'"]
    _fact, problems = checked("dsp", dsp_minio_namespace="default")
    assert problems[0].startswith("dsp_minio_namespace 'default' is reserved")
    _fact, problems = checked("custom_notebook", custom_notebook_workbenches=[
        bench(namespace="openshift-ai")])
    assert problems[0].startswith("custom_notebook_workbenches[0] (wb): namespace 'openshift-ai' "
                                  "is reserved")


def test_the_delivery_is_direct_or_gitops():
    _fact, problems = checked("dsp", rhods_gitops_delivery="git")
    assert problems == ["rhods_gitops_delivery is 'git': it must be one of direct, gitops (the "
                        "case matters)."]


def test_component_states():
    _fact, problems = checked("rhods", rhods_components={
        "dashboard": "Managed", "kserve": {"managementState": "Removed", "x": 1},
        "ray": "removed", "kueue": {"managementState": "On"}})
    assert [p.split(":")[0] for p in problems] == ["rhods_components.kueue is 'On'",
                                                   "rhods_components.ray is 'removed'"]


def test_name_lengths_of_workbenches_and_images():
    _fact, problems = checked("custom_notebook", custom_notebook_workbenches=[
        bench(name="w" * 52), bench(name="v" * 53)])
    (problem,) = problems
    assert problem.startswith("custom_notebook_workbenches[1] ({0}): name {0!r} has 53 characters, "
                              "at most 52 work".format("v" * 53))
    images = [{"name": "i" * 57, "tag": "1", "requirements": LOCK},
              {"name": "j" * 58, "tag": "1", "requirements": LOCK}]
    _fact, problems = checked("custom_notebook", custom_notebook_images=images,
                              custom_notebook_workbenches=[])
    (problem,) = problems
    assert "has 58 characters, at most 57 work" in problem


def test_dsp_labels_and_annotations():
    _fact, problems = checked("dsp", dsp_projects=[{"name": "p", "labels": {"team": "a b"},
                                                    "annotations": {"bad key": "x"}}])
    assert [p.split(" ")[0] for p in problems] == ["dsp_projects[0].labels['team']",
                                                   "dsp_projects[0].annotations"]


@pytest.mark.parametrize("lock, problem", [
    ("lightgbm==3.3.5 " + HASH, None),
    ("lightgbm==3.3.5 \\\n    " + HASH + " \\\n    " + HASH + "\n", None),
    ("# a comment\n\nlightgbm==3.3.5 \\\n  " + HASH + "\n--require-hashes\n", None),
    ("lightgbm==3.3.5\n", "requirements line 1 ('lightgbm==3.3.5') has no --hash=sha256"),
    ("numpy==1.26.4 " + HASH + "\nlightgbm==3.3.5 \\\n  --hash=sha256:044f\n",
     "requirements line 2 ('lightgbm==3.3.5 --hash=sha256:044f') has no"),
    ("lightgbm>=3 " + HASH, "requirements line 1 ('lightgbm>=3') is not pinned"),
])
def test_every_requirement_is_pinned_and_hashed(lock, problem):
    problems = notebooks.lock_problems("custom_notebook_images[0] (x)", lock)
    if problem is None:
        assert problems == []
    else:
        (found,) = problems
        assert found.startswith("custom_notebook_images[0] (x): " + problem)


# ---------------------------------------------------------------- the messages

def test_a_list_of_mappings_given_as_something_else_names_each_item():
    _fact, problems = checked("dsp", dsp_projects="notebook-demo")
    assert problems == ["dsp_projects is a str, not a list: write a list of mappings, each with "
                        "name (see docs/variables.md)."]
    _fact, problems = checked("dsp", dsp_projects=[{"name": "ok"}, "notebook-demo",
                                                   {"name": "p", "connections": [{"name": "c"}]}])
    assert problems == [
        "dsp_projects[1] is the str 'notebook-demo': each item must be a mapping with name, for "
        "example {name: ...}.",
        "dsp_projects[2].connections[0].bucket is missing: it is required, add it."]


def test_messages_name_the_field_first():
    _fact, problems = checked("custom_notebook", custom_notebook_workbenches=[
        bench(), bench(name="b"), {"name": "c", "image": "x:1", "storgae_size": "1Gi"}])
    assert problems == [
        "custom_notebook_workbenches[2].namespace is missing: it is required, add it.",
        "custom_notebook_workbenches[2].storgae_size is not a known key (did you mean "
        "storage_size?): correct or remove it (known keys: access, data_connections, description, "
        "display_name, image, name, namespace, owner, pvc_name, shm_size, size, stopped, "
        "storage_class, storage_description, storage_display_name, storage_size)."]
    _fact, problems = checked("minio", minio_wait_timeout="soon", minio_extra_env=[1])
    assert problems == [
        "minio_extra_env[0] is the int 1: each item must be a mapping with its keys, for example "
        "{name: ...}.",
        "minio_wait_timeout is of type str, it must be an int: write a whole number, for example 600."]


def test_a_message_the_rewrite_does_not_know_keeps_its_item():
    class Other(Exception):
        msg = "something new"
    assert role_input._messages("x[0]", Other()) == ["x[0]: something new"]  # pylint: disable=protected-access
