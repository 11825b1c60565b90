"""Read the local control plane's audit log between two markers.

``AuditWindow(path)`` remembers where the log ends when it is created (the
"start marker"); ``.close()`` sets the end marker. ``.events(user)`` returns the
events of that user in between (complete requests only), so a test can count
the API requests of one playbook run:

    window = AuditWindow(cluster.audit_log)
    run_playbook(...)
    window.close()
    requests = window.events("rhods-gitops-automation")
"""

import json
import os
import time
from collections import Counter

AUTOMATION_USER = "rhods-gitops-automation"
# The API server writes an event when the response completes; give it a moment.
FLUSH_DELAY = 0.5


class AuditWindow:
    def __init__(self, path):
        self.path = path
        self.start = os.path.getsize(path) if os.path.exists(path) else 0
        self.end = None

    def close(self):
        time.sleep(FLUSH_DELAY)
        self.end = os.path.getsize(self.path)
        return self

    def events(self, user=AUTOMATION_USER):
        if self.end is None:
            self.close()
        if self.end < self.start:  # the log was rotated: nothing reliable to read
            raise AssertionError("the audit log %s was rotated during the window" % self.path)
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            chunk = handle.read(self.end - self.start)
        out = []
        for line in chunk.decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") != "ResponseComplete":
                continue
            if user and (event.get("user") or {}).get("username") != user:
                continue
            out.append(event)
        return out


def is_dry_run(event):
    return "dryRun=All" in (event.get("requestURI") or "")


def summary(events):
    """Counts by verb (dry runs separately) and by resource, for reports."""
    verbs = Counter(("dry-run " if is_dry_run(e) else "") + e.get("verb", "?") for e in events)
    resources = Counter((e.get("objectRef") or {}).get("resource", "(non-resource)")
                        for e in events)
    return {"total": len(events), "verbs": dict(verbs), "resources": dict(resources)}


def writes(events):
    """Requests that changed something (not reads, not dry runs)."""
    return [e for e in events if e.get("verb") in ("create", "update", "patch", "delete",
                                                   "deletecollection") and not is_dry_run(e)]


def touching(events, namespaces):
    """Events about objects in ``namespaces`` or about those namespaces themselves (other
    tests may use the same identity at the same time; this keeps a test to its own objects)."""
    names = set(namespaces)
    out = []
    for event in events:
        ref = event.get("objectRef") or {}
        if ref.get("namespace") in names or (
                ref.get("resource") in ("namespaces", "projects") and ref.get("name") in names):
            out.append(event)
    return out
