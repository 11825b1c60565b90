"""Shared plumbing of the operator simulator (test infrastructure only).

The simulator is never part of the collection.  It plays, against the real
kube-apiserver of the local control plane, the controllers that cannot run
here: OLM, the OpenShift GitOps operator, the Argo CD application controller,
the RHODS operator, OpenShift's project/route/build/image controllers, the ODH
notebook controller and workload readiness.

Every controller is a function ``run(ctx)`` that loops forever (normally over a
watch) and is started in its own daemon thread by ``__main__``.  Behaviour
(delays, injected failures) is read from ONE place: the ConfigMap
``simulator`` in namespace ``localcluster-system``, key ``config.yaml``, merged
over ``DEFAULTS`` below.  Tests change it at run time; controllers call
``ctx.config()`` each time they decide something, so a change applies to the
next decision without a restart.
"""

import copy
import json
import logging
import os
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
        "installPlan": 0.2,       # Subscription seen -> InstallPlan created
        "csvInstalling": 0.5,     # InstallPlan Complete -> CSV Succeeded
        "crds": 0.0,              # extra delay before an operator's CRDs are created (CRD late)
        "argocd": 0.5,            # ArgoCD CR -> phase Available
        "dsci": 0.5,              # DSCI created -> Ready
        "dsc": 1.0,               # DSC seen -> Ready (per component)
        "build": 1.0,             # Build New -> Running -> Complete
        "workload": 0.2,          # Deployment/StatefulSet/Job/PVC -> ready/complete/bound
        "notebook": 0.5,          # Notebook -> StatefulSet ready -> readyReplicas
        "route": 0.0,             # Route -> admitted with a host
        "applicationSync": 0.2,   # Application -> sync attempt
    },
    "failures": {
        # package name -> message; the Subscription reports ResolutionFailed
        "resolution": {},
        # package name -> message; its InstallPlan ends Failed
        "installPlan": {},
        # package name -> message; its CSV ends Failed
        "csv": {},
        # DSC component name -> message; that component never becomes ready
        "dscComponents": {},
        # "<namespace>/<buildconfig>" -> message; builds of it end Failed
        "builds": {},
        # "<namespace>/<application>" -> message; the Application ends Degraded
        "applications": {},
    },
    # Package name -> forced approval behaviour is taken from the Subscription;
    # nothing to configure for Manual approval.
    "rhods": {
        # API versions of DataScienceCluster/DSCInitialization served when the
        # rhods-operator CSV installs its CRDs: ["v1"], ["v2"] or ["v1", "v2"].
        "dscVersions": ["v1"],
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
        self.api_client = kconfig.new_client_from_config(config_file=kubeconfig)
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

    def delay(self, name):
        time.sleep(float(self.config()["delays"].get(name, 0)))

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
            time.sleep(0.5 if exc.status != 404 else 1.0)
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
