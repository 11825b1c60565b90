# SPDX-License-Identifier: Apache-2.0
"""Waiting for many named objects in one module run (``k8s_wait`` with ``objects``).

A task per object costs a module start per object (docs/performance.md). Here the
objects are grouped by apiVersion and kind (``group_objects``); each group is one
``Batch``: one list and one watch, of the one namespace its objects share or
cluster-wide when they are in several, and every object's condition is evaluated
from that same list and watch stream. The waiter (``Waiter.await_observed``) drives
a batch exactly as it drives a single selection: resume, re-list on ``410 Gone``,
back off on outages, rounds.

Groups are awaited one after another, in the order of their first object. Before the
first watch, every group but the first is listed once, so a timeout names every
object not ready with its last state, and a ``fail_condition`` that already holds
anywhere fails at once. A group that held is not watched again while a later group
is awaited (as a loop of single waits would not look back either).

A cluster-wide list that RBAC refuses (403) is split into one list per namespace.
"""

from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils import errors
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    ObjectRef,
    Selection,
    dig,
    summarize,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    absent,
    exists,
    jmespath_true,
)
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import (
    Deadline,
    Waiter,
    matches_fail_condition,
    presentable,
    run_k8s_wait,
)


class Awaited(namedtuple("Awaited", "ref condition fail_on")):
    """One object to wait for: its ObjectRef, its condition and its failure check (or None)."""

    __slots__ = ()

    @property
    def key(self):
        return (self.ref.namespace, self.ref.name)


def _key(obj):
    return (dig(obj, "metadata.namespace"), dig(obj, "metadata.name"))


class Batch:
    """The objects of one kind awaited together, with the shape the waiter drives
    (``selection``, ``replace``, ``update``, ``evaluate``, ``report``, ``result``)."""

    def __init__(self, entries, raise_failures=True):
        first = entries[0].ref
        namespaces = sorted({e.ref.namespace or "" for e in entries})
        self.selection = Selection(
            first.api_version, first.kind, first.name if len(entries) == 1 else None,
            (namespaces[0] or None) if len(namespaces) == 1 else None)
        self.entries = entries
        self.raise_failures = raise_failures
        self.wanted = {e.key for e in entries}
        self.objects = {}
        self.failed = set()
        self.read = False
        self.ok = False
        self.unread("not read yet")

    def namespaces(self):
        return sorted({e.ref.namespace for e in self.entries if e.ref.namespace})

    def replace(self, items):
        self.read = True
        self.objects = {_key(o): o for o in items if _key(o) in self.wanted}

    def update(self, event_type, obj):
        key = _key(obj)
        if key not in self.wanted:
            return
        if event_type == "DELETED":
            self.objects.pop(key, None)
        else:
            self.objects[key] = obj

    def unread(self, why):
        """Record why no object could be read (the kind is not served yet, for example)."""
        self.verdicts = {e.key: (False, why) for e in self.entries}
        self._conclude()
        self.state = "; ".join("{0}: not read".format(e.ref) for e in self.entries)

    def evaluate(self):
        """Evaluate every object; raise errors.WaitFailed when a failure check fires (unless
        ``raise_failures`` is off: then the object is not ready, with the failure as reason)."""
        for entry in self.entries:
            obj = self.objects.get(entry.key)
            if entry.fail_on is not None and obj is not None:
                failed, why = entry.fail_on(obj)
                if failed:
                    if self.raise_failures:
                        raise errors.WaitFailed(str(entry.ref), why, last_state=summarize(obj))
                    self.failed.add(entry.key)
                    self.verdicts[entry.key] = (False, why)
                    continue
            self.failed.discard(entry.key)
            self.verdicts[entry.key] = entry.condition(obj)
        self._conclude()
        return self.ok

    def _conclude(self):
        waiting = self.unready()
        self.ok = not waiting
        self.reason = ("; ".join("{0}: {1}".format(e.ref, self.verdicts[e.key][1]) for e in waiting)
                       or "all {0} satisfy their conditions".format(len(self.entries)))
        self.state = "; ".join("{0}: {1}".format(e.ref, summarize(self.objects.get(e.key), 80))
                               for e in waiting) or None

    def unready(self):
        return [e for e in self.entries if not self.verdicts[e.key][0]]

    def report(self, progress):
        for entry in self.entries:
            progress.record(str(entry.ref), self.verdicts[entry.key][1])

    def result(self):
        return [self.objects.get(e.key) for e in self.entries]

    def split(self):
        """One batch per namespace (when a cluster-wide list is refused)."""
        by_namespace = {}
        for entry in self.entries:
            by_namespace.setdefault(entry.ref.namespace, []).append(entry)
        return [Batch(entries, self.raise_failures) for entries in by_namespace.values()]


def group_objects(entries, raise_failures=True):
    """``entries`` (Awaited) grouped by apiVersion and kind, in the order of first appearance."""
    groups = {}
    for entry in entries:
        groups.setdefault((entry.ref.api_version, entry.ref.kind), []).append(entry)
    return [Batch(members, raise_failures) for members in groups.values()]


def _split_refused(batches, index, act):
    """``act(batches[index])``; when RBAC refuses a cluster-wide read, split that batch into
    one per namespace (in place) and act on the first of them."""
    while True:
        batch = batches[index]
        try:
            return act(batch)
        except errors.ApiError as exc:
            if exc.status != 403 or batch.selection.namespace or len(batch.namespaces()) < 2:
                raise
            batches[index:index + 1] = batch.split()


