"""Argo CD Applications (module_utils/argocd.py): the definition built from the module's
options, what "Synced at the expected revision and Healthy" means, what fails at once, and how
the resources that are not ready are reported. Pure functions, no cluster."""

import copy

import pytest

from ansible_collections.rhods.gitops.plugins.module_utils.argocd import (
    FINALIZER,
    REFRESH,
    application_definition,
    application_failure,
    application_ready,
    needs_refresh,
    resource_problems,
)

SHA = "a" * 40
OLD = "b" * 40
SOURCE = {"repoURL": "file:///tmp/repo.git", "path": "rhods-gitops/minio",
          "targetRevision": "main"}


def app(sync="Synced", health="Healthy", revision=SHA, op_phase="Succeeded", op_revision=None,
        resources=None, conditions=None, annotations=None, compared=None, reconciled_at=None,
        health_message=None, op_message="successfully synced (all tasks run)", op_results=None):
    status = {
        "sync": {"status": sync, "revision": revision,
                 "comparedTo": {"source": compared or dict(SOURCE)}},
        "health": {"status": health},
        "resources": resources if resources is not None else [
            {"group": "apps", "version": "v1", "kind": "Deployment", "namespace": "minio",
             "name": "minio", "status": "Synced", "health": {"status": "Healthy"}}],
        "reconciledAt": reconciled_at or "2030-01-01T00:00:00Z",
    }
    if health_message:
        status["health"]["message"] = health_message
    if op_phase:
        status["operationState"] = {"phase": op_phase, "message": op_message,
                                    "syncResult": {"revision": op_revision or revision,
                                                   "resources": op_results or []}}
    if conditions:
        status["conditions"] = conditions
    meta = {"name": "rhods-gitops-minio", "namespace": "openshift-gitops"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta,
            "spec": {"project": "rhods-gitops", "source": dict(SOURCE),
                     "destination": {"server": "https://kubernetes.default.svc"}},
            "status": status}


PARAMS = {"name": "rhods-gitops-minio", "namespace": "openshift-gitops", "project": "rhods-gitops",
          "repo_url": "file:///tmp/repo.git", "target_revision": "main",
          "path": "rhods-gitops/minio", "destination": {"namespace": "minio", "server": None,
                                                        "name": None},
          "sync_policy": {"automated": {"prune": True, "selfHeal": True}},
          "ignore_differences": [{"group": "kubeflow.org", "kind": "Notebook",
                                  "jsonPointers": ["/spec/template/spec/containers"]}],
          "labels": {"app.kubernetes.io/part-of": "rhods-gitops"}, "annotations": {},
          "finalizer": False}


# ------------------------------------------------------------------ definition


