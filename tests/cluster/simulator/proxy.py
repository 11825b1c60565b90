"""Front proxy of the local control plane (test infrastructure only).

OpenShift serves ``POST .../buildconfigs/<name>/instantiate`` and
``GET .../builds/<name>/log`` from its own aggregated API server; a CRD cannot
have such subresources.  Every kubeconfig handed to users and tests therefore
points at this proxy, which

* forwards every request unchanged to the real kube-apiserver (method, path,
  query, headers including ``Authorization``, body), and streams the response
  back as it arrives (watches are chunked responses that stay open), and
* answers those two paths itself, after authenticating the caller's bearer
  token with a TokenReview and authorizing the request for real with a
  SubjectAccessReview, the way an aggregated API server delegates both.

It also adds ``buildconfigs/instantiate`` and ``builds/log`` to the legacy
discovery document of ``build.openshift.io/v1`` so that dynamic clients find
them where OpenShift lists them.

Run: ``python -m simulator.proxy --state-dir <dir>`` with cwd ``tests/cluster``
(``localcluster up`` does this).  Quiet by default; ``--debug`` (or
``LOCALCLUSTER_PROXY_DEBUG=1``) logs one line per request to stderr.
"""

import argparse
import http.client
import json
import logging
import os
import re
import select
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("simulator.proxy")

HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
))
CHUNK = 64 * 1024

BUILD_GROUP = "build.openshift.io"
INSTANTIATE = re.compile(
    r"^/apis/build\.openshift\.io/v1/namespaces/([^/]+)/buildconfigs/([^/]+)/instantiate/?$")
BUILD_LOG = re.compile(r"^/apis/build\.openshift\.io/v1/namespaces/([^/]+)/builds/([^/]+)/log/?$")
BUILD_DISCOVERY = "/apis/build.openshift.io/v1"
TERMINAL_BUILD_PHASES = ("Complete", "Failed", "Error", "Cancelled")

# Entries OpenShift lists in the discovery of build.openshift.io/v1.
EXTRA_DISCOVERY = [
    {"name": "buildconfigs/instantiate", "singularName": "", "namespaced": True,
     "group": BUILD_GROUP, "version": "v1", "kind": "BuildRequest", "verbs": ["create"]},
    {"name": "builds/log", "singularName": "", "namespaced": True,
     "group": BUILD_GROUP, "version": "v1", "kind": "BuildLog", "verbs": ["get"]},
]


# --------------------------------------------------------------------------- TLS server

class TLSThreadingServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose TLS handshake happens in the worker thread.

    Wrapping the listening socket would do the handshake in ``accept()`` of the
    single serving thread, where one slow client blocks everybody.
    """

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512

    def __init__(self, address, handler, certfile, keyfile):
        super().__init__(address, handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        context.set_alpn_protocols(["http/1.1"])
        self.ssl_context = context

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log.debug("connection from %s failed", client_address, exc_info=True)


def read_request_body(handler):
    """The request body as bytes (Content-Length or chunked), or None."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        parts = []
        while True:
            line = handler.rfile.readline(65537)
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            parts.append(handler.rfile.read(size))
            handler.rfile.readline(3)
        return b"".join(parts)
    length = handler.headers.get("Content-Length")
    if length is None:
        return None
    return handler.rfile.read(int(length)) if int(length) > 0 else b""


