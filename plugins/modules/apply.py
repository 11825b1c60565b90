#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: apply
short_description: Server-side apply many Kubernetes objects in one call, with exact change detection
version_added: 0.1.0
description:
  - Applies a list of object definitions (or a rendered, multi-document YAML string) with
    server-side apply, in the order given, in one module run. One call per component instead of
    one task per object saves the start-up cost of a module run for every object.
  - Reports changed per object. The report is exact, because the module compares each object with
    the result of a server-side dry run, and an idempotent run writes nothing.
  - With O(state=absent), deletes the objects instead.
  - With O(wait=true), waits for each object to be ready. Readiness is O(wait_condition), or the
    kind's own readiness (Deployment available, StatefulSet ready, Job complete, CRD established,
    Namespace active, Route admitted); any other kind counts as ready once it exists. A kind that
    is not served yet (a CRD still being installed) is awaited before the apply.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  definitions:
    description:
      - The objects, as a list of mappings, one mapping, or a YAML string with one or more
        documents (for example from P(ansible.builtin.template#lookup)).
      - Each needs C(apiVersion), C(kind) and C(metadata.name). C(kind) V(List) is flattened.
    type: raw
    required: true
  namespace:
    description: Namespace for namespaced objects whose definition has none.
    type: str
  state:
    description: V(present) applies the objects; V(absent) deletes them.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description: Wait for every object to be ready (or gone, with O(state=absent)).
    type: bool
    default: false
  wait_condition:
    description:
      - A JMESPath expression that every applied object must satisfy when O(wait=true), for example
        V(status.phase == 'Bound'). Replaces the kind's own readiness.
    type: str
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.apply, rhods.gitops.wait,
                                 ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Server-side dry run; nothing is written or awaited.
  diff_mode:
    support: full
    details: One before/after diff per changed object, Secret values redacted.
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Apply the MinIO objects in one call and wait for them
  rhods.gitops.apply:
    definitions: "{{ lookup('ansible.builtin.template', 'minio.yaml.j2') }}"
    wait: true
    wait_timeout: 300

- name: Apply a namespace with a label
  rhods.gitops.apply:
    definitions:
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: redhat-ods-operator
          labels:
            openshift.io/cluster-monitoring: "true"

- name: Remove objects, waiting until they are gone
  rhods.gitops.apply:
    state: absent
    wait: true
    definitions:
      - apiVersion: v1
        kind: Namespace
        metadata:
          name: notebook-demo
"""

RETURN = r"""
results:
  description: One entry per object, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    api_version:
      description: API version of the object.
      type: str
    kind:
      description: Kind of the object.
      type: str
    name:
      description: Name of the object.
      type: str
    namespace:
      description: Namespace of the object (null for cluster-scoped objects).
      type: str
    changed:
      description: Whether the object was (or, in check mode, would be) changed.
      type: bool
    operation:
      description: V(created), V(updated), V(unchanged), V(deleted) or V(absent).
      type: str
    object:
      description: The object after the apply (in check mode, as the dry run predicts), without
        managedFields; Secret values redacted.
      type: dict
    validated:
      description: False when check mode could not validate the object with the server (its
        namespace or its kind does not exist yet).
      type: bool
      returned: when false
    applied_at:
      description: Server time of the write (from managedFields), when the object was written.
      type: str
      returned: when the object was written
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
progress:
  description: State transitions seen while waiting (see the P(rhods.gitops.k8s_wait#module) module).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.rhods.gitops.plugins.module_utils.apply import run_apply
from ansible_collections.rhods.gitops.plugins.module_utils.args import APPLY, WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "definitions": {"type": "raw", "required": True},
        "namespace": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "wait": {"type": "bool", "default": False},
        "wait_condition": {"type": "str"},
    }, WAIT, APPLY)


def main():
    run_module(argument_spec(), run_apply)


if __name__ == "__main__":
    main()
