# SPDX-License-Identifier: Apache-2.0
"""Exceptions of rhods.gitops.

Every exception carries a message that names the object, the field and what to
do, plus ``details``: extra keys the module adds to its failure result so that
a playbook (or a test) can act on them without parsing the message.
"""


class GitopsError(Exception):
    """A failure reported to the user as ``msg`` plus ``details``."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class ApiError(GitopsError):
    """The API server refused a request."""

    def __init__(self, msg, status=None, **details):
        super().__init__(msg, status=status, **details)
        self.status = status


class NotServed(GitopsError):
    """The cluster does not serve this apiVersion/kind (yet)."""

    def __init__(self, api_version, kind):
        super().__init__(
            "{0} {1} is not served by the cluster: the API (its CRD or aggregated API server) "
            "is not installed or not established yet. Install the operator that provides it "
            "first, or wait for it (k8s_wait, or apply with wait: true).".format(api_version, kind),
            api_version=api_version, kind=kind)
        self.api_version = api_version
        self.kind = kind


class WaitFailed(GitopsError):
    """The awaited object reached a state that waiting will not fix.

    ``reason`` reads as the rest of a sentence about the object ("failed: ...",
    "is blocked: ...") and ends with what to do.
    """

    def __init__(self, awaited, reason, last_state=None):
        super().__init__("{0} {1}".format(awaited, reason), awaited=awaited, reason=reason,
                         last_state=last_state, failed_object=awaited)


class WaitTimeout(GitopsError):
    """The deadline passed before the awaited state was reached."""

    def __init__(self, awaited, timeout, elapsed, last_state, reason):
        msg = ("Timed out after {0:.0f}s (wait_timeout={1}) waiting for {2}. "
               "Last state seen: {3}. Not ready because: {4}.").format(
                   elapsed, timeout, awaited, last_state or "nothing seen",
                   (reason or "unknown").rstrip("."))
        super().__init__(msg, awaited=awaited, last_state=last_state, reason=reason,
                         elapsed=round(elapsed, 1), timed_out=True)


class RoundOver(Exception):
    """The current wait round ended before the overall deadline (see plugin_utils)."""

    def __init__(self, awaited, last_state, reason):
        super().__init__(awaited)
        self.awaited = awaited
        self.last_state = last_state
        self.reason = reason
