"""Roles rhods.gitops.minio and rhods.gitops.dsp against the local control plane and a
real S3 server (SeaweedFS on 127.0.0.1).

The plays run as the automation identity (least-privilege ClusterRole of
docs/rbac/automation-clusterrole.yml). MinIO's pod is run by kwok (scheduled, Ready,
but no container listens); the S3 server plays MinIO's S3 API: ``SecretMirror``
gives it the root credentials the role generates in Secret minio-root-user, as
MinIO would read them. Buckets are created and connections verified through
the S3 API for real, including wrong keys and missing buckets.
"""

import base64
import json
import re

import pytest

from .ansible import run_playbook
from .audit import AuditWindow, summary, touching, writes
from .s3server import SecretMirror

MINIO_DIGEST = "sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e"
DEMO_DESCRIPTION = "Project created to demonstrate custom notebook images and notebook instances."
THREE = ("dsp-alpha", "dsp-beta", "dsp-gamma")
EXTERNAL = ("external-team-key", "external-team-secret-Zq81")
SHARED_BUCKET = "team-archive"


# ---------------------------------------------------------------- helpers

def get(cluster, kind, name, namespace=None):
    args = ["get", kind, name, "-o", "json", "--show-managed-fields"]
    if namespace:
        args += ["-n", namespace]
    res = cluster.kubectl(*args, check=False)
    if res.returncode != 0:
        if "NotFound" in res.stderr or "not found" in res.stderr:
            return None
        raise AssertionError(res.stderr)
    return json.loads(res.stdout)


def decoded(secret):
    return {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}


def delete_namespaces(cluster, *names):
    present = [n for n in names if get(cluster, "namespace", n)]
    if not present:
        return
    cluster.kubectl("delete", "namespace", *present, "--wait=false")
    cluster.kubectl("wait", "--for=delete", "--timeout=120s",
                    *["namespace/" + n for n in present], check=False)
    left = [n for n in present if get(cluster, "namespace", n)]
    assert not left, "namespaces not deleted: %s" % left


def sync_wave(obj):
    return obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave")


def managers(obj):
    return {m["manager"] for m in obj["metadata"].get("managedFields") or []}


def play(cluster, playbook, extra_vars, **kwargs):
    return run_playbook(playbook, extra_vars, kubeconfig=cluster.automation_kubeconfig,
                        kube_bin=cluster.kube_bin, **kwargs)


def s3_vars(s3server, **extra):
    """Variables that point MinIO's S3 endpoint (as reached from Ansible) at the test server."""
    out = {"minio_s3_endpoint": s3server.endpoint,
           "dsp_minio_verify_endpoint": s3server.endpoint}
    out.update(extra)
    return out


def secrets_in(text, values):
    """Which of the values (or their base64 forms) occur in ``text``."""
    found = []
    for value in values:
        forms = {value, base64.b64encode(value.encode()).decode()}
        if any(form in text for form in forms):
            found.append(value)
    return found


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def mirror(cluster, s3server):
    helper = SecretMirror(s3server, cluster.kubeconfig).start()
    yield helper
    helper.stop()


@pytest.fixture(scope="module")
def converged(cluster, s3server, mirror):
    """The default play (the demo): a first run, then an idempotent second run."""
    delete_namespaces(cluster, "notebook-demo", "minio")
    variables = s3_vars(s3server)
    first = play(cluster, "storage_and_projects.yml", variables)
    assert first.rc == 0, str(first)
    stored = get(cluster, "secret", "minio-root-user", "minio")
    connection = get(cluster, "secret", "aws-connection-minio", "notebook-demo")
    window = AuditWindow(cluster.audit_log)
    second = play(cluster, "storage_and_projects.yml", variables)
    window.close()
    return {"first": first, "second": second, "window": window, "minio_secret": stored,
            "connection": connection, "vars": variables}


# ---------------------------------------------------------------- the demo

