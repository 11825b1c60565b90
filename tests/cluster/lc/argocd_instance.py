"""Run the real Argo CD of one ArgoCD instance: redis, repo-server, application controller.

The simulated OpenShift GitOps operator (``simulator/controllers/gitops_operator.py``)
calls ``start`` when an ArgoCD resource exists and ``stop`` when it is gone; it
creates the API objects Argo CD reads (ConfigMaps, Secret, AppProject) and the
ServiceAccount token the controller authenticates with, this module runs the
processes.  They run outside the cluster the way Argo CD's own tooling does
(``ARGOCD_FAKE_IN_CLUSTER=true``: the in-cluster destination is the kubeconfig
in ``KUBECONFIG``), talk plaintext to each other on 127.0.0.1, and are recorded
like every other process of the local cluster: ``<state>/pids/<name>.pid`` (pid
and a marker of the command), logs in ``<state>/logs/<name>.log``, so
``localcluster down`` stops them and ``status`` lists them.

Per instance: ``<state>/argocd/<namespace>.<name>/`` holds ``ports.json``, the
controller's kubeconfig (its ServiceAccount token) and the repo-server's
working directories.
"""

import glob
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from . import argocd, config

PARTS = ("redis", "repo-server", "application-controller")
PREFIX = "argocd."
# How often the controller compares Applications with git without being asked, and
# how long the repo-server caches what a branch points at (upstream default 180 s,
# argocd-cm timeout.reconciliation; the collection asks for a refresh after each push).
RECONCILIATION_TIMEOUT = "30s"


def process_name(namespace, name, part):
    return "%s%s.%s.%s" % (PREFIX, namespace, name, part)


def instance_dir(state, namespace, name):
    return os.path.join(state, "argocd", "%s.%s" % (namespace, name))


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ports(directory):
    path = os.path.join(directory, "ports.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    ports = {key: _free_port() for key in ("redis", "repo", "repo_metrics", "controller_metrics")}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(ports, handle)
    return ports


def write_kubeconfig(path, server, ca_file, token, namespace):
    """A kubeconfig for the controller's ServiceAccount (JSON is valid YAML)."""
    user = "system:serviceaccount:%s:application-controller" % namespace
    conf = {"apiVersion": "v1", "kind": "Config", "current-context": "argocd",
            "clusters": [{"name": "localcluster",
                          "cluster": {"server": server, "certificate-authority": ca_file}}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "argocd", "context": {"cluster": "localcluster", "user": user,
                                                        "namespace": namespace}}]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(conf, handle, indent=1)


# ---------------------------------------------------------------- processes

def _pid_file(state, name):
    return os.path.join(state, "pids", name + ".pid")


def pid_alive(state, name):
    """The pid of process ``name`` when it runs the command recorded with it, else None."""
    path = _pid_file(state, name)
    try:
        with open(path, encoding="utf-8") as handle:
            pid_text, _, marker = handle.read().partition("\n")
        pid = int(pid_text)
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if marker.strip() and marker.strip() in cmdline else None


def _spawn(state, name, argv, env, cwd):
    os.makedirs(os.path.join(state, "logs"), exist_ok=True)
    os.makedirs(os.path.join(state, "pids"), exist_ok=True)
    with open(os.path.join(state, "logs", name + ".log"), "ab") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                cwd=cwd)
    # The marker: the program and its first option, unique per instance (its port).
    with open(_pid_file(state, name), "w", encoding="utf-8") as handle:
        handle.write("%d\n%s\n" % (proc.pid, " ".join(argv[:3])))
    return proc


def _stop_pid(state, name, timeout=15):
    pid = pid_alive(state, name)
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and pid_alive(state, name):
            time.sleep(0.1)
        if pid_alive(state, name):
            os.killpg(pid, signal.SIGKILL)
    if os.path.exists(_pid_file(state, name)):
        os.remove(_pid_file(state, name))
    return pid


