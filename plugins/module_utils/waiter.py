# SPDX-License-Identifier: Apache-2.0
"""The one wait engine of the collection: watches, not sleeps.

``Waiter.wait(selection, condition)`` lists the selected object(s) once, then
watches from the list's resourceVersion and re-evaluates the condition on every
event, until the condition holds, a failure check fires, or the deadline
passes. It survives what real clusters do:

- the object does not exist yet (an empty list is a valid starting point);
- the kind is not served yet (a CRD still to come): it re-discovers with a
  short backoff until the API serves the kind, within the deadline;
- the watch ends (server timeout): it resumes from the last resourceVersion;
- the watch is dropped or expires (``410 Gone``): it lists again.

Time is measured on ``time.monotonic()``. The deadline may be split into
rounds (see ``Deadline``) so that an action plugin can print progress between
rounds; a round that ends early raises ``RoundOver`` instead of ``WaitTimeout``.
"""

import time

from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    ApiError,
    GitopsError,
    NotServed,
    RoundOver,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    ObjectRef,
    Selection,
    dig,
    redact,
    summarize,
    without_managed_fields,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    SEES_MISSING,
    absent,
    exists,
    jmespath_true,
    predicate,
)

try:
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # reported by the module (missing_required_lib)
    Urllib3Error = OSError

# Longest single watch request; the server ends it and the waiter resumes.
WATCH_CHUNK = 300
# A watch that ends sooner than this (without reaching the condition) is retried
# after a backoff, in case something between us and the API server cuts watches.
MIN_WATCH_SECONDS = 1.0
# Re-discovery backoff while a kind is not served, and reconnect backoff.
BACKOFF_START = 0.25
BACKOFF_MAX = 2.0
# Errors worth retrying (the API server restarting, throttling, a proxy hiccup).
RETRY_STATUSES = (429, 500, 502, 503, 504)
PROGRESS_LIMIT = 200


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class Deadline:
    """A wait budget on the monotonic clock, optionally cut into rounds.

    ``timeout`` is the total budget in seconds, of which ``spent`` seconds were
    used by earlier rounds; ``round_seconds`` (None: no rounds) ends this round
    earlier than the total budget.
    """

    def __init__(self, timeout, round_seconds=None, spent=0.0, clock=time.monotonic):
        self.timeout = timeout
        self.spent = spent
        self._clock = clock
        self._start = clock()
        self._total_end = self._start + max(0.0, timeout - spent)
        self._end = self._total_end
        if round_seconds:
            self._end = min(self._total_end, self._start + round_seconds)

    def elapsed(self):
        """Seconds since the first round started."""
        return self.spent + self._clock() - self._start

    def remaining(self):
        return max(0.0, self._end - self._clock())

    def expired(self):
        return self.remaining() <= 0

    def over(self, awaited, last_state, reason):
        """The exception to raise now that this deadline (or round) has passed."""
        if self._clock() >= self._total_end:
            return WaitTimeout(awaited, self.timeout, self.elapsed(), last_state, reason)
        return RoundOver(awaited, last_state, reason)


class Progress:
    """State transitions seen while waiting, with timestamps (returned as ``progress``)."""

    def __init__(self, deadline):
        self.deadline = deadline
        self.entries = []
        self._last = {}

    def record(self, subject, state):
        if self._last.get(subject) == state:
            return
        self._last[subject] = state
        self.entries.append({"elapsed": round(self.deadline.elapsed(), 1), "time": utc_now(),
                             "object": subject, "state": state})
        del self.entries[:-PROGRESS_LIMIT]


class _Backoff:
    def __init__(self):
        self.delay = BACKOFF_START

    def next(self):
        delay = self.delay
        self.delay = min(BACKOFF_MAX, self.delay * 2)
        return delay

    def reset(self):
        self.delay = BACKOFF_START


class _Relist(Exception):
    """The watch cannot continue from its resourceVersion: list again."""


