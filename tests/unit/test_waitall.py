"""Many objects in one wait (k8s_wait ``objects``): grouping by kind, one list and watch per
kind, every unready object named on timeout, fail fast, check mode."""

import pytest
from fakes import FakeClock, ScriptedCluster, api_error, event, obj

from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    GitopsError,
    RoundOver,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.rhods.gitops.plugins.module_utils.waitall import (
    awaited_objects,
    describe,
    group_objects,
    look_all,
    wait_all,
)
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import Deadline, Waiter

READY = "status.readyReplicas >= `1`"
STOPPED = 'metadata.annotations."kubeflow-resource-stopped" != null'


class RecordingCluster(ScriptedCluster):
    """ScriptedCluster that also records the namespace of every list and watch, and plays
    listings per kind (``by_kind``) and a 403 for cluster-wide lists (``refuse_cluster_wide``)."""

    def __init__(self, clock, by_kind=None, refuse_cluster_wide=False, **kwargs):
        super().__init__(clock, **kwargs)
        self.by_kind = by_kind or {}
        self.refuse = refuse_cluster_wide
        self.scopes = []

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        self.scopes.append(("list", resource.kind, namespace, field_selector))
        if self.refuse and namespace is None:
            raise api_error(403)
        if resource.kind in self.by_kind:
            items = [i for i in self.by_kind[resource.kind]
                     if namespace is None or i["metadata"]["namespace"] == namespace]
            return [dict(i) for i in items], "100"
        return super().list(resource, namespace, label_selector, field_selector)

    def watch(self, resource, resource_version, seconds, namespace=None, label_selector=None,
              field_selector=None):
        self.scopes.append(("watch", resource.kind, namespace, field_selector))
        return super().watch(resource, resource_version, seconds, namespace, label_selector,
                             field_selector)


def params(objects, **task):
    out = {"api_version": "kubeflow.org/v1", "kind": "Notebook", "namespace": None,
           "name": None, "label_selectors": [], "condition": READY, "fail_condition": None,
           "state": "present", "objects": objects}
    out.update(task)
    return out


def notebook(namespace, name, ready=None, rv="1", stopped=False):
    o = obj(name, namespace=namespace, kind="Notebook", api_version="kubeflow.org/v1", rv=rv)
    if ready is not None:
        o["status"] = {"readyReplicas": ready}
    if stopped:
        o["metadata"]["annotations"] = {"kubeflow-resource-stopped": "now"}
    return o


def waiter(cluster, clock, timeout=60, round_seconds=None):
    return Waiter(cluster, Deadline(timeout, round_seconds=round_seconds, clock=clock),
                  sleep=clock.sleep)


def batches_of(objects, **task):
    entries = awaited_objects(params(objects, **task))
    batches = group_objects(entries)
    return batches, describe(batches)


THREE = [{"namespace": "a", "name": "wb"}, {"namespace": "b", "name": "wb"},
         {"namespace": "c", "name": "wb2"}]


def test_objects_of_one_kind_are_one_group_listed_cluster_wide():
    batches, awaited = batches_of(THREE)
    assert len(batches) == 1
    assert batches[0].selection.namespace is None and batches[0].selection.name is None
    assert awaited == ("3 objects (Notebook in a, b, c) to satisfy: condition `{0}`"
                       .format(READY))


def test_objects_in_one_namespace_are_listed_there_and_one_object_by_name():
    batches = batches_of([{"namespace": "a", "name": "x"}, {"namespace": "a", "name": "y"}])[0]
    assert (batches[0].selection.namespace, batches[0].selection.name) == ("a", None)
    batches, awaited = batches_of([{"namespace": "a", "name": "x"}])
    assert (batches[0].selection.namespace, batches[0].selection.name) == ("a", "x")
    assert awaited.startswith("1 object (Notebook in a) to satisfy")


def test_kinds_are_grouped_in_order_of_first_appearance_with_their_own_defaults():
    batches, awaited = batches_of([
        {"namespace": "m", "name": "minio", "kind": "Deployment", "api_version": "apps/v1",
         "condition": "status.availableReplicas >= `1`"},
        {"namespace": "m", "name": "minio-s3", "kind": "Route",
         "api_version": "route.openshift.io/v1", "condition": "status.ingress[0].host"},
        {"namespace": "a", "name": "wb"},
        {"namespace": "m", "name": "minio-ui", "kind": "Route",
         "api_version": "route.openshift.io/v1", "condition": "status.ingress[0].host"},
    ])
    assert [(b.selection.kind, len(b.entries)) for b in batches] == [
        ("Deployment", 1), ("Route", 2), ("Notebook", 1)]
    assert batches[2].entries[0].ref.api_version == "kubeflow.org/v1"
    assert awaited.endswith("to satisfy: their conditions")
    assert "Deployment in m; Route in m; Notebook in a" in awaited


