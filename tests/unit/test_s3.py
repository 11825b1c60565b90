"""S3 error classification, bucket creation and connection verdicts, without a server
(botocore's Stubber answers). The real server is exercised in
tests/integration/test_storage_and_projects.py."""

import pytest
from botocore.exceptions import EndpointConnectionError, SSLError
from botocore.stub import Stubber

from ansible_collections.rhods.gitops.plugins.module_utils import s3
from ansible_collections.rhods.gitops.plugins.module_utils.prune import stale_objects
from ansible_collections.rhods.gitops.plugins.modules import s3_check

URL = "http://127.0.0.1:9000"


def endpoint(region="us"):
    return s3.S3Endpoint(URL + "/", "AKID", "SECRET-VALUE", region=region)


@pytest.mark.parametrize("code, status, kind, words", [
    ("SignatureDoesNotMatch", 403, "secret_key", "secret access key is wrong"),
    ("InvalidAccessKeyId", 403, "access_key", "access key ID is not known"),
    ("AccessDenied", 403, "denied", "may not read the bucket"),
    ("AuthorizationHeaderMalformed", 400, "region", "another region"),
    ("403", 403, "denied", "HTTP 403"),
    ("SlowDown", 503, "error", "503"),
])
def test_probe_errors_are_classified(code, status, kind, words):
    ep = endpoint()
    with Stubber(ep.client) as stub:
        stub.add_client_error("list_objects_v2", service_error_code=code,
                              http_status_code=status)
        with pytest.raises(s3.S3Error) as err:
            ep.probe("notebook-demo")
    assert err.value.kind == kind
    assert words in err.value.msg and URL in err.value.msg and "'notebook-demo'" in err.value.msg
    assert "SECRET-VALUE" not in err.value.msg


@pytest.mark.parametrize("code, status", [("NoSuchBucket", 404), ("404", 404)])
def test_missing_bucket(code, status):
    ep = endpoint()
    with Stubber(ep.client) as stub:
        stub.add_client_error("list_objects_v2", service_error_code=code,
                              http_status_code=status)
        assert ep.probe("b-1") == s3.MISSING


def test_existing_bucket():
    ep = endpoint()
    with Stubber(ep.client) as stub:
        stub.add_response("list_objects_v2", {"KeyCount": 0},
                          {"Bucket": "b-1", "MaxKeys": 1})
        assert ep.probe("b-1") == "exists"


def test_create_sends_the_region_except_us_east_1():
    ep = endpoint("us")
    with Stubber(ep.client) as stub:
        stub.add_response("create_bucket", {}, {
            "Bucket": "b-1", "CreateBucketConfiguration": {"LocationConstraint": "us"}})
        assert ep.create("b-1") == "created"
    ep = endpoint("us-east-1")
    with Stubber(ep.client) as stub:
        stub.add_response("create_bucket", {}, {"Bucket": "b-1"})
        assert ep.create("b-1") == "created"


def test_create_races_and_conflicts():
    ep = endpoint()
    with Stubber(ep.client) as stub:
        stub.add_client_error("create_bucket", service_error_code="BucketAlreadyOwnedByYou",
                              http_status_code=409)
        stub.add_client_error("create_bucket", service_error_code="BucketAlreadyExists",
                              http_status_code=409)
        assert ep.create("b-1") == "exists"
        with pytest.raises(s3.S3Error) as err:
            ep.create("b-1")
    assert "taken by another account" in err.value.msg


def test_transport_errors():
    ep = endpoint()
    unreachable = ep._transport_error(EndpointConnectionError(endpoint_url=URL))
    assert unreachable.kind == s3.UNREACHABLE and "cannot be reached" in unreachable.msg
    tls = ep._transport_error(SSLError(endpoint_url=URL, error="self-signed"))
    assert tls.kind == "tls" and "ca_path" in tls.msg


class FakeEndpoint:
    def __init__(self, outcome):
        self.outcome = outcome

    def probe(self, bucket):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


class FakeEndpoints(s3.S3Clients):
    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = outcomes
        self.calls = []

    def get(self, endpoint_url, *args, **kwargs):
        self.calls.append(endpoint_url)
        return FakeEndpoint(self.outcomes[endpoint_url])


def conn(url=URL, verify="auto", bucket="b-1"):
    return {"name": "p/aws-connection-x", "endpoint_url": url, "access_key": "a",
            "secret_key": "s", "region": "us", "bucket": bucket, "verify": verify,
            "validate_certs": True, "ca_path": None}


def test_verdicts():
    dead = s3.S3Error("http://dead cannot be reached", s3.UNREACHABLE)
    fakes = FakeEndpoints({URL: "exists", "http://dead": dead,
                           "http://gone": s3.MISSING,
                           "http://bad": s3.S3Error("secret wrong", "secret_key")})
    assert s3_check.check_one(fakes, conn())[0] == "verified"
    assert s3_check.check_one(fakes, conn("http://gone"))[0] == s3.MISSING
    assert s3_check.check_one(fakes, conn("http://bad")) == ("failed", "secret wrong")
    assert s3_check.check_one(fakes, conn(verify="never"))[0] == "skipped"
    assert s3_check.check_one(fakes, conn("ftp://x"))[0] == "failed"
    result, reason = s3_check.check_one(fakes, conn("http://dead"))
    assert result == "skipped" and "not reachable" in reason
    assert s3_check.check_one(fakes, conn("http://dead", verify="always"))[0] == "failed"
    # a dead endpoint is tried once per call, however many connections use it
    assert fakes.calls.count("http://dead") == 1


def test_stale_objects():
    found = [{"kind": "Secret", "namespace": "p1", "name": "aws-connection-a"},
             {"kind": "Secret", "namespace": "p1", "name": "aws-connection-old"},
             {"kind": "RoleBinding", "namespace": "p1", "name": "rb-old"},
             {"kind": "Secret", "namespace": "other", "name": "aws-connection-z"}]
    keep = [{"kind": "Secret", "namespace": "p1", "name": "aws-connection-a"},
            {"kind": "Namespace", "namespace": None, "name": "p1"}]
    assert stale_objects(found, keep, ["p1"]) == [
        {"kind": "RoleBinding", "namespace": "p1", "name": "rb-old"},
        {"kind": "Secret", "namespace": "p1", "name": "aws-connection-old"}]
    assert stale_objects(found, keep, []) == []
