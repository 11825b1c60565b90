#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: datasciencecluster
short_description: Ensure the OpenShift AI DataScienceCluster with every component pinned, and wait until it is ready
version_added: 0.1.0
description:
  - Discovers which version of the DataScienceCluster API the cluster serves. RHODS and RHOAI 2.x
    serve V(v1), RHOAI 3.x serves V(v2). When both are served, V(v2) is used, because it is the
    storage version from 3.0 on.
  - Reads the components from the served CRD's schema (a built-in list per version is the
    fallback) and pins every one of them in C(spec.components). The dashboard and workbenches are
    V(Managed) by default, every other component V(Removed), and O(components) overrides either.
    An operator update that adds a component therefore changes nothing until you decide.
  - Only one DataScienceCluster may exist. If one with another name exists, the module refuses
    (O(existing=fail)) or manages that one (O(existing=adopt)).
  - Waits (watches, not polling) until the DSCInitialization O(dsci_name) is C(Ready), then until
    the DataScienceCluster is ready. Ready means the operator has observed the current generation,
    the phase is C(Ready) (or condition C(Ready=True)), and every V(Managed) component's
    C(<Component>Ready) condition is C(True). V(Removed) components are ignored. A timeout names
    the components that are not ready and their messages.
  - Returns the state of each component, the served API version, the applications namespace
    (C(spec.applicationsNamespace) of the DSCI) and the dashboard URL (Route O(dashboard_route)).
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  name:
    description: Name of the DataScienceCluster.
    type: str
    default: default-dsc
  components:
    description:
      - Component name to management state (V(Managed), V(Removed), V(Unmanaged) where the operator
        allows it), or to a mapping with C(managementState) and the component's other fields
        (C(managementState) defaults to V(Managed) in a mapping).
      - Components not listed keep the default (V(dashboard) and V(workbenches) Managed, the rest
        Removed). A name that the served version does not know fails the task and lists the
        names it does know.
    type: dict
    default: {}
  api_version:
    description: DataScienceCluster API version; V(auto) discovers it.
    type: str
    choices: [auto, v1, v2]
    default: auto
  existing:
    description: What to do when a DataScienceCluster with another name exists.
    type: str
    choices: [fail, adopt]
    default: fail
  dsci_name:
    description: Name of the DSCInitialization the operator creates.
    type: str
    default: default-dsci
  applications_namespace:
    description: Applications namespace when the DSCI does not say (C(spec.applicationsNamespace)).
    type: str
    default: redhat-ods-applications
  dashboard_route:
    description: Name of the dashboard's Route in the applications namespace.
    type: str
    default: rhods-dashboard
  apply:
    description:
      - Write the DataScienceCluster.
      - V(false) when another writer delivers it (the rhods role hands RV(definition) to
        M(rhods.gitops.deliver), which applies it or commits it for Argo CD); the module then only
        works out the definition, waits for the DataScienceCluster and reports it, so it has one
        writer.
    type: bool
    default: true
  wait:
    description: Wait for the DSCInitialization and the DataScienceCluster to be ready.
    type: bool
    default: true
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.apply, rhods.gitops.wait,
                                 ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Server-side dry run; nothing is awaited. Before the operator is installed, reports a change without validation.
  diff_mode:
    support: full
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Dashboard and workbenches only (every other component pinned Removed)
  rhods.gitops.datasciencecluster:
  register: dsc

- name: Also data science pipelines, and KServe with its own settings
  rhods.gitops.datasciencecluster:
    components:
      datasciencepipelines: Managed
      kserve:
        managementState: Managed
        serving:
          managementState: Removed
    wait_timeout: 1200

- name: Show where the dashboard is
  ansible.builtin.debug:
    msg: "{{ dsc.dashboard_url }}"
"""

RETURN = r"""
name:
  description: Name of the DataScienceCluster managed.
  returned: always
  type: str
api_version:
  description: The served API version used, for example V(datasciencecluster.opendatahub.io/v1).
  returned: always
  type: str
definition:
  description:
    - The DataScienceCluster the module applies, or with O(apply=false) the one to deliver - the
      served API version, the name (an existing one with O(existing=adopt)) and every component of
      the served schema pinned.
  returned: when the DataScienceCluster API is served
  type: dict
components:
  description:
    - Per component, C(managementState) and, for Managed components, C(ready), C(reason) and
      C(message) of its C(<Component>Ready) condition.
  returned: always
  type: dict
  sample:
    dashboard: {managementState: Managed, ready: true, reason: Ready, message: ""}
    kserve: {managementState: Removed}
phase:
  description: The DataScienceCluster's C(status.phase).
  returned: when awaited
  type: str
applications_namespace:
  description: Namespace of the dashboard and the notebook images (from the DSCI).
  returned: when awaited
  type: str
dsci:
  description: Name of the DSCInitialization.
  returned: when awaited
  type: str
dashboard_url:
  description: URL of the dashboard Route, or null when it does not exist (yet) or the dashboard is Removed.
  returned: when awaited
  type: str
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

from ansible_collections.rhods.gitops.plugins.module_utils.args import APPLY, WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.rhods import run_datasciencecluster
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "name": {"type": "str", "default": "default-dsc"},
        "components": {"type": "dict", "default": {}},
        "api_version": {"type": "str", "choices": ["auto", "v1", "v2"], "default": "auto"},
        "existing": {"type": "str", "choices": ["fail", "adopt"], "default": "fail"},
        "dsci_name": {"type": "str", "default": "default-dsci"},
        "applications_namespace": {"type": "str", "default": "redhat-ods-applications"},
        "dashboard_route": {"type": "str", "default": "rhods-dashboard"},
        "apply": {"type": "bool", "default": True},
        "wait": {"type": "bool", "default": True},
    }, WAIT, APPLY)


def main():
    run_module(argument_spec(), run_datasciencecluster)


if __name__ == "__main__":
    main()
