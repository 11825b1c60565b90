"""The action plugin that runs long waits in rounds: combining rounds, printing progress."""

from ansible_collections.rhods.gitops.plugins.plugin_utils import wait_rounds
from ansible_collections.rhods.gitops.plugins.plugin_utils.wait_rounds import (
    ProgressPrinter,
    combine,
    timed_out,
)


def entry(elapsed, state, subject="Subscription ns/a"):
    return {"elapsed": elapsed, "time": "t", "object": subject, "state": state}


def test_combine_keeps_changes_diffs_and_progress_of_every_round():
    rounds = [
        {"changed": True, "diff": [{"before": {}, "after": {"a": 1}}],
         "progress": [entry(0.1, "does not exist yet"), entry(2.0, "state UpgradePending")],
         "wait_round": {"finished": False}, "warnings": ["w"],
         "invocation": {"module_args": {"wait_round": {"seconds": 30}}}},
        {"changed": False, "progress": [entry(30.5, "state UpgradePending"),
                                        entry(41.0, "settled")],
         "elapsed": 41.2, "csv": "a.v1", "warnings": ["w"],
         "invocation": {"module_args": {"wait_round": {"seconds": 30}, "package": "a"}}},
    ]
    final = combine(rounds)
    assert final["changed"] is True
    assert final["diff"] == [{"before": {}, "after": {"a": 1}}]
    assert [e["state"] for e in final["progress"]] == [
        "does not exist yet", "state UpgradePending", "settled"]
    assert final["csv"] == "a.v1" and final["elapsed"] == 41.2
    assert "wait_round" not in final
    assert final["invocation"]["module_args"] == {"package": "a"}
    assert final["warnings"] == ["w"]


def test_progress_printer_prints_each_transition_once(monkeypatch):
    lines = []
    monkeypatch.setattr(wait_rounds.display, "display", lines.append)
    printer = ProgressPrinter("localhost")
    printer.show([entry(0.1, "a"), entry(1.0, "b")])
    printer.show([entry(30.0, "b"), entry(35.5, "c")])
    assert lines == ["  [localhost]    0.1s Subscription ns/a: a",
                     "  [localhost]    1.0s Subscription ns/a: b",
                     "  [localhost]   35.5s Subscription ns/a: c"]


class FakeTask:
    def __init__(self, args):
        self.args = args
        self.async_val = 0


def test_rounds_continue_until_the_module_says_finished(monkeypatch):
    outcomes = [
        {"changed": True, "progress": [entry(1.0, "waiting")], "wait_round": {"finished": False}},
        {"changed": False, "progress": [entry(31.0, "waiting")], "wait_round": {"finished": False}},
        {"changed": False, "progress": [entry(45.0, "done")], "elapsed": 45.0},
    ]
    calls = []
    lines = []
    monkeypatch.setattr(wait_rounds.display, "display", lines.append)
    plugin = wait_rounds.WaitInRounds.__new__(wait_rounds.WaitInRounds)

    def execute(module_args=None, task_vars=None):
        calls.append(module_args)
        return outcomes[len(calls) - 1]

    plugin._execute_module = execute
    final = plugin._run_rounds({"kind": "X", "progress_interval": 30}, 30,
                               {"inventory_hostname": "h"})
    assert len(calls) == 3
    assert [c["wait_round"]["seconds"] for c in calls] == [30, 30, 30]
    assert calls[0]["wait_round"]["spent"] <= calls[1]["wait_round"]["spent"]
    assert final["changed"] is True and final["elapsed"] == 45.0
    assert lines == ["  [h]    1.0s Subscription ns/a: waiting",
                     "  [h]   45.0s Subscription ns/a: done"]


def test_a_budget_spent_between_rounds_is_a_timeout_with_the_last_state():
    rounds = [{"changed": True, "progress": [entry(1.0, "waiting")],
               "wait_round": {"finished": False, "awaiting": "Thing ns/a to satisfy: exists",
                              "state": "does not exist", "reason": "does not exist yet"}}]
    final = timed_out(rounds, 60, 61.26)
    assert final["failed"] is True and final["changed"] is True
    assert final["msg"] == ("Timed out after 61s (wait_timeout=60) waiting for Thing ns/a to "
                            "satisfy: exists. Last state seen: does not exist. Not ready "
                            "because: does not exist yet.")
    assert final["elapsed"] == 61.3 and final["timed_out"] is True
    assert "wait_round" not in final
