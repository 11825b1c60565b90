"""The dashboard's settings (plugins/module_utils/dashboard.py): the checks of the rhods role's
input a spec cannot express, the objects applied (OdhDashboardConfig, Auth) and the read-back;
and the one source of sizes custom_notebook's workbenches resolve against (pure, no cluster)."""

import copy

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils import dashboard, role_input

from test_role_input import checked  # same directory

SMALL = {"name": "Small", "resources": {"requests": {"cpu": "1", "memory": "8Gi"},
                                        "limits": {"cpu": "2", "memory": "8Gi"}}}


def rhods(**values):
    base = {"rhods_notebook_sizes": [copy.deepcopy(SMALL)], "rhods_dashboard_config": {},
            "rhods_dashboard_admin_groups": None, "rhods_dashboard_allowed_groups": None}
    base.update(values)
    return base


# ---------------------------------------------------------------- input checks

def test_the_default_sizes_pass_and_are_the_dashboards_four():
    fact, problems = checked("rhods")
    assert problems == []
    names = [s["name"] for s in fact["rhods_notebook_sizes"]]
    assert names == ["Small", "Medium", "Large", "X Large"]


def test_a_size_without_memory_is_named_by_the_spec():
    size = copy.deepcopy(SMALL)
    del size["resources"]["limits"]["memory"]
    _fact, problems = checked("rhods", rhods_notebook_sizes=[size])
    assert problems == ["rhods_notebook_sizes[0].resources.limits.memory is missing: it is "
                        "required, add it."]


@pytest.mark.parametrize("sizes, expected", [
    ([], "rhods_notebook_sizes is empty"),
    ([SMALL, SMALL], "rhods_notebook_sizes[1].name 'Small' is declared twice"),
    ([dict(SMALL, resources={"requests": {"cpu": "1", "memory": "8GB"},
                             "limits": {"cpu": "2", "memory": "8Gi"}})],
     "rhods_notebook_sizes[0] (Small).resources.requests.memory is '8GB'"),
    ([dict(SMALL, resources={"requests": {"cpu": "3", "memory": "8Gi"},
                             "limits": {"cpu": "2", "memory": "8Gi"}})],
     "rhods_notebook_sizes[0] (Small).resources.requests.cpu 3 is more than limits.cpu 2"),
])
def test_sizes_the_api_would_refuse(sizes, expected):
    problems = dashboard.size_problems(sizes)
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize("values, expected", [
    ({"rhods_dashboard_admin_groups": []}, "rhods_dashboard_admin_groups is empty"),
    ({"rhods_dashboard_admin_groups": ["system:authenticated"]},
     "rhods_dashboard_admin_groups[0] is system:authenticated"),
    ({"rhods_dashboard_allowed_groups": ["a,b"]}, "rhods_dashboard_allowed_groups[0] 'a,b' holds"),
    ({"rhods_dashboard_allowed_groups": [" team"]}, "rhods_dashboard_allowed_groups[0] is ' team'"),
    ({"rhods_dashboard_config": {"notebookSizes": []}},
     "rhods_dashboard_config.notebookSizes is set: write it with rhods_notebook_sizes"),
])
def test_groups_and_settings_the_dashboard_would_refuse(values, expected):
    problems = dashboard.problems(rhods(**values))
    assert any(p.startswith(expected) for p in problems), problems


def test_groups_given_as_a_string_are_refused_before_the_validator_splits_them():
    assert role_input.raw_problems("rhods", {"rhods_dashboard_admin_groups": "a,b"}) == [
        "rhods_dashboard_admin_groups is a str, not a list: write a list of group names "
        "(one '- ' item per line), or leave it out to keep the cluster's groups."]
    assert role_input.raw_problems("rhods", {"rhods_dashboard_admin_groups": ["a"],
                                             "rhods_dashboard_allowed_groups": None}) == []


# ---------------------------------------------------------------- one source of sizes

def test_workbenches_resolve_their_size_against_rhods_notebook_sizes():
    big = {"name": "Big", "resources": {"requests": {"cpu": 4, "memory": "16Gi"},
                                        "limits": {"cpu": 8, "memory": "16Gi"}}}
    fact, problems = checked("custom_notebook", rhods_notebook_sizes=[big],
                             custom_notebook_workbenches=[{"name": "wb", "namespace": "team",
                                                           "image": "lightgbm:3.3.5",
                                                           "size": "Big"}])
    assert problems == []
    assert fact["custom_notebook_sizes"] == {"Big": {"requests": {"cpu": "4", "memory": "16Gi"},
                                                     "limits": {"cpu": "8", "memory": "16Gi"}}}


