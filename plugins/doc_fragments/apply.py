# SPDX-License-Identifier: Apache-2.0
"""Options of the modules that write objects with server-side apply; the text and the argument spec are one
option group in module_utils/args.py."""

from ansible_collections.rhods.gitops.plugins.module_utils.args import APPLY


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = APPLY.doc
