"""The collection as Ansible Automation Platform runs it (docs/aap.md).

- extensions/aap/controller_templates.yml is exactly what scripts/gen-docs renders from the
  roles' argument specs, and its surveys are valid AWX survey specs;
- execution-environment.yml (ansible-builder v3) makes a build context with the collection
  in it, and the collection's meta/execution-environment.yml brings its Python and system
  packages (no image is built here: there is no container runtime on these machines);
- site.yml runs the way an AAP job runs it: through ansible-runner, authenticated ONLY by
  the K8S_AUTH_HOST / K8S_AUTH_API_KEY / K8S_AUTH_SSL_CA_CERT variables the "OpenShift or
  Kubernetes API Bearer Token" credential injects (the automation identity's token; no
  KUBECONFIG, no ~/.kube/config), with the survey's answers as extra variables, sent the
  way a survey sends them (strings for numbers and booleans), and the collection installed
  from its tarball as in the execution environment.
"""

import difflib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import sys

import pytest
import yaml

from .tools import REPO_ROOT, AUTOMATION_USER, clean_env, galaxy_version, install_collection, \
    kubeconfig_credential, run, site_packages, tool

sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from integration.audit import AuditWindow  # noqa: E402  pylint: disable=wrong-import-position

TEMPLATES = os.path.join(REPO_ROOT, "extensions", "aap", "controller_templates.yml")
CONFIG = os.path.join(REPO_ROOT, "extensions", "aap", "controller_config.yml")
SURVEY_TYPES = {"text", "textarea", "password", "integer", "float", "multiplechoice",
                "multiselect"}


def gen_docs():
    loader = importlib.machinery.SourceFileLoader(
        "gen_docs", os.path.join(REPO_ROOT, "scripts", "gen-docs"))
    spec = importlib.util.spec_from_loader("gen_docs", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def templates():
    return {t["name"]: t for t in load(TEMPLATES)["controller_templates"]}


# ---------------------------------------------------------------- configuration as code

def test_committed_job_templates_are_what_the_argument_specs_render():
    with open(TEMPLATES, encoding="utf-8") as handle:
        committed = handle.read()
    generated = gen_docs().render_templates()
    assert committed == generated, (
        "extensions/aap/controller_templates.yml is out of date: run scripts/gen-docs\n"
        + "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True),
                                       "committed", "generated")))


def test_surveys_are_valid_and_ask_for_every_scalar_role_option():
    module = gen_docs()
    config = load(CONFIG)
    names = {
        "project": {p["name"] for p in config["controller_projects"]},
        "inventory": {i["name"] for i in config["controller_inventories"]},
        "credentials": {c["name"] for c in config["controller_credentials"]},
        "execution_environment": {e["name"] for e in config["controller_execution_environments"]},
    }
    assert {c["credential_type"] for c in config["controller_credentials"]} == {
        "OpenShift or Kubernetes API Bearer Token"}
    found = templates()
    assert set(found) == {"rhods.gitops site", "rhods.gitops credentials",
                          "rhods.gitops teardown"}
    for name, item in found.items():
        assert item["project"] in names["project"], name
        assert item["inventory"] in names["inventory"], name
        assert set(item["credentials"]) <= names["credentials"], name
        assert item["execution_environment"] in names["execution_environment"], name
        assert os.path.exists(os.path.join(REPO_ROOT, item["playbook"])), name
        spec = item["survey_spec"]["spec"]
        variables = [q["variable"] for q in spec]
        assert len(variables) == len(set(variables)), "%s: duplicate survey variables" % name
        for q in spec:
            assert q["type"] in SURVEY_TYPES, q
            assert q["question_name"] and q["question_description"], q
            if q["type"] == "multiplechoice":
                assert q["default"] in q["choices"], q
    # Every scalar option of every role that site.yml runs is a question of the site survey,
    # with the type the argument spec gives it.
    site = {q["variable"]: q for q in found["rhods.gitops site"]["survey_spec"]["spec"]}
    expected_types = {"int": "integer", "float": "float", "str": "text", "path": "text"}
    for role in module.site_roles():
        for option, spec in ((module.role_specs(role).get("main") or {}).get("options")
                             or {}).items():
            spec = spec or {}
            kind = spec.get("type", "str")
            if kind not in module.SCALARS or module.is_template(spec.get("default")):
                assert option not in site, option
                continue
            assert option in site, "the site survey does not ask for %s (role %s)" % (option, role)
            q = site[option]
            if spec.get("no_log"):
                assert q["type"] == "password", option
            elif kind == "bool":
                assert q["choices"] == ["true", "false"], option
            elif spec.get("choices"):
                assert q["choices"] == [str(c) for c in spec["choices"]], option
            else:
                assert q["type"] == expected_types[kind], option


# ---------------------------------------------------------------- execution environment

