# SPDX-License-Identifier: Apache-2.0
"""Keep credentials out of failure messages.

A module's parameters marked ``no_log`` are masked by Ansible, but a token that
comes from the environment (``K8S_AUTH_API_KEY`` as AAP sets it) or from a
kubeconfig is no parameter, and the HTTP stack quotes it in some exceptions
(``Invalid header value b'Bearer ...\\n'``). Every message a module fails with
passes through ``Redactor.text``, which knows every credential in play.
"""

import base64
import os
import re

try:
    import yaml
except ImportError:  # ansible-core requires PyYAML; without it no kubeconfig is read here
    yaml = None

REDACTED = "<redacted>"
# Environment variables of kubernetes.core's authentication that hold a secret.
SECRET_ENV = ("K8S_AUTH_API_KEY", "K8S_AUTH_PASSWORD", "K8S_AUTH_CLIENT_KEY")
SECRET_PARAMS = ("api_key", "password")
# What a kubeconfig user entry may hold that is a credential.
KUBECONFIG_SECRETS = ("token", "password", "client-key-data")
# Whatever follows these words in a message is a credential whatever its source.
CREDENTIAL_PATTERN = re.compile(r"(?i)\b(bearer|basic)(\s+)([^\s'\"\\]+(?:\\n)?)")
MIN_LENGTH = 4


def _forms(value):
    """The value as it may appear in text: raw, stripped, repr-escaped and base64."""
    out = set()
    for form in (value, value.strip()):
        if len(form) < MIN_LENGTH:
            continue
        out.add(form)
        out.add(form.encode("unicode_escape").decode("ascii", "replace"))
        out.add(base64.b64encode(form.encode("utf-8")).decode("ascii"))
    return out


def kubeconfig_secrets(path):
    """Credentials of every user of a kubeconfig file (empty when it cannot be read)."""
    if yaml is None:
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle) or {}
    except Exception:  # pylint: disable=broad-except
        return []
    values = []
    for entry in config.get("users") or []:
        user = (entry or {}).get("user") or {}
        values.extend(str(user[key]) for key in KUBECONFIG_SECRETS if user.get(key))
    return values


class Redactor:
    """Replaces every known credential (and anything after ``Bearer``) in a text."""

    def __init__(self, values=()):
        self.forms = set()
        for value in values:
            self.add(value)

    def add(self, value):
        if isinstance(value, str) and value:
            self.forms.update(_forms(value))

    @classmethod
    def for_module(cls, params, environ=None):
        """The credentials a module run can see: its parameters, the environment, kubeconfigs."""
        environ = os.environ if environ is None else environ
        redactor = cls(params.get(name) for name in SECRET_PARAMS)
        for name in SECRET_ENV:
            redactor.add(environ.get(name))
        paths = [params.get("kubeconfig")] if isinstance(params.get("kubeconfig"), str) else []
        paths.extend((environ.get("K8S_AUTH_KUBECONFIG") or "").split(os.pathsep))
        paths.extend((environ.get("KUBECONFIG") or "").split(os.pathsep))
        paths.append(os.path.expanduser("~/.kube/config"))
        for path in filter(None, paths):
            for value in kubeconfig_secrets(path):
                redactor.add(value)
        return redactor

    def text(self, message):
        message = str(message)
        for form in sorted(self.forms, key=len, reverse=True):
            message = message.replace(form, REDACTED)
        return CREDENTIAL_PATTERN.sub(lambda m: m.group(1) + m.group(2) + REDACTED, message)

    def value(self, data):
        """``data`` (nested dicts, lists, strings) with every string redacted."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {key: self.value(item) for key, item in data.items()}
        if isinstance(data, (list, tuple)):
            return [self.value(item) for item in data]
        return data


def explain_unexpected(exc, cluster=True):
    """A message for an exception that is not one of ours (not yet redacted); ``cluster``:
    the module talks to the Kubernetes API."""
    text = "{0}: {1}".format(type(exc).__name__, exc)
    if "Invalid header value" in text or "Invalid leading whitespace" in text:
        return ("The API token is not valid in an HTTP header: it contains a newline or another "
                "control character, often from a file pasted with its final newline. Remove it "
                "from api_key, K8S_AUTH_API_KEY or the kubeconfig's token. ({0})".format(text))
    if not cluster:
        return "Unexpected error: {0}".format(text)
    return "Unexpected error talking to the cluster: {0}".format(text)
