"""The real OLM of the local control plane, driven through the API.

OLM v0 (olm + catalog operators) serves Subscriptions from the test catalog
that ``opm serve`` serves (tests/cluster/catalog.yml).  These tests check what
a client of OLM sees, with the catalog's own content as the only way to make
something fail: resolution (a package or channel the catalog lacks), Manual
approval, an InstallPlan that fails (a bundle with a CRD the API server
rejects), a CSV that fails (a bundle whose Deployment the API server rejects).
Each test works in its own namespace; cluster-scoped CRDs it causes are
removed again.
"""

import base64
import os
import sys
import time
import uuid

import pytest
import yaml
from kubernetes.client.rest import ApiException

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from lc import catalog  # noqa: E402  pylint: disable=wrong-import-position
from simulator import core  # noqa: E402  pylint: disable=wrong-import-position

OLM = "operators.coreos.com/v1alpha1"
OLM_V1 = "operators.coreos.com/v1"
CRD_API = "apiextensions.k8s.io/v1"
SOURCE, SOURCE_NS = "redhat-operators", "openshift-marketplace"
WIDGETS = "widgets.example.localcluster.test"
TIMEOUT = 90  # OLM's work queues back off; generous on a loaded machine


@pytest.fixture(scope="module")
def kube(kube_client):
    return core.Kube(kube_client)


