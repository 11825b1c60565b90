#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: argocd_application
short_description: Ensure an Argo CD Application and wait until it is Synced at the expected revision and Healthy
version_added: 0.1.0
description:
  - Applies an Argo CD C(Application) (server-side apply, exact change detection, as
    P(rhods.gitops.apply#module)) from the repository, revision and path given.
  - With O(wait=true) (the default), asks Argo CD to fetch the repository now (annotation
    C(argocd.argoproj.io/refresh)) unless the Application is already there, then waits with a
    watch until Argo CD has compared the current source, reports O(expected_revision) as its
    sync revision, runs no sync operation, and reports C(Synced) and C(Healthy).
  - Fails at once, instead of waiting for the deadline, when the sync of the expected revision
    failed, when the Application is C(Degraded) at that revision, or when Argo CD cannot compare
    it with git (repository, revision or path wrong). The message, and RV(problems), list every
    resource that is not synced or not healthy with Argo CD's message, for example the
    Deployment C(minio/minio) that could not be applied, and why.
  - On timeout the message says what was awaited, the last state seen and the resources that are
    not ready.
  - With O(state=absent), deletes the Application. Without O(cascade) its resources finalizer is
    removed first, so the objects it delivered stay (they can be adopted again).
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  name:
    description: Name of the Application.
    type: str
    required: true
  namespace:
    description: Namespace of the Application, the Argo CD instance's namespace.
    type: str
    default: openshift-gitops
  state:
    description: V(present) ensures (and awaits) the Application; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  project:
    description: Argo CD project (AppProject) of the Application.
    type: str
    default: default
  repo_url:
    description:
      - URL of the git repository, as Argo CD reaches it. Required with O(state=present).
    type: str
  target_revision:
    description: Branch, tag or commit Argo CD follows.
    type: str
    default: HEAD
  path:
    description: Folder of the repository to sync (plain YAML or a kustomization).
    type: str
    default: "."
  destination:
    description: Where the objects go.
    type: dict
    default: {}
    suboptions:
      server:
        description: API server URL; the cluster Argo CD runs in when neither this nor O(destination.name) is given.
        type: str
      name:
        description: Name of a cluster known to Argo CD, instead of O(destination.server).
        type: str
      namespace:
        description: Namespace for objects that have none; must be allowed by the project.
        type: str
  sync_policy:
    description:
      - The Application's C(spec.syncPolicy), with C(automated), C(syncOptions) and C(retry) as
        Argo CD documents them.
      - The default is automated sync with prune and self-heal.
    type: dict
    default: {automated: {prune: true, selfHeal: true}}
  labels:
    description: Labels of the Application.
    type: dict
    default: {}
  annotations:
    description: Annotations of the Application.
    type: dict
    default: {}
  finalizer:
    description:
      - Add Argo CD's C(resources-finalizer.argocd.argoproj.io), so that deleting the Application
        deletes the objects it delivered. The default V(false) keeps them.
    type: bool
    default: false
  cascade:
    description:
      - With O(state=absent), V(true) deletes the objects the Application delivered too (Argo CD
        does, through its finalizer); V(false) removes that finalizer first and leaves them.
    type: bool
    default: false
  wait:
    description: Wait until the Application is Synced at O(expected_revision) and Healthy (or, with O(state=absent), gone).
    type: bool
    default: true
  expected_revision:
    description:
      - The commit (full sha) Argo CD must report as its sync revision, for example the
        RV(rhods.gitops.render_tree#module:revision) of the push that delivered the tree.
      - Without it (and without O(repo_dir)), any revision counts.
    type: str
  repo_dir:
    description:
      - A local working copy whose C(HEAD) is the expected revision, instead of
        O(expected_revision).
    type: path
  refresh:
    description:
      - Ask Argo CD to fetch the repository at once when the Application is not at the expected
        revision yet (annotation C(argocd.argoproj.io/refresh=normal), which Argo CD removes).
        V(false) waits for Argo CD's own polling (3 minutes by default).
    type: bool
    default: true
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - rhods.gitops.cluster
  - rhods.gitops.wait
  - rhods.gitops.argocd
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Server-side dry run of the Application; nothing is written or awaited.
  diff_mode:
    support: full
    details: Before/after diff of the Application.
  platform:
    platforms: all
requirements:
  - git (command line), only with O(repo_dir)
"""

EXAMPLES = r"""
- name: Render and push MinIO's folder (render_tree leaves its Secrets out)
  rhods.gitops.render_tree:
    component: minio
    manifests: "{{ minio_manifests }}"
    dest: ~/.cache/rhods-gitops/worktree
    path: rhods-gitops
    git: {url: "https://git.example.com/platform/cluster-config.git"}
  register: tree

- name: Deliver it with Argo CD and wait until the pushed commit is Synced and Healthy
  rhods.gitops.argocd_application:
    name: rhods-gitops-minio
    project: rhods-gitops
    repo_url: https://git.example.com/platform/cluster-config.git
    target_revision: main
    path: rhods-gitops/minio
    destination:
      namespace: minio
    sync_policy:
      automated: {prune: true, selfHeal: true}
      syncOptions: [ServerSideApply=true, RespectIgnoreDifferences=true]
    expected_revision: "{{ tree.revision }}"
    wait_timeout: 900

- name: Stop managing MinIO with Argo CD, keeping its objects
  rhods.gitops.argocd_application:
    name: rhods-gitops-minio
    state: absent
"""

RETURN = r"""
application:
  description: The Application as last seen, without managedFields (null once deleted).
  returned: always
  type: dict
expected_revision:
  description: The revision awaited (null when any revision counts).
  returned: with O(state=present)
  type: str
revision:
  description: The revision Argo CD compared (C(status.sync.revision)).
  returned: with O(state=present)
  type: str
sync_status:
  description: C(status.sync.status) (Synced, OutOfSync, Unknown).
  returned: with O(state=present)
  type: str
health_status:
  description: C(status.health.status) (Healthy, Progressing, Degraded, Suspended, Missing, Unknown).
  returned: with O(state=present)
  type: str
ready:
  description: Whether the Application is Synced at the expected revision and Healthy.
  returned: with O(state=present)
  type: bool
resources:
  description: The Application's resources with their sync and health status.
  returned: with O(state=present)
  type: list
  elements: dict
problems:
  description:
    - One line per resource that is not synced or not healthy, or that the last sync could not
      apply, with Argo CD's message. Also returned on failure.
  returned: always
  type: list
  elements: str
refreshed:
  description: Whether Argo CD was asked to fetch the repository at once.
  returned: when a refresh was requested
  type: bool
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
progress:
  description: State transitions seen while waiting (see P(rhods.gitops.k8s_wait#module)).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import ARGOCD, WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.argocd import run_argocd_application
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module

RULES = {"required_if": [("state", "present", ["repo_url"])]}


def argument_spec():
    return module_spec({
        "name": {"type": "str", "required": True},
        "namespace": {"type": "str", "default": "openshift-gitops"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "project": {"type": "str", "default": "default"},
        "repo_url": {"type": "str"},
        "target_revision": {"type": "str", "default": "HEAD"},
        "path": {"type": "str", "default": "."},
        "destination": {
            "type": "dict",
            "default": {},
            "options": {
                "server": {"type": "str"},
                "name": {"type": "str"},
                "namespace": {"type": "str"},
            },
        },
        "sync_policy": {"type": "dict",
                        "default": {"automated": {"prune": True, "selfHeal": True}}},
        "labels": {"type": "dict", "default": {}},
        "annotations": {"type": "dict", "default": {}},
        "finalizer": {"type": "bool", "default": False},
        "cascade": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "expected_revision": {"type": "str"},
        "repo_dir": {"type": "path"},
        "refresh": {"type": "bool", "default": True},
    }, WAIT, ARGOCD)


def main():
    run_module(argument_spec(), run_argocd_application, **RULES)


if __name__ == "__main__":
    main()
