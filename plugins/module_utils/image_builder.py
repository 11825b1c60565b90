# SPDX-License-Identifier: Apache-2.0
"""The driver of image builds: reads the BuildConfig, its Builds and
ImageStreams, runs the decision of ``builds.plan`` and starts, adopts or
awaits the build through the client (``instantiate``, ``log``)."""

from ansible_collections.rhods.gitops.plugins.module_utils.builds import (
    BUILD_CONFIG_LABEL,
    Plan,
    base_aliases,
    binary_archive,
    binary_query,
    build_done,
    build_failed,
    build_fingerprint,
    build_number,
    build_request,
    config_fingerprint,
    describe_build,
    istag_ref,
    normalize_from,
    output_tag,
    pending_trigger,
    phase,
    plan,
    recorded_fingerprint,
    strategy_from,
    tag_item,
    tag_pushed,
)
from ansible_collections.rhods.gitops.plugins.module_utils.client import FIELD_MANAGER
from ansible_collections.rhods.gitops.plugins.module_utils.errors import (
    ApiError,
    GitopsError,
    WaitFailed,
    WaitTimeout,
)
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import (
    BUILD,
    BUILD_CONFIG,
    IMAGE_STREAM,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig, summarize
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import predicate
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import Deadline, Waiter


class ImageBuilder:
    """Ensures the image of one BuildConfig is built from its current inputs."""

    def __init__(self, run):
        self.run = run
        self.cluster = run.cluster
        self.params = run.params

    # -- reads and requests, through the client

    def _resource(self, kind):
        return self.cluster.resource(*kind)

    def get_istag_item(self, ref):
        tag = istag_ref(ref, None)
        stream = self.cluster.get(self._resource(IMAGE_STREAM), tag.stream, tag.namespace)
        return tag_item(stream, tag.tag) if stream else None

    def list_builds(self, namespace, name):
        items, _resource_version = self.cluster.list(
            self._resource(BUILD), namespace=namespace,
            label_selector="{0}={1}".format(BUILD_CONFIG_LABEL, name))
        return items

    def log_tail(self, namespace, build_name, lines):
        """The last ``lines`` lines of a build's log; a note when the log cannot be read."""
        try:
            return self.cluster.log(self._resource(BUILD), build_name, namespace, lines)
        except ApiError as exc:
            return ["(the build log could not be read: {0})".format(exc.msg)]

    def start(self, namespace, name, want, archive=None):
        """Start a build of the current inputs ``want`` (from ``archive``, a binary build)."""
        resource = self._resource(BUILD_CONFIG)
        if archive is None:
            return self.cluster.instantiate(resource, name, namespace, build_request(name, want))
        return self.cluster.instantiate_binary(resource, name, namespace, archive,
                                               binary_query(want, self.params.get("as_file")))

    # -- the decision

    def observe(self, namespace, name, extra):
        """Read the BuildConfig, its builds and output stream; return the plan and context."""
        bc = self.cluster.get(self._resource(BUILD_CONFIG), name, namespace)
        if bc is None:
            return None
        want = config_fingerprint(bc, extra)
        base = normalize_from(strategy_from(bc.get("spec")), namespace)
        builds = self.list_builds(namespace, name)
        aliases = None
        if base and base.get("kind") == "ImageStreamTag" and any(
                dig(strategy_from(b.get("spec")) or {}, "kind") == "DockerImage"
                and not recorded_fingerprint(b) for b in builds):
            base_tag = istag_ref(base, namespace)
            stream = self.cluster.get(self._resource(IMAGE_STREAM), base_tag.stream,
                                      base_tag.namespace)
            aliases = base_aliases(stream, base_tag.tag)

        def fingerprint_of(build):
            return build_fingerprint(build, namespace, base, aliases, extra)

        out = output_tag(bc)
        tag_present = True
        stream = None
        if out:
            stream = self.cluster.get(self._resource(IMAGE_STREAM), out.stream, out.namespace)
            tag_present = tag_item(stream, out.tag) is not None
        trigger = pending_trigger(bc, self.get_istag_item) if extra is None else None
        return {"bc": bc, "want": want, "builds": builds, "output": out, "stream": stream,
                "tag_present": tag_present, "trigger": trigger,
                "fingerprint_of": fingerprint_of}

    def decide(self, state, rebuild):
        return plan(state["want"], state["builds"], state["fingerprint_of"],
                    state["tag_present"], rebuild=rebuild, trigger=state["trigger"])

    # -- the run

    def ensure(self):
        params = self.params
        namespace, name = params["namespace"], params["name"]
        result = self.run.result
        archive, extra = None, None
        if params.get("source_dir"):
            archive, extra = binary_archive(params["source_dir"])
            result["source_digest"] = extra
        rebuild = bool(params.get("rebuild")) and not (params.get("wait_round") or {}).get("spent")
        state = self.observe(namespace, name, extra)
        if state is None:
            if self.run.check_mode:
                self.run.changed = True
                result.update(would_build=True, action="start",
                              reason="BuildConfig {0}/{1} does not exist yet (it would be created "
                                     "by the tasks before this one)".format(namespace, name))
                return
            raise GitopsError("BuildConfig {0}/{1} not found: apply it before building (the "
                              "custom_notebook role does).".format(namespace, name),
                              namespace=namespace, name=name)
        step = self.decide(state, rebuild)
        if step.action == "await-trigger" and not self.run.check_mode:
            state, step = self.await_trigger(namespace, name, state, extra)
        result.update(inputs=state["want"], action=step.action, reason=step.reason)
        if self.run.check_mode:
            would = step.action in ("start", "await-trigger")
            self.run.changed = would
            result["would_build"] = would
            if step.build is not None:
                result["build"] = dig(step.build, "metadata.name")
            if step.action == "up-to-date":
                self.report_image(state["output"], state["stream"])
            return
        result["would_build"] = False
        build = step.build
        if step.action == "start":
            build = self.start(namespace, name, state["want"], archive)
            self.run.changed = True
            result["started"] = True
        else:
            result["started"] = False
        self.report_build(build)
        if step.action == "up-to-date":
            self.report_image(state["output"], state["stream"])
            self.report_trigger(namespace, name, state["bc"])
            return
        if params.get("wait"):
            build = self.wait_build(namespace, build)
            self.report_build(build)
            self.wait_image(state["output"], dig(build, "status.output.to.imageDigest"))
        self.report_trigger(namespace, name)

    def report_trigger(self, namespace, name, bc=None):
        """Return the BuildConfig when the build controller took over its ``spec.triggers``.

        An ImageChange trigger that fires writes ``lastTriggeredImageID`` into
        the BuildConfig's atomic ``spec.triggers`` list and so becomes that
        list's only owner. Then the BuildConfig is returned as it is now, for
        the caller to apply again with that value kept (``keep_live_fields``),
        which makes the list ours again, so that the next run changes nothing."""
        if bc is None:
            bc = self.cluster.get(self._resource(BUILD_CONFIG), name, namespace)
        if bc is None or not dig(bc, "spec.triggers"):
            return
        ours = [e for e in dig(bc, "metadata.managedFields", []) or []
                if e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply"]
        if not ours or any("f:triggers" in (dig(e, "fieldsV1.f:spec") or {}) for e in ours):
            return
        bc = dict(bc, metadata=dict(bc.get("metadata") or {}))
        bc["metadata"].pop("managedFields", None)
        self.run.result.update(triggers_owned_elsewhere=True, build_config=bc)

    def await_trigger(self, namespace, name, state, extra):
        """Give the ImageChange trigger ``trigger_grace`` seconds to start its build."""
        before = int(dig(state["bc"], "status.lastVersion") or 0)
        grace = min(float(self.params.get("trigger_grace") or 0),
                    self.run.deadline.remaining())

        @predicate("the ImageChange trigger started a build", missing="the BuildConfig is gone")
        def fired(bc):
            if int(dig(bc, "status.lastVersion") or 0) > before:
                return True, "lastVersion is {0}".format(dig(bc, "status.lastVersion"))
            if pending_trigger(bc, self.get_istag_item) is None:
                return True, "the trigger recorded the current image"
            return False, "no build started yet (lastVersion {0})".format(before)

        if grace > 0:
            waiter = Waiter(self.cluster, Deadline(grace), self.run.progress)
            try:
                waiter.wait(BUILD_CONFIG.select(name, namespace), fired)
            except WaitTimeout:
                pass
        state = self.observe(namespace, name, extra)
        if state is None:
            raise GitopsError("BuildConfig {0}/{1} was deleted while waiting for its "
                              "trigger.".format(namespace, name))
        state["trigger"] = None
        step = self.decide(state, False)
        if step.action == "start" and grace > 0:
            step = Plan("start", None, "the ImageChange trigger did not start a build within "
                        "{0:.0f}s ({1})".format(grace, step.reason))
        return state, step

    def wait_build(self, namespace, build):
        name = dig(build, "metadata.name")
        lines = self.params.get("log_lines") or 40
        try:
            return self.run.waiter.wait(BUILD.select(name, namespace),
                                        build_done(), fail_on=build_failed())
        except WaitFailed:
            failed = self.cluster.get(self._resource(BUILD), name, namespace) or build
            tail = self.log_tail(namespace, name, lines)
            raise GitopsError(
                "Build {0}/{1} of BuildConfig {0}/{2} ended {3}. Last {4} lines of its log:\n"
                "{5}".format(namespace, name, self.params["name"], describe_build(failed),
                             len(tail), "\n".join(tail) or "(empty)"),
                build=name, phase=phase(failed), build_reason=dig(failed, "status.reason"),
                build_message=dig(failed, "status.message"), log_tail=tail,
                log_snippet=dig(failed, "status.logSnippet")) from None
        except WaitTimeout as exc:
            tail = self.log_tail(namespace, name, lines)
            exc.msg += " Last {0} lines of the build log:\n{1}".format(
                len(tail), "\n".join(tail) or "(empty)")
            exc.args = (exc.msg,)
            exc.details.update(build=name, log_tail=tail)
            raise

    def wait_image(self, output, digest):
        if not output:
            self.run.result["image"] = dig(self.run.result, "output_reference")
            return
        stream = self.run.waiter.wait(IMAGE_STREAM.select(output.stream, output.namespace),
                                      tag_pushed(output.tag, digest))
        self.report_image(output, stream)

    def report_build(self, build):
        if not build:
            return
        self.run.result.update(
            build=dig(build, "metadata.name"), build_number=build_number(build),
            phase=phase(build), output_reference=dig(build, "status.outputDockerImageReference"))

    def report_image(self, output, stream):
        if not output:
            return
        item = tag_item(stream, output.tag) or {}
        self.run.result.update(
            image=item.get("dockerImageReference"), image_digest=item.get("image"),
            image_stream="{0}/{1}".format(output.namespace, output.stream), tag=output.tag,
            image_state=summarize(stream) if not item else "tag {0} present".format(output.tag))
