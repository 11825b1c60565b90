"""Shared plumbing of the operator simulator (test infrastructure only).

The simulator is never part of the collection.  It plays, against the real
kube-apiserver of the local control plane, the controllers that cannot run
here: the OpenShift GitOps operator once OLM installed it (it starts the real
Argo CD), the RHODS operator once OLM installed it, OpenShift's
project/route/build/image controllers and what the ODH notebook controller adds
to a Notebook.  OLM runs for real (lc/olm_run.py); pods are kwok's, workloads
the real controllers' (lc/kwok.py).

Every controller is a function ``run(ctx)`` that loops forever (normally over a
watch) and is started in its own daemon thread by ``__main__``.  Behaviour
(delays, injected failures) is read from ONE place: the ConfigMap
``simulator`` in namespace ``localcluster-system``, key ``config.yaml``, merged
over ``DEFAULTS`` below.  Tests change it at run time; controllers call
``ctx.config()`` each time they decide something, so a change applies to the
next decision without a restart.
"""

import copy
import hashlib
import heapq
import itertools
import json
import logging
import os
import queue
import secrets
import string
import threading
import time

import yaml
from kubernetes import client, config as kconfig, dynamic
from kubernetes.client.rest import ApiException

SYSTEM_NAMESPACE = "localcluster-system"
CONFIG_MAP = "simulator"
FIELD_MANAGER = "localcluster-simulator"

# Every knob the simulator understands.  Delays are seconds.  Documented in
# tests/cluster/README.md ("Simulator behaviour"); keep both in step.
DEFAULTS = {
    "delays": {
        "argocd": 0.5,            # ArgoCD CR -> start real Argo CD -> phase Available
        "dsci": 0.5,              # DSCI created -> Ready
        "dsc": 1.0,               # DSC seen -> Ready (per component)
        "build": 1.0,             # Build New -> Running -> Complete
        "route": 0.0,             # Route -> admitted with a host
    },
    "failures": {
        # DSC component name -> message; that component never becomes ready
        "dscComponents": {},
        # "<namespace>/<buildconfig>" -> message; builds of it end Failed
        "builds": {},
    },
    "rhods": {
        # Tags the base notebook ImageStream gets in spec and status.
        "notebookTags": ["2024.2", "2025.1", "2025.2"],
    },
    "routes": {"domain": "apps.localcluster.test"},
}

log = logging.getLogger("simulator")


def deep_merge(base, override):
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Context:
    """What every controller gets: admin API clients, config, paths."""

    def __init__(self, kubeconfig, state_dir):
        self.state_dir = state_dir
        self.kubeconfig = kubeconfig
        cfg = client.Configuration()
        kconfig.load_kube_config(config_file=kubeconfig, client_configuration=cfg)
        # Many long-lived watches share one client: keep enough pooled connections.
        cfg.connection_pool_maxsize = 64
        self.api_client = client.ApiClient(cfg)
        self.dynamic = dynamic.DynamicClient(self.api_client)
        self.core = client.CoreV1Api(self.api_client)
        self.apps = client.AppsV1Api(self.api_client)
        self.batch = client.BatchV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.apiext = client.ApiextensionsV1Api(self.api_client)
        self.admission = client.AdmissionregistrationV1Api(self.api_client)
        self._config_lock = threading.Lock()
        self._config_cache = (0.0, DEFAULTS)
        with open(os.path.join(state_dir, "ports.json"), encoding="utf-8") as handle:
            self.ports = json.load(handle)
        self.kube = Kube(self.api_client)
        self._scheduler = None
        self._crd_cond = threading.Condition()

    @property
    def scheduler(self):
        """The delayed-call scheduler (its threads start on first use)."""
        with self._config_lock:
            if self._scheduler is None:
                self._scheduler = Scheduler()
            return self._scheduler

    def config(self):
        """Current behaviour: DEFAULTS merged with the ConfigMap (cached 0.2 s)."""
        with self._config_lock:
            stamp, value = self._config_cache
            if time.monotonic() - stamp < 0.2:
                return value
            try:
                cm = self.core.read_namespaced_config_map(CONFIG_MAP, SYSTEM_NAMESPACE)
                override = yaml.safe_load((cm.data or {}).get("config.yaml") or "{}") or {}
            except ApiException as exc:
                if exc.status != 404:
                    log.warning("reading simulator config: %s", exc.reason)
                override = {}
            value = deep_merge(DEFAULTS, override)
            self._config_cache = (time.monotonic(), value)
            return value

    def seconds(self, name):
        """The configured delay ``name`` in seconds (float, >= 0)."""
        return max(0.0, float(self.config()["delays"].get(name, 0) or 0))

    def delay(self, name):
        time.sleep(self.seconds(name))

    def later(self, key, delay, fn, *args):
        """Run ``fn(*args)`` once after ``delay`` (a delay name or seconds).

        Calls with the same ``key`` coalesce: the earliest due time wins and
        the same key never runs twice at once.  ``fn`` runs on a worker thread,
        so one slow object never holds up the others.
        """
        seconds = self.seconds(delay) if isinstance(delay, str) else float(delay)
        self.scheduler.call_later(seconds, key, fn, *args)

    def crds_changed(self):
        """Wake watches waiting for a resource type to be served."""
        with self._crd_cond:
            self._crd_cond.notify_all()

    def wait_crds(self, timeout):
        with self._crd_cond:
            self._crd_cond.wait(timeout)

    def served_version(self, crd_name):
        """The version of CRD ``crd_name`` to use (storage if served), or None."""
        crd = self.kube.get("apiextensions.k8s.io/v1", "customresourcedefinitions", crd_name)
        if not crd or not is_established(crd):
            return None
        served = [v for v in crd["spec"]["versions"] if v.get("served")]
        for version in served:
            if version.get("storage"):
                return version["name"]
        return served[0]["name"] if served else None

    def failure(self, kind, key):
        """The injected failure message for ``key`` of ``kind``, or None."""
        return (self.config()["failures"].get(kind) or {}).get(key)


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def condition(ctype, status, reason="", message=""):
    return {"type": ctype, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now_iso()}


