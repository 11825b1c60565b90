#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: olm_operator
short_description: Install (or remove) an operator with OLM and wait until it really works
version_added: 0.1.0
description:
  - Ensures the namespace and its OperatorGroup, if it has none yet. A new OperatorGroup has no
    targetNamespaces (AllNamespaces mode) unless O(operator_group.target_namespaces) is given. An
    existing one is kept (C(openshift-operators) has C(global-operators)). A namespace with more
    than one fails, because OLM would install nothing there.
  - Ensures the Subscription (package, channel, source, approval, starting CSV, config).
  - With O(approval=Manual), approves only the InstallPlan that the Subscription references in
    C(status.installPlanRef), and only when its C(spec.clusterServiceVersionNames) contains the
    wanted CSV (O(starting_csv), or else the Subscription's C(status.currentCSV)). It never
    approves another plan.
  - Waits (watches, not polling) until the CSV phase is C(Succeeded) and every CRD the CSV owns is
    C(Established). Custom resources of those CRDs can be created as soon as the task ends.
  - Fails at once, naming the object, its reason and message and what to do, when the
    Subscription reports C(ResolutionFailed=True) or C(InstallPlanFailed=True), when the InstallPlan
    phase is C(Failed), or when the CSV phase is C(Failed).
  - With O(state=absent), deletes the Subscription and its CSV and waits until both are gone. The
    OperatorGroup, the namespace and the operator's CRDs stay, as with OLM itself.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  package:
    description: The package name in the catalog, for example V(openshift-gitops-operator).
    type: str
    required: true
  name:
    description: Name of the Subscription. Defaults to O(package).
    type: str
  namespace:
    description: Namespace of the Subscription (and of the OperatorGroup).
    type: str
    required: true
  channel:
    description: Update channel. Omitted, the package's default channel is used.
    type: str
  source:
    description: Name of the CatalogSource.
    type: str
    default: redhat-operators
  source_namespace:
    description: Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  approval:
    description:
      - V(Automatic) lets OLM install and upgrade by itself.
      - V(Manual) makes every InstallPlan wait for approval. This module approves only the
        referenced plan that installs the wanted CSV, so pin O(starting_csv) to control upgrades.
    type: str
    choices: [Automatic, Manual]
    default: Automatic
  starting_csv:
    description: The CSV to install first, for example V(rhods-operator.2.25.0).
    type: str
  config:
    description:
      - The Subscription's C(spec.config) (C(env), C(resources), C(nodeSelector), C(tolerations),
        ...), passed as is.
    type: dict
  operator_group:
    description:
      - The OperatorGroup to create when the namespace has none.
    type: dict
    suboptions:
      name:
        description:
          - Its name. Defaults to the namespace's name. When an OperatorGroup of this name exists,
            it is applied as given here.
        type: str
      target_namespaces:
        description: Namespaces the operator watches. Empty means all namespaces.
        type: list
        elements: str
        default: []
  create_namespace:
    description: Create the namespace when it does not exist. An existing namespace is left as is.
    type: bool
    default: true
  apply:
    description:
      - Write the namespace, the OperatorGroup and the Subscription.
      - V(false) when another writer delivers them (Argo CD, with GitOps delivery); the module
        then only reads the Subscription, approves the InstallPlan it references (O(approval=Manual))
        and waits, so every object has one writer.
    type: bool
    default: true
  state:
    description: V(present) installs; V(absent) removes the Subscription and its CSV.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - Wait for the CSV to succeed and its CRDs to be established (or, with O(state=absent), for
        the objects to be gone). Without waiting, no InstallPlan is approved.
    type: bool
    default: true
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.apply, rhods.gitops.wait,
                                 ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Server-side dry run of the namespace, OperatorGroup and Subscription; no approval, no wait.
  diff_mode:
    support: full
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Install OpenShift GitOps in openshift-operators (it has the global OperatorGroup)
  rhods.gitops.olm_operator:
    package: openshift-gitops-operator
    namespace: openshift-operators
    channel: latest

- name: Install the RHODS operator with its own OperatorGroup
  rhods.gitops.olm_operator:
    package: rhods-operator
    namespace: redhat-ods-operator
    channel: stable
    operator_group:
      name: rhods
  register: rhods_operator

- name: Install a pinned version with manual approval of that version only
  rhods.gitops.olm_operator:
    package: rhods-operator
    namespace: redhat-ods-operator
    channel: stable
    approval: Manual
    starting_csv: rhods-operator.2.25.0

- name: Remove the operator
  rhods.gitops.olm_operator:
    package: rhods-operator
    namespace: redhat-ods-operator
    state: absent
"""

RETURN = r"""
subscription:
  description: Name of the Subscription.
  returned: state is present
  type: str
operator_group:
  description: Name of the OperatorGroup that serves the namespace.
  returned: state is present
  type: str
csv:
  description: Name of the installed ClusterServiceVersion.
  returned: state is present
  type: str
  sample: openshift-gitops-operator.v1.16.0
csv_version:
  description: Version of the CSV (C(spec.version)).
  returned: state is present and the CSV was awaited
  type: str
csv_phase:
  description: Phase of the CSV.
  returned: state is present and the CSV was awaited
  type: str
install_plan:
  description: The InstallPlan the Subscription references.
  returned: state is present
  type: str
install_plan_approved:
  description: The InstallPlan this run approved, if any.
  returned: state is present
  type: str
crds:
  description: Names of the CRDs the CSV owns, all Established.
  returned: state is present
  type: list
  elements: str
subscription_state:
  description: The Subscription's C(status.state), for example V(AtLatestKnown).
  returned: state is present
  type: str
removed:
  description: The objects deleted.
  returned: state is absent
  type: list
  elements: str
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
from ansible_collections.rhods.gitops.plugins.module_utils.olm_install import run_olm_operator
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "package": {"type": "str", "required": True},
        "name": {"type": "str"},
        "namespace": {"type": "str", "required": True},
        "channel": {"type": "str"},
        "source": {"type": "str", "default": "redhat-operators"},
        "source_namespace": {"type": "str", "default": "openshift-marketplace"},
        "approval": {"type": "str", "choices": ["Automatic", "Manual"], "default": "Automatic"},
        "starting_csv": {"type": "str"},
        "config": {"type": "dict"},
        "operator_group": {
            "type": "dict",
            "options": {
                "name": {"type": "str"},
                "target_namespaces": {"type": "list", "elements": "str", "default": []},
            },
        },
        "create_namespace": {"type": "bool", "default": True},
        "apply": {"type": "bool", "default": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "wait": {"type": "bool", "default": True},
    }, WAIT, APPLY)


def main():
    run_module(argument_spec(), run_olm_operator)


if __name__ == "__main__":
    main()
