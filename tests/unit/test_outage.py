"""Retries of requests while the API server is unreachable (client.Outage, pure logic)."""

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.client import Outage, retrying
from ansible_collections.rhods.gitops.plugins.module_utils.errors import RoundOver, WaitTimeout
from ansible_collections.rhods.gitops.plugins.module_utils.waiter import Deadline, Progress

from fakes import FakeClock


class Refused(OSError):
    pass


class Http(Exception):
    def __init__(self, status, body=""):
        super().__init__("HTTP %d" % status)
        self.status = status
        self.body = body


def outage(timeout=60, round_seconds=None, down_at=None):
    clock = FakeClock()
    deadline = Deadline(timeout, round_seconds=round_seconds, clock=clock)
    return Outage(deadline, Progress(deadline), clock.sleep, down_at=down_at, clock=clock), clock


def script(*failures):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "answer"
    return call, calls


def test_connection_errors_and_5xx_are_retried_and_progress_says_so():
    policy, _clock = outage()
    call, calls = script(Refused("refused"), Http(502), Http(503), Http(429))
    assert retrying(policy, "(get /api)", call) == "answer"
    assert len(calls) == 5
    states = [e["state"] for e in policy.progress.entries]
    assert "retrying until the deadline" in states[0] and states[-1] == "answering again"


def test_a_403_is_not_retried_from_a_server_that_was_never_down():
    policy, _clock = outage()
    call, calls = script(Http(403))
    with pytest.raises(Http):
        retrying(policy, "(get)", call)
    assert len(calls) == 1


def test_a_403_right_after_an_outage_is_retried_even_in_a_later_round():
    policy, clock = outage(down_at=None)
    policy.down_at = clock() - 5  # what the previous round handed on
    call, calls = script(Http(403), Http(401))
    assert retrying(policy, "(list)", call) == "answer" and len(calls) == 3


def test_a_403_long_after_the_outage_is_reported():
    policy, clock = outage()
    policy.down_at = clock() - 300
    with pytest.raises(Http):
        retrying(policy, "(list)", script(Http(403))[0])


def test_without_a_wait_budget_the_first_error_is_reported():
    policy, _clock = outage(timeout=0)
    with pytest.raises(Refused):
        retrying(policy, "(get)", script(Refused("refused"))[0])


def test_an_outage_longer_than_the_deadline_times_out_naming_the_api_server():
    policy, _clock = outage(timeout=5)
    with pytest.raises(WaitTimeout) as err:
        retrying(policy, "(get /apis)", script(*[Refused("refused")] * 100)[0])
    assert "API server" in err.value.msg and "Refused" in err.value.msg


def test_an_outage_past_the_round_ends_the_round_not_the_wait():
    policy, _clock = outage(timeout=600, round_seconds=5)
    with pytest.raises(RoundOver):
        retrying(policy, "(get)", script(*[Http(502)] * 100)[0])
    assert policy.down_at is not None


def test_other_errors_are_not_retried():
    policy, _clock = outage()
    with pytest.raises(ValueError):
        retrying(policy, "(get)", script(ValueError("bad"))[0])


def test_a_500_for_an_object_the_schema_does_not_declare_is_reported_at_once():
    """Server-side apply of a field a CRD lacks: kube-apiserver answers 500, every time."""
    policy, _clock = outage()
    body = ('{"kind":"Status","status":"Failure","message":"failed to create typed patch object '
            '(ns/wb; kubeflow.org/v1, Kind=Notebook): .spec.template.metadata: field not '
            'declared in schema","code":500}')
    call, calls = script(Http(500, body))
    with pytest.raises(Http):
        retrying(policy, "(apply)", call)
    assert len(calls) == 1
    call, calls = script(Http(500, '{"message":"etcdserver: request timed out"}'))
    assert retrying(policy, "(apply)", call) == "answer" and len(calls) == 2
