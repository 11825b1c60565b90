"""A wait outlives an API server outage up to its deadline (issue 13, item 3).

While ``rhods.gitops.k8s_wait`` waits (progress rounds of 5 s, so several module processes
start, connect and discover while the API is gone), kube-apiserver is stopped for 30 s and
started again with the same command line (``localcluster stop kube-apiserver``, then ``start``).
The automation identity talks to the cluster through the local front proxy, so during the outage it gets what a load balancer gives: HTTP 502 and
refused connections. The wait must go on, say in its progress that it is retrying, and succeed
once the awaited object appears.

Local control plane only: it restarts a process it can find in the state directory.
"""

import os
import subprocess
import threading
import time

import pytest

from .ansible import REPO_ROOT, run_playbook

LOCALCLUSTER = os.path.join(REPO_ROOT, "tests", "cluster", "localcluster")

OUTAGE_SECONDS = 30
NAMESPACE = "outage-probe"
PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Wait for the probe ConfigMap across an API outage
      rhods.gitops.k8s_wait:
        kind: ConfigMap
        name: probe
        namespace: %s
        condition: "data.ready == 'yes'"
        wait_timeout: 240
        progress_interval: 5
""" % NAMESPACE


def localcluster(cluster, *args):
    """``tests/cluster/localcluster <args>`` on the test's control plane."""
    res = subprocess.run([LOCALCLUSTER, *args], capture_output=True, text=True, check=False,
                         env=dict(os.environ, LOCALCLUSTER_DIR=cluster.state_dir))
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def api_outage(cluster, seconds):
    """kube-apiserver stopped for ``seconds`` (from the stop request to the start request),
    then started again with the same command line; returns once it answers."""
    stopped = time.monotonic()
    localcluster(cluster, "stop", "kube-apiserver")
    time.sleep(max(0, seconds - (time.monotonic() - stopped)))
    localcluster(cluster, "start", "kube-apiserver")


def test_a_wait_survives_the_api_server_stopping_for_30_seconds(cluster, tmp_path):
    if not cluster.state_dir:
        pytest.skip("needs the local control plane (restarts its kube-apiserver)")
    cluster.kubectl("create", "namespace", NAMESPACE, check=False)
    cluster.kubectl("delete", "configmap", "probe", "-n", NAMESPACE, "--ignore-not-found")
    cluster.kubectl("create", "rolebinding", "probe-reader", "-n", NAMESPACE,
                    "--clusterrole=view", "--user=rhods-gitops-automation", check=False)
    playbook = tmp_path / "wait.yml"
    playbook.write_text(PLAYBOOK)
    result = {}
    runner = threading.Thread(target=lambda: result.update(res=run_playbook(
        str(playbook), kubeconfig=cluster.automation_kubeconfig, timeout=600)))
    runner.start()
    try:
        time.sleep(8)  # the wait is watching
        api_outage(cluster, OUTAGE_SECONDS)
        time.sleep(3)
        cluster.kubectl("create", "configmap", "probe", "-n", NAMESPACE, "--from-literal=ready=yes")
    finally:
        runner.join(600)
    res = result["res"]
    assert res.rc == 0, str(res)
    assert "did not answer" in res.output or "connection lost" in res.output or \
        "API error 50" in res.output, "the progress says the API was gone: " + str(res)
    cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