class _Observed:
    """What the wait has seen of the selection: objects by name, and the verdict."""

    def __init__(self, selection, condition, fail_on):
        self.selection = selection
        self.condition = condition
        self.fail_on = fail_on
        self.objects = {}
        self.ok = False
        self.reason = "nothing observed yet"
        self.state = None

    def replace(self, items):
        self.objects = {dig(o, "metadata.name"): o for o in items}

    def update(self, event_type, obj):
        name = dig(obj, "metadata.name")
        if event_type == "DELETED":
            self.objects.pop(name, None)
        else:
            self.objects[name] = obj

    def evaluate(self):
        """Evaluate the condition; raise WaitFailed when a failure check fires."""
        if self.selection.name:
            obj = self.objects.get(self.selection.name)
            self._fail_if_failed(obj)
            self.ok, self.reason = self.condition(obj)
            self.state = summarize(obj)
            return self.ok
        if not self.objects:
            self.ok, self.reason = self.condition(None)
            self.state = "no matching objects"
            return self.ok
        verdicts = []
        for name, obj in sorted(self.objects.items()):
            self._fail_if_failed(obj)
            verdicts.append((name, self.condition(obj)))
        waiting = ["{0}: {1}".format(n, r) for n, (ok, r) in verdicts if not ok]
        self.ok = not waiting
        self.reason = "; ".join(waiting) if waiting else "all {0} satisfy it".format(len(verdicts))
        self.state = "; ".join("{0}: {1}".format(n, summarize(o, 80))
                               for n, o in sorted(self.objects.items()))
        return self.ok

    def _fail_if_failed(self, obj):
        if self.fail_on is None or obj is None:
            return
        failed, reason = self.fail_on(obj)
        if failed:
            raise WaitFailed(str(ObjectRef.of(obj)), reason, last_state=summarize(obj))

    def report(self, progress):
        progress.record(str(self.selection), self.reason)

    def result(self):
        if self.selection.name:
            return self.objects.get(self.selection.name)
        return [o for _name, o in sorted(self.objects.items())]


class Waiter:
    """Waits with watches on one cluster, within one deadline, recording progress."""

    def __init__(self, cluster, deadline, progress=None, sleep=time.sleep):
        self.cluster = cluster
        self.deadline = deadline
        self.progress = progress or Progress(deadline)
        self._sleep = sleep

    def wait(self, selection, condition, fail_on=None):
        """Wait until ``condition`` holds for the selection; return what was observed.

        Returns the object (named selection; None when the condition is
        ``absent``) or the list of matching objects (label selection).
        """
        observed = _Observed(selection, condition, fail_on)
        awaited = "{0} to satisfy: {1}".format(selection, condition.description)
        return self.await_observed(observed, awaited)

    def await_observed(self, observed, awaited):
        """Wait until ``observed`` (anything with the shape of ``_Observed``: a ``selection``
        to list and watch, ``replace``/``update``/``evaluate``/``report``/``result``) is ok."""
        selection = observed.selection
        backoff = _Backoff()
        while True:
            try:
                resource = self._served_resource(selection, awaited, backoff)
                resource_version = self._list(resource, observed)
                observed.report(self.progress)
                if observed.ok:
                    return observed.result()
                backoff.reset()
                self._watch(resource, resource_version, observed, awaited)
                return observed.result()
            except _Relist:
                continue
            except NotServed:  # the collection went away (CRD replaced): re-discover
                self._pause(backoff, awaited, observed, "{0} no longer served".format(
                    selection.kind))
            except ApiError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                self._pause(backoff, awaited, observed, "API error {0}".format(exc.status))
            except (Urllib3Error, OSError) as exc:
                self._pause(backoff, awaited, observed, "connection lost ({0})".format(
                    type(exc).__name__))

    def _served_resource(self, selection, awaited, backoff):
        """The API resource, re-discovering with backoff while the kind is not served."""
        while True:
            try:
                return self.cluster.resource(selection.api_version, selection.kind)
            except NotServed:
                reason = ("{0} is not served by {1} yet (its CRD is missing or not "
                          "established)".format(selection.kind, selection.api_version))
                self.progress.record(str(selection), reason)
                if self.deadline.expired():
                    raise self.deadline.over(awaited, "kind not served", reason) from None
                self._sleep(min(backoff.next(), self.deadline.remaining()))
                while not self.deadline.expired() and not self.cluster.serves(
                        selection.api_version, selection.kind):
                    self._sleep(min(backoff.next(), self.deadline.remaining()))

    def look(self, observed):
        """List ``observed``'s selection once and evaluate it, without waiting; NotServed
        when its kind is not served."""
        sel = observed.selection
        self._list(self.cluster.resource(sel.api_version, sel.kind), observed)
        observed.report(self.progress)

    def _list(self, resource, observed):
        sel = observed.selection
        items, resource_version = self.cluster.list(
            resource, namespace=sel.namespace, label_selector=sel.label_selector,
            field_selector="metadata.name={0}".format(sel.name) if sel.name else None)
        observed.replace(items)
        observed.evaluate()
        return resource_version

    def _watch(self, resource, resource_version, observed, awaited):
        """Watch until the condition holds; resume after the server ends each watch."""
        sel = observed.selection
        backoff = _Backoff()
        while True:
            if self.deadline.expired():
                raise self.deadline.over(awaited, observed.state, observed.reason)
            started = self.deadline.elapsed()
            events = self.cluster.watch(
                resource, resource_version, min(WATCH_CHUNK, self.deadline.remaining()),
                namespace=sel.namespace, label_selector=sel.label_selector,
                field_selector="metadata.name={0}".format(sel.name) if sel.name else None)
            for event_type, obj in events:
                if event_type == "ERROR":
                    if obj.get("code") == 410:
                        raise _Relist()
                    raise ApiError("watch {0} failed: {1}".format(sel, obj.get("message")),
                                   status=obj.get("code"))
                resource_version = dig(obj, "metadata.resourceVersion") or resource_version
                if event_type == "BOOKMARK":
                    continue
                observed.update(event_type, obj)
                observed.evaluate()
                observed.report(self.progress)
                if observed.ok:
                    events.close()
                    return
                if self.deadline.expired():
                    events.close()
                    raise self.deadline.over(awaited, observed.state, observed.reason)
            if self.deadline.elapsed() - started < MIN_WATCH_SECONDS:
                # Something (a proxy?) ends watches at once: do not spin.
                self._pause(backoff, awaited, observed, "watch ended early")
            else:
                backoff.reset()

    def _pause(self, backoff, awaited, observed, why):
        self.progress.record(str(observed.selection), why)
        if self.deadline.expired():
            raise self.deadline.over(awaited, observed.state or why, observed.reason)
        self._sleep(min(backoff.next(), self.deadline.remaining()))

    def wait_served(self, api_version, kind):
        """Wait (within the deadline) until the cluster serves ``kind``; return its resource."""
        selection = Selection(api_version, kind)
        return self._served_resource(selection, "{0} {1} to be served".format(api_version, kind),
                                     _Backoff())


