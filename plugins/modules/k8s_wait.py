#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: k8s_wait
short_description: Wait for Kubernetes objects to satisfy a JMESPath condition, to exist or to be gone
version_added: 0.1.0
description:
  - Waits until one object (O(name)) or every object matching O(label_selectors) satisfies a
    JMESPath O(condition), for example V(status.phase == 'Succeeded'). Without a condition it
    waits until the object exists, or, with O(state=absent), until it is gone.
  - With O(objects), waits in one call until every listed object (of any kinds and namespaces)
    satisfies its own condition. The objects of one kind are read with one list and one watch
    (cluster-wide when they are in several namespaces, one per namespace if RBAC refuses that),
    not one module run per object. The kinds are awaited one after another; before the first
    watch every kind is read once, so a O(fail_condition) that already holds fails at once.
  - Waits with a watch, not by polling. The object may not exist yet, and its kind may not be
    served yet (a CRD that an operator is still installing). Dropped or expired watches are
    resumed.
  - Fails at once when O(fail_condition) becomes true, naming the object. On timeout, the
    message says what was awaited, the last state seen and why the condition does not hold; with
    O(objects), for every object that is not ready.
  - In check mode the condition is evaluated once and nothing is awaited; the result reports
    RV(satisfied).
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  api_version:
    description: API version of the objects, for example V(v1) or V(operators.coreos.com/v1alpha1).
    type: str
    default: v1
    aliases: [api, version]
  kind:
    description:
      - Kind of the objects, for example V(ClusterServiceVersion).
      - Required unless every entry of O(objects) sets its own.
    type: str
  name:
    description:
      - Name of the object to wait for.
      - Without a name, every object of O(kind) in O(namespace) that matches O(label_selectors) is
        awaited. With no matching object, only O(state=absent) is satisfied.
      - Excludes O(objects).
    type: str
  objects:
    description:
      - The objects to wait for, all in one call. O(api_version), O(kind), O(namespace),
        O(condition) and O(fail_condition) of the task apply to every entry that does not set
        its own; O(state) applies to all.
      - Excludes O(name) and O(label_selectors).
    type: list
    elements: dict
    suboptions:
      api_version:
        description: API version of the object; default O(api_version).
        type: str
      kind:
        description: Kind of the object; default O(kind).
        type: str
      namespace:
        description: Namespace of the object; default O(namespace). Omit it for cluster-scoped kinds.
        type: str
      name:
        description: Name of the object.
        type: str
        required: true
      condition:
        description: The JMESPath condition of this object; default O(condition).
        type: str
      fail_condition:
        description: The JMESPath failure condition of this object; default O(fail_condition).
        type: str
  namespace:
    description: Namespace of the objects; omit it for cluster-scoped kinds.
    type: str
  label_selectors:
    description:
      - Label selectors, for example V(app=minio); all must match.
      - Excludes O(objects).
    type: list
    elements: str
    default: []
  condition:
    description:
      - A JMESPath expression evaluated on each object; the wait ends when it is truthy (not
        V(false), V(null), or empty).
      - Quote string literals with single quotes, for example V(status.phase == 'Available').
      - A syntax error fails the task before anything is awaited and shows where the error is.
    type: str
  fail_condition:
    description:
      - A JMESPath expression; when it becomes truthy the task fails at once instead of waiting
        for the timeout, for example V(status.phase == 'Failed').
    type: str
  state:
    description: V(present) waits for the condition (or existence); V(absent) waits until gone.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.wait, ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Evaluates the condition once and reports RV(satisfied); never waits or fails on it.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Wait for the default Argo CD instance to be available
  rhods.gitops.k8s_wait:
    api_version: argoproj.io/v1beta1
    kind: ArgoCD
    name: openshift-gitops
    namespace: openshift-gitops
    condition: "status.phase == 'Available'"
    wait_timeout: 900

