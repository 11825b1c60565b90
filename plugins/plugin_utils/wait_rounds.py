# SPDX-License-Identifier: Apache-2.0
"""Progress for long waits: run the module in rounds and print between rounds.

A module cannot print while it runs: Ansible shows its result only when it
exits. So the action plugin of each waiting module runs the module with
``wait_round`` = {seconds: progress_interval, spent: seconds used so far}. The
module does its work, waits at most one round and exits; if the wait is not
over it says so (``wait_round.finished: false``) and the plugin prints the
state transitions of that round and starts the next round, which resumes from
the cluster's state (every step of the modules is idempotent). The total
deadline stays ``wait_timeout``, measured here from the first round, so the
start-up time of each round counts; when it has passed between two rounds,
the plugin reports the timeout with the last round's state.

Cost: one module start (about 0.3 s) and a few reads per round; with the
default 30 s rounds that is about 1 % of a long wait, and a wait that ends
within the first round costs nothing extra.
"""

import time

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash

from ansible_collections.rhods.gitops.plugins.module_utils.args import (
    DEFAULT_PROGRESS_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
)
from ansible_collections.rhods.gitops.plugins.module_utils.errors import WaitTimeout

display = Display()


def _as_int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class ProgressPrinter:
    """Prints each state transition once, prefixed with the host and elapsed time."""

    def __init__(self, host):
        self.host = host
        self._last = {}

    def show(self, entries):
        for entry in entries:
            subject, state = entry.get("object"), entry.get("state")
            if self._last.get(subject) == state:
                continue
            self._last[subject] = state
            display.display("  [{0}] {1:>6.1f}s {2}: {3}".format(
                self.host, entry.get("elapsed", 0.0), subject, state))


def combine(rounds):
    """One task result from the results of all rounds (the last one decides the outcome)."""
    final = dict(rounds[-1])
    final.pop("wait_round", None)
    final["changed"] = any(r.get("changed") for r in rounds)
    diffs = [d for r in rounds for d in _as_list(r.get("diff"))]
    if diffs:
        final["diff"] = diffs
    progress = []
    for entry in (e for r in rounds for e in r.get("progress") or []):
        if not progress or (progress[-1].get("object"), progress[-1].get("state")) != (
                entry.get("object"), entry.get("state")):
            progress.append(entry)
    if progress:
        final["progress"] = progress
    for key in ("warnings", "deprecations"):
        merged = []
        for item in (i for r in rounds for i in r.get(key) or []):
            if item not in merged:
                merged.append(item)
        if merged:
            final[key] = merged
    module_args = (final.get("invocation") or {}).get("module_args")
    if isinstance(module_args, dict):
        module_args.pop("wait_round", None)
    return final


def timed_out(rounds, timeout, spent):
    """The failure of a wait whose budget ran out between rounds (measured here, on the
    controller, so the start-up time of every round counts)."""
    awaiting = rounds[-1].get("wait_round") or {}
    error = WaitTimeout(awaiting.get("awaiting"), timeout, spent, awaiting.get("state"),
                        awaiting.get("reason"))
    final = combine(rounds)
    final.update(error.details)
    final.update(failed=True, msg=error.msg, elapsed=round(spent, 1))
    return final


class CollectionAction(ActionBase):
    """What the collection's action plugins share: check mode, no files to transfer, the
    task's result from ``act`` (given the task's arguments as a dict; ``self.task_vars`` holds
    the variables), the remote temporary directory removed afterwards unless ``keep_tmp``."""

    _supports_check_mode = True
    _supports_async = False
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # unused, as in ansible.builtin.normal
        self.task_vars = task_vars or {}
        self.keep_tmp = False
        outcome = self.act(dict(self._task.args))
        if not self.keep_tmp:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return merge_hash(result, outcome)

    def act(self, args):
        raise NotImplementedError


class WaitInRounds(CollectionAction):
    """Action plugin of a waiting module: see the module docstring."""

    _supports_async = True
    # Whether the module waits when the task does not set ``wait``.
    WAITS_BY_DEFAULT = True

    def act(self, args):
        interval = _as_int(args.get("progress_interval", DEFAULT_PROGRESS_INTERVAL), 0)
        # An async task's module result is collected later, from the temporary directory.
        self.keep_tmp = bool(self._task.async_val and not self._connection.has_native_async)
        waits = boolean(args.get("wait", self.WAITS_BY_DEFAULT), strict=False)
        if self._task.async_val or self._play_context.check_mode or interval <= 0 or not waits:
            return self._execute_module(task_vars=self.task_vars, wrap_async=self.keep_tmp)
        return self._run_rounds(args, interval, self.task_vars)

    def _run_rounds(self, args, interval, task_vars):
        return run_in_rounds(self, args, interval, task_vars)


def run_in_rounds(action, args, interval, task_vars, module_name=None):
    """Run a waiting module in rounds of ``interval`` seconds from ``action`` (an
    ActionBase); ``module_name`` defaults to the action's own module."""
    printer = ProgressPrinter((task_vars or {}).get("inventory_hostname", "localhost"))
    timeout = _as_int(args.get("wait_timeout", DEFAULT_WAIT_TIMEOUT), DEFAULT_WAIT_TIMEOUT)
    start = time.monotonic()
    rounds = []
    unreachable_at = None
    while True:
        spent = time.monotonic() - start
        if rounds and spent >= timeout:
            return timed_out(rounds, timeout, spent)
        wait_round = {"seconds": interval, "spent": round(spent, 3)}
        if unreachable_at is not None:  # an API server that was down may still be starting
            wait_round["unreachable_at"] = unreachable_at
        round_args = dict(args, wait_round=wait_round)
        named = {"module_name": module_name} if module_name else {}
        outcome = action._execute_module(  # pylint: disable=protected-access
            module_args=round_args, task_vars=task_vars, **named)
        rounds.append(outcome)
        unfinished = (outcome.get("wait_round") or {}).get("finished") is False
        unreachable_at = (outcome.get("wait_round") or {}).get("unreachable_at")
        display.vv("wait round {0}: started at {1}s, module elapsed {2}s, {3}".format(
            len(rounds), round_args["wait_round"]["spent"], outcome.get("elapsed"),
            "unfinished" if unfinished else "finished"))
        if len(rounds) > 1 or unfinished:
            printer.show(outcome.get("progress") or [])
        if not unfinished or outcome.get("failed"):
            return combine(rounds)
