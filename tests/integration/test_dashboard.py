"""The dashboard's settings (issue 15, item 2) against the local control plane, run by
ansible-playbook as the automation identity.

One playbook (tests/integration/playbooks/dashboard.yml: the rhods role, then
custom_notebook) with sizes, groups and other settings of this module's own:

- the OdhDashboardConfig offers exactly rhods_notebook_sizes, carries the settings of
  rhods_dashboard_config and keeps the fields the operator wrote;
- the Auth ``auth`` (served here, as on RHOAI 2.17+) holds the admin and allowed groups;
- the workbench's container has the requests and limits of the size it names;
- a second run reports changed=0; check mode with other sizes and groups writes nothing;
- bad input (a workbench size the dashboard does not offer, groups given as a string, a size
  without memory) fails naming the variable, with no write (audit log).

At the end the dashboard gets the defaults back (sizes, RHOAI's groups).
"""

import json
import uuid

import pytest

from .ansible import run_playbook
from .audit import AuditWindow, writes

APPS = "redhat-ods-applications"
WORKBENCH = "dash-it-wb"
TINY = {"name": "IT Tiny", "resources": {"requests": {"cpu": "100m", "memory": "256Mi"},
                                         "limits": {"cpu": "500m", "memory": "512Mi"}}}
SMALL = {"name": "Small", "resources": {"requests": {"cpu": "1", "memory": "8Gi"},
                                        "limits": {"cpu": "2", "memory": "8Gi"}}}


def variables(namespace, **over):
    out = {"rhods_notebook_sizes": [SMALL, TINY],
           "rhods_dashboard_admin_groups": ["dash-it-admins"],
           "rhods_dashboard_allowed_groups": ["system:authenticated", "dash-it-users"],
           "rhods_dashboard_config": {"dashboardConfig": {"disableKServe": True},
                                      "notebookController": {"pvcSize": "5Gi"}},
           "custom_notebook_images": [],
           "custom_notebook_workbenches": [{
               "name": WORKBENCH, "namespace": namespace, "size": "IT Tiny",
               "image": "s2i-generic-data-science-notebook:2025.2", "storage_size": "1Gi",
               "shm_size": "256Mi"}],
           "custom_notebook_wait_timeout": 120}
    out.update(over)
    return out


def get(cluster, kind, name, namespace=None):
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    return json.loads(cluster.kubectl(*args).stdout)


def run(cluster, extra, check=False):
    return run_playbook("dashboard.yml", extra, kubeconfig=cluster.automation_kubeconfig,
                        kube_bin=cluster.kube_bin, check=check)


@pytest.fixture(scope="module")
def converged(cluster):
    namespace = "dash-it-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "namespace", namespace)
    first = run(cluster, variables(namespace))
    assert first.rc == 0, str(first)
    second = run(cluster, variables(namespace))
    yield namespace, first, second
    defaults = variables(namespace, rhods_dashboard_config={},
                         rhods_dashboard_admin_groups=["rhods-admins"],
                         rhods_dashboard_allowed_groups=["system:authenticated"],
                         custom_notebook_workbenches=[])
    del defaults["rhods_notebook_sizes"]  # the spec's default: the dashboard's four sizes
    restore = run(cluster, defaults)
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    assert restore.rc == 0, str(restore)


def test_a_second_run_changes_nothing(converged):
    _namespace, first, second = converged
    assert first.changed > 0
    assert second.rc == 0 and second.changed == 0, str(second)
    # The rhods role applied the sizes before custom_notebook checked them on the cluster.
    assert "does not offer size" not in first.output + second.output


def test_the_dashboard_offers_exactly_the_declared_sizes_and_settings(cluster, converged):
    spec = get(cluster, "odhdashboardconfig", "odh-dashboard-config", APPS)["spec"]
    assert spec["notebookSizes"] == [SMALL, TINY]
    assert spec["dashboardConfig"]["disableKServe"] is True
    assert spec["notebookController"]["pvcSize"] == "5Gi"
    # The operator's fields stay: the role owns only what it sends.
    assert spec["dashboardConfig"]["enablement"] is True
    assert spec["notebookController"]["enabled"] is True
    assert "groupsConfig" not in spec  # this version reads the groups from the Auth


def test_the_groups_are_in_the_auth_this_version_reads(cluster, converged):
    spec = get(cluster, "auths.services.platform.opendatahub.io", "auth")["spec"]
    assert spec == {"adminGroups": ["dash-it-admins"],
                    "allowedGroups": ["system:authenticated", "dash-it-users"]}


def test_the_workbench_has_the_resources_of_the_size_it_names(cluster, converged):
    namespace = converged[0]
    notebook = get(cluster, "notebook", WORKBENCH, namespace)
    container = [c for c in notebook["spec"]["template"]["spec"]["containers"]
                 if c["name"] == WORKBENCH][0]
    assert container["resources"] == TINY["resources"]
    assert notebook["metadata"]["annotations"][
        "notebooks.opendatahub.io/last-size-selection"] == "IT Tiny"


def test_check_mode_predicts_a_change_and_writes_nothing(cluster, converged):
    bigger = dict(TINY, resources={"requests": {"cpu": "200m", "memory": "256Mi"},
                                   "limits": {"cpu": "500m", "memory": "512Mi"}})
    window = AuditWindow(cluster.audit_log)
    result = run(cluster, variables(converged[0], rhods_notebook_sizes=[SMALL, bigger],
                                    rhods_dashboard_allowed_groups=["dash-it-users"]), check=True)
    written = writes(window.close().events())
    assert result.rc == 0, str(result)
    assert result.changed > 0
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]
    # Nothing was applied, so custom_notebook sees the dashboard offer the old IT Tiny.
    assert "does not offer size 'IT Tiny'" in result.output, str(result)
    assert get(cluster, "odhdashboardconfig", "odh-dashboard-config", APPS)["spec"][
        "notebookSizes"] == [SMALL, TINY]


# Groups given as a string and a size without memory: tests/integration/test_bad_input.py, through
# site.yml's pre-check. Here: a workbench size that this module's sizes do not hold.
@pytest.mark.parametrize("over, expected", [
    ({"custom_notebook_workbenches": [{"name": WORKBENCH, "namespace": "dash-it-x",
                                       "size": "Huge", "image": "a:b"}]},
     "custom_notebook_workbenches[0] (dash-it-wb): size 'Huge' is not one of the sizes the "
     "dashboard offers (rhods_notebook_sizes: Small, IT Tiny)"),
])
def test_bad_input_fails_naming_the_variable_before_any_write(cluster, converged, over, expected):
    window = AuditWindow(cluster.audit_log)
    result = run(cluster, variables(converged[0], **over))
    written = writes(window.close().events())
    assert result.rc != 0
    assert expected in result.output, str(result)
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]
