"""What leaves the variables leaves the cluster, the same in both delivery modes.

One sequence of variables (add, change, remove: projects, data connections, access, images,
workbenches, then everything with removal of data asked for) runs first with direct delivery,
then from a clean slate with GitOps delivery (the real Argo CD syncing from a repository in a
temporary directory). After every step the objects the collection owns in the test's
namespaces (label ``rhods.gitops/component``) are read: both modes leave the same set, with the
same content. Kept user data (a removed workbench's PVC, a removed project's namespace) is part
of the set and is announced by the run, in both modes.

The one difference allowed is written down and asserted exactly: with GitOps delivery a
changed workbench size reaches the Notebook's labels but not its container resources (the
Application ignores the containers to keep the injected oauth-proxy; docs/gitops.md "Known
limits", issue 12 item 8). When that limit is lifted the assertion fails and must go.
"""

import copy
import json

import pytest

from .site import APPS, SITE, play
# objects: test_gitops's fixture (skips where no simulator runs Argo CD against a local repository)
from .test_gitops import (  # noqa: F401  pylint: disable=unused-import
    DEMO_VARS, content, objects, release_applications)

PLAYBOOK = "projects_sequence.yml"
PROJECTS = ("seq-alpha", "seq-beta")
IMAGE = "seq-tools"
STATE = "rhods-gitops-t-sequence"
KINDS = [("v1", "Namespace"), ("v1", "Secret"), ("v1", "PersistentVolumeClaim"),
         ("kubeflow.org/v1", "Notebook"), ("rbac.authorization.k8s.io/v1", "Role"),
         ("rbac.authorization.k8s.io/v1", "RoleBinding"),
         ("image.openshift.io/v1", "ImageStream"), ("build.openshift.io/v1", "BuildConfig")]
OWNED = "rhods.gitops/component"
EXTERNAL = {"name": "archive", "display_name": "Archive", "type": "s3",
            "endpoint": "https://s3.example.com", "region": "us-east-1", "bucket": "archive",
            "access_key": "AKIASEQUENCE", "secret_key": "sequence-secret-key"}


def lightgbm():
    """The default image (the workbenches use it; other tests built it already)."""
    return {"name": "lightgbm", "tag": "3.3.5", "display_name": "LightGBM",
            "requirements": ("lightgbm==3.3.5 \\\n"
                             "    --hash=sha256:044f65664c1a32c98cb619bafa97d8cd9d93c2c2d5053376"
                             "aadfe509a3a3e7fa\n"),
            "python_imports": ["lightgbm"]}


def workbench(name, namespace, **extra):
    return dict({"name": name, "namespace": namespace, "image": "lightgbm:3.3.5",
                 "size": "Small", "storage_size": "1Gi"}, **extra)


def steps():
    """(name, variables) of the sequence, each step a whole set of variables."""
    add = {
        "dsp_projects": [{"name": "seq-alpha", "display_name": "Sequence Alpha",
                          "access": [{"role": "edit", "users": ["ann"]},
                                     {"role": "view", "groups": ["auditors"]}],
                          "connections": [{"name": "data", "type": "minio", "bucket": "seq-alpha"},
                                          dict(EXTERNAL)]}],
        "custom_notebook_images": [lightgbm(), dict(lightgbm(), name=IMAGE, tag="1.0",
                                                    display_name="Sequence tools")],
        "custom_notebook_workbenches": [
            workbench("wb-one", "seq-alpha", data_connections=["aws-connection-data"],
                      access={"users": ["ann"]}),
            workbench("wb-two", "seq-alpha", image=IMAGE + ":1.0")],
    }
    change = copy.deepcopy(add)
    alpha = change["dsp_projects"][0]
    alpha["display_name"] = "Sequence Alpha (renamed)"
    alpha["access"] = [{"role": "edit", "users": ["bob"]}]           # ann and auditors leave
    alpha["connections"] = alpha["connections"][:1]                 # archive leaves
    change["dsp_projects"].append({"name": "seq-beta", "connections": [
        {"name": "data", "type": "minio", "bucket": "seq-beta"}]})
    change["custom_notebook_workbenches"] = [
        workbench("wb-one", "seq-alpha", size="Medium", data_connections=["aws-connection-data"],
                  access={"users": ["bob"]}),
        workbench("wb-three", "seq-beta", data_connections=["aws-connection-data"])]  # wb-two leaves
    remove = copy.deepcopy(change)
    remove["dsp_projects"] = remove["dsp_projects"][1:]             # seq-alpha leaves
    remove["custom_notebook_images"] = [lightgbm()]                 # the extra image leaves
    remove["custom_notebook_workbenches"] = remove["custom_notebook_workbenches"][1:]
    purge = {"dsp_projects": [], "custom_notebook_images": [lightgbm()],
             "custom_notebook_workbenches": [], "rhods_gitops_delete_data": True}
    return [("add", add), ("change", change), ("remove", remove), ("purge", purge)]


