"""Every object the collection renders, checked against the rules by which the Open Data Hub /
OpenShift AI dashboard reads it (docs/dashboard-contract.md), for the defaults and for a
non-default set of variables. Pure and fast: the roles' templates are rendered without a
cluster (tests/unit/playbooks/dashboard_render.yml) and the rules below are small predicates,
each written from the dashboard's source and named after the code that reads the key.

The rules are the dashboard's, not ours: a flag the dashboard reads by PRESENCE is a flag
whatever its value, so it must be absent unless meant; a JSON annotation must parse to the
shape the dashboard's parser expects; a workbench must carry what the dashboard writes when a
user creates one, so that it lists, opens and edits it like its own.
"""

import json
import os
import re
import subprocess
import sys
from urllib.parse import quote

import pytest
import yaml

import ansible_collections.rhods.gitops  # noqa: F401  pylint: disable=unused-import

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
PLAYBOOK = os.path.join(HERE, "playbooks", "dashboard_render.yml")

# ------------------------------------------------------------------ the dashboard's rules

# Keys the dashboard reads by presence (`!!annotations[key]`, `if (annotations[key])`):
# any non-empty value, "false" included, means "set".
PRESENCE_FLAGS = {
    "ImageStreamTag": ("opendatahub.io/image-tag-outdated",),
    "Notebook": ("kubeflow-resource-stopped",),
}
# The dashboard's default container sizes (spawner const DEFAULT_NOTEBOOK_SIZES), which the
# collection's rhods_notebook_sizes default mirrors.
DASHBOARD_SIZES = {
    "Small": {"requests": {"cpu": "1", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "8Gi"}},
    "Medium": {"requests": {"cpu": "3", "memory": "24Gi"},
               "limits": {"cpu": "6", "memory": "24Gi"}},
    "Large": {"requests": {"cpu": "7", "memory": "56Gi"},
              "limits": {"cpu": "14", "memory": "56Gi"}},
    "X Large": {"requests": {"cpu": "15", "memory": "120Gi"},
                "limits": {"cpu": "30", "memory": "120Gi"}},
}
S3_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_S3_ENDPOINT", "AWS_S3_BUCKET")
PROJECT_SHARING_ROLES = ("admin", "edit", "view")


def is_set(mapping, key):
    """How the dashboard tests a presence flag: JavaScript truthiness of the value."""
    return bool((mapping or {}).get(key))


def json_boolean(value):
    """`JSON.parse(value || 'false')` (backend getTagInfo, frontend getTagInfo): the value must
    be JSON, or the whole image list fails; only "true" and "false" make sense."""
    return value in (None, "true", "false")


def package_list(value):
    """software / python-dependencies: the dashboard JSON-parses them into a list of
    {name, version} (ImageVersionDependencyType); anything else shows no packages."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        return False
    return isinstance(parsed, list) and all(
        isinstance(p, dict) and isinstance(p.get("name"), str) and p["name"]
        and isinstance(p.get("version"), str) for p in parsed)


def listed_tags(stream):
    """The tags the dashboard offers for a new workbench (getTagInfo / getValidTags /
    getExistingVersionsForImageStream): in spec.tags AND status.tags, and not outdated.
    `stream` is the rendered object, built: every spec tag is taken to be in status.tags."""
    status = {t["name"] for t in stream["spec"].get("tags") or []}
    return [t["name"] for t in stream["spec"].get("tags") or []
            if t["name"] in status and not is_set(t.get("annotations"), PRESENCE_FLAGS[
                "ImageStreamTag"][0])]


def dashboard_username(name):
    """usernameTranslate of the dashboard, written from its rules: encodeURIComponent, the
    characters it leaves alone escaped as well ('~' as %7f), '%' as '-', lower case."""
    escapes = {"!": "%21", "'": "%27", "(": "%28", ")": "%29", "*": "%2a", "-": "%2d",
               ".": "%2e", "_": "%5f", "~": "%7f"}
    text = quote(name, safe="-_.!~*'()")
    return "".join(escapes.get(c, c) for c in text).replace("%", "-").lower()


def container_image_selection(notebook):
    """getNotebookImageData: the container named like the Notebook, its image's last path
    segment split at ':' into stream and tag."""
    name = notebook["metadata"]["name"]
    container = [c for c in notebook["spec"]["template"]["spec"]["containers"]
                 if c["name"] == name]
    assert container, "no container is named like the Notebook: the dashboard finds none"
    return container[0]["image"].split("/")[-1]


def size_of(resources, sizes):
    """useNotebookDeploymentSize (2.x): the size whose requests and limits equal the
    container's; None: the dashboard shows a custom size."""
    for name, size in sizes.items():
        if size == resources:
            return name
    return None