def status_body(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


# --------------------------------------------------------------------------- proxy

class Proxy:
    """Shared state of the proxy: upstream address, TLS context, admin Context."""

    def __init__(self, state_dir):
        self.state_dir = os.path.abspath(state_dir)
        with open(os.path.join(self.state_dir, "ports.json"), encoding="utf-8") as handle:
            self.ports = json.load(handle)
        self.upstream_host = "127.0.0.1"
        self.upstream_port = int(self.ports["apiserver"])
        pki = os.path.join(self.state_dir, "pki")
        self.ca_file = os.path.join(pki, "ca.crt")
        self.cert_file = os.path.join(pki, "serving.crt")
        self.key_file = os.path.join(pki, "serving.key")
        self.upstream_ssl = ssl.create_default_context(cafile=self.ca_file)
        self.upstream_ssl.set_alpn_protocols(["http/1.1"])
        self._ctx = None
        self._ctx_lock = threading.Lock()
        self._token_cache = {}
        self._token_lock = threading.Lock()

    # ---- upstream

    def connect(self):
        return http.client.HTTPSConnection(self.upstream_host, self.upstream_port,
                                           context=self.upstream_ssl, timeout=3600)

    # ---- admin access (lazily: only the two own endpoints need it)

    def context(self):
        with self._ctx_lock:
            if self._ctx is None:
                from simulator.core import Context  # pylint: disable=import-outside-toplevel
                self._ctx = Context(os.path.join(self.state_dir, "kubeconfig-admin-direct.yaml"),
                                    self.state_dir)
            return self._ctx

    def admin_call(self, method, path, body=None):
        """(status, parsed JSON) of an admin request straight to the apiserver."""
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
        api = self.context().api_client
        try:
            resp = api.call_api(path, method, header_params={"Accept": "application/json",
                                                             "Content-Type": "application/json"},
                                body=body, auth_settings=["BearerToken"],
                                _preload_content=False, _return_http_data_only=True)
            data = resp.data
            return resp.status, (json.loads(data) if data else None)
        except ApiException as exc:
            try:
                parsed = json.loads(exc.body) if exc.body else None
            except ValueError:
                parsed = None
            return exc.status, parsed

    def authenticate(self, authorization):
        """The user info dict of a bearer token, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization.split(None, 1)[1].strip()
        now = time.monotonic()
        with self._token_lock:
            cached = self._token_cache.get(token)
            if cached and now - cached[0] < 10:
                return cached[1]
        code, review = self.admin_call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token}})
        if code >= 300 or not review:
            raise RuntimeError("TokenReview failed with HTTP %s" % code)
        status = review.get("status") or {}
        user = status.get("user") if status.get("authenticated") else None
        with self._token_lock:
            if len(self._token_cache) > 1000:
                self._token_cache.clear()
            self._token_cache[token] = (now, user)
        return user

    def authorize(self, user, attributes):
        """(allowed, reason) of a SubjectAccessReview for ``user``."""
        spec = {"user": user.get("username", ""), "groups": user.get("groups") or [],
                "resourceAttributes": attributes}
        if user.get("uid"):
            spec["uid"] = user["uid"]
        if user.get("extra"):
            spec["extra"] = user["extra"]
        code, review = self.admin_call(
            "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
             "spec": spec})
        if code >= 300 or not review:
            raise RuntimeError("SubjectAccessReview failed with HTTP %s" % code)
        status = review.get("status") or {}
        return bool(status.get("allowed")) and not status.get("denied"), status.get("reason", "")

    def openshift(self):
        from simulator.controllers import openshift  # pylint: disable=import-outside-toplevel
        return openshift


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcluster-proxy"
    disable_nagle_algorithm = True  # headers and body are separate writes
    timeout = 600  # idle keep-alive connections
    proxy = None   # set by serve()

    def setup(self):
        super().setup()
        self.upstream = None
        self.upstream_used = False
        self.last_response = None
        self.status_code = None

    def send_response_only(self, code, message=None):
        self.status_code = code
        super().send_response_only(code, message)

    def finish(self):
        try:
            super().finish()
        finally:
            self._drop_upstream()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)

    def log_error(self, format, *args):  # pylint: disable=redefined-builtin
        log.debug("%s %s", self.address_string(), format % args)

    # ---- dispatch

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def dispatch(self):
        started = time.monotonic()
        self.status_code = None
        try:
            body = read_request_body(self)
        except (ValueError, OSError):
            self.close_connection = True
            self.send_json(400, status_body(400, "BadRequest", "malformed request body"))
            return
        path = urlsplit(self.path).path
        try:
            match = INSTANTIATE.match(path)
            if match:
                self.instantiate(match.group(1), match.group(2), body)
                return
            match = BUILD_LOG.match(path)
            if match:
                self.build_log(match.group(1), match.group(2))
                return
            if self.command == "GET" and path.rstrip("/") == BUILD_DISCOVERY:
                self.build_discovery(body)
                return
            self.forward(body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout) as exc:
            log.debug("client went away during %s %s: %s", self.command, self.path, exc)
            self.close_connection = True
            self._drop_upstream()
        except Exception as exc:  # pylint: disable=broad-except
            log.warning("%s %s failed: %s", self.command, self.path, exc, exc_info=True)
            self.close_connection = True
            self._drop_upstream()
            if self.status_code is None:  # nothing sent yet: answer like a gateway
                try:
                    self.send_json(502, status_body(502, "InternalError",
                                                    "localcluster proxy: %s" % exc))
                except OSError:
                    pass
        finally:
            log.debug("%s %s -> %s %.3fs", self.command, self.path, self.status_code,
                      time.monotonic() - started)

    # ---- forwarding

    def _drop_upstream(self):
        if getattr(self, "upstream", None) is not None:
            try:
                self.upstream.close()
            except OSError:
                pass
        self.upstream = None
        self.upstream_used = False
        self.last_response = None

    def _upstream_request(self, method, target, headers, body):
        """Send one request upstream (reusing this client's connection) -> response."""
        if self.upstream is not None and self.last_response is not None and \
                not self.last_response.isclosed():
            # The previous response was not read to its end: not reusable.
            self._drop_upstream()
        for attempt in (0, 1):
            if self.upstream is None:
                self.upstream = self.proxy.connect()
                self.upstream_used = False
            reused = self.upstream_used
            try:
                self.upstream.putrequest(method, target, skip_host=True,
                                         skip_accept_encoding=True)
                self.upstream.putheader("Host", "%s:%d" % (self.proxy.upstream_host,
                                                           self.proxy.upstream_port))
                for key, value in headers:
                    self.upstream.putheader(key, value)
                if body is not None:
                    self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body)
                response = self.upstream.getresponse()
                self.upstream_used = True
                self.last_response = response
                return response
            except (http.client.RemoteDisconnected, http.client.ImproperConnectionState,
                    http.client.BadStatusLine, BrokenPipeError, ConnectionResetError,
                    ConnectionAbortedError) as exc:
                # An idle kept-alive upstream connection may have been closed by
                # the apiserver; the request never reached it: retry once.
                self._drop_upstream()
                if attempt or not reused:
                    raise
                log.debug("upstream connection closed (%s); reconnecting", exc)
        raise RuntimeError("unreachable")

    def _forward_headers(self):
        connection_tokens = {t.strip().lower()
                             for t in self.headers.get("Connection", "").split(",")}
        out = []
        for key, value in self.headers.items():
            lower = key.lower()
            if lower in HOP_BY_HOP or lower in connection_tokens or lower in (
                    "host", "content-length", "expect"):
                continue
            out.append((key, value))
        return out

    def forward(self, body):
        if body is None and self.command in ("POST", "PUT", "PATCH"):
            body = b""
        response = self._upstream_request(self.command, self.path, self._forward_headers(), body)
        self.relay(response)

    def relay(self, response):
        """Stream an upstream response to the client, chunk by chunk."""
        self.send_response_only(response.status, response.reason)
        connection_tokens = set()
        for value in response.headers.get_all("Connection") or []:
            connection_tokens.update(t.strip().lower() for t in value.split(","))
        for key, value in response.getheaders():
            lower = key.lower()
            if lower in HOP_BY_HOP or lower in connection_tokens or lower == "content-length":
                continue
            self.send_header(key, value)
        no_body = (self.command == "HEAD" or response.status in (204, 304)
                   or 100 <= response.status < 200)
        length = response.getheader("Content-Length")
        if no_body:
            if length is not None:
                self.send_header("Content-Length", length)
            self._end_headers()
            response.read()
            self._after_upstream(response)
            return
        if response.length is not None:
            self.send_header("Content-Length", str(response.length))
            self._end_headers()
            self._copy(response, chunked=False)
        elif self.request_version == "HTTP/1.0":
            self.close_connection = True
            self.send_header("Connection", "close")
            self._end_headers()
            self._copy(response, chunked=False, streaming=True)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self._end_headers()
            self._copy(response, chunked=True, streaming=True)
        self._after_upstream(response)

    def _end_headers(self):
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()

    def _copy(self, response, chunked, streaming=False):
        done = threading.Event()
        gone = threading.Event()
        if streaming:
            threading.Thread(target=self._watch_client, args=(response, done, gone),
                             name="client-monitor", daemon=True).start()
        try:
            while True:
                try:
                    data = response.read1(CHUNK)
                except (http.client.IncompleteRead, OSError, ValueError) as exc:
                    # Upstream broke mid-body (or we cut it: the client left).
                    log.debug("upstream body interrupted: %s", exc)
                    self.close_connection = True
                    self._drop_upstream()
                    return
                if gone.is_set():
                    self.close_connection = True
                    self._drop_upstream()
                    return
                if not data:
                    break
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
                self.wfile.flush()
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            # The client went away (a watch was closed): stop the upstream too.
            self.close_connection = True
            self._drop_upstream()
            raise
        finally:
            done.set()

    def _watch_client(self, response, done, gone):
        """While a response streams, end it when the client hangs up.

        A watch whose client went away would otherwise hold this thread and an
        upstream connection until the apiserver ends the watch (up to an hour).
        Only ``select`` is used here; the TLS object is never touched from
        this thread.  Kubernetes clients do not pipeline requests, so a client
        socket that becomes readable during a streamed response has closed.
        """
        try:
            raw = response.fp.raw._sock  # pylint: disable=protected-access
        except AttributeError:
            raw = getattr(self.upstream, "sock", None)
        while not done.is_set():
            try:
                readable, _, _ = select.select([self.connection], [], [], 1.0)
            except (OSError, ValueError):
                return
            if readable and not done.is_set():
                gone.set()
                log.debug("client closed a streamed response; closing upstream")
                try:
                    raw.shutdown(socket.SHUT_RDWR)
                except (OSError, AttributeError):
                    pass
                return

    def _after_upstream(self, response):
        if not response.isclosed() and response.length == 0:
            response.close()  # a zero-length body that read1() never marks as done
        if response.will_close or not response.isclosed():
            self._drop_upstream()

    # ---- own responses

    def send_bytes(self, code, data, content_type):
        self.send_response_only(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self._end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
            self.wfile.flush()

    def send_json(self, code, obj):
        self.send_bytes(code, json.dumps(obj).encode(), "application/json")

    def check_access(self, namespace, name, verb, resource, subresource):
        """Authenticate and authorize the caller; send the error and return False if denied."""
        try:
            user = self.proxy.authenticate(self.headers.get("Authorization"))
        except RuntimeError as exc:
            self.send_json(500, status_body(500, "InternalError", str(exc)))
            return False
        if user is None:
            self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
            return False
        user = self.impersonate(user)
        if user is None:
            return False
        allowed, reason = self.proxy.authorize(user, {
            "namespace": namespace, "verb": verb, "group": BUILD_GROUP,
            "resource": resource, "subresource": subresource, "name": name, "version": "v1"})
        if not allowed:
            message = ('%s.%s "%s" is forbidden: User "%s" cannot %s resource "%s/%s" in API group '
                       '"%s" in the namespace "%s"' % (resource, BUILD_GROUP, name,
                                                       user.get("username", ""), verb, resource,
                                                       subresource, BUILD_GROUP, namespace))
            if reason:
                message += ": " + reason
            self.send_json(403, status_body(403, "Forbidden", message, {
                "name": name, "group": BUILD_GROUP, "kind": resource}))
            return False
        return True

    def impersonate(self, user):
        """Honour Impersonate-User / Impersonate-Group (kubectl --as) like the apiserver."""
        target = self.headers.get("Impersonate-User")
        groups = self.headers.get_all("Impersonate-Group") or []
        if not target:
            if groups:
                self.send_json(400, status_body(400, "BadRequest", "requested impersonation "
                                                "of groups without impersonating a user"))
                return None
            return user
        checks = [("users", target)] + [("groups", group) for group in groups]
        for resource, name in checks:
            allowed, _reason = self.proxy.authorize(user, {"verb": "impersonate", "group": "",
                                                           "resource": resource, "name": name})
            if not allowed:
                self.send_json(403, status_body(403, "Forbidden", '%s "%s" is forbidden: User "%s" '
                                                'cannot impersonate resource "%s" in API group "" '
                                                'at the cluster scope' % (
                                                    resource, name, user.get("username", ""),
                                                    resource), {"name": name, "kind": resource}))
                return None
        if target.startswith("system:serviceaccount:"):
            namespace = target.split(":")[2]
            groups = groups + ["system:serviceaccounts", "system:serviceaccounts:" + namespace]
        return {"username": target, "groups": list(dict.fromkeys(groups + [
            "system:authenticated"]))}

    def not_found(self, resource, name):
        self.send_json(404, status_body(404, "NotFound", '%s.%s "%s" not found' % (
            resource, BUILD_GROUP, name), {"name": name, "group": BUILD_GROUP, "kind": resource}))

    def method_not_allowed(self):
        self.send_json(405, status_body(405, "MethodNotAllowed",
                                        "the server does not allow this method on the requested "
                                        "resource"))

    def instantiate(self, namespace, name, body):
        if self.command != "POST":
            self.method_not_allowed()
            return
        if not self.check_access(namespace, name, "create", "buildconfigs", "instantiate"):
            return
        try:
            request = json.loads(body or b"{}") or {}
        except ValueError:
            self.send_json(400, status_body(400, "BadRequest",
                                            "the body of the request was in an unknown format"))
            return
        if not isinstance(request, dict):
            self.send_json(400, status_body(400, "BadRequest", "a BuildRequest is expected"))
            return
        code, _ = self.proxy.admin_call(
            "GET", "/apis/build.openshift.io/v1/namespaces/%s/buildconfigs/%s" % (namespace, name))
        if code == 404:
            self.not_found("buildconfigs", name)
            return
        from kubernetes.client.rest import ApiException  # pylint: disable=import-outside-toplevel
        triggered_by = request.get("triggeredBy") or [{"message": "Manually triggered"}]
        try:
            build = self.proxy.openshift().start_build(self.proxy.context(), namespace, name,
                                                       triggered_by)
        except ApiException as exc:
            if exc.status == 404:
                self.not_found("buildconfigs", name)
            else:
                self.send_json(exc.status or 500, status_body(
                    exc.status or 500, "InternalError" if (exc.status or 500) >= 500
                    else "Conflict" if exc.status == 409 else "BadRequest",
                    "starting a build of %s/%s: %s" % (namespace, name, exc.reason)))
            return
        if not isinstance(build, dict):
            build = self.proxy.context().api_client.sanitize_for_serialization(build)
        self.send_json(201, build)

    def build_log(self, namespace, name):
        if self.command not in ("GET", "HEAD"):
            self.method_not_allowed()
            return
        if not self.check_access(namespace, name, "get", "builds", "log"):
            return
        query = parse_qs(urlsplit(self.path).query)
        path = "/apis/build.openshift.io/v1/namespaces/%s/builds/%s" % (namespace, name)
        code, build = self.proxy.admin_call("GET", path)
        if code == 404:
            self.not_found("builds", name)
            return
        openshift = self.proxy.openshift()
        ctx = self.proxy.context()
        tail = _int_param(query, "tailLines")
        limit = _int_param(query, "limitBytes")
        follow = (query.get("follow") or ["false"])[0].lower() in ("true", "1")
        text = openshift.read_build_log(ctx, namespace, name) or ""
        phase = ((build or {}).get("status") or {}).get("phase")
        if not follow or phase in TERMINAL_BUILD_PHASES or self.request_version == "HTTP/1.0":
            self.send_bytes(200, _trim(text, tail, limit).encode(), "text/plain")
            return
        # follow: stream what is there, then what is appended, until the build ends.
        self.send_response_only(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self._end_headers()
        sent = _trim(text, tail, None)
        self._chunk(sent.encode())
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and phase not in TERMINAL_BUILD_PHASES:
            time.sleep(0.5)
            code, build = self.proxy.admin_call("GET", path)
            if code != 200:
                break
            phase = ((build or {}).get("status") or {}).get("phase")
            text = openshift.read_build_log(ctx, namespace, name) or ""
            if text.startswith(sent) and len(text) > len(sent):
                self._chunk(text[len(sent):].encode())
                sent = text
            elif not text.startswith(sent):
                self._chunk(text.encode())
                sent = text
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _chunk(self, data):
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def build_discovery(self, body):
        headers = [(k, v) for k, v in self._forward_headers()
                   if k.lower() not in ("accept", "accept-encoding", "if-none-match",
                                        "if-modified-since")]
        headers += [("Accept", "application/json"), ("Accept-Encoding", "identity")]
        response = self._upstream_request("GET", self.path, headers, body)
        data = response.read()
        self._after_upstream(response)
        if response.status == 200:
            try:
                doc = json.loads(data)
                names = {r.get("name") for r in doc.get("resources") or []}
                for extra in EXTRA_DISCOVERY:
                    if extra["name"] not in names and extra["name"].split("/")[0] in names:
                        doc["resources"].append(dict(extra))
                data = json.dumps(doc).encode()
            except (ValueError, AttributeError, TypeError):
                pass
        self.send_bytes(response.status, data,
                        response.getheader("Content-Type", "application/json"))


def _int_param(query, name):
    try:
        value = int((query.get(name) or [""])[0])
        return value if value >= 0 else None
    except ValueError:
        return None


def _trim(text, tail_lines, limit_bytes):
    if tail_lines is not None:
        lines = text.splitlines(keepends=True)
        text = "".join(lines[-tail_lines:]) if tail_lines else ""
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode(errors="ignore")
    return text


# --------------------------------------------------------------------------- main

def serve(state_dir, port=None, ready=None):
    proxy = Proxy(state_dir)
    handler = type("BoundProxyHandler", (ProxyHandler,), {"proxy": proxy})
    server = TLSThreadingServer(("127.0.0.1", port or int(proxy.ports["proxy"])), handler,
                                proxy.cert_file, proxy.key_file)
    if ready is not None:
        ready(server)
    log.info("proxy on https://127.0.0.1:%d -> https://127.0.0.1:%d",
             server.server_address[1], proxy.upstream_port)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="simulator.proxy", description=__doc__.split("\n")[0])
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--port", type=int, help="default: ports.json['proxy']")
    parser.add_argument("--debug", action="store_true",
                        default=os.environ.get("LOCALCLUSTER_PROXY_DEBUG") not in (None, "", "0"))
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.debug:
        # The kubernetes client logs every request at DEBUG; keep it quiet too.
        logging.getLogger("kubernetes").setLevel(logging.WARNING)
        logging.getLogger("urllib3").setLevel(logging.WARNING)
    try:
        serve(args.state_dir, args.port)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
