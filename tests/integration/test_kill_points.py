"""The playbook killed at six points, then re-run: it converges, with the same MinIO root
credentials, the same data connections, one build of the image, and then changed=0
(issue 13, "Hardening").

One set of variables of its own (MinIO in namespace kp-minio, projects kp-alpha and kp-beta with
three data connections of type minio, image kp-image, three workbenches) runs site.yml again
and again; each run is killed at the next point, seen in the playbook's output (its TASK header
and the module's process) or in the cluster (a watch of the kind that marks the point). SIGKILL
goes to ansible-playbook's process group and to the group of every worker (ansible-core's
workers call setsid), so module processes die too (tests/integration/killpoints.py):

1. the rhods role's operator installation (rhods.gitops.olm_operator: Subscription, then the
   wait for the CSV);
2. MinIO's Deployment written, its root credentials Secret not yet (they are generated, not
   stored);
3. MinIO's root credentials Secret written (the buckets not yet made): the credentials the
   rest must keep;
4. the first data connection Secret of the projects written;
5. the first workbench (Notebook) written (the BuildConfig before it, whose trigger starts the
   build);
6. the image's build running (a Build exists, not Complete; the simulator's build lasts until
   then), while rhods.gitops.image_build waits for it (its watch of builds is in the API
   server's audit log). The run after it must adopt the same build, still running, again.

The operators and Argo CD are shared with the other tests: when they are installed already,
point 1 kills the task that verifies them. Then one run to the end, and one more that must
report changed=0.
"""

import base64
import json
import os
import sys
import tempfile

import pytest

from tests.conftest import SimulatorControl

from .ansible import (REPO_ROOT, PlaybookResult, parse_recap, playbook_env, run_playbook,
                      with_own_applysets)
from .audit import AUTOMATION_USER
from .killpoints import KillRun, Point
from .s3server import SecretMirror
from .site import APPS, SITE, changed_tasks, get, names, site_vars

MINIO = "kp-minio"
PROJECTS = ("kp-alpha", "kp-beta")
IMAGE = "kp-image"
STATE = "rhods-gitops-t-killpoints"
# The simulator's build duration until the run after the last kill has adopted the running build
# (then the default again, and a touch of the Build makes the simulator finish it at once):
# whatever the load, the build the BuildConfig's trigger starts runs through the last two runs.
BUILD_SECONDS = 300
CONNECTIONS = {("kp-alpha", "aws-connection-data"), ("kp-alpha", "aws-connection-shared"),
               ("kp-beta", "aws-connection-data")}
WORKBENCHES = {("kp-alpha", "kp-one"), ("kp-beta", "kp-two"), ("kp-alpha", "kp-three")}


def variables(s3server):
    image = {"name": IMAGE, "tag": "1.0", "display_name": "Kill points",
             "requirements": ("lightgbm==3.3.5 \\\n"
                              "    --hash=sha256:044f65664c1a32c98cb619bafa97d8cd9d93c2c2d5053"
                              "376aadfe509a3a3e7fa\n"),
             "python_imports": ["lightgbm"]}
    workbench = {"image": IMAGE + ":1.0", "size": "Small", "storage_size": "1Gi"}
    return site_vars(
        s3server, rhods_gitops_state_namespace=STATE,
        minio_namespace=MINIO, dsp_minio_namespace=MINIO, minio_buckets=list(PROJECTS),
        dsp_projects=[
            {"name": "kp-alpha", "connections": [
                {"name": "data", "type": "minio", "bucket": "kp-alpha"},
                {"name": "shared", "type": "minio", "bucket": "kp-beta"}]},
            {"name": "kp-beta", "connections": [
                {"name": "data", "type": "minio", "bucket": "kp-beta"}]}],
        custom_notebook_images=[image],
        custom_notebook_workbenches=[
            dict(workbench, name="kp-one", namespace="kp-alpha",
                 data_connections=["aws-connection-data"]),
            dict(workbench, name="kp-two", namespace="kp-beta"),
            dict(workbench, name="kp-three", namespace="kp-alpha")])


def _mine(pairs):
    return lambda objects: bool(set(objects) & pairs)


def _watching_builds(event):
    """The automation identity watches builds of the image's namespace: image_build waits."""
    ref = event.get("objectRef") or {}
    return (event.get("verb") == "watch" and ref.get("resource") == "builds"
            and ref.get("namespace") == APPS
            and (event.get("user") or {}).get("username") == AUTOMATION_USER)


def _running_build(objects):
    return any(o["metadata"].get("labels", {}).get("openshift.io/build-config.name") == IMAGE
               and (o.get("status") or {}).get("phase") not in ("Complete", None)
               for o in objects.values())


