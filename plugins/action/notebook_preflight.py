# SPDX-License-Identifier: Apache-2.0
"""Action plugin of rhods.gitops.notebook_preflight: runs long waits in rounds and prints progress
between them (see plugins/plugin_utils/wait_rounds.py)."""

from ansible_collections.rhods.gitops.plugins.plugin_utils.wait_rounds import WaitInRounds


class ActionModule(WaitInRounds):
    WAITS_BY_DEFAULT = True
