"""OpenShift's own controllers, simulated: projects, routes, image streams, builds.

Projects
    A ProjectRequest (a CRD here, a virtual resource on OpenShift) makes the
    Namespace (annotations ``openshift.io/display-name``, ``-description``,
    ``-requester``) and the Project, then goes away.  A Project makes its
    Namespace (labels and annotations copied) and reports ``phase: Active``; a
    Namespace created directly gets a mirror Project.  Deleting a Project
    deletes its Namespace; a Namespace that goes away takes its Project along.

Routes
    After delay ``route``: ``spec.host`` defaulted to
    ``<name>-<namespace>.<domain>`` and ``status.ingress[0]`` admitted.

Image streams
    ``status.dockerImageRepository`` / ``publicDockerImageRepository``; every
    ``spec.tags[]`` from a DockerImage is "imported" (digest = sha256 of the
    reference).  Builds push into ``status.tags``.

Builds
    ConfigChange (at creation) and ImageChange triggers start builds like
    OpenShift's build controllers; ``start_build`` is what
    ``buildconfigs/<name>/instantiate`` does (the front proxy calls it).
    A Build goes New -> Pending -> Running -> (delay ``build``) Complete, or
    Failed when ``failures.builds["<ns>/<buildconfig>"]`` is set.  Its log is
    kept in the annotation ``localcluster.rhods.gitops/log`` (``read_build_log``).
    Serial run policy: one build of a config runs at a time, oldest first.
"""

import copy
import logging
import threading
import time
from datetime import datetime, timezone

from kubernetes.client.rest import ApiException

from .. import core

log = logging.getLogger("simulator.openshift")

PROJECT_API = "project.openshift.io/v1"
ROUTE_API = "route.openshift.io/v1"
IMAGE_API = "image.openshift.io/v1"
BUILD_API = "build.openshift.io/v1"
REGISTRY = "image-registry.openshift-image-registry.svc:5000"
LOG_ANNOTATION = "localcluster.rhods.gitops/log"
FINALIZER = "localcluster.rhods.gitops/namespace"
NS_UID = "localcluster.rhods.gitops/namespace-uid"
SKIP_COPY = ("kubectl.kubernetes.io/last-applied-configuration", NS_UID)
TERMINAL = ("Complete", "Failed", "Error", "Cancelled")
ACTIVE = ("Pending", "Running")
CANCELLED_MESSAGE = "The build was cancelled by the user."


def _parse_time(stamp):
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def _copyable(mapping):
    return {k: v for k, v in (mapping or {}).items() if k not in SKIP_COPY}


# ---------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------