def test_first_run_creates_everything(converged):
    first = converged["first"]
    assert first.failed == 0 and first.changed > 0, str(first)


def test_minio_objects(cluster, converged):
    ns = get(cluster, "namespace", "minio")
    assert ns["metadata"]["annotations"]["openshift.io/display-name"] == "MinIO Object Storage"
    assert sync_wave(ns) == "0"

    secret = get(cluster, "secret", "minio-root-user", "minio")
    creds = decoded(secret)
    assert set(creds) == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}
    assert len(creds["MINIO_ROOT_USER"]) == 20 and re.fullmatch(r"[a-z0-9]+",
                                                                 creds["MINIO_ROOT_USER"])
    assert len(creds["MINIO_ROOT_PASSWORD"]) == 40
    assert creds["MINIO_ROOT_PASSWORD"] not in ("admin", "HvA3zAzZd5gLw2E-CRQYPlWaWnK7vy7n")

    pvc = get(cluster, "pvc", "minio", "minio")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]

    deploy = get(cluster, "deployment", "minio", "minio")
    spec = deploy["spec"]
    container = spec["template"]["spec"]["containers"][0]
    assert spec["strategy"]["type"] == "Recreate"
    assert container["image"].endswith("@" + MINIO_DIGEST)
    assert container["command"] == ["minio", "server", "/data", "--console-address", ":9090"]
    assert container["envFrom"] == [{"secretRef": {"name": "minio-root-user"}}]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"api": 9000,
                                                                          "console": 9090}
    assert spec["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "minio"
    assert deploy["status"].get("availableReplicas") == 1

    svc = get(cluster, "service", "minio", "minio")
    assert {p["name"]: p["port"] for p in svc["spec"]["ports"]} == {"api": 9000, "console": 9090}

    for name, port in (("minio-console", "console"), ("minio-s3", "api")):
        route = get(cluster, "route", name, "minio")
        assert route["spec"]["tls"] == {"termination": "edge",
                                        "insecureEdgeTerminationPolicy": "Redirect"}
        assert route["spec"]["port"]["targetPort"] == port
        assert route["spec"]["to"]["name"] == "minio"
        assert route["status"]["ingress"][0]["host"]

    for obj in (secret, pvc, deploy, svc):
        assert sync_wave(obj) == "1", obj["metadata"]["name"]
        assert "rhods.gitops" in managers(obj)


def test_project_and_connection(cluster, converged):
    ns = get(cluster, "namespace", "notebook-demo")
    labels, annotations = ns["metadata"]["labels"], ns["metadata"]["annotations"]
    assert labels["opendatahub.io/dashboard"] == "true"
    assert labels["modelmesh-enabled"] == "true"
    assert annotations["openshift.io/display-name"] == "Notebook Demo"
    assert annotations["openshift.io/description"] == DEMO_DESCRIPTION
    assert sync_wave(ns) == "0"

    conn = get(cluster, "secret", "aws-connection-minio", "notebook-demo")
    meta = conn["metadata"]
    assert meta["labels"]["opendatahub.io/dashboard"] == "true"
    assert meta["labels"]["opendatahub.io/managed"] == "true"
    assert meta["annotations"]["openshift.io/display-name"] == "MinIO"
    assert meta["annotations"]["opendatahub.io/connection-type"] == "s3"
    assert meta["annotations"]["opendatahub.io/connection-type-ref"] == "s3"
    assert sync_wave(conn) == "1"
    data = decoded(conn)
    minio = decoded(get(cluster, "secret", "minio-root-user", "minio"))
    assert data == {
        "AWS_ACCESS_KEY_ID": minio["MINIO_ROOT_USER"],
        "AWS_SECRET_ACCESS_KEY": minio["MINIO_ROOT_PASSWORD"],
        "AWS_S3_ENDPOINT": "http://minio.minio.svc:9000",
        "AWS_DEFAULT_REGION": "us",
        "AWS_S3_BUCKET": "notebook-demo",
    }


def test_bucket_exists_and_connection_verified_for_real(s3server, converged):
    names = [b["Name"] for b in s3server.client().list_buckets()["Buckets"]]
    assert "notebook-demo" in names
    data = decoded(converged["connection"])
    client = s3server.client(data["AWS_ACCESS_KEY_ID"], data["AWS_SECRET_ACCESS_KEY"], "us")
    client.list_objects_v2(Bucket="notebook-demo", MaxKeys=1)
    out = converged["first"].stdout
    assert "Create the buckets in MinIO" in out and "Verify the data connections" in out


def test_second_run_changes_nothing(cluster, converged):
    second = converged["second"]
    assert second.rc == 0, str(second)
    assert second.changed == 0, str(second)
    assert "changed=0" in second.stdout
    after = get(cluster, "secret", "minio-root-user", "minio")
    assert after["data"] == converged["minio_secret"]["data"]
    assert after["metadata"]["resourceVersion"] == \
        converged["minio_secret"]["metadata"]["resourceVersion"]
    conn = get(cluster, "secret", "aws-connection-minio", "notebook-demo")
    assert conn["data"] == converged["connection"]["data"]


def test_idempotent_run_writes_nothing(converged, record_property):
    events = converged["window"].events()
    stats = summary(events)
    record_property("idempotent_run_requests", json.dumps(stats, sort_keys=True))
    print("idempotent run of minio+dsp: %s requests by the automation identity: %s" % (
        stats["total"], json.dumps(stats, sort_keys=True)))
    assert events, "no request of the automation identity was seen in the audit log"
    mine = writes(touching(events, ["minio", "notebook-demo"]))
    assert mine == [], "an idempotent run wrote: %s" % [(e["verb"], e["requestURI"]) for e in mine]


def test_check_mode_on_converged_cluster_changes_nothing(cluster, converged):
    res = play(cluster, "storage_and_projects.yml", converged["vars"], check=True, diff=True)
    assert res.rc == 0 and res.changed == 0, str(res)


# ---------------------------------------------------------------- three projects

def three_projects_vars(s3server):
    """One variables file: three projects, two connections each, access for users/groups."""
    projects = []
    for index, name in enumerate(THREE):
        projects.append({
            "name": name,
            "display_name": "Team %s" % name.split("-")[1].title(),
            "description": "Project %d of the scale test." % (index + 1),
            "access": [
                {"role": "admin", "users": ["lead-%s" % name]},
                {"role": "edit", "groups": ["data-scientists"], "users": ["Jane.Doe@example.com"]},
                {"role": "view", "groups": ["auditors"]},
            ],
            "connections": [
                {"name": "minio", "display_name": "MinIO", "type": "minio", "bucket": name},
                {"name": "archive", "display_name": "Team archive", "type": "s3",
                 "endpoint": s3server.endpoint, "region": "us-east-1", "bucket": SHARED_BUCKET,
                 "access_key": EXTERNAL[0], "secret_key": EXTERNAL[1], "verify": "always"},
            ],
        })
    # One ApplySet per component for every run of this set of projects, whichever playbook
    # runs it (test_prune_removes_what_is_no_longer_listed changes the set).
    return s3_vars(s3server, minio_buckets=["notebook-demo"] + list(THREE), dsp_projects=projects,
                   rhods_gitops_state_namespace="rhods-gitops-t-three")


@pytest.fixture(scope="module")
def three(cluster, s3server, mirror, converged):
    delete_namespaces(cluster, *THREE)
    s3server.set_identity("external", *EXTERNAL)
    client = s3server.client(*EXTERNAL)
    if SHARED_BUCKET not in [b["Name"] for b in client.list_buckets()["Buckets"]]:
        client.create_bucket(Bucket=SHARED_BUCKET)
    variables = three_projects_vars(s3server)
    check = play(cluster, "storage_and_projects.yml", variables, check=True, diff=True)
    after_check = [n for n in THREE if get(cluster, "namespace", n)]
    first = play(cluster, "storage_and_projects.yml", variables, verbosity=3, diff=True)
    second = play(cluster, "storage_and_projects.yml", variables)
    return {"vars": variables, "check": check, "after_check": after_check, "first": first,
            "second": second}


def test_check_mode_reports_and_creates_nothing(three):
    check = three["check"]
    assert check.rc == 0, str(check)
    assert check.changed > 0, str(check)
    assert three["after_check"] == []


def test_three_projects_two_connections_each(cluster, three):
    assert three["first"].rc == 0, str(three["first"])
    minio = decoded(get(cluster, "secret", "minio-root-user", "minio"))
    for name in THREE:
        ns = get(cluster, "namespace", name)
        assert ns["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
        assert ns["metadata"]["annotations"]["openshift.io/display-name"].startswith("Team ")
        mine = decoded(get(cluster, "secret", "aws-connection-minio", name))
        assert mine["AWS_ACCESS_KEY_ID"] == minio["MINIO_ROOT_USER"]
        assert mine["AWS_S3_BUCKET"] == name
        archive = decoded(get(cluster, "secret", "aws-connection-archive", name))
        assert archive["AWS_ACCESS_KEY_ID"] == EXTERNAL[0]
        assert archive["AWS_SECRET_ACCESS_KEY"] == EXTERNAL[1]
        assert archive["AWS_S3_ENDPOINT"] == three["vars"]["minio_s3_endpoint"]
        bindings = json.loads(cluster.kubectl(
            "get", "rolebindings", "-n", name, "-l", "app.kubernetes.io/managed-by=rhods.gitops",
            "-o", "json").stdout)["items"]
        granted = {(b["roleRef"]["name"], b["subjects"][0]["kind"], b["subjects"][0]["name"])
                   for b in bindings}
        assert granted == {("admin", "User", "lead-" + name), ("edit", "Group", "data-scientists"),
                           ("edit", "User", "Jane.Doe@example.com"), ("view", "Group", "auditors")}
        assert all(b["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
                   for b in bindings)


def test_three_projects_buckets_and_verification(s3server, three):
    names = {b["Name"] for b in s3server.client().list_buckets()["Buckets"]}
    assert set(THREE) <= names
    out = three["first"].stdout
    assert '"verified": 6' in out, out[-4000:]


def test_three_projects_second_run_changes_nothing(three):
    assert three["second"].rc == 0 and three["second"].changed == 0, str(three["second"])


def test_vvv_output_contains_no_secret(cluster, three):
    first = three["first"]
    assert "<127.0.0.1>" in first.stdout or "ESTABLISH LOCAL CONNECTION" in first.stdout
    minio = decoded(get(cluster, "secret", "minio-root-user", "minio"))
    values = [minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"], EXTERNAL[1]]
    assert secrets_in(first.output, values) == []
    for res in (three["check"], three["second"]):
        assert secrets_in(res.output, values) == []


def can_i(cluster, verb, resource, namespace, user):
    res = cluster.kubectl("auth", "can-i", verb, resource, "-n", namespace, "--as", user,
                          check=False)
    return res.stdout.strip() == "yes"


def test_prune_removes_what_is_no_longer_listed(cluster, s3server, three):
    variables = json.loads(json.dumps(three["vars"]))
    alpha = variables["dsp_projects"][0]
    assert can_i(cluster, "get", "secrets", "dsp-alpha", "Jane.Doe@example.com")
    alpha["connections"] = alpha["connections"][:1]
    alpha["access"] = alpha["access"][:1]
    variables["dsp_projects"] = [p for p in variables["dsp_projects"] if p["name"] != "dsp-gamma"]
    # The plan first: --check --diff lists every deletion and writes nothing (dry runs only).
    window = AuditWindow(cluster.audit_log)
    plan = play(cluster, "dsp.yml", variables, check=True, diff=True)
    window.close()
    assert plan.rc == 0 and plan.changed > 0, str(plan)
    assert writes(window.events()) == [], summary(writes(window.events()))
    for ref in ("Secret dsp-alpha/aws-connection-archive", "Secret dsp-gamma/aws-connection-minio",
                "Secret dsp-gamma/aws-connection-archive"):
        assert "+++ after: {0} (deleted)".format(ref) in plan.output, str(plan)
    assert re.search(r"\+\+\+ after: RoleBinding dsp-alpha/\S+ \(deleted\)", plan.output), str(plan)
    assert "+++ after: Namespace dsp-gamma (deleted)" not in plan.output, str(plan)
    assert get(cluster, "secret", "aws-connection-archive", "dsp-alpha") is not None
    res = play(cluster, "dsp.yml", variables)
    assert res.rc == 0 and res.changed > 0, str(res)
    assert get(cluster, "secret", "aws-connection-archive", "dsp-alpha") is None
    assert get(cluster, "secret", "aws-connection-archive", "dsp-beta") is not None
    left = json.loads(cluster.kubectl(
        "get", "rolebindings", "-n", "dsp-alpha", "-l", "app.kubernetes.io/managed-by=rhods.gitops",
        "-o", "json").stdout)["items"]
    assert [b["roleRef"]["name"] for b in left] == ["admin"]
    # Access follows the variables: the API server now denies what the removed entry granted.
    assert not can_i(cluster, "get", "secrets", "dsp-alpha", "Jane.Doe@example.com")
    # The project taken out: its connections (S3 keys) and access are deleted, the namespace
    # (user data) is kept, and the run says so and how to delete it.
    assert get(cluster, "secret", "aws-connection-archive", "dsp-gamma") is None
    assert json.loads(cluster.kubectl(
        "get", "rolebindings", "-n", "dsp-gamma", "-l", "app.kubernetes.io/managed-by=rhods.gitops",
        "-o", "json").stdout)["items"] == []
    assert get(cluster, "namespace", "dsp-gamma") is not None
    assert "kept Namespace dsp-gamma" in res.output, str(res)
    assert "kubectl delete namespace dsp-gamma" in res.output, str(res)
    again = play(cluster, "dsp.yml", variables)
    assert again.rc == 0 and again.changed == 0, str(again)
    # Asked to delete data, the next run deletes the namespace too.
    purge = play(cluster, "dsp.yml", dict(variables, rhods_gitops_delete_data=True))
    assert purge.rc == 0 and purge.changed > 0, str(purge)
    namespace = get(cluster, "namespace", "dsp-gamma")
    assert namespace is None or namespace["metadata"].get("deletionTimestamp"), namespace


# ---------------------------------------------------------------- bad input

BAD_PROJECTS = [
    pytest.param([{"name": "openshift-ai"}], "dsp_projects[0].name", "openshift",
                 id="reserved-openshift"),
    pytest.param([{"name": "ok-one"}, {"name": "kube-lab"}], "dsp_projects[1].name", "kube",
                 id="reserved-kube"),
    pytest.param([{"name": "Bad_Name"}], "dsp_projects[0].name", "DNS-1123", id="invalid-dns"),
    pytest.param([{"name": "ok-two", "connections": [
        {"name": "c", "type": "minio", "bucket": "Bad_Bucket"}]}],
        "dsp_projects[0].connections[0].bucket", "bucket", id="invalid-bucket"),
    pytest.param([{"name": "ok-three", "connections": [
        {"name": "ext", "type": "s3", "endpoint": "https://s3.example.com", "bucket": "data",
         "access_key": "AKIAEXAMPLE"}]}],
        "dsp_projects[0].connections[0].secret_key", "secret", id="missing-secret-key"),
]


@pytest.mark.parametrize("projects, field, word", BAD_PROJECTS)
def test_bad_projects_fail_before_any_change(cluster, projects, field, word):
    window = AuditWindow(cluster.audit_log)
    res = play(cluster, "dsp.yml", {"dsp_projects": projects})
    window.close()
    assert res.rc != 0, str(res)
    assert field in res.stdout and word in res.stdout, str(res)
    assert "nothing was changed" in res.stdout
    assert writes(touching(window.events(), [p["name"] for p in projects])) == []
    for project in projects:
        if re.fullmatch(r"[a-z0-9-]+", project["name"]):
            assert get(cluster, "namespace", project["name"]) is None


def test_bad_minio_bucket_fails_before_any_change(cluster):
    window = AuditWindow(cluster.audit_log)
    res = play(cluster, "minio.yml", {"minio_buckets": ["ok-bucket", "Not_A_Bucket", "ab"]})
    window.close()
    assert res.rc != 0, str(res)
    assert "minio_buckets[1]" in res.stdout and "minio_buckets[2]" in res.stdout, str(res)
    assert touching(window.events(), ["minio"]) == []


# ---------------------------------------------------------------- verification failures

def one_external(s3server, name, **conn):
    base = {"name": "ext", "type": "s3", "endpoint": s3server.endpoint, "bucket": SHARED_BUCKET,
            "access_key": EXTERNAL[0], "secret_key": EXTERNAL[1]}
    base.update(conn)
    return {"dsp_projects": [{"name": name, "connections": [base]}]}


@pytest.mark.parametrize("conn, expected", [
    pytest.param({"secret_key": "not-the-secret-key"}, "secret access key is wrong",
                 id="wrong-secret-key"),
    pytest.param({"access_key": "no-such-access-key"}, "access key ID is not known",
                 id="unknown-access-key"),
    pytest.param({"bucket": "no-such-bucket"}, "does not exist", id="missing-bucket"),
])
def test_connection_verification_failures(cluster, s3server, three, conn, expected):
    res = play(cluster, "dsp.yml", one_external(s3server, "dsp-negative", **conn))
    assert res.rc != 0, str(res)
    assert "dsp-negative/aws-connection-ext" in res.stdout, str(res)
    assert expected in res.stdout, str(res)
    assert "dsp_projects[0].connections[0]" in res.stdout
    assert get(cluster, "namespace", "dsp-negative") is None
    assert secrets_in(res.output, [conn.get("secret_key", EXTERNAL[1])]) == []


def test_unreachable_endpoint_is_skipped_in_auto_and_fails_in_always(cluster, s3server, three):
    dead = "http://127.0.0.1:9"
    res = play(cluster, "dsp.yml", one_external(s3server, "dsp-negative", endpoint=dead),
               check=True)
    assert res.rc == 0, str(res)
    assert "not reachable from where Ansible runs" in res.output, str(res)
    res = play(cluster, "dsp.yml", one_external(s3server, "dsp-negative", endpoint=dead,
                                                verify="always"), check=True)
    assert res.rc != 0 and "cannot be reached" in res.output, str(res)


# ---------------------------------------------------------------- MinIO that never becomes available

@pytest.mark.parametrize("fault, reason", [("crash-loop", "CrashLoopBackOff"),
                                           ("image-pull", "ImagePullBackOff")])
def test_minio_that_never_gets_ready_names_its_pod_problem(cluster, fault, reason):
    # kwok's fault stages (tests/cluster/README.md, "Failure injection") pick the pod by its
    # image host; the Deployment controller then reports it unavailable, as on a real cluster.
    namespace = "minio-" + fault
    delete_namespaces(cluster, namespace)
    try:
        res = play(cluster, "minio.yml", {
            "minio_namespace": namespace, "minio_create_buckets": False,
            "minio_image": "%s.fault.localcluster.test/minio/minio:1" % fault,
            "minio_wait_timeout": 20})
        assert res.rc != 0, str(res)
        assert "Pod %s/minio-" % namespace in res.stdout, str(res)
        assert "container minio is waiting: %s" % reason in res.stdout, str(res)
    finally:
        delete_namespaces(cluster, namespace)
