"""up / down / env / status of the local control plane.

Processes are started detached (their own session), their pids are recorded in
``<state>/pids/<name>.pid`` together with the executable they run, and ``down``
stops exactly those pids (checking ``/proc/<pid>/cmdline`` first so a recycled
pid is never killed).
"""

import glob
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

from . import argocd, argocd_instance, config, crds, kwok, notebook_controller, olm_run, pki

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
              "notebook-controller", *olm_run.COMPONENTS, "proxy", "simulator")
CONTROLLERS = ",".join([
    "namespace-controller", "garbage-collector-controller", "serviceaccount-controller",
    "serviceaccount-token-controller", "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    # Workloads: pods are scheduled by kube-scheduler and run by kwok's fake nodes.
    "deployment-controller", "replicaset-controller", "statefulset-controller",
    "job-controller", "ttl-after-finished-controller", "pod-garbage-collector-controller",
    "endpoints-controller", "endpointslice-controller", "disruption-controller",
    "persistentvolume-binder-controller", "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller", "node-lifecycle-controller",
])


class ClusterError(Exception):
    pass


# ---------------------------------------------------------------- helpers

def _state():
    return config.state_dir()


def _path(*parts):
    return os.path.join(_state(), *parts)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _ports():
    path = _path("ports.json")
    names = ("etcd", "etcd_peer", "apiserver", "proxy", "webhook", "kwok",
             "notebook_metrics", "notebook_probe")
    ports = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            ports = json.load(handle)
    changed = False
    for name in names:
        if not ports.get(name) or not _port_free(ports[name]):
            ports[name] = _free_port()
            changed = True
    if changed:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(ports, handle)
    return ports


