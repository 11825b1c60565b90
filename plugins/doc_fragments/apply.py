# SPDX-License-Identifier: Apache-2.0
"""Options of the modules that write objects with server-side apply; their argument spec is ``args.APPLY`` in module_utils."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  force_conflicts:
    description:
      - Take over fields that another field manager owns with a different value.
      - By default such a conflict fails the task and names the fields and their owners.
    type: bool
    default: false
notes:
  - Objects are written with server-side apply under the field manager C(rhods.gitops), so fields
    other writers own (defaults, webhook injections, operator updates) are kept.
  - Change detection is exact. The module reads the object, applies it as a server-side dry run
    and compares the two, ignoring C(status) and server bookkeeping (managedFields, resourceVersion,
    generation). It writes only when something differs. Check mode sends the dry run only, so it
    reports exactly what a real run would change and writes nothing.
  - In diffs and returned objects, the values of a Secret's C(data) and C(stringData) are replaced
    by C(<redacted>), or C(<redacted, changed>) for a value that changes.
"""