class Projects:
    """Project <-> Namespace, the way OpenShift shows a Namespace as a Project.

    A Project carries the finalizer ``FINALIZER`` so that, as on OpenShift, it
    stays visible (phase Terminating) until its Namespace is gone, and the
    annotation ``NS_UID`` naming the Namespace it stands for, so a Project made
    again while the old Namespace still terminates is told apart from the old
    one.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.kube = ctx.kube
        self._locks = {}
        self._locks_lock = threading.Lock()

    def lock(self, name):
        with self._locks_lock:
            return self._locks.setdefault(name, threading.Lock())

    def set_phase(self, name, phase):
        project = self.kube.get(PROJECT_API, "projects", name)
        if project is not None and (project.get("status") or {}).get("phase") != phase:
            self.kube.patch_status(PROJECT_API, "projects", name, {"phase": phase})

    def _patch_meta(self, project, **meta):
        """Merge-patch a Project's metadata, guarded by its resourceVersion."""
        meta["resourceVersion"] = project["metadata"]["resourceVersion"]
        try:
            return self.kube.patch(PROJECT_API, "projects", project["metadata"]["name"],
                                   {"metadata": meta})
        except ApiException as exc:
            if exc.status != 409:
                raise
            # Changed meanwhile: the event of that change brings us back.
            return None

    def _release(self, project):
        finalizers = project["metadata"].get("finalizers") or []
        if FINALIZER in finalizers:
            self._patch_meta(project, finalizers=[f for f in finalizers if f != FINALIZER])

    def _create_project(self, name, labels, annotations, namespace_uid):
        body = {"kind": "Project",
                "metadata": {"name": name, "labels": labels, "finalizers": [FINALIZER],
                             "annotations": dict(annotations, **{NS_UID: namespace_uid})}}
        try:
            self.kube.create(PROJECT_API, "projects", body)
        except ApiException as exc:
            if exc.status != 409:
                raise
        self.set_phase(name, "Active")

    def on_projectrequest(self, etype, obj):
        if etype == "DELETED":
            return
        name = obj["metadata"]["name"]
        with self.lock(name):
            annotations = {
                "openshift.io/display-name": obj.get("displayName") or "",
                "openshift.io/description": obj.get("description") or "",
                "openshift.io/requester": ((obj["metadata"].get("annotations") or {})
                                           .get("openshift.io/requester") or "system:admin"),
            }
            namespace = self.kube.get("v1", "namespaces", name)
            if namespace is None:
                namespace = self.kube.create("v1", "namespaces", {"metadata": {
                    "name": name, "annotations": annotations}})
                log.info("ProjectRequest %s: Namespace created", name)
            if self.kube.get(PROJECT_API, "projects", name) is None:
                self._create_project(name, _copyable(namespace["metadata"].get("labels")),
                                     annotations, namespace["metadata"]["uid"])
            # A ProjectRequest is virtual on OpenShift: it does not stay around.
            self.kube.delete(PROJECT_API, "projectrequests", name)

    def on_project(self, etype, obj):
        name = obj["metadata"]["name"]
        with self.lock(name):
            if etype == "DELETED":
                # Deleted without our finalizer (e.g. while the simulator was down).
                namespace = self.kube.get("v1", "namespaces", name)
                if namespace is not None and not namespace["metadata"].get("deletionTimestamp") \
                        and _belongs(obj, namespace):
                    self.kube.delete("v1", "namespaces", name)
                return
            project = self.kube.get(PROJECT_API, "projects", name)
            if project is None:
                return
            namespace = self.kube.get("v1", "namespaces", name)
            if project["metadata"].get("deletionTimestamp"):
                self.set_phase(name, "Terminating")
                if namespace is None or not _belongs(project, namespace):
                    self._release(project)
                elif not namespace["metadata"].get("deletionTimestamp"):
                    self.kube.delete("v1", "namespaces", name)
                    log.info("Project %s deleted: deleting its Namespace", name)
                return  # the Namespace's DELETED event releases the Project
            if FINALIZER not in (project["metadata"].get("finalizers") or []):
                project = self._patch_meta(project, finalizers=(
                    project["metadata"].get("finalizers") or []) + [FINALIZER])
                if project is None:
                    return
            labels = _copyable(project["metadata"].get("labels"))
            annotations = _copyable(project["metadata"].get("annotations"))
            if namespace is not None and namespace["metadata"].get("deletionTimestamp"):
                if _belongs(project, namespace):
                    # Its Namespace is going away: so does the Project.
                    self.kube.delete(PROJECT_API, "projects", name)
                else:
                    # A new Project while the old Namespace terminates: wait for it.
                    self.set_phase(name, "Terminating")
                    self.ctx.later(("project-retry", name), 1.0, self.retry_project, name)
                return
            if namespace is None:
                try:
                    namespace = self.kube.create("v1", "namespaces", {"metadata": {
                        "name": name, "labels": labels, "annotations": annotations}})
                    log.info("Project %s: Namespace created", name)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
                    self.ctx.later(("project-retry", name), 1.0, self.retry_project, name)
                    return
            else:
                meta = namespace["metadata"]
                patch = {}
                if core.differs(meta.get("labels"), labels):
                    patch["labels"] = labels
                if core.differs(meta.get("annotations"), annotations):
                    patch["annotations"] = annotations
                if patch:
                    self.kube.patch("v1", "namespaces", name, {"metadata": patch})
            if (project["metadata"].get("annotations") or {}).get(NS_UID) != \
                    namespace["metadata"]["uid"]:
                self._patch_meta(project, annotations={NS_UID: namespace["metadata"]["uid"]})
            if (project.get("status") or {}).get("phase") != "Active":
                self.kube.patch_status(PROJECT_API, "projects", name, {"phase": "Active"})

    def retry_project(self, name):
        project = self.kube.get(PROJECT_API, "projects", name)
        if project is not None:
            self.on_project("MODIFIED", project)

    def on_namespace(self, etype, obj):
        name = obj["metadata"]["name"]
        with self.lock(name):
            project = self.kube.get(PROJECT_API, "projects", name)
            if etype == "DELETED":
                if project is not None and _belongs(project, obj):
                    if not project["metadata"].get("deletionTimestamp"):
                        self.kube.delete(PROJECT_API, "projects", name)
                        project = self.kube.get(PROJECT_API, "projects", name)
                    if project is not None:
                        self._release(project)
                    log.info("Namespace %s gone: Project deleted", name)
                elif project is not None:
                    self.ctx.later(("project-retry", name), 0, self.retry_project, name)
                return
            if obj["metadata"].get("deletionTimestamp"):
                if project is not None and _belongs(project, obj):
                    self.set_phase(name, "Terminating")
                    if not project["metadata"].get("deletionTimestamp"):
                        self.kube.delete(PROJECT_API, "projects", name)
                return
            labels = _copyable(obj["metadata"].get("labels"))
            annotations = _copyable(obj["metadata"].get("annotations"))
            if project is None:
                self._create_project(name, labels, annotations, obj["metadata"]["uid"])
                return
            if project["metadata"].get("deletionTimestamp"):
                return
            meta = project["metadata"]
            patch = {}
            # The Project is a view of the Namespace: same labels and annotations.
            old_labels, old_annotations = (_copyable(meta.get("labels")),
                                           _copyable(meta.get("annotations")))
            if old_labels != labels:
                patch["labels"] = dict({k: None for k in old_labels if k not in labels}, **labels)
            if old_annotations != annotations:
                patch["annotations"] = dict({k: None for k in old_annotations
                                             if k not in annotations}, **annotations)
            if patch:
                self.kube.patch(PROJECT_API, "projects", name, {"metadata": patch})
            if (project.get("status") or {}).get("phase") != "Active":
                self.kube.patch_status(PROJECT_API, "projects", name, {"phase": "Active"})


