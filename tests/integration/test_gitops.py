"""GitOps delivery end to end, against the local control plane, whose real Argo CD (started by
the simulated GitOps operator) syncs from a git repository on this machine (a bare repository in a
temporary directory).

The module fixture converges the site in direct mode first (what the other tests leave behind,
or a fresh install), then runs it in gitops mode on the same cluster: the switch adopts the
existing objects. Then:

- every component is delivered by its own Application, Synced at the pushed commit and Healthy;
- the objects are the same ones (same uid), with the same content as direct delivery, the MinIO
  credentials and the built image unchanged, no new build;
- a second gitops run prints changed=0;
- the tree in git holds no Secret and no secret value (in any commit);
- an object deleted by hand comes back (self-heal) and the playbook reports it healthy;
- a broken manifest fails the sync, the playbook fails naming the resource, and the next good
  run repairs it;
- afterwards the Applications are removed without cascading and Argo CD's ownership of the
  objects is released, so direct delivery works again (the other tests rely on it).

Runs as the automation identity. Needs the simulator (skipped on a real cluster, whose Argo CD
cannot reach a repository in this machine's temporary directory).
"""

import base64
import os
import subprocess
import sys

import pytest
import yaml

from .ansible import REPO_ROOT, collection_path
from .audit import AuditWindow, writes
from .site import APPS, SITE, get, names, play

sys.path.insert(0, collection_path())
# pylint: disable=wrong-import-position
from ansible_collections.rhods.gitops.plugins.filter.gitops import resource_of  # noqa: E402

ARGOCD_NS = "openshift-gitops"
TRACKING = "argocd.argoproj.io/tracking-id"
ARGOCD_MANAGER = "argocd-controller"
PART_OF = "app.kubernetes.io/part-of=rhods-gitops"
COMPONENTS = ("rhods-operator", "rhods", "minio", "dsp", "custom-notebook")
DEFAULT_TREE = os.path.join(REPO_ROOT, "gitops", "default")
# The dashboard's settings: in objects the operator owns, applied directly in both modes.
DASHBOARD = [("opendatahub.io/v1alpha", "OdhDashboardConfig", APPS, "odh-dashboard-config"),
             ("services.platform.opendatahub.io/v1alpha1", "Auth", None, "auth")]
MINIO_PLAYBOOK = "minio.yml"
NOTEBOOK_PLAYBOOK = "custom_notebook.yml"
FIELD_MANAGER = "rhods.gitops"
# No container runs on the local control plane, so nothing answers MinIO's S3 API for these tests
# (scripts/demo and molecule start an S3 stand-in; this module does not need one): no buckets, no
# S3 verification.
# The default state namespace in both delivery modes: the same ApplySets own the objects
# whichever mode delivers them, and the pushed tree is the committed default tree
# (tests/integration/ansible.py gives other sets of variables ApplySets of their own).
DEMO_VARS = {"minio_create_buckets": False, "dsp_verify_connections": "never",
             "rhods_gitops_state_namespace": "rhods-gitops"}