def watch_forever(ctx, list_fn, handler, name, **kwargs):
    """Call ``handler(event_type, obj_dict)`` for every event of a watch.

    ``list_fn`` is a kubernetes client list function (typed or
    CustomObjectsApi.list_cluster_custom_object with its args bound via
    kwargs).  Reconnects after errors and 410 Gone by relisting.  Handler
    exceptions are logged, never fatal.
    """
    from kubernetes import watch as kwatch

    while True:
        try:
            listing = list_fn(**kwargs)
            items, rv = _items_and_rv(ctx, listing)
            for item in items:
                _safe(handler, "ADDED", item, name)
            while True:
                stream = kwatch.Watch()
                for event in stream.stream(list_fn, resource_version=rv,
                                           timeout_seconds=60, **kwargs):
                    obj = event["object"]
                    if not isinstance(obj, dict):
                        obj = ctx.api_client.sanitize_for_serialization(obj)
                    if event["type"] == "ERROR":
                        raise ApiException(status=obj.get("code", 500), reason=obj.get("message"))
                    rv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if event["type"] == "BOOKMARK":
                        continue
                    _safe(handler, event["type"], obj, name)
        except ApiException as exc:
            if exc.status not in (404, 410):
                log.warning("%s: watch error %s %s", name, exc.status, exc.reason)
            if exc.status == 404:
                # The resource type is not served (yet): wake early when CRDs change.
                wait = getattr(ctx, "wait_crds", None)
                if wait:
                    wait(1.0)
                else:
                    time.sleep(1.0)
            else:
                time.sleep(0.5)
        except Exception as exc:  # pylint: disable=broad-except
            log.warning("%s: watch dropped: %s", name, exc)
            time.sleep(0.5)


def _items_and_rv(ctx, listing):
    if isinstance(listing, dict):
        return listing.get("items", []), listing["metadata"]["resourceVersion"]
    data = ctx.api_client.sanitize_for_serialization(listing)
    return data.get("items", []), data["metadata"]["resourceVersion"]


def _safe(handler, etype, obj, name):
    try:
        handler(etype, obj)
    except Exception:  # pylint: disable=broad-except
        log.exception("%s: handler failed for %s %s", name, etype,
                      (obj.get("metadata") or {}).get("name"))


