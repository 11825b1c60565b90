"""A wait outlives an API server outage up to its deadline (issue 13, item 3).

While ``rhods.gitops.k8s_wait`` waits (progress rounds of 5 s, so several module processes
start, connect and discover while the API is gone), kube-apiserver is stopped for 30 s and
started again with the same command line. The automation identity talks to the cluster through
the local front proxy, so during the outage it gets what a load balancer gives: HTTP 502 and
refused connections. The wait must go on, say in its progress that it is retrying, and succeed
once the awaited object appears.

Local control plane only: it restarts a process it can find in the state directory.
"""

import os
import signal
import subprocess
import threading
import time

import pytest

from .ansible import run_playbook

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


def _apiserver(state_dir):
    with open(os.path.join(state_dir, "pids", "kube-apiserver.pid"), encoding="utf-8") as handle:
        pid = int(handle.read().split()[0])
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        argv = [a.decode() for a in handle.read().split(b"\0") if a]
    return pid, argv


def _restart_after(state_dir, argv, seconds):
    time.sleep(seconds)
    log = open(os.path.join(state_dir, "logs", "kube-apiserver.log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    with open(os.path.join(state_dir, "pids", "kube-apiserver.pid"), "w", encoding="utf-8") as out:
        out.write("%d\n%s\n" % (proc.pid, argv[0]))


def _stop(pid, timeout=60):
    """SIGTERM, then wait until the process is gone (SIGKILL after ``timeout``).

    The next kube-apiserver must not start while this one still writes: both would write the
    same audit log, one of them at a stale offset, and cut a record in two.
    """
    os.kill(pid, signal.SIGTERM)
    if not _until(lambda: not _alive(pid), timeout):
        os.kill(pid, signal.SIGKILL)
        assert _until(lambda: not _alive(pid), 30), "kube-apiserver %d did not exit" % pid


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _until(check, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.5)
    return False


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
        pid, argv = _apiserver(cluster.state_dir)
        stopped = time.monotonic()
        _stop(pid)
        restart = threading.Thread(target=_restart_after,
                                   args=(cluster.state_dir, argv,
                                         max(0, OUTAGE_SECONDS - (time.monotonic() - stopped))))
        restart.start()
        restart.join()
        assert _until(lambda: cluster.kubectl("get", "--raw", "/readyz",
                                              check=False).returncode == 0, 120), \
            "kube-apiserver did not come back"
        time.sleep(3)
        cluster.kubectl("create", "configmap", "probe", "-n", NAMESPACE, "--from-literal=ready=yes")
    finally:
        runner.join(600)
    res = result["res"]
    assert res.rc == 0, str(res)
    assert "did not answer" in res.output or "connection lost" in res.output or \
        "API error 50" in res.output, "the progress says the API was gone: " + str(res)
    cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
