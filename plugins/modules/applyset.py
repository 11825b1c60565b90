#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: applyset
short_description: Record which objects a component owns, and prune those it no longer renders
version_added: 0.2.0
description:
  - Ownership as kubectl's ApplySet (KEP-3659) writes it. The I(parent) is a ConfigMap
    O(name) in O(namespace) with the label C(applyset.kubernetes.io/id); its annotations
    C(applyset.kubernetes.io/contains-group-kinds) and C(applyset.kubernetes.io/additional-namespaces)
    say where its members may be. Every member carries the label C(applyset.kubernetes.io/part-of)
    with that id (M(rhods.gitops.deliver) adds it).
  - With O(step=prepare), before the objects are applied, the parent (and its namespace) is
    written listing the group-kinds and namespaces of both the old members and O(objects).
  - With O(step=prune), after the objects are applied, every member found (one labelled list per
    group-kind the parent lists) that O(objects) does not name is deleted; then the parent lists
    exactly what is left.
  - With O(step=deliver), the three steps of a direct delivery in one run (prepare, apply
    O(definitions) and then O(secrets) with server-side apply, and with O(prune) prune).
  - PersistentVolumeClaims and Namespaces hold user data and are kept unless O(delete_data=true);
    each kept object is named in a warning with the command that deletes it.
  - Only identities travel out; listing members never returns their content, and of
    O(secrets) the result says only how many there were.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  step:
    description: V(prepare) before the apply, V(prune) after it, V(deliver) all three.
    type: str
    required: true
    choices: [prepare, prune, deliver]
  component:
    description: The component that owns the set (label C(rhods.gitops/component) of the parent).
    type: str
    required: true
  name:
    description: Name of the parent ConfigMap, C(rhods-gitops-<component>) in M(rhods.gitops.deliver).
    type: str
    required: true
  namespace:
    description: Namespace of the parent ConfigMap; created when missing.
    type: str
    required: true
  objects:
    description:
      - The identities of what the component renders now (C(api_version) or C(apiVersion), C(kind),
        C(namespace), C(name)); whole manifests are accepted, only those keys are read.
    type: list
    elements: dict
    required: true
  delete_data:
    description: Also delete the PersistentVolumeClaims and Namespaces that left O(objects).
    type: bool
    default: false
  definitions:
    description:
      - With O(step=deliver), the objects to apply, labelled as members of the set (no Secrets).
    type: list
    elements: dict
    default: []
  secrets:
    description:
      - With O(step=deliver), the Secrets to apply after O(definitions), labelled as members. No
        value of theirs appears in the result or the diff.
    type: list
    elements: dict
    default: []
  prune:
    description: With O(step=deliver), prune after applying.
    type: bool
    default: true
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.apply, ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Writes and deletes as server-side dry runs; reports what a real run would delete.
  diff_mode:
    support: full
    details: The parent's diff, and one diff per deleted object (its identity).
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Record the set before applying
  rhods.gitops.applyset:
    step: prepare
    component: dsp
    name: rhods-gitops-dsp
    namespace: rhods-gitops
    objects: "{{ dsp_manifests }}"
  register: dsp_set

- name: Delete what dsp no longer renders (PVCs and namespaces are kept)
  rhods.gitops.applyset:
    step: prune
    component: dsp
    name: rhods-gitops-dsp
    namespace: rhods-gitops
    objects: "{{ dsp_manifests }}"
"""

RETURN = r"""
id:
  description: The ApplySet id, the value of the members' label C(applyset.kubernetes.io/part-of).
  returned: always
  type: str
  sample: applyset-0eFHV8ySqp7XoShsGvaWEAQuUnDoSx8RU1vFUgm8VLw-v1
group_kinds:
  description: The group-kinds of O(objects) (and, after a prune, of the kept objects).
  returned: always
  type: list
  elements: str
namespaces:
  description: The namespaces of O(objects) (and, after a prune, of the kept objects).
  returned: always
  type: list
  elements: str
recorded_namespaces:
  description:
    - With O(step=prepare), the namespaces the parent lists afterwards - those of O(objects) and
      those it listed before - so a caller knows where members may still be until the prune.
  returned: step is prepare
  type: list
  elements: str
recorded_group_kinds:
  description:
    - With O(step=prepare), the group-kinds (C(Kind.group)) the parent lists afterwards - those of
      O(objects) and those it listed before.
  returned: step is prepare
  type: list
  elements: str
deleted:
  description: With O(step=prune), the members deleted (in check mode, that would be).
  returned: step is prune
  type: list
  elements: dict
kept:
  description: With O(step=prune), the members that left O(objects) but hold user data.
  returned: step is prune
  type: list
  elements: dict
applied:
  description: With O(step=deliver), one result per object of O(definitions), as M(rhods.gitops.apply) returns them.
  returned: step is deliver
  type: list
  elements: dict
secrets:
  description: With O(step=deliver), how many Secrets were applied.
  returned: step is deliver
  type: int
"""

from ansible_collections.rhods.gitops.plugins.module_utils.applyset_driver import (
    run_deliver,
    run_prepare,
    run_prune,
)
from ansible_collections.rhods.gitops.plugins.module_utils.args import APPLY, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "step": {"type": "str", "required": True, "choices": ["prepare", "prune", "deliver"]},
        "component": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "objects": {"type": "list", "elements": "dict", "required": True},
        "delete_data": {"type": "bool", "default": False},
        "definitions": {"type": "list", "elements": "dict", "default": []},
        # Not no_log: Ansible would then mask every string in them (kinds, namespaces, names)
        # wherever it appears in the output, diffs included. The module never returns them,
        # and the deliver action drops the invocation.
        "secrets": {"type": "list", "elements": "dict", "default": [], "no_log": False},
        "prune": {"type": "bool", "default": True},
    }, APPLY)


STEPS = {"prepare": run_prepare, "prune": run_prune, "deliver": run_deliver}


def main():
    run_module(argument_spec(), lambda run: STEPS[run.params["step"]](run))


if __name__ == "__main__":
    main()
