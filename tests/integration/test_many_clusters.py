"""Several clusters in one run (issue 15): an inventory whose group ``rhods_clusters`` holds a host
per cluster, each with its own connection (``rhods_gitops_auth``), converges every cluster in
parallel, prints a report per cluster and a summary, and a failure on one cluster does not stop
the others.

The first cluster is the shared local control plane of the suite; the second is a local control
plane of its own, started by this module in a state directory of its own (the same cached
binaries, other ports) and purged at the end. No container runs on either, so no S3 API answers:
no buckets, no S3 verification (as in test_gitops.py).
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from .ansible import LOCALCLUSTER, REPO_ROOT, localcluster_env, run_playbook
from .site import CREDENTIALS, SITE, get

# What test_gitops.py converges the shared cluster with, so that this module's run there is a
# re-run of the same variables.
VARS = {"minio_create_buckets": False, "dsp_verify_connections": "never",
        "rhods_gitops_state_namespace": "rhods-gitops"}


@pytest.fixture(scope="module")
def second_cluster(tmp_path_factory):
    state_dir = str(tmp_path_factory.mktemp("second-cluster"))
    env = dict(os.environ, LOCALCLUSTER_DIR=state_dir)
    res = subprocess.run([LOCALCLUSTER, "up"], env=env, capture_output=True, text=True,
                         check=False, timeout=900)
    try:
        if res.returncode != 0:
            pytest.fail("the second local control plane did not start:\n%s%s" % (
                res.stdout[-3000:], res.stderr[-3000:]), pytrace=False)
        yield localcluster_env(state_dir)[0]
    finally:
        subprocess.run([LOCALCLUSTER, "down", "--purge"], env=env, capture_output=True,
                       check=False, timeout=300)


# Variables of the second cluster only (each cluster has its own): a lighter platform, one
# project without MinIO, images or workbenches; it keeps this module's cost down.
SECOND = {"minio_enabled": False, "custom_notebook_images": [], "custom_notebook_workbenches": [],
          "dsp_projects": [{"name": "second-team", "display_name": "Second team"}]}


def _inventory(path, hosts):
    inventory = {"rhods_clusters": {
        "vars": {"ansible_connection": "local",
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "hosts": {name: dict(SECOND if name == "second" else {},
                             rhods_gitops_auth={"kubeconfig": kubeconfig})
                  for name, kubeconfig in hosts.items()}}}
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def _kubectl(cluster, kubeconfig, *args):
    return subprocess.run([os.path.join(cluster.kube_bin, "kubectl"), *args],
                          env=dict(os.environ, KUBECONFIG=kubeconfig), capture_output=True,
                          text=True, check=False)


def _summary(result):
    """The lines of site.yml's last task, the summary of every cluster."""
    text = result.stdout.split("TASK [Summarize the clusters")[-1]
    start = text.index('"msg": [')
    return json.loads(text[start + len('"msg": '):text.index("]", start) + 1])


@pytest.fixture(scope="module")
def runs(cluster, second_cluster, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("many-clusters")
    both = {"first": cluster.automation_kubeconfig,
            "second": second_cluster["LOCALCLUSTER_KUBECONFIG_AUTOMATION"]}
    two = _inventory(tmp / "two.yml", both)
    # The environment names no cluster: each host has only its own rhods_gitops_auth.
    nowhere = str(tmp / "no-kubeconfig")
    converge = run_playbook(SITE, VARS, kubeconfig=nowhere, kube_bin=cluster.kube_bin,
                            inventory=two, timeout=1800)
    # Again, with a third cluster that cannot be reached: the two others must not mind.
    unreachable = tmp / "unreachable.kubeconfig"
    unreachable.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
        "users": [{"name": "gone", "user": {"token": "not-a-token"}}]}))
    three = _inventory(tmp / "three.yml", dict(both, third=str(unreachable)))
    again = run_playbook(SITE, VARS, kubeconfig=nowhere, kube_bin=cluster.kube_bin,
                         inventory=three, timeout=1800)
    report = run_playbook(CREDENTIALS, VARS, kubeconfig=nowhere, kube_bin=cluster.kube_bin,
                          inventory=two)
    return {"converge": converge, "again": again, "report": report,
            "second_admin": second_cluster["LOCALCLUSTER_KUBECONFIG_ADMIN"]}


