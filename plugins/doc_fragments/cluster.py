# SPDX-License-Identifier: Apache-2.0
"""What every module that talks to the cluster needs.

Their argument spec is the option group ``CLUSTER`` of module_utils/args.py:
modules run with module_utils only, and ansible-test reads a fragment's text
as a literal, so the two halves are paired files; the unit tests check that
they agree."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options: {}
requirements:
  - kubernetes >= 24.2.0
  - jmespath
"""
