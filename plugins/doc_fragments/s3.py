# SPDX-License-Identifier: Apache-2.0
"""Connection options of the modules that talk to an S3 endpoint; the text and the argument spec are one
option group in module_utils/args.py."""

from ansible_collections.rhods.gitops.plugins.module_utils.args import S3


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = S3.doc
