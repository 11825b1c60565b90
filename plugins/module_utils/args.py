# SPDX-License-Identifier: Apache-2.0
"""The option groups modules share: each group's argument spec and its
documentation, in one place.

A module's argument spec is ``module_spec(own options, *groups)`` (kubernetes.core's
connection options, ``AUTH_ARG_SPEC``, come with every module that talks to the
cluster); its DOCUMENTATION extends each group's doc fragment (``group.fragment``),
whose text is ``group.doc`` (the files in ``plugins/doc_fragments/`` only hand it
to ansible-doc: modules cannot import doc fragments, they run with module_utils
only). The unit tests check, for every module, that both sides agree.
"""

import copy
from collections import namedtuple

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

DEFAULT_WAIT_TIMEOUT = 600
DEFAULT_PROGRESS_INTERVAL = 30


class OptionGroup(namedtuple("OptionGroup", "fragment spec doc")):
    """Options several modules share: the doc fragment's name, the argument spec, the text."""

    __slots__ = ()


# Every module that talks to the cluster (with kubernetes.core's k8s_auth_options).
CLUSTER = OptionGroup("rhods.gitops.cluster", {}, r"""
options: {}
requirements:
  - kubernetes >= 24.2.0
  - jmespath
""")

WAIT = OptionGroup("rhods.gitops.wait", {
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
    "progress_interval": {"type": "int", "default": DEFAULT_PROGRESS_INTERVAL},
    "wait_round": {
        "type": "dict",
        "options": {
            "seconds": {"type": "float", "required": True},
            "spent": {"type": "float", "default": 0.0},
            "unreachable_at": {"type": "float"},
        },
    },
}, r"""
options:
  wait_timeout:
    description:
      - How long, in seconds, the module waits in total before it fails with a timeout.
      - The timeout message says what was awaited, the last state seen and why it is not ready.
      - Waiting uses watches, not polling, so the module returns as soon as the state is reached.
    type: int
    default: 600
  progress_interval:
    description:
      - While waiting, print one progress line at least every this many seconds (the state
        transitions seen since the last line, with timestamps) in C(ansible-playbook) output and
        AAP job output, at default verbosity.
      - The collection's action plugin runs the wait as rounds of this length, each a short module
        run that resumes where the previous one stopped; the total still ends at O(wait_timeout).
      - V(0) waits in one round and prints nothing until the task ends.
      - Ignored in check mode (nothing is awaited) and for tasks run with C(async).
    type: int
    default: 30
  wait_round:
    description:
      - Internal, set by the collection's action plugin to run a wait in rounds; do not set it.
    type: dict
    suboptions:
      seconds:
        description: Length of this round, in seconds.
        type: float
        required: true
      spent:
        description: Seconds of O(wait_timeout) spent by earlier rounds.
        type: float
        default: 0.0
      unreachable_at:
        description: When (UNIX time) an earlier round last found the API server unreachable.
        type: float
notes:
  - Every result of a waiting task includes C(elapsed) (seconds) and C(progress), the list of
    state transitions seen while waiting, each with C(elapsed), C(time) (UTC), C(object) and C(state).
""")

APPLY = OptionGroup("rhods.gitops.apply", {
    "force_conflicts": {"type": "bool", "default": False},
}, r"""
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
""")

S3 = OptionGroup("rhods.gitops.s3", {
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
    "timeout": {"type": "int", "default": 10},
}, r"""
options:
  validate_certs:
    description:
      - Verify the endpoint's TLS certificate.
      - Set V(false) only for a test endpoint with a self-signed certificate; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to trust for the endpoint, for example the cluster's ingress CA.
    type: path
  timeout:
    description: Seconds to wait for a connection and for each answer.
    type: int
    default: 10
requirements:
  - botocore
notes:
  - Requests are signed with AWS Signature Version 4 and use path-style addressing
    (C(https://host/bucket)), which MinIO, SeaweedFS, Ceph RGW and AWS all accept.
  - The keys are module options marked C(no_log), so Ansible masks them in every result and
    message; the task itself does not need C(no_log), which keeps its error messages readable.
  - Environment settings of botocore apply (for example C(HTTPS_PROXY), C(AWS_CA_BUNDLE)); shared
    AWS profiles are not used, the keys given here are.
""")

GROUPS = (CLUSTER, WAIT, APPLY, S3)


def module_spec(own, *groups, cluster=True):
    """The full argument spec of a module: its own options and those of ``groups``; the
    cluster's connection options unless ``cluster=False``."""
    spec = copy.deepcopy(AUTH_ARG_SPEC) if cluster else {}
    for group in groups:
        spec.update(copy.deepcopy(group.spec))
    spec.update(own)
    return spec
