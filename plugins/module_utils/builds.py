# SPDX-License-Identifier: Apache-2.0
"""Image builds on the cluster: find the build a trigger started, start one only
when the inputs changed, wait for it, and report failures with the build log.

What "the inputs" are: the parts of a BuildConfig's spec that decide what
image comes out (source, strategy with its base image, output tag); see
``canonical_inputs``. Their SHA-256 (``fingerprint``) is compared with the
inputs of each Build:

- a Build this module started records the fingerprint in its annotation
  ``rhods.gitops/build-inputs`` (OpenShift copies a BuildRequest's
  annotations onto the Build) and in its ``spec.triggeredBy`` message (the
  BuildRequest's causes are copied too), or, for a binary build, in
  ``spec.revision.git.message``;
- any other Build (started by an ImageChange or ConfigChange trigger, or by
  ``oc start-build``) is fingerprinted from its own spec, which OpenShift
  copies from the BuildConfig. Its base image appears resolved
  (``DockerImage`` with a digest); it is mapped back to the ImageStreamTag
  through the Build's ``triggeredBy`` cause or the base stream's tag history.

Everything here is pure: what to build and how to decide (``plan``) are
functions of the observed objects, unit tested without a cluster;
``image_builder.ImageBuilder`` drives them against the cluster.
"""

import hashlib
import io
import json
import os
import tarfile
from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import BUILD
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import (
    phase_is,
    predicate,
)

BUILD_CONFIG_LABEL = "openshift.io/build-config.name"
BUILD_NUMBER_ANNOTATION = "openshift.io/build.number"
INPUTS_ANNOTATION = "rhods.gitops/build-inputs"
INPUTS_MESSAGE = "rhods.gitops build inputs "

ACTIVE = ("New", "Pending", "Running")
FAILED = ("Failed", "Error", "Cancelled")
COMPLETE = "Complete"

# Fields of a strategy that decide the image (credentials and pull secrets do not).
STRATEGY_FIELDS = ("from", "dockerfilePath", "env", "buildArgs", "noCache", "forcePull",
                   "scripts", "incremental", "imageOptimizationPolicy", "volumes")
SOURCE_FIELDS = ("type", "dockerfile", "git", "contextDir", "binary", "images", "configMaps")

Plan = namedtuple("Plan", "action build reason")
TagRef = namedtuple("TagRef", "namespace stream tag")
# action: "adopt" (wait for this active build), "up-to-date" (nothing to do),
# "await-trigger" (a trigger is about to start a build), "start" (start one).


# ---------------------------------------------------------------- fingerprints

def _prune(value):
    """Drop empty values recursively, so that `env: []` and no env compare equal."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def istag_ref(ref, default_namespace):
    """The ``TagRef`` (namespace, stream, tag) of an ImageStreamTag reference dict."""
    name = (ref or {}).get("name") or ""
    stream, tag = name.split(":", 1) if ":" in name else (name, "latest")
    return TagRef((ref or {}).get("namespace") or default_namespace, stream, tag)


def _strategy(spec):
    """``(strategy key, strategy dict)``, e.g. ``("dockerStrategy", {...})``."""
    strategy = (spec or {}).get("strategy") or {}
    for key in ("dockerStrategy", "sourceStrategy", "customStrategy"):
        if isinstance(strategy.get(key), dict):
            return key, strategy[key]
    return None, {}


def strategy_from(spec):
    """The base image reference of a BuildConfig/Build spec (``{kind, name, namespace}``)."""
    return _strategy(spec)[1].get("from")


def normalize_from(ref, namespace):
    """A base image reference in a comparable form (ImageStreamTag namespace filled in)."""
    if not ref:
        return None
    if ref.get("kind") == "ImageStreamTag":
        ns, stream, tag = istag_ref(ref, namespace)
        return {"kind": "ImageStreamTag", "name": "{0}:{1}".format(stream, tag), "namespace": ns}
    return {"kind": ref.get("kind"), "name": ref.get("name"),
            "namespace": ref.get("namespace") or None}


def canonical_inputs(spec, namespace, base=None):
    """The parts of a BuildConfig (or Build) spec that decide the image built.

    ``base`` replaces the strategy's ``from`` (a Build's resolved base mapped
    back to the BuildConfig's ImageStreamTag)."""
    spec = spec or {}
    source = spec.get("source") or {}
    key, strategy = _strategy(spec)
    strat = {k: strategy.get(k) for k in STRATEGY_FIELDS if k in strategy}
    strat["from"] = normalize_from(base if base is not None else strategy.get("from"), namespace)
    to = dig(spec, "output.to") or {}
    output = normalize_from(to, namespace) if to else None
    return _prune({
        "source": {k: source.get(k) for k in SOURCE_FIELDS if k in source},
        "strategy": {"type": dig(spec, "strategy.type"), key or "strategy": strat},
        "output": output,
    })