def _read_ports():
    with open(_path("ports.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _python():
    """The interpreter for the simulator: the repository's venv when present."""
    explicit = os.environ.get("LOCALCLUSTER_PYTHON")
    if explicit:
        return explicit
    venv = os.path.join(config.REPO_ROOT, ".venv", "bin", "python")
    if os.environ.get("VIRTUAL_ENV"):
        return os.path.join(os.environ["VIRTUAL_ENV"], "bin", "python")
    return venv if os.path.exists(venv) else sys.executable


def _pid_alive(name):
    path = _path("pids", name + ".pid")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        pid_text, _, marker = handle.read().partition("\n")
    pid = int(pid_text)
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    if marker.strip() and marker.strip() not in cmdline:
        return None
    return pid


def _start(name, argv, env=None, cwd=None, marker=None):
    os.makedirs(_path("logs"), exist_ok=True)
    os.makedirs(_path("pids"), exist_ok=True)
    log = open(_path("logs", name + ".log"), "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True, env=env, cwd=cwd)
    log.close()
    if marker is None:
        marker = argv[0] if name not in ("proxy", "simulator") else _marker(name)
    with open(_path("pids", name + ".pid"), "w", encoding="utf-8") as handle:
        handle.write("%d\n%s\n" % (proc.pid, marker))
    return proc


def _marker(name):
    return "simulator.proxy" if name == "proxy" else "-m simulator "


def _wait(what, check, timeout, proc=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ClusterError("%s exited with %s; see %s" % (
                what, proc.returncode, _path("logs", what + ".log")))
        try:
            if check():
                return
        except Exception as exc:  # pylint: disable=broad-except
            last = exc
        time.sleep(0.1)
    raise ClusterError("%s not ready after %ss (last error: %s); see %s" % (
        what, timeout, last, _path("logs", what + ".log")))


def _https_ok(url, token, ca):
    ctx = ssl.create_default_context(cafile=ca)
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, context=ctx, timeout=2) as resp:
        return resp.status == 200


def _http_ok(url):
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.status == 200


def _kubectl():
    return os.path.join(config.kube_bin_dir(), "kubectl")


def _kubectl_run(*args, kubeconfig=None, check=True, capture=True):
    cmd = [_kubectl(), "--kubeconfig", kubeconfig or _path("kubeconfig-admin-direct.yaml"), *args]
    res = subprocess.run(cmd, capture_output=capture, text=True, check=False)
    if check and res.returncode != 0:
        raise ClusterError("kubectl %s failed: %s" % (" ".join(args), res.stderr.strip()))
    return res


# ---------------------------------------------------------------- up

def _write_audit_policy():
    path = _path("audit-policy.yaml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            "apiVersion: audit.k8s.io/v1\nkind: Policy\n"
            "omitStages: [RequestReceived]\n"
            "rules:\n"
            "  # Health probes of the tooling itself are noise.\n"
            "  - level: None\n    nonResourceURLs: [/readyz, /livez, /healthz]\n"
            "  - level: Metadata\n"
        )
    return path


def _start_etcd(ports):
    binary = os.path.join(config.etcd_bin_dir(), "etcd")
    peer = "http://127.0.0.1:%d" % ports["etcd_peer"]
    client_url = "http://127.0.0.1:%d" % ports["etcd"]
    proc = _start("etcd", [
        binary, "--name", "localcluster", "--data-dir", _path("etcd"),
        "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", "localcluster=" + peer,
        "--unsafe-no-fsync=true", "--auto-compaction-retention=1",
        "--quota-backend-bytes=4294967296", "--log-level=warn",
    ])
    _wait("etcd", lambda: _http_ok(client_url + "/health"), 60, proc)


def _start_apiserver(ports, pkidir, tokens):
    binary = os.path.join(config.kube_bin_dir(), "kube-apiserver")
    os.makedirs(_path("audit"), exist_ok=True)
    proc = _start("kube-apiserver", [
        binary,
        "--etcd-servers=http://127.0.0.1:%d" % ports["etcd"],
        "--bind-address=127.0.0.1", "--secure-port=%d" % ports["apiserver"],
        "--tls-cert-file=" + os.path.join(pkidir, "apiserver.crt"),
        "--tls-private-key-file=" + os.path.join(pkidir, "apiserver.key"),
        "--client-ca-file=" + os.path.join(pkidir, "ca.crt"),
        "--token-auth-file=" + os.path.join(pkidir, "tokens.csv"),
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        "--service-account-key-file=" + os.path.join(pkidir, "sa.pub"),
        "--service-account-signing-key-file=" + os.path.join(pkidir, "sa.key"),
        "--service-cluster-ip-range=10.0.0.0/24",
        "--allow-privileged=true", "--endpoint-reconciler-type=none",
        "--audit-policy-file=" + _write_audit_policy(),
        "--audit-log-path=" + _path("audit", "audit.log"),
        # One file holds a whole test run (about 700 MB): readers of a window never meet a
        # rotation in the middle of a run that started the cluster.
        "--audit-log-maxsize=2048", "--audit-log-maxbackup=1",
        "--audit-log-mode=blocking",
        "--enable-priority-and-fairness=false",
        "--profiling=false", "--v=1",
    ])
    url = "https://127.0.0.1:%d/readyz" % ports["apiserver"]
    _wait("kube-apiserver", lambda: _https_ok(url, tokens["admin"],
                                              os.path.join(pkidir, "ca.crt")), 90, proc)


def _start_controller_manager(pkidir):
    binary = os.path.join(config.kube_bin_dir(), "kube-controller-manager")
    proc = _start("kube-controller-manager", [
        binary, "--kubeconfig=" + _path("kubeconfig-admin-direct.yaml"),
        "--leader-elect=false", "--secure-port=0",
        "--root-ca-file=" + os.path.join(pkidir, "ca.crt"),
        "--service-account-private-key-file=" + os.path.join(pkidir, "sa.key"),
        "--use-service-account-credentials=false",
        # The node lifecycle controller marks a node's pods NotReady when its lease is late; a
        # kubelet would report them Ready again once it is back, kwok does not. A grace period
        # longer than an API server outage (tests/integration/test_api_outage.py stops it for
        # 30 s, plus its restart) keeps a short outage from leaving every pod NotReady.
        "--node-monitor-grace-period=180s",
        "--controllers=" + CONTROLLERS, "--v=1",
    ])
    time.sleep(0.5)
    if proc.poll() is not None:
        raise ClusterError("kube-controller-manager exited; see %s" % _path(
            "logs", "kube-controller-manager.log"))


def _start_scheduler():
    binary = os.path.join(config.kube_bin_dir(), "kube-scheduler")
    proc = _start("kube-scheduler", [
        binary, "--kubeconfig=" + _path("kubeconfig-admin-direct.yaml"),
        "--leader-elect=false", "--secure-port=0", "--bind-address=127.0.0.1", "--v=1",
    ])
    time.sleep(0.5)
    if proc.poll() is not None:
        raise ClusterError("kube-scheduler exited; see %s" % _path("logs", "kube-scheduler.log"))


def _write_kubeconfigs(ports, pkidir, tokens, via_proxy):
    ca = os.path.join(pkidir, "ca.crt")
    direct = "https://127.0.0.1:%d" % ports["apiserver"]
    front = "https://127.0.0.1:%d" % ports["proxy"] if via_proxy else direct
    pki.write_kubeconfig(_path("kubeconfig-admin-direct.yaml"), direct, ca, tokens["admin"],
                         pki.IDENTITIES["admin"][0])
    for name in pki.IDENTITIES:
        pki.write_kubeconfig(_path("kubeconfig-%s.yaml" % name), front, ca, tokens[name],
                             pki.IDENTITIES[name][0])


def _install_crds(paths):
    """Server-side apply (the upstream ArgoCD and CSV CRDs are too big for client-side)."""
    args = ["apply", "--server-side", "--field-manager=localcluster", "--force-conflicts",
            "-o", "name"]
    for path in paths:
        args += ["-f", path]
    names = _kubectl_run(*args).stdout.split()
    _kubectl_run("wait", "--for=condition=Established", "--timeout=60s", *names)


def _install_platform():
    _install_crds(crds.platform_crds())
    manifests = os.path.join(config.CLUSTER_SRC, "manifests")
    role = os.path.join(config.REPO_ROOT, "docs", "rbac", "automation-clusterrole.yml")
    _kubectl_run("apply", "--server-side", "--field-manager=localcluster", "--force-conflicts",
                 "-f", os.path.join(manifests, "bootstrap.yaml"), "-f", role,
                 "-f", os.path.join(manifests, "identities.yaml"))


def _start_python(name, module, extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = config.CLUSTER_SRC + os.pathsep + env.get("PYTHONPATH", "")
    env["PATH"] = config.kube_bin_dir() + os.pathsep + env.get("PATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return _start(name, [_python(), "-m", module, *extra], env=env, cwd=config.CLUSTER_SRC)


def _start_proxy(ports, pkidir, tokens):
    proc = _start_python("proxy", "simulator.proxy", ["--state-dir", _state()])
    url = "https://127.0.0.1:%d/readyz" % ports["proxy"]
    _wait("proxy", lambda: _https_ok(url, tokens["admin"], os.path.join(pkidir, "ca.crt")),
          30, proc)


def _webhook_ok(ports):
    """The Notebook webhook has failurePolicy Fail: Notebook writes need it up."""
    ctx = ssl.create_default_context(cafile=_path("pki", "ca.crt"))
    url = "https://127.0.0.1:%d/healthz" % ports["webhook"]
    with urllib.request.urlopen(url, context=ctx, timeout=2) as resp:
        return resp.status == 200


def _start_simulator(ports):
    proc = _start_python("simulator", "simulator",
                         ["--kubeconfig", _path("kubeconfig-admin-direct.yaml"),
                          "--state-dir", _state()])
    _wait("simulator", lambda: _webhook_ok(ports), 60, proc)


def _has_proxy():
    return os.path.exists(os.path.join(config.CLUSTER_SRC, "simulator", "proxy.py"))


def _has_simulator():
    return os.path.exists(os.path.join(config.CLUSTER_SRC, "simulator", "__main__.py"))


def up():
    started = time.monotonic()
    health = status_dict()
    expected = _expected_components()
    if all(health.get(c) for c in expected):
        print("localcluster: already running (%s)" % _state())
        return 0
    for name in binaries_missing():
        raise ClusterError("%s not built; run `tests/cluster/localcluster build` first" % name)
    os.makedirs(_state(), exist_ok=True)
    # Partial state (a crashed component): restart everything cleanly.
    down(quiet=True)
    pkidir = pki.ensure_pki(_state())
    tokens = pki.ensure_tokens(_state())
    ports = _ports()
    _write_kubeconfigs(ports, pkidir, tokens, via_proxy=_has_proxy())
    _start_etcd(ports)
    _start_apiserver(ports, pkidir, tokens)
    _start_controller_manager(pkidir)
    _start_scheduler()
    _install_platform()
    kwok.start(sys.modules[__name__], ports["kwok"])
    notebook_controller.start(sys.modules[__name__], ports["notebook_metrics"],
                              ports["notebook_probe"])
    if _has_proxy():
        _start_proxy(ports, pkidir, tokens)
    olm_run.start(ports)
    if _has_simulator():
        _start_simulator(ports)
    print("localcluster: up in %.1fs (%s)" % (time.monotonic() - started, _state()))
    return 0


def _expected_components():
    comps = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
             "notebook-controller", *olm_run.COMPONENTS]
    if _has_proxy():
        comps.append("proxy")
    if _has_simulator():
        comps.append("simulator")
    return comps


def binaries_missing():
    missing = []
    if not os.path.exists(os.path.join(config.etcd_bin_dir(), "etcd")):
        missing.append("etcd " + config.ETCD_VERSION)
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
        if not os.path.exists(os.path.join(config.kube_bin_dir(), name)):
            missing.append(name + " " + config.KUBE_VERSION)
    missing += ["upstream CRDs " + name for name in crds.missing()]
    return (missing + kwok.missing() + notebook_controller.missing()
            + olm_run.binaries_missing() + argocd.binaries_missing())


# ---------------------------------------------------------------- down / status / env

def down(purge=False, quiet=False):
    for name in reversed(COMPONENTS):
        if name == "kube-apiserver":
            # The simulator started Argo CD for each ArgoCD instance: stop it first.
            for pname, pid in argocd_instance.stop_all(_state()).items():
                if not quiet:
                    print("localcluster: stopped %s (pid %d)" % (pname, pid))
        pid = _pid_alive(name)
        if pid is None:
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _pid_alive(name):
            time.sleep(0.1)
        if _pid_alive(name):
            os.killpg(pid, signal.SIGKILL)
            time.sleep(0.2)
        if not quiet:
            print("localcluster: stopped %s (pid %d)" % (name, pid))
    for path in glob.glob(_path("pids", "*.pid")):
        os.remove(path)
    if purge and os.path.isdir(_state()):
        shutil.rmtree(_state())
        if not quiet:
            print("localcluster: removed %s" % _state())
    return 0


def status_dict():
    health = {}
    if not os.path.exists(_path("ports.json")):
        return {c: False for c in COMPONENTS}
    ports = _read_ports()
    ca = _path("pki", "ca.crt")
    tokens = pki.ensure_tokens(_state()) if os.path.exists(_path("pki")) else {}
    for name in COMPONENTS:
        health[name] = _healthy(name, ports, tokens, ca)
    return health


def _healthy(name, ports, tokens, ca):
    alive = _pid_alive(name) is not None
    if alive and name == "etcd":
        alive = _probe(lambda: _http_ok("http://127.0.0.1:%d/health" % ports["etcd"]))
    elif alive and name == "kwok":
        alive = kwok.healthy(ports.get("kwok", 0))
    elif alive and name == "simulator":
        alive = _probe(lambda: _webhook_ok(ports))
    elif alive and name in olm_run.COMPONENTS:
        alive = olm_run.healthy(name, ports)
    elif alive and name in ("kube-apiserver", "proxy"):
        port = ports["apiserver" if name == "kube-apiserver" else "proxy"]
        alive = _probe(lambda: _https_ok("https://127.0.0.1:%d/readyz" % port,
                                         tokens.get("admin", ""), ca))
    return alive


def _probe(check):
    try:
        return bool(check())
    except Exception:  # pylint: disable=broad-except
        return False


def status():
    health = status_dict()
    expected = _expected_components()
    for name in COMPONENTS:
        state = "healthy" if health.get(name) else ("not running" if name in expected
                                                    else "not part of this build")
        print("%-24s %s" % (name, state))
    # Started by the simulated GitOps operator, one set per ArgoCD instance.
    for name in argocd_instance.process_names(_state()):
        pid = argocd_instance.pid_alive(_state(), name)
        print("%-24s %s" % (name, "running (pid %d)" % pid if pid else "not running"))
    return 0 if all(health.get(c) for c in expected) else 1


def env():
    lines = {
        "LOCALCLUSTER_DIR": _state(),
        "KUBECONFIG": _path("kubeconfig-admin.yaml"),
        "LOCALCLUSTER_KUBECONFIG_ADMIN": _path("kubeconfig-admin.yaml"),
        "LOCALCLUSTER_KUBECONFIG_AUTOMATION": _path("kubeconfig-automation.yaml"),
        "LOCALCLUSTER_KUBECONFIG_SCIENTIST": _path("kubeconfig-scientist.yaml"),
        "LOCALCLUSTER_KUBECONFIG_OUTSIDER": _path("kubeconfig-outsider.yaml"),
        "LOCALCLUSTER_AUDIT_LOG": _path("audit", "audit.log"),
    }
    for key, value in lines.items():
        print("export %s=%s" % (key, _quote(value)))
    print('export PATH=%s:"$PATH"' % _quote(config.kube_bin_dir()))
    return 0


def _quote(value):
    return "'" + value.replace("'", "'\\''") + "'"


# ---------------------------------------------------------------- stop / start one component

def _stopped_path(name):
    return _path("stopped", name + ".json")


def stop(name, grace=10):
    """Stop one component and remember how it ran (command line, working directory,
    environment, pid file marker) so that ``start`` runs it again the same way.

    Waits until the process group is gone, a new kube-apiserver must not start while the old
    one still writes the audit log. SIGKILL after ``grace`` seconds: kube-apiserver stops
    listening and closes its audit log within a second of SIGTERM, then lingers about a minute
    before it exits."""
    pid = _pid_alive(name)
    if pid is None:
        raise ClusterError("%s is not running" % name)
    with open(_path("pids", name + ".pid"), encoding="utf-8") as handle:
        marker = handle.read().partition("\n")[2].strip()
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
        argv = [a.decode() for a in handle.read().split(b"\0") if a]
    with open("/proc/%d/environ" % pid, "rb") as handle:
        environ = dict(e.decode(errors="replace").partition("=")[::2]
                       for e in handle.read().split(b"\0") if b"=" in e)
    os.makedirs(_path("stopped"), exist_ok=True)
    with open(_stopped_path(name), "w", encoding="utf-8") as handle:
        json.dump({"argv": argv, "cwd": os.readlink("/proc/%d/cwd" % pid), "env": environ,
                   "marker": marker}, handle)
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pid):
        time.sleep(0.2)
    if _group_alive(pid):
        os.killpg(pid, signal.SIGKILL)
        while _group_alive(pid):
            time.sleep(0.2)
    os.remove(_path("pids", name + ".pid"))
    print("localcluster: stopped %s (pid %d)" % (name, pid))
    return 0


def _group_alive(pgid):
    """Whether a process of the group ``pgid`` still runs (zombies do not count)."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def start(name, timeout=120):
    """Start again a component stopped by ``stop``, as it ran, and wait until it is healthy."""
    if _pid_alive(name) is not None:
        print("localcluster: %s is already running" % name)
        return 0
    if not os.path.exists(_stopped_path(name)):
        raise ClusterError("%s was not stopped by `localcluster stop`; use `localcluster up`"
                           % name)
    with open(_stopped_path(name), encoding="utf-8") as handle:
        saved = json.load(handle)
    proc = _start(name, saved["argv"], env=saved["env"], cwd=saved["cwd"],
                  marker=saved["marker"] or None)
    ports = _read_ports()
    tokens = pki.ensure_tokens(_state())
    _wait(name, lambda: _healthy(name, ports, tokens, _path("pki", "ca.crt")), timeout, proc)
    os.remove(_stopped_path(name))
    print("localcluster: started %s (pid %d)" % (name, proc.pid))
    return 0
