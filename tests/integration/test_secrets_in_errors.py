"""A credential that breaks the HTTP request never reaches the output (issue 13, item 1).

A bearer token pasted from a file keeps its final newline; the HTTP stack then refuses the
header and quotes it in its exception. The module run as the automation identity, with the token
only in ``K8S_AUTH_API_KEY`` (no module parameter, so Ansible's no_log masking never sees it),
must fail with a message that names the cause and where to fix it, at every verbosity, without
the token in any form.
"""

import base64

import pytest

from tests.quality.tools import kubeconfig_credential

from .ansible import run_playbook

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read a namespace with the environment's token
      rhods.gitops.k8s_wait:
        kind: Namespace
        name: default
        condition: "status.phase == 'Active'"
        wait_timeout: 30
"""


@pytest.mark.parametrize("verbosity", [0, 3])
def test_a_token_ending_in_a_newline_is_named_not_printed(cluster, tmp_path, verbosity):
    server = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))
    playbook = tmp_path / "probe.yml"
    playbook.write_text(PLAYBOOK)
    token = server["api_key"]
    res = run_playbook(str(playbook), verbosity=verbosity, extra_env={
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
        "K8S_AUTH_HOST": server["host"], "K8S_AUTH_SSL_CA_CERT": server["ca_cert"],
        "K8S_AUTH_API_KEY": token + "\n"})
    assert res.rc != 0, str(res)
    assert "newline" in res.output and "K8S_AUTH_API_KEY" in res.output, str(res)
    assert "Traceback" not in res.output
    for form in (token, base64.b64encode(token.encode()).decode()):
        assert form not in res.output, "the token was printed"


def test_the_same_token_without_the_newline_works(cluster, tmp_path):
    """The failure above is the newline's, not the token's."""
    server = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))
    playbook = tmp_path / "probe.yml"
    playbook.write_text(PLAYBOOK)
    res = run_playbook(str(playbook), extra_env={
        "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
        "K8S_AUTH_HOST": server["host"], "K8S_AUTH_SSL_CA_CERT": server["ca_cert"],
        "K8S_AUTH_API_KEY": server["api_key"]})
    assert res.rc == 0, str(res)
