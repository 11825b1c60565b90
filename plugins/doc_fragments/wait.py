# SPDX-License-Identifier: Apache-2.0
"""Options of every waiting module; the text and the argument spec are one
option group in module_utils/args.py."""

from ansible_collections.rhods.gitops.plugins.module_utils.args import WAIT


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = WAIT.doc