def is_connection(secret):
    """isConnection (connectionTypeUtils): a connection-type(-ref) annotation and the
    opendatahub.io/dashboard label (presence)."""
    annotations = secret["metadata"].get("annotations") or {}
    labels = secret["metadata"].get("labels") or {}
    return (("opendatahub.io/connection-type" in annotations
             or "opendatahub.io/connection-type-ref" in annotations)
            and "opendatahub.io/dashboard" in labels)


def listed_by_old_dashboards(secret):
    """useDataConnections before connection types: label selector
    opendatahub.io/managed=true,opendatahub.io/dashboard=true."""
    labels = secret["metadata"].get("labels") or {}
    return labels.get("opendatahub.io/managed") == "true" and \
        labels.get("opendatahub.io/dashboard") == "true"


def s3_model_serving_compatible(secret):
    """isModelServingCompatible(S3): managed type s3 (connection-type s3 and managed=true)
    and either protocol s3 or every S3 key in data."""
    meta = secret["metadata"]
    annotations, labels = meta.get("annotations") or {}, meta.get("labels") or {}
    if not (annotations.get("opendatahub.io/connection-type") == "s3"
            and labels.get("opendatahub.io/managed") == "true"):
        return False
    if annotations.get("opendatahub.io/connection-type-protocol") == "s3":
        return True
    return all(k in (secret.get("data") or secret.get("stringData") or {}) for k in S3_KEYS)


# ------------------------------------------------------------------ rendering


def render(tmp_path, **variables):
    out = tmp_path / "objects.json"
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(dict(variables, out=str(out))))
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
    return json.loads(out.read_text())


LOCK = "example==1.0 --hash=sha256:" + "0" * 64

IMAGES = [
    {"name": "lightgbm", "tag": "3.3.5", "display_name": "LightGBM", "recommended": True,
     "software": [{"name": "Python", "version": "v3.11"},
                  {"name": "LightGBM", "version": "3.3.5"}],
     "python_dependencies": [{"name": "LightGBM", "version": "3.3.5"}], "requirements": LOCK},
    {"name": "lightgbm-legacy", "tag": "3.3.2", "display_name": "LightGBM (old)",
     "outdated": True, "requirements": LOCK, "order": 200},
    {"name": "torch", "tag": "2.1", "display_name": "PyTorch \"nightly\" & co",
     "description": "multi\nline", "software": [{"name": "PyTorch", "version": "2.1"}],
     "source": {"type": "git", "uri": "https://git.example.com/torch.git"}},
    {"name": "plain", "tag": "v1", "requirements": LOCK},
]
WORKBENCHES = [
    {"name": "alice-wb", "namespace": "team-a", "display_name": "Alice's workbench",
     "image": "torch:2.1", "size": "Medium", "owner": "kube:admin",
     "data_connections": ["aws-connection-minio", "aws-connection-lake"],
     "access": {"users": ["bob"], "groups": ["team-a"]}},
    {"name": "legacy-wb", "namespace": "team-b", "image": "lightgbm-legacy:3.3.2",
     "stopped": True, "owner": "alice.smith_x", "pvc_name": "legacy-data",
     "storage_display_name": "Legacy data"},
    {"name": "plain-wb", "namespace": "team-b", "image": "plain:v1", "size": "X Large"},
    {"name": "external-wb", "namespace": "team-a", "image": "s2i-minimal-notebook:2025.2"},
]
PROJECTS = [
    {"name": "team-a", "display_name": "Team A", "description": "first",
     "access": [{"role": "admin", "users": ["alice"]},
                {"role": "edit", "groups": ["team-a"]}, {"role": "view", "users": ["Eve@Example.com"]}],
     "connections": [{"name": "minio", "type": "minio", "bucket": "team-a"},
                     {"name": "lake", "display_name": "Data lake", "type": "s3",
                      "endpoint": "https://s3.example.com", "bucket": "lake",
                      "access_key": "AKIAEXAMPLE", "secret_key": "placeholder"}]},
    {"name": "team-b", "modelmesh": False, "connections": []},
]
CUSTOM = {"custom_notebook_images": IMAGES, "custom_notebook_workbenches": WORKBENCHES,
          "dsp_projects": PROJECTS}
