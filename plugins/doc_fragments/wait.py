# SPDX-License-Identifier: Apache-2.0
"""Options of every waiting module; their argument spec is ``args.WAIT`` in module_utils."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
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
"""