def test_definition_from_the_options():
    definition = application_definition(PARAMS)
    assert definition["metadata"] == {"name": "rhods-gitops-minio",
                                      "namespace": "openshift-gitops",
                                      "labels": {"app.kubernetes.io/part-of": "rhods-gitops"}}
    assert definition["spec"] == {
        "project": "rhods-gitops", "source": SOURCE,
        "destination": {"namespace": "minio", "server": "https://kubernetes.default.svc"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
        "ignoreDifferences": PARAMS["ignore_differences"]}


def test_finalizer_only_when_asked_and_a_named_cluster_replaces_the_server():
    params = dict(PARAMS, finalizer=True, destination={"name": "prod", "namespace": "minio"})
    definition = application_definition(params)
    assert definition["metadata"]["finalizers"] == [FINALIZER]
    assert definition["spec"]["destination"] == {"name": "prod", "namespace": "minio"}
    assert "finalizers" not in application_definition(PARAMS)["metadata"]


# ------------------------------------------------------------------ ready


def test_synced_and_healthy_at_the_expected_revision_is_ready():
    ok, reason = application_ready(SHA)(app())
    assert ok and reason == "Synced and Healthy at aaaaaaaaaa"


def test_synced_is_enough_when_health_is_not_awaited():
    """A Subscription whose Manual InstallPlan waits for approval: Argo CD says Progressing."""
    progressing = app(health="Progressing")
    assert not application_ready(SHA)(progressing)[0]
    ok, reason = application_ready(SHA, healthy=False)(progressing)
    assert ok and reason == "Synced and Progressing at aaaaaaaaaa"
    assert not application_ready(SHA, healthy=False)(app(sync="OutOfSync"))[0]
    assert not application_ready(SHA, healthy=False)(app(revision=OLD, health="Progressing"))[0]
    assert not application_ready(SHA, healthy=False)(app(op_phase="Running"))[0]


def test_any_revision_counts_without_an_expected_one():
    assert application_ready(None)(app(revision=OLD))[0]


@pytest.mark.parametrize("observed, words", [
    (None, "does not exist yet"),
    (app(revision=OLD), "compared at revision bbbbbbbbbb, waiting for Argo CD to fetch aaaaaaaaaa"),
    (app(compared=dict(SOURCE, path="old/path")), "has not compared the current source yet"),
    (app(op_phase="Running", op_message="waiting for healthy state of apps/Deployment minio/minio"),
     "sync running at aaaaaaaaaa: waiting for healthy state of apps/Deployment minio/minio"),
    (app(sync="OutOfSync"), "OutOfSync, Healthy at aaaaaaaaaa"),
])
def test_not_ready_says_why(observed, words):
    ok, reason = application_ready(SHA)(observed)
    assert not ok
    assert words in reason


def test_not_ready_lists_the_resources_that_are_not_with_their_messages():
    observed = app(health="Progressing", health_message="minio/minio: waiting", resources=[
        {"group": "apps", "kind": "Deployment", "namespace": "minio", "name": "minio",
         "status": "Synced", "health": {"status": "Progressing",
                                        "message": "Waiting for rollout to finish"}},
        {"group": "", "kind": "Service", "namespace": "minio", "name": "minio",
         "status": "OutOfSync", "health": {"status": "Missing"}},
        {"group": "", "kind": "Namespace", "name": "minio", "status": "Synced",
         "health": {"status": "Healthy"}},
    ])
    ok, reason = application_ready(SHA)(observed)
    assert not ok
    assert reason.startswith("Synced, Progressing (minio/minio: waiting) at aaaaaaaaaa.")
    assert "apps/Deployment minio/minio (Synced, Progressing): Waiting for rollout to finish" in \
        reason
    assert "Service minio/minio (OutOfSync, Missing)" in reason
    assert "Namespace" not in reason


# ------------------------------------------------------------------ failures

FAILED_RESULT = [{"group": "apps", "kind": "Deployment", "namespace": "minio", "name": "minio",
                  "status": "SyncFailed",
                  "message": "apps/Deployment minio/minio: spec.template: Invalid value"}]


def test_a_failed_sync_of_the_expected_revision_fails_and_names_the_resource():
    observed = app(sync="OutOfSync", health="Degraded", op_phase="Failed",
                   op_message="one or more objects failed to apply", op_results=FAILED_RESULT,
                   resources=[{"group": "apps", "kind": "Deployment", "namespace": "minio",
                               "name": "minio", "status": "OutOfSync",
                               "health": {"status": "Healthy"}}])
    failed, reason = application_failure(SHA)(observed)
    assert failed
    assert reason.startswith("could not sync revision aaaaaaaaaa (sync Failed): one or more "
                             "objects failed to apply.")
    assert "apps/Deployment minio/minio (OutOfSync, Healthy): spec.template: Invalid value" in \
        reason


def test_a_failed_sync_of_another_revision_is_history():
    observed = app(revision=OLD, op_phase="Failed", op_revision=OLD, sync="OutOfSync",
                   health="Degraded")
    assert application_failure(SHA)(observed) == (False, "")


def test_degraded_at_the_expected_revision_fails_once_no_sync_runs():
    observed = app(health="Degraded", health_message="injected failure")
    failed, reason = application_failure(SHA)(observed)
    assert failed and reason.startswith("is Degraded at revision aaaaaaaaaa: injected failure.")
    running = app(health="Degraded", op_phase="Running")
    assert application_failure(SHA)(running) == (False, "")


def test_comparison_errors_fail_only_once_argo_cd_handled_the_refresh():
    cond = [{"type": "ComparisonError", "message": "repository not accessible"}]
    observed = app(sync="Unknown", revision=None, conditions=cond, op_phase=None)
    failed, reason = application_failure(SHA, since=0)(observed)
    assert failed and "repository not accessible" in reason
    pending = copy.deepcopy(observed)
    pending["metadata"]["annotations"] = {REFRESH: "normal"}
    assert application_failure(SHA, since=0)(pending) == (False, "")
    stale = app(sync="Unknown", revision=None, conditions=cond, op_phase=None,
                reconciled_at="2020-01-01T00:00:00Z")
    assert application_failure(SHA, since=1700000000)(stale) == (False, "")
    other_source = app(sync="Unknown", revision=None, conditions=cond, op_phase=None,
                       compared=dict(SOURCE, repoURL="file:///old.git"))
    assert application_failure(SHA, since=0)(other_source) == (False, "")


def test_healthy_applications_do_not_fail():
    assert application_failure(SHA)(app()) == (False, "")
    assert application_failure(SHA)(None) == (False, "")


# ------------------------------------------------------------------ refresh and problems


def test_refresh_only_when_not_there_yet_and_not_already_asked():
    assert not needs_refresh(app(), SHA)
    assert needs_refresh(app(revision=OLD), SHA)
    assert not needs_refresh(app(revision=OLD, annotations={REFRESH: "normal"}), SHA)
    assert not needs_refresh(None, SHA)


def test_problems_of_a_healthy_application_are_none_and_pruning_is_said():
    assert resource_problems(app()) == []
    observed = app(resources=[{"group": "", "kind": "ConfigMap", "namespace": "minio",
                               "name": "old", "status": "OutOfSync", "requiresPruning": True,
                               "health": {"status": "Healthy"}}])
    assert resource_problems(observed) == [
        "ConfigMap minio/old (OutOfSync, Healthy) (requires pruning)"]


def test_problems_are_bounded():
    many = [{"group": "", "kind": "ConfigMap", "namespace": "n", "name": "c%d" % i,
             "status": "OutOfSync"} for i in range(30)]
    problems = resource_problems(app(resources=many))
    assert len(problems) == 21 and problems[-1] == "... and 10 more"
