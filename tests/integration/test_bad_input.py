"""Bad input of every role, and of the collection-wide variables, fails site.yml before anything
changes (issue 13): each case runs the real entry point, ``site.yml``, as the automation identity
and asserts a failure whose message names the field (the variable and the list item), and that
the audit log holds no write of that identity while it ran.

The site's pre_task checks the input of every role, gitops_bootstrap included
(``rhods.gitops.role_input``), and the data connections across roles before it logs in. A failing
run takes about 2 seconds on the local control plane.
"""

import pytest

from .audit import AuditWindow, writes
from .site import SITE, play

LOCK = "lightgbm==3.3.5 \\\n    --hash=sha256:" + "0" * 64 + "\n"
BIG = "x" * (260 * 1024)


def bench(name="bad-wb", **over):
    out = {"name": name, "namespace": "bad-input-team", "image": "lightgbm:3.3.5"}
    out.update(over)
    return out


def image(name="bad-image", **over):
    out = {"name": name, "tag": "1.0", "requirements": LOCK}
    out.update(over)
    return out


def case(variables, *expected, id):  # pylint: disable=redefined-builtin
    return pytest.param(variables, expected, id=id)


def project(name="bad-input-project", **over):
    out = {"name": name}
    out.update(over)
    return out


def s3(**over):
    out = {"name": "ext", "type": "s3", "endpoint": "https://s3.example.com", "bucket": "data",
           "access_key": "AKIAEXAMPLE", "secret_key": "not-a-real-secret"}
    out.update(over)
    return out


RHODS = [
    case({"rhods_approval": "manual"}, "rhods_approval is 'manual'", id="rhods-approval-case"),
    case({"rhods_operator_timeout": -1}, "rhods_operator_timeout is -1", id="rhods-negative-timeout"),
    case({"rhods_dsc_timeout": 0}, "rhods_dsc_timeout is 0", id="rhods-zero-timeout"),
    case({"rhods_ready_timeout": "ten minutes"}, "rhods_ready_timeout is of type str",
         id="rhods-timeout-text"),
    case({"rhods_components": "dashboard"}, "rhods_components is of type str", id="rhods-components-str"),
    case({"rhods_components": {"kserve": "Maybe"}}, "rhods_components.kserve is 'Maybe'",
         id="rhods-component-state"),
    case({"rhods_components": {"ray": {"managementState": "managed"}}},
         "rhods_components.ray is 'managed'", id="rhods-component-mapping-state"),
    case({"rhods_notebook_sizes": [{"name": "Small", "resources": {
        "requests": {"cpu": "1", "memory": "8Gi"}, "limits": {"cpu": "2"}}}]},
         "rhods_notebook_sizes[0].resources.limits.memory is missing", id="size-without-memory"),
    case({"rhods_notebook_sizes": [{"name": "Small", "resources": {
        "requests": {"cpu": "4", "memory": "8Gi"}, "limits": {"cpu": "2", "memory": "8GB"}}}]},
         "rhods_notebook_sizes[0] (Small).resources.limits.memory is '8GB'",
         "rhods_notebook_sizes[0] (Small).resources.requests.cpu 4 is more than limits.cpu 2",
         id="size-bad-quantities"),
    case({"rhods_dashboard_admin_groups": "rhods-admins,ai-admins"},
         "rhods_dashboard_admin_groups is a str, not a list", id="admin-groups-not-a-list"),
    case({"rhods_dashboard_admin_groups": ["system:authenticated"]},
         "rhods_dashboard_admin_groups[0] is system:authenticated", id="admin-groups-everyone"),
    case({"rhods_dashboard_config": {"notebookSizes": []}},
         "rhods_dashboard_config.notebookSizes is set: write it with rhods_notebook_sizes",
         id="dashboard-config-own-field"),
    case({"rhods_operator_namespace": "Redhat_ODS"}, "rhods_operator_namespace 'Redhat_ODS'",
         id="rhods-namespace-dns"),
    case({"rhods_dsc_api_version": "v3"}, "rhods_dsc_api_version is 'v3'", id="rhods-api-version"),
    case({"rhods_existing_dsc": "replace"}, "rhods_existing_dsc is 'replace'", id="rhods-existing-dsc"),
    case({"rhods_subscription_config": ["env"]}, "rhods_subscription_config is of type list",
         id="rhods-subscription-config-list"),
]