DEFAULTS = {}


@pytest.fixture(scope="module", params=["defaults", "custom"])
def case(request, tmp_path_factory):
    variables = DEFAULTS if request.param == "defaults" else CUSTOM
    objects = render(tmp_path_factory.mktemp(request.param), **variables)
    return {"name": request.param, "objects": objects, "variables": variables}


def of_kind(objects, kind):
    return [o for o in objects if o["kind"] == kind]


def role_defaults():
    with open(os.path.join(REPO_ROOT, "roles", "custom_notebook", "defaults", "main.yml"),
              encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def declared_images(case):
    images = case["variables"].get("custom_notebook_images",
                                   role_defaults()["custom_notebook_images"])
    return {i["name"]: i for i in images}


def declared_workbenches(case):
    benches = case["variables"].get("custom_notebook_workbenches",
                                    role_defaults()["custom_notebook_workbenches"])
    return {w["name"]: w for w in benches}


# ------------------------------------------------------------------ generic


def test_presence_flags_never_carry_a_false_looking_value(case):
    """A presence flag with "false", "0" or "" is a flag the dashboard sees as set."""
    for obj in case["objects"]:
        places = [("Notebook" if obj["kind"] == "Notebook" else obj["kind"],
                   obj["metadata"].get("annotations") or {})]
        if obj["kind"] == "ImageStream":
            places += [("ImageStreamTag", t.get("annotations") or {})
                       for t in obj["spec"].get("tags") or []]
        for kind, annotations in places:
            for key in PRESENCE_FLAGS.get(kind, ()):
                if key in annotations:
                    assert annotations[key] not in ("false", "False", "0", "", "no"), (
                        obj["kind"], obj["metadata"]["name"], key, annotations[key])


def test_every_label_value_is_a_string(case):
    for obj in case["objects"]:
        for field in ("labels", "annotations"):
            for key, value in (obj["metadata"].get(field) or {}).items():
                assert isinstance(value, str), (obj["kind"], obj["metadata"]["name"], key)


# ------------------------------------------------------------------ ImageStreams


def test_image_streams_are_listed_and_their_tags_offered_unless_outdated(case):
    declared = declared_images(case)
    streams = of_kind(case["objects"], "ImageStream")
    assert sorted(s["metadata"]["name"] for s in streams) == sorted(declared)
    for stream in streams:
        image = declared[stream["metadata"]["name"]]
        labels = stream["metadata"]["labels"]
        assert labels["opendatahub.io/notebook-image"] == "true"  # list selector, getVisible
        assert labels.get("app.kubernetes.io/created-by") != "byon"
        outdated = bool(image.get("outdated"))
        assert listed_tags(stream) == ([] if outdated else [image["tag"]]), stream
        tag = stream["spec"]["tags"][0]
        assert is_set(tag["annotations"], "opendatahub.io/image-tag-outdated") == outdated
        if outdated:  # useNotebookImageData compares the value to "true"
            assert tag["annotations"]["opendatahub.io/image-tag-outdated"] == "true"


def test_image_stream_annotations_parse_as_the_dashboard_parses_them(case):
    declared = declared_images(case)
    for stream in of_kind(case["objects"], "ImageStream"):
        image = declared[stream["metadata"]["name"]]
        annotations = stream["metadata"]["annotations"]
        assert annotations["opendatahub.io/notebook-image-name"] == \
            image.get("display_name", image["name"])
        order = annotations.get("opendatahub.io/notebook-image-order")
        assert order is None or re.fullmatch(r"-?[0-9]+", order), order  # +order || 100
        for tag in stream["spec"]["tags"]:
            tag_annotations = tag["annotations"]
            for key in ("opendatahub.io/workbench-image-recommended",
                        "opendatahub.io/default-image"):
                assert json_boolean(tag_annotations.get(key)), (key, tag_annotations.get(key))
            assert (tag_annotations.get("opendatahub.io/workbench-image-recommended") == "true") \
                == bool(image.get("recommended"))
            for key in ("opendatahub.io/notebook-software",
                        "opendatahub.io/notebook-python-dependencies"):
                assert package_list(tag_annotations[key]), (key, tag_annotations[key])
            software = json.loads(tag_annotations["opendatahub.io/notebook-software"])
            assert software == image.get("software", [])


def test_build_configs_are_found_by_the_dashboards_build_status(case):
    """useBuildStatuses: BuildConfigs labelled opendatahub.io/notebook-image=true, matched to
    a tag through spec.output.to.name."""
    streams = {s["metadata"]["name"]: s for s in of_kind(case["objects"], "ImageStream")}
    for build in of_kind(case["objects"], "BuildConfig"):
        assert build["metadata"]["labels"]["opendatahub.io/notebook-image"] == "true"
        stream, tag = build["spec"]["output"]["to"]["name"].split(":")
        assert tag in [t["name"] for t in streams[stream]["spec"]["tags"]]


# ------------------------------------------------------------------ workbenches


def notebooks(case):
    return {n["metadata"]["name"]: n for n in of_kind(case["objects"], "Notebook")}


def test_workbenches_carry_what_the_dashboard_writes(case):
    declared = declared_images(case)
    for name, bench in declared_workbenches(case).items():
        notebook = notebooks(case)[name]
        labels = notebook["metadata"]["labels"]
        annotations = notebook["metadata"]["annotations"]
        assert labels["app"] == name
        assert labels["opendatahub.io/dashboard"] == "true"
        assert labels["opendatahub.io/odh-managed"] == "true"
        assert annotations["openshift.io/display-name"] == bench.get("display_name", name)
        assert isinstance(annotations["openshift.io/description"], str)
        # 2.x controller and dashboards read inject-oauth; 3.x read inject-auth (isWorkbench-
        # Migrated, the kube-rbac-proxy injection): each value compared to "true".
        assert annotations["notebooks.opendatahub.io/inject-oauth"] == "true"
        assert annotations["notebooks.opendatahub.io/inject-auth"] == "true"
        assert annotations["notebooks.opendatahub.io/last-image-selection"] == bench["image"]
        assert container_image_selection(notebook) == bench["image"]
        stream = bench["image"].split(":")[0]
        if stream in declared:
            assert annotations["opendatahub.io/image-display-name"] == \
                declared[stream].get("display_name", stream)
        else:
            assert "opendatahub.io/image-display-name" not in annotations


def test_a_workbench_is_not_shown_as_running_an_outdated_build(case):
    """isNotebookImageOutdated: the Notebook's last-image-version-git-commit-selection must
    equal some tag's notebook-build-commit, else a non-BYON image shows as deprecated; absent
    on both sides is equal (undefined === undefined)."""
    streams = {s["metadata"]["name"]: s for s in of_kind(case["objects"], "ImageStream")}
    for notebook in notebooks(case).values():
        commit = notebook["metadata"]["annotations"].get(
            "notebooks.opendatahub.io/last-image-version-git-commit-selection")
        stream = streams.get(container_image_selection(notebook).split(":")[0])
        if stream is not None:
            assert any((t.get("annotations") or {}).get("opendatahub.io/notebook-build-commit")
                       == commit for t in stream["spec"]["tags"])


def test_workbench_size_selection_is_what_its_resources_say(case):
    for name, bench in declared_workbenches(case).items():
        notebook = notebooks(case)[name]
        selection = notebook["metadata"]["annotations"][
            "notebooks.opendatahub.io/last-size-selection"]
        assert selection == bench.get("size", "Small")
        container = notebook["spec"]["template"]["spec"]["containers"][0]
        assert size_of(container["resources"], DASHBOARD_SIZES) == selection


def test_workbench_connections_annotation_names_its_env_from_secrets(case):
    """getConnectionsFromNotebook (3.x): the annotation, when non-empty, replaces envFrom."""
    for name, bench in declared_workbenches(case).items():
        notebook = notebooks(case)[name]
        namespace = notebook["metadata"]["namespace"]
        value = notebook["metadata"]["annotations"]["opendatahub.io/connections"]
        pairs = [p.split("/") for p in value.split(",")] if value else []
        assert all(ns == namespace for ns, _name in pairs)
        env_from = [e["secretRef"]["name"] for e in
                    notebook["spec"]["template"]["spec"]["containers"][0].get("envFrom", [])]
        assert [n for _ns, n in pairs] == env_from == bench.get("data_connections", [])


def test_stopped_and_owner_are_written_only_when_meant(case):
    for name, bench in declared_workbenches(case).items():
        meta = notebooks(case)[name]["metadata"]
        assert is_set(meta["annotations"], "kubeflow-resource-stopped") == \
            bool(bench.get("stopped"))
        owner = bench.get("owner")
        if owner:
            assert meta["labels"]["opendatahub.io/user"] == dashboard_username(owner)
            assert meta["annotations"]["opendatahub.io/user"] == dashboard_username(owner)
            assert meta["annotations"]["opendatahub.io/username"] == owner
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?",
                                meta["labels"]["opendatahub.io/user"])
        else:
            assert "opendatahub.io/user" not in meta["labels"]
            assert "opendatahub.io/username" not in meta["annotations"]


