"""Logging in with user and password (creds.env), without a cluster: a fake OAuth server."""

import base64
import io
import json
from email.message import Message
from urllib.error import HTTPError

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.openshift_auth import (
    OpenShiftLogin,
    parse_creds_env,
    token_from_redirect,
    token_object_name,
)

API = "https://api.example.com:6443"
AUTHORIZE = "https://oauth-openshift.apps.example.com/oauth/authorize"


def test_parse_creds_env():
    text = """
# the original demo's format
CLUSTER=https://api.example.com:6443
USER=kubeadmin
export PASSWORD='p@ss=word'
OTHER=ignored
"""
    assert parse_creds_env(text) == {"host": API, "username": "kubeadmin",
                                     "password": "p@ss=word"}


def test_parse_creds_env_rejects_garbage():
    with pytest.raises(GitopsError, match="line 2 is not KEY=VALUE"):
        parse_creds_env("CLUSTER=x\nnonsense\n")


def test_token_from_redirect():
    location = ("https://oauth-openshift.apps.example.com/oauth/token/implicit#access_token="
                "sha256~abc&expires_in=86400&scope=user%3Afull&token_type=Bearer")
    assert token_from_redirect(location) == ("sha256~abc", 86400)
    with pytest.raises(GitopsError, match="access_denied"):
        token_from_redirect("https://x/implicit#error=access_denied&error_description=no")
    with pytest.raises(GitopsError, match="did not return a token"):
        token_from_redirect("https://x/login")


def test_token_object_name_is_the_sha256_of_the_token():
    # sha256("abc") in unpadded URL-safe base64
    assert token_object_name("sha256~abc") == "sha256~ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
    assert token_object_name("legacy-token") == "legacy-token"


class FakeOAuth:
    """Answers the discovery document and the authorize endpoint like OpenShift does."""

    def __init__(self, password="secret"):
        self.password = password
        self.requests = []

    def __call__(self, url, headers=None, follow_redirects=None, **kwargs):
        self.requests.append((url, headers or {}, follow_redirects))
        if url.endswith("/.well-known/oauth-authorization-server"):
            return io.BytesIO(json.dumps({"authorization_endpoint": AUTHORIZE}).encode())
        _user, _sep, password = base64.b64decode(headers["Authorization"][6:]).decode().partition(":")
        if password != self.password:
            raise HTTPError(url, 401, "Unauthorized", Message(), None)
        hdrs = Message()
        hdrs["Location"] = ("https://oauth-openshift.apps.example.com/oauth/token/implicit"
                            "#access_token=sha256~t0k&expires_in=600&token_type=Bearer")
        raise HTTPError(hdrs["Location"], 302, "Found", hdrs, None)


def test_request_token_uses_the_challenging_client():
    oauth = FakeOAuth()
    token = OpenShiftLogin(API + "/", opener=oauth).request_token("kubeadmin", "secret")
    assert token == ("sha256~t0k", 600)
    url, headers, redirects = oauth.requests[1]
    assert url == AUTHORIZE + "?response_type=token&client_id=openshift-challenging-client"
    assert headers["X-CSRF-Token"] == "1" and headers["Authorization"].startswith("Basic ")
    assert redirects == "none"


def test_wrong_password_is_named_without_showing_it():
    with pytest.raises(GitopsError) as info:
        OpenShiftLogin(API, opener=FakeOAuth()).request_token("kubeadmin", "wrong")
    assert "refused user kubeadmin (HTTP 401)" in info.value.msg
    assert "wrong" not in info.value.msg.replace("wrong user name", "")


def test_no_oauth_server():
    def opener(url, **kwargs):
        raise HTTPError(url, 404, "Not Found", Message(), None)
    with pytest.raises(GitopsError, match="no OpenShift OAuth server"):
        OpenShiftLogin(API, opener=opener).request_token("a", "b")