POINTS = [
    Point("operator install (OLM, CSV wait)",
          marker="TASK [rhods.gitops.rhods : Approve and await the operator",
          module="olm_operator"),
    Point("MinIO Deployment written, Secret not yet", api_version="apps/v1", kind="Deployment",
          namespace=MINIO, predicate=lambda objects: (MINIO, "minio") in objects),
    Point("MinIO root credentials Secret written", api_version="v1", kind="Secret",
          namespace=MINIO, predicate=lambda objects: (MINIO, "minio-root-user") in objects),
    Point("first data connection Secret written", api_version="v1", kind="Secret",
          predicate=_mine(CONNECTIONS)),
    Point("first workbench written", api_version="kubeflow.org/v1", kind="Notebook",
          predicate=_mine(WORKBENCHES)),
    Point("image build running", marker="TASK [rhods.gitops.custom_notebook : Build each image",
          module="image_build", audit=_watching_builds,
          api_version="build.openshift.io/v1", kind="Build", namespace=APPS,
          predicate=_running_build),
]
# In the run after the kills, where the running build is adopted again and may finish.
ADOPTED = Point("build adopted again", marker=POINTS[-1].marker, module="image_build",
                audit=_watching_builds, api_version="build.openshift.io/v1", kind="Build",
                namespace=APPS, predicate=_running_build)


def _cleanup(cluster, wait):
    cluster.kubectl("delete", "builds", "-n", APPS, "-l", "openshift.io/build-config.name=" + IMAGE,
                    "--ignore-not-found", check=False)
    cluster.kubectl("delete", "buildconfig,imagestream", IMAGE, "-n", APPS, "--ignore-not-found",
                    check=False)
    cluster.kubectl("delete", "namespace", MINIO, STATE, *PROJECTS, "--ignore-not-found",
                    "--wait=%s" % str(wait).lower(), "--timeout=300s", check=False)


def _secret_data(cluster, namespace, name):
    secret = get(cluster, "secret", name, namespace)
    if secret is None:
        return None
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def _connections(cluster):
    return {pair: _secret_data(cluster, *pair) for pair in sorted(CONNECTIONS)}


