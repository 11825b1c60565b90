"""Start the real OLM of the local control plane: opm, the olm and catalog operators.

* ``opm serve`` serves the file-based catalog generated from
  ``tests/cluster/catalog.yml`` (``lc/catalog.py``) on a free port;
* every CatalogSource named there is created in ``openshift-marketplace`` with
  ``sourceType: grpc`` and ``address: 127.0.0.1:<port>`` (no registry pod);
* ``olm`` (CSVs, OperatorGroups, the operator Deployments) and ``catalog``
  (Subscriptions, resolution, InstallPlans) run outside the cluster as the
  identity ``localcluster-olm`` (group ``system:masters``, as OLM's service
  account is cluster-admin on OpenShift).

Their health/metrics servers have no address flag: ``olm`` gets the serving
certificate, so it listens on :8443, ``catalog`` on :8080 (all interfaces;
when another process holds the port they log the error and keep working).
"""

import json
import os
import socket

# This module is lc/control.py's own start/stop hook for OLM: it uses control's helpers.
# pylint: disable=protected-access

from . import catalog, config, olm, pki

COMPONENTS = ("opm", "olm", "catalog-operator")
NAMESPACE = "openshift-operator-lifecycle-manager"
CATALOG_NAMESPACE = "openshift-marketplace"
# A plan whose steps keep failing ends Failed after this long (OLM's default: 1m).
INSTALL_PLAN_RETRY_TIMEOUT = "15s"


def _control():
    from . import control  # pylint: disable=import-outside-toplevel (control imports us)
    return control


def binaries_missing():
    missing = []
    for name in ("olm", "catalog"):
        if not os.path.exists(os.path.join(olm.olm_bin_dir(), name)):
            missing.append("%s %s" % (name, olm.OLM_VERSION))
    if not os.path.exists(os.path.join(olm.opm_bin_dir(), "opm")):
        missing.append("opm " + olm.OPM_VERSION)
    return missing


def _port(state):
    """The opm port, kept in ports.json with the others."""
    path = os.path.join(state, "ports.json")
    with open(path, encoding="utf-8") as handle:
        ports = json.load(handle)
    control = _control()
    if not ports.get("opm") or not control._port_free(ports["opm"]):
        ports["opm"] = control._free_port()
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(ports, handle)
    return ports["opm"]


def _grpc_listening(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _kubeconfig(state, ports):
    """A direct (no front proxy) kubeconfig of the OLM identity."""
    path = os.path.join(state, "kubeconfig-olm-direct.yaml")
    tokens = pki.ensure_tokens(state)
    pki.write_kubeconfig(path, "https://127.0.0.1:%d" % ports["apiserver"],
                         os.path.join(state, "pki", "ca.crt"), tokens["olm"],
                         pki.IDENTITIES["olm"][0])
    return path


def _start_opm(state):
    control = _control()
    port = _port(state)
    directory = catalog.write(os.path.join(state, "catalog"))
    # opm builds its serving cache in a temporary directory: keep it in the state.
    tmp = os.path.join(state, "tmp")
    os.makedirs(tmp, exist_ok=True)
    proc = control._start("opm", [
        os.path.join(olm.opm_bin_dir(), "opm"), "serve", directory, "-p", str(port),
        "--pprof-addr=", "--termination-log", os.path.join(state, "logs", "opm-termination.log"),
    ], env=dict(os.environ, TMPDIR=tmp))
    control._wait("opm", lambda: _grpc_listening(port), 60, proc)
    return port


def _catalog_sources(port):
    docs = []
    for name in catalog.description().get("sources") or ["redhat-operators"]:
        docs.append({
            "apiVersion": "operators.coreos.com/v1alpha1", "kind": "CatalogSource",
            "metadata": {"name": name, "namespace": CATALOG_NAMESPACE},
            "spec": {"sourceType": "grpc", "address": "127.0.0.1:%d" % port,
                     "displayName": "%s (local test catalog)" % name,
                     "publisher": "localcluster"}})
    return docs


def _apply(docs):
    control = _control()
    path = control._path("olm-objects.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"apiVersion": "v1", "kind": "List", "items": docs}, handle)
    control._kubectl_run("apply", "--server-side", "--field-manager=localcluster",
                         "--force-conflicts", "-f", path)


def _start_operators(state, kubeconfig):
    control = _control()
    pkidir = os.path.join(state, "pki")
    env = dict(os.environ, KUBECONFIG=kubeconfig)
    bindir = olm.olm_bin_dir()
    procs = [("olm", control._start("olm", [
        os.path.join(bindir, "olm"), "--namespace", NAMESPACE,
        "--writeStatusName=", "--writePackageServerStatusName=",
        "--tls-cert", os.path.join(pkidir, "serving.crt"),
        "--tls-key", os.path.join(pkidir, "serving.key"),
    ], env=env))]
    procs.append(("catalog-operator", control._start("catalog-operator", [
        os.path.join(bindir, "catalog"), "--kubeconfig", kubeconfig,
        "--namespace", CATALOG_NAMESPACE, "--writeStatusName=",
        "--install-plan-retry-timeout", INSTALL_PLAN_RETRY_TIMEOUT,
    ], env=env)))
    return procs


def start(ports):
    """Start opm, point the CatalogSources at it, start olm and catalog."""
    state = config.state_dir()
    control = _control()
    _apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}])
    port = _start_opm(state)
    _apply(_catalog_sources(port))
    kubeconfig = _kubeconfig(state, ports)
    for name, proc in _start_operators(state, kubeconfig):
        control._wait(name, lambda p=proc: _alive_for(p, 1.0), 10, proc)


def _alive_for(proc, seconds):
    """True once ``proc`` has run ``seconds`` without exiting (a bad flag exits at once)."""
    try:
        proc.wait(timeout=seconds)
    except Exception:  # pylint: disable=broad-except
        return True
    return False


def healthy(name, ports):
    if name == "opm":
        try:
            return _grpc_listening(ports.get("opm") or 0)
        except OSError:
            return False
    return True