def default_objects():
    """(apiVersion, kind, namespace, name) of every object of the default tree."""
    out = []
    for component in sorted(os.listdir(DEFAULT_TREE)):
        folder = os.path.join(DEFAULT_TREE, component)
        for name in sorted(os.listdir(folder)):
            if name == "kustomization.yaml":
                continue
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                obj = yaml.safe_load(handle)
            meta = obj["metadata"]
            out.append((obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"]))
    return out


class Objects:
    """Admin access to objects by apiVersion and kind (kubernetes dynamic client)."""

    def __init__(self, kube_client):
        from kubernetes import dynamic  # pylint: disable=import-outside-toplevel
        self.client = dynamic.DynamicClient(kube_client)

    def resource(self, api_version, kind):
        return self.client.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version, kind, namespace, name):
        from kubernetes.dynamic.exceptions import NotFoundError  # pylint: disable=import-outside-toplevel
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def list(self, api_version, kind, namespace=None, selector=None):
        found = self.resource(api_version, kind).get(namespace=namespace, label_selector=selector)
        return [item.to_dict() for item in found.items]

    def json_patch(self, api_version, kind, namespace, name, ops):
        self.resource(api_version, kind).patch(name=name, namespace=namespace, body=ops,
                                               content_type="application/json-patch+json")

    def merge_patch(self, api_version, kind, namespace, name, body):
        self.resource(api_version, kind).patch(name=name, namespace=namespace, body=body,
                                               content_type="application/merge-patch+json")


def content(obj):
    """What delivery decides about an object: spec, labels, annotations and the data of a
    Secret. Annotations addressed to Argo CD (``argocd.argoproj.io/``: its tracking id, the
    tree's sync waves) are left out: they instruct the delivery tool, direct delivery of the
    rhods objects has no use for them, and they stay unowned on the objects after a switch
    back to direct delivery, so comparing them would compare the cluster's history."""
    meta = obj["metadata"]
    annotations = {key: value for key, value in (meta.get("annotations") or {}).items()
                   if not key.startswith("argocd.argoproj.io/")}
    return {"spec": obj.get("spec"), "labels": meta.get("labels") or {},
            "annotations": annotations, "data": obj.get("data")}


def snapshot(objects, identities):
    out = {}
    for ident in identities:
        obj = objects.get(*ident)
        assert obj is not None, "%s is missing" % (ident,)
        out[ident] = {"uid": obj["metadata"]["uid"], "content": content(obj)}
    return out


def image_reference(cluster):
    stream = get(cluster, "imagestream", "lightgbm", APPS)
    tags = [t for t in (stream.get("status") or {}).get("tags") or [] if t["tag"] == "3.3.5"]
    return tags[0]["items"][0]["dockerImageReference"] if tags else None


def secret_values(cluster):
    """Every secret value the components use (decoded), to look for in git."""
    values = []
    for name, namespace in (("minio-root-user", "minio"), ("aws-connection-minio",
                                                           "notebook-demo")):
        secret = get(cluster, "secret", name, namespace)
        for key, value in (secret or {}).get("data", {}).items():
            if key in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "AWS_ACCESS_KEY_ID",
                       "AWS_SECRET_ACCESS_KEY"):
                values.append(base64.b64decode(value).decode())
    return values


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout


def release_applications(objects):
    """Stop delivering with Argo CD without touching the objects: delete the Applications
    without cascading (no finalizer), their AppProjects, and Argo CD's ownership (its field
    manager's entry and tracking annotation) of what they delivered, so that direct delivery
    owns every field again."""
    tracked = set()
    for app in objects.list("argoproj.io/v1alpha1", "Application", ARGOCD_NS, PART_OF):
        for res in (app.get("status") or {}).get("resources") or []:
            group = res.get("group") or ""
            api_version = "%s/%s" % (group, res["version"]) if group else res["version"]
            tracked.add((api_version, res["kind"], res.get("namespace"), res["name"]))
        name = app["metadata"]["name"]
        if app["metadata"].get("finalizers"):
            objects.merge_patch("argoproj.io/v1alpha1", "Application", ARGOCD_NS, name,
                                {"metadata": {"finalizers": None}})
        objects.resource("argoproj.io/v1alpha1", "Application").delete(name=name,
                                                                       namespace=ARGOCD_NS)
    for project in objects.list("argoproj.io/v1alpha1", "AppProject", ARGOCD_NS, PART_OF):
        objects.resource("argoproj.io/v1alpha1", "AppProject").delete(
            name=project["metadata"]["name"], namespace=ARGOCD_NS)
    for ident in sorted(tracked, key=str):
        obj = objects.get(*ident)
        if not obj:
            continue
        ops = []
        fields = obj["metadata"].get("managedFields") or []
        kept = [f for f in fields if f.get("manager") != ARGOCD_MANAGER]
        if not kept:
            # Argo CD made this object (it was deleted by hand and healed): hand its fields to
            # direct delivery's field manager, as a direct apply would have written them. An
            # object without managedFields would give them to "before-first-apply", whose
            # values a later run with other variables (another ApplySet id) would conflict with.
            kept = [dict(f, manager=FIELD_MANAGER, operation="Apply") for f in fields]
        if kept != fields:
            ops.append({"op": "replace", "path": "/metadata/managedFields", "value": kept})
        if TRACKING in (obj["metadata"].get("annotations") or {}):
            ops.append({"op": "remove", "path": "/metadata/annotations/" +
                        TRACKING.replace("/", "~1")})
        if ops:
            objects.json_patch(*ident, ops)


def simulated(objects):
    return objects.get("v1", "ConfigMap", "localcluster-system", "simulator") is not None


@pytest.fixture(scope="module")
def objects(kube_client):
    helper = Objects(kube_client)
    if not simulated(helper):
        pytest.skip("no operator simulator on this cluster: its Argo CD cannot reach a "
                    "repository in this machine's temporary directory")
    return helper


