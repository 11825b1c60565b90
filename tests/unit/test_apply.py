"""Server-side apply: exact change detection via dry run, check mode, secret redaction."""

import copy

import pytest
from fakes import FakeResource

from ansible_collections.rhods.gitops.plugins.module_utils.apply import (
    Applier,
    comparable,
    differs,
    load_definitions,
)
from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError, GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.objects import redact


def merge(base, patch):
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class ApplyCluster:
    """Applies like a server would, roughly: merge, bump resourceVersion on change,
    record our field manager; a webhook adds an annotation to every object."""

    def __init__(self, objects=(), missing_namespaces=()):
        self.objects = {(o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objects}
        self.missing_namespaces = set(missing_namespaces)
        self.calls = []

    def resource(self, api_version, kind):
        return FakeResource(api_version, kind, namespaced=kind != "Namespace")

    def get(self, resource, name, namespace=None):
        self.calls.append(("get", name))
        return copy.deepcopy(self.objects.get((namespace, name)))

    def apply(self, resource, definition, dry_run=False, force_conflicts=False):
        self.calls.append(("apply-dry-run" if dry_run else "apply", definition["metadata"]["name"]))
        key = (definition["metadata"].get("namespace"), definition["metadata"]["name"])
        if key[0] in self.missing_namespaces:
            raise ApiError('apply ... was refused: HTTP 404 NotFound: namespaces "{0}" not '
                           'found'.format(key[0]), status=404)
        before = self.objects.get(key)
        after = merge(before or {}, definition)
        after["metadata"].setdefault("annotations", {})["webhook/injected"] = "yes"
        if after.get("kind") == "Secret" and "stringData" in after:
            after.setdefault("data", {}).update(after.pop("stringData"))
        after["metadata"]["managedFields"] = [{"manager": "rhods.gitops", "operation": "Apply",
                                               "fieldsV1": sorted(definition),
                                               "time": "2025-06-01T10:00:00Z"}]
        if before is None or comparable(before) != comparable(after):
            after["metadata"]["resourceVersion"] = str(int((before or {}).get(
                "metadata", {}).get("resourceVersion", "0")) + 1)
        if not dry_run:
            self.objects[key] = after
        return copy.deepcopy(after)

    def writes(self):
        return [c for c in self.calls if c[0] == "apply"]


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"},
      "data": {"a": "1"}}


def test_create_then_idempotent_without_any_write():
    cluster = ApplyCluster()
    first = Applier(cluster).apply_all([CM])
    assert first[0]["changed"] and first[0]["operation"] == "created"
    assert len(cluster.writes()) == 1
    cluster.calls.clear()
    second = Applier(cluster).apply_all([CM])
    assert not second[0]["changed"] and second[0]["operation"] == "unchanged"
    assert cluster.writes() == []  # only a read and a dry run


def test_a_write_reports_its_server_time_and_a_dry_run_does_not():
    cluster = ApplyCluster()
    assert "applied_at" not in Applier(cluster, check_mode=True).apply_all([CM])[0]
    assert Applier(cluster).apply_all([CM])[0]["applied_at"] == "2025-06-01T10:00:00Z"
    assert "applied_at" not in Applier(cluster).apply_all([CM])[0]  # unchanged: no write


def test_update_is_detected_and_written():
    cluster = ApplyCluster()
    Applier(cluster).apply_all([CM])
    changed = dict(CM, data={"a": "2"})
    result = Applier(cluster).apply_all([changed])[0]
    assert result["operation"] == "updated"
    assert result["diff"]["before"]["data"] == {"a": "1"}
    assert result["diff"]["after"]["data"] == {"a": "2"}
    assert "managedFields" not in result["diff"]["after"]["metadata"]
    assert "resourceVersion" not in result["diff"]["after"]["metadata"]


def test_check_mode_reports_the_change_and_writes_nothing():
    cluster = ApplyCluster()
    result = Applier(cluster, check_mode=True).apply_all([CM])[0]
    assert result["changed"] and result["operation"] == "created"
    assert cluster.writes() == [] and cluster.objects == {}
    assert ("apply-dry-run", "cm") in cluster.calls


def test_check_mode_in_a_namespace_that_does_not_exist_yet():
    cluster = ApplyCluster(missing_namespaces={"new"})
    applier = Applier(cluster, check_mode=True)
    result = applier.apply_all([dict(CM, metadata={"name": "cm", "namespace": "new"})])[0]
    assert result["changed"] and result["validated"] is False
    assert "namespace new does not exist yet" in applier.warnings[0]