def fingerprint(canonical, extra=None):
    """``sha256:<hex>`` of canonical inputs (plus an ``extra`` string, e.g. an archive digest)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    if extra:
        text += "\n" + extra
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_fingerprint(build_config, extra=None):
    namespace = dig(build_config, "metadata.namespace")
    return fingerprint(canonical_inputs(build_config.get("spec"), namespace), extra)


def recorded_fingerprint(build):
    """The fingerprint this module recorded on a Build it started, or None."""
    annotations = dig(build, "metadata.annotations", {}) or {}
    if annotations.get(INPUTS_ANNOTATION):
        return annotations[INPUTS_ANNOTATION]
    messages = [c.get("message") or "" for c in dig(build, "spec.triggeredBy", []) or []]
    messages.append(dig(build, "spec.revision.git.message", "") or "")
    for message in messages:
        if message.startswith(INPUTS_MESSAGE):
            return message[len(INPUTS_MESSAGE):].strip()
    return None


def base_aliases(base_stream, tag):
    """Image references of the base ImageStreamTag's history -> the tag they came from."""
    aliases = {}
    for entry in dig(base_stream, "status.tags", []) or []:
        if entry.get("tag") != tag:
            continue
        for item in entry.get("items") or []:
            for key in ("dockerImageReference", "image"):
                if item.get(key):
                    aliases[item[key]] = True
    return aliases


def build_fingerprint(build, config_namespace, config_base, aliases=None, extra=None):
    """The inputs fingerprint of a Build: recorded by us, or computed from its spec.

    ``config_base``: the BuildConfig's base (ImageStreamTag ref); a Build whose
    base is the resolved image of that tag (its trigger cause names the tag,
    or the image is in ``aliases``) counts as built from ``config_base``."""
    recorded = recorded_fingerprint(build)
    if recorded:
        return recorded
    spec = build.get("spec") or {}
    base = strategy_from(spec)
    if base and base.get("kind") == "DockerImage" and config_base:
        for cause in spec.get("triggeredBy") or []:
            from_ref = dig(cause, "imageChangeBuild.fromRef")
            if from_ref and normalize_from(from_ref, config_namespace) == normalize_from(
                    config_base, config_namespace):
                base = config_base
                break
        else:
            name = base.get("name") or ""
            digest = name.split("@", 1)[1] if "@" in name else None
            if aliases and (name in aliases or (digest and digest in aliases)):
                base = config_base
    return fingerprint(canonical_inputs(spec, config_namespace, base=base), extra)


# ---------------------------------------------------------------- observed state

def build_number(build):
    try:
        return int(dig(build, "metadata.annotations", {}).get(BUILD_NUMBER_ANNOTATION))
    except (TypeError, ValueError, AttributeError):
        return 0


def phase(build):
    return dig(build, "status.phase") or "New"


def output_tag(build_config):
    """The ``TagRef`` of the BuildConfig's output ImageStreamTag, or None."""
    to = dig(build_config, "spec.output.to") or {}
    if to.get("kind") != "ImageStreamTag" or not to.get("name"):
        return None
    return istag_ref(to, dig(build_config, "metadata.namespace"))


def tag_item(stream, tag):
    """The newest ``status.tags[tag].items[0]`` of an ImageStream, or None."""
    for entry in dig(stream, "status.tags", []) or []:
        if entry.get("tag") == tag and entry.get("items"):
            return entry["items"][0]
    return None


def available_tags(stream):
    return [t.get("tag") for t in dig(stream, "status.tags", []) or [] if t.get("items")]


def image_triggers(build_config):
    """``[(from ref, last triggered image id)]`` of the active ImageChange triggers."""
    namespace = dig(build_config, "metadata.namespace")
    spec = build_config.get("spec") or {}
    recorded = dig(build_config, "status.imageChangeTriggers", []) or []
    out = []
    for trigger in spec.get("triggers") or []:
        if trigger.get("type") != "ImageChange":
            continue
        change = trigger.get("imageChange") or {}
        if change.get("paused"):
            continue
        ref = normalize_from(change.get("from") or strategy_from(spec), namespace)
        if not ref or ref.get("kind") != "ImageStreamTag":
            continue
        last = change.get("lastTriggeredImageID")
        for entry in recorded:
            if normalize_from(dict(entry.get("from") or {}, kind="ImageStreamTag"),
                              namespace) == ref:
                last = entry.get("lastTriggeredImageID") or last
        out.append((ref, last))
    return out


def same_image(last, item):
    """Whether a trigger's last image id names the image of a status tag item."""
    if not last or not item:
        return False
    values = {item.get("dockerImageReference"), item.get("image")}
    digest = last.split("@", 1)[1] if "@" in last else last
    return last in values or digest in values


def pending_trigger(build_config, resolve):
    """An ImageChange trigger that has not fired for its tag's current image yet, or None.

    ``resolve(ref) -> status tag item or None`` resolves an ImageStreamTag."""
    for ref, last in image_triggers(build_config):
        item = resolve(ref)
        if item is not None and not same_image(last, item):
            return ref
    return None