MINIO = [
    case({"minio_namespace": "openshift-minio"}, "minio_namespace 'openshift-minio' is reserved",
         id="minio-namespace-openshift"),
    case({"minio_namespace": "kube-minio"}, "minio_namespace 'kube-minio' is reserved",
         id="minio-namespace-kube"),
    case({"minio_namespace": "default"}, "minio_namespace 'default' is reserved",
         id="minio-namespace-default"),
    case({"minio_namespace": "MinIO"}, "minio_namespace 'MinIO' is not a valid DNS-1123 label",
         id="minio-namespace-dns"),
    case({"minio_wait_timeout": -5}, "minio_wait_timeout is -5", id="minio-negative-timeout"),
    case({"minio_s3_timeout": 0}, "minio_s3_timeout is 0", id="minio-zero-timeout"),
    case({"minio_buckets": ["ok-bucket", "Not_A_Bucket"]}, "minio_buckets[1] 'Not_A_Bucket'",
         id="minio-bucket-name"),
    case({"minio_root_user": "ab", "minio_root_password": "long-enough-password"},
         "minio_root_user must have at least 3 characters", id="minio-short-user"),
    case({"minio_root_user": "admin"}, "minio_root_user and minio_root_password go together",
         id="minio-user-without-password"),
    case({"minio_pvc_size": "20GB"}, "minio_pvc_size '20GB' is not a storage quantity",
         id="minio-pvc-size"),
    case({"minio_image_pull_policy": "sometimes"}, "minio_image_pull_policy is 'sometimes'",
         id="minio-pull-policy"),
    case({"minio_s3_endpoint": "minio.example.com"},
         "minio_s3_endpoint 'minio.example.com' must start with http", id="minio-endpoint-url"),
    case({"minio_enabled": "perhaps"}, "minio_enabled is of type str", id="minio-enabled-bool"),
    case({"minio_command": []}, "minio_command must be a non-empty list", id="minio-command-empty"),
    case({"minio_root_password_length": 4}, "minio_root_password_length at least 8",
         id="minio-password-length"),
]