def owned(objects):
    """{(apiVersion, kind, namespace, name): content} of what the collection owns here."""
    out = {}
    for api_version, kind in KINDS:
        if kind == "Namespace":
            found = [o for o in objects.list(api_version, kind, selector=OWNED)
                     if o["metadata"]["name"] in PROJECTS]
        else:
            found = []
            for namespace in PROJECTS + (APPS,):
                found += objects.list(api_version, kind, namespace, selector=OWNED)
            found = [o for o in found if o["metadata"]["namespace"] != APPS or
                     o["metadata"]["name"] == IMAGE]
        for obj in found:
            meta = obj["metadata"]
            if meta.get("deletionTimestamp"):
                continue
            body = content(obj)
            # What controllers write, not delivery: the notebook controller's activity stamp,
            # the volume the binder chose, the image a build trigger last fired for.
            body["annotations"].pop("notebooks.kubeflow.org/last-activity", None)
            if kind == "PersistentVolumeClaim":
                body["spec"].pop("volumeName", None)
            if kind == "BuildConfig":
                for trigger in body["spec"].get("triggers") or []:
                    (trigger.get("imageChange") or {}).pop("lastTriggeredImageID", None)
            body.update({key: obj.get(key) for key in ("subjects", "roleRef", "rules")})
            out[(api_version, kind, meta.get("namespace"), meta["name"])] = body
    return out


# Who may do what in the first project, asked of the API server (SubjectAccessReview through
# kubectl auth can-i) after every step.
PROBES = [("ann", [], "get", "notebooks", "wb-one"), ("bob", [], "get", "notebooks", "wb-one"),
          ("ann", [], "list", "secrets", ""), ("bob", [], "list", "secrets", ""),
          ("carol", ["auditors"], "list", "notebooks", "")]


def allowed(cluster):
    out = {}
    for user, groups, verb, resource, name in PROBES:
        args = ["auth", "can-i", verb, resource + ("/" + name if name else ""), "-n",
                "seq-alpha", "--as", user]
        for group in groups:
            args += ["--as-group", group]
        out[(user, verb, resource, name)] = cluster.kubectl(*args, check=False).stdout.strip()
    return out


def resources(notebook_content):
    return [c.get("resources") for c in notebook_content["spec"]["template"]["spec"]["containers"]]


def wait_gone(cluster):
    cluster.kubectl("delete", "namespace", *PROJECTS, "--ignore-not-found", "--wait=true",
                    "--timeout=300s", check=False)


@pytest.fixture(scope="module")
def walked(cluster, objects, tmp_path_factory):
    """Both modes through the whole sequence: {mode: [(step, run, owned objects, access)]}."""
    base = play(cluster, SITE, DEMO_VARS)  # OpenShift AI, MinIO and Argo CD as site.yml leaves them
    assert base.rc == 0, str(base)
    tmp = tmp_path_factory.mktemp("sequence")
    modes = {"direct": {},
             "gitops": {"rhods_gitops_delivery": "gitops",
                        "rhods_gitops_repo_url": "file://" + str(tmp / "config.git"),
                        "rhods_gitops_render_dir": str(tmp / "worktree")}}
    walk = {}
    wait_gone(cluster)
    try:
        for mode, extra in modes.items():
            walk[mode] = []
            for name, variables in steps():
                run = play(cluster, PLAYBOOK, dict(DEMO_VARS, rhods_gitops_state_namespace=STATE,
                                                   **dict(variables, **extra)))
                walk[mode].append((name, run, owned(objects), allowed(cluster)))
                if run.rc != 0:
                    break
            if mode == "gitops":
                release_applications(objects)
            wait_gone(cluster)
    finally:
        release_applications(objects)
        wait_gone(cluster)
        cluster.kubectl("delete", "namespace", STATE, "--ignore-not-found", "--wait=false",
                        check=False)
    return walk