def _belongs(project, namespace):
    """Whether ``project`` stands for this very ``namespace`` (not an older/newer one)."""
    uid = (project["metadata"].get("annotations") or {}).get(NS_UID)
    return uid is None or uid == namespace["metadata"].get("uid")


# ---------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------

def route_host(ctx, route):
    meta = route["metadata"]
    return ((route.get("spec") or {}).get("host")
            or "%s-%s.%s" % (meta["name"], meta["namespace"], core.route_domain(ctx)))


def _route_admitted(ctx, route):
    ingress = ((route.get("status") or {}).get("ingress") or [])
    return (bool((route.get("spec") or {}).get("host")) and ingress
            and ingress[0].get("host") == route_host(ctx, route)
            and any(c.get("type") == "Admitted" and c.get("status") == "True"
                    for c in ingress[0].get("conditions") or []))


def admit_route(ctx, namespace, name):
    route = ctx.kube.get(ROUTE_API, "routes", name, namespace)
    if route is None or route["metadata"].get("deletionTimestamp") or _route_admitted(ctx, route):
        return
    host = route_host(ctx, route)
    if not (route.get("spec") or {}).get("host"):
        route = ctx.kube.patch(ROUTE_API, "routes", name, {"spec": {"host": host}}, namespace)
        if route is None:
            return
    domain = core.route_domain(ctx)
    ctx.kube.patch_status(ROUTE_API, "routes", name, {"ingress": [{
        "host": host, "routerName": "default", "wildcardPolicy": "None",
        "routerCanonicalHostname": "router-default." + domain,
        "conditions": [{"type": "Admitted", "status": "True",
                        "lastTransitionTime": core.now_iso()}]}]}, namespace)
    log.info("Route %s/%s admitted: %s", namespace, name, host)


# ---------------------------------------------------------------------------
# Image streams
# ---------------------------------------------------------------------------

def imported_item(reference, generation):
    """The status item an import of DockerImage ``reference`` gives."""
    if "@" in reference:
        repo, digest = reference.split("@", 1)
        return {"dockerImageReference": reference, "image": digest, "generation": generation,
                "created": core.now_iso()}
    last = reference.rsplit("/", 1)
    repo = reference
    if ":" in last[-1]:
        repo = reference[:reference.rindex(":")]
    digest = "sha256:" + core.sha256_hex(reference)
    return {"dockerImageReference": "%s@%s" % (repo, digest), "image": digest,
            "generation": generation, "created": core.now_iso()}


def update_imagestream_status(ctx, namespace, name, mutate, attempts=10):
    """Read-modify-write of an ImageStream's status with resourceVersion checks.

    ``mutate(stream) -> new status dict or None`` (None: nothing to write).
    Returns the stream as last seen.
    """
    for _ in range(attempts):
        stream = ctx.kube.get(IMAGE_API, "imagestreams", name, namespace)
        if stream is None:
            return None
        status = mutate(stream)
        if status is None:
            return stream
        try:
            return ctx.kube.request(
                "PATCH", core.api_path(IMAGE_API, "imagestreams", namespace, name, "status"),
                body={"metadata": {"resourceVersion": stream["metadata"]["resourceVersion"]},
                      "status": status},
                content_type="application/merge-patch+json",
                query={"fieldManager": core.FIELD_MANAGER})
        except ApiException as exc:
            if exc.status != 409:
                raise
    log.warning("ImageStream %s/%s: status update kept conflicting", namespace, name)
    return None


def _resolve_istag(ctx, namespace, stream_name, tag, seen=None):
    """The newest status item of ImageStreamTag ``stream:tag`` (or None)."""
    stream = ctx.kube.get(IMAGE_API, "imagestreams", stream_name, namespace)
    if stream is None:
        return None
    for entry in (stream.get("status") or {}).get("tags") or []:
        if entry.get("tag") == tag and entry.get("items"):
            return entry["items"][0]
    return None


