"""The automation identity's rights (docs/rbac/automation-clusterrole.yml, docs/rbac.md).

A token that lacks one permission gets an error that names the verb and the resource and
says what to grant: a ServiceAccount bound to a copy of the ClusterRole minus the
`kubeflow.org notebooks` rule applies a workbench and fails with such a message; bound to
the complete copy, the same run succeeds. And docs/rbac.md explains every rule.
"""

import json
import os
import sys
import time
import uuid

import pytest
import yaml

from .tools import REPO_ROOT, clean_env, kubeconfig_credential, run, source_collection_path, \
    tool

CLUSTERROLE = os.path.join(REPO_ROOT, "docs", "rbac", "automation-clusterrole.yml")
RBAC_DOC = os.path.join(REPO_ROOT, "docs", "rbac.md")
PLAYBOOK = os.path.join(REPO_ROOT, "tests", "quality", "playbooks", "rbac_probe.yml")
NOTEBOOK_CRD = os.path.join(REPO_ROOT, "tests", "cluster", "crds", "operators", "rhods-operator",
                            "kubeflow.org.yaml")


def load_role():
    with open(CLUSTERROLE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def without(role, group, resource):
    """The ClusterRole without ``resource`` of ``group`` (other resources of a rule stay)."""
    rules = []
    for rule in role["rules"]:
        if group in rule.get("apiGroups", []) and resource in rule.get("resources", []):
            rest = [r for r in rule["resources"] if r != resource]
            if rest:
                rules.append(dict(rule, resources=rest))
            continue
        rules.append(rule)
    assert rules != role["rules"], "%s %s is not in %s" % (group, resource, CLUSTERROLE)
    return rules


def wait_until(cluster, allowed, verb, resource, namespace, user, timeout=30):
    """RBAC changes reach the authorizer within moments; wait for the expected answer."""
    deadline = time.monotonic() + timeout
    while True:
        res = cluster.kubectl("auth", "can-i", verb, resource, "-n", namespace, "--as", user,
                              check=False)
        if (res.stdout.strip() == "yes") == allowed:
            return
        if time.monotonic() > deadline:
            raise AssertionError("%s can-i %s %s: still %s" % (user, verb, resource, res.stdout))
        time.sleep(0.2)


@pytest.fixture
def reduced_identity(cluster, tmp_path):
    """A ServiceAccount bound to the ClusterRole minus kubeflow.org notebooks, its token."""
    suffix = uuid.uuid4().hex[:6]
    namespace = "rhods-gitops-rbac-" + suffix
    role_name = "rhods-gitops-automation-reduced-" + suffix
    user = "system:serviceaccount:%s:automation" % namespace
    if cluster.kubectl("get", "crd", "notebooks.kubeflow.org", check=False).returncode != 0:
        # Before the simulated operator is installed (a fresh local control plane).
        cluster.kubectl("apply", "--server-side", "-f", NOTEBOOK_CRD)
        cluster.kubectl("wait", "--for", "condition=Established", "--timeout", "60s",
                        "crd/notebooks.kubeflow.org")
    role = load_role()
    manifests = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "automation", "namespace": namespace}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": role_name},
         "rules": without(role, "kubeflow.org", "notebooks")},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": role_name + "-complete"}, "rules": role["rules"]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": role_name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": role_name},
         "subjects": [{"kind": "ServiceAccount", "name": "automation",
                       "namespace": namespace}]},
    ]
    cluster.kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all(manifests))
    try:
        token = cluster.kubectl("create", "token", "automation", "-n", namespace,
                                "--duration", "20m").stdout.strip()
        assert token
        wait_until(cluster, False, "patch", "notebooks.kubeflow.org", namespace, user)
        wait_until(cluster, True, "patch", "configmaps", namespace, user)
        yield {"namespace": namespace, "token": token, "user": user, "role": role_name}
    finally:
        cluster.kubectl("delete", "clusterrolebinding", role_name, "--ignore-not-found",
                        check=False)
        cluster.kubectl("delete", "clusterrole", role_name, role_name + "-complete",
                        "--ignore-not-found", check=False)
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", "--ignore-not-found",
                        check=False)


def apply_workbench(cluster, identity, tmp_path):
    server = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))
    extra = tmp_path / "extra-vars.json"
    extra.write_text(json.dumps({"probe_namespace": identity["namespace"]}))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=source_collection_path(),
                    ANSIBLE_PYTHON_INTERPRETER=sys.executable, HOME=str(home),
                    ANSIBLE_LOCALHOST_WARNING="false",
                    ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
                    K8S_AUTH_HOST=server["host"], K8S_AUTH_SSL_CA_CERT=server["ca_cert"],
                    K8S_AUTH_API_KEY=identity["token"])
    return run([tool("ansible-playbook"), "-i", "localhost,", "-e", "@" + str(extra), PLAYBOOK],
               cwd=str(tmp_path), env=env, timeout=600)


def test_missing_permission_is_named_with_what_to_grant(cluster, reduced_identity, tmp_path):
    res = apply_workbench(cluster, reduced_identity, tmp_path)
    assert res.rc != 0, str(res)
    output = res.output
    # The API server's own words: who, which verb, which resource of which group, where.
    assert 'resource "notebooks" in API group "kubeflow.org"' in output, str(res)
    assert reduced_identity["user"] in output, str(res)
    assert any('cannot %s resource "notebooks"' % verb in output
               for verb in ("get", "list", "watch", "create", "patch", "update")), str(res)
    # And the collection's: what to grant, and where the rights are documented.
    assert "grant" in output and "docs/rbac/automation-clusterrole.yml" in output, str(res)
    assert "Traceback" not in output, str(res)
    assert reduced_identity["token"] not in output, "the token was printed"

    # The same run with the complete ClusterRole succeeds: the missing rule was the cause.
    # (A binding's roleRef is immutable: recreate it.)
    cluster.kubectl("delete", "clusterrolebinding", reduced_identity["role"])
    cluster.kubectl("create", "clusterrolebinding", reduced_identity["role"],
                    "--clusterrole", reduced_identity["role"] + "-complete",
                    "--serviceaccount", "%s:automation" % reduced_identity["namespace"])
    wait_until(cluster, True, "patch", "notebooks.kubeflow.org", reduced_identity["namespace"],
               reduced_identity["user"])
    again = apply_workbench(cluster, reduced_identity, tmp_path)
    assert again.rc == 0, str(again)


def test_rbac_doc_explains_every_rule():
    with open(RBAC_DOC, encoding="utf-8") as handle:
        doc = handle.read()
    missing = []
    for rule in load_role()["rules"]:
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                if "`%s`" % resource not in doc or (group and "`%s`" % group not in doc):
                    missing.append("%s %s" % (group or "core", resource))
    assert not missing, "docs/rbac.md does not explain: %s" % ", ".join(sorted(set(missing)))