def test_an_entry_without_a_kind_or_a_condition_with_state_absent_is_refused():
    with pytest.raises(GitopsError, match=r"objects\[1\] \(y\) has no kind"):
        awaited_objects(params([{"name": "x", "kind": "Pod"}, {"name": "y"}], kind=None))
    with pytest.raises(GitopsError, match="exclude each other"):
        awaited_objects(params([{"name": "x"}], state="absent"))
    with pytest.raises(GitopsError, match="drop name and label_selectors"):
        awaited_objects(params([{"name": "x"}], label_selectors=["app=x"]))


def test_all_ready_at_the_first_list_is_one_list_and_no_watch():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={"Notebook": [
        notebook("a", "wb", 1), notebook("b", "wb", 1), notebook("c", "wb2", 1),
        notebook("d", "other", 0)]})
    batches, awaited = batches_of(THREE)
    wait_all(waiter(cluster, clock), batches, awaited)
    assert cluster.scopes == [("list", "Notebook", None, None)]
    assert batches[0].ok and [o["metadata"]["namespace"] for o in batches[0].result()] == [
        "a", "b", "c"]


def test_objects_becoming_ready_later_are_seen_on_one_watch():
    clock = FakeClock()
    cluster = RecordingCluster(
        clock, by_kind={"Notebook": [notebook("a", "wb", 1), notebook("b", "wb", 0)]},
        watches=[[event("ADDED", notebook("c", "wb2", 0, rv="5")),
                  event("MODIFIED", notebook("z", "unrelated", 1, rv="6")),
                  event("MODIFIED", notebook("b", "wb", 1, rv="7")),
                  event("MODIFIED", notebook("c", "wb2", 1, rv="8"))]])
    batches, awaited = batches_of(THREE)
    w = waiter(cluster, clock)
    wait_all(w, batches, awaited)
    assert [s[:3] for s in cluster.scopes] == [("list", "Notebook", None),
                                               ("watch", "Notebook", None)]
    assert ("watch", "100") in cluster.calls
    subjects = {p["object"] for p in w.progress.entries}
    assert subjects == {"Notebook a/wb", "Notebook b/wb", "Notebook c/wb2"}
    assert "Notebook z/unrelated" not in batches[0].reason


def test_timeout_names_every_object_not_ready_with_its_state_and_why():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={"Notebook": [
        notebook("a", "wb", 1), notebook("b", "wb", 0)]})
    batches, awaited = batches_of(THREE)
    with pytest.raises(WaitTimeout) as caught:
        wait_all(waiter(cluster, clock, timeout=30), batches, awaited)
    msg = caught.value.msg
    assert msg.startswith("Timed out after 30s (wait_timeout=30) waiting for 3 objects "
                          "(Notebook in a, b, c) to satisfy: condition")
    reason = caught.value.details["reason"]
    assert "Notebook b/wb: `{0}` is false".format(READY) in reason
    assert "Notebook c/wb2: does not exist yet" in reason
    assert "Notebook a/wb" not in reason
    state = caught.value.details["last_state"]
    assert "Notebook b/wb: readyReplicas=0" in state and "Notebook c/wb2: does not exist" in state


def test_timeout_names_unready_objects_of_every_kind_including_those_not_watched_yet():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={
        "Notebook": [notebook("a", "wb", 0)],
        "Route": [obj("r", namespace="m", kind="Route", api_version="route.openshift.io/v1")]})
    batches, awaited = batches_of([
        {"namespace": "a", "name": "wb"},
        {"namespace": "m", "name": "r", "kind": "Route", "api_version": "route.openshift.io/v1",
         "condition": "status.ingress[0].host"}])
    with pytest.raises(WaitTimeout) as caught:
        wait_all(waiter(cluster, clock, timeout=20), batches, awaited)
    reason = caught.value.details["reason"]
    assert "Notebook a/wb: `{0}` is false".format(READY) in reason
    assert "Route m/r: `status.ingress[0].host` is null" in reason
    # The Route was read once before the Notebook's watch, and never watched.
    assert [s[:2] for s in cluster.scopes][:2] == [("list", "Route"), ("list", "Notebook")]
    assert ("watch", "Route") not in [s[:2] for s in cluster.scopes]