def wait_for(what, fn, timeout=TIMEOUT, interval=0.1):
    """Poll ``fn`` until it returns something truthy; fail naming ``what`` and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
        except ApiException as exc:
            if exc.status not in (404, 409):
                raise
            last = "ApiException %s %s" % (exc.status, exc.reason)
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s; last seen: %r"
                        % (timeout, what, last), pytrace=False)
        time.sleep(interval)


def phase(obj):
    return ((obj or {}).get("status") or {}).get("phase")


def cond(obj, ctype):
    return core.get_condition(obj, ctype) or {}


@pytest.fixture
def namespace(kube):
    name = "olm-" + uuid.uuid4().hex[:8]
    kube.create("v1", "namespaces", {"metadata": {"name": name}})
    yield name
    kube.delete("v1", "namespaces", name)


def _operatorgroup(kube, namespace, name="og", own_namespace=True):
    spec = {"targetNamespaces": [namespace]} if own_namespace else {}
    kube.create(OLM_V1, "operatorgroups", {
        "kind": "OperatorGroup", "metadata": {"name": name, "namespace": namespace},
        "spec": spec})


def _subscribe(kube, namespace, package, approval="Automatic", starting=None, channel="stable",
               source=SOURCE, name=None, operatorgroup=True):
    if operatorgroup:
        _operatorgroup(kube, namespace)
    spec = {"name": package, "channel": channel, "source": source,
            "sourceNamespace": SOURCE_NS, "installPlanApproval": approval}
    if starting:
        spec["startingCSV"] = starting
    return kube.create(OLM, "subscriptions", {
        "kind": "Subscription", "metadata": {"name": name or package, "namespace": namespace},
        "spec": spec})


def _sub(kube, namespace, name):
    return kube.get(OLM, "subscriptions", name, namespace)


def _own_csvs(kube, namespace):
    """The CSVs installed in ``namespace``, not the copies OLM places there of
    AllNamespaces operators installed elsewhere (label olm.copiedFrom)."""
    return [c for c in kube.list(OLM, "clusterserviceversions", namespace)
            if "olm.copiedFrom" not in (c["metadata"].get("labels") or {})]


def _csv_in_phase(kube, namespace, name, wanted):
    csv = kube.get(OLM, "clusterserviceversions", name, namespace)
    return csv if phase(csv) == wanted else None


@pytest.fixture
def widget_crd_absent(kube, namespace):
    """example-crd-operator's CRD is removed before and after the test.

    Afterwards the operator goes first: while its Subscription and CSV exist,
    OLM puts a deleted CRD back.
    """
    def remove():
        if kube.delete(CRD_API, "customresourcedefinitions", WIDGETS):
            wait_for("CRD %s gone" % WIDGETS,
                     lambda: kube.get(CRD_API, "customresourcedefinitions", WIDGETS) is None)
    remove()
    yield WIDGETS
    for sub in kube.list(OLM, "subscriptions", namespace):
        kube.delete(OLM, "subscriptions", sub["metadata"]["name"], namespace)
    for csv in _own_csvs(kube, namespace):
        kube.delete(OLM, "clusterserviceversions", csv["metadata"]["name"], namespace)
    wait_for("the operator gone", lambda: not _own_csvs(kube, namespace))
    remove()


# ---------------------------------------------------------------------------
# The catalog
# ---------------------------------------------------------------------------

def test_catalog_source_points_at_the_local_opm_and_is_ready(kube):
    for name in catalog.description()["sources"]:
        source = kube.get(OLM, "catalogsources", name, SOURCE_NS)
        assert source["spec"]["sourceType"] == "grpc"
        assert source["spec"]["address"].startswith("127.0.0.1:")
        assert "image" not in source["spec"]
        wait_for("CatalogSource %s READY" % name, lambda n=name: (
            ((kube.get(OLM, "catalogsources", n, SOURCE_NS).get("status") or {})
             .get("connectionState") or {}).get("lastObservedState") == "READY"))


def test_catalog_bundles_embed_their_objects_and_have_no_image():
    desc = catalog.description()
    blobs = catalog.blobs(desc)
    bundles = [b for b in blobs if b["schema"] == "olm.bundle"]
    assert {b["package"] for b in bundles} == {p["name"] for p in desc["packages"]}
    for bundle in bundles:
        assert bundle["image"] == ""
        kinds = [p["type"] for p in bundle["properties"]]
        assert kinds.count("olm.package") == 1 and "olm.bundle.object" in kinds
    stable = next(b for b in blobs if b["schema"] == "olm.channel"
                  and b["package"] == "rhods-operator" and b["name"] == "stable")
    assert stable["entries"][1] == {"name": "rhods-operator.2.22.1",
                                    "replaces": "rhods-operator.2.21.0"}


# ---------------------------------------------------------------------------
# Installing
# ---------------------------------------------------------------------------

def test_the_installplan_creates_the_crds_then_the_csv(kube, namespace, widget_crd_absent):
    _subscribe(kube, namespace, "example-crd-operator")
    csv_name = "example-crd-operator.v0.1.0"
    csv = wait_for("CSV Succeeded", lambda: _csv_in_phase(kube, namespace, csv_name, "Succeeded"))
    owned = [c["name"] for c in csv["spec"]["customresourcedefinitions"]["owned"]]
    assert owned == [widget_crd_absent]

    sub = wait_for("Subscription AtLatestKnown", lambda: (
        lambda s: s if (s.get("status") or {}).get("state") == "AtLatestKnown" else None)(
            _sub(kube, namespace, "example-crd-operator")))
    status = sub["status"]
    assert status["installedCSV"] == status["currentCSV"] == csv_name
    # The plan may still say Installing when the CSV has succeeded (OLM re-checks it later).
    plan = wait_for("InstallPlan Complete", lambda: (
        lambda p: p if phase(p) == "Complete" else None)(
            kube.get(OLM, "installplans", status["installPlanRef"]["name"], namespace)))
    assert plan["metadata"]["name"].startswith("install-")
    assert any(o["uid"] == sub["metadata"]["uid"] for o in plan["metadata"]["ownerReferences"])
    assert plan["spec"]["clusterServiceVersionNames"] == [csv_name]
    assert plan["spec"]["approval"] == "Automatic" and plan["spec"]["approved"] is True
    # Real OLM: the CRD is a step of the InstallPlan (executed in the same pass as the
    # CSV step, which comes first), so it exists before the CSV can succeed: the CSV's
    # requirements include it.
    kinds = [step["resource"]["kind"] for step in plan["status"]["plan"]]
    assert kinds[0] == "ClusterServiceVersion" and "CustomResourceDefinition" in kinds, kinds
    assert all(step["status"] in ("Created", "Present") for step in plan["status"]["plan"])
    crd = kube.get(CRD_API, "customresourcedefinitions", widget_crd_absent)
    assert core.FIELD_MANAGER not in [m["manager"] for m in crd["metadata"]["managedFields"]]
    required = {(r["kind"], r["name"]): r["status"] for r in csv["status"]["requirementStatus"]}
    assert required[("CustomResourceDefinition", widget_crd_absent)] == "Present", required
    assert crd["metadata"]["creationTimestamp"] <= csv["status"]["lastTransitionTime"]

    # The install strategy: OLM made the operator's Deployment and waited for it.
    deployment = kube.get("apps/v1", "deployments", "example-crd-operator", namespace)
    assert deployment["metadata"]["labels"]["olm.owner"] == csv_name
    assert csv["status"]["reason"] == "InstallSucceeded"
    og = kube.get(OLM_V1, "operatorgroups", "og", namespace)
    assert og["status"]["namespaces"] == [namespace]


def test_manual_approval_waits_until_approved(kube, namespace):
    _subscribe(kube, namespace, "example-operator", approval="Manual")
    sub = wait_for("an InstallPlan pending approval", lambda: (
        lambda s: s if cond(s, "InstallPlanPending").get("status") == "True" else None)(
            _sub(kube, namespace, "example-operator")))
    assert sub["status"]["state"] == "UpgradePending"
    assert cond(sub, "InstallPlanPending")["reason"] == "RequiresApproval"
    plan_name = sub["status"]["installPlanRef"]["name"]
    plan = kube.get(OLM, "installplans", plan_name, namespace)
    assert plan["spec"]["approval"] == "Manual" and plan["spec"]["approved"] is False
    assert phase(plan) == "RequiresApproval"

    time.sleep(2.0)  # nothing moves while the plan waits
    assert _own_csvs(kube, namespace) == []
    assert phase(kube.get(OLM, "installplans", plan_name, namespace)) == "RequiresApproval"
    assert len(kube.list(OLM, "installplans", namespace)) == 1

    kube.patch(OLM, "installplans", plan_name, {"spec": {"approved": True}}, namespace)
    wait_for("CSV Succeeded after approval", lambda: _csv_in_phase(
        kube, namespace, "example-operator.v0.1.0", "Succeeded"))
    sub = wait_for("AtLatestKnown", lambda: (
        lambda s: s if s["status"].get("state") == "AtLatestKnown" else None)(
            _sub(kube, namespace, "example-operator")))
    wait_for("the approved InstallPlan Complete", lambda: phase(
        kube.get(OLM, "installplans", plan_name, namespace)) == "Complete")


def test_starting_csv_installs_then_upgrades_along_replaces(kube, namespace):
    _subscribe(kube, namespace, "example-operator", starting="example-operator.v0.0.9")
    wait_for("v0.0.9 created", lambda: kube.get(
        OLM, "clusterserviceversions", "example-operator.v0.0.9", namespace) is not None)
    csv = wait_for("v0.1.0 Succeeded", lambda: _csv_in_phase(
        kube, namespace, "example-operator.v0.1.0", "Succeeded"))
    assert csv["spec"]["replaces"] == "example-operator.v0.0.9"
    sub = wait_for("upgraded to the channel head", lambda: (
        lambda s: s if s["status"].get("installedCSV") == "example-operator.v0.1.0"
        and s["status"].get("state") == "AtLatestKnown" else None)(
            _sub(kube, namespace, "example-operator")))
    assert sub["status"]["currentCSV"] == "example-operator.v0.1.0"
    plans = kube.list(OLM, "installplans", namespace)
    assert sorted(n for p in plans for n in p["spec"]["clusterServiceVersionNames"]) == [
        "example-operator.v0.0.9", "example-operator.v0.1.0"]
    wait_for("the replaced CSV removed", lambda: kube.get(
        OLM, "clusterserviceversions", "example-operator.v0.0.9", namespace) is None)

    # Deleting the Subscription leaves the operator installed, as OLM does.
    kube.delete(OLM, "subscriptions", "example-operator", namespace)
    wait_for("Subscription gone", lambda: _sub(kube, namespace, "example-operator") is None)
    time.sleep(1.0)
    assert phase(kube.get(OLM, "clusterserviceversions", "example-operator.v0.1.0",
                          namespace)) == "Succeeded"


# ---------------------------------------------------------------------------
# Failures, by catalog content
# ---------------------------------------------------------------------------

def test_a_csv_whose_deployment_is_rejected_fails(kube, namespace):
    _subscribe(kube, namespace, "example-failing-csv-operator")
    csv = wait_for("CSV Failed", lambda: _csv_in_phase(
        kube, namespace, "example-failing-csv-operator.v0.1.0", "Failed"))
    assert csv["status"]["reason"] == "InstallComponentFailed", csv["status"]
    assert csv["status"]["message"].startswith("install strategy failed"), csv["status"]
    assert "selector" in csv["status"]["message"], csv["status"]
    # As in OLM, the Subscription says AtLatestKnown: only the CSV tells the failure.
    sub = wait_for("installedCSV", lambda: (
        lambda s: s if s["status"].get("installedCSV") else None)(
            _sub(kube, namespace, "example-failing-csv-operator")))
    assert sub["status"]["state"] == "AtLatestKnown"


def test_an_installplan_with_a_rejected_crd_fails(kube, namespace):
    _subscribe(kube, namespace, "example-failing-plan-operator")
    sub = wait_for("InstallPlanFailed", lambda: (
        lambda s: s if cond(s, "InstallPlanFailed").get("status") == "True" else None)(
            _sub(kube, namespace, "example-failing-plan-operator")))
    plan = kube.get(OLM, "installplans", sub["status"]["installPlanRef"]["name"], namespace)
    assert phase(plan) == "Failed"
    installed = cond(plan, "Installed")
    assert (installed["status"], installed["reason"]) == ("False", "InstallComponentFailed")
    assert "gadgets.wrong-group.localcluster.test" in installed["message"], installed
    # The CSV step runs first: the CSV exists, and waits for the CRD that never came.
    [csv] = _own_csvs(kube, namespace)
    assert (phase(csv), csv["status"]["reason"]) == ("Pending", "RequirementsNotMet")


@pytest.mark.parametrize("case", ["unknown-package", "unknown-channel", "unknown-source",
                                  "unknown-starting-csv"])
def test_resolution_failures(kube, namespace, case):
    package, channel, source, starting = "example-operator", "stable", SOURCE, None
    if case == "unknown-package":
        package = "no-such-operator"
    if case == "unknown-channel":
        channel = "no-such-channel"
    if case == "unknown-source":
        source = "community-operators-nope"
    if case == "unknown-starting-csv":
        starting = "example-operator.v9.9.9"
    _subscribe(kube, namespace, package, channel=channel, source=source, starting=starting,
               name="sub")
    sub = wait_for("ResolutionFailed", lambda: (
        lambda s: s if cond(s, "ResolutionFailed").get("status") == "True" else None)(
            _sub(kube, namespace, "sub")))
    message = cond(sub, "ResolutionFailed")["message"]
    expected = {"unknown-package": "no operators found in package no-such-operator",
                "unknown-channel": "no operators found in channel no-such-channel",
                "unknown-source": "community-operators-nope",
                "unknown-starting-csv": "no operators found with name example-operator.v9.9.9"}
    assert expected[case] in message, message
    assert cond(sub, "ResolutionFailed")["reason"] == "ConstraintsNotSatisfiable"
    assert not sub["status"].get("installPlanRef")
    assert kube.list(OLM, "installplans", namespace) == []


@pytest.mark.parametrize("count", [0, 2])
def test_without_exactly_one_operatorgroup_nothing_is_resolved(kube, namespace, count):
    """Real OLM resolves nothing in such a namespace and says nothing on the Subscription."""
    for index in range(count):
        _operatorgroup(kube, namespace, name="og%d" % index)
    _subscribe(kube, namespace, "example-operator", name="sub", operatorgroup=False)
    time.sleep(5.0)
    sub = _sub(kube, namespace, "sub")
    assert not (sub.get("status") or {}).get("installPlanRef"), sub.get("status")
    assert kube.list(OLM, "installplans", namespace) == []
    # With exactly one, resolution proceeds.
    if count == 2:
        kube.delete(OLM_V1, "operatorgroups", "og1", namespace)
    else:
        _operatorgroup(kube, namespace)
    wait_for("resolution once there is one OperatorGroup", lambda: (
        lambda s: s if (s.get("status") or {}).get("installPlanRef") else None)(
            _sub(kube, namespace, "sub")))


def test_the_rhods_bundle_carries_the_chosen_dsc_variant():
    desc = catalog.description()
    rhods = next(p for p in desc["packages"] if p["name"] == "rhods-operator")
    blob = catalog.bundle_blob(rhods, dict(rhods["bundles"][-1], dscVersions=["v1", "v2"]))
    objects = [yaml.safe_load(base64.b64decode(p["value"]["data"]))
               for p in blob["properties"] if p["type"] == "olm.bundle.object"]
    dsc = next(o for o in objects if o["metadata"]["name"].startswith("datascienceclusters."))
    assert sorted(v["name"] for v in dsc["spec"]["versions"]) == ["v1", "v2"]
    gvks = {(p["value"]["kind"], p["value"]["version"]) for p in blob["properties"]
            if p["type"] == "olm.gvk"}
    assert {("DataScienceCluster", "v1"), ("DataScienceCluster", "v2")} <= gvks
