# SPDX-License-Identifier: Apache-2.0
"""Requests the API server refused, as messages that name the request, the
object and what to do (``api_error``)."""

import json

from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError


def _status_body(exc):
    try:
        body = json.loads(exc.body)
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def api_error(exc, verb, ref):
    """An ApiError whose message names the request, the object and what to do."""
    body = _status_body(exc)
    message = body.get("message") or exc.reason or "no message"
    what = ref if isinstance(ref, str) else _describe_target(ref)
    text = "{0} {1} was refused: HTTP {2} {3}: {4}".format(
        verb, what, exc.status, body.get("reason") or exc.reason or "", message)
    hint = _hint(exc.status, verb, ref, body)
    if hint:
        text += ". " + hint
    return ApiError(text, status=exc.status, api_reason=body.get("reason"),
                    causes=(body.get("details") or {}).get("causes"))


def _describe_target(ref):
    if ref.name:
        return str(ref)
    scope = " in namespace {0}".format(ref.namespace) if ref.namespace else ""
    return "{0} ({1}){2}".format(ref.kind, ref.api_version, scope)


def _hint(status, verb, ref, body):
    if status in (401,):
        return ("The credentials were not accepted: refresh the token (oc login, the AAP "
                "credential, or the openshift_login module).")
    if status == 403:
        kind = getattr(ref, "kind", "the resource")
        return ("The identity running the automation may not {0} {1}: grant it, see "
                "docs/rbac/automation-clusterrole.yml.".format(verb, kind))
    if status == 409 and verb == "apply":
        return ("Another field manager owns the conflicting fields listed above: set "
                "force_conflicts: true to take them over, or stop the other writer.")
    if status == 409:
        return "The object changed while it was being updated: run the task again."
    if status == 422:
        causes = (body.get("details") or {}).get("causes") or []
        fields = ", ".join("{0} ({1})".format(c.get("field"), c.get("message")) for c in causes)
        return "Fix these fields of the definition: {0}".format(fields) if fields else None
    if status == 404 and getattr(ref, "namespace", None):
        return "Does namespace {0} exist?".format(ref.namespace)
    return None