DSP = [
    case({"dsp_projects": "notebook-demo"}, "dsp_projects is a str, not a list",
         id="dsp-projects-string"),
    case({"dsp_projects": [project(), "notebook-demo"]}, "dsp_projects[1] is the str 'notebook-demo'",
         id="dsp-project-string-item"),
    case({"dsp_projects": [project("ok-one"), project("kube-lab")]}, "dsp_projects[1].name 'kube-lab'",
         id="dsp-name-kube"),
    case({"dsp_projects": [project("openshift-ai")]}, "dsp_projects[0].name 'openshift-ai'",
         id="dsp-name-openshift"),
    case({"dsp_projects": [project("default")]}, "dsp_projects[0].name 'default'", id="dsp-name-default"),
    case({"dsp_projects": [project("Bad_Name")]}, "dsp_projects[0].name 'Bad_Name' is not a valid",
         id="dsp-name-dns"),
    case({"dsp_projects": [project("p" * 64)]}, "dsp_projects[0].name", "is 64 characters long",
         id="dsp-name-length"),
    case({"dsp_projects": [{"display_name": "No name"}]}, "dsp_projects[0].name is missing",
         id="dsp-name-missing"),
    case({"dsp_projects": [project(connections=[{"name": "c", "type": "minio", "bucket": "Bad_Bucket"}])]},
         "dsp_projects[0].connections[0].bucket 'Bad_Bucket'", id="dsp-bucket-name"),
    case({"dsp_projects": [project(connections=[s3(secret_key="")])]},
         "dsp_projects[0].connections[0].secret_key is missing", id="dsp-s3-secret-key"),
    case({"dsp_projects": [project(connections=[s3(endpoint="")])]},
         "dsp_projects[0].connections[0].endpoint is missing", id="dsp-s3-endpoint"),
    case({"dsp_projects": [project(connections=[s3(name="c" * 49)])]},
         "dsp_projects[0].connections[0].name", "is 49 characters long", id="dsp-connection-name-length"),
    case({"dsp_projects": [project(connections=[{"name": "c", "type": "minio", "bukcet": "data"}])]},
         "dsp_projects[0].connections[0].bukcet is not a known key (did you mean bucket?)",
         id="dsp-connection-unknown-key"),
    case({"dsp_projects": [project(connections="minio")]},
         "dsp_projects[0].connections is a str, not a list", id="dsp-connections-string"),
    case({"dsp_projects": [project(connections=[s3(), s3()])]},
         "dsp_projects[0].connections[1].name 'ext' is also dsp_projects[0].connections[0].name",
         id="dsp-connection-twice"),
    case({"dsp_projects": [project(access=[{"role": "owner", "users": ["alice"]}])]},
         "dsp_projects[0].access[0].role is 'owner'", id="dsp-access-role"),
    case({"dsp_projects": [project(access=[{"role": "edit"}])]},
         "dsp_projects[0].access[0] names no users and no groups", id="dsp-access-empty"),
    case({"dsp_projects": [project(labels={"team": "data science"})]},
         "dsp_projects[0].labels['team'] 'data science' is not a valid label value",
         id="dsp-label-value"),
    case({"dsp_projects": [project(labels={"bad key": "x"})]},
         "dsp_projects[0].labels key 'bad key'", id="dsp-label-key"),
    case({"dsp_projects": [project(annotations={"example.com/notes": BIG})]},
         "dsp_projects[0].annotations: the object's annotations would be", id="dsp-annotation-size"),
    case({"dsp_projects": [project(modelmesh="perhaps")]},
         "dsp_projects[0].modelmesh is of type str, it must be a bool", id="dsp-modelmesh-bool"),
    case({"dsp_projects": [project("twice"), project("twice")]},
         "dsp_projects[1].name 'twice' is also dsp_projects[0].name", id="dsp-project-twice"),
    case({"dsp_verify_timeout": 0}, "dsp_verify_timeout is 0", id="dsp-zero-timeout"),
    case({"dsp_minio_namespace": "openshift-storage"},
         "dsp_minio_namespace 'openshift-storage' is reserved", id="dsp-minio-namespace"),
    case({"dsp_verify_connections": "sometimes"}, "dsp_verify_connections is 'sometimes'",
         id="dsp-verify-choice"),
    case({"dsp_minio_endpoint": "minio:9000"}, "dsp_minio_endpoint 'minio:9000' must start with http",
         id="dsp-minio-endpoint-url"),
]

