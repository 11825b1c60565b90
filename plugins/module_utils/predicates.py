# SPDX-License-Identifier: Apache-2.0
"""Predicates: what "ready" (or "failed") means, as small pure functions.

A predicate takes the observed object (a dict, or None when the object does not
exist) and returns ``(ok, reason)``: ``ok`` says whether the state is reached,
``reason`` says in a few words why (not). Every predicate has a
``description`` used in progress lines and timeout messages
("phase is Succeeded").

The same shape serves failure checks (``fail_on`` of the waiter): there ``ok``
means "failed, stop waiting" and ``reason`` is the failure message.
"""

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import (
    CRD,
    DEPLOYMENT,
    JOB,
    NAMESPACE,
    ROUTE,
    STATEFUL_SET,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import (
    describe_condition,
    dig,
    find_condition,
)

try:
    import jmespath
    from jmespath.exceptions import JMESPathError, ParseError
except ImportError:  # reported by the module (missing_required_lib)
    jmespath = None


MISSING = "does not exist yet"
# ``missing`` of a predicate that is called with None as well (exists, absent, combinations).
SEES_MISSING = object()


def predicate(description, missing=MISSING):
    """Decorator: attach a description to a predicate function. While the object does not
    exist, the predicate does not hold and ``missing`` is the reason, unless ``missing`` is
    ``SEES_MISSING``: then the function itself is called with None."""
    def wrap(check):
        if missing is SEES_MISSING:
            wrapped = check
        else:
            def wrapped(obj):
                return (False, missing) if obj is None else check(obj)
        wrapped.description = description
        return wrapped
    return wrap


def exists():
    @predicate("exists", SEES_MISSING)
    def check(obj):
        return (obj is not None, "exists" if obj is not None else "does not exist yet")
    return check


def absent():
    @predicate("is gone", SEES_MISSING)
    def check(obj):
        if obj is None:
            return True, "is gone"
        deleting = dig(obj, "metadata.deletionTimestamp")
        return False, ("is being deleted since {0}".format(deleting) if deleting
                       else "still exists")
    return check


def phase_is(*phases):
    """``status.phase`` is one of ``phases``."""
    wanted = " or ".join(phases)

    @predicate("status.phase is {0}".format(wanted))
    def check(obj):
        phase = dig(obj, "status.phase")
        if phase in phases:
            return True, "phase is {0}".format(phase)
        message = dig(obj, "status.message") or dig(obj, "status.reason")
        text = "phase is {0}, not {1}".format(phase or "not set yet", wanted)
        return False, "{0} ({1})".format(text, message) if message else text
    return check


def condition_is(ctype, status="True", reason=None, ignore_case=False):
    """Condition ``ctype`` has ``status`` (and ``reason``, when given)."""
    wanted = "{0}={1}".format(ctype, status) + (" (reason {0})".format(reason) if reason else "")

    @predicate("condition {0}".format(wanted))
    def check(obj):
        cond = find_condition(obj, ctype, ignore_case=ignore_case)
        if cond is None:
            return False, "condition {0} not reported yet".format(ctype)
        matches = cond.get("status") == status and (reason is None or cond.get("reason") == reason)
        return matches, describe_condition(cond)
    return check


def condition_true(ctype, ignore_case=False):
    return condition_is(ctype, "True", ignore_case=ignore_case)


def all_of(*predicates):
    """Every predicate holds; the reason names the first that does not."""
    return _combined(predicates, " and ", decided_by=False)


def any_of(*predicates):
    """At least one predicate holds (used for failure checks)."""
    return _combined(predicates, " or ", decided_by=True)


def _combined(predicates, word, decided_by):
    """The first predicate whose result is ``decided_by`` decides, with its reason; when none
    is, the result is the opposite, with every reason."""
    @predicate(word.join(p.description for p in predicates), SEES_MISSING)
    def check(obj):
        reasons = []
        for pred in predicates:
            ok, reason = pred(obj)
            if bool(ok) is decided_by:
                return decided_by, reason
            reasons.append(reason)
        return not decided_by, "; ".join(reasons)
    return check


def compile_jmespath(expression, option="condition"):
    """Compile a JMESPath expression; a syntax error names the option and the position."""
    if jmespath is None:
        raise GitopsError("The jmespath Python library is required for {0}: "
                          "pip install jmespath".format(option))
    if not isinstance(expression, str) or not expression.strip():
        raise GitopsError("{0} must be a non-empty JMESPath expression, for example "
                          "status.phase == 'Succeeded'".format(option))
    try:
        return jmespath.compile(expression)
    except ParseError as exc:
        position = exc.lex_position or 0
        detail = getattr(exc, "message", None) or (
            "the expression ends too early" if exc.token_value is None
            else "unexpected {0!r}".format(exc.token_value))
        raise GitopsError(
            "{0} is not a valid JMESPath expression: {1} at column {2}:\n  {3}\n  {4}^\n"
            "Quote string literals with single quotes, for example "
            "status.phase == 'Succeeded'.".format(
                option, detail, position, expression, " " * position),
            option=option, expression=expression) from None
    except JMESPathError as exc:
        raise GitopsError("{0} is not a valid JMESPath expression ({1}): {2}".format(
            option, expression, exc), option=option, expression=expression) from None


def _truthy(value):
    """JMESPath truthiness: false, null, empty string, list and object are false."""
    return value not in (None, False, "", [], {})


def jmespath_true(expression, option="condition"):
    """The JMESPath ``expression`` evaluated on the object is truthy."""
    compiled = compile_jmespath(expression, option)

    @predicate("{0} `{1}`".format(option, expression))
    def check(obj):
        try:
            value = compiled.search(obj)
        except JMESPathError as exc:
            return False, "`{0}` could not be evaluated yet: {1}".format(expression, exc)
        if _truthy(value):
            return True, "`{0}` is {1}".format(expression, _short(value))
        return False, "`{0}` is {1}".format(expression, _short(value))
    return check


def _short(value, limit=80):
    text = "null" if value is None else str(value)
    if isinstance(value, bool):
        text = "true" if value else "false"
    return text if len(text) <= limit else text[:limit - 3] + "..."


# Readiness of well-known kinds, used when a caller asks to wait without a condition.

def deployment_available():
    @predicate("Deployment rolled out and available")
    def check(obj):
        want = dig(obj, "spec.replicas", 1)
        status = obj.get("status") or {}
        if status.get("observedGeneration", 0) < dig(obj, "metadata.generation", 0):
            return False, "the controller has not observed the latest spec yet"
        ready = status.get("availableReplicas", 0)
        updated = status.get("updatedReplicas", 0)
        if ready >= want and updated >= want and not status.get("unavailableReplicas"):
            return True, "{0}/{1} replicas available".format(ready, want)
        return False, "{0}/{1} replicas available, {2} updated".format(ready, want, updated)
    return check


def statefulset_ready():
    @predicate("StatefulSet replicas ready")
    def check(obj):
        want = dig(obj, "spec.replicas", 1)
        ready = dig(obj, "status.readyReplicas", 0)
        return ready >= want, "{0}/{1} replicas ready".format(ready, want)
    return check


READINESS = {
    DEPLOYMENT: deployment_available,
    STATEFUL_SET: statefulset_ready,
    JOB: lambda: condition_true("Complete"),
    CRD: lambda: condition_true("Established"),
    NAMESPACE: lambda: phase_is("Active"),
    ROUTE: lambda: jmespath_true(
        "status.ingress[?conditions[?type=='Admitted' && status=='True']] | length(@) > `0`",
        option="Route admitted"),
}

FAILURES = {
    JOB: lambda: condition_true("Failed"),
}


def readiness(api_version, kind):
    """The default readiness predicate of a kind (``exists`` for kinds without one)."""
    return READINESS.get((api_version, kind), exists)()


def failure(api_version, kind):
    """The default failure check of a kind, or None."""
    factory = FAILURES.get((api_version, kind))
    return factory() if factory else None
