"""The smoke of the benchmark (``scripts/bench --smoke``, ``tests/bench/bench.py``).

The default site idempotent and two generated projects, one pair of runs (site.yml and the
kubectl baseline of the same objects), five wait-reaction samples, against the shared test
cluster. Times are measured and printed, never asserted (the machines are shared); what is
asserted cannot be flaky: the report has every row, the idempotent runs of the collection
wrote nothing (a correctness property), the request counts are positive integers.

Named to run after test_site.py, whose runs have converged the platform already.
"""

import os
import sys

import pytest

from .s3server import SecretMirror

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from tests.bench import bench  # noqa: E402  pylint: disable=wrong-import-position

ROWS = ["site (defaults), idempotent", "N=2 projects, cold", "N=2 projects, idempotent"]


@pytest.fixture(scope="module")
def smoke(cluster, s3server, tmp_path_factory):
    if not cluster.audit_log:
        pytest.skip("the benchmark reads the local control plane's audit log")
    mirror = SecretMirror(s3server, cluster.kubeconfig).start()
    env = bench.Env(cluster.kubeconfig, cluster.automation_kubeconfig, cluster.audit_log,
                    cluster.kube_bin)
    try:
        result = bench.benchmark(env, sizes=[2], pairs=1, s3_endpoint=s3server.endpoint,
                                 reaction_samples=5, cluster_label="the shared test cluster")
    finally:
        mirror.stop()
        # The benchmark's own ApplySet records; its projects are deleted by the benchmark.
        cluster.kubectl("delete", "namespace", bench.STATE_NAMESPACE, "--ignore-not-found",
                        "--wait=false", check=False)
    report = str(tmp_path_factory.mktemp("bench") / "performance.md")
    bench.write_report(report, result["table"])
    with open(report, encoding="utf-8") as handle:
        result["report"] = handle.read()
    print("\n" + result["table"])
    return result


def test_the_report_has_every_row_for_both_tools(smoke):
    summary = {item["row"]: item for item in smoke["summary"]}
    for label in ROWS:
        assert label in summary, sorted(summary)
        assert summary[label]["ansible"] and summary[label]["kubectl"], label
        assert summary[label]["objects"] > 0
        assert "| %s |" % label in smoke["report"]
    assert bench.BEGIN in smoke["report"] and bench.END in smoke["report"]
    assert len(smoke["reaction"]) == 5, smoke["reaction"]
    assert "Wait reaction" in smoke["report"]


def test_idempotent_runs_of_the_collection_write_nothing(smoke):
    for row in smoke["rows"]:
        if not row["label"].endswith("idempotent"):
            continue
        for run in row["runs"]:
            if run.tool == "ansible":
                assert run.requests["writes"] == 0, (row["label"], run.requests)
                assert run.changed == 0, (row["label"], run.as_dict())


def test_request_counts_are_positive_integers(smoke):
    for row in smoke["rows"]:
        for run in row["runs"]:
            counts = run.requests
            assert isinstance(counts["total"], int) and counts["total"] > 0, run.as_dict()
            assert all(isinstance(v, int) and v > 0 for v in counts["verbs"].values()), \
                run.as_dict()
            assert sum(counts["verbs"].values()) == counts["total"]
            if run.tool == "kubectl":
                # Server-side apply sends every object, changed or not.
                assert counts["writes"] >= row["objects"], (row["label"], counts)
