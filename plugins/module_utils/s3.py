# SPDX-License-Identifier: Apache-2.0
"""S3 checks for MinIO buckets and data connections, through botocore.

One probe per bucket: ``ListObjectsV2`` with ``MaxKeys=1``. It proves in one
request that the endpoint answers, that the access key is known, that the
secret key signs correctly, that the bucket exists and that the key may read
it; its error codes say which of those failed (``HeadBucket`` would answer a
bare 403/404 without a code). Failures become ``S3Error`` with a ``kind``
(``unreachable``, ``tls``, ``access_key``, ``secret_key``, ``denied``,
``missing``, ``region``, ``error``) and a message that names the endpoint and
what to do. Secret values never appear in messages.
"""

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError

try:
    import botocore.session
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
        SSLError,
    )
    HAS_BOTOCORE = True
    BOTOCORE_IMPORT_ERROR = None
except ImportError as exc:  # reported by the module (missing_required_lib)
    HAS_BOTOCORE = False
    BOTOCORE_IMPORT_ERROR = exc

UNREACHABLE = "unreachable"
MISSING = "missing"

_CODES = {
    "InvalidAccessKeyId": ("access_key", "the access key ID is not known to the server"),
    "SignatureDoesNotMatch": ("secret_key", "the secret access key is wrong (the request "
                                            "signature does not match)"),
    "AccessDenied": ("denied", "the credentials were accepted but may not read the bucket"),
    "AllAccessDisabled": ("denied", "all access to the bucket is disabled"),
    "AccountProblem": ("denied", "the account has a problem"),
    "NoSuchBucket": (MISSING, "the bucket does not exist"),
    "AuthorizationHeaderMalformed": ("region", "the server expects another region"),
    "PermanentRedirect": ("region", "the bucket lives in another region or endpoint"),
    "InvalidRegion": ("region", "the server expects another region"),
    "InvalidBucketName": ("error", "the server refuses the bucket name"),
}

_ADVICE = {
    "access_key": "Check the access key (AWS_ACCESS_KEY_ID).",
    "secret_key": "Check the secret key (AWS_SECRET_ACCESS_KEY).",
    "denied": "Grant the key read access to the bucket (s3:ListBucket), or use another key.",
    "region": "Set the region the server expects.",
    "tls": ("The server's certificate is not trusted: give the CA bundle (ca_path), or set "
            "validate_certs to false for a self-signed test endpoint."),
    UNREACHABLE: ("Check the URL, and that it can be reached from where Ansible runs (DNS, "
                  "routes, proxies, firewalls)."),
}


class S3Error(GitopsError):
    """An S3 request failed; ``kind`` says why (see the module docstring)."""

    def __init__(self, msg, kind, code=None, status=None):
        super().__init__(msg, kind=kind, code=code, status=status)
        self.kind = kind
        self.code = code
        self.status = status


class S3Endpoint:
    """One endpoint with one set of credentials."""

    def __init__(self, endpoint_url, access_key, secret_key, region=None, validate_certs=True,
                 ca_path=None, timeout=10, retries=2, session=None):
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region or "us-east-1"
        verify = (ca_path or True) if validate_certs else False
        session = session or botocore.session.get_session()
        self.client = session.create_client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region, verify=verify,
            aws_access_key_id=access_key, aws_secret_access_key=secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=timeout, read_timeout=timeout,
                retries={"mode": "standard", "total_max_attempts": max(1, retries)},
                user_agent_extra="rhods.gitops"))

    def probe(self, bucket):
        """``"exists"`` or ``MISSING``; raises S3Error for anything else."""
        try:
            self.client.list_objects_v2(Bucket=bucket, MaxKeys=1)
            return "exists"
        except ClientError as exc:
            error = self._client_error(exc, bucket, "read bucket")
            if error.kind == MISSING:
                return MISSING
            raise error from None
        except BotoCoreError as exc:
            raise self._transport_error(exc) from None

    def create(self, bucket):
        """Create ``bucket``; ``"created"``, or ``"exists"`` when someone else just did."""
        params = {"Bucket": bucket}
        if self.region not in ("", "us-east-1"):
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**params)
            return "created"
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "BucketAlreadyOwnedByYou":
                return "exists"
            if code == "BucketAlreadyExists":
                raise S3Error("Cannot create bucket {0!r} at {1}: the name is taken by another "
                              "account. Choose another bucket name.".format(
                                  bucket, self.endpoint_url), "error", code=code) from None
            raise self._client_error(exc, bucket, "create bucket") from None
        except BotoCoreError as exc:
            raise self._transport_error(exc) from None

    def _client_error(self, exc, bucket, action):
        err = exc.response.get("Error", {}) or {}
        code = err.get("Code") or ""
        status = (exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        kind, what = _CODES.get(code, (None, None))
        if kind is None:
            if status == 404 or code == "404":
                kind, what = MISSING, "the bucket does not exist (HTTP 404)"
            elif status == 403 or code == "403":
                kind, what = "denied", "access was refused (HTTP 403)"
            else:
                kind, what = "error", "the server answered {0} {1}".format(
                    status, code or err.get("Message") or "")
        msg = "Cannot {0} {1!r} at {2}: {3} ({4}).".format(
            action, bucket, self.endpoint_url, what, code or status)
        if kind in _ADVICE:
            msg += " " + _ADVICE[kind]
        return S3Error(msg, kind, code=code or None, status=status)

    def _transport_error(self, exc):
        if isinstance(exc, SSLError):
            return S3Error("TLS with {0} failed: {1}. {2}".format(
                self.endpoint_url, exc, _ADVICE["tls"]), "tls")
        if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError)):
            return S3Error("{0} cannot be reached: {1}. {2}".format(
                self.endpoint_url, exc, _ADVICE[UNREACHABLE]), UNREACHABLE)
        return S3Error("S3 request to {0} failed: {1}".format(self.endpoint_url, exc), "error")


class S3Clients:
    """Clients cached by (endpoint, credentials, region, TLS), and endpoints known to be
    unreachable (so many connections to one dead endpoint cost one timeout, not many)."""

    def __init__(self, timeout=10, retries=2):
        self.timeout = timeout
        self.retries = retries
        self._clients = {}
        self._session = None
        self.unreachable = {}

    def get(self, endpoint_url, access_key, secret_key, region=None, validate_certs=True,
            ca_path=None):
        key = (endpoint_url, access_key, secret_key, region, validate_certs, ca_path)
        if key not in self._clients:
            if self._session is None:
                self._session = botocore.session.get_session()
            self._clients[key] = S3Endpoint(
                endpoint_url, access_key, secret_key, region=region,
                validate_certs=validate_certs, ca_path=ca_path, timeout=self.timeout,
                retries=self.retries, session=self._session)
        return self._clients[key]