def test_one_run_converges_both_clusters(runs, cluster):
    converge = runs["converge"]
    assert converge.rc == 0, str(converge)
    assert set(converge.recap) >= {"first", "second"}, converge.recap
    assert all(converge.recap[h]["failed"] == 0 for h in ("first", "second")), converge.recap
    # Each cluster got its own variables, through its own kubeconfig only.
    first = _kubectl(cluster, cluster.kubeconfig, "get", "notebooks", "-n", "notebook-demo",
                     "-o", "name")
    assert first.stdout.strip() == "notebook.kubeflow.org/demo-lightgbm-workbench", first.stderr
    second = _kubectl(cluster, runs["second_admin"], "get", "namespaces", "-o", "name")
    assert "namespace/second-team" in second.stdout.split(), second.stderr
    assert "namespace/notebook-demo" not in second.stdout.split()
    assert "namespace/minio" not in second.stdout.split()
    for kubeconfig in (cluster.kubeconfig, runs["second_admin"]):
        dsc = _kubectl(cluster, kubeconfig, "get", "datascienceclusters", "default-dsc", "-o",
                       "jsonpath={.status.phase}")
        assert dsc.stdout == "Ready", dsc.stderr
    summary = _summary(converge)
    assert summary[0] == "2 of 2 cluster(s) converged", summary
    assert [line.split(":")[0] for line in summary[1:]] == ["first", "second"], summary
    assert all("converged (direct delivery), OpenShift AI rhods-operator." in line
               for line in summary[1:]), summary


def test_a_second_run_changes_nothing_on_either_and_an_unreachable_cluster_stops_neither(runs):
    again = runs["again"]
    assert again.rc != 0, str(again)
    for host in ("first", "second"):
        assert again.recap[host]["changed"] == 0 and again.recap[host]["failed"] == 0, \
            (host, again.recap)
    assert again.recap["third"]["failed"] == 1, again.recap
    summary = _summary(again)
    assert summary[0] == "2 of 3 cluster(s) converged", summary
    assert summary[3] == "third: FAILED - see its failed task above; the other clusters went on"


def test_the_report_of_each_cluster(runs):
    report = runs["report"]
    assert report.rc == 0, str(report)
    for host in ("first", "second"):
        assert "ok: [%s] => " % host in report.stdout, report.stdout[-3000:]
    assert report.stdout.count("admin password: add -e show_secrets=true") == 2, \
        report.stdout[-3000:]


def test_the_readme_commands_use_the_shipped_inventory():
    with open(os.path.join(REPO_ROOT, "ansible.cfg"), encoding="utf-8") as handle:
        assert "inventory = inventory/localhost.yml" in handle.read()
    with open(os.path.join(REPO_ROOT, "inventory", "localhost.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    assert list(inventory["rhods_clusters"]["hosts"]) == ["localhost"]
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          "--list-hosts", "site.yml"], cwd=REPO_ROOT, capture_output=True,
                         text=True, check=False,
                         env={k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")
                              or k == "ANSIBLE_COLLECTIONS_PATH"})
    assert res.returncode == 0, res.stderr
    assert "No inventory was parsed" not in res.stderr + res.stdout
    assert "hosts (1):" in res.stdout and "localhost" in res.stdout


def test_nothing_of_the_second_cluster_reached_the_first(runs, cluster):
    assert runs["converge"].rc == 0, str(runs["converge"])
    assert get(cluster, "namespace", "second-team") is None