def spawn(target, *args, name=None):
    thread = threading.Thread(target=target, args=args, name=name or target.__name__, daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------
# Helpers added for the controllers (plain dicts everywhere, no typed models).
# ---------------------------------------------------------------------------


def api_path(api_version, plural, namespace=None, name=None, subresource=None):
    """REST path of a collection or an object (core group is ``v1``)."""
    parts = ["/api/v1" if api_version == "v1" else "/apis/" + api_version]
    if namespace:
        parts += ["namespaces", namespace]
    parts.append(plural)
    if name:
        parts.append(name)
        if subresource:
            parts.append(subresource)
    return "/".join(parts)


class Kube:
    """A tiny dict-in, dict-out REST client on top of the shared ApiClient."""

    def __init__(self, api_client):
        self.api_client = api_client
        self._no_status = set()

    def request(self, method, path, body=None, query=None, content_type="application/json",
                timeout=30):
        if method in ("POST", "PUT", "PATCH"):
            # A field the schema does not know is an error, not silently pruned: the
            # simulator must write what the real controllers write (upstream CRDs).
            query = dict(query or {})
            query.setdefault("fieldValidation", "Strict")
        resp = self.api_client.call_api(
            path, method, query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body, auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True, _request_timeout=timeout)
        data = resp.data
        return json.loads(data) if data else None

    def get(self, api_version, plural, name, namespace=None):
        try:
            return self.request("GET", api_path(api_version, plural, namespace, name))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def list(self, api_version, plural, namespace=None, label_selector=None):
        query = {"labelSelector": label_selector} if label_selector else None
        try:
            return self.request("GET", api_path(api_version, plural, namespace),
                                query=query).get("items", [])
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise

    def create(self, api_version, plural, body, namespace=None):
        namespace = namespace or body.get("metadata", {}).get("namespace")
        body = dict(body, apiVersion=api_version)
        return self.request("POST", api_path(api_version, plural, namespace), body=body,
                            query={"fieldManager": FIELD_MANAGER})

    def ensure(self, api_version, plural, body, namespace=None):
        """Create ``body`` unless an object of that name exists; return the object."""
        namespace = namespace or body.get("metadata", {}).get("namespace")
        name = body["metadata"]["name"]
        current = self.get(api_version, plural, name, namespace)
        if current is not None:
            return current
        try:
            return self.create(api_version, plural, body, namespace)
        except ApiException as exc:
            if exc.status == 409:
                return self.get(api_version, plural, name, namespace)
            raise

    def patch(self, api_version, plural, name, patch, namespace=None, subresource=None,
              patch_type="merge"):
        """Merge (or ``json``) patch; returns the object or None when it is gone."""
        ctype = {"merge": "application/merge-patch+json",
                 "json": "application/json-patch+json"}[patch_type]
        try:
            path = api_path(api_version, plural, namespace, name, subresource)
            return self.request("PATCH", path, body=patch, content_type=ctype,
                                query={"fieldManager": FIELD_MANAGER})
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def patch_status(self, api_version, plural, name, status, namespace=None):
        """Merge-patch ``status`` through the status subresource (main resource if none)."""
        key = (api_version, plural)
        if key not in self._no_status:
            try:
                return self.request(
                    "PATCH", api_path(api_version, plural, namespace, name, "status"),
                    body={"status": status}, content_type="application/merge-patch+json",
                    query={"fieldManager": FIELD_MANAGER})
            except ApiException as exc:
                if exc.status != 404:
                    raise
                # 404: the object is gone, or the type has no status subresource.
                if self.get(api_version, plural, name, namespace) is None:
                    return None
                self._no_status.add(key)
        return self.patch(api_version, plural, name, {"status": status}, namespace)

    def apply(self, api_version, plural, body, namespace=None, subresource=None, force=True):
        """Server-side apply ``body`` with the simulator's field manager."""
        namespace = namespace or body.get("metadata", {}).get("namespace")
        body = dict(body, apiVersion=api_version)
        query = {"fieldManager": FIELD_MANAGER}
        if force:
            query["force"] = "true"
        return self.request("PATCH", api_path(api_version, plural, namespace,
                                              body["metadata"]["name"], subresource),
                            body=body, content_type="application/apply-patch+yaml", query=query)

    def delete(self, api_version, plural, name, namespace=None, propagation="Background"):
        """Delete; False when it was already gone."""
        try:
            self.request("DELETE", api_path(api_version, plural, namespace, name),
                         body={"kind": "DeleteOptions", "apiVersion": "v1",
                               "propagationPolicy": propagation})
            return True
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise

    def lister(self, api_version, plural, namespace=None, version_fn=None):
        """A list function for ``watch_forever`` that yields plain dicts.

        ``version_fn``, when given, returns the API version to use at each
        (re)list, for resource types whose served version is discovered; it
        returns None while the type is not served (the watch then waits).
        """
        def list_objects(**kwargs):
            version = version_fn() if version_fn else api_version
            if version is None:
                raise ApiException(status=404, reason="not served yet")
            query = {}
            if kwargs.get("watch"):
                query["watch"] = "true"
                query["allowWatchBookmarks"] = "true"
            if kwargs.get("resource_version"):
                query["resourceVersion"] = kwargs["resource_version"]
            if kwargs.get("timeout_seconds"):
                query["timeoutSeconds"] = str(kwargs["timeout_seconds"])
            if kwargs.get("label_selector"):
                query["labelSelector"] = kwargs["label_selector"]
            path = api_path(version, plural, namespace)
            if kwargs.get("_preload_content") is False:
                return self.api_client.call_api(
                    path, "GET", query_params=list(query.items()),
                    header_params={"Accept": "application/json"},
                    auth_settings=["BearerToken"], _preload_content=False,
                    _return_http_data_only=True)
            return self.request("GET", path, query=query)
        list_objects.__doc__ = ""  # no ":return:" line: the watch yields dicts
        return list_objects


class Scheduler:
    """Delayed calls keyed by object, run on a small pool of daemon workers."""

    def __init__(self, workers=8):
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap = []
        self._pending = {}     # key -> (due, seq, fn, args)
        self._running = set()
        self._deferred = {}    # key -> (fn, args) due while the key was running
        self._seq = itertools.count()
        self._work = queue.Queue()
        threading.Thread(target=self._timer, name="scheduler", daemon=True).start()
        for index in range(workers):
            threading.Thread(target=self._worker, name="worker-%d" % index, daemon=True).start()

    def call_later(self, seconds, key, fn, *args):
        due = time.monotonic() + max(0.0, seconds)
        with self._lock:
            current = self._pending.get(key)
            if current is not None and current[0] <= due:
                return
            entry = (due, next(self._seq), fn, args)
            self._pending[key] = entry
            heapq.heappush(self._heap, (due, entry[1], key))
            self._wake.notify()

    def _timer(self):
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    _due, seq, key = heapq.heappop(self._heap)
                    entry = self._pending.get(key)
                    if entry is None or entry[1] != seq:
                        continue  # superseded by an earlier call
                    del self._pending[key]
                    if key in self._running:
                        self._deferred[key] = (entry[2], entry[3])
                    else:
                        self._running.add(key)
                        self._work.put((key, entry[2], entry[3]))
                timeout = self._heap[0][0] - now if self._heap else None
                self._wake.wait(timeout)

    def _worker(self):
        while True:
            key, fn, args = self._work.get()
            try:
                fn(*args)
            except ApiException as exc:
                if exc.status in (403, 404, 409) and "terminat" in str(exc.body or "").lower() \
                        or exc.status in (404, 409):
                    # The object or its namespace went away meanwhile: nothing to do.
                    log.info("scheduled call %s: %s %s", key, exc.status, exc.reason)
                else:
                    log.exception("scheduled call %s failed", key)
            except Exception:  # pylint: disable=broad-except
                log.exception("scheduled call %s failed", key)
            with self._lock:
                deferred = self._deferred.pop(key, None)
                if deferred is None:
                    self._running.discard(key)
                else:
                    self._work.put((key, deferred[0], deferred[1]))


def is_established(crd):
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])


