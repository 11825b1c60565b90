"""image_build: inputs fingerprints, the plan, binary archives and the driver
against an in-memory cluster (no API server)."""

import copy
import json
import os

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils import builds, image_builder, kinds
from ansible_collections.rhods.gitops.plugins.module_utils.client import Cluster
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError, WaitTimeout
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import Deadline, Progress, Waiter

NS = "redhat-ods-applications"
BASE_REF = "image-registry.openshift-image-registry.svc:5000/%s/s2i-generic-data-science-notebook@sha256:aaa" % NS


def buildconfig(dockerfile="FROM x\nRUN true\n", tag="2025.2", last=None, status_last=None,
                triggers=True, last_version=0):
    bc = {
        "apiVersion": kinds.BUILD.api_version, "kind": "BuildConfig",
        "metadata": {"name": "lightgbm", "namespace": NS, "resourceVersion": "5"},
        "spec": {
            "runPolicy": "Serial",
            "source": {"type": "Dockerfile", "dockerfile": dockerfile},
            "strategy": {"type": "Docker", "dockerStrategy": {"from": {
                "kind": "ImageStreamTag", "name": "s2i-generic-data-science-notebook:" + tag,
                "namespace": NS}}},
            "output": {"to": {"kind": "ImageStreamTag", "name": "lightgbm:3.3.5"}},
            "triggers": [{"type": "ImageChange", "imageChange": {}}] if triggers else [],
        },
        "status": {"lastVersion": last_version},
    }
    if last:
        bc["spec"]["triggers"][0]["imageChange"]["lastTriggeredImageID"] = last
    if status_last:
        bc["status"]["imageChangeTriggers"] = [{
            "lastTriggeredImageID": status_last,
            "from": {"name": "s2i-generic-data-science-notebook:" + tag, "namespace": NS}}]
    return bc


def build_from(bc, number, phase="Complete", trigger=True, manual_fingerprint=None):
    """A Build as OpenShift (and the simulator) makes it from a BuildConfig."""
    spec = copy.deepcopy(bc["spec"])
    for key in ("triggers", "runPolicy"):
        spec.pop(key, None)
    spec["strategy"]["dockerStrategy"]["from"] = {"kind": "DockerImage", "name": BASE_REF}
    spec["output"]["pushSecret"] = {"name": "builder-dockercfg-x"}
    if trigger:
        spec["triggeredBy"] = [{"message": "Image change", "imageChangeBuild": {
            "imageID": BASE_REF, "fromRef": {"kind": "ImageStreamTag", "namespace": NS,
                                             "name": "s2i-generic-data-science-notebook:2025.2"}}}]
    elif manual_fingerprint:
        spec["triggeredBy"] = [{"message": builds.INPUTS_MESSAGE + manual_fingerprint}]
    else:
        spec["triggeredBy"] = [{"message": "Manually triggered"}]
    name = "lightgbm-%d" % number
    return {"apiVersion": kinds.BUILD.api_version, "kind": "Build",
            "metadata": {"name": name, "namespace": NS, "resourceVersion": str(10 + number),
                         "labels": {builds.BUILD_CONFIG_LABEL: "lightgbm"},
                         "annotations": {builds.BUILD_NUMBER_ANNOTATION: str(number)}},
            "spec": spec,
            "status": {"phase": phase, "output": {"to": {"imageDigest": "sha256:out%d" % number}}}}


def stream(name, tags):
    return {"apiVersion": kinds.IMAGE_STREAM.api_version, "kind": "ImageStream",
            "metadata": {"name": name, "namespace": NS, "resourceVersion": "3"},
            "status": {"tags": [{"tag": tag, "items": [
                {"dockerImageReference": ref, "image": ref.split("@")[1]}]}
                for tag, ref in tags.items()]}}


BASE_STREAM = stream("s2i-generic-data-science-notebook", {"2025.2": BASE_REF})


# ---------------------------------------------------------------- fingerprints

