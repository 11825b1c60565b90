"""DataScienceCluster: version choice, every component pinned, readiness evaluation."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.rhods import (
    KNOWN_COMPONENTS,
    choose_name,
    choose_version,
    component_spec,
    component_states,
    evaluate_dsc,
    route_url,
    schema_components,
)


def test_choose_version_prefers_v2_when_both_are_served():
    assert choose_version(["v1", "v2"]) == "v2"
    assert choose_version(["v1"]) == "v1"
    assert choose_version(["v1", "v2"], "v1") == "v1"


def test_choose_version_errors():
    with pytest.raises(GitopsError, match="operator is not installed"):
        choose_version([])
    with pytest.raises(GitopsError, match="api_version v2 is not served .* serves v1"):
        choose_version(["v1"], "v2")
    with pytest.raises(GitopsError, match="served as v3"):
        choose_version(["v3"])


def test_schema_components_read_from_the_crd():
    crd = {"spec": {"versions": [
        {"name": "v1", "schema": {"openAPIV3Schema": {"properties": {"spec": {"properties": {
            "components": {"properties": {"workbenches": {}, "dashboard": {}}}}}}}}},
        {"name": "v2", "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    assert schema_components(crd, "v1") == ["dashboard", "workbenches"]
    assert schema_components(crd, "v2") is None
    assert schema_components(None, "v1") is None


def test_every_component_is_pinned_with_defaults():
    spec = component_spec(KNOWN_COMPONENTS["v1"])
    assert set(spec) == set(KNOWN_COMPONENTS["v1"])
    assert spec["dashboard"] == {"managementState": "Managed"}
    assert spec["workbenches"] == {"managementState": "Managed"}
    assert spec["kserve"] == {"managementState": "Removed"}
    assert all("managementState" in value for value in spec.values())


def test_overrides_as_state_or_mapping():
    spec = component_spec(KNOWN_COMPONENTS["v1"], {
        "dashboard": "Removed", "kserve": {"serving": {"managementState": "Removed"}}})
    assert spec["dashboard"] == {"managementState": "Removed"}
    assert spec["kserve"] == {"managementState": "Managed",
                              "serving": {"managementState": "Removed"}}


def test_unknown_component_lists_the_known_ones():
    with pytest.raises(GitopsError) as info:
        component_spec(KNOWN_COMPONENTS["v2"], {"modelmeshserving": "Managed"})
    assert "modelmeshserving is not part of this DataScienceCluster version" in info.value.msg
    assert "aipipelines" in info.value.msg


def condition(ctype, status, reason="", message=""):
    return {"type": ctype, "status": status, "reason": reason, "message": message}


def dsc(phase="Ready", conditions=(), generation=1, observed=1):
    return {"metadata": {"name": "default-dsc", "generation": generation},
            "status": {"phase": phase, "observedGeneration": observed,
                       "conditions": list(conditions)}}


COMPONENTS = component_spec(["dashboard", "workbenches", "kserve", "aipipelines"],
                            {"aipipelines": "Managed"})


def test_ready_when_every_managed_component_is_ready_and_removed_ones_are_ignored():
    ready = dsc(conditions=[
        condition("Ready", "True"), condition("DashboardReady", "True"),
        condition("workbenchesReady", "True"),  # older operators: lower-case component names
        condition("DataSciencePipelinesReady", "True"),  # aipipelines is DataSciencePipelines
        condition("KserveReady", "False", "Removed", "component is removed")])
    assert evaluate_dsc(ready, COMPONENTS) == (True, "phase Ready, all Managed components ready")


def test_not_ready_names_the_components_and_their_messages():
    waiting = dsc(phase="Progressing", conditions=[
        condition("Ready", "False", "Error", "some components are not ready"),
        condition("DashboardReady", "True"),
        condition("WorkbenchesReady", "False", "ImagePullBackOff", "notebook-controller pod"),
    ])
    ok, reason = evaluate_dsc(waiting, COMPONENTS)
    assert not ok
    assert ("components not ready: aipipelines (no aipipelinesReady condition yet); workbenches "
            "(WorkbenchesReady=False (ImagePullBackOff: notebook-controller pod))") in reason
    assert ("DataScienceCluster phase Progressing, Ready=False (Error: some components are not "
            "ready)") in reason
    assert "kserve" not in reason


def test_ready_phase_with_a_component_not_ready_is_not_ready():
    early = dsc(conditions=[condition("DashboardReady", "True"),
                            condition("WorkbenchesReady", "True")])
    ok, reason = evaluate_dsc(early, COMPONENTS)
    assert not ok and "aipipelines" in reason


def test_a_status_from_an_older_generation_is_not_ready():
    stale = dsc(generation=3, observed=2, conditions=[condition("Ready", "True")])
    assert evaluate_dsc(stale, COMPONENTS) == (
        False, "the operator has not reconciled generation 3 yet (observed 2)")


def test_component_states():
    states = component_states(dsc(conditions=[condition("DashboardReady", "True", "Ready", "")]),
                              COMPONENTS)
    assert states["dashboard"] == {"managementState": "Managed", "ready": True, "reason": "Ready",
                                   "message": ""}
    assert states["kserve"] == {"managementState": "Removed"}
    assert states["workbenches"]["ready"] is False


def test_choose_name():
    assert choose_name([], "default-dsc", "fail") == "default-dsc"
    mine = {"metadata": {"name": "default-dsc"}}
    other = {"metadata": {"name": "rhods"}}
    assert choose_name([mine], "default-dsc", "fail") == "default-dsc"
    assert choose_name([other], "default-dsc", "adopt") == "rhods"
    with pytest.raises(GitopsError) as info:
        choose_name([other], "default-dsc", "fail")
    assert "DataScienceCluster rhods already exists and only one is allowed" in info.value.msg
    assert "Set name: rhods" in info.value.msg


def test_route_url():
    assert route_url({"spec": {"host": "a"}, "status": {"ingress": [{"host": "b"}]}}) == "https://b"
    assert route_url({"spec": {"host": "a"}}) == "https://a"
    assert route_url(None) is None
