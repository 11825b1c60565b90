# SPDX-License-Identifier: Apache-2.0
"""One module execution: the module object, the cluster, the deadline, the
waiter and the accumulated result; and ``run_module``, the one way every module
of the collection exits: its result, or its failure with every credential
redacted and no traceback.

A module that talks to no Kubernetes API (git, S3, the OAuth server) runs with
``cluster=False``: a plain AnsibleModule, no client, no waiter.
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.rhods.gitops.plugins.module_utils.client import Cluster, Outage
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError, RoundOver
from ansible_collections.rhods.gitops.plugins.module_utils.redact import (
    Redactor,
    explain_unexpected,
)
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import (
    Deadline,
    Progress,
    Waiter,
)

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
        AnsibleK8SModule,
    )
except ImportError:  # pragma: no cover - kubernetes.core is a declared dependency
    AnsibleK8SModule = None

try:
    import jmespath  # noqa: F401  pylint: disable=unused-import
    JMESPATH_IMPORT_ERROR = None
except ImportError as import_error:
    JMESPATH_IMPORT_ERROR = import_error


class Run:
    """Everything a module's logic works with, and what it has done so far."""

    def __init__(self, module, cluster=None, connect=True):
        self.module = module
        self.params = module.params
        self.check_mode = module.check_mode
        self.want_diff = bool(module._diff)
        wait_round = self.params.get("wait_round") or {}
        self.deadline = Deadline(self.params.get("wait_timeout") or 0,
                                 round_seconds=wait_round.get("seconds"),
                                 spent=wait_round.get("spent") or 0.0)
        self.progress = Progress(self.deadline)
        # Every request of a waiting module outlives an API outage up to the deadline.
        outage = Outage(self.deadline, self.progress, time.sleep,
                        down_at=wait_round.get("unreachable_at"))
        self.outage = outage
        self.cluster = cluster or (Cluster.connect(module, outage) if connect else None)
        self.waiter = Waiter(self.cluster, self.deadline, self.progress) if self.cluster else None
        self.changed = False
        self.diffs = []
        self.warnings = []
        self.result = {}

    def record(self, object_results):
        """Take per-object apply results into the module result (changed and diff)."""
        for item in object_results:
            if item["changed"]:
                self.changed = True
                self.diffs.append(item["diff"])

    def take(self, result):
        """Take a finished result dict (with ``changed`` and optional ``diff``) into the run."""
        result = dict(result)
        self.changed = self.changed or bool(result.pop("changed", False))
        self.diffs.extend(result.pop("diff", None) or [])
        self.result.update(result)

    def output(self):
        out = dict(self.result)
        out["changed"] = self.changed
        if self.want_diff and self.diffs:
            out["diff"] = self.diffs
        if self.progress.entries or "wait_timeout" in self.params:
            out["progress"] = self.progress.entries
            out["elapsed"] = round(self.deadline.elapsed(), 1)
        for warning in self.warnings:
            self.module.warn(warning)
        return out


def _create_module(argument_spec, cluster, libraries, module_options):
    """The module object; fails when a required Python library is missing."""
    if cluster:
        if AnsibleK8SModule is None:  # pragma: no cover
            raise SystemExit("kubernetes.core is required by rhods.gitops")
        module = AnsibleK8SModule(argument_spec=argument_spec, supports_check_mode=True,
                                  **module_options)
        libraries = [("jmespath", JMESPATH_IMPORT_ERROR)] + list(libraries)
    else:
        module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                               **module_options)
    for name, import_error in libraries:
        if import_error is not None:
            module.fail_json(msg=missing_required_lib(name), exception=str(import_error))
    return module


def run_module(argument_spec, handler, cluster=True, libraries=(), **module_options):
    """Create the module, run ``handler(run)`` and exit with its result or its error.

    ``cluster``: connect to the Kubernetes API (``run.cluster``, ``run.waiter``).
    ``libraries``: ``(name, import error or None)`` of the Python libraries it needs.
    ``module_options``: AnsibleModule's cross-option rules (``required_if``,
    ``mutually_exclusive``, ``required_together``, ...)."""
    module = _create_module(argument_spec, cluster, libraries, module_options)
    run = None
    try:
        run = Run(module, connect=cluster)
        handler(run)
    except RoundOver as over:
        # run is None when the round ended while connecting: the API server was unreachable.
        module.exit_json(wait_round={"finished": False, "awaiting": over.awaited,
                                     "state": over.last_state, "reason": over.reason,
                                     "unreachable_at": run.outage.down_at if run else time.time()},
                         **(run.output() if run else {"changed": False}))
    except GitopsError as exc:
        _fail(module, run, exc.msg, exc.details)
    except Exception as exc:  # pylint: disable=broad-except
        # Not ours (the HTTP stack, the client): its text may quote a credential, so it goes
        # through the redactor like every other message, and no traceback is printed.
        _fail(module, run, explain_unexpected(exc, cluster), {})
    module.exit_json(**run.output())


def _fail(module, run, msg, details):
    """fail_json with every credential in play removed from the message and the details."""
    redactor = Redactor.for_module(module.params)
    out = run.output() if run else {}
    out.update({k: v for k, v in details.items() if v is not None})
    out.pop("changed", None)
    module.fail_json(msg=redactor.text(msg), changed=run.changed if run else False,
                     **redactor.value(out))