def test_a_trigger_build_has_the_inputs_of_its_buildconfig():
    bc = buildconfig()
    build = build_from(bc, 1)
    base = builds.strategy_from(bc["spec"])
    assert builds.build_fingerprint(build, NS, base) == builds.config_fingerprint(bc)


def test_a_changed_containerfile_changes_the_inputs():
    old, new = buildconfig(), buildconfig(dockerfile="FROM x\nRUN pip install y\n")
    build = build_from(old, 1)
    assert builds.build_fingerprint(build, NS, builds.strategy_from(new["spec"])) != \
        builds.config_fingerprint(new)


def test_a_new_base_tag_changes_the_inputs():
    assert builds.config_fingerprint(buildconfig(tag="2025.1")) != \
        builds.config_fingerprint(buildconfig(tag="2025.2"))


def test_secrets_triggers_and_empty_fields_are_not_inputs():
    bc = buildconfig()
    other = copy.deepcopy(bc)
    other["spec"]["triggers"] = []
    other["spec"]["output"]["pushSecret"] = {"name": "x"}
    other["spec"]["strategy"]["dockerStrategy"]["pullSecret"] = {"name": "y"}
    other["spec"]["strategy"]["dockerStrategy"]["env"] = []
    other["spec"]["output"]["to"]["namespace"] = NS
    assert builds.config_fingerprint(other) == builds.config_fingerprint(bc)


def test_recorded_fingerprints_are_read_from_annotation_cause_or_revision():
    bc = buildconfig()
    want = builds.config_fingerprint(bc)
    by_cause = build_from(bc, 2, trigger=False, manual_fingerprint=want)
    assert builds.recorded_fingerprint(by_cause) == want
    by_annotation = build_from(bc, 3, trigger=False)
    by_annotation["metadata"]["annotations"][builds.INPUTS_ANNOTATION] = want
    assert builds.recorded_fingerprint(by_annotation) == want
    binary = build_from(bc, 4, trigger=False)
    binary["spec"]["revision"] = {"git": {"message": builds.INPUTS_MESSAGE + "sha256:b"}}
    assert builds.recorded_fingerprint(binary) == "sha256:b"
    assert builds.recorded_fingerprint(build_from(bc, 5)) is None


def test_a_manual_build_of_the_base_image_is_recognised_through_the_stream_history():
    bc = buildconfig()
    build = build_from(bc, 1, trigger=False)  # `oc start-build`: no fromRef, no fingerprint
    base = builds.strategy_from(bc["spec"])
    without = builds.build_fingerprint(build, NS, base)
    aliases = builds.base_aliases(BASE_STREAM, "2025.2")
    with_history = builds.build_fingerprint(build, NS, base, aliases)
    assert without != builds.config_fingerprint(bc)
    assert with_history == builds.config_fingerprint(bc)


# ---------------------------------------------------------------- triggers

def test_a_trigger_is_pending_until_it_recorded_the_current_image():
    def resolve(ref):
        return builds.tag_item(BASE_STREAM, ref["name"].split(":")[1])
    assert builds.pending_trigger(buildconfig(), resolve)["name"] == \
        "s2i-generic-data-science-notebook:2025.2"
    assert builds.pending_trigger(buildconfig(last=BASE_REF), resolve) is None
    assert builds.pending_trigger(buildconfig(status_last=BASE_REF), resolve) is None
    assert builds.pending_trigger(buildconfig(status_last=BASE_REF.replace("aaa", "old")),
                                  resolve) is not None
    assert builds.pending_trigger(buildconfig(triggers=False), resolve) is None
    paused = buildconfig()
    paused["spec"]["triggers"][0]["imageChange"]["paused"] = True
    assert builds.pending_trigger(paused, resolve) is None
    assert builds.pending_trigger(buildconfig(tag="2099.1"), resolve) is None  # unresolvable


# ---------------------------------------------------------------- the plan