def _look(waiter, batch):
    try:
        waiter.look(batch)
    except errors.NotServed:
        batch.unread("{0} is not served by {1} yet".format(batch.selection.kind,
                                                           batch.selection.api_version))
        batch.report(waiter.progress)


def look_all(waiter, batches, start=0):
    """List every batch from ``start`` once and evaluate it, without waiting."""
    index = start
    while index < len(batches):
        _split_refused(batches, index, lambda batch: _look(waiter, batch))
        index += 1


def wait_all(waiter, batches, awaited):
    """Wait until every batch holds. A timeout (or the end of a round) names every object
    that is not ready, with its last state and why."""
    look_all(waiter, batches, start=1)
    index = 0
    while index < len(batches):
        if index == 0 or not batches[index].ok:
            try:
                _split_refused(batches, index,
                               lambda batch: waiter.await_observed(batch, awaited))
            except (errors.WaitTimeout, errors.RoundOver) as over:
                if not batches[index].read:  # its kind was never served, for example
                    batches[index].unread(over.details["reason"] if isinstance(
                        over, errors.WaitTimeout) else over.reason)
                unready = [b for b in batches if not b.ok]
                raise waiter.deadline.over(
                    awaited, "; ".join(b.state or "nothing seen" for b in unready),
                    "; ".join(b.reason for b in unready)) from None
        index += 1


def describe(batches):
    """What is awaited, in words: ``3 objects (Notebook in a, b) to satisfy: condition ...``."""
    places = {}
    for batch in batches:
        places.setdefault(batch.selection.kind, set()).update(batch.namespaces())
    kinds = "; ".join(
        kind + (" in {0}".format(", ".join(sorted(spaces))) if 0 < len(spaces) <= 5
                else " in {0} namespaces".format(len(spaces)) if spaces else "")
        for kind, spaces in places.items())
    entries = [e for b in batches for e in b.entries]
    conditions = sorted({e.condition.description for e in entries})
    return "{0} object{1} ({2}) to satisfy: {3}".format(
        len(entries), "" if len(entries) == 1 else "s", kinds,
        conditions[0] if len(conditions) == 1 else "their conditions")


def awaited_objects(params):
    """The ``objects`` option as Awaited entries; the task's api_version, kind, namespace,
    condition and fail_condition apply to every entry that does not set its own."""
    if params["name"] or params["label_selectors"]:
        raise errors.GitopsError("objects lists the objects to wait for: drop name and label_selectors "
                                 "from the task (give each object's name in objects).")
    compiled = {}

    def compile_once(expression, option):
        if (expression, option) not in compiled:
            compiled[(expression, option)] = (
                matches_fail_condition(expression) if option == "fail_condition"
                else jmespath_true(expression))
        return compiled[(expression, option)]

    out = []
    for index, item in enumerate(params["objects"]):
        kind = item.get("kind") or params["kind"]
        if not kind:
            raise errors.GitopsError("objects[{0}] ({1}) has no kind: set kind on it or on the task."
                                     .format(index, item.get("name")), option="objects[{0}].kind"
                                     .format(index))
        expression = item.get("condition") or params["condition"]
        if params["state"] == "absent" and expression:
            raise errors.GitopsError("objects[{0}]: condition and state: absent exclude each other: an "
                                     "absent object has nothing to evaluate. Drop one of them."
                                     .format(index))
        condition = (absent() if params["state"] == "absent" else
                     compile_once(expression, "condition") if expression else exists())
        failing = item.get("fail_condition") or params["fail_condition"]
        ref = ObjectRef(item.get("api_version") or params["api_version"], kind, item["name"],
                        item.get("namespace") or params["namespace"])
        out.append(Awaited(ref, condition,
                           compile_once(failing, "fail_condition") if failing else None))
    return out


def run_k8s_wait_any(run):
    """The k8s_wait module: many objects (``objects``) in one wait, or one selection."""
    if not run.params.get("objects"):
        if not run.params["kind"]:
            raise errors.GitopsError("kind is required: give the kind of the objects to wait for, or "
                                     "list them in objects.")
        run_k8s_wait(run)
        return
    entries = awaited_objects(run.params)
    batches = group_objects(entries, raise_failures=not run.check_mode)
    if run.check_mode:
        look_all(Waiter(run.cluster, Deadline(0), run.progress), batches)
    else:
        wait_all(run.waiter, batches, describe(batches))
    found = {}
    for batch in batches:
        for entry in batch.entries:
            found[entry.ref] = (batch.verdicts[entry.key], batch.objects.get(entry.key))
    awaited = []
    for entry in entries:
        (ok, reason), obj = found[entry.ref]
        awaited.append({"api_version": entry.ref.api_version, "kind": entry.ref.kind,
                        "namespace": entry.ref.namespace, "name": entry.ref.name,
                        "satisfied": bool(ok), "reason": reason,
                        "resource": presentable(obj) if obj is not None else None})
    satisfied = all(a["satisfied"] for a in awaited)
    run.result.update(satisfied=satisfied, awaited=awaited,
                      resources=[a["resource"] for a in awaited if a["resource"] is not None])
    if not satisfied:
        run.result["reason"] = "; ".join("{0} {1}: {2}".format(
            a["kind"], "/".join(p for p in (a["namespace"], a["name"]) if p), a["reason"])
            for a in awaited if not a["satisfied"])
