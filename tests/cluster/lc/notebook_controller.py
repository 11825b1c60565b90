"""The Kubeflow notebook-controller: a Notebook's StatefulSet and Service.

Built from ``github.com/kubeflow/kubeflow/components/notebook-controller`` (the
module has no ``replace`` lines, but ``go install module@version`` asks the proxy
for the module's version list, which it refuses, so a wrapper module requires it
instead) and run outside the cluster with the admin kubeconfig, its metrics and
health endpoints on free ports of 127.0.0.1, no leader election, no Istio and no
culling. What the ODH notebook controller adds on OpenShift (Route, oauth
Service and Secret, NetworkPolicies, ServiceAccount, the oauth-proxy webhook)
stays in the simulator: that module cannot be fetched here.
"""

import os
import shutil
import time
import urllib.request

from . import build, config

VERSION = os.environ.get("LOCALCLUSTER_NOTEBOOK_CONTROLLER_VERSION",
                         "v0.0.0-20220728153354-fc09bd1eefb8")
MODULE = "github.com/kubeflow/kubeflow/components/notebook-controller"
NAME = "notebook-controller"


def bin_dir(version=VERSION):
    return os.path.join(config.cache_dir(), "bin", "notebook-controller-" + version)


def binary():
    return os.path.join(bin_dir(), NAME)


def build_notebook_controller(version=VERSION):
    dest = bin_dir(version)
    if os.path.exists(os.path.join(dest, NAME)):
        print("notebook-controller %s: cached in %s" % (version, dest))
        return
    workdir = os.path.join(config.cache_dir(), "src", "notebook-controller-" + version)
    env = build._write_wrapper(  # pylint: disable=protected-access
        workdir, MODULE, version, lambda dep: version)
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.monotonic()
    build._run(  # pylint: disable=protected-access
        ["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", os.path.join(tmp, NAME), MODULE],
        workdir, env)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print("notebook-controller %s: built in %.0fs into %s"
          % (version, time.monotonic() - started, dest))


def missing():
    return [] if os.path.exists(binary()) else ["notebook-controller " + VERSION]


def argv(kubeconfig, metrics_port, probe_port):
    return [binary(), "--kubeconfig=" + kubeconfig,
            "--metrics-addr=127.0.0.1:%d" % metrics_port,
            "--probe-addr=127.0.0.1:%d" % probe_port,
            "--enable-leader-election=false"]


def healthy(probe_port):
    try:
        url = "http://127.0.0.1:%d/readyz" % probe_port
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start(control, metrics_port, probe_port):
    """Start the controller under a restart loop and wait for its health endpoint.

    The controller watches Notebooks, whose CRD OLM installs only with
    rhods-operator. Until then controller-runtime retries, and after its cache sync
    timeout (2 minutes) the manager exits: the loop starts it again, as a Deployment
    would restart its pod.
    """
    # pylint: disable=protected-access
    # ADD_FSGROUP=false as the ODH deployment of the controller sets it on OpenShift.
    env = dict(os.environ, USE_ISTIO="false", ENABLE_CULLING="false", ADD_FSGROUP="false")
    args = argv(control._path("kubeconfig-admin-direct.yaml"), metrics_port, probe_port)
    loop = ["/bin/sh", "-c", 'while :; do "$0" "$@"; sleep 2; done'] + args
    proc = control._start(NAME, loop, env=env, marker=binary())
    control._wait(NAME, lambda: healthy(probe_port), 60, proc)