def _plan(build_list, want="W", tag_present=True, rebuild=False, trigger=None, fps=None):
    fps = fps or {}
    return builds.plan(want, build_list, lambda b: fps.get(b["metadata"]["name"], "W"),
                       tag_present, rebuild=rebuild, trigger=trigger)


def test_plan_without_builds_starts_one():
    assert _plan([]).action == "start"


def test_plan_adopts_the_running_build_of_the_current_inputs():
    bc = buildconfig()
    step = _plan([build_from(bc, 1, "Complete"), build_from(bc, 2, "Running")])
    assert (step.action, step.build["metadata"]["name"]) == ("adopt", "lightgbm-2")


def test_plan_is_up_to_date_when_the_current_inputs_were_built_and_pushed():
    bc = buildconfig()
    step = _plan([build_from(bc, 1, "Complete")])
    assert (step.action, step.build["metadata"]["name"]) == ("up-to-date", "lightgbm-1")
    assert _plan([build_from(bc, 1, "Complete")], tag_present=False).action == "start"


def test_plan_starts_when_the_inputs_changed_or_the_last_build_failed():
    bc = buildconfig()
    step = _plan([build_from(bc, 1, "Complete")], fps={"lightgbm-1": "OLD"})
    assert step.action == "start" and "inputs changed" in step.reason
    step = _plan([build_from(bc, 1, "Failed")])
    assert step.action == "start" and "ended Failed" in step.reason
    # a running build of old inputs is not adopted
    step = _plan([build_from(bc, 1, "Running")], fps={"lightgbm-1": "OLD"})
    assert step.action == "start"


def test_plan_waits_for_a_pending_trigger_and_rebuild_always_starts():
    bc = buildconfig()
    trigger = {"namespace": NS, "name": "s2i-generic-data-science-notebook:2025.2"}
    assert _plan([], trigger=trigger).action == "await-trigger"
    assert _plan([build_from(bc, 1, "Running")], trigger=trigger).action == "adopt"
    assert _plan([build_from(bc, 1, "Complete")], rebuild=True).action == "start"


# ---------------------------------------------------------------- binary archives