- name: Wait for the base notebook image stream to have tag 2025.2
  rhods.gitops.k8s_wait:
    api_version: image.openshift.io/v1
    kind: ImageStream
    name: s2i-generic-data-science-notebook
    namespace: redhat-ods-applications
    condition: "contains(status.tags[].tag, '2025.2')"

- name: Wait for a build, failing at once if it fails
  rhods.gitops.k8s_wait:
    api_version: build.openshift.io/v1
    kind: Build
    name: lightgbm-1
    namespace: redhat-ods-applications
    condition: "status.phase == 'Complete'"
    fail_condition: "contains(['Failed', 'Error', 'Cancelled'], status.phase)"

- name: Wait for two workbenches in two projects, the second one declared stopped
  rhods.gitops.k8s_wait:
    api_version: kubeflow.org/v1
    kind: Notebook
    objects:
      - namespace: project-a
        name: wb
        condition: "status.readyReplicas >= `1`"
        fail_condition: "metadata.annotations.\"kubeflow-resource-stopped\" != null"
      - namespace: project-b
        name: wb
        condition: "(status.readyReplicas || `0`) == `0`"

- name: Wait until every MinIO pod is gone
  rhods.gitops.k8s_wait:
    kind: Pod
    namespace: minio
    label_selectors: [app=minio]
    state: absent
"""

RETURN = r"""
satisfied:
  description: Whether the condition holds. Always true unless in check mode.
  returned: always
  type: bool
resource:
  description: The object, when O(name) is given (null when O(state=absent)).
  returned: when O(name) is given
  type: dict
resources:
  description:
    - The objects that satisfy the condition.
    - With O(objects), the listed objects that exist, in the order of O(objects) (in check mode
      also those that do not satisfy their condition).
  returned: always
  type: list
  elements: dict
awaited:
  description: With O(objects), one entry per listed object, in the same order.
  returned: when O(objects) is given
  type: list
  elements: dict
  contains:
    api_version:
      description: API version of the object.
      type: str
    kind:
      description: Kind of the object.
      type: str
    namespace:
      description: Namespace of the object (null for cluster-scoped kinds).
      type: str
    name:
      description: Name of the object.
      type: str
    satisfied:
      description: Whether its condition holds (always true unless in check mode).
      type: bool
    reason:
      description: Why its condition holds or does not hold, in words.
      type: str
    resource:
      description: The object as last seen (null when it does not exist).
      type: dict
reason:
  description: Why the condition does not hold (check mode only); with O(objects), for each object that is not ready.
  returned: when RV(satisfied) is false
  type: str
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
progress:
  description: State transitions seen while waiting.
  returned: always
  type: list
  elements: dict
  contains:
    elapsed:
      description: Seconds since the wait started.
      type: float
    time:
      description: UTC time of the transition.
      type: str
    object:
      description: The object or selection, for example V(ArgoCD openshift-gitops/openshift-gitops).
      type: str
    state:
      description: The new state, in words.
      type: str
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module
from ansible_collections.rhods.gitops.plugins.module_utils.waitall import run_k8s_wait_any


RULES = {"required_one_of": [("kind", "objects")],
         "mutually_exclusive": [("objects", "name"), ("objects", "label_selectors")]}


def argument_spec():
    return module_spec({
        "api_version": {"type": "str", "default": "v1", "aliases": ["api", "version"]},
        "kind": {"type": "str"},
        "name": {"type": "str"},
        "objects": {"type": "list", "elements": "dict", "options": {
            "api_version": {"type": "str"},
            "kind": {"type": "str"},
            "namespace": {"type": "str"},
            "name": {"type": "str", "required": True},
            "condition": {"type": "str"},
            "fail_condition": {"type": "str"},
        }},
        "namespace": {"type": "str"},
        "label_selectors": {"type": "list", "elements": "str", "default": []},
        "condition": {"type": "str"},
        "fail_condition": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    }, WAIT)


def main():
    run_module(argument_spec(), run_k8s_wait_any, **RULES)


if __name__ == "__main__":
    main()
