"""Ownership as an ApplySet (module_utils/applyset.py): the id, the parent, membership labels,
what a prune deletes and what it keeps."""

import base64
import hashlib

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils import applyset
from ansible_collections.rhods.gitops.plugins.plugin_utils import delivery


def obj(api_version, kind, name, namespace=None, **meta):
    metadata = dict(meta, name=name)
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


NS = obj("v1", "Namespace", "team-a")
PVC = obj("v1", "PersistentVolumeClaim", "bench", "team-a")
BINDING = obj("rbac.authorization.k8s.io/v1", "RoleBinding", "edit-user-alice", "team-a")
SECRET = obj("v1", "Secret", "aws-connection-s3", "team-a")
NOTEBOOK = obj("kubeflow.org/v1", "Notebook", "bench", "team-a")


def test_the_id_is_kubectls_derivation_from_the_parent():
    # KEP-3659: base64url (no padding) of sha256("<name>.<namespace>.<kind>.<group>"), "-v1".
    digest = hashlib.sha256(b"rhods-gitops-dsp.rhods-gitops.ConfigMap.").digest()
    expected = "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"
    assert applyset.applyset_id("rhods-gitops-dsp", "rhods-gitops") == expected
    assert applyset.applyset_id("rhods-gitops-dsp", "other") != expected
    assert len(expected) <= 63  # a label value


def test_group_kinds_and_namespaces_of_the_members():
    kinds, namespaces = applyset.members([NS, PVC, BINDING, NOTEBOOK, SECRET])
    assert kinds == ["Namespace", "Notebook.kubeflow.org", "PersistentVolumeClaim",
                     "RoleBinding.rbac.authorization.k8s.io", "Secret"]
    assert namespaces == ["team-a"]
    assert applyset.split_group_kind("RoleBinding.rbac.authorization.k8s.io") == (
        "rbac.authorization.k8s.io", "RoleBinding")
    assert applyset.split_group_kind("Secret") == ("", "Secret")


def test_members_are_labelled_without_touching_the_input():
    out = applyset.labelled([BINDING], "applyset-x-v1", "dsp")
    assert out[0]["metadata"]["labels"] == {applyset.PART_OF: "applyset-x-v1",
                                            applyset.COMPONENT_LABEL: "dsp"}
    assert "labels" not in BINDING["metadata"]


def test_the_parent_records_what_it_lists_and_reads_it_back():
    parent = applyset.parent_manifest("rhods-gitops-dsp", "rhods-gitops", "dsp",
                                      ["Secret", "Namespace"], ["team-b", "team-a"])
    meta = parent["metadata"]
    assert meta["labels"][applyset.ID] == applyset.applyset_id("rhods-gitops-dsp", "rhods-gitops")
    assert meta["annotations"][applyset.GROUP_KINDS] == "Namespace,Secret"
    assert meta["annotations"][applyset.NAMESPACES] == "team-a,team-b"
    assert meta["annotations"][applyset.TOOLING] == "rhods.gitops/v1"
    assert applyset.recorded(parent) == (["Namespace", "Secret"], ["team-a", "team-b"])
    assert applyset.recorded(None) == ([], [])


def identities(*objects):
    return applyset.identities(objects)


def test_a_prune_deletes_what_left_and_keeps_user_data():
    found = identities(NS, PVC, BINDING, SECRET, NOTEBOOK)
    delete, keep = applyset.prune_plan(found, [NOTEBOOK])
    assert [(d["kind"], d["name"]) for d in delete] == [
        ("RoleBinding", "edit-user-alice"), ("Secret", "aws-connection-s3")]
    assert [(k["kind"], k["name"]) for k in keep] == [
        ("PersistentVolumeClaim", "bench"), ("Namespace", "team-a")]


def test_deleting_data_when_asked_takes_namespaces_last():
    delete, keep = applyset.prune_plan(identities(NS, PVC, SECRET), [], delete_data=True)
    assert keep == []
    assert [d["kind"] for d in delete] == ["PersistentVolumeClaim", "Secret", "Namespace"]


def test_an_object_is_the_same_whatever_version_serves_it():
    found = identities(obj("kubeflow.org/v1beta1", "Notebook", "bench", "team-a"))
    assert applyset.prune_plan(found, [NOTEBOOK]) == ([], [])
    # The same name in another namespace or of another kind is another object.
    other = identities(obj("kubeflow.org/v1", "Notebook", "bench", "team-b"))
    assert applyset.prune_plan(other, [NOTEBOOK])[0] == other


def test_the_tree_holds_members_with_data_protected_from_argo_cds_prune():
    tree = applyset.tree_objects([NS, PVC, NOTEBOOK], "custom-notebook")
    for item in tree:
        assert item["metadata"]["labels"][applyset.PART_OF] == applyset.applyset_id(
            "rhods-gitops-custom-notebook", "rhods-gitops")
    protected = [i["kind"] for i in tree if i["metadata"].get("annotations") == applyset.PROTECT]
    assert protected == ["Namespace", "PersistentVolumeClaim"]
    # Without ownership (the rhods component): protection only.
    plain = applyset.tree_objects([NS], "rhods", ownership=False)
    assert "labels" not in plain[0]["metadata"] and plain[0]["metadata"]["annotations"]


def test_kept_objects_say_how_to_delete_them():
    assert applyset.how_to_delete(identities(PVC)[0]) == (
        "kubectl delete persistentvolumeclaim -n team-a bench (or set rhods_gitops_delete_data: "
        "true)")


@pytest.mark.parametrize("value, expected", [(None, False), ("", False), ("yes", True),
                                             (True, True), ("false", False)])
def test_the_delete_data_switch(value, expected):
    assert delivery.boolean_variable("rhods_gitops_delete_data", value) is expected


def test_a_delete_data_switch_that_is_not_a_boolean_is_refused():
    with pytest.raises(delivery.DeliveryInputError, match="rhods_gitops_delete_data must be true "
                                                          "or false, not 'sometimes'"):
        delivery.boolean_variable("rhods_gitops_delete_data", "sometimes")


@pytest.mark.parametrize("name", ["Bad_NS", "-x", "a" * 64, "", None])
def test_a_state_namespace_must_be_a_namespace_name(name):
    with pytest.raises(delivery.DeliveryInputError, match="rhods_gitops_state_namespace"):
        delivery.check_namespace(name)
