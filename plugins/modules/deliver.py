#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# The work is done by the action plugin of the same name (plugins/action/deliver.py); this
# file documents it.

DOCUMENTATION = r"""
module: deliver
short_description: Deliver one component's objects, directly or through Argo CD
version_added: 0.2.0
description:
  - The one delivery step of every role of the collection. A component is one call, whatever the
    delivery mode.
  - With O(delivery=direct), the objects are written with server-side apply in one call of
    M(rhods.gitops.apply), then the Secrets in a second call whose result carries no value.
  - With O(delivery=gitops), the objects are rendered into the GitOps tree, committed and pushed
    (M(rhods.gitops.render_tree)); the component's Argo CD Application is ensured; the Secrets are
    applied directly once Argo CD has created their namespaces (no secret value reaches git); then
    the Application is awaited until it is Synced at the pushed commit and Healthy
    (M(rhods.gitops.argocd_application)), printing progress between rounds.
  - Where the tree goes and how the Application looks come from the fact C(gitops_bootstrap_target),
    which the role rhods.gitops.gitops_bootstrap publishes in gitops mode.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  component:
    description:
      - Name of the component, of its folder in the tree and (with a prefix) of its Application,
        for example V(minio) or V(custom-notebook).
    type: str
    required: true
  manifests:
    description: The component's objects, Secrets included, in the order they are applied.
    type: list
    elements: dict
    required: true
  delivery:
    description:
      - V(direct) or V(gitops). Default is the collection-wide variable C(rhods_gitops_delivery),
        else V(direct).
    type: str
    choices: [direct, gitops]
  keep_live_fields:
    description:
      - With direct delivery, fields controllers write into the spec whose live values are kept in
        the applied objects, as C({kind, path}) rules (see the P(rhods.gitops.keep_live_fields#filter)
        filter). The live objects of those kinds are read once per kind and namespace.
    type: list
    elements: dict
    default: []
  ownership:
    description:
      - Record what the component owns as an ApplySet (M(rhods.gitops.applyset)). Every object
        carries the label C(applyset.kubernetes.io/part-of), and the ConfigMap
        C(rhods-gitops-<component>) in O(state_namespace) lists where they are.
      - V(false) for objects whose lifecycle belongs to someone else (the rhods role passes it;
        OLM owns the operator).
    type: bool
    default: true
  prune:
    description:
      - After the objects are delivered, delete the members of the component's ApplySet that
        O(manifests) no longer holds, in both delivery modes (Argo CD prunes what leaves git; this
        also removes Secrets, which never go to git). Needs O(ownership).
      - PersistentVolumeClaims and Namespaces are kept unless O(delete_data); the task warns with
        each kept object and the command that deletes it.
    type: bool
    default: true
  delete_data:
    description:
      - Also delete the PersistentVolumeClaims and Namespaces the component no longer renders.
        Default is the collection-wide variable C(rhods_gitops_delete_data), else V(false).
    type: bool
  state_namespace:
    description:
      - Namespace of the ApplySet parents. Default is the collection-wide variable
        C(rhods_gitops_state_namespace), else V(rhods-gitops).
    type: str
  progress_interval:
    description: Seconds between progress reports while the Application is awaited; V(0) prints none.
    type: int
    default: 30
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - rhods.gitops.cluster
  - rhods.gitops.apply
  - rhods.gitops.argocd
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Server-side dry runs and a rendering that writes nothing; nothing is pushed or awaited.
  diff_mode:
    support: full
    details: The diffs of the objects and of the tree's files; never of a Secret.
  platform:
    platforms: all
notes:
  - Secrets never reach git, the output or the task result; a failure to apply them names how
    many there were and the reason, not their content.
"""

EXAMPLES = r"""
- name: Deliver MinIO (direct or gitops, as rhods_gitops_delivery says)
  rhods.gitops.deliver:
    component: minio
    manifests: "{{ minio_manifests }}"

- name: Deliver the workbenches, keeping the trigger state OpenShift writes into BuildConfigs
  rhods.gitops.deliver:
    component: custom-notebook
    manifests: "{{ custom_notebook_manifests }}"
    keep_live_fields:
      - kind: BuildConfig
        path: spec.triggers[].imageChange.lastTriggeredImageID
    ignore_differences:
      - group: build.openshift.io
        kind: BuildConfig
        jsonPointers: [/spec/triggers]
"""

RETURN = r"""
deleted:
  description: With O(prune), the members no longer rendered that were deleted (identities).
  returned: when pruning ran
  type: list
  elements: dict
kept:
  description: With O(prune), the members no longer rendered that were kept as user data.
  returned: when pruning ran
  type: list
  elements: dict
component:
  description: The component delivered.
  returned: always
  type: str
delivery:
  description: V(direct) or V(gitops).
  returned: always
  type: str
applied:
  description: With direct delivery, the results of the objects' apply (see M(rhods.gitops.apply)).
  returned: direct delivery
  type: list
  elements: dict
revision:
  description: With gitops delivery, the commit of the tree Argo CD had to reach.
  returned: gitops delivery, when the tree was committed
  type: str
path:
  description: With gitops delivery, the component's folder in the repository.
  returned: gitops delivery
  type: str
application:
  description: With gitops delivery, the Application's name, sync and health status and the revision it reached.
  returned: gitops delivery
  type: dict
"""
