"""The molecule scenarios of extensions/molecule (molecule 26, collection mode), each with
`molecule test -s <scenario>`:

- default: direct delivery, create, converge, idempotence, verify, destroy;
- check: check mode on an empty cluster, verify proves from the audit log that nothing
  was written;
- gitops: the site with rhods_gitops_delivery: gitops.

By default each scenario creates a local control plane of its own (an empty cluster; its
state in the scenario's ephemeral directory, removed by destroy), so the scenarios neither
see nor disturb the cluster the other tests share. With RHODS_GITOPS_TEST_KUBECONFIG (the
suite against kind, CRC or a real cluster) they run against that cluster instead, through
MOLECULE_KUBECONFIG.
"""

import glob
import os

import pytest

from .tools import REPO_ROOT, clean_env, run, tool

SCENARIOS = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(
    os.path.join(REPO_ROOT, "extensions", "molecule", "*", "molecule.yml")))


def params():
    return [pytest.param(scenario, id=scenario) for scenario in SCENARIOS]


def test_scenarios_exist():
    assert {"default", "check", "gitops"} <= set(SCENARIOS), SCENARIOS
    for scenario in SCENARIOS:
        for playbook in ("create.yml", "converge.yml", "verify.yml", "destroy.yml"):
            assert os.path.exists(os.path.join(REPO_ROOT, "extensions", "molecule", scenario,
                                               playbook)), (scenario, playbook)


@pytest.mark.parametrize("scenario", params())
def test_molecule_scenario(scenario, tmp_path):
    env = clean_env(MOLECULE_EPHEMERAL_DIRECTORY=str(tmp_path / "ephemeral"),
                    ANSIBLE_NOCOLOR="1", NO_COLOR="1", PY_COLORS="0", TERM="dumb")
    for key in ("LOCALCLUSTER_DIR", "ANSIBLE_COLLECTIONS_PATH"):
        env.pop(key, None)
    external = os.environ.get("RHODS_GITOPS_TEST_KUBECONFIG")
    if external:
        env["MOLECULE_KUBECONFIG"] = os.environ.get(
            "RHODS_GITOPS_TEST_KUBECONFIG_AUTOMATION", external)
        env["MOLECULE_KUBECONFIG_ADMIN"] = external
    res = run([tool("molecule"), "test", "-s", scenario], env=env, timeout=2400)
    assert res.rc == 0, str(res)
    assert "failed=0" in res.output, str(res)
