# SPDX-License-Identifier: Apache-2.0
"""Log in to OpenShift with a user name and password, as ``oc login`` does.

OpenShift's OAuth server issues a token to the client ``openshift-challenging-
client`` for HTTP Basic credentials: ``GET <authorization_endpoint>?
response_type=token&client_id=openshift-challenging-client`` answers with a
redirect whose URL fragment carries ``access_token``. The endpoint is
discovered from the API server's ``/.well-known/oauth-authorization-server``.
The original demo's ``creds.env`` (CLUSTER, USER, PASSWORD) is read here too.
"""

import base64
import hashlib
import json

from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlencode, urlparse

from ansible.module_utils.urls import open_url

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError

CHALLENGING_CLIENT = "openshift-challenging-client"
CREDS_KEYS = {"CLUSTER": "host", "USER": "username", "PASSWORD": "password"}
TOKEN_PREFIX = "sha256~"
TIMEOUT = 30


def parse_creds_env(text):
    """``host``/``username``/``password`` from a creds.env (KEY=VALUE lines, # comments,
    optional ``export`` and quotes)."""
    found = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        key, sep, value = line.partition("=")
        if not sep:
            raise GitopsError("creds file line {0} is not KEY=VALUE; expected CLUSTER=..., "
                              "USER=... and PASSWORD=...".format(number))
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key.strip() in CREDS_KEYS:
            found[CREDS_KEYS[key.strip()]] = value
    return found


def read_creds_file(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_creds_env(handle.read())
    except OSError as exc:
        raise GitopsError("Cannot read creds_file {0}: {1}".format(path, exc.strerror)) from None


class OpenShiftLogin:
    """The OAuth exchange against one cluster."""

    def __init__(self, host, ca_cert=None, validate_certs=True, opener=open_url):
        self.host = host.rstrip("/")
        self.ca_cert = ca_cert
        self.validate_certs = validate_certs
        self._open = opener

    def _request(self, url, **kwargs):
        return self._open(url, ca_path=self.ca_cert, validate_certs=self.validate_certs,
                          timeout=TIMEOUT, **kwargs)

    def authorization_endpoint(self):
        url = self.host + "/.well-known/oauth-authorization-server"
        try:
            metadata = json.loads(self._request(url).read())
        except HTTPError as exc:
            raise GitopsError(
                "{0} answered HTTP {1}: this API server has no OpenShift OAuth server, so user "
                "and password cannot be exchanged for a token. Use a kubeconfig or a token "
                "instead.".format(url, exc.code)) from None
        except (URLError, OSError, ValueError) as exc:
            raise GitopsError("Cannot reach {0}: {1}. Check CLUSTER/host (the API URL, "
                              "https://api.<cluster>:6443) and ca_cert.".format(url, exc)) from None
        endpoint = metadata.get("authorization_endpoint")
        if not endpoint:
            raise GitopsError("{0} names no authorization_endpoint.".format(url))
        return endpoint

    def request_token(self, username, password):
        """A bearer token for ``username``; its lifetime in seconds is returned with it."""
        endpoint = self.authorization_endpoint()
        url = "{0}?{1}".format(endpoint, urlencode(
            {"response_type": "token", "client_id": CHALLENGING_CLIENT}))
        basic = base64.b64encode("{0}:{1}".format(username, password).encode()).decode()
        headers = {"Authorization": "Basic " + basic, "X-CSRF-Token": "1"}
        try:
            response = self._request(url, headers=headers, follow_redirects="none")
            location = response.headers.get("Location")
        except HTTPError as exc:
            if exc.code in (401, 403):
                raise GitopsError("The OAuth server refused user {0} (HTTP {1}): wrong user name "
                                  "or password, or the identity provider does not accept "
                                  "passwords.".format(username, exc.code)) from None
            if exc.code not in (301, 302, 303, 307):
                raise GitopsError("The OAuth server answered HTTP {0} at {1}.".format(
                    exc.code, endpoint)) from None
            location = exc.headers.get("Location") or exc.url
        except (URLError, OSError) as exc:
            raise GitopsError("Cannot reach the OAuth server at {0}: {1}".format(
                endpoint, exc)) from None
        return token_from_redirect(location)


def token_from_redirect(location):
    """``(token, expires_in)`` from the redirect URL's fragment."""
    fragment = parse_qs(urlparse(location or "").fragment)
    if "error" in fragment:
        raise GitopsError("The OAuth server refused the login: {0}: {1}".format(
            fragment["error"][0], fragment.get("error_description", [""])[0]))
    token = fragment.get("access_token", [None])[0]
    if not token:
        raise GitopsError("The OAuth server did not return a token (redirected to {0}).".format(
            urlparse(location or "").path or "nowhere"))
    expires = fragment.get("expires_in", [None])[0]
    return token, int(expires) if expires and expires.isdigit() else None


def token_object_name(token):
    """Name of the OAuthAccessToken object that stores ``token`` (to revoke it): for a
    ``sha256~`` token the hash of its secret part, for an old-style token the token itself."""
    if not token.startswith(TOKEN_PREFIX):
        return token
    digest = hashlib.sha256(token[len(TOKEN_PREFIX):].encode()).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def revoke(host, token, ca_cert=None, validate_certs=True, opener=open_url):
    """Delete the token's OAuthAccessToken; True if it existed."""
    url = "{0}/apis/oauth.openshift.io/v1/oauthaccesstokens/{1}".format(
        host.rstrip("/"), token_object_name(token))
    try:
        opener(url, method="DELETE", headers={"Authorization": "Bearer " + token},
               ca_path=ca_cert, validate_certs=validate_certs, timeout=TIMEOUT)
    except HTTPError as exc:
        if exc.code in (401, 404):
            return False  # expired or already revoked
        raise GitopsError("Revoking the token failed: HTTP {0} at {1}.".format(
            exc.code, url)) from None
    except (URLError, OSError) as exc:
        raise GitopsError("Cannot reach {0}: {1}".format(url, exc)) from None
    return True


def run_login(module):
    """The openshift_login module (no cluster client involved: it creates the credentials)."""
    params = module.params
    settings = read_creds_file(params["creds_file"]) if params["creds_file"] else {}
    for key in ("host", "username", "password"):
        if params.get(key):
            settings[key] = params[key]
    if not settings.get("host"):
        raise GitopsError("No cluster given: set host, or CLUSTER in creds_file.")
    if params["state"] == "absent":  # api_key is required then (the module's required_if)
        revoked = False if module.check_mode else revoke(
            settings["host"], params["api_key"], params["ca_cert"], params["validate_certs"])
        return {"changed": revoked, "host": settings["host"]}
    missing = [k for k in ("username", "password") if not settings.get(k)]
    if missing:
        raise GitopsError("Missing {0}: set the option(s), or USER and PASSWORD in "
                          "creds_file.".format(" and ".join(missing)))
    login = OpenShiftLogin(settings["host"], params["ca_cert"], params["validate_certs"])
    token, expires_in = login.request_token(settings["username"], settings["password"])
    return {"changed": False, "host": login.host, "username": settings["username"],
            "api_key": token, "expires_in": expires_in}