def _base_env(directory):
    env = {key: value for key, value in os.environ.items()
           if key in ("HOME", "LANG", "LC_ALL", "USER")}
    tmp = os.path.join(directory, "tmp")
    os.makedirs(tmp, exist_ok=True)
    env.update({
        # git and kustomize for the repo-server; kubectl is linked in, nothing else is needed.
        "PATH": os.pathsep.join([argocd.bin_dir(), argocd.kustomize_bin_dir(),
                                 "/usr/local/bin", "/usr/bin", "/bin"]),
        "TMPDIR": tmp,
        "ARGOCD_GPG_ENABLED": "false",
        "ARGOCD_TLS_DATA_PATH": os.path.join(directory, "tls"),
        "ARGOCD_SSH_DATA_PATH": os.path.join(directory, "ssh"),
        "ARGOCD_GNUPGHOME": os.path.join(directory, "gnupg"),
        "ARGOCD_PLUGINSOCKFILEPATH": os.path.join(directory, "plugins"),
        "ARGOCD_BINARY_NAME": "",
        "ARGOCD_RECONCILIATION_TIMEOUT": RECONCILIATION_TIMEOUT,
        "ARGOCD_RECONCILIATION_JITTER": "0s",
    })
    return env


def _argv(part, ports, kubeconfig, namespace):
    redis = "127.0.0.1:%d" % ports["redis"]
    if part == "redis":
        return [argocd.binary("localcluster-redis"), redis]
    if part == "repo-server":
        return [argocd.binary("argocd-repo-server"), "--port", str(ports["repo"]),
                "--address", "127.0.0.1", "--metrics-address", "127.0.0.1",
                "--metrics-port", str(ports["repo_metrics"]), "--disable-tls",
                "--redis", redis, "--logformat", "text"]
    return [argocd.binary("argocd-application-controller"),
            "--metrics-port", str(ports["controller_metrics"]),
            "--kubeconfig", kubeconfig, "--namespace", namespace,
            "--repo-server", "127.0.0.1:%d" % ports["repo"], "--repo-server-plaintext",
            "--redis", redis,
            "--status-processors", "4", "--operation-processors", "4",
            "--logformat", "text"]


def _ready(part, ports):
    try:
        if part == "application-controller":
            url = "http://127.0.0.1:%d/healthz" % ports["controller_metrics"]
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status == 200
        port = ports["redis" if part == "redis" else "repo"]
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def start(state, namespace, name, token, timeout=120):
    """Start (or keep) the three processes of instance ``namespace/name``; wait until ready.

    ``token``: the application controller's ServiceAccount token.  Returns the
    names of the processes started now (empty when all were running)."""
    directory = instance_dir(state, namespace, name)
    os.makedirs(directory, exist_ok=True)
    ports = _ports(directory)
    with open(os.path.join(state, "ports.json"), encoding="utf-8") as handle:
        apiserver = json.load(handle)["apiserver"]
    kubeconfig = os.path.join(directory, "kubeconfig-application-controller.yaml")
    write_kubeconfig(kubeconfig, "https://127.0.0.1:%d" % apiserver,
                     os.path.join(state, "pki", "ca.crt"), token, namespace)
    env = _base_env(directory)
    env.update({"ARGOCD_FAKE_IN_CLUSTER": "true", "KUBECONFIG": kubeconfig})
    started = []
    for part in PARTS:
        pname = process_name(namespace, name, part)
        if pid_alive(state, pname):
            continue
        proc = _spawn(state, pname, _argv(part, ports, kubeconfig, namespace), env, directory)
        started.append(pname)
        deadline = time.monotonic() + timeout
        while not _ready(part, ports):
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s; see %s" % (
                    pname, proc.returncode, os.path.join(state, "logs", pname + ".log")))
            if time.monotonic() > deadline:
                raise RuntimeError("%s not ready after %ss" % (pname, timeout))
            time.sleep(0.2)
    return started


def running(state, namespace, name):
    return all(pid_alive(state, process_name(namespace, name, part)) for part in PARTS)


def stop(state, namespace, name):
    """Stop the instance's processes (controller first); returns {process: pid} stopped."""
    stopped = {}
    for part in reversed(PARTS):
        pname = process_name(namespace, name, part)
        pid = _stop_pid(state, pname)
        if pid:
            stopped[pname] = pid
    return stopped


def process_names(state=None):
    """Every Argo CD process recorded in the state directory (for ``down`` and ``status``)."""
    state = state or config.state_dir()
    return sorted(os.path.basename(path)[:-len(".pid")]
                  for path in glob.glob(os.path.join(state, "pids", PREFIX + "*.pid")))


def stop_all(state=None):
    state = state or config.state_dir()
    return {name: pid for name in process_names(state)
            for pid in [_stop_pid(state, name)] if pid}
