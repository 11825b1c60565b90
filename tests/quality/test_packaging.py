"""Packaging: the collection as Galaxy and Automation Hub ship it.

`ansible-galaxy collection build` (galaxy.yml; build_ignore leaves the test infrastructure
out), an offline install of the tarball into a clean collections path, and then the
INSTALLED collection, not this source tree, runs `rhods.gitops.site` on the cluster as the
automation identity (kubernetes.core from the `ansible` package of the virtualenv).
"""

import json
import os
import re
import sys
import tarfile

from .tools import REPO_ROOT, clean_env, install_collection, run, site_packages, tool

# What the built collection may hold at its top level.
SHIPPED = {"MANIFEST.json", "FILES.json", "README.md", "CHANGELOG.rst", "LICENSE", "COPYING",
           "site.yml", "requirements.txt", "bindep.txt", "execution-environment.yml",
           ".ansible-lint", ".yamllint", "changelogs", "docs", "extensions", "meta",
           "playbooks", "plugins", "roles", "tests",
           # The manifests the defaults render, as Argo CD syncs them (gitops delivery).
           "gitops",
           # The example inventories: one cluster, several clusters (docs/clusters.md).
           "inventory"}
# Test infrastructure that must stay out (tests/cluster/README.md).
NOT_SHIPPED = ("tests/cluster", "tests/integration", "tests/quality", "tests/conftest.py",
               "tests/requirements.txt", "tests/output", "scripts", "extensions/molecule",
               ".venv", ".git", "creds.env", "build")


def leaked(name):
    return (any(name == path or name.startswith(path + "/") for path in NOT_SHIPPED)
            or "__pycache__" in name.split("/") or name.endswith(".pyc"))


def test_tarball_holds_the_collection_and_no_test_infrastructure(built_collection):
    with tarfile.open(built_collection) as tar:
        names = [m.name for m in tar.getmembers()]
    top = {name.split("/", 1)[0] for name in names}
    assert top <= SHIPPED, "unexpected files in the collection (add them to build_ignore in " \
        "galaxy.yml, or remove them): %s" % sorted(top - SHIPPED)
    bad = sorted(name for name in names if leaked(name))
    assert not bad, "test infrastructure in the collection: %s" % bad[:20]
    for required in ("meta/runtime.yml", "meta/execution-environment.yml", "playbooks/site.yml",
                     "requirements.txt", "docs/rbac/automation-clusterrole.yml"):
        assert required in names, required
    for module in os.listdir(os.path.join(REPO_ROOT, "plugins", "modules")):
        if module.endswith(".py"):
            assert "plugins/modules/" + module in names, module
    for role in os.listdir(os.path.join(REPO_ROOT, "roles")):
        assert "roles/%s/meta/argument_specs.yml" % role in names, role


def test_installed_collection_verifies_offline(built_collection, tmp_path):
    """A pristine install of the tarball: the shared ``installed_collection`` runs playbooks in
    other tests, and Python may leave bytecode caches (``__pycache__``) in it, which ``verify``
    reports as modified content."""
    installed_collection = str(tmp_path / "pristine")
    install_collection(built_collection, installed_collection)
    env = clean_env(ANSIBLE_COLLECTIONS_PATH=installed_collection)
    res = run([tool("ansible-galaxy"), "collection", "verify", "rhods.gitops", "--offline",
               "-p", installed_collection], cwd=installed_collection, env=env)
    assert res.rc == 0 and "Successfully verified" in res.output, str(res)
    res = run([tool("ansible-galaxy"), "collection", "list", "rhods.gitops", "--format", "json",
               "-p", installed_collection], cwd=installed_collection, env=env)
    assert res.rc == 0, str(res)
    listed = json.loads(res.output[res.output.index("{"):])
    assert any("rhods.gitops" in paths for paths in listed.values()), str(res)


def test_installed_collection_runs_site(cluster, installed_collection, s3_stand_in, tmp_path):
    """`ansible-playbook rhods.gitops.site` from an empty directory: every role, task file
    and module comes from the installed collection."""
    extra = tmp_path / "extra-vars.json"
    extra.write_text(json.dumps(s3_stand_in))
    os.chmod(str(extra), 0o600)
    env = clean_env(
        KUBECONFIG=cluster.automation_kubeconfig,
        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([installed_collection, site_packages()]),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_STDOUT_CALLBACK="default",
        HOME=str(tmp_path),
    )
    res = run([tool("ansible-playbook"), "-i", "localhost,", "-e", "@" + str(extra),
               "rhods.gitops.site"], cwd=str(tmp_path), env=env)
    assert res.rc == 0, str(res)
    assert re.search(r"failed=0\s", res.output), str(res)
    installed = os.path.join(installed_collection, "ansible_collections", "rhods", "gitops")
    included = re.findall(r"^included: (\S+)", res.output, re.M)
    assert included, str(res)
    elsewhere = [path for path in included if not path.startswith(installed)]
    assert not elsewhere, "task files came from outside the installed collection: %s" % elsewhere
    for part in ("roles", "plugins", "playbooks"):
        assert "%s/%s/" % (REPO_ROOT, part) not in res.output, str(res)
