# SPDX-License-Identifier: Apache-2.0
"""Filter ``rhods.gitops.keep_live_fields``: copy controller-written spec fields
from the live objects into definitions before a server-side apply (see
plugins/module_utils/live_fields.py for why)."""

from ansible.errors import AnsibleFilterError

from ansible_collections.rhods.gitops.plugins.module_utils.live_fields import keep_live_fields


def _filter(definitions, live_objects, rules=None):
    if not isinstance(definitions, list):
        raise AnsibleFilterError("keep_live_fields expects a list of definitions, got {0}".format(
            type(definitions).__name__))
    if live_objects is not None and not isinstance(live_objects, list):
        raise AnsibleFilterError("keep_live_fields expects the live objects as a list (the "
                                 "resources of kubernetes.core.k8s_info), got {0}".format(
                                     type(live_objects).__name__))
    return keep_live_fields(definitions, live_objects, rules)


class FilterModule:
    def filters(self):
        return {"keep_live_fields": _filter}