def _kill(cluster, dynamic, extra_vars, point, action=None):
    """site.yml with these variables, killed at ``point`` (or ``action`` done there)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="extra-vars-",
                                     delete=False) as handle:
        json.dump(with_own_applysets(SITE, extra_vars), handle)
        vars_file = handle.name
    try:
        os.chmod(vars_file, 0o600)
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                   "-i", "localhost,", "-e", "@" + vars_file, SITE]
        env = playbook_env(cluster.automation_kubeconfig, cluster.kube_bin)
        return KillRun(command, env, REPO_ROOT, point, dynamic, audit_log=cluster.audit_log,
                       action=action).run()
    finally:
        os.unlink(vars_file)


def _play(cluster, extra_vars):
    return run_playbook(SITE, extra_vars, kubeconfig=cluster.automation_kubeconfig,
                        kube_bin=cluster.kube_bin, timeout=1800)


def _api_client(cluster):
    """An admin ApiClient of its own (the front proxy closes connections left idle during a
    run; the session's shared client would reuse one)."""
    from kubernetes import config  # pylint: disable=import-outside-toplevel
    return config.new_client_from_config(config_file=cluster.kubeconfig)


def _simulator_reset(cluster, original):
    control = SimulatorControl(_api_client(cluster))
    control.original = original
    control.reset()


@pytest.fixture(scope="module")
def killed(cluster, s3server):
    from kubernetes import dynamic  # pylint: disable=import-outside-toplevel
    simulator = SimulatorControl(_api_client(cluster))
    client = dynamic.DynamicClient(_api_client(cluster))
    extra_vars = variables(s3server)
    mirror = SecretMirror(s3server, cluster.kubeconfig, namespace=MINIO, name=MINIO).start()
    _cleanup(cluster, wait=True)
    out = {"kills": [], "builds_at_kill": {}}
    try:
        simulator.set({"delays": {"build": BUILD_SECONDS}})
        for point in POINTS:
            result = _kill(cluster, client, extra_vars, point)
            out["kills"].append(result)
            if point.name.startswith("MinIO Deployment"):
                out["secret_after_deployment_kill"] = _secret_data(cluster, MINIO,
                                                                   "minio-root-user")
            if point.name.startswith("MinIO root"):
                out["credentials"] = _secret_data(cluster, MINIO, "minio-root-user")
            if point.name.startswith("first data connection"):
                out["connections_at_kill"] = {k: v for k, v in _connections(cluster).items()
                                              if v is not None}
            if point.name.startswith("first workbench"):
                out["connections"] = _connections(cluster)
            out["builds_at_kill"][point.name] = names(
                cluster, "builds", APPS, "openshift.io/build-config.name=" + IMAGE)

        def finish_build():
            _simulator_reset(cluster, simulator.original)
            cluster.kubectl("annotate", "builds", "-n", APPS, "--overwrite",
                            "-l", "openshift.io/build-config.name=" + IMAGE,
                            "localcluster.test/kill-points=finish", check=False)

        out["adopted"] = _kill(cluster, client, extra_vars, ADOPTED, action=finish_build)
        out["converged"] = PlaybookResult(rc=out["adopted"].rc, stdout=out["adopted"].stdout,
                                          stderr=out["adopted"].stderr,
                                          recap=parse_recap(out["adopted"].stdout),
                                          elapsed=out["adopted"].elapsed)
        out["again"] = _play(cluster, extra_vars)
        out["final_credentials"] = _secret_data(cluster, MINIO, "minio-root-user")
        out["final_connections"] = _connections(cluster)
        out["builds"] = names(cluster, "builds", APPS, "openshift.io/build-config.name=" + IMAGE)
        out["notebooks"] = {(ns, name): get(cluster, "notebook", name, ns)
                            for ns, name in sorted(WORKBENCHES)}
        # Where each kill landed, shown with a failure (pytest prints a fixture's output).
        for kill in out["kills"]:
            print("killed at %s after %.1f s in %s, groups %s" % (
                kill.point, kill.elapsed, kill.last_task.split("]")[0] + "]", sorted(kill.groups)))
        for key in ("converged", "again"):
            print("%s run: %.1f s, %s" % (key, out[key].elapsed, out[key].recap))
        yield out
    finally:
        _simulator_reset(cluster, simulator.original)
        mirror.stop()
        _cleanup(cluster, wait=False)


def test_every_point_killed_a_running_playbook_and_all_its_processes(killed):
    assert [k.point for k in killed["kills"]] == [p.name for p in POINTS]
    for point, kill in zip(POINTS, killed["kills"]):
        assert kill.fired, str(kill)
        assert kill.rc == -9, str(kill)
        assert "PLAY RECAP" not in kill.stdout, str(kill)
        # A task was running: its worker's process group (with the module) was killed too.
        assert len(kill.groups) >= 2, str(kill)
        assert kill.group_gone, str(kill)


def test_the_kills_landed_where_they_were_meant(killed):
    kills = {k.point: k for k in killed["kills"]}
    assert kills["operator install (OLM, CSV wait)"].last_task.startswith(
        "TASK [rhods.gitops.rhods : Approve and await the operator")
    # MinIO's manifests are applied before its Secret (rhods.gitops.deliver): killed between.
    assert killed["secret_after_deployment_kill"] is None
    assert set(killed["credentials"]) == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    assert killed["connections_at_kill"], "no data connection written before the kill"
    assert kills["image build running"].last_task.startswith(
        "TASK [rhods.gitops.custom_notebook : Build each image")


def test_the_rerun_converges(killed):
    converged = killed["converged"]
    assert converged.rc == 0 and converged.failed == 0, str(converged)
    for key, notebook in killed["notebooks"].items():
        assert notebook is not None, key
        assert (notebook.get("status") or {}).get("readyReplicas", 0) >= 1, key


def test_the_minio_root_credentials_never_changed(killed):
    assert killed["final_credentials"] == killed["credentials"]
    user, password = (killed["credentials"][k] for k in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"))
    for pair, data in killed["final_connections"].items():
        assert (data["AWS_ACCESS_KEY_ID"], data["AWS_SECRET_ACCESS_KEY"]) == (user, password), pair


def test_the_data_connections_are_the_ones_written_before_the_kills(killed):
    # Those written before the kill in the middle of them, then all three once a run got past.
    for pair, data in killed["connections_at_kill"].items():
        assert killed["final_connections"][pair] == data, pair
    assert all(v is not None for v in killed["connections"].values()), killed["connections"]
    assert killed["final_connections"] == killed["connections"]


def test_one_build_of_the_image(killed):
    # The run after the kills found the build running and waited for it (adopted it).
    assert killed["adopted"].fired, str(killed["adopted"])
    assert len(killed["builds"]) == 1, killed["builds"]
    # The build the kills interrupted is the one that completed.
    assert killed["builds_at_kill"]["image build running"] == killed["builds"]


def test_a_last_run_changes_nothing(killed):
    again = killed["again"]
    assert again.rc == 0, str(again)
    assert again.changed == 0, changed_tasks(again)
    assert "changed=0" in again.stdout
