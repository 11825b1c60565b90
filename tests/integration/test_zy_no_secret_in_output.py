"""No secret in any output (issue 13, hardening).

The site runs in both delivery modes (direct, then gitops), each followed by the credentials
report (``show_secrets`` false) and teardown, every run at ``-vvv --diff``, on namespaces and
a state namespace of its own. Each secret variable gets a unique, hostile-looking value (quotes,
a shell substitution, spaces, a slash and a unicode letter around a random marker); the
generated ones (MinIO's root credentials in direct mode, the Argo CD admin password) and the
automation identity's bearer token are read from the cluster. Then every value is searched for,
raw, JSON-escaped, base64 and base64 of base64 (a Secret's data written through YAML), and its
random marker alone, in:

- the stdout and stderr of every run;
- every file under the runs' HOME (``~/.ansible``), ANSIBLE_LOCAL_TEMP, ANSIBLE_REMOTE_TEMP and
  TMPDIR, all pointed into this test's temporary directory (keep-remote-files off), the gitops
  render worktree and the bare repository Argo CD syncs from;
- every object of every git repository there (``git cat-file --batch-all-objects``: the history,
  unreachable objects included, decompressed);
- every file of the source tree written during the runs.

Named to run just before test_zz_teardown: its teardowns remove the DataScienceCluster and the
shared image builds, which test_zz_teardown's first site run brings back. Runs as the automation
identity; needs the simulator for gitops delivery.
"""

# pytest fixtures are arguments named like the fixture functions:
# pylint: disable=redefined-outer-name

import base64
import json
import os
import secrets
import subprocess
import time

import pytest

from tests.quality.tools import kubeconfig_credential

from .ansible import REPO_ROOT
from .site import CREDENTIALS, SITE, TEARDOWN, get, play

MODES = ("direct", "gitops")
RUNS = (("site", SITE), ("credentials", CREDENTIALS), ("teardown", TEARDOWN))


def hostile(label, marker):
    """A value no output contains by accident: the marker between hostile characters."""
    return "h13'%s\" $(id) `x` %s/+= \u00e9;" % (label, marker)


def mode_vars(mode, tmp, chosen):
    """The variables of one mode: its own namespaces, state namespace and secret values."""
    mark = {key: secrets.token_hex(8) for key in ("s3_access", "s3_secret", "env", "user",
                                                  "password", "git")}
    project, minio = "h13-%s" % mode, "h13-%s-minio" % mode
    out = {
        "rhods_gitops_state_namespace": "rhods-gitops-t-h13-%s" % mode,
        "minio_namespace": minio, "dsp_minio_namespace": minio,
        "minio_create_buckets": False, "dsp_verify_connections": "never",
        "rhods_operator_secret_env": {"H13_PROXY_PASSWORD": hostile("env", mark["env"])},
        "dsp_projects": [{"name": project, "connections": [
            {"name": "minio", "type": "minio", "bucket": "notebook-demo"},
            {"name": "external", "type": "s3", "endpoint": "https://s3.example.com",
             "bucket": "h13-external", "access_key": "AKIA" + mark["s3_access"].upper(),
             "secret_key": hostile("s3", mark["s3_secret"])}]}],
        "custom_notebook_workbenches": [
            {"name": "h13-workbench", "namespace": project, "image": "lightgbm:3.3.5",
             "size": "Small", "storage_size": "1Gi",
             "data_connections": ["aws-connection-minio", "aws-connection-external"]}],
    }
    chosen.update({"s3 access key": (out["dsp_projects"][0]["connections"][1]["access_key"],
                                     mark["s3_access"]),
                   "s3 secret key": (out["dsp_projects"][0]["connections"][1]["secret_key"],
                                     mark["s3_secret"]),
                   "operator env": (out["rhods_operator_secret_env"]["H13_PROXY_PASSWORD"],
                                    mark["env"])})
    if mode == "gitops":
        out.update(minio_root_user="h13user" + mark["user"],
                   minio_root_password=hostile("minio", mark["password"]),
                   rhods_gitops_delivery="gitops",
                   rhods_gitops_repo_url="file://%s/cluster-config.git" % tmp,
                   rhods_gitops_render_dir="%s/worktree" % tmp,
                   rhods_gitops_git_username="h13-git-user",
                   rhods_gitops_git_password=hostile("git", mark["git"]))
        chosen.update({"minio root user": (out["minio_root_user"], mark["user"]),
                       "minio root password": (out["minio_root_password"], mark["password"]),
                       "git password": (out["rhods_gitops_git_password"], mark["git"])})
    return out


def cluster_secrets(cluster, variables):
    """Decoded values of the Secrets the site wrote (generated ones included)."""
    out = {}
    project = variables["dsp_projects"][0]["name"]
    for namespace, name in ((variables["minio_namespace"], "minio-root-user"),
                            (project, "aws-connection-minio"),
                            (project, "aws-connection-external"),
                            ("redhat-ods-operator", "rhods-operator-env"),
                            ("openshift-gitops", "rhods-gitops-repository"),
                            ("openshift-gitops", "openshift-gitops-cluster")):
        for key, value in ((get(cluster, "secret", name, namespace) or {}).get("data")
                           or {}).items():
            if key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "AWS_ACCESS_KEY_ID",
                       "AWS_SECRET_ACCESS_KEY", "H13_PROXY_PASSWORD", "password",
                       "admin.password"):
                out["%s/%s %s" % (namespace, name, key)] = base64.b64decode(value).decode()
    return out


