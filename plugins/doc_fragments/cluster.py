# SPDX-License-Identifier: Apache-2.0
"""What every module that talks to the cluster requires; the text and the argument spec are one
option group in module_utils/args.py."""

from ansible_collections.rhods.gitops.plugins.module_utils.args import CLUSTER


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = CLUSTER.doc
