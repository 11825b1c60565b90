"""Run ansible-playbook against the source tree, as the tests need it.

``run_playbook(playbook, extra_vars, kubeconfig, check=False, diff=False,
verbosity=0)`` runs ``ansible-playbook`` in a subprocess with:

- ``rhods.gitops`` resolving to this repository (a link under
  ``~/.cache/rhods-gitops/collections/<hash>``, like ``scripts/lib.sh``);
- this interpreter as ``ansible_python_interpreter``;
- ``KUBECONFIG`` set to the identity the test runs as, ``K8S_AUTH_*`` removed;
- extra variables passed as a JSON file (never on the command line, where
  secrets would show in the process list).

It returns a ``PlaybookResult``: ``rc``, ``stdout``, ``stderr``, ``recap``
(host -> counts of ok/changed/failed/...), ``elapsed`` and helpers.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(REPO_ROOT, "tests", "integration", "playbooks")
RECAP_LINE = re.compile(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$")


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    recap: dict = field(default_factory=dict)
    elapsed: float = 0.0
    command: list = field(default_factory=list)

    def total(self, key):
        """Sum of one recap counter (``changed``, ``failed``, ...) over all hosts."""
        return sum(counts.get(key, 0) for counts in self.recap.values())

    @property
    def changed(self):
        return self.total("changed")

    @property
    def failed(self):
        return self.total("failed") + self.total("unreachable")

    @property
    def output(self):
        return self.stdout + self.stderr

    def __str__(self):
        return "ansible-playbook rc=%s recap=%s\n%s\n%s" % (
            self.rc, self.recap, self.stdout[-6000:], self.stderr[-3000:])


def parse_recap(stdout):
    """``{host: {"ok": n, "changed": n, ...}}`` from the PLAY RECAP section."""
    recap = {}
    lines = stdout.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1:]:
        match = RECAP_LINE.match(line.strip())
        if match:
            recap[match.group(1)] = {k: int(v) for k, v in
                                     (pair.split("=") for pair in match.group(2).split())}
    return recap


LOCALCLUSTER = os.path.join(REPO_ROOT, "tests", "cluster", "localcluster")


def localcluster_env(state_dir=None):
    """``(variables, text)`` of ``localcluster env`` (KUBECONFIG, LOCALCLUSTER_KUBECONFIG_*, ...)
    for the local control plane of ``state_dir`` (default: LOCALCLUSTER_DIR or its default)."""
    env = dict(os.environ, **({"LOCALCLUSTER_DIR": state_dir} if state_dir else {}))
    text = subprocess.run([LOCALCLUSTER, "env"], env=env, capture_output=True, text=True,
                          check=True).stdout
    values = {}
    for line in text.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _sep, value = line[len("export "):].partition("=")
            values[key] = value.strip("'")
    return values, text


def collection_path():
    """A directory whose ansible_collections/rhods/gitops is this repository."""
    cache = os.environ.get("LOCALCLUSTER_CACHE") or os.path.expanduser("~/.cache/rhods-gitops")
    base = os.path.join(cache, "collections",
                        hashlib.sha256(REPO_ROOT.encode()).hexdigest()[:12])
    link = os.path.join(base, "ansible_collections", "rhods", "gitops")
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != os.path.realpath(REPO_ROOT):
        if os.path.islink(link):
            os.unlink(link)
        os.symlink(REPO_ROOT, link)
    return base


def playbook_env(kubeconfig=None, kube_bin=None, extra_env=None):
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("K8S_AUTH_")]:
        del env[key]
    paths = [collection_path()]
    if env.get("ANSIBLE_COLLECTIONS_PATH"):
        paths.append(env["ANSIBLE_COLLECTIONS_PATH"])
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(paths),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "false",
        "PYTHONUNBUFFERED": "1",
    })
    if kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    if kube_bin:
        env["PATH"] = kube_bin + os.pathsep + env.get("PATH", "")
    env.update(extra_env or {})
    return env


def with_own_applysets(playbook, extra_vars):
    """The variables, with the state namespace of the ApplySets set from the playbook and the
    variables unless the test sets it.

    Every run prunes what its components no longer render. Tests share one cluster and run
    many sets of variables one after the other; each set owning its own ApplySets, a run never
    deletes what a run with other variables delivered. The same variables give the same
    namespace, so a second run is still a re-run. Tests of pruning set the namespace themselves.
    """
    out = dict(extra_vars or {})
    if "rhods_gitops_state_namespace" not in out:
        digest = hashlib.sha256(json.dumps([os.path.basename(playbook), out], sort_keys=True,
                                           default=str).encode()).hexdigest()
        out["rhods_gitops_state_namespace"] = "rhods-gitops-t" + digest[:10]
    return out


def run_playbook(playbook, extra_vars=None, kubeconfig=None, check=False, diff=False,
                 verbosity=0, tags=None, extra_env=None, kube_bin=None, timeout=900,
                 inventory="localhost,"):
    """Run one playbook (a path, or a name in tests/integration/playbooks)."""
    if not os.path.isabs(playbook) and not os.path.exists(playbook):
        playbook = os.path.join(PLAYBOOKS, playbook)
    extra_vars = with_own_applysets(playbook, extra_vars)
    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="extra-vars-",
                                     delete=False) as handle:
        json.dump(extra_vars or {}, handle)
        vars_file = handle.name
    try:
        os.chmod(vars_file, 0o600)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", inventory, "-e", "@" + vars_file, playbook]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if tags:
            cmd += ["--tags", ",".join(tags)]
        start = time.monotonic()
        proc = subprocess.run(cmd, env=playbook_env(kubeconfig, kube_bin, extra_env),
                              capture_output=True, text=True, timeout=timeout, check=False,
                              cwd=REPO_ROOT)
        elapsed = time.monotonic() - start
    finally:
        os.unlink(vars_file)
    return PlaybookResult(rc=proc.returncode, stdout=proc.stdout, stderr=proc.stderr,
                          recap=parse_recap(proc.stdout), elapsed=elapsed, command=cmd)