def merge_conditions(old, desired, managed=()):
    """``desired`` conditions, keeping lastTransitionTime where status did not change.

    Conditions of ``old`` whose type is not in ``desired`` are kept as they are,
    except types listed in ``managed``: those are dropped (the condition went away).
    """
    old = [c for c in old or [] if c.get("type") not in managed
           or any(d["type"] == c.get("type") for d in desired)]
    old_by_type = {c.get("type"): c for c in old}
    out = []
    for cond in desired:
        prev = old_by_type.pop(cond["type"], None)
        cond = dict(cond)
        if prev is not None and prev.get("status") == cond.get("status"):
            for stamp in ("lastTransitionTime", "lastProbeTime", "lastUpdateTime",
                          "lastHeartbeatTime"):
                if stamp in prev or stamp in cond:
                    if prev.get(stamp):
                        cond[stamp] = prev[stamp]
        out.append(cond)
    kept = [c for c in old or [] if c.get("type") in old_by_type]
    return kept + out


def get_condition(obj, ctype):
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond
    return None


def differs(current, wanted):
    """True when any key of ``wanted`` has another value in ``current``."""
    current = current or {}
    return any(current.get(key) != value for key, value in wanted.items())


def random_suffix(length=5):
    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def sha256_hex(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def owner_ref(obj, controller=True):
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": controller, "blockOwnerDeletion": False}


def meta_key(obj):
    meta = obj.get("metadata") or {}
    return (meta.get("namespace") or "", meta.get("name"))


def route_domain(ctx):
    return ctx.config()["routes"]["domain"]
