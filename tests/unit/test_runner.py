"""The runner, the one way every module exits: its result, or a failure with the credentials in
play redacted and no traceback; here in its mode without a cluster client (cluster=False)."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module

SPEC = {"name": {"type": "str"}, "password": {"type": "str", "no_log": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "token": {"type": "str"}}


def run(handler, args, **options):
    """Run a module made of ``handler``; return what it printed, as a dict."""
    with patch_module_args(args), pytest.raises(SystemExit):
        run_module(SPEC, handler, cluster=False, **options)


def printed(capsys):
    return json.loads(capsys.readouterr().out)


def test_a_result_is_taken_with_its_changed_flag_and_without_a_cluster(capsys):
    def handler(module_run):
        assert module_run.cluster is None and module_run.waiter is None
        module_run.take({"changed": True, "diff": [{"before": "a", "after": "b"}], "path": "x"})
    run(handler, {"name": "n"})
    out = printed(capsys)
    assert out["changed"] is True and out["path"] == "x"
    assert "diff" not in out  # diff mode is off
    assert "failed" not in out and "progress" not in out


def test_an_unexpected_error_is_redacted_and_has_no_traceback(capsys):
    def handler(module_run):
        raise ValueError("Invalid header value b'Bearer sha256~abcdefgh\\n' for s3cr3t-pass")
    run(handler, {"name": "n", "password": "s3cr3t-pass"})
    out = printed(capsys)
    assert out["failed"] is True and out["changed"] is False
    assert "sha256~abcdefgh" not in out["msg"] and "s3cr3t-pass" not in out["msg"]
    assert out["msg"].startswith("The API token is not valid in an HTTP header")
    assert "exception" not in out and "Traceback" not in json.dumps(out)


def test_a_gitops_error_keeps_its_details_and_the_result_so_far(capsys):
    def handler(module_run):
        module_run.result["endpoint_url"] = "https://s3.example.com"
        raise GitopsError("bucket b is missing", kind="missing", code=None)
    run(handler, {"name": "n"})
    out = printed(capsys)
    assert out["failed"] is True and out["msg"] == "bucket b is missing"
    assert out["kind"] == "missing" and "code" not in out
    assert out["endpoint_url"] == "https://s3.example.com"


def test_cross_option_rules_are_checked_before_the_handler_runs(capsys):
    def handler(module_run):
        raise AssertionError("not reached")
    run(handler, {"state": "absent"}, required_if=[("state", "absent", ["token"])])
    assert "state is absent but all of the following are missing: token" in printed(capsys)["msg"]


def test_a_missing_library_fails_with_its_name(capsys):
    def handler(module_run):
        raise AssertionError("not reached")
    run(handler, {}, libraries=[("botocore", ImportError("No module named 'botocore'"))])
    out = printed(capsys)
    assert "botocore" in out["msg"] and out["failed"] is True
