"""The custom_notebook role's templates, rendered without a cluster (tasks/render.yml)."""

import json
import os
import subprocess
import sys

import pytest

import ansible_collections.rhods.gitops  # noqa: F401  pylint: disable=unused-import

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOK = os.path.join(HERE, "playbooks", "custom_notebook_render.yml")


def render(tmp_path, **variables):
    out = tmp_path / "manifests.json"
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(variables, out=str(out))))
    collections = os.path.dirname(os.path.dirname(os.path.dirname(
        sys.modules["ansible_collections.rhods.gitops"].__path__[0])))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          "-i", "localhost,", "-e", "@" + str(extra), PLAYBOOK],
                         env=env, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def defaults(tmp_path_factory):
    return render(tmp_path_factory.mktemp("render"))


def by_kind(manifests, kind):
    return [m for m in manifests if m["kind"] == kind]


def test_default_objects_in_sync_wave_order(defaults):
    assert [(m["kind"], m["metadata"]["name"]) for m in defaults] == [
        ("ImageStream", "lightgbm"), ("BuildConfig", "lightgbm"),
        ("PersistentVolumeClaim", "demo-lightgbm-workbench"),
        ("Notebook", "demo-lightgbm-workbench")]
    waves = [m["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] for m in defaults]
    assert waves == ["2", "2", "4", "4"]


def test_the_buildconfig_builds_from_the_rhods_base_with_an_inline_containerfile(defaults):
    bc = by_kind(defaults, "BuildConfig")[0]
    assert bc["metadata"]["namespace"] == "redhat-ods-applications"
    spec = bc["spec"]
    assert spec["strategy"]["dockerStrategy"]["from"] == {
        "kind": "ImageStreamTag", "name": "s2i-generic-data-science-notebook:2025.2",
        "namespace": "redhat-ods-applications"}
    assert spec["triggers"] == [{"type": "ImageChange", "imageChange": {}}]
    assert spec["runPolicy"] == "Serial"
    assert spec["output"]["to"] == {"kind": "ImageStreamTag", "name": "lightgbm:3.3.5"}
    dockerfile = spec["source"]["dockerfile"]
    assert spec["source"]["type"] == "Dockerfile"
    assert "python3 -m pip install --no-cache-dir --no-deps --require-hashes" in dockerfile
    assert "'lightgbm==3.3.5 \\' \\" in dockerfile
    assert "--hash=sha256:044f65664c1a32c98cb619bafa97d8cd9d93c2c2d5053376aadfe509a3a3e7fa" in \
        dockerfile
    assert "python3 -c 'import lightgbm'" in dockerfile
    assert "python3.9" not in dockerfile and "/opt/app-root/lib/python" not in dockerfile


def test_the_containerfile_writes_the_lock_pip_can_read(defaults):
    """Run the printf line of the Containerfile and check what pip would read."""
    dockerfile = by_kind(defaults, "BuildConfig")[0]["spec"]["source"]["dockerfile"]
    start = dockerfile.index("RUN printf") + len("RUN ")
    command = dockerfile[start:dockerfile.index("> /tmp/requirements.txt")]
    command = command.replace("\\\n", " ")  # the Containerfile's line continuations
    text = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                          check=True).stdout
    assert text.splitlines() == [
        "lightgbm==3.3.5 \\",
        "--hash=sha256:044f65664c1a32c98cb619bafa97d8cd9d93c2c2d5053376aadfe509a3a3e7fa \\",
        "--hash=sha256:10b8fbdcf851e4f68a1f02f38d99bdc44c7c7fb9b1a62dcf924a0d29ff73395c"]


def test_the_imagestream_is_listed_by_the_dashboard(defaults):
    stream = by_kind(defaults, "ImageStream")[0]
    assert stream["metadata"]["labels"] == {"opendatahub.io/notebook-image": "true",
                                            "opendatahub.io/dashboard": "true"}
    annotations = stream["metadata"]["annotations"]
    assert annotations["opendatahub.io/notebook-image-name"] == "LightGBM"
    assert annotations["opendatahub.io/notebook-image-order"] == "100"
    tag = stream["spec"]["tags"][0]
    assert tag["name"] == "3.3.5"
    assert json.loads(tag["annotations"]["opendatahub.io/notebook-python-dependencies"]) == \
        [{"name": "LightGBM", "version": "3.3.5"}]
    assert tag["annotations"]["opendatahub.io/workbench-image-recommended"] == "true"
    assert stream["spec"]["lookupPolicy"] == {"local": True}


def test_the_notebook_is_what_the_dashboard_writes_plus_shm(defaults):
    notebook = by_kind(defaults, "Notebook")[0]
    pod = notebook["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["demo-lightgbm-workbench"]
    main = pod["containers"][0]
    assert main["envFrom"] == [{"secretRef": {"name": "aws-connection-minio"}}]
    assert {m["mountPath"]: m["name"] for m in main["volumeMounts"]} == {
        "/opt/app-root/src": "demo-lightgbm-workbench", "/dev/shm": "shm"}
    assert pod["volumes"][1] == {"name": "shm", "emptyDir": {"medium": "Memory",
                                                             "sizeLimit": "2Gi"}}
    assert main["ports"] == [{"name": "notebook-port", "containerPort": 8888, "protocol": "TCP"}]
    assert "kubeflow-resource-stopped" not in notebook["metadata"]["annotations"]
    pvc = by_kind(defaults, "PersistentVolumeClaim")[0]
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert "storageClassName" not in pvc["spec"]


def test_sources_access_stopped_and_owner(tmp_path):
    images = [
        {"name": "from-git", "tag": "1", "source": {"type": "git", "uri": "https://git/x.git",
                                                    "ref": "main", "context_dir": "img"}},
        {"name": "from-dir", "tag": "2", "base_tag": "2024.2",
         "source": {"type": "binary", "dir": "/tmp/x"}},
    ]
    workbenches = [{"name": "wb", "namespace": "team", "image": "from-git:1", "size": "Medium",
                    "stopped": True, "owner": "alice", "storage_class": "fast",
                    "access": {"users": ["alice"], "groups": ["team-a"]}}]
    manifests = render(tmp_path, custom_notebook_images=images,
                       custom_notebook_workbenches=workbenches)
    git, binary = by_kind(manifests, "BuildConfig")
    assert git["spec"]["source"] == {"type": "Git", "git": {"uri": "https://git/x.git",
                                                            "ref": "main"}, "contextDir": "img"}
    assert git["spec"]["strategy"]["dockerStrategy"]["dockerfilePath"] == "Containerfile"
    assert binary["spec"]["source"] == {"type": "Binary", "binary": {}}
    assert binary["spec"]["triggers"] == []
    assert binary["spec"]["strategy"]["dockerStrategy"]["from"]["name"] == \
        "s2i-generic-data-science-notebook:2024.2"
    role = by_kind(manifests, "Role")[0]
    assert role["rules"] == [{"apiGroups": ["kubeflow.org"], "resources": ["notebooks"],
                              "resourceNames": ["wb"], "verbs": ["get"]}]
    binding = by_kind(manifests, "RoleBinding")[0]
    assert [(s["kind"], s["name"]) for s in binding["subjects"]] == [("User", "alice"),
                                                                     ("Group", "team-a")]
    notebook = by_kind(manifests, "Notebook")[0]
    assert "kubeflow-resource-stopped" in notebook["metadata"]["annotations"]
    assert notebook["metadata"]["labels"]["opendatahub.io/user"] == "alice"
    assert notebook["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == \
        {"cpu": "6", "memory": "24Gi"}
    assert "envFrom" not in notebook["spec"]["template"]["spec"]["containers"][0]
    pvc = by_kind(manifests, "PersistentVolumeClaim")[0]
    assert pvc["spec"]["storageClassName"] == "fast"
    kinds = [m["kind"] for m in manifests]
    assert kinds.index("PersistentVolumeClaim") < kinds.index("Role") < kinds.index("Notebook")
