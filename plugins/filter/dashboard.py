# SPDX-License-Identifier: Apache-2.0
"""Filters of the rhods role's dashboard settings (pure Python, no cluster access).

- ``dashboard_definitions(rhods_input, namespace, live_config, live_auth, auth_served)``: the
  OdhDashboardConfig (sizes, other settings and, without the Auth kind, the groups) and, when
  groups are managed and the cluster serves the Auth kind, the Auth ``auth``; a group variable
  left out carries the live value.
- ``dashboard_readback_problems(definitions, live)``: what the objects read back after the
  apply lack of the definitions (one message per spec field); empty when all is there.

The logic is ``plugins/module_utils/dashboard.py``.
"""

from ansible_collections.rhods.gitops.plugins.module_utils import dashboard


class FilterModule:
    """rhods.gitops dashboard filters."""

    def filters(self):
        return {"dashboard_definitions": dashboard.definitions,
                "dashboard_readback_problems": dashboard.readback_problems}