def sync_imagestream_status(ctx, stream):
    """Repository names and imported DockerImage tags of one ImageStream."""
    if stream is None:
        return None
    namespace, name = core.meta_key(stream)

    def mutate(current):
        status = copy.deepcopy(current.get("status") or {})
        generation = current["metadata"].get("generation") or 1
        wanted_repo = "%s/%s/%s" % (REGISTRY, namespace, name)
        public_repo = "default-route-openshift-image-registry.%s/%s/%s" % (
            core.route_domain(ctx), namespace, name)
        changed = False
        if status.get("dockerImageRepository") != wanted_repo:
            status["dockerImageRepository"] = wanted_repo
            changed = True
        if status.get("publicDockerImageRepository") != public_repo:
            status["publicDockerImageRepository"] = public_repo
            changed = True
        tags = status.setdefault("tags", [])
        by_tag = {t.get("tag"): t for t in tags}
        for spec_tag in (current.get("spec") or {}).get("tags") or []:
            source = spec_tag.get("from") or {}
            item = None
            if source.get("kind") == "DockerImage" and source.get("name"):
                item = imported_item(source["name"], spec_tag.get("generation") or generation)
            elif source.get("kind") == "ImageStreamTag" and source.get("name"):
                ref = source["name"]
                ref_stream, ref_tag = (ref.split(":", 1) if ":" in ref else (name, ref))
                ref_ns = source.get("namespace") or namespace
                if (ref_ns, ref_stream) == (namespace, name):
                    target = by_tag.get(ref_tag)
                    resolved = (target or {}).get("items", [None])[0] if target else None
                else:
                    resolved = _resolve_istag(ctx, ref_ns, ref_stream, ref_tag)
                if resolved:
                    item = dict(resolved, generation=spec_tag.get("generation") or generation,
                                created=core.now_iso())
            if item is None:
                continue
            entry = by_tag.get(spec_tag["name"])
            if entry is None:
                entry = {"tag": spec_tag["name"], "items": []}
                tags.append(entry)
                by_tag[spec_tag["name"]] = entry
            items = entry.get("items") or []
            if items and items[0].get("image") == item["image"]:
                continue
            entry["items"] = [item] + items[:4]
            changed = True
        return status if changed else None

    return update_imagestream_status(ctx, namespace, name, mutate)


def push_image(ctx, namespace, stream_name, tag, digest):
    """What the registry does when a build pushes ``stream:tag``; returns the pull spec."""
    reference = "%s/%s/%s@sha256:%s" % (REGISTRY, namespace, stream_name, digest)
    ctx.kube.ensure(IMAGE_API, "imagestreams", {
        "apiVersion": IMAGE_API, "kind": "ImageStream",
        "metadata": {"name": stream_name, "namespace": namespace}, "spec": {}})

    def mutate(current):
        status = copy.deepcopy(current.get("status") or {})
        status.setdefault("dockerImageRepository", "%s/%s/%s" % (REGISTRY, namespace, stream_name))
        tags = status.setdefault("tags", [])
        entry = next((t for t in tags if t.get("tag") == tag), None)
        if entry is None:
            entry = {"tag": tag, "items": []}
            tags.append(entry)
        items = entry.get("items") or []
        if items and items[0].get("image") == "sha256:" + digest:
            return None
        entry["items"] = [{"created": core.now_iso(), "dockerImageReference": reference,
                           "image": "sha256:" + digest,
                           "generation": current["metadata"].get("generation") or 1}] + items[:4]
        return status

    update_imagestream_status(ctx, namespace, stream_name, mutate)
    return reference


# ---------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------

def _strategy_from(spec):
    strategy = (spec or {}).get("strategy") or {}
    for key in ("dockerStrategy", "sourceStrategy", "customStrategy"):
        if (strategy.get(key) or {}).get("from"):
            return key, strategy[key]["from"]
    return None, None


def _istag_parts(ref, default_namespace):
    name = ref.get("name") or ""
    stream, tag = name.split(":", 1) if ":" in name else (name, "latest")
    return ref.get("namespace") or default_namespace, stream, tag


def _output_of(spec, namespace):
    """(kind, namespace, stream, tag, pull spec) of spec.output.to, or None."""
    to = ((spec or {}).get("output") or {}).get("to") or {}
    if to.get("kind") == "ImageStreamTag" and to.get("name"):
        out_ns, stream, tag = _istag_parts(to, namespace)
        return ("ImageStreamTag", out_ns, stream, tag,
                "%s/%s/%s:%s" % (REGISTRY, out_ns, stream, tag))
    if to.get("kind") == "DockerImage" and to.get("name"):
        return ("DockerImage", None, None, None, to["name"])
    return None