def test_binary_archives_are_reproducible(tmp_path):
    (tmp_path / "Containerfile").write_text("FROM x\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "requirements.txt").write_text("a==1\n")
    data1, digest1 = builds.binary_archive(str(tmp_path))
    os.utime(tmp_path / "Containerfile", (1, 1))
    data2, digest2 = builds.binary_archive(str(tmp_path))
    assert data1 == data2 and digest1 == digest2
    (tmp_path / "Containerfile").write_text("FROM y\n")
    assert builds.binary_archive(str(tmp_path))[1] != digest1
    with pytest.raises(GitopsError, match="not a directory"):
        builds.binary_archive(str(tmp_path / "missing"))


# ---------------------------------------------------------------- the driver

class Response:
    def __init__(self, data):
        self.data = data


class Dynamic:
    def __init__(self, cluster):
        self.cluster = cluster

    def request(self, method, path, serialize=False, body=None, **params):
        self.cluster.requests.append({"method": method, "path": path, "body": body,
                                      "params": params})
        if path.endswith("/instantiate") or path.endswith("/instantiatebinary"):
            bc = self.cluster.objects[("BuildConfig", "lightgbm")]
            bc["status"]["lastVersion"] += 1
            build = build_from(bc, bc["status"]["lastVersion"], phase=self.cluster.new_phase,
                               trigger=False)
            if path.endswith("/instantiate"):
                build["spec"]["triggeredBy"] = body["triggeredBy"]
            else:
                query = dict(params["query_params"])
                build["spec"]["revision"] = {"git": {"message": query["revision.message"]}}
            self.cluster.objects[("Build", build["metadata"]["name"])] = build
            return Response(json.dumps(build).encode())
        if path.endswith("/log"):
            return Response(("\n".join("line %d" % i for i in range(100))).encode())
        raise AssertionError("unexpected request " + path)


class Resource:
    def __init__(self, api_version, kind):
        self.group_version, self.kind, self.namespaced = api_version, kind, True

    def path(self, name=None, namespace=None):
        return "/apis/{0}/namespaces/{1}/{2}s/{3}".format(
            self.group_version, namespace, self.kind.lower(), name)


class MemoryCluster(Cluster):
    """Objects by (kind, name); builds reach ``final_phase`` when listed by name. Subresource
    requests (instantiate, log) go through the real client to ``Dynamic``."""

    def __init__(self, objects, new_phase="New", final_phase="Complete"):
        super().__init__(Dynamic(self))
        self.objects = {(o["kind"], o["metadata"]["name"]): o for o in objects}
        self.requests = []
        self.new_phase = new_phase
        self.final_phase = final_phase

    def resource(self, api_version, kind):
        return Resource(api_version, kind)

    def get(self, resource, name, namespace=None):
        found = self.objects.get((resource.kind, name))
        return copy.deepcopy(found) if found else None

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        items = [copy.deepcopy(o) for (kind, _name), o in self.objects.items()
                 if kind == resource.kind]
        if field_selector:
            name = field_selector.split("=", 1)[1]
            items = [o for o in items if o["metadata"]["name"] == name]
            if resource.kind == "Build":
                for item in items:  # the build ran while we watched
                    item["status"]["phase"] = self.final_phase
                    if self.final_phase == "Failed":
                        item["status"].update(reason="DockerBuildFailed",
                                              message="Docker build strategy has failed.")
                    self.objects[("Build", name)] = copy.deepcopy(item)
                    self._push(item)
        return items, "100"

    def _push(self, build):
        if self.final_phase != "Complete":
            return
        out = self.objects.get(("ImageStream", "lightgbm"))
        digest = build["status"]["output"]["to"]["imageDigest"]
        ref = "image-registry.openshift-image-registry.svc:5000/%s/lightgbm@%s" % (NS, digest)
        self.objects[("ImageStream", "lightgbm")] = stream("lightgbm", {"3.3.5": ref}) \
            if out is None else stream("lightgbm", {"3.3.5": ref})

    def watch(self, *args, **kwargs):
        return iter(())


class FakeRun:
    def __init__(self, cluster, check_mode=False, **params):
        self.cluster = cluster
        self.check_mode = check_mode
        self.params = dict({"namespace": NS, "name": "lightgbm", "rebuild": False, "wait": True,
                            "trigger_grace": 0, "source_dir": None, "as_file": None,
                            "log_lines": 5, "wait_round": None}, **params)
        self.deadline = Deadline(60)
        self.progress = Progress(self.deadline)
        self.waiter = Waiter(cluster, self.deadline, self.progress, sleep=lambda s: None)
        self.result = {}
        self.changed = False
        self.warnings = []


def _pushed(number):
    return stream("lightgbm", {"3.3.5": "image-registry.openshift-image-registry.svc:5000/%s/"
                               "lightgbm@sha256:out%d" % (NS, number)})


def test_up_to_date_starts_nothing_and_reports_the_digest():
    bc = buildconfig(status_last=BASE_REF, last_version=1)
    cluster = MemoryCluster([bc, BASE_STREAM, build_from(bc, 1), _pushed(1)])
    run = FakeRun(cluster)
    image_builder.ImageBuilder(run).ensure()
    assert run.changed is False and cluster.requests == []
    assert run.result["action"] == "up-to-date"
    assert run.result["image"].endswith("/lightgbm@sha256:out1")
    assert run.result["image_digest"] == "sha256:out1"


def test_changed_inputs_start_one_build_and_wait_for_its_image():
    old = buildconfig(status_last=BASE_REF, last_version=1)
    new = buildconfig(dockerfile="FROM x\nRUN pip install y\n", status_last=BASE_REF,
                      last_version=1)
    cluster = MemoryCluster([new, BASE_STREAM, build_from(old, 1), _pushed(1)])
    run = FakeRun(cluster)
    image_builder.ImageBuilder(run).ensure()
    posts = [r for r in cluster.requests if r["method"] == "post"]
    assert len(posts) == 1 and posts[0]["path"].endswith(
        "/buildconfigs/lightgbm/instantiate")
    assert posts[0]["body"]["kind"] == "BuildRequest"
    assert posts[0]["body"]["metadata"]["annotations"][builds.INPUTS_ANNOTATION] == \
        builds.config_fingerprint(new)
    assert run.changed is True and run.result["started"] is True
    assert run.result["build"] == "lightgbm-2" and run.result["phase"] == "Complete"
    assert run.result["image_digest"] == "sha256:out2"
    # The next run finds the build it started: nothing to do.
    run2 = FakeRun(cluster)
    image_builder.ImageBuilder(run2).ensure()
    assert run2.changed is False and run2.result["action"] == "up-to-date"
    assert len([r for r in cluster.requests if r["method"] == "post"]) == 1


def test_the_build_a_trigger_started_is_adopted_not_duplicated():
    bc = buildconfig(status_last=BASE_REF, last_version=1)
    cluster = MemoryCluster([bc, BASE_STREAM, build_from(bc, 1, phase="Running")])
    run = FakeRun(cluster)
    image_builder.ImageBuilder(run).ensure()
    assert [r for r in cluster.requests if r["method"] == "post"] == []
    assert run.changed is False and run.result["action"] == "adopt"
    assert run.result["phase"] == "Complete" and run.result["image_digest"] == "sha256:out1"


def test_a_failed_build_fails_with_phase_reason_and_log_tail():
    bc = buildconfig(status_last=BASE_REF)
    cluster = MemoryCluster([bc, BASE_STREAM], final_phase="Failed")
    run = FakeRun(cluster)
    with pytest.raises(GitopsError) as caught:
        image_builder.ImageBuilder(run).ensure()
    err = caught.value
    assert "Build redhat-ods-applications/lightgbm-1" in err.msg
    assert "Failed (DockerBuildFailed: Docker build strategy has failed.)" in err.msg
    assert err.msg.rstrip().endswith("line 99")
    assert err.details["log_tail"] == ["line %d" % i for i in range(95, 100)]
    assert err.details["phase"] == "Failed"
    assert err.details["build_reason"] == "DockerBuildFailed"
    logs = [r for r in cluster.requests if r["path"].endswith("/log")]
    assert logs[0]["params"]["query_params"] == [("tailLines", 5)]


def test_check_mode_says_whether_a_build_would_start_and_starts_nothing():
    bc = buildconfig(status_last=BASE_REF, last_version=1)
    cluster = MemoryCluster([bc, BASE_STREAM, build_from(bc, 1), _pushed(1)])
    run = FakeRun(cluster, check_mode=True)
    image_builder.ImageBuilder(run).ensure()
    assert run.result["would_build"] is False and run.changed is False
    changed = buildconfig(dockerfile="FROM other\n", status_last=BASE_REF, last_version=1)
    cluster = MemoryCluster([changed, BASE_STREAM, build_from(bc, 1), _pushed(1)])
    run = FakeRun(cluster, check_mode=True)
    image_builder.ImageBuilder(run).ensure()
    assert run.result["would_build"] is True and run.changed is True
    assert cluster.requests == []
    missing = FakeRun(MemoryCluster([BASE_STREAM]), check_mode=True)
    image_builder.ImageBuilder(missing).ensure()
    assert missing.result["would_build"] is True


def test_a_missing_buildconfig_is_a_clear_error():
    with pytest.raises(GitopsError, match="BuildConfig redhat-ods-applications/lightgbm not "
                                          "found"):
        image_builder.ImageBuilder(FakeRun(MemoryCluster([BASE_STREAM]))).ensure()


def test_a_pending_trigger_that_never_fires_leads_to_one_build():
    bc = buildconfig()  # the trigger has not recorded the base image
    cluster = MemoryCluster([bc, BASE_STREAM])
    run = FakeRun(cluster, trigger_grace=0)
    image_builder.ImageBuilder(run).ensure()
    assert len([r for r in cluster.requests if r["method"] == "post"]) == 1
    assert run.result["started"] is True


def test_rebuild_starts_only_in_the_first_round():
    bc = buildconfig(status_last=BASE_REF, last_version=1)
    cluster = MemoryCluster([bc, BASE_STREAM, build_from(bc, 1), _pushed(1)])
    image_builder.ImageBuilder(FakeRun(cluster, rebuild=True)).ensure()
    assert len([r for r in cluster.requests if r["method"] == "post"]) == 1
    later = FakeRun(cluster, rebuild=True, wait_round={"seconds": 30, "spent": 30.0})
    image_builder.ImageBuilder(later).ensure()
    assert len([r for r in cluster.requests if r["method"] == "post"]) == 1


def test_binary_source_uploads_the_archive_once(tmp_path):
    (tmp_path / "Containerfile").write_text("FROM x\n")
    bc = buildconfig(triggers=False)
    bc["spec"]["source"] = {"type": "Binary", "binary": {}}
    cluster = MemoryCluster([bc, BASE_STREAM])
    run = FakeRun(cluster, source_dir=str(tmp_path), as_file=None)
    image_builder.ImageBuilder(run).ensure()
    posts = [r for r in cluster.requests if r["method"] == "post"]
    assert len(posts) == 1
    assert posts[0]["path"].endswith("/buildconfigs/lightgbm/instantiatebinary")
    assert posts[0]["params"]["content_type"] == "application/octet-stream"
    assert posts[0]["body"][:2] == b"\x1f\x8b"  # gzip
    assert run.result["source_digest"].startswith("sha256:")
    again = FakeRun(cluster, source_dir=str(tmp_path))
    image_builder.ImageBuilder(again).ensure()
    assert again.changed is False and again.result["action"] == "up-to-date"
    (tmp_path / "Containerfile").write_text("FROM y\n")
    changed = FakeRun(cluster, source_dir=str(tmp_path))
    image_builder.ImageBuilder(changed).ensure()
    assert changed.changed is True


def test_a_timeout_carries_the_log_tail():
    bc = buildconfig(status_last=BASE_REF)
    cluster = MemoryCluster([bc, BASE_STREAM], final_phase="Running")
    run = FakeRun(cluster)
    run.deadline = Deadline(0)
    run.waiter = Waiter(cluster, run.deadline, run.progress, sleep=lambda s: None)
    with pytest.raises(WaitTimeout) as caught:
        image_builder.ImageBuilder(run).ensure()
    assert "Last 5 lines of the build log" in caught.value.msg
    assert caught.value.details["build"] == "lightgbm-1"


def test_triggers_taken_over_by_the_build_controller_are_reported_for_a_new_apply():
    bc = buildconfig(last=BASE_REF, status_last=BASE_REF, last_version=1)
    ours = {"manager": "rhods.gitops", "operation": "Apply",
            "fieldsV1": {"f:spec": {"f:source": {}, "f:strategy": {}}}}
    theirs = {"manager": "openshift-controller-manager", "operation": "Update",
              "fieldsV1": {"f:spec": {"f:triggers": {}}}}
    bc["metadata"]["managedFields"] = [ours, theirs]
    cluster = MemoryCluster([bc, BASE_STREAM, build_from(bc, 1), _pushed(1)])
    run = FakeRun(cluster)
    image_builder.ImageBuilder(run).ensure()
    assert run.result["triggers_owned_elsewhere"] is True
    assert "managedFields" not in run.result["build_config"]["metadata"]
    assert run.result["build_config"]["spec"]["triggers"][0]["imageChange"][
        "lastTriggeredImageID"] == BASE_REF
    ours["fieldsV1"]["f:spec"]["f:triggers"] = {}
    run = FakeRun(MemoryCluster([bc, BASE_STREAM, build_from(bc, 1), _pushed(1)]))
    image_builder.ImageBuilder(run).ensure()
    assert "triggers_owned_elsewhere" not in run.result
