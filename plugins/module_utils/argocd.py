# SPDX-License-Identifier: Apache-2.0
"""Argo CD Applications: ensure one, wait until it is Synced at the expected
revision and Healthy, and say which resources are not.

The decisions are pure functions of the observed Application
(``application_ready``, ``application_failure``, ``resource_problems``), unit
tested without a cluster; ``run_argocd_application`` drives them with the
collection's applier and waiter (one watch on the Application, a real
deadline, progress in rounds).

What "ready" means, in this order:

1. ``status.sync.comparedTo.source`` is the Application's current source (a
   status computed for an older spec does not count);
2. ``status.sync.revision`` is the expected commit (when one is given: the
   commit the tree was pushed as);
3. no sync operation is running;
4. ``status.sync.status == Synced`` and ``status.health.status == Healthy``.

What fails at once instead of waiting for the deadline:

- a sync operation that ended ``Failed`` or ``Error`` at the expected revision;
- ``Degraded`` health at the expected revision with no operation running;
- a ``ComparisonError`` or ``InvalidSpecError`` condition (repository not
  reachable, revision or path missing, kustomize failing) that Argo CD reported
  for the current source after the wait started and after it handled our
  refresh request.

Every message lists the resources that are not synced or not healthy, with
their messages, and the last sync operation's message.
"""

import calendar
import time

from ansible_collections.rhods.gitops.plugins.module_utils.apply import Applier, delete
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError, NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import APPLICATION
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    dig,
    without_managed_fields,
)
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import absent, predicate

REFRESH = "argocd.argoproj.io/refresh"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
IN_CLUSTER = "https://kubernetes.default.svc"
ERROR_CONDITIONS = ("ComparisonError", "InvalidSpecError")
SOURCE_FIELDS = ("repoURL", "path", "targetRevision")
MAX_PROBLEMS = 20


def short(sha):
    return (sha or "")[:10] or "none"


# Definitions

def application_definition(params):
    """The Application as the module's parameters describe it."""
    meta = {"name": params["name"], "namespace": params["namespace"]}
    if params.get("labels"):
        meta["labels"] = dict(params["labels"])
    if params.get("annotations"):
        meta["annotations"] = dict(params["annotations"])
    if params.get("finalizer"):
        meta["finalizers"] = [FINALIZER]
    source = {"repoURL": params["repo_url"], "path": params.get("path") or ".",
              "targetRevision": params.get("target_revision") or "HEAD"}
    destination = {k: v for k, v in (params.get("destination") or {}).items() if v}
    if not destination.get("name"):
        destination.setdefault("server", IN_CLUSTER)
    spec = {"project": params.get("project") or "default", "source": source,
            "destination": destination}
    if params.get("sync_policy") is not None:
        spec["syncPolicy"] = params["sync_policy"]
    if params.get("ignore_differences"):
        spec["ignoreDifferences"] = params["ignore_differences"]
    return dict(APPLICATION.definition(meta["name"]), metadata=meta, spec=spec)


# Observations

def _ident(entry):
    group = entry.get("group") or ""
    kind = "{0}/{1}".format(group, entry.get("kind")) if group else entry.get("kind")
    where = "{0}/{1}".format(entry["namespace"], entry.get("name")) if entry.get("namespace") \
        else entry.get("name")
    return "{0} {1}".format(kind, where)


