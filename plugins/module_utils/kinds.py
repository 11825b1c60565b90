# SPDX-License-Identifier: Apache-2.0
"""The API kinds the collection reads, writes and waits for, each named once.

A ``Kind`` is a small named tuple (``api_version``, ``kind``). It unpacks where
the client wants the two strings (``cluster.resource(*ROUTE)``) and makes the
references, selections and definitions of its objects, so no code indexes a
tuple to find out which of the two it holds.
"""

from collections import namedtuple

from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef, Selection


class Kind(namedtuple("Kind", "api_version kind")):
    """One API kind: its ``apiVersion`` (``group/version``, or ``v1`` for the core group)."""

    __slots__ = ()

    @property
    def group(self):
        """The API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    def ref(self, name, namespace=None):
        """The ObjectRef of the object ``name`` (in ``namespace``)."""
        return ObjectRef(self.api_version, self.kind, name, namespace)

    def select(self, name=None, namespace=None, label_selector=None):
        """What a wait looks at: the object ``name``, or every object matching the labels."""
        return Selection(self.api_version, self.kind, name, namespace, label_selector)

    def definition(self, name, namespace=None, **fields):
        """A definition of an object of this kind, with ``fields`` (``spec=...``) at the top."""
        metadata = {"name": name}
        if namespace:
            metadata["namespace"] = namespace
        return dict({"apiVersion": self.api_version, "kind": self.kind, "metadata": metadata},
                    **fields)

    def is_kind_of(self, obj):
        """Whether the object (a dict) is of this kind."""
        return (obj or {}).get("apiVersion") == self.api_version and obj.get("kind") == self.kind


# Kubernetes
NAMESPACE = Kind("v1", "Namespace")
SECRET = Kind("v1", "Secret")
DEPLOYMENT = Kind("apps/v1", "Deployment")
STATEFUL_SET = Kind("apps/v1", "StatefulSet")
JOB = Kind("batch/v1", "Job")
CRD = Kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")

# OpenShift
ROUTE = Kind("route.openshift.io/v1", "Route")
BUILD_CONFIG = Kind("build.openshift.io/v1", "BuildConfig")
BUILD = Kind("build.openshift.io/v1", "Build")
IMAGE_STREAM = Kind("image.openshift.io/v1", "ImageStream")

# OLM
OPERATOR_GROUP = Kind("operators.coreos.com/v1", "OperatorGroup")
SUBSCRIPTION = Kind("operators.coreos.com/v1alpha1", "Subscription")
INSTALL_PLAN = Kind("operators.coreos.com/v1alpha1", "InstallPlan")
CSV = Kind("operators.coreos.com/v1alpha1", "ClusterServiceVersion")

# Argo CD, Kubeflow notebooks
APPLICATION = Kind("argoproj.io/v1alpha1", "Application")
NOTEBOOK = Kind("kubeflow.org/v1", "Notebook")

# The dashboard's settings (dashboard.py): the operator creates both objects.
DASHBOARD_CONFIG = Kind("opendatahub.io/v1alpha", "OdhDashboardConfig")
AUTH = Kind("services.platform.opendatahub.io/v1alpha1", "Auth")

# RHODS / OpenShift AI: the served versions are discovered (see rhods.py).
DSC_GROUP = "datasciencecluster.opendatahub.io"
DSC_KIND = "DataScienceCluster"
DSC_CRD = "datascienceclusters." + DSC_GROUP
DSCI_GROUP = "dscinitialization.opendatahub.io"
DSCI_KIND = "DSCInitialization"


def datasciencecluster(version):
    """The DataScienceCluster kind in API version ``version`` (``v1``, ``v2``)."""
    return Kind("{0}/{1}".format(DSC_GROUP, version), DSC_KIND)


def dscinitialization(version):
    """The DSCInitialization kind in API version ``version``."""
    return Kind("{0}/{1}".format(DSCI_GROUP, version), DSCI_KIND)