def _image_triggers(bc):
    """[(index, from ref, lastTriggeredImageID)] of the ImageChange triggers."""
    namespace = bc["metadata"]["namespace"]
    spec = bc.get("spec") or {}
    status_triggers = (bc.get("status") or {}).get("imageChangeTriggers") or []
    out = []
    for index, trigger in enumerate(spec.get("triggers") or []):
        if trigger.get("type") != "ImageChange":
            continue
        change = trigger.get("imageChange") or {}
        if change.get("paused"):
            continue
        source = change.get("from") or _strategy_from(spec)[1]
        if not source or source.get("kind") != "ImageStreamTag":
            continue
        ref = {"kind": "ImageStreamTag", "name": source["name"],
               "namespace": source.get("namespace") or namespace}
        last = change.get("lastTriggeredImageID")
        for entry in status_triggers:
            efrom = entry.get("from") or {}
            if efrom.get("name") == ref["name"] and \
                    (efrom.get("namespace") or namespace) == ref["namespace"]:
                last = entry.get("lastTriggeredImageID") or last
        out.append((index, ref, last))
    return out


def start_build(ctx, namespace, bc_name, triggered_by=None, image_triggers=None):
    """Instantiate BuildConfig ``namespace/bc_name``: bump lastVersion, create the Build.

    ``triggered_by``: list of BuildTriggerCause dicts (or a message string).
    ``image_triggers``: [(trigger index, from ref, image id)] to record as the
    last triggered images (ImageChange builds).  Returns the Build (dict).
    """
    kube = ctx.kube
    if isinstance(triggered_by, str):
        triggered_by = [{"message": triggered_by}]
    triggered_by = triggered_by or [{"message": "Manually triggered"}]
    for _ in range(20):
        bc = kube.get(BUILD_API, "buildconfigs", bc_name, namespace)
        if bc is None:
            raise ApiException(status=404, reason="buildconfigs %s not found" % bc_name)
        status = bc.get("status") or {}
        number = int(status.get("lastVersion") or 0) + 1
        new_status = {"lastVersion": number}
        if image_triggers:
            entries = [e for e in status.get("imageChangeTriggers") or []]
            for _index, ref, image in image_triggers:
                entries = [e for e in entries
                           if not ((e.get("from") or {}).get("name") == ref["name"]
                                   and ((e.get("from") or {}).get("namespace") or namespace)
                                   == ref["namespace"])]
                entries.append({"lastTriggeredImageID": image,
                                "from": {"name": ref["name"], "namespace": ref["namespace"]},
                                "lastTriggerTime": core.now_iso()})
            new_status["imageChangeTriggers"] = entries
        try:
            bc = kube.request(
                "PATCH", core.api_path(BUILD_API, "buildconfigs", namespace, bc_name, "status"),
                body={"metadata": {"resourceVersion": bc["metadata"]["resourceVersion"]},
                      "status": new_status},
                content_type="application/merge-patch+json",
                query={"fieldManager": core.FIELD_MANAGER})
            break
        except ApiException as exc:
            if exc.status != 409:
                raise
    else:
        raise ApiException(status=409, reason="BuildConfig %s kept changing" % bc_name)
    if image_triggers:
        # OpenShift also records the image in the (deprecated) spec field.
        ops = [{"op": "add", "path": "/spec/triggers/%d/imageChange/lastTriggeredImageID" % index,
                "value": image} for index, _ref, image in image_triggers
               if isinstance((bc["spec"]["triggers"][index].get("imageChange")), dict)]
        if ops:
            try:
                kube.patch(BUILD_API, "buildconfigs", bc_name, ops, namespace, patch_type="json")
            except ApiException as exc:
                log.warning("BuildConfig %s/%s: recording lastTriggeredImageID: %s",
                            namespace, bc_name, exc.reason)
    spec = copy.deepcopy(bc.get("spec") or {})
    for key in ("triggers", "runPolicy", "successfulBuildsHistoryLimit",
                "failedBuildsHistoryLimit"):
        spec.pop(key, None)
    spec["triggeredBy"] = triggered_by
    key, source = _strategy_from(spec)
    if source and source.get("kind") == "ImageStreamTag":
        image = None
        for cause in triggered_by:
            change = cause.get("imageChangeBuild") or {}
            if change.get("imageID"):
                image = change["imageID"]
        if image is None:
            item = _resolve_istag(ctx, *_istag_parts(source, namespace))
            image = item["dockerImageReference"] if item else None
        if image:
            spec["strategy"][key]["from"] = {"kind": "DockerImage", "name": image}
    run_policy = (bc.get("spec") or {}).get("runPolicy") or "Serial"
    name = "%s-%d" % (bc_name, number)
    body = {
        "apiVersion": BUILD_API, "kind": "Build",
        "metadata": {
            "name": name, "namespace": namespace,
            "labels": {"buildconfig": bc_name, "openshift.io/build-config.name": bc_name,
                       "openshift.io/build.start-policy": run_policy},
            "annotations": {"openshift.io/build-config.name": bc_name,
                            "openshift.io/build.number": str(number),
                            "openshift.io/build.pod-name": name + "-build"},
            "ownerReferences": [core.owner_ref(bc)],
        },
        "spec": spec,
    }
    build = kube.create(BUILD_API, "builds", body, namespace)
    status = {"phase": "New", "config": {"kind": "BuildConfig", "namespace": namespace,
                                         "name": bc_name},
              "conditions": [_build_condition("New")]}
    output = _output_of(spec, namespace)
    if output:
        status["outputDockerImageReference"] = output[4]
    build = kube.patch_status(BUILD_API, "builds", name, status, namespace) or build
    log.info("Build %s/%s created (%s)", namespace, name,
             triggered_by[0].get("message", "") if triggered_by else "")
    return build


