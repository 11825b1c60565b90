"""Workload readiness without a kubelet.

No pods ever run here, so this controller writes what the Deployment,
StatefulSet, Job and volume controllers would report once pods are up:

* Deployment / StatefulSet: a new generation is observed at once (rollout in
  progress), and after delay ``workload`` every wanted replica is ready
  (replicas 0: all counts 0);
* Job (not suspended): after delay ``workload`` succeeded with conditions
  SuccessCriteriaMet and Complete (Kubernetes 1.35 requires both, in that order);
* PersistentVolumeClaim: after delay ``workload`` Bound with the requested
  capacity and access modes; a deleted claim loses its
  ``kubernetes.io/pvc-protection`` finalizer (no pod can be using it), as the
  pvc-protection controller would do, so its namespace can terminate.

It writes only when something differs, through the status subresource.
"""

import hashlib
import json
import logging

from kubernetes.client.rest import ApiException

from .. import core

log = logging.getLogger("simulator.workloads")

APPS = "apps/v1"
BATCH = "batch/v1"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
COUNTS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
          "currentReplicas", "unavailableReplicas")


def _differs(current, wanted):
    """Like core.differs, but a missing count equals 0 (the API drops zero counts)."""
    current = current or {}
    for key, value in wanted.items():
        have = current.get(key)
        if key in COUNTS or key in ("succeeded", "failed", "active", "ready", "terminating"):
            if (have or 0) != (value or 0):
                return True
        elif have != value:
            return True
    return False


