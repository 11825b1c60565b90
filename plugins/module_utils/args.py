# SPDX-License-Identifier: Apache-2.0
"""Argument specs shared by the modules, each paired with a doc fragment.

- ``auth``: kubernetes.core's connection options; documented by the fragment
  ``kubernetes.core.k8s_auth_options``.
- ``wait``: ``wait_timeout``, ``progress_interval`` and ``wait_round``;
  documented by the fragment ``rhods.gitops.wait``.
"""

import copy

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_PROGRESS_INTERVAL = 30

WAIT_ARG_SPEC = {
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
}


def module_spec(own, wait=True):
    """The full argument spec of a module: its own options, auth and (optionally) wait."""
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    if wait:
        spec.update(copy.deepcopy(WAIT_ARG_SPEC))
    spec.update(own)
    return spec
