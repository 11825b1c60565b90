#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: rhods.gitops contributors

DOCUMENTATION = r"""
module: role_input
short_description: Check a role's variables against its argument spec and publish them normalized
description:
  - Reads the entry point O(entry_point) of C(roles/<role>/meta/argument_specs.yml) of this
    collection, the only place where a role's keys, types, defaults and choices are written.
  - >-
    Checks the role's variables with ansible-core's own argument spec validator, one level at a
    time, so each problem names the variable and the list item
    (C(dsp_projects[1].connections[0]: missing required arguments: bucket)); then the checks a
    spec cannot express (DNS-1123 and bucket names, Kubernetes quantities, rules across fields).
  - Fails with every problem at once, before anything is changed; otherwise sets the fact
    C(<role>_input), the variables with every default of the spec filled in (those of list
    items and mappings too) and the defaults that depend on other fields.
  - An action plugin that runs on the controller; it reads nothing from the cluster. Its output
    is hidden when the spec has C(no_log) values and C(rhods_gitops_no_log) is true.
version_added: 0.2.0
author:
  - rhods.gitops contributors (@rhods-gitops)
options:
  role:
    description: The role of this collection, for example V(dsp).
    type: str
    required: true
  entry_point:
    description: The entry point of the role's argument spec.
    type: str
    default: main
"""

EXAMPLES = r"""
- name: Check and normalize the input of the dsp role
  rhods.gitops.role_input:
    role: dsp

- name: Use it
  ansible.builtin.debug:
    msg: "{{ dsp_input.dsp_projects | map(attribute='name') }}"
"""

RETURN = r"""
ansible_facts:
  description: The fact C(<role>_input).
  returned: success
  type: dict
problems:
  description: Every problem found, each naming its variable and item.
  returned: failure
  type: list
  elements: str
"""