def _wanted_replicas(obj):
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def _template_hash(obj):
    text = json.dumps(((obj.get("spec") or {}).get("template") or {}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


# -- Deployment ----------------------------------------------------------------

def _deployment_ready_status(dep):
    replicas = _wanted_replicas(dep)
    name = dep["metadata"]["name"]
    status = dep.get("status") or {}
    conditions = [
        dict(core.condition("Available", "True", "MinimumReplicasAvailable",
                            "Deployment has minimum availability."),
             lastUpdateTime=core.now_iso()),
        dict(core.condition("Progressing", "True", "NewReplicaSetAvailable",
                            'ReplicaSet "%s-%s" has successfully progressed.'
                            % (name, _template_hash(dep))),
             lastUpdateTime=core.now_iso()),
    ]
    return {"observedGeneration": dep["metadata"].get("generation"),
            "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas, "unavailableReplicas": 0,
            "conditions": core.merge_conditions(status.get("conditions"), conditions,
                                                managed=("Available", "Progressing"))}


def _deployment_progress_status(dep):
    """A new generation seen: rollout started, old pods (if any) still serving."""
    replicas = _wanted_replicas(dep)
    status = dep.get("status") or {}
    available = min(int(status.get("availableReplicas") or 0), replicas)
    name = dep["metadata"]["name"]
    conditions = [
        dict(core.condition("Progressing", "True", "ReplicaSetUpdated",
                            'ReplicaSet "%s-%s" is progressing.' % (name, _template_hash(dep))),
             lastUpdateTime=core.now_iso()),
    ]
    if available >= replicas:
        conditions.append(dict(core.condition("Available", "True", "MinimumReplicasAvailable",
                                              "Deployment has minimum availability."),
                               lastUpdateTime=core.now_iso()))
    else:
        conditions.append(dict(core.condition("Available", "False", "MinimumReplicasUnavailable",
                                              "Deployment does not have minimum availability."),
                               lastUpdateTime=core.now_iso()))
    return {"observedGeneration": dep["metadata"].get("generation"),
            "replicas": replicas, "updatedReplicas": 0,
            "readyReplicas": available, "availableReplicas": available,
            "unavailableReplicas": replicas - available,
            "conditions": core.merge_conditions(status.get("conditions"), conditions,
                                                managed=("Available", "Progressing"))}


# -- StatefulSet ---------------------------------------------------------------

def _statefulset_ready_status(sts):
    replicas = _wanted_replicas(sts)
    revision = "%s-%s" % (sts["metadata"]["name"], _template_hash(sts))
    return {"observedGeneration": sts["metadata"].get("generation"),
            "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
            "updatedReplicas": replicas, "availableReplicas": replicas,
            "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}


def _statefulset_progress_status(sts):
    replicas = _wanted_replicas(sts)
    status = sts.get("status") or {}
    ready = min(int(status.get("readyReplicas") or 0), replicas)
    revision = "%s-%s" % (sts["metadata"]["name"], _template_hash(sts))
    return {"observedGeneration": sts["metadata"].get("generation"),
            "replicas": replicas, "readyReplicas": ready,
            "currentReplicas": ready, "updatedReplicas": 0, "availableReplicas": ready,
            "currentRevision": status.get("currentRevision") or revision,
            "updateRevision": revision, "collisionCount": 0}


# -- Job / PVC -----------------------------------------------------------------

def _job_done_status(job):
    status = job.get("status") or {}
    start = status.get("startTime") or core.now_iso()
    now = core.now_iso()
    completions = (job.get("spec") or {}).get("completions")
    succeeded = 1 if completions is None else int(completions)
    conditions = [
        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached",
         "message": "Reached expected number of succeeded pods",
         "lastProbeTime": now, "lastTransitionTime": now},
        {"type": "Complete", "status": "True", "reason": "CompletionsReached",
         "message": "Reached expected number of succeeded pods",
         "lastProbeTime": now, "lastTransitionTime": now},
    ]
    return {"startTime": start, "completionTime": now, "succeeded": succeeded, "active": 0,
            "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
            "conditions": core.merge_conditions(status.get("conditions"), conditions,
                                                managed=("SuccessCriteriaMet", "Complete"))}


def _job_done(job):
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in (job.get("status") or {}).get("conditions") or [])


def _pvc_bound_status(pvc):
    spec = pvc.get("spec") or {}
    request = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    status = {"phase": "Bound", "accessModes": spec.get("accessModes") or ["ReadWriteOnce"]}
    if request:
        status["capacity"] = {"storage": request}
    return status


# -- the controller ------------------------------------------------------------

class Workloads:
    def __init__(self, ctx):
        self.ctx = ctx
        self.kube = ctx.kube

    def _settle(self, api, plural, namespace, name, ready_fn, skip_fn=None):
        obj = self.kube.get(api, plural, name, namespace)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return
        if skip_fn and skip_fn(obj):
            return
        wanted = ready_fn(obj)
        if _differs(obj.get("status"), wanted):
            self.kube.patch_status(api, plural, name, wanted, namespace)
            log.debug("%s %s/%s ready", plural, namespace, name)

    def on_rollout(self, api, plural, ready_fn, progress_fn):
        def handler(etype, obj):
            if etype == "DELETED" or obj["metadata"].get("deletionTimestamp"):
                return
            namespace, name = core.meta_key(obj)
            status = obj.get("status") or {}
            if not _differs(status, ready_fn(obj)):
                return
            if status.get("observedGeneration") != obj["metadata"].get("generation"):
                wanted = progress_fn(obj)
                if _differs(status, wanted):
                    self.kube.patch_status(api, plural, name, wanted, namespace)
            self.ctx.later((plural, namespace, name), "workload", self._settle, api, plural,
                           namespace, name, ready_fn)
        return handler

    def on_job(self, etype, job):
        if etype == "DELETED" or job["metadata"].get("deletionTimestamp") or _job_done(job):
            return
        if (job.get("spec") or {}).get("suspend"):
            return
        namespace, name = core.meta_key(job)
        if not (job.get("status") or {}).get("startTime"):
            self.kube.patch_status(BATCH, "jobs", name,
                                   {"startTime": core.now_iso(), "active": 1}, namespace)
        self.ctx.later(("jobs", namespace, name), "workload", self._settle, BATCH, "jobs",
                       namespace, name, _job_done_status,
                       lambda j: _job_done(j) or (j.get("spec") or {}).get("suspend"))

    def on_pvc(self, etype, pvc):
        if etype == "DELETED":
            return
        if pvc["metadata"].get("deletionTimestamp"):
            self.release_pvc(pvc)
            return
        if not _differs(pvc.get("status"), _pvc_bound_status(pvc)):
            return
        namespace, name = core.meta_key(pvc)
        self.ctx.later(("pvcs", namespace, name), "workload", self._settle, "v1",
                       "persistentvolumeclaims", namespace, name, _pvc_bound_status)

    def release_pvc(self, pvc):
        """The pvc-protection controller: no pod uses a claim here, so let it go."""
        meta = pvc["metadata"]
        finalizers = meta.get("finalizers") or []
        if PVC_PROTECTION not in finalizers:
            return
        try:
            self.kube.patch("v1", "persistentvolumeclaims", meta["name"], {"metadata": {
                "resourceVersion": meta["resourceVersion"],
                "finalizers": [f for f in finalizers if f != PVC_PROTECTION]}},
                meta["namespace"])
        except ApiException as exc:
            if exc.status != 409:  # changed meanwhile: the next event retries
                raise


def run(ctx):
    kube = ctx.kube
    workloads = Workloads(ctx)
    core.spawn(core.watch_forever, ctx, kube.lister(APPS, "deployments"),
               workloads.on_rollout(APPS, "deployments", _deployment_ready_status,
                                    _deployment_progress_status),
               "deployments", name="workloads-deployments")
    core.spawn(core.watch_forever, ctx, kube.lister(APPS, "statefulsets"),
               workloads.on_rollout(APPS, "statefulsets", _statefulset_ready_status,
                                    _statefulset_progress_status),
               "statefulsets", name="workloads-statefulsets")
    core.spawn(core.watch_forever, ctx, kube.lister(BATCH, "jobs"), workloads.on_job, "jobs",
               name="workloads-jobs")
    core.watch_forever(ctx, kube.lister("v1", "persistentvolumeclaims"), workloads.on_pvc,
                       "persistentvolumeclaims")