NOTEBOOK = [
    case({"custom_notebook_workbenches": [{"name": "no-namespace", "image": "lightgbm:3.3.5"}]},
         "custom_notebook_workbenches[0].namespace is missing", id="workbench-namespace-missing"),
    case({"custom_notebook_workbenches": [bench("one"), bench("two"), bench(storgae_size="1Gi")]},
         "custom_notebook_workbenches[2].storgae_size is not a known key (did you mean storage_size?)",
         id="workbench-unknown-key"),
    case({"custom_notebook_workbenches": [bench(size="Huge")]},
         "custom_notebook_workbenches[0] (bad-wb): size 'Huge' is not one of the sizes the "
         "dashboard offers (rhods_notebook_sizes: Small, Medium, Large, X Large)",
         id="workbench-size-not-offered"),
    case({"custom_notebook_sizes": {"Small": {"requests": {"cpu": "1", "memory": "8Gi"},
                                              "limits": {"cpu": "4", "memory": "8Gi"}}}},
         "custom_notebook_sizes.Small is", "but rhods_notebook_sizes says",
         id="deprecated-sizes-disagree"),
    case({"custom_notebook_workbenches": "demo-lightgbm-workbench"},
         "custom_notebook_workbenches is a str, not a list", id="workbenches-string"),
    case({"custom_notebook_workbenches": [bench(shm_size="2GB")]},
         "custom_notebook_workbenches[0] (bad-wb): shm_size '2GB' is not a Kubernetes quantity",
         id="workbench-shm-size"),
    case({"custom_notebook_workbenches": [bench(storage_size="-1Gi")]},
         "custom_notebook_workbenches[0] (bad-wb): storage_size '-1Gi' must be greater than zero",
         id="workbench-storage-negative"),
    case({"custom_notebook_workbenches": [bench(size="Huge")]},
         "custom_notebook_workbenches[0] (bad-wb): size 'Huge' is not one of the sizes",
         id="workbench-size"),
    case({"custom_notebook_workbenches": [bench("w" * 55)]},
         "custom_notebook_workbenches[0] (" + "w" * 55 + "): name", "has 55 characters, at most 52",
         id="workbench-name-length"),
    case({"custom_notebook_workbenches": [bench("Bad_WB")]},
         "custom_notebook_workbenches[0] (Bad_WB): name 'Bad_WB' is not a valid name",
         id="workbench-name-dns"),
    case({"custom_notebook_workbenches": [bench(namespace="openshift-notebooks")]},
         "custom_notebook_workbenches[0] (bad-wb): namespace 'openshift-notebooks' is reserved",
         id="workbench-namespace-openshift"),
    case({"custom_notebook_workbenches": [bench(namespace="default")]},
         "custom_notebook_workbenches[0] (bad-wb): namespace 'default' is reserved",
         id="workbench-namespace-default"),
    case({"custom_notebook_workbenches": [bench(image="lightgbm")]},
         "custom_notebook_workbenches[0] (bad-wb): image 'lightgbm' must be <imagestream>:<tag>",
         id="workbench-image-reference"),
    case({"custom_notebook_workbenches": [bench(stopped="perhaps")]},
         "custom_notebook_workbenches[0].stopped is of type str, it must be a bool",
         id="workbench-stopped-bool"),
    case({"custom_notebook_workbenches": [bench(access={"user": ["alice"]})]},
         "custom_notebook_workbenches[0].access.user is not a known key (did you mean users?)",
         id="workbench-access-key"),
    case({"custom_notebook_workbenches": [bench(), bench()]},
         "custom_notebook_workbenches[1] (bad-wb): workbench bad-input-team/bad-wb is declared twice",
         id="workbench-twice"),
    case({"custom_notebook_workbenches": [bench(pvc_name="Bad_PVC")]},
         "custom_notebook_workbenches[0] (bad-wb): pvc_name 'Bad_PVC' is not a valid name",
         id="workbench-pvc-name"),
    case({"custom_notebook_workbenches": [bench(description=BIG)]},
         "custom_notebook_workbenches[0] (bad-wb): the object's annotations would be",
         id="workbench-annotation-size"),
    case({"custom_notebook_images": [image(requirements="lightgbm==3.3.5\n")]},
         "custom_notebook_images[0] (bad-image): requirements line 1 ('lightgbm==3.3.5') has no "
         "--hash=sha256", id="image-requirement-without-hash"),
    case({"custom_notebook_images": [image(requirements="lightgbm>=3\n")]},
         "custom_notebook_images[0] (bad-image): requirements line 1 ('lightgbm>=3') is not pinned",
         id="image-requirement-unpinned"),
    case({"custom_notebook_images": [image(tag=3.10)]},
         "custom_notebook_images[0].tag is the number 3.1", id="image-tag-number"),
    case({"custom_notebook_images": [image(source={"type": "git"})]},
         "custom_notebook_images[0] (bad-image): source.type git needs source.uri", id="image-git-uri"),
    case({"custom_notebook_images": [image(source={"type": "svn"})]},
         "custom_notebook_images[0].source.type is 'svn'", id="image-source-type"),
    case({"custom_notebook_images": [image("i" * 60)]},
         "custom_notebook_images[0] (" + "i" * 60 + "): name", "has 60 characters, at most 57",
         id="image-name-length"),
    case({"custom_notebook_images": [image(description=BIG)]},
         "custom_notebook_images[0] (bad-image): the object's annotations would be",
         id="image-annotation-size"),
    case({"custom_notebook_build_timeout": 0}, "custom_notebook_build_timeout is 0",
         id="notebook-build-timeout"),
    case({"custom_notebook_wait_timeout": -1}, "custom_notebook_wait_timeout is -1",
         id="notebook-wait-timeout"),
    case({"custom_notebook_trigger_grace": -1}, "custom_notebook_trigger_grace is -1",
         id="notebook-trigger-grace"),
    case({"custom_notebook_namespace": "Apps"}, "custom_notebook_namespace 'Apps'",
         id="notebook-namespace-dns"),
]

