"""The GitOps tree committed in gitops/default is exactly what the defaults render
(playbooks/render.yml, no cluster), byte for byte; it holds every component in the original
demo's sync-wave order, kustomize-ready, and no Secret. Also the rhods component's objects
(filter rhods_manifests), which must equal what the direct-delivery modules write."""

import filecmp
import json
import os
import subprocess
import sys

import pytest
import yaml

import ansible_collections.rhods.gitops  # noqa: F401  pylint: disable=unused-import
from ansible_collections.rhods.gitops.plugins.filter.gitops import (
    gitops_namespaces,
    rhods_manifests,
)
from ansible_collections.rhods.gitops.plugins.module_utils.olm import subscription_definition

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMMITTED = os.path.join(REPO_ROOT, "gitops", "default")
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "render.yml")
COMPONENTS = ["custom-notebook", "dsp", "minio", "rhods", "rhods-operator"]
WAVE = "argocd.argoproj.io/sync-wave"


def render(tmp_path, **variables):
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    collections = os.path.dirname(os.path.dirname(os.path.dirname(
        sys.modules["ansible_collections.rhods.gitops"].__path__[0])))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    for key in [k for k in env if k.startswith(("RHODS_GITOPS", "K8S_AUTH_"))]:
        del env[key]
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                          "-i", "localhost,", "-e", "@" + str(extra), PLAYBOOK],
                         env=env, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def tree(root):
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            out[os.path.relpath(path, root)] = path
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tree")
    render(tmp, rhods_gitops_render_dir=str(tmp / "out"))
    return str(tmp / "out")


def test_committed_tree_is_byte_for_byte_what_the_defaults_render(rendered):
    committed, fresh = tree(COMMITTED), tree(rendered)
    assert sorted(committed) == sorted(fresh), (
        "gitops/default differs from what the defaults render: run "
        "`ansible-playbook playbooks/render.yml` and commit the result")
    _match, mismatch, errors = filecmp.cmpfiles(COMMITTED, rendered, sorted(committed),
                                                shallow=False)
    assert mismatch == [] and errors == [], (
        "gitops/default differs from what the defaults render in %s: run "
        "`ansible-playbook playbooks/render.yml` and commit the result" % (mismatch + errors))


def test_one_kustomize_ready_folder_per_component():
    assert sorted(os.listdir(COMMITTED)) == COMPONENTS
    for component in COMPONENTS:
        folder = os.path.join(COMMITTED, component)
        with open(os.path.join(folder, "kustomization.yaml"), encoding="utf-8") as handle:
            kustomization = yaml.safe_load(handle)
        assert kustomization["kind"] == "Kustomization"
        assert sorted(kustomization["resources"] + ["kustomization.yaml"]) == sorted(
            os.listdir(folder))


def objects():
    out = {}
    for component in COMPONENTS:
        folder = os.path.join(COMMITTED, component)
        for name in sorted(os.listdir(folder)):
            if name != "kustomization.yaml":
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    obj = yaml.safe_load(handle)
                out[(component, obj["kind"], obj["metadata"]["name"])] = obj
    return out


def test_sync_waves_follow_the_original_demo():
    waves = {key: obj["metadata"]["annotations"].get(WAVE) for key, obj in objects().items()}
    assert waves == {
        ("rhods-operator", "Namespace", "redhat-ods-operator"): "0",
        ("rhods-operator", "OperatorGroup", "rhods"): "1",
        ("rhods-operator", "Subscription", "rhods-operator"): "1",
        # Alone in its Application, delivered once the operator is installed.
        ("rhods", "DataScienceCluster", "default-dsc"): None,
        ("minio", "Namespace", "minio"): "0",
        ("minio", "PersistentVolumeClaim", "minio"): "1",
        ("minio", "Deployment", "minio"): "1",
        ("minio", "Service", "minio"): "1",
        ("minio", "Route", "minio-console"): "1",
        ("minio", "Route", "minio-s3"): "1",
        ("dsp", "Namespace", "notebook-demo"): "0",
        ("custom-notebook", "ImageStream", "lightgbm"): "2",
        ("custom-notebook", "BuildConfig", "lightgbm"): "2",
        ("custom-notebook", "PersistentVolumeClaim", "demo-lightgbm-workbench"): "4",
        ("custom-notebook", "Notebook", "demo-lightgbm-workbench"): "4",
    }


def test_no_secret_and_no_secret_value_in_the_tree():
    for key, obj in objects().items():
        assert obj["kind"] != "Secret", key
        assert "data" not in obj and "stringData" not in obj, key
    for _rel, path in tree(COMMITTED).items():
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert "MINIO_ROOT_PASSWORD" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_variables_reach_the_tree(tmp_path):
    render(tmp_path, rhods_gitops_render_dir=str(tmp_path / "out"), minio_enabled=False,
           rhods_channel="fast", dsp_projects=[{"name": "team-a", "connections": []}])
    assert sorted(os.listdir(tmp_path / "out")) == [
        "custom-notebook", "dsp", "rhods", "rhods-operator"]
    with open(tmp_path / "out" / "rhods-operator" / "subscription-rhods-operator.yaml",
              encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["spec"]["channel"] == "fast"
    assert os.path.exists(tmp_path / "out" / "dsp" / "namespace-team-a.yaml")


# ------------------------------------------------------------------ the rhods component

SETTINGS = {"namespace": "redhat-ods-operator", "operator_group": "rhods",
            "package": "rhods-operator", "channel": "stable", "source": "redhat-operators",
            "source_namespace": "openshift-marketplace", "approval": "Automatic",
            "starting_csv": "", "config": {}, "dsc_name": "default-dsc",
            "dsc_api_version": "auto", "components": {"datasciencepipelines": "Managed"}}


def test_rhods_objects_are_those_of_direct_delivery_plus_their_waves():
    namespace, group, subscription, dsc = rhods_manifests(SETTINGS)
    assert namespace["metadata"]["labels"] == {"openshift.io/cluster-monitoring": "true"}
    assert group["spec"] == {}
    direct = subscription_definition("rhods-operator", "redhat-ods-operator", "rhods-operator",
                                     "stable", "redhat-operators", "openshift-marketplace",
                                     "Automatic")
    assert subscription["spec"] == direct["spec"]
    assert dsc["apiVersion"] == "datasciencecluster.opendatahub.io/v1"
    components = dsc["spec"]["components"]
    assert components["datasciencepipelines"] == {"managementState": "Managed"}
    assert components["dashboard"] == {"managementState": "Managed"}
    assert components["kserve"] == {"managementState": "Removed"}
    assert [o["metadata"]["annotations"][WAVE] for o in (namespace, group, subscription)] \
        == ["0", "1", "1"]
    assert "annotations" not in dsc["metadata"]


def test_rhods_v2_and_unknown_components():
    dsc = rhods_manifests(dict(SETTINGS, dsc_api_version="v2", components={}))[3]
    assert dsc["apiVersion"] == "datasciencecluster.opendatahub.io/v2"
    assert "aipipelines" in dsc["spec"]["components"]
    with pytest.raises(Exception, match="not part of this DataScienceCluster version"):
        rhods_manifests(dict(SETTINGS, components={"nope": "Managed"}))


def test_namespaces_of_a_component_in_order():
    assert gitops_namespaces(rhods_manifests(SETTINGS)) == ["redhat-ods-operator"]
    assert gitops_namespaces([{"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "s", "namespace": "b"}},
                              {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "a"}},
                              {"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "t", "namespace": "b"}}]) == ["b", "a"]