@pytest.fixture(scope="module")
def gitops(cluster, objects, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gitops")
    repo = tmp / "cluster-config.git"  # created by the first push (create_local_remote)
    variables = dict(DEMO_VARS, rhods_gitops_delivery="gitops",
                     rhods_gitops_repo_url="file://" + str(repo),
                     rhods_gitops_render_dir=str(tmp / "worktree"))
    direct = play(cluster, SITE, DEMO_VARS)
    assert direct.rc == 0, str(direct)
    identities = default_objects()
    state = {"vars": variables, "repo": str(repo), "identities": identities,
             "before": snapshot(objects, identities),
             "dashboard_before": snapshot(objects, DASHBOARD),
             "image": image_reference(cluster), "secrets": secret_values(cluster),
             "builds": names(cluster, "builds", APPS, "openshift.io/build-config.name=lightgbm")}
    try:
        window = AuditWindow(cluster.audit_log) if cluster.audit_log else None
        state["first"] = play(cluster, SITE, variables)
        assert state["first"].rc == 0, str(state["first"])
        state["after"] = snapshot(objects, identities)
        state["dashboard_after"] = snapshot(objects, DASHBOARD)
        state["second"] = play(cluster, SITE, variables)
        state["audit"] = window.close().events() if window else None
        yield state
    finally:
        release_applications(objects)


def applications(objects):
    return {a["metadata"]["labels"]["app.kubernetes.io/component"]: a
            for a in objects.list("argoproj.io/v1alpha1", "Application", ARGOCD_NS, PART_OF)}


def head(repo):
    return git("rev-parse", "refs/heads/main", cwd=repo).strip()


# ---------------------------------------------------------------- convergence


def test_every_component_is_delivered_by_an_application_synced_at_the_pushed_commit(
        gitops, objects):
    apps = applications(objects)
    assert sorted(apps) == sorted(COMPONENTS)
    sha = head(gitops["repo"])
    for component, app in apps.items():
        spec, status = app["spec"], app["status"]
        assert app["metadata"]["name"] == "rhods-gitops-" + component
        assert spec["project"] == "rhods-gitops-" + component
        assert spec["source"] == {"repoURL": gitops["vars"]["rhods_gitops_repo_url"],
                                  "targetRevision": "main",
                                  "path": "rhods-gitops/" + component}
        assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
        assert "RespectIgnoreDifferences=true" in spec["syncPolicy"]["syncOptions"]
        assert not app["metadata"].get("finalizers"), "deleting it must not cascade"
        assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")
        assert status["sync"]["revision"] == sha, component
    notebook_rule = [r for r in apps["custom-notebook"]["spec"]["ignoreDifferences"]
                     if r["kind"] == "Notebook"][0]
    assert notebook_rule["jsonPointers"] == ["/spec/template/spec/containers",
                                             "/spec/template/spec/volumes"]


def test_each_component_has_a_project_scoped_to_its_namespaces_and_kinds(gitops, objects):
    projects = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p["spec"]
                for p in objects.list("argoproj.io/v1alpha1", "AppProject", ARGOCD_NS, PART_OF)}
    assert sorted(projects) == sorted(COMPONENTS)
    expected = {"rhods-operator": (["redhat-ods-operator"], {"Namespace"},
                                   {"OperatorGroup", "Subscription"}),
                # The DataScienceCluster alone (cluster-scoped): Argo CD's namespace as destination.
                "rhods": ([ARGOCD_NS], {"DataScienceCluster"}, set()),
                "minio": (["minio"], {"Namespace"},
                          {"Deployment", "PersistentVolumeClaim", "Route", "Service"}),
                "dsp": (["notebook-demo"], {"Namespace"}, set()),
                "custom-notebook": (["notebook-demo", "redhat-ods-applications"], set(),
                                    {"BuildConfig", "ImageStream", "Notebook",
                                     "PersistentVolumeClaim"})}
    for component, spec in projects.items():
        namespaces, cluster_kinds, namespaced_kinds = expected[component]
        assert spec["sourceRepos"] == [gitops["vars"]["rhods_gitops_repo_url"]], component
        assert sorted(d["namespace"] for d in spec["destinations"]) == namespaces, component
        assert {r["kind"] for r in spec.get("clusterResourceWhitelist") or []} == cluster_kinds
        kinds = {r["kind"] for r in spec.get("namespaceResourceWhitelist") or []}
        assert "Secret" not in kinds and kinds == namespaced_kinds, (component, kinds)


