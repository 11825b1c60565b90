#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: prune
short_description: Delete labelled objects that a component no longer renders
version_added: 0.1.0
description:
  - Lists each kind in O(kinds) once, across all namespaces, with O(label_selectors); deletes
    every object found in one of O(namespaces) that O(keep) does not name.
  - Used by the P(rhods.gitops.dsp#role) role to revoke access (RoleBindings) and remove data
    connections (Secrets) taken out of C(dsp_projects). Namespaces themselves are never pruned.
  - Returns identities only, never the objects, so pruning Secrets prints no values.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  kinds:
    description: The namespaced kinds to look at.
    type: list
    elements: dict
    required: true
    suboptions:
      api_version:
        description: API version, for example V(rbac.authorization.k8s.io/v1).
        type: str
        required: true
      kind:
        description: Kind, for example V(RoleBinding).
        type: str
        required: true
  label_selectors:
    description: Label selectors that mark the component's objects; at least one, all must match.
    type: list
    elements: str
    required: true
  namespaces:
    description: Only objects in these namespaces are deleted.
    type: list
    elements: str
    required: true
  keep:
    description: The objects that are still wanted (identities; other keys are ignored).
    type: list
    elements: dict
    default: []
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Deletes as a server-side dry run.
  diff_mode:
    support: full
    details: One diff per deleted object (its identity).
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Remove access RoleBindings and data connections no longer listed
  rhods.gitops.prune:
    kinds:
      - {api_version: rbac.authorization.k8s.io/v1, kind: RoleBinding}
      - {api_version: v1, kind: Secret}
    label_selectors: [app.kubernetes.io/managed-by=rhods.gitops]
    namespaces: [notebook-demo]
    keep:
      - {kind: Secret, namespace: notebook-demo, name: aws-connection-minio}
"""

RETURN = r"""
deleted:
  description: The objects deleted (or, in check mode, that would be).
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: API version.
      type: str
    kind:
      description: Kind.
      type: str
    namespace:
      description: Namespace.
      type: str
    name:
      description: Name.
      type: str
found:
  description: How many labelled objects were found in all namespaces.
  returned: always
  type: int
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.prune import run_prune
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "kinds": {"type": "list", "elements": "dict", "required": True, "options": {
            "api_version": {"type": "str", "required": True},
            "kind": {"type": "str", "required": True}}},
        "label_selectors": {"type": "list", "elements": "str", "required": True},
        "namespaces": {"type": "list", "elements": "str", "required": True},
        "keep": {"type": "list", "elements": "dict", "default": []},
    })


def main():
    run_module(argument_spec(), run_prune)


if __name__ == "__main__":
    main()