def resource_problems(app):
    """One line per resource that is not Synced or not Healthy, and per resource the last
    sync operation could not apply, with the messages Argo CD gives."""
    status = (app or {}).get("status") or {}
    lines, seen = [], set()
    failed = {}
    op_result = dig(status, "operationState.syncResult") or {}
    if op_result.get("revision") != dig(status, "sync.revision"):
        op_result = {}  # the last sync was of another revision: its failures are history
    for res in op_result.get("resources") or []:
        if res.get("status") in ("SyncFailed",) or res.get("hookPhase") in ("Failed", "Error"):
            ident = _ident(res)
            message = res.get("message") or res.get("status")
            if message.startswith(ident + ": "):  # Argo CD's messages often repeat the object
                message = message[len(ident) + 2:]
            failed[ident] = message
    for res in status.get("resources") or []:
        ident = _ident(res)
        sync = res.get("status") or "Unknown"
        health = (res.get("health") or {}).get("status")
        message = (res.get("health") or {}).get("message")
        if sync == "Synced" and health in (None, "Healthy") and ident not in failed:
            continue
        parts = [sync]
        if health:
            parts.append(health)
        text = "{0} ({1})".format(ident, ", ".join(parts))
        detail = [m for m in (failed.get(ident), message) if m]
        if detail:
            text += ": " + "; ".join(detail)
        if res.get("requiresPruning"):
            text += " (requires pruning)"
        lines.append(text)
        seen.add(ident)
    for ident, message in sorted(failed.items()):
        if ident not in seen:
            lines.append("{0} (SyncFailed): {1}".format(ident, message))
    if len(lines) > MAX_PROBLEMS:
        lines = lines[:MAX_PROBLEMS] + ["... and {0} more".format(len(lines) - MAX_PROBLEMS)]
    return lines


def summary(app):
    """``Synced/Healthy at abc123`` style one-liner of the Application's state."""
    if app is None:
        return "does not exist"
    status = app.get("status") or {}
    sync = dig(status, "sync.status") or "Unknown"
    health = dig(status, "health.status") or "Unknown"
    text = "{0}, {1} at {2}".format(sync, health, short(dig(status, "sync.revision")))
    phase = dig(status, "operationState.phase")
    if phase:
        text += "; last sync {0}".format(phase)
    return text


def compared_to_current_source(app):
    """Whether the status was computed for the Application's current source."""
    spec_source = dig(app, "spec.source") or (dig(app, "spec.sources") or [{}])[0]
    compared = dig(app, "status.sync.comparedTo.source")
    if not compared:
        return False
    return all((spec_source.get(f) or "") == (compared.get(f) or "") for f in SOURCE_FIELDS)


def _problems_text(app):
    problems = resource_problems(app)
    return (" Not synced or not healthy: " + "; ".join(problems) + ".") if problems else ""


def _operation_text(app):
    op = dig(app, "status.operationState") or {}
    if not op:
        return ""
    return " Last sync: {0} at {1}: {2}.".format(
        op.get("phase"), short(dig(op, "syncResult.revision")),
        (op.get("message") or "").rstrip("."))


def application_ready(expected_revision=None, healthy=True):
    """Predicate: Synced at ``expected_revision`` (any revision when None) and, unless
    ``healthy`` is false, Healthy (a health other than Degraded is then someone else's to
    await: the rhods role's olm_operator awaits an operator whose Manual InstallPlan it approves,
    which Argo CD reports Progressing until then)."""
    at = " at {0}".format(short(expected_revision)) if expected_revision else ""

    @predicate("Synced{0}{1}".format(at, " and Healthy" if healthy else ""),
               missing="the Application does not exist yet")
    def check(app):
        status = app.get("status") or {}
        if not compared_to_current_source(app):
            return False, "Argo CD has not compared the current source yet ({0})".format(
                summary(app))
        revision = dig(status, "sync.revision")
        if expected_revision and revision != expected_revision:
            return False, "compared at revision {0}, waiting for Argo CD to fetch {1}".format(
                short(revision), short(expected_revision))
        op = status.get("operationState") or {}
        if op.get("phase") == "Running":
            return False, "sync running at {0}: {1}".format(
                short(dig(op, "syncResult.revision")), op.get("message") or "")
        sync = dig(status, "sync.status") or "Unknown"
        health = dig(status, "health.status") or "Unknown"
        if sync == "Synced" and (health == "Healthy" or not healthy):
            return True, "Synced and {0} at {1}".format(health, short(revision))
        message = dig(status, "health.message")
        detail = " ({0})".format(message) if message else ""
        text = "{0}, {1}{2} at {3}.".format(sync, health, detail, short(revision))
        return False, text + _problems_text(app) + _conditions_text(app)
    return check