def test_a_workbench_size_the_dashboard_does_not_offer_is_named():
    _fact, problems = checked("custom_notebook", rhods_notebook_sizes=[SMALL],
                              custom_notebook_workbenches=[{"name": "wb", "namespace": "team",
                                                            "image": "lightgbm:3.3.5",
                                                            "size": "Huge"}])
    assert any("custom_notebook_workbenches[0] (wb): size 'Huge' is not one of the sizes the "
               "dashboard offers (rhods_notebook_sizes: Small)" in p for p in problems), problems


def test_the_deprecated_custom_notebook_sizes_must_agree():
    same = {"Small": {"requests": {"cpu": "1", "memory": "8192Mi"},
                      "limits": {"cpu": 2, "memory": "8Gi"}}}
    assert checked("custom_notebook", custom_notebook_sizes=same)[1] == []
    other = {"Small": dict(same["Small"], limits={"cpu": "4", "memory": "8Gi"})}
    problems = checked("custom_notebook", custom_notebook_sizes=other)[1]
    assert len(problems) == 1 and problems[0].startswith(
        "custom_notebook_sizes.Small is {'requests'"), problems
    problems = checked("custom_notebook", custom_notebook_sizes={"Huge": same["Small"]})[1]
    assert problems[0].startswith("custom_notebook_sizes.Huge is not a size the dashboard "
                                  "offers"), problems


# ---------------------------------------------------------------- what is applied

def test_sizes_and_settings_go_to_the_odh_dashboard_config_groups_left_alone():
    out = dashboard.definitions(rhods(rhods_dashboard_config={"dashboardConfig": {
        "disableTracking": True}}), "apps")
    assert out == [{"apiVersion": "opendatahub.io/v1alpha", "kind": "OdhDashboardConfig",
                    "metadata": {"name": "odh-dashboard-config", "namespace": "apps"},
                    "spec": {"dashboardConfig": {"disableTracking": True},
                             "notebookSizes": [SMALL]}}]


def test_groups_go_to_the_auth_when_served_the_other_list_kept_live():
    live = {"spec": {"adminGroups": ["rhods-admins"], "allowedGroups": ["system:authenticated"]}}
    out = dashboard.definitions(rhods(rhods_dashboard_admin_groups=["ai-admins"]), "apps",
                                live_auth=live, auth_served=True)
    assert "groupsConfig" not in out[0]["spec"]
    assert out[1] == {"apiVersion": "services.platform.opendatahub.io/v1alpha1", "kind": "Auth",
                      "metadata": {"name": "auth"},
                      "spec": {"adminGroups": ["ai-admins"],
                               "allowedGroups": ["system:authenticated"]}}


def test_without_the_auth_kind_groups_are_comma_separated_in_groups_config():
    live = {"spec": {"groupsConfig": {"adminGroups": "rhods-admins",
                                      "allowedGroups": "system:authenticated"}}}
    out = dashboard.definitions(rhods(rhods_dashboard_admin_groups=["a", "b"]), "apps",
                                live_config=live)
    assert len(out) == 1
    assert out[0]["spec"]["groupsConfig"] == {"adminGroups": "a,b",
                                              "allowedGroups": "system:authenticated"}


def test_read_back_compares_quantities_by_value_and_names_the_field():
    wanted = dashboard.definitions(rhods(), "apps")
    live = copy.deepcopy(wanted[0])
    live["spec"]["notebookSizes"][0]["resources"]["limits"]["memory"] = "8192Mi"
    live["spec"]["dashboardConfig"] = {"enablement": True}
    assert dashboard.readback_problems(wanted, [[live]]) == []
    live["spec"]["notebookSizes"][0]["resources"]["limits"]["memory"] = "4Gi"
    problems = dashboard.readback_problems(wanted, [[live]])
    assert len(problems) == 1 and problems[0].startswith(
        "OdhDashboardConfig odh-dashboard-config: spec.notebookSizes reads back as"), problems
    assert dashboard.readback_problems(wanted, [[]]) == [
        "OdhDashboardConfig odh-dashboard-config is not there after the apply."]


def test_custom_notebook_warns_when_the_live_dashboard_does_not_offer_the_size():
    sizes = {"Small": SMALL["resources"], "Tiny": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    benches = [{"name": "a", "namespace": "t", "size": "Small"},
               {"name": "b", "namespace": "t", "size": "Tiny"}]
    live = {"spec": {"notebookSizes": [dict(SMALL, resources={
        "requests": {"cpu": 1, "memory": "8192Mi"}, "limits": {"cpu": "2", "memory": "8Gi"}})]}}
    warnings = dashboard.offered_size_warnings(benches, sizes, live)
    assert len(warnings) == 1 and warnings[0].startswith(
        "Workbench t/b: the dashboard (OdhDashboardConfig odh-dashboard-config) does not offer "
        "size 'Tiny'"), warnings
