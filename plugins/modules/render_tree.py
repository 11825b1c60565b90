#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: render_tree
short_description: Render a component's manifests into a kustomize-ready folder of a GitOps tree, optionally commit and push it
version_added: 0.1.0
description:
  - Writes the manifests of one component (the list a role's C(tasks/render.yml) builds) into
    C(<dest>/<path>/<component>/), one file per object (C(<kind>-<name>.yaml)) and a
    C(kustomization.yaml) that lists them in the order given. Argo CD syncs such a folder as it
    is, in the order of the C(argocd.argoproj.io/sync-wave) annotations the roles set.
  - The output is deterministic (sorted keys, block style, one header line, a trailing newline),
    so the same manifests always give the same bytes. The module reports changed only when a
    file's bytes differ, and removes YAML files of the folder that are no longer rendered.
  - Objects of kind C(Secret) are never written; they are listed in RV(excluded). Deliver them
    directly (the roles do, see docs/gitops.md), so that no secret value ever reaches git.
  - With O(git), O(dest) is a working copy of a git repository, which is cloned when missing (a
    local bare repository is created first when O(git.url) is a local path that does not
    exist), fast-forwarded to the remote branch, and after rendering the component's folder is
    committed and pushed. RV(revision) is then the commit Argo CD must reach.
  - Needs no cluster access.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  component:
    description:
      - Name of the component, and of its folder, for example V(minio) or V(custom-notebook).
      - Lower case letters, digits, V(-) and V(_).
    type: str
    required: true
  manifests:
    description:
      - The component's objects, each with C(apiVersion), C(kind) and C(metadata.name).
      - C(status) and server bookkeeping (C(resourceVersion), C(uid), C(managedFields), ...) are
        dropped. Objects of kind C(Secret) are left out.
    type: list
    elements: dict
    required: true
  dest:
    description:
      - Root directory of the tree; with O(git), the working copy of the repository.
    type: path
    required: true
  path:
    description:
      - Folder inside O(dest) that holds the component folders, for example V(rhods-gitops); empty
        for O(dest) itself.
    type: str
    default: ""
  git:
    description:
      - Keep O(dest) as a git working copy of O(git.url), and commit and push the component's
        folder after rendering it.
    type: dict
    suboptions:
      url:
        description:
          - URL of the repository to clone, pull and push (https, ssh, a local path or
            V(file://) URL).
          - Never put credentials into the URL; use O(git.username) and O(git.password).
        type: str
        required: true
      branch:
        description: Branch to commit to; it is created when the repository does not have it.
        type: str
        default: main
      push:
        description: Push the branch when it has commits the remote lacks.
        type: bool
        default: true
      username:
        description: User name for an https remote.
        type: str
      password:
        description:
          - Password or token for an https remote. It reaches git through C(GIT_ASKPASS) and is
            never written to disk, to the URL or to the git configuration.
        type: str
      author_name:
        description: Author and committer name of the commits.
        type: str
        default: rhods.gitops
      author_email:
        description: Author and committer e-mail of the commits.
        type: str
        default: rhods.gitops@localhost
      commit_message:
        description: "Commit message; the default names the component: V(rhods.gitops: render component minio)."
        type: str
      create_local_remote:
        description:
          - When O(git.url) is a local path (or V(file://) URL) that does not exist, create an
            empty bare repository there first (handy with a local Argo CD, such as the
            project's local control plane).
        type: bool
        default: true
extends_documentation_fragment: [ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Compares the rendered files with the ones on disk and reports what would change;
      writes, clones, fetches, commits and pushes nothing.
  diff_mode:
    support: full
    details: One before/after diff per file written or removed.
  platform:
    platforms: all
requirements:
  - git (command line), only with O(git)
"""

EXAMPLES = r"""
- name: Render MinIO into the tree of this repository (no git)
  rhods.gitops.render_tree:
    component: minio
    manifests: "{{ minio_manifests }}"
    dest: "{{ playbook_dir }}/../gitops"
    path: default

- name: Render, commit and push the workbenches for Argo CD
  rhods.gitops.render_tree:
    component: custom-notebook
    manifests: "{{ custom_notebook_manifests }}"
    dest: ~/.cache/rhods-gitops/worktree
    path: rhods-gitops
    git:
      url: https://git.example.com/platform/cluster-config.git
      branch: main
      username: automation
      password: "{{ vault_git_token }}"
  register: tree

- name: Show the commit Argo CD has to reach
  ansible.builtin.debug:
    msg: "{{ tree.revision }}"
"""

RETURN = r"""
component:
  description: The component.
  returned: always
  type: str
path:
  description: The component's folder relative to O(dest), the path of its Argo CD Application.
  returned: always
  type: str
  sample: rhods-gitops/minio
dir:
  description: The component's folder on disk.
  returned: always
  type: str
files:
  description: Names of the files the component's folder holds after rendering.
  returned: always
  type: list
  elements: str
objects:
  description: The objects written, as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
excluded:
  description: The objects left out (every Secret), as C(Kind namespace/name).
  returned: always
  type: list
  elements: str
written:
  description: Files written (new or with other bytes), or that would be in check mode.
  returned: always
  type: list
  elements: str
removed:
  description: YAML files removed because they are no longer rendered.
  returned: always
  type: list
  elements: str
revision:
  description: With O(git), the commit (sha) of the working copy's branch after this run.
  returned: always
  type: str
committed:
  description: Whether a commit was made.
  returned: always
  type: bool
pushed:
  description: Whether the branch was pushed.
  returned: always
  type: bool
git_actions:
  description: What was done to the working copy (cloned, fast-forwarded, committed, pushed).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.rhods.gitops.plugins.module_utils.gitops_tree import run_render_tree
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return {
        "component": {"type": "str", "required": True},
        "manifests": {"type": "list", "elements": "dict", "required": True},
        "dest": {"type": "path", "required": True},
        "path": {"type": "str", "default": ""},
        "git": {
            "type": "dict",
            "options": {
                "url": {"type": "str", "required": True},
                "branch": {"type": "str", "default": "main"},
                "push": {"type": "bool", "default": True},
                "username": {"type": "str"},
                "password": {"type": "str", "no_log": True},
                "author_name": {"type": "str", "default": "rhods.gitops"},
                "author_email": {"type": "str", "default": "rhods.gitops@localhost"},
                "commit_message": {"type": "str"},
                "create_local_remote": {"type": "bool", "default": True},
            },
        },
    }


def handle(run):
    run.take(run_render_tree(run.params, run.check_mode, run.want_diff))


def main():
    run_module(argument_spec(), handle, cluster=False)


if __name__ == "__main__":
    main()
