"""The GitOps tree (module_utils/gitops_tree.py) and its git working copy (module_utils/git.py):
deterministic files, no Secret ever written, changed only when bytes differ, check mode, and
clone / commit / push / fast-forward against a real local bare repository."""

import os
import shutil
import subprocess

import pytest
import yaml

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.git import Git, GitError, scrub
from ansible_collections.rhods.gitops.plugins.module_utils.gitops_tree import (
    KUSTOMIZATION,
    TreeWriter,
    render_component,
    run_render_tree,
)

NAMESPACE = {"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": "minio", "annotations": {"argocd.argoproj.io/sync-wave": "0"}}}
SECRET = {"apiVersion": "v1", "kind": "Secret",
          "metadata": {"name": "minio-root-user", "namespace": "minio"},
          "data": {"MINIO_ROOT_PASSWORD": "c3VwZXItc2VjcmV0"},
          "stringData": {"clear": "super-secret"}}
DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "minio", "namespace": "minio", "uid": "x",
                           "resourceVersion": "7", "managedFields": [{"manager": "m"}]},
              "spec": {"replicas": 1, "template": {"spec": {"containers": [
                  {"name": "minio", "command": ["minio", "server"]}]}}},
              "status": {"replicas": 1}}
BUILD_CONFIG = {"apiVersion": "build.openshift.io/v1", "kind": "BuildConfig",
                "metadata": {"name": "lightgbm", "namespace": "apps"},
                "spec": {"source": {"type": "Dockerfile",
                                    "dockerfile": "FROM base\nRUN pip install x\n"}}}


def manifests():
    return [NAMESPACE, SECRET, DEPLOYMENT, BUILD_CONFIG]


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


# ------------------------------------------------------------------ rendering


def test_one_file_per_object_and_a_kustomization_in_the_order_given():
    rendered = render_component("minio", manifests())
    assert list(rendered.files) == ["namespace-minio.yaml", "deployment-minio.yaml",
                                    "buildconfig-lightgbm.yaml", KUSTOMIZATION]
    kustomization = yaml.safe_load(rendered.files[KUSTOMIZATION])
    assert kustomization == {"apiVersion": "kustomize.config.k8s.io/v1beta1",
                             "kind": "Kustomization",
                             "resources": ["namespace-minio.yaml", "deployment-minio.yaml",
                                           "buildconfig-lightgbm.yaml"]}


def test_secrets_are_never_written():
    rendered = render_component("minio", manifests())
    assert [str(r) for r in rendered.excluded] == ["Secret minio/minio-root-user"]
    everything = b"".join(rendered.files.values())
    assert b"Secret" not in everything
    assert b"c3VwZXItc2VjcmV0" not in everything and b"super-secret" not in everything


def test_status_and_server_bookkeeping_are_dropped():
    text = render_component("minio", [DEPLOYMENT]).files["deployment-minio.yaml"].decode()
    for word in ("status", "uid", "resourceVersion", "managedFields"):
        assert word not in text
    assert yaml.safe_load(text)["spec"]["replicas"] == 1


def test_output_is_deterministic_sorted_with_a_header_and_a_trailing_newline():
    first = render_component("minio", manifests()).files
    shuffled = dict(reversed(list(DEPLOYMENT.items())))
    second = render_component("minio", [NAMESPACE, SECRET, shuffled, BUILD_CONFIG]).files
    assert first == second
    text = first["deployment-minio.yaml"].decode()
    assert text.startswith("# Rendered by rhods.gitops (minio).")
    assert text.endswith("\n") and not text.endswith("\n\n")
    lines = text.splitlines()
    assert lines[1:5] == ["---", "apiVersion: apps/v1", "kind: Deployment", "metadata:"]


def test_multi_line_strings_are_literal_blocks():
    text = render_component("x", [BUILD_CONFIG]).files["buildconfig-lightgbm.yaml"].decode()
    assert "dockerfile: |\n      FROM base\n      RUN pip install x\n" in text
    assert yaml.safe_load(text)["spec"]["source"]["dockerfile"] == "FROM base\nRUN pip install x\n"


