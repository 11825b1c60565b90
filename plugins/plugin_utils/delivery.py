# SPDX-License-Identifier: Apache-2.0
"""What the ``deliver`` action decides before it calls a module (pure, unit-tested).

- ``split``: a component's objects as the ones Argo CD may carry and the Secrets, which
  always go to the cluster directly (never to git).
- ``delivery_mode``: direct or gitops, from the task or the collection-wide variable.
- ``gitops_target``: where the tree goes and how the Application looks, from the fact
  ``gitops_bootstrap_target`` that the role gitops_bootstrap publishes.
- ``application_args``: the arguments of ``argocd_application`` for one component.
- ``hide_secret_result``: what of a Secret apply may be shown.
- ``boolean_variable``, ``check_namespace``: the ownership settings, checked.
"""

import re

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.rhods.gitops.plugins.filter.gitops import gitops_namespaces, project_name

DELIVERY_VARIABLE = "rhods_gitops_delivery"
DELETE_DATA_VARIABLE = "rhods_gitops_delete_data"
STATE_NAMESPACE_VARIABLE = "rhods_gitops_state_namespace"
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
TARGET_FACT = "gitops_bootstrap_target"
MODES = ("direct", "gitops")
COMPONENT = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# What gitops_bootstrap_target holds (gitops_bootstrap's tasks/gitops.yml sets every key).
TARGET_KEYS = ("repo_url", "push_url", "revision", "path", "render_dir", "push",
               "git_username", "git_password", "author_name", "author_email",
               "application_prefix", "argocd_namespace", "project", "sync_policy",
               "ignore_differences", "finalizer", "timeout", "controller_role",
               "controller_service_account")
LABELS = {"app.kubernetes.io/part-of": "rhods-gitops",
          "app.kubernetes.io/managed-by": "rhods.gitops"}


class DeliveryInputError(ValueError):
    """The task cannot be delivered as given; nothing was changed."""


def is_secret(obj):
    return (obj or {}).get("kind") == "Secret" and (obj or {}).get("apiVersion") == "v1"


def split(manifests):
    """(objects, secrets) of a component, each in the given order."""
    if not isinstance(manifests, list) or not all(isinstance(m, dict) for m in manifests):
        raise DeliveryInputError("manifests must be a list of objects (dicts)")
    return ([m for m in manifests if not is_secret(m)], [m for m in manifests if is_secret(m)])


def check_component(name):
    if not isinstance(name, str) or not COMPONENT.match(name):
        raise DeliveryInputError(
            "component {0!r} must be a name of lower case letters, digits and '-' (it names the "
            "folder of the tree and the Application)".format(name))
    return name


def boolean_variable(name, value):
    """A collection-wide switch: unset is false; a value that is not a boolean is refused."""
    if value in (None, ""):
        return False
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise DeliveryInputError("{0} must be true or false, not {1!r}".format(name, value)) from None


def check_namespace(name):
    if not isinstance(name, str) or len(name) > 63 or not NAMESPACE.match(name):
        raise DeliveryInputError(
            "{0} {1!r} must be a namespace name (lower case letters, digits and '-', at most 63 "
            "characters)".format(STATE_NAMESPACE_VARIABLE, name))
    return name


def delivery_mode(value):
    """The mode of a task: its ``delivery`` argument or rhods_gitops_delivery (direct)."""
    mode = value if value not in (None, "") else "direct"
    if mode not in MODES:
        raise DeliveryInputError("{0} must be direct or gitops, not {1!r}".format(
            DELIVERY_VARIABLE, mode))
    return mode


def gitops_target(value, component):
    """The GitOps settings of the run, checked; a clear error when the role
    gitops_bootstrap did not publish them (it must run first in gitops mode)."""
    if not isinstance(value, dict) or not value:
        raise DeliveryInputError(
            "GitOps delivery of component {0} needs the fact {1}, which role "
            "rhods.gitops.gitops_bootstrap publishes when {2} is gitops: run that role first "
            "(playbooks/site.yml does), or, to deliver one component alone, its entry point "
            "'target' (include_role name=rhods.gitops.gitops_bootstrap tasks_from=target, which "
            "changes nothing)".format(component, TARGET_FACT, DELIVERY_VARIABLE))
    missing = [key for key in TARGET_KEYS if key not in value]
    if missing:
        raise DeliveryInputError("{0} lacks {1}".format(TARGET_FACT, ", ".join(missing)))
    if not value["repo_url"]:
        raise DeliveryInputError(
            "GitOps delivery of component {0} needs rhods_gitops_repo_url (the repository Argo CD "
            "syncs from; see docs/gitops.md)".format(component))
    return value


def render_args(target, component, objects):
    git = {"url": target["push_url"] or target["repo_url"], "branch": target["revision"],
           "push": bool(target["push"]), "author_name": target["author_name"],
           "author_email": target["author_email"]}
    if target["git_username"]:
        git["username"] = target["git_username"]
    if target["git_password"]:
        git["password"] = target["git_password"]
    return {"component": component, "manifests": objects, "dest": target["render_dir"],
            "path": target["path"], "git": git}


def application_args(target, component, manifests, tree, ignore_differences=None):
    """Arguments of argocd_application for the component's Application (without wait)."""
    namespaces = gitops_namespaces(manifests)
    return {
        "name": target["application_prefix"] + component,
        "namespace": target["argocd_namespace"],
        "project": project_name(target, component),
        "repo_url": target["repo_url"],
        "target_revision": target["revision"],
        "path": tree.get("path"),
        "destination": {"namespace": namespaces[0] if namespaces else target["argocd_namespace"]},
        "sync_policy": target["sync_policy"],
        "ignore_differences": list(target["ignore_differences"] or []) + list(
            ignore_differences or []),
        "finalizer": bool(target["finalizer"]),
        "labels": dict(LABELS, **{"app.kubernetes.io/component": component}),
    }


def hide_secret_result(result, count):
    """A Secret apply's result without values: no diff, no objects, no arguments."""
    shown = {"changed": bool(result.get("changed")), "secrets": count}
    if result.get("failed"):
        shown["failed"] = True
        shown["msg"] = "Cannot apply the {0} Secret(s): {1}".format(
            count, result.get("msg") or "unknown error")
    return shown