COLLECTION = [
    case({"rhods_gitops_delivery": "git"}, "rhods_gitops_delivery is 'git'", id="delivery-choice"),
    case({"rhods_gitops_delivery": "GitOps"}, "rhods_gitops_delivery is 'GitOps'", id="delivery-case"),
    case({"rhods_gitops_state_namespace": "kube-system"},
         "rhods_gitops_state_namespace 'kube-system' is reserved", id="state-namespace-reserved"),
    case({"rhods_gitops_state_namespace": "State NS"},
         "rhods_gitops_state_namespace 'State NS' is not a valid DNS-1123 label",
         id="state-namespace-dns"),
    case({"rhods_gitops_delete_data": "sometimes"},
         "rhods_gitops_delete_data is of type str, it must be a bool", id="delete-data-bool"),
    case({"rhods_gitops_no_log": "perhaps"}, "rhods_gitops_no_log is of type str, it must be a bool",
         id="no-log-bool"),
    # Across roles: a workbench in a project of dsp_projects uses a connection it does not declare.
    case({"custom_notebook_workbenches": [bench(namespace="notebook-demo",
                                                data_connections=["aws-connection-other"])]},
         "custom_notebook_workbenches[0] (bad-wb) uses data connection aws-connection-other, which "
         "dsp_projects[0] (notebook-demo) does not declare", id="connection-not-declared"),
]


GITOPS_BOOTSTRAP = [
    case({"gitops_bootstrap_approval": "manual"}, "gitops_bootstrap_approval", "Automatic, Manual",
         id="gitops-bootstrap-approval"),
    case({"gitops_bootstrap_cluster_admin": "perhaps"}, "gitops_bootstrap_cluster_admin",
         id="gitops-bootstrap-cluster-admin"),
    case({"gitops_bootstrap_operator_timeout": "soon"}, "gitops_bootstrap_operator_timeout",
         id="gitops-bootstrap-timeout"),
    case({"gitops_bootstrap_argocd_timeout": 0}, "gitops_bootstrap_argocd_timeout is 0",
         id="gitops-bootstrap-zero-timeout"),
    case({"gitops_bootstrap_argocd_namespace": "Open_GitOps"}, "gitops_bootstrap_argocd_namespace",
         "DNS-1123", id="gitops-bootstrap-namespace"),
    case({"rhods_gitops_delivery": "gitops"}, "rhods_gitops_repo_url is empty",
         id="gitops-without-repository"),
    case({"rhods_gitops_delivery": "gitops", "rhods_gitops_repo_url": "file:///tmp/nowhere.git",
          "rhods_gitops_repo_path": "/etc"}, "rhods_gitops_repo_path '/etc' must be a folder inside",
         id="gitops-absolute-path"),
]


@pytest.mark.parametrize("variables, expected",
                         GITOPS_BOOTSTRAP + RHODS + MINIO + DSP + NOTEBOOK + COLLECTION)
def test_bad_input_fails_naming_the_field_before_any_write(cluster, variables, expected):
    window = AuditWindow(cluster.audit_log)
    res = play(cluster, SITE, variables)
    window.close()
    assert res.rc != 0, str(res)
    for text in expected:
        assert text in res.stdout, str(res)
    assert "nothing was changed" in res.stdout.lower(), str(res)
    assert "TASK [rhods.gitops.gitops_bootstrap" not in res.stdout, str(res)
    written = writes(window.events())
    assert written == [], [(e["verb"], e["requestURI"]) for e in written]


def test_the_table_covers_every_role_with_at_least_60_cases():
    cases = RHODS + MINIO + DSP + NOTEBOOK + COLLECTION + GITOPS_BOOTSTRAP
    assert len(cases) >= 60
    assert all(len(table) >= 3 for table in (RHODS, MINIO, DSP, NOTEBOOK, COLLECTION,
                                               GITOPS_BOOTSTRAP))