def _build_condition(phase, reason="", message=""):
    now = core.now_iso()
    return {"type": phase, "status": "True", "reason": reason, "message": message,
            "lastTransitionTime": now, "lastUpdateTime": now}


def _phase_conditions(build, phase, reason="", message=""):
    old = [dict(c, status="False") for c in (build.get("status") or {}).get("conditions") or []
           if c.get("type") != phase]
    return old + [_build_condition(phase, reason, message)]


def read_build_log(ctx, namespace, build_name):
    """The simulated log of a Build ('' when none yet, None when no such Build)."""
    build = ctx.kube.get(BUILD_API, "builds", build_name, namespace)
    if build is None:
        return None
    return (build["metadata"].get("annotations") or {}).get(LOG_ANNOTATION, "")


def _set_log(ctx, build, text):
    namespace, name = core.meta_key(build)
    return ctx.kube.patch(BUILD_API, "builds", name,
                          {"metadata": {"annotations": {LOG_ANNOTATION: text}}}, namespace)


def _log_start(build):
    spec = build.get("spec") or {}
    source = spec.get("source") or {}
    lines = []
    git = source.get("git") or {}
    if git.get("uri"):
        lines.append('Cloning "%s" ...' % git["uri"])
        commit = core.sha256_hex(git["uri"] + (git.get("ref") or ""))[:40]
        lines.append("\tCommit:\t%s (simulated checkout of %s)"
                     % (commit, git.get("ref") or "HEAD"))
        if source.get("contextDir"):
            lines.append("\tContext dir:\t%s" % source["contextDir"])
    elif source.get("dockerfile"):
        lines.append("Replaced Dockerfile FROM image with an inline Dockerfile")
    _key, base = _strategy_from(spec)
    if base:
        lines.append("STEP 1/4: FROM %s" % base.get("name"))
    lines.append("STEP 2/4: COPY . /tmp/src")
    return lines


def _log_end_complete(output_reference):
    return ["STEP 3/4: RUN pip install --no-cache-dir -r /tmp/src/requirements.txt",
            "Successfully installed the requirements",
            "STEP 4/4: LABEL \"io.openshift.build.name\"=...",
            "COMMIT",
            "Pushing image %s ..." % output_reference,
            "Successfully pushed %s" % output_reference,
            "Push successful"]


def _log_end_failed(message):
    return ["STEP 3/4: RUN pip install --no-cache-dir -r /tmp/src/requirements.txt",
            "error: build error: %s" % message]