def _conditions_text(app):
    conds = [c for c in dig(app, "status.conditions", []) or []
             if isinstance(c, dict) and c.get("type")]
    if not conds:
        return ""
    return " Conditions: " + "; ".join("{0}: {1}".format(c["type"], c.get("message") or "")
                                       for c in conds) + "."


def _timestamp(text):
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except (TypeError, ValueError):
        return None


def application_failure(expected_revision=None, since=None):
    """Failure check: a sync that failed, Degraded health, or a comparison error (see the
    module docstring). ``since``: epoch seconds when the wait started."""

    @predicate("sync failed, Degraded or comparison error", missing="")
    def check(app):
        status = app.get("status") or {}
        annotations = dig(app, "metadata.annotations", {}) or {}
        current = compared_to_current_source(app)
        errors = [c for c in status.get("conditions") or []
                  if isinstance(c, dict) and c.get("type") in ERROR_CONDITIONS]
        reconciled = _timestamp(status.get("reconciledAt"))
        if errors and current and REFRESH not in annotations and (
                since is None or (reconciled is not None and reconciled >= int(since))):
            hint = ("Check the project (it must exist and allow the repository, the "
                    "destination and the kinds) and the destination." if any(
                        c["type"] == "InvalidSpecError" for c in errors) else
                    "Check the repository URL, the revision and the path, and that Argo CD can "
                    "reach the repository.")
            return True, "cannot be compared with git: {0}. {1}".format(
                "; ".join("{0}: {1}".format(c["type"], c.get("message")) for c in errors), hint)
        revision = dig(status, "sync.revision")
        at_expected = expected_revision is None or revision == expected_revision
        op = status.get("operationState") or {}
        op_revision = dig(op, "syncResult.revision")
        if op.get("phase") in ("Failed", "Error") and current and (
                expected_revision is None or op_revision == expected_revision):
            return True, "could not sync revision {0} (sync {1}): {2}.{3}".format(
                short(op_revision), op.get("phase"),
                (op.get("message") or "no message").rstrip("."), _problems_text(app))
        health = dig(status, "health.status")
        if health == "Degraded" and current and at_expected and op.get("phase") != "Running":
            message = dig(status, "health.message")
            return True, "is Degraded at revision {0}{1}.{2}{3}".format(
                short(revision), (": " + message.rstrip(".")) if message else "",
                _problems_text(app), _operation_text(app))
        return False, ""
    return check


def needs_refresh(app, expected_revision):
    """Whether to ask Argo CD to fetch the repository now (instead of at its next poll)."""
    if app is None or REFRESH in (dig(app, "metadata.annotations", {}) or {}):
        return False
    return not application_ready(expected_revision)(app)[0]


# The module

def _presentable(app):
    return without_managed_fields(app)


def _expected(params):
    expected = params.get("expected_revision")
    if expected:
        return expected.strip()
    repo_dir = params.get("repo_dir")
    if repo_dir:
        from ansible_collections.rhods.gitops.plugins.module_utils.git import Git  # noqa: E501 pylint: disable=import-outside-toplevel
        git = Git(repo_dir)
        try:
            sha = git.rev("HEAD")
        finally:
            git.close()
        if not sha:
            raise GitopsError("repo_dir {0} has no commit: render and commit the tree first, or "
                              "give expected_revision.".format(repo_dir))
        return sha
    return None


