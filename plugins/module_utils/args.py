# SPDX-License-Identifier: Apache-2.0
"""The option groups modules share: each group names its doc fragment (in
``plugins/doc_fragments/``) and holds the argument spec of the options the
fragment documents.

A module's argument spec is ``module_spec(own options, *groups)`` (kubernetes.core's
connection options, ``AUTH_ARG_SPEC``, come with every module that talks to the
cluster); its DOCUMENTATION extends each group's fragment. The two halves cannot
be one file: a module runs with module_utils only (AnsiballZ packs nothing else),
and ansible-test reads a fragment's DOCUMENTATION as a literal string. The unit
tests check that every group's spec matches its fragment, and every module's.
"""

import copy
from collections import namedtuple

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_PROGRESS_INTERVAL = 30


class OptionGroup(namedtuple("OptionGroup", "fragment spec")):
    """Options several modules share: the doc fragment that documents them, their spec."""

    __slots__ = ()


# Every module that talks to the cluster (with kubernetes.core's k8s_auth_options).
CLUSTER = OptionGroup("rhods.gitops.cluster", {})

WAIT = OptionGroup("rhods.gitops.wait", {
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
    "progress_interval": {"type": "int", "default": DEFAULT_PROGRESS_INTERVAL},
    "wait_round": {
        "type": "dict",
        "options": {
            "seconds": {"type": "float", "required": True},
            "spent": {"type": "float", "default": 0.0},
            "unreachable_at": {"type": "float"},
        },
    },
})

APPLY = OptionGroup("rhods.gitops.apply", {
    "force_conflicts": {"type": "bool", "default": False},
})

ARGOCD = OptionGroup("rhods.gitops.argocd", {
    "ignore_differences": {"type": "list", "elements": "dict", "default": []},
    "wait_healthy": {"type": "bool", "default": True},
})

S3 = OptionGroup("rhods.gitops.s3", {
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "int", "default": 10},
})

GROUPS = (CLUSTER, WAIT, APPLY, ARGOCD, S3)


def module_spec(own, *groups, cluster=True):
    """The full argument spec of a module: its own options and those of ``groups``; the
    cluster's connection options unless ``cluster=False``."""
    spec = copy.deepcopy(AUTH_ARG_SPEC) if cluster else {}
    for group in groups:
        spec.update(copy.deepcopy(group.spec))
    spec.update(own)
    return spec