def test_execution_environment_build_context(built_collection, tmp_path):
    """`ansible-builder create` validates execution-environment.yml against the v3 schema and
    writes the build context; `ansible-builder introspect` shows that the installed
    collection's meta/execution-environment.yml brings requirements.txt and bindep.txt."""
    ee_dir = tmp_path / "ee"
    (ee_dir / "build").mkdir(parents=True)
    shutil.copyfile(os.path.join(REPO_ROOT, "execution-environment.yml"),
                    str(ee_dir / "execution-environment.yml"))
    shutil.copy(built_collection, str(ee_dir / "build"))
    context = tmp_path / "context"
    res = run([tool("ansible-builder"), "create", "-f", str(ee_dir / "execution-environment.yml"),
               "--context", str(context), "--output-filename", "Containerfile", "-v", "3"],
              cwd=str(ee_dir), env=clean_env())
    assert res.rc == 0, str(res)
    assert "No matches" not in res.output and "does not exist" not in res.output, str(res)
    containerfile = (context / "Containerfile").read_text()
    namespace, name, version = galaxy_version()
    assert (context / "_build" / "collections" /
            ("%s-%s-%s.tar.gz" % (namespace, name, version))).exists(), str(res)
    assert "ansible-galaxy collection install --offline --no-deps" in containerfile, containerfile
    assert "kubernetes.core" in (context / "_build" / "requirements.yml").read_text()
    assert "introspect.py introspect" in containerfile, containerfile

    collections = tmp_path / "collections"
    install_collection(built_collection, str(collections))
    res = run([tool("ansible-builder"), "introspect", str(collections)], env=clean_env())
    assert res.rc == 0, str(res)
    data = yaml.safe_load(res.output[res.output.index("---"):].split("[WARNING]")[0])
    python = " ".join(data.get("python") or [])
    system = " ".join(data.get("system") or [])
    with open(os.path.join(REPO_ROOT, "requirements.txt"), encoding="utf-8") as handle:
        wanted = [line.split("#")[0].strip() for line in handle if line.split("#")[0].strip()]
    for requirement in wanted:
        assert requirement in python, "%s missing from the introspected Python packages:\n%s" % (
            requirement, res)
    assert "git" in system, str(res)


# ---------------------------------------------------------------- a job, as AAP runs it

def survey_answers(template_name, overrides):
    """The extra variables a survey sends when every question keeps its default: strings
    for text and choices, and (worse than AAP, which sends integers as numbers) strings
    for numbers too, as a survey of type text or a typed prompt would."""
    answers = {}
    for q in templates()[template_name]["survey_spec"]["spec"]:
        if q["type"] == "password" and not q.get("default"):
            continue
        if "default" in q:
            answers[q["variable"]] = str(q["default"])
    answers.update(overrides)
    return answers


@pytest.fixture
def job_environment(monkeypatch, tmp_path):
    """What an AAP job process has: no KUBECONFIG, no ~/.kube/config, no K8S_AUTH_* but the
    credential's, no collections path of this checkout."""
    for key in list(os.environ):
        if key == "KUBECONFIG" or key.startswith("K8S_AUTH_") or key.startswith("ANSIBLE_"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_site_runs_as_an_aap_job(cluster, installed_collection, s3_stand_in, job_environment,
                                 tmp_path):
    import ansible_runner  # pylint: disable=import-outside-toplevel

    assert not (job_environment / ".kube").exists()
    credential = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))
    private = tmp_path / "job"
    project = private / "project"
    project.mkdir(parents=True)
    # The project checkout: the job template's playbook is site.yml at its root.
    shutil.copyfile(os.path.join(REPO_ROOT, "site.yml"), str(project / "site.yml"))
    extravars = survey_answers("rhods.gitops site", {k: str(v) for k, v in s3_stand_in.items()})
    envvars = {
        # The "OpenShift or Kubernetes API Bearer Token" credential.
        "K8S_AUTH_HOST": credential["host"],
        "K8S_AUTH_API_KEY": credential["api_key"],
        "K8S_AUTH_SSL_CA_CERT": credential["ca_cert"],
        # The execution environment: rhods.gitops installed from its tarball, kubernetes.core
        # from the `ansible` package.
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([installed_collection, site_packages()]),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable}}}}
    window = AuditWindow(cluster.audit_log) if cluster.audit_log else None
    result = ansible_runner.run(private_data_dir=str(private), playbook="site.yml",
                                inventory=inventory, extravars=extravars, envvars=envvars,
                                quiet=True, timeout=1800)
    stdout = result.stdout.read()
    assert result.status == "successful" and result.rc == 0, (
        "status=%s rc=%s\nextra vars: %s\n%s" % (result.status, result.rc,
                                                 json.dumps(extravars, sort_keys=True),
                                                 stdout[-20000:]))
    assert not result.stats.get("failures"), stdout[-20000:]
    assert credential["api_key"] not in stdout, "the bearer token was printed"
    # The job used the installed collection, not this checkout.
    assert REPO_ROOT + "/roles" not in stdout and ".cache/rhods-gitops/collections" not in stdout
    if window is not None:
        events = window.close().events(AUTOMATION_USER)
        assert events, "no request of %s reached the API server: whose token was used?" % (
            AUTOMATION_USER)