def test_the_controller_may_do_per_component_exactly_what_the_component_delivers(gitops, cluster,
                                                                               objects):
    """Each component's rights: its kinds, by the names the API server serves them under; the
    role gitops_bootstrap grants holds only the (empty by default) rules the user gives."""
    served = {}
    for line in cluster.kubectl("api-resources", "-o", "name").stdout.split():
        resource, _sep, group = line.partition(".")
        served.setdefault(group, set()).add(resource)
    roles = {r["metadata"]["labels"]["app.kubernetes.io/component"]: r
             for r in objects.list("rbac.authorization.k8s.io/v1", "ClusterRole", None,
                                   "rhods.gitops/controller-rights=true")}
    assert sorted(roles) == sorted(COMPONENTS)
    projects = {p["metadata"]["labels"]["app.kubernetes.io/component"]: p["spec"]
                for p in objects.list("argoproj.io/v1alpha1", "AppProject", ARGOCD_NS, PART_OF)}
    for component, role in roles.items():
        project = projects[component]
        kinds = {(k["group"], k["kind"]) for k in (project.get("clusterResourceWhitelist") or [])
                 + (project.get("namespaceResourceWhitelist") or [])}
        granted = {(g, res) for rule in role["rules"] if rule["verbs"] != ["bind"]
                   for g in rule["apiGroups"] for res in rule["resources"]}
        assert {(g, res) for g, res in granted if "/" not in res} == \
            {(g, resource_of(k)) for g, k in kinds}, component
        for group, resource in granted:
            assert resource.split("/")[0] in served.get(group, set()), (component, resource)
        binding = get(cluster, "clusterrolebinding", role["metadata"]["name"])
        assert binding["subjects"][0]["namespace"] == ARGOCD_NS
    assert get(cluster, "clusterrole", "rhods-gitops-argocd-components").get("rules") in (None, [])


def test_switching_from_direct_adopts_the_objects_without_recreating_them(gitops, cluster,
                                                                          objects):
    before, after = gitops["before"], gitops["after"]
    recreated = [i for i in gitops["identities"] if before[i]["uid"] != after[i]["uid"]]
    assert recreated == []
    for ident in gitops["identities"]:
        live = objects.get(*ident)
        assert live["metadata"]["annotations"][TRACKING].startswith("rhods-gitops-"), ident
    # The MinIO credentials and the built image stay; no build was started.
    assert len(gitops["secrets"]) == 4 and secret_values(cluster) == gitops["secrets"]
    for name, namespace in (("minio-root-user", "minio"), ("aws-connection-minio",
                                                           "notebook-demo")):
        secret = get(cluster, "secret", name, namespace)
        assert TRACKING not in (secret["metadata"].get("annotations") or {}), \
            "Secrets are delivered directly, not by Argo CD"
    assert image_reference(cluster) == gitops["image"] and gitops["image"]
    assert names(cluster, "builds", APPS, "openshift.io/build-config.name=lightgbm") == \
        gitops["builds"]


def test_gitops_delivery_produces_the_same_objects_as_direct_delivery(gitops):
    different = {}
    for ident in gitops["identities"]:
        changes = differences(gitops["before"][ident]["content"], gitops["after"][ident]["content"])
        if changes:
            different["%s %s/%s" % (ident[1], ident[2] or "", ident[3])] = changes
    assert different == {}


def test_the_dashboard_settings_are_the_same_in_both_modes_and_not_in_the_tree(gitops):
    assert gitops["dashboard_after"] == gitops["dashboard_before"]
    spec = gitops["dashboard_after"][DASHBOARD[0]]["content"]["spec"]
    assert [size["name"] for size in spec["notebookSizes"]] == ["Small", "Medium", "Large",
                                                                 "X Large"]
    # Not part of a component: Argo CD neither writes nor prunes them.
    assert [i for i in gitops["identities"] if i[1] in ("OdhDashboardConfig", "Auth")] == []


def differences(before, after, path=""):
    """The paths at which two JSON values differ, each with (direct, gitops) values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = {}
        for key in sorted(set(before) | set(after), key=str):
            out.update(differences(before.get(key, "<absent>"), after.get(key, "<absent>"),
                                   "%s/%s" % (path, key)))
        return out
    return {} if before == after else {path or "/": (before, after)}


MUTATING = ("create", "update", "patch", "delete", "deletecollection")


def _names_kind(resource, kind):
    """Whether the audit log's plural ``resource`` is the plural of ``kind``."""
    singular = kind.lower()
    return resource in (singular + "s", singular + "es", singular[:-1] + "ies")