def test_outside_check_mode_a_missing_namespace_fails():
    cluster = ApplyCluster(missing_namespaces={"new"})
    with pytest.raises(ApiError):
        Applier(cluster).apply_all([dict(CM, metadata={"name": "cm", "namespace": "new"})])


def test_namespace_option_fills_namespaced_objects_only():
    cluster = ApplyCluster()
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "namespace": "y"}}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}
    results = Applier(cluster).apply_all([ns, cm], namespace="x")
    assert results[0]["namespace"] is None and results[1]["namespace"] == "x"


def test_namespaced_object_without_namespace_fails_clearly():
    with pytest.raises(GitopsError, match="ConfigMap cm is namespaced but has no metadata.namespace"):
        Applier(ApplyCluster()).apply_all([{"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "cm"}}])


@pytest.mark.parametrize("definition, message", [
    ({"kind": "ConfigMap", "metadata": {"name": "a"}}, "definitions[0] has no apiVersion"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "a-"}},
     "definitions[0] (ConfigMap) has no metadata.name"),
    ("just text", "definitions[0] is a str, not a mapping"),
])
def test_invalid_definitions(definition, message):
    with pytest.raises(GitopsError) as info:
        Applier(ApplyCluster()).apply_all([definition])
    assert message in info.value.msg


# change detection

BASE = {"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": "ns", "resourceVersion": "5", "generation": 2,
                     "uid": "u", "managedFields": [{"manager": "rhods.gitops", "operation": "Apply",
                                                    "fieldsV1": {"f:data": {}},
                                                    "time": "2025-01-01T00:00:00Z"}]},
        "data": {"a": "1"}, "status": {"x": 1}}


def test_bookkeeping_and_status_are_ignored():
    after = copy.deepcopy(BASE)
    after["metadata"].update(resourceVersion="6", generation=3)
    after["metadata"]["managedFields"][0]["time"] = "2025-02-02T00:00:00Z"
    after["status"] = {"x": 2}
    assert not differs(BASE, after)


def test_content_and_ownership_changes_count():
    content = copy.deepcopy(BASE)
    content["data"]["a"] = "2"
    assert differs(BASE, content)
    ownership = copy.deepcopy(BASE)
    ownership["metadata"]["managedFields"][0]["fieldsV1"] = {"f:data": {"f:a": {}}}
    assert differs(BASE, ownership)
    other_manager = copy.deepcopy(BASE)
    other_manager["metadata"]["managedFields"].append({"manager": "kubectl", "fieldsV1": {}})
    assert not differs(BASE, other_manager)
    assert differs(None, BASE)


# secrets

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns",
          "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"data":"x"}'}},
          "data": {"user": "YWRtaW4=", "password": "c2VjcmV0"}, "stringData": {"token": "t0k3n"}}


def test_secret_values_are_redacted():
    shown = redact(SECRET)
    assert shown["data"] == {"user": "<redacted>", "password": "<redacted>"}
    assert shown["stringData"] == {"token": "<redacted>"}
    assert shown["metadata"]["annotations"][
        "kubectl.kubernetes.io/last-applied-configuration"] == "<redacted>"
    assert SECRET["data"]["password"] == "c2VjcmV0"  # the original is untouched


def test_changed_secret_values_are_marked_not_shown():
    after = copy.deepcopy(SECRET)
    after["data"]["password"] = "bmV3"
    shown = redact(after, previous=SECRET)
    assert shown["data"] == {"user": "<redacted>", "password": "<redacted, changed>"}


def test_apply_results_and_diffs_never_contain_secret_values():
    cluster = ApplyCluster()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
              "stringData": {"AWS_SECRET_ACCESS_KEY": "very-secret"}}
    first = Applier(cluster).apply_all([secret])[0]
    secret["stringData"]["AWS_SECRET_ACCESS_KEY"] = "rotated"
    second = Applier(cluster).apply_all([secret])[0]
    assert second["changed"]
    assert second["diff"]["after"]["data"] == {"AWS_SECRET_ACCESS_KEY": "<redacted, changed>"}
    text = repr([first, second])
    assert "very-secret" not in text and "rotated" not in text


def test_redact_leaves_other_kinds_alone():
    assert redact(CM) is CM


# definitions input

def test_load_definitions_from_yaml_and_lists():
    text = """
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a}
---
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: c}}
"""
    names = [d["metadata"]["name"] for d in load_definitions(text)]
    assert names == ["a", "b", "c"]
    assert load_definitions(CM) == [CM]
    assert len(load_definitions([[CM], None, CM])) == 2


def test_load_definitions_errors():
    with pytest.raises(GitopsError, match="definitions is not valid YAML"):
        load_definitions("a: [")
    with pytest.raises(GitopsError, match="must be a list of objects"):
        load_definitions(42)