def test_same_kind_and_name_in_two_namespaces_get_the_namespace_in_the_file_name():
    one = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": "alice-admin", "namespace": "a"}}
    two = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": "alice-admin", "namespace": "b"}}
    assert list(render_component("dsp", [one, two]).files)[:2] == [
        "rolebinding-a-alice-admin.yaml", "rolebinding-b-alice-admin.yaml"]
    with pytest.raises(GitopsError, match="RoleBinding a/alice-admin occurs twice"):
        render_component("dsp", [one, one])


@pytest.mark.parametrize("bad, message", [
    ({"kind": "Namespace", "metadata": {"name": "x"}}, "has no apiVersion"),
    ({"apiVersion": "v1", "kind": "Namespace", "metadata": {}}, "has no metadata.name"),
    ("text", "is a str, not an object"),
])
def test_invalid_manifests_name_the_problem(bad, message):
    with pytest.raises(GitopsError, match=message):
        render_component("minio", [bad])


def test_component_names_are_folder_names():
    with pytest.raises(GitopsError, match="not a valid folder name"):
        render_component("../etc", [NAMESPACE])


# ------------------------------------------------------------------ writing


def test_writer_reports_changes_only_when_bytes_differ_and_removes_stale_files(tmp_path):
    writer = TreeWriter(str(tmp_path))
    first = writer.write(render_component("minio", manifests()))
    assert sorted(first["written"]) == sorted(
        ["namespace-minio.yaml", "deployment-minio.yaml", "buildconfig-lightgbm.yaml",
         KUSTOMIZATION])
    again = writer.write(render_component("minio", manifests()))
    assert again["written"] == [] and again["removed"] == []
    (tmp_path / "minio" / "README.md").write_text("kept: not YAML")
    fewer = writer.write(render_component("minio", [NAMESPACE]))
    assert sorted(fewer["removed"]) == ["buildconfig-lightgbm.yaml", "deployment-minio.yaml"]
    assert sorted(os.listdir(tmp_path / "minio")) == [
        "README.md", KUSTOMIZATION, "namespace-minio.yaml"]


def test_check_mode_writes_nothing_and_gives_diffs(tmp_path):
    writer = TreeWriter(str(tmp_path), check_mode=True)
    outcome = writer.write(render_component("minio", [NAMESPACE]))
    assert outcome["written"] == ["namespace-minio.yaml", KUSTOMIZATION]
    assert not (tmp_path / "minio").exists()
    assert outcome["diffs"][0]["before"] == "" and "kind: Namespace" in outcome["diffs"][0][
        "after"]


# ------------------------------------------------------------------ git


def params(tmp_path, items=None, **git_options):
    options = {"url": "file://" + str(tmp_path / "remote.git"), "branch": "main", "push": True,
               "create_local_remote": True}
    options.update(git_options)
    return {"component": "minio", "manifests": items if items is not None else manifests(),
            "dest": str(tmp_path / "work"), "path": "clusters/one", "git": options}


def test_clone_render_commit_push_then_nothing_to_do(tmp_path):
    first = run_render_tree(params(tmp_path))
    assert first["changed"] and first["committed"] and first["pushed"]
    assert first["path"] == "clusters/one/minio"
    remote = str(tmp_path / "remote.git")
    assert git("rev-parse", "refs/heads/main", cwd=remote) == first["revision"]
    assert git("symbolic-ref", "HEAD", cwd=remote) == "refs/heads/main"
    files = git("ls-tree", "-r", "--name-only", "main", cwd=remote).splitlines()
    assert "clusters/one/minio/kustomization.yaml" in files
    assert not any("secret" in f for f in files)
    again = run_render_tree(params(tmp_path))
    assert not again["changed"] and again["revision"] == first["revision"]
    assert again["git_actions"] == []