def test_workbench_storage_is_listed_by_the_dashboard(case):
    pvcs = {(p["metadata"]["namespace"], p["metadata"]["name"]): p
            for p in of_kind(case["objects"], "PersistentVolumeClaim")}
    for notebook in notebooks(case).values():
        claims = [v["persistentVolumeClaim"]["claimName"]
                  for v in notebook["spec"]["template"]["spec"]["volumes"]
                  if "persistentVolumeClaim" in v]
        for claim in claims:
            meta = pvcs[(notebook["metadata"]["namespace"], claim)]["metadata"]
            assert meta["labels"]["opendatahub.io/dashboard"] == "true"
            assert meta["annotations"]["openshift.io/display-name"].strip()


def test_workbench_access_is_not_shown_as_project_sharing(case):
    """The workbench's own access RoleBinding binds a Role the Permissions tab does not know:
    it must not carry the project-sharing label."""
    for binding in of_kind(case["objects"], "RoleBinding"):
        if binding["roleRef"]["kind"] == "Role":
            assert "opendatahub.io/project-sharing" not in binding["metadata"]["labels"]


# ------------------------------------------------------------------ projects, connections, access


def test_projects_are_listed_by_the_dashboard(case):
    for namespace in of_kind(case["objects"], "Namespace"):
        labels = namespace["metadata"]["labels"]
        assert labels["opendatahub.io/dashboard"] == "true"
        assert labels["modelmesh-enabled"] in ("true", "false")  # compared to 'true'/'false'
        assert namespace["metadata"]["annotations"]["openshift.io/display-name"].strip()


