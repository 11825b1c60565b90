"""Fixtures shared by every test that needs the local control plane.

``cluster`` (session): brings the local control plane up with
``tests/cluster/localcluster up`` (a no-op when it is running) and hands the
tests the kubeconfigs of the identities.  ``RHODS_GITOPS_TEST_KUBECONFIG``
names another cluster instead (kind, CRC, a real one).

``simulator`` (function): changes the operator simulator's behaviour for one
test (deep-merged into ConfigMap ``localcluster-system/simulator``) and puts
the previous configuration back afterwards.
"""

import copy
import os
import shutil
import subprocess
import time
from dataclasses import dataclass

import pytest
import yaml
from urllib3.exceptions import ProtocolError

from integration.ansible import localcluster_env

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOCALCLUSTER = os.path.join(REPO_ROOT, "tests", "cluster", "localcluster")


@dataclass
class Cluster:
    kubeconfig: str
    automation_kubeconfig: str
    scientist_kubeconfig: str
    outsider_kubeconfig: str
    audit_log: str
    state_dir: str
    kube_bin: str

    def env(self, kubeconfig=None, **extra):
        """Environment for a subprocess (kubectl, ansible-playbook) as one identity."""
        env = dict(os.environ)
        env["KUBECONFIG"] = kubeconfig or self.kubeconfig
        env["PATH"] = self.kube_bin + os.pathsep + env.get("PATH", "")
        for key in [k for k in env if k.startswith("K8S_AUTH_")]:
            del env[key]
        env.update(extra)
        return env

    def kubectl(self, *args, kubeconfig=None, check=True, input_text=None):
        res = subprocess.run([os.path.join(self.kube_bin, "kubectl"), *args],
                             env=self.env(kubeconfig), capture_output=True, text=True,
                             input=input_text, check=False)
        if check and res.returncode != 0:
            raise AssertionError("kubectl %s failed: %s" % (" ".join(args), res.stderr))
        return res


def _external_cluster():
    """A cluster named by the environment instead of the local control plane.

    RHODS_GITOPS_TEST_KUBECONFIG (admin) and, optionally,
    RHODS_GITOPS_TEST_KUBECONFIG_{AUTOMATION,SCIENTIST,OUTSIDER}.
    """
    admin = os.environ.get("RHODS_GITOPS_TEST_KUBECONFIG")
    if not admin:
        return None
    get = lambda name: os.environ.get("RHODS_GITOPS_TEST_KUBECONFIG_" + name, admin)  # noqa: E731
    return Cluster(kubeconfig=admin, automation_kubeconfig=get("AUTOMATION"),
                   scientist_kubeconfig=get("SCIENTIST"), outsider_kubeconfig=get("OUTSIDER"),
                   audit_log="", state_dir="",
                   kube_bin=os.path.dirname(shutil.which("kubectl") or "/usr/bin/kubectl"))


@pytest.fixture(scope="session")
def cluster():
    external = _external_cluster()
    if external is not None:
        return external
    res = subprocess.run([LOCALCLUSTER, "up"], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        pytest.fail("localcluster up failed:\n%s%s" % (res.stdout, res.stderr), pytrace=False)
    env = localcluster_env()[0]
    import sys  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "cluster"))
    from lc import config  # pylint: disable=import-outside-toplevel
    return Cluster(
        kubeconfig=env["KUBECONFIG"],
        automation_kubeconfig=env["LOCALCLUSTER_KUBECONFIG_AUTOMATION"],
        scientist_kubeconfig=env["LOCALCLUSTER_KUBECONFIG_SCIENTIST"],
        outsider_kubeconfig=env["LOCALCLUSTER_KUBECONFIG_OUTSIDER"],
        audit_log=env["LOCALCLUSTER_AUDIT_LOG"],
        state_dir=env["LOCALCLUSTER_DIR"],
        kube_bin=config.kube_bin_dir(),
    )


@pytest.fixture(scope="session")
def kube_client(cluster):
    """An admin ``kubernetes`` ApiClient."""
    from kubernetes import config as kconfig  # pylint: disable=import-outside-toplevel
    return kconfig.new_client_from_config(config_file=cluster.kubeconfig)


def _deep_merge(base, override):
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class SimulatorControl:
    """Set the simulator's behaviour at run time (see tests/cluster/README.md)."""

    # The simulator caches its configuration for 0.2 s; wait that long after a change.
    SETTLE = 0.3

    def __init__(self, api_client):
        from kubernetes import client  # pylint: disable=import-outside-toplevel
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
        self.core = client.CoreV1Api(api_client)
        try:
            self.original = self._read()
        except ApiException as exc:
            if exc.status == 404:
                pytest.skip("no operator simulator on this cluster (a real one?): "
                            "failure injection needs the local control plane")
            raise

    def _read(self):
        cm = self.core.read_namespaced_config_map("simulator", "localcluster-system")
        return yaml.safe_load((cm.data or {}).get("config.yaml") or "{}") or {}

    def _write(self, value):
        body = {"data": {"config.yaml": yaml.safe_dump(value, sort_keys=True)}}
        try:
            self.core.patch_namespaced_config_map("simulator", "localcluster-system", body)
        except ProtocolError:
            # A pooled connection the API server closed (a test stopped it): once more, on a
            # new one. The patch is idempotent.
            self.core.patch_namespaced_config_map("simulator", "localcluster-system", body)
        time.sleep(self.SETTLE)

    def set(self, overrides):
        self._write(_deep_merge(self._read(), overrides))

    def reset(self):
        self._write(self.original)


@pytest.fixture
def simulator(kube_client):
    control = SimulatorControl(kube_client)
    yield control
    control.reset()
