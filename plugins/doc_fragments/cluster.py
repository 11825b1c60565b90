# SPDX-License-Identifier: Apache-2.0
"""What every module that talks to the cluster needs; their argument spec is ``args.CLUSTER`` in module_utils."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
requirements:
  - kubernetes >= 24.2.0
  - jmespath
"""