def run_argocd_application(run):
    """The argocd_application module."""
    params = run.params
    namespace = params["namespace"]
    selection = APPLICATION.select(params["name"], namespace)
    if params["state"] == "absent":
        remove(run, selection)
        return
    # repo_url is required with state present (the module's required_if).
    expected = _expected(params)
    run.result["expected_revision"] = expected
    try:
        resource = run.cluster.resource(*APPLICATION)
    except NotServed:
        if not run.check_mode:
            raise GitopsError("Argo CD's Application kind is not served: install OpenShift GitOps "
                              "first (role rhods.gitops.gitops_bootstrap).") from None
        run.warnings.append("Application is not served yet (OpenShift GitOps is not installed), "
                            "so check mode cannot validate it.")
        run.changed = True
        run.result.update(application=None, ready=False)
        return
    applier = Applier(run.cluster, run.check_mode)
    result = applier.apply(applier.prepare(application_definition(params)))
    run.record([result])
    run.warnings.extend(applier.warnings)
    app = result["object"]
    if not run.check_mode and params["refresh"] and needs_refresh(app, expected):
        # Also without wait: a caller that waits for something the new commit brings (a
        # namespace for its Secrets) must not wait for Argo CD's next poll of the repository.
        run.cluster.merge_patch(resource, params["name"], namespace,
                                {"metadata": {"annotations": {REFRESH: "normal"}}})
        run.result["refreshed"] = True
    if run.check_mode or not params["wait"]:
        _report(run, app, expected, ready=None)
        return
    since = time.time() - run.deadline.elapsed()
    try:
        app = run.waiter.wait(selection, application_ready(expected, params["wait_healthy"]),
                              fail_on=application_failure(expected, since))
    except GitopsError as exc:
        exc.details.setdefault("problems", [])
        last = run.cluster.get(resource, params["name"], namespace)
        if last is not None:
            exc.details["problems"] = resource_problems(last)
            exc.details["application"] = {"sync": dig(last, "status.sync.status"),
                                          "health": dig(last, "status.health"),
                                          "revision": dig(last, "status.sync.revision")}
        raise
    _report(run, app, expected, ready=True)


def _report(run, app, expected, ready):
    status = (app or {}).get("status") or {}
    run.result.update(
        application=_presentable(app),
        revision=dig(status, "sync.revision"),
        sync_status=dig(status, "sync.status"),
        health_status=dig(status, "health.status"),
        problems=resource_problems(app) if app else [],
        resources=[{"kind": r.get("kind"), "group": r.get("group", ""),
                    "namespace": r.get("namespace"), "name": r.get("name"),
                    "status": r.get("status"), "health": (r.get("health") or {}).get("status")}
                   for r in status.get("resources") or []],
        ready=ready if ready is not None else bool(app) and application_ready(
            expected, run.params["wait_healthy"])(app)[0],
    )


def remove(run, selection):
    """Delete the Application. Without ``cascade`` its finalizer is removed first, so Argo CD
    leaves the objects it delivered in place (they are adopted again by the next sync, or
    by direct delivery)."""
    params = run.params
    try:
        resource = run.cluster.resource(*APPLICATION)
    except NotServed:
        run.result.update(application=None)
        return
    live = run.cluster.get(resource, selection.name, selection.namespace)
    if live is None:
        run.result.update(application=None)
        return
    finalizers = dig(live, "metadata.finalizers", []) or []
    if params["cascade"] and FINALIZER not in finalizers and not run.check_mode:
        run.cluster.merge_patch(resource, selection.name, selection.namespace,
                                {"metadata": {"finalizers": finalizers + [FINALIZER]}})
    elif not params["cascade"] and finalizers and not run.check_mode:
        kept = [f for f in finalizers if not f.startswith(FINALIZER)]
        if kept != finalizers:
            run.cluster.merge_patch(resource, selection.name, selection.namespace,
                                    {"metadata": {"finalizers": kept or None}})
    outcome = delete(run, live)
    run.record([outcome])
    run.result.update(application=None)
    if params["wait"] and not run.check_mode:
        run.waiter.wait(selection, absent())