def test_fast_forwards_to_commits_pushed_elsewhere(tmp_path):
    first = run_render_tree(params(tmp_path))
    other = tmp_path / "other"
    git("clone", "-q", str(tmp_path / "remote.git"), str(other))
    (other / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=str(other))
    git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "readme", cwd=str(other))
    git("push", "-q", "origin", "main", cwd=str(other))
    changed = [NAMESPACE, DEPLOYMENT]
    second = run_render_tree(params(tmp_path, changed))
    assert "fast-forwarded" in second["git_actions"] and second["pushed"]
    log = git("log", "--format=%s", "main", cwd=str(tmp_path / "remote.git")).splitlines()
    assert log == ["rhods.gitops: render component minio", "readme",
                   "rhods.gitops: render component minio"]
    assert second["revision"] != first["revision"]


def test_diverged_branch_is_an_error_that_says_what_to_do(tmp_path):
    run_render_tree(params(tmp_path))
    run_render_tree(params(tmp_path, [NAMESPACE], push=False))  # a local commit, not pushed
    other = tmp_path / "other"
    git("clone", "-q", str(tmp_path / "remote.git"), str(other))
    (other / "x").write_text("x\n")
    git("add", "x", cwd=str(other))
    git("-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "x", cwd=str(other))
    git("push", "-q", "origin", "main", cwd=str(other))
    with pytest.raises(GitError, match="has diverged from origin/main"):
        run_render_tree(params(tmp_path, [NAMESPACE, DEPLOYMENT]))


def test_a_local_remote_removed_since_is_created_again_and_filled(tmp_path):
    first = run_render_tree(params(tmp_path))
    shutil.rmtree(tmp_path / "remote.git")
    again = run_render_tree(params(tmp_path))
    assert again["pushed"] and again["revision"] == first["revision"]
    assert git("rev-parse", "refs/heads/main", cwd=str(tmp_path / "remote.git")) == \
        first["revision"]


def test_a_working_copy_of_another_repository_is_refused(tmp_path):
    run_render_tree(params(tmp_path))
    with pytest.raises(GitError, match="is a working copy of"):
        run_render_tree(params(tmp_path, url="file://" + str(tmp_path / "elsewhere.git")))


def test_check_mode_clones_nothing(tmp_path):
    result = run_render_tree(params(tmp_path), check_mode=True)
    assert result["changed"] and result["revision"] is None
    assert not (tmp_path / "work").exists() and not (tmp_path / "remote.git").exists()


def test_credentials_reach_git_only_through_askpass(tmp_path):
    tool = Git(str(tmp_path), username="bot", password="t0ken-value")
    try:
        script = tool.env["GIT_ASKPASS"]
        assert "t0ken-value" not in open(script, encoding="utf-8").read()
        out = subprocess.run([script, "Password for 'https://bot@example.com': "],
                             env=tool.env, capture_output=True, text=True, check=True).stdout
        assert out == "t0ken-value\n"
        user = subprocess.run([script, "Username for 'https://example.com': "],
                              env=tool.env, capture_output=True, text=True, check=True).stdout
        assert user == "bot\n"
    finally:
        tool.close()
    assert not os.path.exists(os.path.dirname(script))


def test_errors_never_show_credentials():
    assert scrub("fatal: unable to access 'https://bot:t0ken@git.example.com/x.git'",
                 ["t0ken"]) == "fatal: unable to access 'https://<credentials>@git.example.com/x.git'"
    assert scrub("remote said t0ken", ["t0ken"]) == "remote said <redacted>"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_failing_git_command_is_named_without_credentials(tmp_path):
    with pytest.raises(GitError) as err:
        run_render_tree(params(tmp_path, url="https://bot:t0ken@127.0.0.1:9/x.git",
                               create_local_remote=False, password="t0ken"))
    assert err.value.msg.startswith("git clone --quiet https://<credentials>@127.0.0.1:9/x.git")
    assert "failed in" in err.value.msg
    assert "t0ken" not in err.value.msg