class Builds:
    def __init__(self, ctx):
        self.ctx = ctx
        self.kube = ctx.kube
        self._index = {}       # (namespace, stream) -> {(bc namespace, bc name)}
        self._bc_streams = {}  # (bc namespace, bc name) -> {(namespace, stream)}
        self._lock = threading.Lock()

    # -- BuildConfigs and triggers -------------------------------------------

    def on_buildconfig(self, etype, bc):
        key = core.meta_key(bc)
        streams = set()
        if etype != "DELETED":
            for _index, ref, _last in _image_triggers(bc):
                ns, stream, _tag = _istag_parts(ref, key[0])
                streams.add((ns, stream))
        with self._lock:
            for old in self._bc_streams.pop(key, set()):
                self._index.get(old, set()).discard(key)
            if etype != "DELETED":
                self._bc_streams[key] = streams
                for stream in streams:
                    self._index.setdefault(stream, set()).add(key)
        if etype != "DELETED":
            self.ctx.later(("bc", key[0], key[1]), 0, self.reconcile_buildconfig, *key)

    def on_imagestream(self, etype, stream):
        namespace, name = core.meta_key(stream)
        if etype != "DELETED":
            self.ctx.later(("is", namespace, name), 0, self.sync_stream, namespace, name)
        with self._lock:
            configs = list(self._index.get((namespace, name), ()))
        for bc_ns, bc_name in configs:
            self.ctx.later(("bc", bc_ns, bc_name), 0, self.reconcile_buildconfig, bc_ns, bc_name)

    def sync_stream(self, namespace, name):
        sync_imagestream_status(self.ctx, self.kube.get(IMAGE_API, "imagestreams", name,
                                                        namespace))

    def reconcile_buildconfig(self, namespace, name):
        bc = self.kube.get(BUILD_API, "buildconfigs", name, namespace)
        if bc is None or bc["metadata"].get("deletionTimestamp"):
            return
        spec = bc.get("spec") or {}
        fired, unresolved = [], False
        for index, ref, last in _image_triggers(bc):
            item = _resolve_istag(self.ctx, *_istag_parts(ref, namespace))
            if item is None:
                unresolved = True
                continue
            image = item["dockerImageReference"]
            if image != last:
                fired.append((index, ref, image))
        if fired:
            causes = [{"message": "Image change",
                       "imageChangeBuild": {"imageID": image,
                                            "fromRef": {"kind": "ImageStreamTag",
                                                        "name": ref["name"],
                                                        "namespace": ref["namespace"]}}}
                      for _index, ref, image in fired]
            start_build(self.ctx, namespace, name, causes, image_triggers=fired)
            return
        has_config_change = any(t.get("type") == "ConfigChange"
                                for t in spec.get("triggers") or [])
        if has_config_change and not unresolved and \
                int((bc.get("status") or {}).get("lastVersion") or 0) == 0:
            start_build(self.ctx, namespace, name, [{"message": "Build configuration change"}])

    # -- Builds ----------------------------------------------------------------

    def on_build(self, etype, build):
        namespace, name = core.meta_key(build)
        if etype == "DELETED":
            self.requeue_siblings(build)
            return
        self.ctx.later(("build", namespace, name), 0, self.reconcile_build, namespace, name)

    def requeue_siblings(self, build):
        namespace, _name = core.meta_key(build)
        config = (build["metadata"].get("labels") or {}).get("openshift.io/build-config.name")
        if not config:
            return
        for other in self.kube.list(BUILD_API, "builds", namespace,
                                    label_selector="openshift.io/build-config.name=" + config):
            if ((other.get("status") or {}).get("phase") or "New") == "New":
                self.ctx.later(("build", namespace, other["metadata"]["name"]), 0,
                               self.reconcile_build, namespace, other["metadata"]["name"])

    def reconcile_build(self, namespace, name):
        build = self.kube.get(BUILD_API, "builds", name, namespace)
        if build is None or build["metadata"].get("deletionTimestamp"):
            return
        status = build.get("status") or {}
        phase = status.get("phase") or ""
        if phase in TERMINAL:
            return
        if status.get("cancelled"):
            self.finish(build, "Cancelled", "CancelledBuild", CANCELLED_MESSAGE)
            return
        if phase in ACTIVE:
            self.ctx.later(("build-finish", namespace, name), "build", self.complete_build,
                           namespace, name)
            return
        if not phase:
            build = self.kube.patch_status(BUILD_API, "builds", name, {
                "phase": "New", "conditions": [_build_condition("New")]}, namespace) or build
        # New: may it run now?
        labels = build["metadata"].get("labels") or {}
        config = labels.get("openshift.io/build-config.name")
        policy = labels.get("openshift.io/build.start-policy") or "Serial"
        if config and policy in ("Serial", "SerialLatestOnly"):
            siblings = [b for b in self.kube.list(
                BUILD_API, "builds", namespace,
                label_selector="openshift.io/build-config.name=" + config)
                if b["metadata"]["name"] != name]
            number = _build_number(build)
            if policy == "SerialLatestOnly" and any(
                    ((b.get("status") or {}).get("phase") or "New") == "New"
                    and _build_number(b) > number for b in siblings):
                self.finish(build, "Cancelled", "CancelledBuild",
                            "The build was cancelled: a newer build is waiting.")
                return
            for other in siblings:
                other_phase = (other.get("status") or {}).get("phase") or "New"
                if other_phase in ACTIVE:
                    return  # wait: requeued when it ends
                if other_phase == "New" and _build_number(other) < number:
                    return  # the older one runs first
        now = core.now_iso()
        build = self.kube.patch_status(BUILD_API, "builds", name, {
            "phase": "Pending", "conditions": _phase_conditions(build, "Pending")}, namespace)
        if build is None:
            return
        build = self.kube.patch_status(BUILD_API, "builds", name, {
            "phase": "Running", "startTimestamp": now,
            "conditions": _phase_conditions(build, "Running")}, namespace)
        if build is None:
            return
        _set_log(self.ctx, build, "\n".join(_log_start(build)) + "\n")
        log.info("Build %s/%s Running", namespace, name)
        self.ctx.later(("build-finish", namespace, name), "build", self.complete_build,
                       namespace, name)

    def complete_build(self, namespace, name):
        build = self.kube.get(BUILD_API, "builds", name, namespace)
        if build is None or (build.get("status") or {}).get("phase") not in ACTIVE:
            return
        config = (build["metadata"].get("labels") or {}).get("openshift.io/build-config.name") \
            or name
        injected = self.ctx.failure("builds", "%s/%s" % (namespace, config))
        if (build.get("status") or {}).get("cancelled"):
            self.finish(build, "Cancelled", "CancelledBuild", CANCELLED_MESSAGE)
            return
        lines = _log_start(build)
        if injected:
            strategy = ((build.get("spec") or {}).get("strategy") or {}).get("type") or "Docker"
            if strategy == "Docker":
                reason, message = "DockerBuildFailed", "Docker build strategy has failed."
            else:
                reason, message = "GenericBuildFailed", ("Generic Build failure - check logs "
                                                         "for details.")
            lines += _log_end_failed(injected)
            _set_log(self.ctx, build, "\n".join(lines) + "\n")
            self.finish(build, "Failed", reason, message,
                        {"logSnippet": "\n".join(lines[-5:])})
            return
        digest = core.sha256_hex(name + build["metadata"]["uid"])
        extra = {"output": {"to": {"imageDigest": "sha256:" + digest}}}
        output = _output_of(build.get("spec") or {}, namespace)
        reference = output[4] if output else ""
        if output and output[0] == "ImageStreamTag":
            reference = push_image(self.ctx, output[1], output[2], output[3], digest)
            extra["outputDockerImageReference"] = output[4]
        lines += _log_end_complete(reference)
        _set_log(self.ctx, build, "\n".join(lines) + "\n")
        self.finish(build, "Complete", "", "", extra)

    def finish(self, build, phase, reason, message, extra=None):
        namespace, name = core.meta_key(build)
        now = core.now_iso()
        status = {"phase": phase, "completionTimestamp": now,
                  "conditions": _phase_conditions(build, phase, reason, message)}
        if reason:
            status["reason"] = reason
        if message:
            status["message"] = message
        started = (build.get("status") or {}).get("startTimestamp")
        if started:
            status["duration"] = int((time.time() - _parse_time(started).timestamp()) * 1e9)
        status.update(extra or {})
        self.kube.patch_status(BUILD_API, "builds", name, status, namespace)
        log.info("Build %s/%s %s%s", namespace, name, phase, (" (%s)" % reason) if reason else "")
        self.requeue_siblings(build)
        self.prune(build)

    def prune(self, build):
        namespace, _name = core.meta_key(build)
        config = (build["metadata"].get("labels") or {}).get("openshift.io/build-config.name")
        if not config:
            return
        bc = self.kube.get(BUILD_API, "buildconfigs", config, namespace)
        if bc is None:
            return
        spec = bc.get("spec") or {}
        limits = {"Complete": spec.get("successfulBuildsHistoryLimit"),
                  "Failed": spec.get("failedBuildsHistoryLimit")}
        limits = {k: (5 if v is None else int(v)) for k, v in limits.items()}
        builds = self.kube.list(BUILD_API, "builds", namespace,
                                label_selector="openshift.io/build-config.name=" + config)
        for phase, limit in limits.items():
            phases = ("Complete",) if phase == "Complete" else ("Failed", "Error", "Cancelled")
            done = sorted((b for b in builds if (b.get("status") or {}).get("phase") in phases),
                          key=_build_number)
            for old in done[:max(0, len(done) - limit)]:
                self.kube.delete(BUILD_API, "builds", old["metadata"]["name"], namespace)