def test_a_round_that_ends_names_every_object_not_ready():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={"Notebook": [notebook("b", "wb", 0)]})
    batches, awaited = batches_of(THREE)
    with pytest.raises(RoundOver) as caught:
        wait_all(waiter(cluster, clock, timeout=600, round_seconds=10), batches, awaited)
    assert "Notebook b/wb" in caught.value.reason and "Notebook c/wb2" in caught.value.reason


def test_fail_condition_of_one_object_fails_at_once_naming_it():
    clock = FakeClock()
    cluster = RecordingCluster(
        clock, by_kind={"Notebook": [notebook("a", "wb", 0), notebook("b", "wb", 0)]},
        watches=[[event("MODIFIED", notebook("b", "wb", 0, rv="9", stopped=True))]])
    batches, awaited = batches_of(THREE, fail_condition=STOPPED)
    with pytest.raises(WaitFailed) as caught:
        wait_all(waiter(cluster, clock, timeout=600), batches, awaited)
    assert caught.value.msg.startswith("Notebook b/wb matches fail_condition")
    assert clock.now < 1000 + 600


def test_fail_condition_in_a_later_kind_fails_before_the_first_kind_is_awaited():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={
        "Notebook": [notebook("a", "wb", 0)],
        "Build": [obj("b-1", namespace="a", kind="Build", status={"phase": "Failed"})]})
    batches, awaited = batches_of([
        {"namespace": "a", "name": "wb"},
        {"namespace": "a", "name": "b-1", "kind": "Build", "api_version": "example.com/v1",
         "condition": "status.phase == 'Complete'", "fail_condition": "status.phase == 'Failed'"}])
    with pytest.raises(WaitFailed, match="Build a/b-1 matches fail_condition"):
        wait_all(waiter(cluster, clock, timeout=600), batches, awaited)
    assert not [s for s in cluster.scopes if s[0] == "watch"]


def test_an_entry_overrides_the_shared_condition_and_fail_condition():
    """Entries without a condition or fail_condition of their own take the task's: the
    custom_notebook role gives the fail_condition only to workbenches declared running."""
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={"Notebook": [
        notebook("a", "wb", 1), notebook("b", "wb", 0, stopped=True)]})
    entries = [{"namespace": "a", "name": "wb", "fail_condition": STOPPED},
               {"namespace": "b", "name": "wb", "condition": "(status.readyReplicas || `0`) == `0`"}]
    batches, awaited = batches_of(entries)
    wait_all(waiter(cluster, clock), batches, awaited)
    assert batches[0].ok


def test_a_refused_cluster_wide_list_is_split_per_namespace():
    clock = FakeClock()
    cluster = RecordingCluster(clock, refuse_cluster_wide=True, by_kind={"Notebook": [
        notebook("a", "wb", 1), notebook("b", "wb", 1), notebook("c", "wb2", 1)]})
    batches, awaited = batches_of(THREE)
    wait_all(waiter(cluster, clock), batches, awaited)
    assert [s[2:] for s in cluster.scopes] == [
        (None, None), ("a", "metadata.name=wb"), ("b", "metadata.name=wb"),
        ("c", "metadata.name=wb2")]
    assert len(batches) == 3 and all(b.ok for b in batches)


def test_check_mode_reports_each_object_and_a_fail_condition_without_failing():
    clock = FakeClock()
    cluster = RecordingCluster(clock, by_kind={"Notebook": [
        notebook("a", "wb", 1), notebook("b", "wb", 0, stopped=True)]})
    entries = awaited_objects(params(THREE, fail_condition=STOPPED))
    batches = group_objects(entries, raise_failures=False)
    look_all(Waiter(cluster, Deadline(0, clock=clock), sleep=clock.sleep), batches)
    verdicts = batches[0].verdicts
    assert verdicts[("a", "wb")][0] is True
    assert verdicts[("b", "wb")][0] is False
    assert verdicts[("b", "wb")][1].startswith("matches fail_condition")
    assert verdicts[("c", "wb2")] == (False, "does not exist yet")
    assert not [s for s in cluster.scopes if s[0] == "watch"]


def test_timeout_while_a_kind_is_never_served_names_its_objects_and_why():
    clock = FakeClock()
    cluster = RecordingCluster(clock, served_after=10 ** 6)
    batches, awaited = batches_of(THREE[:2])
    with pytest.raises(WaitTimeout) as caught:
        wait_all(waiter(cluster, clock, timeout=5), batches, awaited)
    reason = caught.value.details["reason"]
    assert reason.startswith("Notebook a/wb: Notebook is not served by kubeflow.org/v1 yet")
    assert "Notebook b/wb: Notebook is not served" in reason
    assert caught.value.details["last_state"] == "Notebook a/wb: not read; Notebook b/wb: not read"
