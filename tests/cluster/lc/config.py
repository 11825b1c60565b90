"""Versions and paths of the local control plane (one place to change them)."""

import os

KUBE_VERSION = os.environ.get("LOCALCLUSTER_KUBE_VERSION", "v1.35.4")
ETCD_VERSION = os.environ.get("LOCALCLUSTER_ETCD_VERSION", "v3.6.16")
ARGOCD_VERSION = os.environ.get("LOCALCLUSTER_ARGOCD_VERSION", "v3.2.11")
KUSTOMIZE_VERSION = os.environ.get("LOCALCLUSTER_KUSTOMIZE_VERSION", "v5.8.2")

HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER_SRC = os.path.dirname(HERE)  # tests/cluster
REPO_ROOT = os.path.dirname(os.path.dirname(CLUSTER_SRC))


def cache_dir():
    """Where built binaries and wrapper modules live (shared by every state dir)."""
    return os.environ.get("LOCALCLUSTER_CACHE",
                          os.path.join(os.path.expanduser("~"), ".cache", "rhods-gitops"))


def state_dir():
    """Where a running cluster keeps its data, certificates, logs and pids."""
    return os.environ.get("LOCALCLUSTER_DIR", os.path.join(cache_dir(), "localcluster"))


def kube_bin_dir(version=KUBE_VERSION):
    return os.path.join(cache_dir(), "bin", "kubernetes-" + version)


def etcd_bin_dir(version=ETCD_VERSION):
    return os.path.join(cache_dir(), "bin", "etcd-" + version)