def plan(want, builds, fingerprint_of, tag_present, rebuild=False, trigger=None):
    """What to do, as a ``Plan``; a pure function of the observed state.

    ``want``: the current inputs fingerprint; ``builds``: the BuildConfig's
    Builds; ``fingerprint_of(build)``: a Build's inputs; ``tag_present``: the
    output tag is in the ImageStream's status.tags; ``trigger``: an
    ImageChange trigger about to fire (see ``pending_trigger``).
    """
    ordered = sorted(builds, key=build_number, reverse=True)
    current = [b for b in ordered if fingerprint_of(b) == want]
    active = [b for b in current if phase(b) in ACTIVE]
    if rebuild:
        return Plan("start", None, "rebuild: true was given")
    if active:
        return Plan("adopt", active[0], "build {0} of the current inputs is {1}".format(
            dig(active[0], "metadata.name"), phase(active[0])))
    if trigger is not None:
        return Plan("await-trigger", None, "the ImageChange trigger on {0}/{1} has not fired for "
                    "that tag's current image yet".format(trigger["namespace"], trigger["name"]))
    done = [b for b in current if phase(b) == COMPLETE]
    if done and tag_present:
        return Plan("up-to-date", done[0], "build {0} of the current inputs is Complete and "
                    "its output tag is in the ImageStream".format(dig(done[0], "metadata.name")))
    if done:
        return Plan("start", None, "build {0} of the current inputs is Complete but its output "
                    "tag is missing from the ImageStream".format(dig(done[0], "metadata.name")))
    if current:
        return Plan("start", None, "the last build of the current inputs, {0}, ended {1}".format(
            dig(current[0], "metadata.name"), phase(current[0])))
    if ordered:
        return Plan("start", None, "the inputs changed since the last build, {0}".format(
            dig(ordered[0], "metadata.name")))
    return Plan("start", None, "the BuildConfig has no builds yet")


# ---------------------------------------------------------------- what a start asks for

def build_request(name, want):
    """The BuildRequest that starts a build of BuildConfig ``name`` and records its inputs."""
    return {"kind": "BuildRequest", "apiVersion": BUILD.api_version,
            "metadata": {"name": name, "annotations": {INPUTS_ANNOTATION: want}},
            "triggeredBy": [{"message": INPUTS_MESSAGE + want}]}


def binary_query(want, as_file=None):
    """Query parameters of a binary build's upload; its revision message records the inputs."""
    query = [("revision.message", INPUTS_MESSAGE + want), ("revision.authorName", "rhods.gitops")]
    if as_file:
        query.append(("asFile", as_file))
    return query


# ---------------------------------------------------------------- binary sources

def binary_archive(directory):
    """A reproducible gzipped tar of ``directory`` and its SHA-256 (``sha256:<hex>``).

    Same files, same bytes: entries sorted, owner root, mtime 0, no gzip
    timestamp, so the digest changes only when the content does."""
    if not os.path.isdir(directory):
        raise GitopsError("source_dir {0} is not a directory: give the directory that holds the "
                          "Containerfile (or Dockerfile) and the files it copies.".format(
                              directory))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(directory):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(root, name)
                arcname = os.path.relpath(path, directory)
                info = tar.gettarinfo(path, arcname)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                if info.isfile():
                    with open(path, "rb") as handle:
                        tar.addfile(info, handle)
                elif info.isdir() or info.issym():
                    tar.addfile(info)
    import gzip  # pylint: disable=import-outside-toplevel
    data = gzip.compress(raw.getvalue(), mtime=0)
    return data, "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()


# ---------------------------------------------------------------- predicates

def build_done():
    return phase_is(COMPLETE)


def build_failed():
    @predicate("the build ended Failed, Error or Cancelled", missing="")
    def check(build):
        current = phase(build)
        if current in FAILED:
            return True, "build ended {0}".format(describe_build(build))
        return False, current
    return check


def tag_pushed(tag, digest=None):
    """The ImageStream has ``tag`` in status.tags (with image ``digest``, when known)."""
    @predicate("tag {0} in status.tags{1}".format(tag, " with image " + digest if digest else ""),
               missing="the ImageStream does not exist")
    def check(stream):
        item = tag_item(stream, tag)
        if item is None:
            return False, "tag {0} is not in status.tags yet (tags: {1})".format(
                tag, ", ".join(available_tags(stream)) or "none")
        if digest and item.get("image") != digest:
            return False, "tag {0} points to {1}, not yet to {2}".format(
                tag, item.get("image"), digest)
        return True, "tag {0} is {1}".format(tag, item.get("dockerImageReference"))
    return check


def describe_build(build):
    text = phase(build)
    reason, message = dig(build, "status.reason"), dig(build, "status.message")
    detail = ": ".join(x for x in (reason, message) if x)
    return "{0} ({1})".format(text, detail) if detail else text
