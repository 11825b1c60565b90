"""``rhods.gitops.k8s_wait`` with ``objects``: many objects in one call, against the local
control plane, as the automation identity.

ConfigMaps in three namespaces of the test's own (plus a cluster-scoped Namespace, a second
kind), each awaited on ``data.ready == 'yes'``:

- some are ready at once, one becomes ready while the module watches, one never: the task
  times out and its message names exactly the one that never did, with its state and why;
- the same with the last one created later: the task succeeds, with one result per object,
  having listed and watched ConfigMaps cluster-wide (one list and one watch per round, no
  read per object);
- a ``fail_condition`` on one object that becomes true while the module waits fails the task
  at once (a failure naming the object, not a timeout, well within a wait_timeout of 300 s);
- check mode reports which objects hold, waits for nothing and writes nothing.
"""

import json
import threading
import time
import uuid

import pytest

from .ansible import run_playbook
from .audit import AuditWindow, writes

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Wait for many objects in one call
      rhods.gitops.k8s_wait:
        kind: ConfigMap
        condition: "data.ready == 'yes'"
        fail_condition: "{{ fail_condition | default(omit) }}"
        objects: "{{ objects }}"
        wait_timeout: "{{ wait_timeout }}"
        progress_interval: 4
      register: waited
      ignore_errors: true

    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ waited | to_json }}"
        dest: "{{ result_file }}"
        mode: "0600"
      check_mode: false
"""


@pytest.fixture()
def spaces(cluster):
    """Three namespaces of the test's own, removed afterwards."""
    suffix = uuid.uuid4().hex[:6]
    names = ["wm-{0}-{1}".format(x, suffix) for x in "abc"]
    for name in names:
        cluster.kubectl("create", "namespace", name)
    yield names
    cluster.kubectl("delete", "namespace", "--wait=false", *names, check=False)


def configmap(cluster, namespace, name, **data):
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": data}
    cluster.kubectl("apply", "-f", "-", input_text=json.dumps(body))


def objects_in(spaces):
    return [{"namespace": spaces[0], "name": "one"},
            {"namespace": spaces[1], "name": "two"},
            {"namespace": spaces[2], "name": "three"},
            {"api_version": "v1", "kind": "Namespace", "name": spaces[0],
             "condition": "status.phase == 'Active'"}]


def run_wait(cluster, tmp_path, objects, wait_timeout, check=False, **extra):
    playbook = tmp_path / "wait.yml"
    playbook.write_text(PLAYBOOK)
    result_file = tmp_path / "result.json"
    variables = dict(objects=objects, wait_timeout=wait_timeout,
                     result_file=str(result_file), **extra)
    res = run_playbook(str(playbook), variables, kubeconfig=cluster.automation_kubeconfig,
                       kube_bin=cluster.kube_bin, check=check)
    assert res.rc == 0 and result_file.exists(), res
    return json.loads(result_file.read_text()), res


def after_first_list(cluster, window, action):
    """Run ``action`` in a thread once the automation identity has listed ConfigMaps (the
    module has read them all and is about to watch)."""
    def trigger():
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if any(e.get("verb") == "list" and (e.get("objectRef") or {}).get("resource") ==
                   "configmaps" for e in window.events()):
                time.sleep(1.0)  # let it open its watch
                action()
                return
            window.end = None
            time.sleep(0.3)
    thread = threading.Thread(target=trigger, daemon=True)
    thread.start()
    return thread


def configmap_reads(window):
    return [(e["verb"], e["requestURI"].split("?")[0]) for e in window.events()
            if (e.get("objectRef") or {}).get("resource") == "configmaps"]