def test_the_collection_writes_nothing_that_an_application_delivers(gitops):
    """One writer per object: in gitops mode Argo CD alone writes what the tree holds; the
    collection's modules only observe it: no write and not even a dry-run apply (the old
    double delivery showed up as dry runs whenever Argo CD's content matched). Audit log of both
    gitops runs, automation identity."""
    if gitops["audit"] is None:
        pytest.skip("no audit log on this cluster")
    delivered = {(ident[2] or "", ident[3], ident[1]) for ident in gitops["identities"]}
    ours = []
    mutating = [e for e in gitops["audit"] if e.get("verb") in MUTATING]
    assert writes(gitops["audit"]), "the runs wrote something (Applications, Secrets)"
    for event in mutating:
        ref = event.get("objectRef") or {}
        for namespace, name, kind in delivered:
            if (ref.get("namespace") or "", ref.get("name")) == (namespace, name) and \
                    _names_kind(ref.get("resource", ""), kind) and not ref.get("subresource"):
                ours.append("%s %s %s/%s" % (event["verb"], kind, namespace, name))
    assert ours == []


def test_second_run_changes_nothing(gitops):
    second = gitops["second"]
    assert second.rc == 0, str(second)
    assert second.changed == 0, str(second)
    assert "changed=0" in second.stdout


# ---------------------------------------------------------------- secrets stay out of git


def test_the_tree_in_git_holds_no_secret_value(gitops, cluster):
    repo = gitops["repo"]
    history = git("log", "--all", "-p", "--format=%H %s", cwd=repo)
    files = git("ls-tree", "-r", "--name-only", "main", cwd=repo).split()
    assert files and all(f.startswith("rhods-gitops/") for f in files)
    assert not any("secret" in f.lower() for f in files)
    assert "kind: Secret" not in history
    values = secret_values(cluster)
    assert values, "the components' Secrets exist"
    for value in values:
        assert value not in history
    for value in values:  # nor in the playbook's output, at default verbosity
        assert value not in gitops["first"].output and value not in gitops["second"].output


def test_the_rendered_tree_is_the_committed_default_tree(gitops, tmp_path):
    checkout = tmp_path / "checkout"
    git("clone", "-q", gitops["repo"], str(checkout), cwd=str(tmp_path))
    rendered = checkout / "rhods-gitops"
    for component in COMPONENTS:
        for name in os.listdir(os.path.join(DEFAULT_TREE, component)):
            with open(os.path.join(DEFAULT_TREE, component, name), "rb") as committed:
                assert (rendered / component / name).read_bytes() == committed.read(), \
                    (component, name)


# ---------------------------------------------------------------- self-heal and failures


def test_an_object_deleted_by_hand_comes_back_and_the_playbook_reports_it_healthy(
        gitops, cluster, objects):
    ident = ("v1", "Service", "minio", "minio")
    uid = objects.get(*ident)["metadata"]["uid"]
    objects.resource("v1", "Service").delete(name="minio", namespace="minio")
    result = play(cluster, MINIO_PLAYBOOK, gitops["vars"])
    assert result.rc == 0, str(result)
    healed = objects.get(*ident)
    assert healed is not None and healed["metadata"]["uid"] != uid
    app = applications(objects)["minio"]
    assert (app["status"]["sync"]["status"], app["status"]["health"]["status"]) == (
        "Synced", "Healthy")
    # The delivery step succeeds only once the Application is Synced at the pushed commit and
    # Healthy, and says so.
    assert "Application openshift-gitops/rhods-gitops-minio: Synced at %s, Healthy" % (
        head(gitops["repo"])[:12]) in result.stdout