def test_every_step_converges_in_both_modes(walked):
    for mode, runs in walked.items():
        assert [r[0] for r in runs] == [name for name, _vars in steps()], mode
        for name, run, _owned, _access in runs:
            assert run.rc == 0, "{0} {1}: {2}".format(mode, name, run)


@pytest.mark.parametrize("step", [name for name, _vars in steps()])
def test_both_modes_leave_the_same_objects_after_each_step(walked, step):
    [(_, _, direct, direct_access)] = [r for r in walked["direct"] if r[0] == step]
    [(_, _, gitops, gitops_access)] = [r for r in walked["gitops"] if r[0] == step]
    assert sorted(direct) == sorted(gitops)
    assert direct_access == gitops_access
    for ident in sorted(direct):
        want, got = direct[ident], gitops[ident]
        if ident[1] == "Notebook" and resources(want) != resources(got):
            # The known limit (module docstring): only the resources differ, and direct
            # delivery carries the variables' size.
            assert step == "change" and ident[3] == "wb-one", ident
            assert {k: v for k, v in want.items() if k != "spec"} == \
                {k: v for k, v in got.items() if k != "spec"}
            continue
        assert want == got, ident


def test_the_sequence_adds_changes_removes_and_keeps_user_data(walked):
    runs = {name: (run, found) for name, run, found, _access in walked["direct"]}
    idents = {name: {(i[1], i[2], i[3]) for i in found} for name, (_run, found) in runs.items()}
    add, change, remove, purge = (idents[n] for n in ("add", "change", "remove", "purge"))
    assert {("Secret", "seq-alpha", "aws-connection-archive"),
            ("Notebook", "seq-alpha", "wb-two"), ("ImageStream", APPS, IMAGE)} <= add
    # change: archive, wb-two and the removed access left; wb-two's storage stayed.
    assert ("Secret", "seq-alpha", "aws-connection-archive") not in change
    assert ("Notebook", "seq-alpha", "wb-two") not in change
    assert ("PersistentVolumeClaim", "seq-alpha", "wb-two") in change
    assert ("Namespace", None, "seq-beta") in change and ("Notebook", "seq-beta", "wb-three") in change
    assert len([i for i in change if i[0] == "RoleBinding" and i[1] == "seq-alpha"]) < \
        len([i for i in add if i[0] == "RoleBinding" and i[1] == "seq-alpha"])
    # remove: the project's connections, workbench and access go; its namespace and the
    # workbenches' storage stay, and the run says so.
    assert not {i for i in remove if i[1] == "seq-alpha" and i[0] in ("Secret", "Notebook")}
    assert ("Namespace", None, "seq-alpha") in remove
    assert ("PersistentVolumeClaim", "seq-alpha", "wb-one") in remove
    assert ("ImageStream", APPS, IMAGE) not in remove
    run = runs["remove"][0]
    assert "kept Namespace seq-alpha" in run.output, str(run)
    # purge (removal of data asked for): nothing of the sequence is left.
    assert purge == set(), purge


def test_access_follows_the_variables(walked):
    """ann (edit, workbench access) and the auditors group (view) are granted, then removed in
    the change step; bob takes their place. The API server answers (SubjectAccessReview)."""
    access = {name: found for name, _run, _owned, found in walked["direct"]}
    assert access["add"][("ann", "get", "notebooks", "wb-one")] == "yes"
    assert access["add"][("carol", "list", "notebooks", "")] == "yes"
    assert access["add"][("bob", "list", "secrets", "")] == "no"
    assert access["change"][("ann", "get", "notebooks", "wb-one")] == "no"
    assert access["change"][("ann", "list", "secrets", "")] == "no"
    assert access["change"][("carol", "list", "notebooks", "")] == "no"
    assert access["change"][("bob", "get", "notebooks", "wb-one")] == "yes"
    # The project removed: its access goes (the namespace and its storage stay).
    assert access["remove"][("bob", "list", "secrets", "")] == "no"
