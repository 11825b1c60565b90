# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes API as the collection uses it.

Authentication and the HTTP client come from kubernetes.core
(``get_api_client``: module parameters, ``K8S_AUTH_*`` environment as AAP sets
it, kubeconfig, in-cluster config). Discovery uses the ``kubernetes`` dynamic
client's lazy discoverer, cached in this process and, by kubernetes.core, in a
file shared with later module runs. This class adds what the engine needs on
top: server-side apply with our field manager, dry runs, raw watches, and API
errors turned into messages that name the request, the object and what to do.
"""

import json
import time

from ansible_collections.rhods.gitops.plugins.module_utils.api_errors import api_error
from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    ApiError,
    GitopsError,
    NotServed,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef

try:
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
        get_api_client,
    )
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
        CoreException,
    )
    from kubernetes.dynamic.exceptions import (
        DynamicApiError,
        ResourceNotFoundError,
        ResourceNotUniqueError,
    )
    from kubernetes.client.exceptions import ApiException
    from kubernetes.watch.watch import iter_resp_lines
    from urllib3.exceptions import HTTPError as Urllib3Error
except ImportError:  # reported by the module (missing_required_lib)
    Urllib3Error = OSError

FIELD_MANAGER = "rhods.gitops"
DRY_RUN_ALL = "All"
# Answers worth retrying (the API server restarting, throttling, a proxy in front of it).
RETRY_STATUSES = (429, 500, 502, 503, 504)
# A 500 no retry changes: kube-apiserver answers a server-side apply of an object its schema
# does not declare (a field a CRD lacks) with HTTP 500 "failed to create typed patch object".
PERMANENT_500 = ("failed to create typed patch object",)
RETRY_START = 0.25
RETRY_MAX = 4.0
# A kube-apiserver that has just started answers 401/403 until its authenticators and RBAC
# caches are filled; for this long after the API server was unreachable, those are retried too.
STARTUP_GRACE = 30.0

# How long a TCP connect may take, and how much longer than the watch's own
# server-side timeout a read may block before the connection counts as dead.
CONNECT_TIMEOUT = 10
READ_GRACE = 5


class Outage:
    """Retries of requests while the API server cannot answer, within a wait's deadline.

    ``deadline`` and ``progress`` are the module run's (see waiter.py). A run without a
    wait budget (``timeout`` 0) does not retry: the first error is reported as it is.
    Once the budget is spent, the deadline says what to raise (the round is over, or the
    wait timed out) with the last error as the reason.
    """

    def __init__(self, deadline, progress, sleep, down_at=None, clock=time.time):
        self.deadline = deadline
        self.progress = progress
        self.sleep = sleep
        self.clock = clock
        self.delay = RETRY_START
        # Wall-clock time the API server was last found unreachable, in this module run or in
        # an earlier round of the same wait (handed on by the action plugin).
        self.down_at = down_at

    def starting(self):
        """Whether the API server was unreachable a moment ago (it may still be starting)."""
        return self.down_at is not None and self.clock() - self.down_at < STARTUP_GRACE

    def pause(self, what, why):
        """Sleep before the next attempt; raise when no attempt is left."""
        if not self.deadline.timeout:
            return False
        if not why.startswith("HTTP 40"):
            self.down_at = self.clock()
        reason = "the API server did not answer ({0}); retrying until the deadline".format(why)
        self.progress.record("API server", reason)
        if self.deadline.expired():
            raise self.deadline.over("the API server to answer " + what, "unreachable",
                                     reason) from None
        self.sleep(min(self.delay, self.deadline.remaining()))
        self.delay = min(RETRY_MAX, self.delay * 2)
        return True

    def recovered(self):
        if self.delay != RETRY_START:
            self.progress.record("API server", "answering again")
        self.delay = RETRY_START


def _transient(exc, outage=None):
    """Why ``exc`` is worth retrying, or None."""
    status = getattr(exc, "status", None)
    if status == 500 and any(text in str(getattr(exc, "body", "") or "") for text in PERMANENT_500):
        return None
    if status in RETRY_STATUSES:
        return "HTTP {0}".format(status)
    if status in (401, 403) and outage is not None and outage.starting():
        return "HTTP {0} from an API server that is starting".format(status)
    if isinstance(exc, (Urllib3Error, OSError)):
        return type(exc).__name__
    return None


def retrying(outage, what, call):
    """``call()``, again while it fails with a transient error and ``outage`` allows."""
    while True:
        try:
            result = call()
        except Exception as exc:  # pylint: disable=broad-except
            why = _transient(exc, outage)
            if why is None or outage is None or not outage.pause(what, why):
                raise
            continue
        if outage is not None:
            outage.recovered()
        return result


class Cluster:
    """A thin layer over the dynamic client; every call returns plain dicts."""

    def __init__(self, dynamic_client, outage=None):
        self.dynamic = dynamic_client
        self.outage = outage
        self._resources = {}

    def _attempts(self, what, call):
        return retrying(self.outage, what, call)

    @classmethod
    def connect(cls, module, outage=None):
        """Connect as kubernetes.core would: parameters, K8S_AUTH_* environment, kubeconfig.

        With ``outage``, an API server that does not answer yet is retried until its deadline.
        """
        try:
            return cls(retrying(outage, "(connect)", lambda: get_api_client(module).client),
                       outage)
        except CoreException as exc:
            raise GitopsError(
                "Cannot connect to the cluster: {0}. Give a kubeconfig (KUBECONFIG or the "
                "kubeconfig option), K8S_AUTH_HOST and K8S_AUTH_API_KEY, or host and "
                "api_key.".format(exc)) from None
        except ApiException as exc:  # the first discovery request was refused
            raise api_error(exc, "discover", "the API") from None
        except Urllib3Error as exc:
            raise GitopsError(
                "Cannot reach the API server: {0}. Check the server URL of the kubeconfig (or "
                "K8S_AUTH_HOST) and the network.".format(exc)) from None
        except Exception as exc:  # kubeconfig parsing errors of the kubernetes client
            raise GitopsError("Cannot load the cluster configuration: {0}".format(exc)) from None

    # Discovery

    def resource(self, api_version, kind):
        """The API resource serving ``kind`` in ``api_version``; NotServed when there is none."""
        key = (api_version, kind)
        if key not in self._resources:
            lookup = {"api_version": api_version, "kind": kind}
            if "/" not in api_version:
                lookup["prefix"] = "api"
            try:
                self._resources[key] = self._attempts(
                    "(discovery)", lambda: self.dynamic.resources.get(**lookup))
            except (ResourceNotFoundError, ResourceNotUniqueError):
                raise NotServed(api_version, kind) from None
        return self._resources[key]

    def forget(self, api_version, kind):
        """Drop a cached resource (its API went away, e.g. a CRD was replaced)."""
        self._resources.pop((api_version, kind), None)
        self.dynamic.resources.invalidate_cache()

    def serves(self, api_version, kind):
        """Whether the API group version lists ``kind`` now: one request, no cache involved."""
        path = "/api/v1" if api_version == "v1" else "/apis/{0}".format(api_version)
        try:
            listing = self._raw("get", path)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return any(r.get("kind") == kind and "/" not in r.get("name", "")
                   for r in listing.get("resources") or [])

    def served_versions(self, group):
        """Versions the API group serves, preferred first; [] when the group is not served."""
        try:
            info = self._raw("get", "/apis/{0}".format(group))
        except ApiError as exc:
            if exc.status == 404:
                return []
            raise
        return [v["version"] for v in info.get("versions") or []]

    # Reads

    def get(self, resource, name, namespace=None):
        """The object, or None when it does not exist."""
        ref = _ref(resource, name, namespace)
        try:
            return self._call("get", ref, "get", resource.path(name=name, namespace=namespace))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        """``(items, resourceVersion)`` of a collection; NotServed if the collection is gone."""
        ref = _ref(resource, None, namespace)
        try:
            body = self._call("list", ref, "get", resource.path(namespace=namespace),
                              label_selector=label_selector, field_selector=field_selector)
        except ApiError as exc:
            if exc.status == 404:
                self.forget(resource.group_version, resource.kind)
                raise NotServed(resource.group_version, resource.kind) from None
            raise
        items = body.get("items") or []
        for item in items:  # list items carry no apiVersion/kind
            item.setdefault("apiVersion", resource.group_version)
            item.setdefault("kind", resource.kind)
        return items, (body.get("metadata") or {}).get("resourceVersion")

    def watch(self, resource, resource_version, seconds, namespace=None, label_selector=None,
              field_selector=None):
        """Yield ``(type, object)`` watch events until the server ends the watch.

        The server closes the watch after ``seconds``; a read that blocks
        ``READ_GRACE`` seconds longer means the connection is dead and raises.
        """
        ref = _ref(resource, None, namespace)
        seconds = max(1, int(seconds + 0.999))
        response = self._call(
            "watch", ref, "get", resource.path(namespace=namespace), raw=True, watch=True,
            resource_version=resource_version, timeout_seconds=seconds,
            allow_watch_bookmarks=True, label_selector=label_selector,
            field_selector=field_selector,
            _request_timeout=(CONNECT_TIMEOUT, seconds + READ_GRACE))
        try:
            for line in iter_resp_lines(response):
                if line.strip():
                    event = json.loads(line)
                    yield event.get("type"), event.get("object") or {}
        finally:
            response.close()
            response.release_conn()

    # Writes

    def apply(self, resource, definition, dry_run=False, force_conflicts=False):
        """Server-side apply ``definition`` with our field manager; returns the resulting object."""
        meta = definition["metadata"]
        ref = _ref(resource, meta["name"], meta.get("namespace"))
        path = resource.path(name=meta["name"], namespace=meta.get("namespace"))
        return self._call(
            "apply", ref, "patch", path,
            body=definition, content_type="application/apply-patch+yaml",
            field_manager=FIELD_MANAGER, force_conflicts=bool(force_conflicts),
            dry_run=DRY_RUN_ALL if dry_run else None)

    def merge_patch(self, resource, name, namespace, patch, dry_run=False):
        """JSON merge patch (used for a single field, like InstallPlan spec.approved)."""
        ref = _ref(resource, name, namespace)
        return self._call(
            "patch", ref, "patch", resource.path(name=name, namespace=namespace), body=patch,
            content_type="application/merge-patch+json", field_manager=FIELD_MANAGER,
            dry_run=DRY_RUN_ALL if dry_run else None)

    def delete(self, resource, name, namespace=None, dry_run=False):
        """Delete (background propagation); returns the server's answer, None if already gone."""
        ref = _ref(resource, name, namespace)
        try:
            return self._call(
                "delete", ref, "delete", resource.path(name=name, namespace=namespace),
                propagation_policy="Background", dry_run=DRY_RUN_ALL if dry_run else None)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def approve_install_plan(self, resource, name, namespace):
        """Set an InstallPlan's ``spec.approved`` (OLM then installs it)."""
        return self.merge_patch(resource, name, namespace, {"spec": {"approved": True}})

    # Subresources

    def instantiate(self, resource, name, namespace, request):
        """POST a BuildRequest to ``buildconfigs/<name>/instantiate``; returns the new Build.

        Not retried: a second attempt could start a second build."""
        return self._call("instantiate", _ref(resource, name, namespace), "post",
                          _subresource(resource, name, namespace, "instantiate"), once=True,
                          body=request, content_type="application/json")

    def instantiate_binary(self, resource, name, namespace, archive, query):
        """POST a binary source archive to ``buildconfigs/<name>/instantiatebinary``
        (``query``: its revision and ``asFile`` parameters); returns the new Build."""
        return self._call("upload binary input to", _ref(resource, name, namespace), "post",
                          _subresource(resource, name, namespace, "instantiatebinary"),
                          once=True, body=archive, content_type="application/octet-stream",
                          query_params=query)

    def log(self, resource, name, namespace, tail_lines):
        """The last ``tail_lines`` lines of an object's ``log`` subresource (a Build's)."""
        response = self._call("get log of", _ref(resource, name, namespace), "get",
                              _subresource(resource, name, namespace, "log"), raw=True,
                              query_params=[("tailLines", tail_lines)],
                              header_params={"Accept": "text/plain, */*"})
        data = response.data
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data or "")
        return text.splitlines()[-tail_lines:]

    # Plumbing

    def _raw(self, method, path):
        return self._call("get", path, method, path)

    def _call(self, verb, ref, method, path, raw=False, once=False, **params):
        """One request. A transient failure is retried (see ``Outage``) unless ``once``:
        every other verb used through here is idempotent."""
        params = {k: v for k, v in params.items() if v is not None}

        def request():
            return self.dynamic.request(method, path, serialize=False, **params)
        try:
            response = request() if once else self._attempts(
                "({0} {1})".format(verb, path), request)
        except DynamicApiError as exc:
            raise api_error(exc, verb, ref) from None
        if raw:
            return response
        data = response.data
        return json.loads(data) if data else {}


def _ref(resource, name, namespace):
    return ObjectRef(resource.group_version, resource.kind, name,
                     namespace if resource.namespaced else None)


def _subresource(resource, name, namespace, subresource):
    return "{0}/{1}".format(resource.path(name=name, namespace=namespace), subresource)