def test_data_connections_are_connections_for_every_dashboard(case):
    secrets = of_kind(case["objects"], "Secret")
    assert secrets
    for secret in secrets:
        annotations = secret["metadata"]["annotations"]
        assert is_connection(secret) and listed_by_old_dashboards(secret)
        assert annotations["opendatahub.io/connection-type-ref"] == "s3"  # built-in type
        assert s3_model_serving_compatible(secret)
        assert annotations["openshift.io/display-name"].strip()
        assert all(k in secret["data"] for k in S3_KEYS)


def test_project_sharing_bindings_are_listed_in_permissions(case):
    bindings = [b for b in of_kind(case["objects"], "RoleBinding")
                if b["roleRef"]["kind"] == "ClusterRole"]
    if case["name"] == "custom":
        assert len(bindings) == 3
    for binding in bindings:
        labels = binding["metadata"]["labels"]
        assert labels["opendatahub.io/dashboard"] == "true"
        assert labels["opendatahub.io/project-sharing"] == "true"
        assert binding["roleRef"]["name"] in PROJECT_SHARING_ROLES
        assert len(binding["subjects"]) == 1


# ------------------------------------------------------------------ the rules themselves


def test_the_rules_catch_what_the_old_templates_wrote():
    """The predicates fail on what the collection wrote before (a tag with outdated "false",
    a Notebook without inject-auth), so a regression cannot pass unseen."""
    old_stream = {"spec": {"tags": [{"name": "3.3.5", "annotations": {
        "opendatahub.io/image-tag-outdated": "false"}}]}}
    assert listed_tags(old_stream) == []
    assert not json_boolean("True") and json_boolean("false")
    assert not package_list('{"name": "x"}') and package_list('[{"name":"x","version":"1"}]')
    assert dashboard_username("kube:admin") == "kube-3aadmin"
    assert dashboard_username("alice.smith_x") == "alice-2esmith-5fx"
    assert size_of(DASHBOARD_SIZES["Small"], DASHBOARD_SIZES) == "Small"
    assert size_of({"limits": {"cpu": "1"}}, DASHBOARD_SIZES) is None
