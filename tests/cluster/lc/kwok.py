"""kwok: fake Nodes whose pods and volumes go through a kubelet's lifecycle.

kwok (``sigs.k8s.io/kwok``) runs outside the cluster as one process. It manages
the Nodes annotated ``kwok.x-k8s.io/node=fake`` that ``up`` creates, keeps
their leases fresh, and moves every pod bound to them through the stages read
from YAML: the upstream ones (``kustomize/stage/{node/fast,
node/heartbeat-with-lease,pod/fast,volume/fast}`` of the module, copied next to
the binary at build time, never committed) plus this project's fault stages
(``manifests/kwok-fault-stages.yaml``; see tests/cluster/README.md, "Failure
injection"). The upstream volume stages provision and bind a PersistentVolume for
every claim of StorageClass ``kwok-volume``, which ``up`` installs as the
default class.
"""

import glob
import json
import os
import shutil
import subprocess
import time
import urllib.request

from . import build, config

VERSION = os.environ.get("LOCALCLUSTER_KWOK_VERSION", "v0.8.0")
MODULE = "sigs.k8s.io/kwok"
STAGE_DIRS = ("node/fast", "node/heartbeat-with-lease", "pod/fast", "volume/fast")
STORAGE_CLASS = "storage-class.yaml"  # in volume/fast; applied, not a Stage
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODES = int(os.environ.get("LOCALCLUSTER_KWOK_NODES", "1"))
# Enough for every pod of the suite on one node; the scheduler still checks requests.
NODE_CAPACITY = {"cpu": "128", "memory": "512Gi", "pods": "500", "ephemeral-storage": "1Ti"}
POD_CIDR = "10.244.0.0/16"  # apart from the service range 10.0.0.0/24
FAULT_STAGES = os.path.join(config.CLUSTER_SRC, "manifests", "kwok-fault-stages.yaml")


def bin_dir(version=VERSION):
    return os.path.join(config.cache_dir(), "bin", "kwok-" + version)


def binary():
    return os.path.join(bin_dir(), "kwok")


def stage_dir():
    return os.path.join(bin_dir(), "stages")


# ---------------------------------------------------------------- build

def _module_dir(workdir, env):
    out = subprocess.run(["go", "list", "-m", "-json", MODULE], cwd=workdir, env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["Dir"]


def _copy_stages(module_dir, dest):
    for sub in STAGE_DIRS:
        target = os.path.join(dest, sub)
        os.makedirs(target, exist_ok=True)
        for path in glob.glob(os.path.join(module_dir, "kustomize", "stage", sub, "*.yaml")):
            if os.path.basename(path) != "kustomization.yaml":
                shutil.copyfile(path, os.path.join(target, os.path.basename(path)))


def build_kwok(version=VERSION):
    dest = bin_dir(version)
    if os.path.exists(os.path.join(dest, "kwok")) and os.path.isdir(os.path.join(dest, "stages")):
        print("kwok %s: cached in %s" % (version, dest))
        return
    workdir = os.path.join(config.cache_dir(), "src", "kwok-" + version)
    env = build._write_wrapper(  # pylint: disable=protected-access
        workdir, MODULE, version, lambda dep: version)
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.monotonic()
    build._run([  # pylint: disable=protected-access
        "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", os.path.join(tmp, "kwok"),
               MODULE + "/cmd/kwok"], workdir, env)
    _copy_stages(_module_dir(workdir, env), os.path.join(tmp, "stages"))
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print("kwok %s: built in %.0fs into %s" % (version, time.monotonic() - started, dest))


def missing():
    return [] if os.path.exists(binary()) else ["kwok " + VERSION]


# ---------------------------------------------------------------- run

def stage_files():
    files = sorted(path for path in glob.glob(os.path.join(stage_dir(), "*", "*", "*.yaml"))
                   if os.path.basename(path) != STORAGE_CLASS)
    return files + [FAULT_STAGES]


def argv(kubeconfig, health_port):
    args = [binary(), "--kubeconfig=" + kubeconfig,
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=%s=fake" % NODE_ANNOTATION,
            "--node-lease-duration-seconds=40",
            "--cidr=" + POD_CIDR, "--node-ip=127.0.0.1",
            "--server-address=127.0.0.1:%d" % health_port]
    for path in stage_files():
        args += ["--config", path]
    return args


def node_manifest(index):
    name = "kwok-node-%d" % index
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {NODE_ANNOTATION: "fake"},
                     "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64", "type": "kwok",
                                "node-role.kubernetes.io/worker": ""}},
        "status": {"capacity": NODE_CAPACITY, "allocatable": NODE_CAPACITY},
    }


def cluster_objects():
    """The Nodes and the default StorageClass, as one JSON List for `kubectl apply -f -`."""
    items = [node_manifest(i) for i in range(NODES)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def storage_class_file():
    return os.path.join(stage_dir(), "volume", "fast", STORAGE_CLASS)


def _healthy(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2) as resp:
        return resp.status == 200


def _nodes_ready(control):
    out = control._kubectl_run("get", "nodes", "-o", "json").stdout
    nodes = [n for n in json.loads(out)["items"]
             if (n["metadata"].get("annotations") or {}).get(NODE_ANNOTATION) == "fake"]
    return len(nodes) >= NODES and all(
        any(c["type"] == "Ready" and c["status"] == "True"
            for c in (n.get("status") or {}).get("conditions") or []) for n in nodes)


def start(control, port):
    """Start kwok, create its Nodes and the default StorageClass; wait for the Nodes Ready."""
    # pylint: disable=protected-access
    proc = control._start("kwok", argv(control._path("kubeconfig-admin-direct.yaml"), port))
    control._wait("kwok", lambda: _healthy(port), 60, proc)
    subprocess.run([control._kubectl(), "--kubeconfig",
                    control._path("kubeconfig-admin-direct.yaml"), "apply", "--server-side",
                    "--field-manager=localcluster", "--force-conflicts", "-f", "-",
                    "-f", storage_class_file()],
                   input=cluster_objects(), text=True, check=True, capture_output=True)
    control._wait("kwok", lambda: _nodes_ready(control), 60, proc)


def healthy(port):
    try:
        return _healthy(port)
    except OSError:
        return False