def run_k8s_wait(run):
    """The k8s_wait module: wait for any object to satisfy a JMESPath condition,
    to exist, or to be gone. In check mode, evaluate once and report."""
    params = run.params
    selection = Selection(params["api_version"], params["kind"], params["name"],
                          params["namespace"], ",".join(params["label_selectors"] or []) or None)
    if params["state"] == "absent":
        if params["condition"]:
            raise GitopsError("condition and state: absent exclude each other: an absent object "
                              "has nothing to evaluate. Drop one of them.")
        condition = absent()
    elif params["condition"]:
        condition = jmespath_true(params["condition"])
    else:
        condition = exists()
    fail_on = None
    if params["fail_condition"]:
        fail_on = matches_fail_condition(params["fail_condition"])
    waiter = run.waiter
    if run.check_mode:
        waiter = Waiter(run.cluster, Deadline(0), run.progress)
    try:
        found = waiter.wait(selection, condition, fail_on=fail_on)
    except WaitTimeout as exc:
        if not run.check_mode:
            raise
        run.result.update(satisfied=False, reason=exc.details["reason"], resources=[])
        return
    resources = [presentable(o) for o in (found if isinstance(found, list) else [found] if found
                                          else [])]
    run.result.update(satisfied=True, resources=resources)
    if params["name"]:
        run.result["resource"] = resources[0] if resources else None


def presentable(obj):
    """An object as modules return it: without managedFields, Secret values redacted."""
    return redact(without_managed_fields(obj))


def matches_fail_condition(expression):
    matches = jmespath_true(expression, option="fail_condition")

    @predicate("fail_condition `{0}`".format(expression), SEES_MISSING)
    def check(obj):
        failed, reason = matches(obj)
        return failed, "matches fail_condition ({0}): {1}".format(reason, summarize(obj))
    return check