def test_timeout_names_only_the_object_that_never_became_ready(cluster, spaces, tmp_path):
    configmap(cluster, spaces[0], "one", ready="yes")
    configmap(cluster, spaces[1], "two", ready="no")
    window = AuditWindow(cluster.audit_log)
    later = after_first_list(cluster, window,
                             lambda: configmap(cluster, spaces[1], "two", ready="yes"))
    result, res = run_wait(cluster, tmp_path, objects_in(spaces), wait_timeout=15)
    later.join()
    window.close()
    assert result.get("failed") and result.get("timed_out"), result
    msg = result["msg"]
    assert "waiting for 4 objects (ConfigMap in {0}; Namespace) to satisfy: their conditions"\
        .format(", ".join(spaces)) in msg, msg
    assert "ConfigMap {0}/three: does not exist yet".format(spaces[2]) in msg, msg
    assert "{0}/two".format(spaces[1]) not in msg and "{0}/one".format(spaces[0]) not in msg
    # Rounds of 4 s: the action plugin printed each object's state between them.
    assert "ConfigMap {0}/three: does not exist yet".format(spaces[2]) in res.stdout, res
    progress = [(p["object"], p["state"]) for p in result["progress"]]
    assert ("ConfigMap {0}/two".format(spaces[1]), "`data.ready == 'yes'` is true") in progress


def test_all_objects_in_one_call_one_list_and_watch_per_round(cluster, spaces, tmp_path):
    configmap(cluster, spaces[0], "one", ready="yes")
    configmap(cluster, spaces[1], "two", ready="no")
    window = AuditWindow(cluster.audit_log)

    def later():
        configmap(cluster, spaces[1], "two", ready="yes")
        configmap(cluster, spaces[2], "three", ready="yes")
    thread = after_first_list(cluster, window, later)
    result, _ = run_wait(cluster, tmp_path, objects_in(spaces), wait_timeout=120)
    thread.join()
    window.close()
    assert not result.get("failed"), result
    assert result["satisfied"] is True
    assert [(a["kind"], a["namespace"], a["name"], a["satisfied"]) for a in result["awaited"]] == [
        ("ConfigMap", spaces[0], "one", True), ("ConfigMap", spaces[1], "two", True),
        ("ConfigMap", spaces[2], "three", True), ("Namespace", None, spaces[0], True)]
    assert result["awaited"][2]["resource"]["data"] == {"ready": "yes"}
    reads = configmap_reads(window)
    # Cluster-wide only: never a read of one ConfigMap or of one namespace's ConfigMaps.
    assert reads and all(uri == "/api/v1/configmaps" for _verb, uri in reads), reads
    assert {verb for verb, _uri in reads} <= {"list", "watch"}
    lists = sum(1 for verb, _uri in reads if verb == "list")
    watches = sum(1 for verb, _uri in reads if verb == "watch")
    assert lists >= 1 and watches >= 1 and lists <= watches + 1, reads


def test_a_fail_condition_on_one_object_fails_at_once_naming_it(cluster, spaces, tmp_path):
    configmap(cluster, spaces[0], "one", ready="yes")
    configmap(cluster, spaces[1], "two", ready="no")
    window = AuditWindow(cluster.audit_log)
    broken = after_first_list(cluster, window, lambda: configmap(
        cluster, spaces[1], "two", ready="no", state="broken"))
    result, _ = run_wait(cluster, tmp_path, objects_in(spaces), wait_timeout=300,
                         fail_condition="data.state == 'broken'")
    broken.join()
    assert result.get("failed") and not result.get("timed_out"), result
    assert result["msg"].startswith("ConfigMap {0}/two matches fail_condition".format(spaces[1]))
    assert result["failed_object"] == "ConfigMap {0}/two".format(spaces[1])


def test_check_mode_reports_each_object_without_waiting_or_writing(cluster, spaces, tmp_path):
    configmap(cluster, spaces[0], "one", ready="yes")
    configmap(cluster, spaces[1], "two", ready="no")
    window = AuditWindow(cluster.audit_log)
    result, _ = run_wait(cluster, tmp_path, objects_in(spaces), wait_timeout=300, check=True)
    window.close()
    assert not result.get("failed"), result
    assert result["satisfied"] is False
    assert [a["satisfied"] for a in result["awaited"]] == [True, False, False, True]
    assert "ConfigMap {0}/three: does not exist yet".format(spaces[2]) in result["reason"]
    assert writes(window.events()) == []
    assert not [e for e in window.events() if e.get("verb") == "watch"]
