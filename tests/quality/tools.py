"""Helpers of the quality gates: run a tool and show its output when it fails, build and
install the collection, read the parts of a kubeconfig an AAP credential carries."""

import base64
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)
AUTOMATION_USER = "rhods-gitops-automation"


def tool(name):
    """A console script of this virtual environment (ansible-lint, molecule, ...)."""
    path = os.path.join(VENV_BIN, name)
    return path if os.access(path, os.X_OK) else (shutil.which(name) or name)


class Result:
    def __init__(self, cmd, rc, output, elapsed):
        self.cmd = cmd
        self.rc = rc
        self.output = output
        self.elapsed = elapsed

    def __str__(self):
        tail = self.output if len(self.output) < 60000 else \
            "[... %d characters cut ...]\n%s" % (len(self.output) - 60000, self.output[-60000:])
        return "$ %s\nexit %s after %.1fs\n%s" % (" ".join(self.cmd), self.rc, self.elapsed, tail)


def run(cmd, cwd=REPO_ROOT, env=None, timeout=1800, input_text=None):
    """Run a command, stdout and stderr together (in the order they were written)."""
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout,
                          input=input_text, check=False)
    return Result(cmd, proc.returncode, proc.stdout, time.monotonic() - start)


def clean_env(**extra):
    """os.environ without cluster credentials (KUBECONFIG, K8S_AUTH_*), plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if k != "KUBECONFIG" and not k.startswith("K8S_AUTH_")}
    env.update({"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "NO_COLOR": "1",
                "PY_COLORS": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def site_packages():
    """The directory whose ansible_collections holds kubernetes.core (the `ansible` package)."""
    spec = importlib.util.find_spec("ansible_collections.kubernetes.core")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("kubernetes.core is not installed in this Python environment")
    core = list(spec.submodule_search_locations)[0]
    return os.path.dirname(os.path.dirname(os.path.dirname(core)))


def source_collection_path():
    """A collections path whose ansible_collections/rhods/gitops is this source tree."""
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
    from integration.ansible import collection_path  # pylint: disable=import-outside-toplevel
    return collection_path()


def galaxy_version():
    with open(os.path.join(REPO_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        meta = yaml.safe_load(handle)
    return meta["namespace"], meta["name"], meta["version"]


def build_collection(output_dir):
    """``ansible-galaxy collection build``; returns the tarball's path."""
    res = run([tool("ansible-galaxy"), "collection", "build", "--force",
               "--output-path", output_dir], env=clean_env())
    assert res.rc == 0, str(res)
    namespace, name, version = galaxy_version()
    tarball = os.path.join(output_dir, "%s-%s-%s.tar.gz" % (namespace, name, version))
    assert os.path.exists(tarball), str(res)
    return tarball


def install_collection(tarball, collections_dir):
    """Offline install of the tarball into a clean collections path (no dependencies:
    kubernetes.core is the one of the `ansible` package)."""
    res = run([tool("ansible-galaxy"), "collection", "install", tarball, "-p", collections_dir,
               "--offline", "--no-deps", "--force"], cwd=tempfile.gettempdir(),
              env=clean_env(ANSIBLE_COLLECTIONS_PATH=collections_dir))
    assert res.rc == 0, str(res)
    return res


def kubeconfig_credential(path, ca_dir):
    """What the AAP "OpenShift or Kubernetes API Bearer Token" credential holds: the API
    server, a bearer token and the CA certificate (written to a file in ``ca_dir``)."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    current = config.get("current-context")
    context = next((c["context"] for c in config.get("contexts", [])
                    if c["name"] == current), config["contexts"][0]["context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    token = user.get("token")
    if not token and user.get("tokenFile"):
        with open(user["tokenFile"], encoding="utf-8") as handle:
            token = handle.read().strip()
    assert token, "%s has no bearer token for its user" % path
    ca_file = cluster.get("certificate-authority")
    if cluster.get("certificate-authority-data"):
        ca_file = os.path.join(ca_dir, "ca.crt")
        with open(ca_file, "wb") as handle:
            handle.write(base64.b64decode(cluster["certificate-authority-data"]))
    return {"host": cluster["server"], "api_key": token, "ca_cert": ca_file}
