#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: openshift_login
short_description: Exchange an OpenShift user name and password for an API token (like oc login)
version_added: 0.1.0
description:
  - Asks the cluster's OAuth server for a token on behalf of the client
    C(openshift-challenging-client), with the user name and password (HTTP Basic), as C(oc login)
    does. The OAuth server is discovered from the API server's
    C(/.well-known/oauth-authorization-server).
  - Reads the original demo's C(creds.env) (C(CLUSTER), C(USER), C(PASSWORD)) with O(creds_file);
    options given explicitly win over the file.
  - The token is returned as RV(api_key). Run the task with C(no_log) and pass RV(host) and
    RV(api_key) to the other modules, for example through C(module_defaults) of the group
    C(group/rhods.gitops.rhods).
  - With O(state=absent), revokes O(api_key) (deletes its OAuthAccessToken).
  - Not needed with a kubeconfig, or with K8S_AUTH_HOST and K8S_AUTH_API_KEY as AAP sets them.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  host:
    description: The API server URL, for example V(https://api.cluster.example.com:6443).
    type: str
  username:
    description: The OpenShift user name.
    type: str
  password:
    description: The user's password.
    type: str
  creds_file:
    description: Path to a C(creds.env) file with C(CLUSTER=), C(USER=) and C(PASSWORD=) lines.
    type: path
  ca_cert:
    description: CA bundle to verify the API and OAuth servers with.
    type: path
    aliases: [ssl_ca_cert]
  validate_certs:
    description: Verify the servers' TLS certificates.
    type: bool
    default: true
    aliases: [verify_ssl]
  api_key:
    description: The token to revoke; required with O(state=absent).
    type: str
  state:
    description: V(present) logs in and returns a token; V(absent) revokes O(api_key).
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment: [ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Logging in changes nothing the playbook manages, so it happens in check mode too; revoking does not.
  diff_mode:
    support: none
  platform:
    platforms: all
notes:
  - The identity provider must accept passwords (htpasswd, LDAP, Keystone, ...). Single sign-on
    providers (OpenID Connect) do not; use a token or a kubeconfig with them.
"""

EXAMPLES = r"""
- name: Log in with the demo's creds.env
  rhods.gitops.openshift_login:
    creds_file: "{{ playbook_dir }}/creds.env"
  register: login
  no_log: true

- name: Use the token for every module of the collection and of kubernetes.core
  module_defaults:
    group/rhods.gitops.rhods:
      host: "{{ login.host }}"
      api_key: "{{ login.api_key }}"
  block:
    - name: Install OpenShift GitOps
      ansible.builtin.include_role:
        name: rhods.gitops.gitops_bootstrap

- name: Revoke the token
  rhods.gitops.openshift_login:
    host: "{{ login.host }}"
    api_key: "{{ login.api_key }}"
    state: absent
  no_log: true
"""

RETURN = r"""
host:
  description: The API server URL.
  returned: always
  type: str
username:
  description: The user logged in.
  returned: state is present
  type: str
api_key:
  description: The bearer token. Keep the task C(no_log).
  returned: state is present
  type: str
expires_in:
  description: Lifetime of the token in seconds, as the OAuth server states it.
  returned: state is present
  type: int
"""

from ansible_collections.rhods.gitops.plugins.module_utils.openshift_auth import run_login
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module

RULES = {"required_if": [("state", "absent", ["api_key"])]}


def argument_spec():
    return {
        "host": {"type": "str"},
        "username": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "creds_file": {"type": "path"},
        "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"]},
        "validate_certs": {"type": "bool", "default": True, "aliases": ["verify_ssl"]},
        "api_key": {"type": "str", "no_log": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }


def handle(run):
    run.take(run_login(run.module))


def main():
    run_module(argument_spec(), handle, cluster=False, **RULES)


if __name__ == "__main__":
    main()