def playbook_env(tmp):
    home = tmp / "home"
    env = {"HOME": str(home), "TMPDIR": str(tmp / "tmp"),
           "ANSIBLE_LOCAL_TEMP": str(home / ".ansible" / "tmp"),
           "ANSIBLE_REMOTE_TEMP": str(tmp / "remote-tmp"), "ANSIBLE_KEEP_REMOTE_FILES": "false"}
    for path in (env["TMPDIR"], env["ANSIBLE_LOCAL_TEMP"], env["ANSIBLE_REMOTE_TEMP"]):
        os.makedirs(path, exist_ok=True)
    return env


@pytest.fixture(scope="module")
def runs(cluster, kube_client, tmp_path_factory):  # pylint: disable=unused-argument
    if not cluster.state_dir:
        pytest.skip("gitops delivery from a local repository needs the local control plane")
    root = tmp_path_factory.mktemp("no-secret")
    state = {"root": root, "started": time.time(), "results": {}, "values": {}, "elapsed": 0.0,
             "env": playbook_env(root)}
    try:
        for mode in MODES:
            chosen = {}
            variables = mode_vars(mode, root, chosen)
            state["values"].update({"%s %s" % (mode, k): v for k, v in chosen.items()})
            for name, playbook in RUNS:
                res = play(cluster, playbook, variables, verbosity=3, diff=True,
                           extra_env=state["env"])
                state["results"]["%s %s" % (mode, name)] = res
                state["elapsed"] += res.elapsed
                if name == "site" and res.rc == 0:
                    found = cluster_secrets(cluster, variables)
                    state.setdefault("in cluster", {}).update(
                        {"%s %s" % (mode, k): v for k, v in found.items()})
                if res.rc != 0:
                    break
        print("\nno-secret runs: %.0f s of ansible-playbook (%s)" % (state["elapsed"], ", ".join(
            "%s %.0f s" % (name, res.elapsed) for name, res in state["results"].items())))
        yield state
    finally:
        cluster.kubectl("delete", "secret", "rhods-gitops-repository", "-n", "openshift-gitops",
                        "--ignore-not-found", check=False)


def forms(value, marker=None):
    """The ways a value can show: raw, escaped, base64, base64 of base64, its marker."""
    raw = value.encode()
    once = base64.b64encode(raw)
    out = {"raw": raw, "json": json.dumps(value)[1:-1].encode(),
           "json-utf8": json.dumps(value, ensure_ascii=False)[1:-1].encode(),
           "base64": once, "base64 of base64": base64.b64encode(once)}
    if marker:
        out["marker"] = marker.encode()
    return out


def haystacks(state):
    """(where, bytes) of every output, file and git object the runs could have written."""
    for name, res in state["results"].items():
        yield "output of " + name, res.output.encode()
    trees = [(str(state["root"]), False), (REPO_ROOT, True)]
    for top, only_new in trees:
        for folder, dirs, files in os.walk(top):
            if os.path.join(folder, ".git") == os.path.join(REPO_ROOT, ".git"):
                dirs[:] = [d for d in dirs if d != ".git"]
            if os.path.isfile(os.path.join(folder, "HEAD")) and \
                    os.path.isdir(os.path.join(folder, "objects")):
                yield "git objects of " + folder, subprocess.run(
                    ["git", "--git-dir", folder, "cat-file", "--batch-all-objects", "--batch"],
                    capture_output=True, check=True).stdout
            for name in files:
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                if only_new and os.path.getmtime(path) < state["started"]:
                    continue
                with open(path, "rb") as handle:
                    yield path, handle.read()


def search(state, values):
    """{secret: [(form, where)]} for every form of every value found anywhere."""
    found = {}
    for where, data in haystacks(state):
        for label, (value, marker) in values.items():
            for form, needle in forms(value, marker).items():
                if needle and needle in data:
                    found.setdefault(label, []).append((form, where))
    return found


def every_secret(cluster, state, tmp_path):
    values = dict(state["values"])
    for label, value in state.get("in cluster", {}).items():
        values["cluster " + label] = (value, None)
    token = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))["api_key"]
    values["automation bearer token"] = (token, None)
    return values


@pytest.mark.parametrize("mode", MODES)
def test_site_credentials_and_teardown_run_in_both_modes(runs, mode):
    for name, _ in RUNS:
        res = runs["results"].get("%s %s" % (mode, name))
        assert res is not None and res.rc == 0, "%s %s: %s" % (mode, name, res)


def test_the_chosen_secrets_reached_the_cluster(runs):
    """The values searched for are the ones the cluster holds: the search is not vacuous."""
    stored = set(runs.get("in cluster", {}).values())
    missing = [label for label, (value, _) in runs["values"].items() if value not in stored]
    assert missing == [], "never stored: %s (stored: %s)" % (missing, sorted(runs["in cluster"]))
    generated = [k for k in runs["in cluster"] if k.startswith("direct ") and "MINIO_ROOT" in k]
    assert len(generated) == 2 and any("admin.password" in k for k in runs["in cluster"])


def test_no_secret_value_in_any_output_file_or_git_object(cluster, runs, tmp_path):
    values = every_secret(cluster, runs, tmp_path)
    assert len(values) >= 15, sorted(values)
    assert search(runs, values) == {}


def test_the_search_finds_a_planted_value(cluster, runs, tmp_path):
    """The same search, with one value planted as base64 of base64 in the runs' HOME."""
    planted = runs["root"] / "home" / ".ansible" / "planted"
    value = hostile("planted", secrets.token_hex(8))
    planted.write_bytes(forms(value)["base64 of base64"])
    try:
        found = search(runs, {"planted": (value, None)})
    finally:
        planted.unlink()
    assert found == {"planted": [("base64 of base64", str(planted))]}
    assert every_secret(cluster, runs, tmp_path)["automation bearer token"][0]
