"""The redactor every failure message of a module passes through (pure logic)."""

import base64

from ansible_collections.rhods.gitops.plugins.module_utils.redact import (
    REDACTED,
    Redactor,
    explain_unexpected,
    kubeconfig_secrets,
)

TOKEN = "sha256~AbCdEf0123456789secret"


def test_a_token_with_its_newline_is_removed_in_every_form():
    redactor = Redactor([TOKEN + "\n"])
    message = "Invalid header value b'Bearer %s\\n' and again %s and %s" % (
        TOKEN, TOKEN, base64.b64encode(TOKEN.encode()).decode())
    out = redactor.text(message)
    assert TOKEN not in out
    assert base64.b64encode(TOKEN.encode()).decode() not in out
    assert out.count(REDACTED) == 3


def test_anything_after_bearer_is_removed_even_when_unknown():
    out = Redactor().text("header: Authorization: Bearer unknown-token-value, then more")
    assert "unknown-token-value" not in out and "then more" in out


def test_credentials_come_from_parameters_environment_and_kubeconfig(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("users:\n- name: u\n  user:\n    token: kube-token-1234\n"
                          "- name: v\n  user:\n    password: pass-word-99\n")
    redactor = Redactor.for_module(
        {"api_key": "param-key-5678", "kubeconfig": str(kubeconfig)},
        environ={"K8S_AUTH_API_KEY": "env-key-abcd", "HOME": str(tmp_path)})
    out = redactor.text("param-key-5678 env-key-abcd kube-token-1234 pass-word-99 visible")
    assert out == " ".join([REDACTED] * 4) + " visible"


def test_nested_details_are_redacted():
    redactor = Redactor(["s3cr3t-value"])
    assert redactor.value({"a": ["x s3cr3t-value", {"b": "s3cr3t-value"}], "n": 3}) == {
        "a": ["x " + REDACTED, {"b": REDACTED}], "n": 3}


def test_short_values_are_not_treated_as_secrets():
    assert Redactor(["ab"]).text("ab cd") == "ab cd"


def test_an_unreadable_kubeconfig_gives_nothing(tmp_path):
    assert kubeconfig_secrets(str(tmp_path / "missing")) == []


def test_an_invalid_header_names_the_cause_and_where_to_fix_it():
    message = explain_unexpected(ValueError("Invalid header value b'Bearer x\\n'"))
    assert "newline" in message and "K8S_AUTH_API_KEY" in message