def _build_number(build):
    try:
        return int((build["metadata"].get("annotations") or {}).get("openshift.io/build.number"))
    except (TypeError, ValueError):
        return 0


# ---------------------------------------------------------------------------

def run(ctx):
    kube = ctx.kube
    projects = Projects(ctx)
    builds = Builds(ctx)

    def on_route(etype, route):
        if etype == "DELETED" or _route_admitted(ctx, route):
            return
        namespace, name = core.meta_key(route)
        ctx.later(("route", namespace, name), "route", admit_route, ctx, namespace, name)

    core.spawn(core.watch_forever, ctx, kube.lister(PROJECT_API, "projectrequests"),
               projects.on_projectrequest, "projectrequests", name="openshift-projectrequests")
    core.spawn(core.watch_forever, ctx, kube.lister(PROJECT_API, "projects"),
               projects.on_project, "projects", name="openshift-projects")
    core.spawn(core.watch_forever, ctx, kube.lister("v1", "namespaces"),
               projects.on_namespace, "namespaces", name="openshift-namespaces")
    core.spawn(core.watch_forever, ctx, kube.lister(ROUTE_API, "routes"), on_route, "routes",
               name="openshift-routes")
    core.spawn(core.watch_forever, ctx, kube.lister(BUILD_API, "buildconfigs"),
               builds.on_buildconfig, "buildconfigs", name="openshift-buildconfigs")
    core.spawn(core.watch_forever, ctx, kube.lister(BUILD_API, "builds"), builds.on_build,
               "builds", name="openshift-builds")
    core.watch_forever(ctx, kube.lister(IMAGE_API, "imagestreams"), builds.on_imagestream,
                       "imagestreams")