def test_a_broken_manifest_fails_the_sync_and_the_error_names_it(gitops, cluster, objects):
    broken = dict(gitops["vars"], minio_resources={"requests": {"cpu": "lots"}},
                  gitops_bootstrap_application_timeout=180,
                  gitops_bootstrap_application_sync_policy={
                      "automated": {"prune": True, "selfHeal": True},
                      "syncOptions": ["ServerSideApply=true", "RespectIgnoreDifferences=true"]})
    failed = play(cluster, MINIO_PLAYBOOK, broken)
    assert failed.rc != 0
    assert "Application openshift-gitops/rhods-gitops-minio" in failed.stdout
    assert "apps/Deployment minio/minio" in failed.stdout
    assert "quantities must match" in failed.stdout
    # Argo CD's verdict: the Application is not Synced at the broken commit: OutOfSync, or
    # Unknown while its comparison fails on the unparsable quantity (the playbook quoted the
    # failed sync above; a later self-heal operation may have replaced that operation's state).
    # Its health stays that of the live objects.
    app = applications(objects)["minio"]
    assert app["status"]["sync"]["status"] in ("OutOfSync", "Unknown")
    # The live Deployment is untouched; the next good run repairs the Application.
    deploy = objects.get("apps/v1", "Deployment", "minio", "minio")
    assert deploy["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"][
        "cpu"] == "200m"
    repaired = play(cluster, MINIO_PLAYBOOK, gitops["vars"])
    assert repaired.rc == 0, str(repaired)
    app = applications(objects)["minio"]
    assert (app["status"]["sync"]["status"], app["status"]["health"]["status"]) == (
        "Synced", "Healthy")


# ---------------------------------------------------------------- changes and removals


def notebook_container(objects):
    notebook = objects.get("kubeflow.org/v1", "Notebook", "notebook-demo", "demo-lightgbm-workbench")
    if notebook is None:
        return None
    [own] = [c for c in notebook["spec"]["template"]["spec"]["containers"]
             if c["name"] == "demo-lightgbm-workbench"]
    return own


def test_a_removed_workbench_leaves_with_its_notebook_and_keeps_its_storage(
        gitops, cluster, objects):
    pvc = ("v1", "PersistentVolumeClaim", "notebook-demo", "demo-lightgbm-workbench")
    uid = objects.get(*pvc)["metadata"]["uid"]
    # The plan first: --check --diff shows the Notebook's file leaving the tree, says the
    # storage is kept, and writes nothing (no commit, no sync, no object).
    window = AuditWindow(cluster.audit_log)
    plan = play(cluster, NOTEBOOK_PLAYBOOK, dict(gitops["vars"], custom_notebook_workbenches=[]),
                check=True, diff=True)
    window.close()
    assert plan.rc == 0 and plan.changed > 0, str(plan)
    assert writes(window.events()) == [], [e["requestURI"] for e in writes(window.events())]
    assert "custom-notebook/notebook-demo-lightgbm-workbench.yaml (removed)" in plan.output, \
        str(plan)
    assert "kept PersistentVolumeClaim notebook-demo/demo-lightgbm-workbench" in plan.output, \
        str(plan)
    assert notebook_container(objects) is not None
    # The workbench leaves the variables: Argo CD prunes the Notebook, the storage stays (Argo
    # CD's Prune=false, the delivery step's data rule) and the run says how to delete it.
    removed = play(cluster, NOTEBOOK_PLAYBOOK, dict(gitops["vars"], custom_notebook_workbenches=[]))
    assert removed.rc == 0, str(removed)
    assert notebook_container(objects) is None
    assert objects.get(*pvc)["metadata"]["uid"] == uid
    assert "kept PersistentVolumeClaim notebook-demo/demo-lightgbm-workbench" in removed.output
    assert "kubectl delete persistentvolumeclaim -n notebook-demo demo-lightgbm-workbench" in \
        removed.output
    app = applications(objects)["custom-notebook"]
    assert (app["status"]["sync"]["status"], app["status"]["health"]["status"]) == (
        "Synced", "Healthy")
    # Back to the defaults: the workbench returns on the storage it had.
    restored = play(cluster, NOTEBOOK_PLAYBOOK, gitops["vars"])
    assert restored.rc == 0, str(restored)
    assert notebook_container(objects) is not None
    assert objects.get(*pvc)["metadata"]["uid"] == uid


# ---------------------------------------------------------------- back to direct delivery


def test_direct_delivery_works_again_once_the_applications_are_released(gitops, cluster,
                                                                        objects):
    release_applications(objects)
    assert applications(objects) == {}
    for ident in gitops["identities"]:
        live = objects.get(*ident)
        assert TRACKING not in (live["metadata"].get("annotations") or {}), ident
    released = snapshot(objects, gitops["identities"])
    direct = play(cluster, SITE, DEMO_VARS)
    assert direct.rc == 0, str(direct)
    after = snapshot(objects, gitops["identities"])
    assert [i for i in gitops["identities"] if after[i]["uid"] != released[i]["uid"]] == []
    assert {i: after[i]["content"] for i in gitops["identities"]} == {
        i: released[i]["content"] for i in gitops["identities"]}
