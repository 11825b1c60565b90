"""The quality gates of the Ansible ecosystem, one test per gate (docs/testing.md).

Each test runs the tool the way a maintainer or a certification pipeline would and asserts
its exit code; on failure the message is the tool's own output, so the report names the
file, the line and the rule.

- ansible-test sanity, every test it offers, on the BUILT collection (what Galaxy and
  Automation Hub see: build_ignore leaves the test infrastructure out), offline;
- ansible-lint, production profile (.ansible-lint);
- yamllint (.yamllint), strict;
- antsibull-changelog lint, and every module, role and playbook named in a fragment;
- ansible-doc renders every module, role and filter of the collection;
- role argument specs reject a wrong type with the spec's message, before any task;
- docs/variables.md is what scripts/gen-docs renders from the argument specs.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from .tools import REPO_ROOT, clean_env, install_collection, run, site_packages, \
    source_collection_path, tool

MODULES = sorted(os.path.splitext(os.path.basename(p))[0]
                 for p in glob.glob(os.path.join(REPO_ROOT, "plugins", "modules", "*.py"))
                 if not p.endswith("__init__.py"))
ROLES = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
               for p in glob.glob(os.path.join(REPO_ROOT, "roles", "*", "meta",
                                               "argument_specs.yml")))
PLAYBOOKS = sorted(os.path.splitext(os.path.basename(p))[0]
                   for p in glob.glob(os.path.join(REPO_ROOT, "playbooks", "*.yml")))


def source_env(**extra):
    """rhods.gitops resolves to this source tree; no cluster credentials."""
    return clean_env(ANSIBLE_COLLECTIONS_PATH=source_collection_path(), **extra)


# ---------------------------------------------------------------- ansible-test sanity

GET_PIP = os.path.join(REPO_ROOT, "tests", "sanity", "get-pip.py")
GET_PIP_MARKER = "Offline stand-in for https://ci-files.testing.ansible.com"


def _ansible_test_pip_version():
    """The pip version ansible-test bootstraps into its virtual environments."""
    import ansible_test  # pylint: disable=import-outside-toplevel
    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal",
                          "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        match = re.search(r"default_packages = dict\(\s*pip='([0-9.]+)'", handle.read())
    assert match, "cannot find the pip version ansible-test wants in %s" % source
    return match.group(1)


def _provide_get_pip():
    """Put tests/sanity/get-pip.py where ansible-test looks for its cached bootstrap
    script (it would download it from a host the build machines cannot reach); a real
    downloaded script already there is kept."""
    version = _ansible_test_pip_version()
    target = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(target):
        with open(target, encoding="utf-8") as handle:
            if GET_PIP_MARKER not in handle.read():
                return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(GET_PIP, target)
    return target


def test_ansible_test_sanity(built_collection, tmp_path):
    """Every sanity test ansible-test offers, in its own virtual environments (--venv),
    on the collection as built and installed (the layout ansible-test requires:
    ansible_collections/rhods/gitops, listed by git), with kubernetes.core next to it
    for the doc fragments our modules extend."""
    _provide_get_pip()
    base = str(tmp_path)
    install_collection(built_collection, base)
    root = os.path.join(base, "ansible_collections", "rhods", "gitops")
    shutil.copytree(os.path.join(site_packages(), "ansible_collections", "kubernetes", "core"),
                    os.path.join(base, "ansible_collections", "kubernetes", "core"),
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with open(os.path.join(root, ".gitignore"), "w", encoding="utf-8") as handle:
        handle.write("/tests/output/\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    python = "%d.%d" % sys.version_info[:2]
    res = run([tool("ansible-test"), "sanity", "--venv", "--python", python, "--color", "no"],
              cwd=root, env=clean_env(), timeout=2400)
    assert res.rc == 0, str(res)


# ---------------------------------------------------------------- linters

def test_ansible_lint_production_profile():
    res = run([tool("ansible-lint"), "--format", "pep8", "--nocolor"],
              env=source_env(), timeout=900)
    assert res.rc == 0, str(res)


def test_yamllint():
    res = run([tool("yamllint"), "--strict", "-f", "parsable", "."], env=clean_env())
    assert res.rc == 0, str(res)


def test_changelog_lint():
    res = run([tool("antsibull-changelog"), "lint"], env=clean_env())
    assert res.rc == 0 and not res.output.strip(), str(res)


def _changelog_text():
    parts = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "changelogs", "fragments", "*.y*ml"))
                       + [os.path.join(REPO_ROOT, "changelogs", "changelog.yaml")]):
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                parts.append(handle.read())
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["module " + m for m in MODULES]
                         + ["role " + r for r in ROLES]
                         + ["playbook " + p for p in PLAYBOOKS])
def test_changelog_names_every_module_role_and_playbook(name):
    """A user-visible addition comes with a changelog fragment that names it."""
    fqcn = "rhods.gitops." + name.split(" ", 1)[1]
    assert re.search(re.escape(fqcn) + r"(?![\w.])", _changelog_text()), (
        "no changelog fragment (changelogs/fragments/*.yml) names the %s %s: add one, "
        "e.g. 'major_changes: [New %s ``%s`` ...]'" % (name.split()[0], fqcn, name.split()[0], fqcn))


# ---------------------------------------------------------------- ansible-doc

@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_module(module):
    res = run([tool("ansible-doc"), "-t", "module", "rhods.gitops." + module],
              env=source_env())
    assert res.rc == 0, str(res)
    assert "[WARNING]" not in res.output and "[ERROR]" not in res.output, str(res)
    for section in ("OPTIONS", "EXAMPLES:", "RETURN VALUES:"):
        assert section in res.output, "%s has no %s\n%s" % (module, section, res)


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_role(role):
    res = run([tool("ansible-doc"), "-t", "role", "rhods.gitops." + role], env=source_env())
    assert res.rc == 0, str(res)
    assert "[WARNING]" not in res.output and "[ERROR]" not in res.output, str(res)


def test_ansible_doc_lists_every_module_and_filter():
    """A plugin whose documentation does not parse is silently left out of the list."""
    res = run([tool("ansible-doc"), "-t", "module", "-l", "rhods.gitops", "--json"],
              env=source_env())
    assert res.rc == 0, str(res)
    listed = {k.rsplit(".", 1)[1] for k in yaml.safe_load(res.output[res.output.index("{"):])}
    assert listed == set(MODULES), str(res)
    filters = sorted(os.path.splitext(os.path.basename(p))[0]
                     for p in glob.glob(os.path.join(REPO_ROOT, "plugins", "filter", "*.yml")))
    for name in filters:
        res = run([tool("ansible-doc"), "-t", "filter", "rhods.gitops." + name], env=source_env())
        assert res.rc == 0 and "[WARNING]" not in res.output, str(res)


# ---------------------------------------------------------------- role argument specs

WRONG = {"int": "not-a-number", "bool": "maybe", "list": {"not": "a list"},
         "dict": "not a dict"}
EXPECTED = {"int": "unable to convert to int", "bool": "unable to convert to bool",
            "list": "unable to convert to list", "dict": "unable to convert to dict"}


def _wrong_type_option(role):
    with open(os.path.join(REPO_ROOT, "roles", role, "meta", "argument_specs.yml"),
              encoding="utf-8") as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    for kind in ("int", "bool", "list", "dict"):
        for name, spec in sorted(options.items()):
            if (spec or {}).get("type") == kind and not spec.get("choices"):
                return name, kind
    return None, None


@pytest.mark.parametrize("role", ROLES)
def test_role_argument_spec_rejects_wrong_type(role, tmp_path):
    """Passing a wrong type to a role fails at once, with the spec's message naming the
    variable, before any task talks to a cluster (no kubeconfig is given at all)."""
    option, kind = _wrong_type_option(role)
    if option is None:
        pytest.skip("role %s has no int, bool, list or dict option" % role)
    playbook = tmp_path / "wrong-type.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Wrong type for " + role, "hosts": "localhost", "connection": "local",
        "gather_facts": False,
        "tasks": [{"name": "Include the role",
                   "ansible.builtin.include_role": {"name": "rhods.gitops." + role}}]}]))
    extra = tmp_path / "extra-vars.yml"
    extra.write_text(yaml.safe_dump({option: WRONG[kind]}))
    res = run([tool("ansible-playbook"), "-i", "localhost,", "-e", "@" + str(extra),
               str(playbook)], cwd=str(tmp_path),
              env=source_env(ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                             HOME=str(tmp_path)))
    assert res.rc != 0, str(res)
    assert "Validating arguments against arg spec 'main'" in res.output, str(res)
    assert "argument '%s' is of type" % option in res.output, str(res)
    assert EXPECTED[kind] in res.output, str(res)


# ---------------------------------------------------------------- generated documentation

def test_variables_doc_is_generated_from_the_argument_specs():
    res = run([sys.executable, os.path.join(REPO_ROOT, "scripts", "gen-docs"), "--check"],
              env=clean_env())
    assert res.rc == 0, str(res)
