"""The wait engine against a scripted cluster: watches, relists, rediscovery, deadlines."""

import pytest
from fakes import FakeClock, ScriptedCluster, api_error, event, obj

from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    RoundOver,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import Selection
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    phase_is,
)
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import Deadline, Waiter

CSV = Selection("example.com/v1", "Thing", "op.v1", "ns")


def waiter(cluster, clock, timeout=60, round_seconds=None, spent=0.0):
    deadline = Deadline(timeout, round_seconds=round_seconds, spent=spent, clock=clock)
    return Waiter(cluster, deadline, sleep=clock.sleep)


def phase(value, rv="1"):
    return obj("op.v1", rv=rv, status={"phase": value})


def test_satisfied_by_the_initial_list_without_watching():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Succeeded")]])
    found = waiter(cluster, clock).wait(CSV, phase_is("Succeeded"))
    assert found["status"]["phase"] == "Succeeded"
    assert ("list", "metadata.name=op.v1") in cluster.calls
    assert not [c for c in cluster.calls if c[0] == "watch"]


def test_object_that_does_not_exist_yet_is_awaited_through_the_watch():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[]], watches=[[
        event("ADDED", phase("Installing", rv="101")),
        event("MODIFIED", phase("Succeeded", rv="102")),
    ]])
    w = waiter(cluster, clock)
    found = w.wait(CSV, phase_is("Succeeded"))
    assert found["metadata"]["resourceVersion"] == "102"
    states = [p["state"] for p in w.progress.entries]
    assert states == ["does not exist yet", "phase is Installing, not Succeeded",
                      "phase is Succeeded"]


def test_watch_resumes_from_the_last_resource_version_after_the_server_ends_it():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]], watches=[
        [event("MODIFIED", phase("Installing", rv="150"))],
        [event("MODIFIED", phase("Succeeded", rv="151"))],
    ])
    waiter(cluster, clock).wait(CSV, phase_is("Succeeded"))
    watches = [c[1] for c in cluster.calls if c[0] == "watch"]
    assert watches == ["100", "150"]
    assert len([c for c in cluster.calls if c[0] == "list"]) == 1


def test_410_gone_relists():
    clock = FakeClock()
    gone = event("ERROR", {"code": 410, "message": "too old resource version"})
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")], [phase("Succeeded")]],
                              watches=[[gone]])
    waiter(cluster, clock).wait(CSV, phase_is("Succeeded"))
    assert len([c for c in cluster.calls if c[0] == "list"]) == 2


def test_dropped_connection_and_server_errors_reconnect():
    clock = FakeClock()
    cluster = ScriptedCluster(
        clock, listings=[[phase("Installing")], [phase("Installing")], [phase("Succeeded")]],
        watches=[ConnectionResetError("peer reset"), api_error(503)])
    found = waiter(cluster, clock).wait(CSV, phase_is("Succeeded"))
    assert found["status"]["phase"] == "Succeeded"


def test_forbidden_is_not_retried():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]], watches=[api_error(403)])
    with pytest.raises(Exception) as info:
        waiter(cluster, clock).wait(CSV, phase_is("Succeeded"))
    assert getattr(info.value, "status", None) == 403


def test_kind_not_served_yet_is_rediscovered_until_served():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Succeeded")]], served_after=4)
    w = waiter(cluster, clock)
    w.wait(CSV, phase_is("Succeeded"))
    assert [c for c in cluster.calls if c[0] == "serves"]
    assert "Thing is not served by example.com/v1 yet" in w.progress.entries[0]["state"]
    assert clock.now - 1000.0 < 5  # short backoff, not long sleeps


def test_timeout_names_what_was_awaited_the_last_state_and_why():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]])
    with pytest.raises(WaitTimeout) as info:
        waiter(cluster, clock, timeout=30).wait(CSV, phase_is("Succeeded"))
    message = info.value.msg
    assert "Thing ns/op.v1 to satisfy: status.phase is Succeeded" in message
    assert "Last state seen: phase=Installing" in message
    assert "Not ready because: phase is Installing, not Succeeded" in message
    assert "wait_timeout=30" in message
    assert info.value.details["timed_out"] is True
    assert 30 <= clock.now - 1000.0 <= 31


def test_timeout_while_the_kind_is_never_served():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, served_after=10 ** 6)
    with pytest.raises(WaitTimeout) as info:
        waiter(cluster, clock, timeout=10).wait(CSV, phase_is("Succeeded"))
    assert "not served" in info.value.msg


def test_failure_check_stops_the_wait_at_once():
    clock = FakeClock()
    failed = obj("op.v1", status={"phase": "Failed", "message": "install strategy failed"})
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]],
                              watches=[[event("MODIFIED", failed)]])
    with pytest.raises(WaitFailed) as info:
        waiter(cluster, clock).wait(CSV, phase_is("Succeeded"), fail_on=phase_is("Failed"))
    assert info.value.msg.startswith("Thing ns/op.v1 ")
    assert clock.now - 1000.0 < 1


def test_a_round_ends_before_the_total_deadline_with_round_over():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]])
    with pytest.raises(RoundOver) as info:
        waiter(cluster, clock, timeout=600, round_seconds=30).wait(CSV, phase_is("Succeeded"))
    assert info.value.reason == "phase is Installing, not Succeeded"
    assert 30 <= clock.now - 1000.0 <= 31


def test_the_last_round_ends_with_a_timeout_counting_earlier_rounds():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]])
    with pytest.raises(WaitTimeout) as info:
        waiter(cluster, clock, timeout=600, round_seconds=30, spent=590).wait(
            CSV, phase_is("Succeeded"))
    assert "Timed out after 600s" in info.value.msg
    assert 10 <= clock.now - 1000.0 <= 11


def test_absent_is_satisfied_by_a_deleted_event():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Succeeded")]],
                              watches=[[event("DELETED", phase("Succeeded", rv="120"))]])
    assert waiter(cluster, clock).wait(CSV, absent()) is None


def test_label_selection_needs_every_object_to_satisfy_the_condition():
    clock = FakeClock()
    sel = Selection("example.com/v1", "Thing", None, "ns", "app=x")
    a_ready = obj("a", status={"phase": "Succeeded"})
    b_wait = obj("b", status={"phase": "Installing"})
    b_ready = obj("b", rv="130", status={"phase": "Succeeded"})
    cluster = ScriptedCluster(clock, listings=[[a_ready, b_wait]],
                              watches=[[event("MODIFIED", b_ready)]])
    w = waiter(cluster, clock)
    found = w.wait(sel, phase_is("Succeeded"))
    assert [o["metadata"]["name"] for o in found] == ["a", "b"]
    assert "b: phase is Installing" in w.progress.entries[0]["state"]
    assert ("list", "app=x") in cluster.calls


def test_label_selection_with_no_objects_is_not_satisfied():
    clock = FakeClock()
    sel = Selection("example.com/v1", "Thing", None, "ns", "app=x")
    cluster = ScriptedCluster(clock, listings=[[]])
    with pytest.raises(WaitTimeout) as info:
        waiter(cluster, clock, timeout=5).wait(sel, phase_is("Succeeded"))
    assert "no matching objects" in info.value.msg


def test_watches_that_end_at_once_do_not_spin():
    clock = FakeClock()
    cluster = ScriptedCluster(clock, listings=[[phase("Installing")]], watches=[[]] * 1000)
    with pytest.raises(WaitTimeout):
        waiter(cluster, clock, timeout=20).wait(CSV, phase_is("Succeeded"))
    watches = len([c for c in cluster.calls if c[0] == "watch"])
    assert watches <= 20  # backoff up to 2 s between watches, not a busy loop
