"""Teardown of the whole collection (named to run after every other integration test,
since it removes what they may use): playbooks/teardown.yml removes what site.yml
created, in reverse order, and waits until it is gone (namespaces really deleted);
the operators stay; site.yml converges again afterwards."""

import pytest

from .s3server import SecretMirror
from .site import (APPS, CREDENTIALS, SITE, TEARDOWN, changed_tasks, get, names, play,
                   report, site_vars)


@pytest.fixture(scope="module")
def mirror(cluster, s3server):
    helper = SecretMirror(s3server, cluster.kubeconfig).start()
    yield helper
    helper.stop()


def test_teardown_leaves_nothing_and_site_converges_again(cluster, s3server, mirror):
    # One state namespace for the site and teardown runs (the test runner gives each set of
    # variables its own otherwise): teardown finds what the site delivered through it.
    variables = site_vars(s3server, rhods_gitops_state_namespace="rhods-gitops-t-teardown")
    # A project that is no longer in the variables when teardown runs.
    extra = dict(variables, dsp_projects=[
        {"name": "notebook-demo", "display_name": "Notebook Demo",
         "connections": [{"name": "minio", "display_name": "MinIO", "type": "minio",
                          "bucket": "notebook-demo"}]},
        {"name": "teardown-extra", "connections": [{"name": "minio", "type": "minio",
                                                    "bucket": "notebook-demo"}]}])
    earlier = play(cluster, SITE, extra)
    assert earlier.rc == 0, str(earlier)
    converged = play(cluster, SITE, variables)
    assert converged.rc == 0, str(converged)
    assert get(cluster, "namespace", "teardown-extra") is not None  # kept: user data

    removed = play(cluster, TEARDOWN, variables)
    assert removed.rc == 0, str(removed)
    for namespace in ("notebook-demo", "minio", "teardown-extra", "rhods-gitops-t-teardown"):
        left = get(cluster, "namespace", namespace)
        assert left is None or left["metadata"].get("deletionTimestamp"), namespace
    for kind, name in (("buildconfig", "lightgbm"), ("imagestream", "lightgbm")):
        assert get(cluster, kind, name, APPS) is None, (kind, name)
    assert names(cluster, "builds", APPS, "openshift.io/build-config.name=lightgbm") == []
    assert names(cluster, "datascienceclusters.datasciencecluster.opendatahub.io") == []
    assert get(cluster, "clusterrole", "rhods-gitops-argocd-components") is None
    # The controller's rights per component (gitops delivery earlier in the suite), all of them.
    for kind in ("clusterroles", "clusterrolebindings"):
        assert names(cluster, kind, None, "rhods.gitops/controller-rights=true") == [], kind
    assert names(cluster, "notebooks.kubeflow.org") == [] or \
        "demo-lightgbm-workbench" not in names(cluster, "notebooks.kubeflow.org")
    # The operators stay (teardown_operators: false).
    assert get(cluster, "subscriptions.operators.coreos.com", "rhods-operator",
               "redhat-ods-operator") is not None
    assert get(cluster, "subscriptions.operators.coreos.com", "openshift-gitops-operator",
               "openshift-operators") is not None

    again = play(cluster, TEARDOWN, variables)
    assert again.rc == 0 and again.changed == 0, changed_tasks(again) or str(again)

    reconverged = play(cluster, SITE, variables)
    assert reconverged.rc == 0, str(reconverged)
    lines = "\n".join(report(play(cluster, CREDENTIALS)))
    assert "notebook-demo/demo-lightgbm-workbench (demo-lightgbm-workbench, ready)" in lines
