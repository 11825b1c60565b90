"""keep_live_fields: controller-written spec fields survive a server-side apply."""

from ansible_collections.rhods.gitops.plugins.module_utils.live_fields import keep_live_fields


def bc(triggers, name="lightgbm"):
    return {"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
            "metadata": {"name": name, "namespace": "apps"}, "spec": {"triggers": triggers}}


LIVE = bc([{"type": "ImageChange", "imageChange": {"lastTriggeredImageID": "img@sha256:1"}}])


def test_the_last_triggered_image_is_kept():
    rendered = bc([{"type": "ImageChange", "imageChange": {}}])
    out = keep_live_fields([rendered], [LIVE])
    assert out[0]["spec"]["triggers"][0]["imageChange"] == {"lastTriggeredImageID": "img@sha256:1"}
    assert rendered["spec"]["triggers"][0]["imageChange"] == {}  # input untouched


def test_null_image_change_is_treated_as_empty():
    out = keep_live_fields([bc([{"type": "ImageChange", "imageChange": None}])], [LIVE])
    assert out[0]["spec"]["triggers"][0]["imageChange"]["lastTriggeredImageID"] == "img@sha256:1"


def test_nothing_is_copied_without_a_matching_live_object_or_element():
    rendered = bc([{"type": "ConfigChange"}, {"type": "ImageChange", "imageChange": {}}])
    assert keep_live_fields([rendered], [LIVE])[0] == rendered  # positions do not agree
    other = bc([{"type": "ImageChange", "imageChange": {}}], name="other")
    assert keep_live_fields([other], [LIVE])[0] == other
    assert keep_live_fields([rendered], [])[0] == rendered


def test_a_value_the_definition_sets_wins():
    rendered = bc([{"type": "ImageChange", "imageChange": {"lastTriggeredImageID": "mine"}}])
    out = keep_live_fields([rendered], [LIVE])
    assert out[0]["spec"]["triggers"][0]["imageChange"]["lastTriggeredImageID"] == "mine"


def test_other_kinds_pass_through():
    notebook = {"kind": "Notebook", "metadata": {"name": "lightgbm", "namespace": "apps"}}
    assert keep_live_fields([notebook], [LIVE]) == [notebook]
