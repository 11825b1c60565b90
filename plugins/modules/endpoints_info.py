#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: rhods.gitops contributors

DOCUMENTATION = r"""
module: endpoints_info
short_description: Where everything lives - the URLs of Argo CD, the RHODS dashboard, workbenches and MinIO
description:
  - Reads the Routes of OpenShift GitOps (Argo CD), the RHODS/OpenShift AI dashboard, MinIO's
    console and S3 API, and of every workbench (Notebooks labelled C(opendatahub.io/dashboard)),
    and returns their URLs (C(https://) and the admitted host C(status.ingress[0].host), falling
    back to C(spec.host)).
  - Lists the Data Science Projects (namespaces labelled C(opendatahub.io/dashboard)) with their
    data connections (type, endpoint, bucket, region) and the S3 endpoints in use, each marked
    as the in-cluster MinIO or your own. Of a connection Secret only C(AWS_S3_ENDPOINT),
    C(AWS_S3_BUCKET) and C(AWS_DEFAULT_REGION) are decoded; the access keys are never returned.
  - Everything reported is read from the cluster, so a workbench or project removed from the
    variables (and pruned) is not listed.
  - A Route that does not exist (the component is not installed yet) is returned as C(null); the
    module never fails because of it.
  - With O(show_secrets=true) it also returns the Argo CD admin password. Run that task with
    C(no_log) and print the password only where it is meant to be seen.
  - Reads only; check mode returns the same.
version_added: 0.1.0
author:
  - rhods.gitops contributors (@rhods-gitops)
options:
  gitops:
    description: The Argo CD server Route.
    type: dict
    default: {namespace: openshift-gitops, name: openshift-gitops-server, path: ""}
    suboptions: &route
      namespace: {description: Namespace of the Route., type: str}
      name: {description: Name of the Route., type: str}
      path: {description: Path appended to the URL., type: str, default: ""}
  dashboard: {description: The RHODS/OpenShift AI dashboard Route., type: dict, suboptions: *route,
              default: {namespace: redhat-ods-applications, name: rhods-dashboard, path: ""}}
  minio_console: {description: MinIO's console Route., type: dict, suboptions: *route,
                  default: {namespace: minio, name: minio-console, path: ""}}
  minio_s3: {description: MinIO's S3 API Route., type: dict, suboptions: *route,
             default: {namespace: minio, name: minio-s3, path: ""}}
  workbench_namespaces:
    description:
      - Look for workbenches and data connections only in these namespaces. By default every
        namespace the identity may list Notebooks in, and every Data Science Project.
    type: list
    elements: str
  show_secrets:
    description: Also return the Argo CD admin password (RV(gitops_admin)).
    type: bool
    default: false
  gitops_admin_secret:
    description: Where the Argo CD admin password is.
    type: dict
    default: {namespace: openshift-gitops, name: openshift-gitops-cluster, key: admin.password}
    suboptions:
      namespace: {description: Namespace of the Secret., type: str}
      name: {description: Name of the Secret., type: str}
      key: {description: Key in the Secret's data., type: str}
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster]
notes:
  - Needs C(get) and C(list) on C(routes), C(list) on C(notebooks) and C(namespaces) (cluster-wide
    unless O(workbench_namespaces) is given), C(list) on C(secrets) in the projects, and C(get) on the admin Secret only with
    O(show_secrets=true). What the identity may not read is listed in RV(notes), not failed.
"""

EXAMPLES = r"""
- name: Look up where everything lives
  rhods.gitops.endpoints_info:
  register: endpoints

- name: Print the report
  ansible.builtin.debug:
    msg:
      - "Argo CD:   {{ endpoints.urls.gitops | default('not installed', true) }}"
      - "Dashboard: {{ endpoints.urls.dashboard | default('not installed', true) }}"

- name: Include the Argo CD admin password (keep the task itself quiet)
  rhods.gitops.endpoints_info:
    show_secrets: true
  register: endpoints
  no_log: true
"""

RETURN = r"""
urls:
  description: URL per component, C(null) when its Route does not exist.
  type: dict
  returned: always
  contains:
    gitops: {description: Argo CD., type: str}
    dashboard: {description: The RHODS/OpenShift AI dashboard., type: str}
    minio_console: {description: MinIO's console., type: str}
    minio_s3: {description: MinIO's S3 API., type: str}
  sample:
    gitops: https://openshift-gitops-server-openshift-gitops.apps.example.com
    dashboard: https://rhods-dashboard-redhat-ods-applications.apps.example.com
    minio_console: https://minio-console-minio.apps.example.com
    minio_s3: https://minio-s3-minio.apps.example.com
routes:
  description: Per component, the Route looked at and its URL.
  type: dict
  returned: always
workbenches:
  description: Every workbench found, with its URL (the notebook path included).
  type: list
  elements: dict
  returned: always
  contains:
    name: {description: Notebook name., type: str}
    namespace: {description: Its Data Science Project., type: str}
    display_name: {description: The name the dashboard shows., type: str}
    url: {description: "URL of the workbench, C(null) until its Route exists.", type: str}
    state: {description: "V(ready), V(starting) or V(stopped).", type: str}
projects:
  description: The Data Science Projects with their data connections (no keys).
  type: list
  elements: dict
  returned: always
  contains:
    name: {description: Namespace of the project., type: str}
    display_name: {description: The name the dashboard shows., type: str}
    connections:
      description: Its data connections.
      type: list
      elements: dict
      contains:
        name: {description: Secret name., type: str}
        namespace: {description: The project., type: str}
        display_name: {description: The name the dashboard shows., type: str}
        type: {description: "Connection type (V(s3)).", type: str}
        endpoint: {description: "C(AWS_S3_ENDPOINT).", type: str}
        bucket: {description: "C(AWS_S3_BUCKET).", type: str}
        region: {description: "C(AWS_DEFAULT_REGION).", type: str}
s3_endpoints:
  description: The distinct S3 endpoints the data connections use.
  type: list
  elements: dict
  returned: always
  contains:
    endpoint: {description: The endpoint., type: str}
    minio: {description: Whether it is the in-cluster MinIO (a Service of its namespace or its Route)., type: bool}
    connections: {description: How many data connections use it., type: int}
gitops_admin:
  description: Argo CD admin user name and password (C(null) when the Secret does not exist).
  type: dict
  returned: when O(show_secrets=true)
notes:
  description: What could not be read, and why.
  type: list
  elements: str
  returned: always
report:
  description: The report as lines, ready to print (no secret in it).
  type: list
  elements: str
  returned: always
  sample:
    - "OpenShift GitOps (Argo CD): https://openshift-gitops-server-openshift-gitops.apps.example.com"
    - "RHODS dashboard: https://rhods-dashboard-redhat-ods-applications.apps.example.com"
    - "Workbenches:"
    - "  notebook-demo/demo-lightgbm-workbench (demo-lightgbm-workbench, ready): https://..."
    - "Data Science Projects:"
    - "  notebook-demo (Notebook demo): 1 data connection"
    - "    aws-connection-minio (s3): http://minio.minio.svc:9000 bucket notebook-demo"
    - "MinIO console: https://minio-console-minio.apps.example.com"
    - "MinIO S3 API: https://minio-s3-minio.apps.example.com"
    - "S3 endpoints in use:"
    - "  http://minio.minio.svc:9000 (MinIO in the cluster, 1 connection)"
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.endpoints import Endpoints
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def _route(namespace, name):
    return {"type": "dict", "default": {"namespace": namespace, "name": name, "path": ""},
            "options": {"namespace": {"type": "str"}, "name": {"type": "str"},
                        "path": {"type": "str", "default": ""}}}


def argument_spec():
    return module_spec({
        "gitops": _route("openshift-gitops", "openshift-gitops-server"),
        "dashboard": _route("redhat-ods-applications", "rhods-dashboard"),
        "minio_console": _route("minio", "minio-console"),
        "minio_s3": _route("minio", "minio-s3"),
        "workbench_namespaces": {"type": "list", "elements": "str"},
        "show_secrets": {"type": "bool", "default": False},
        "gitops_admin_secret": {
            "type": "dict",
            "no_log": False,
            "default": {"namespace": "openshift-gitops", "name": "openshift-gitops-cluster",
                        "key": "admin.password"},
            "options": {"namespace": {"type": "str"}, "name": {"type": "str"},
                        "key": {"type": "str", "no_log": False}}},
    })


def handle(run):
    run.result.update(Endpoints(run.cluster).collect(run.params))


def main():
    run_module(argument_spec(), handle)


if __name__ == "__main__":
    main()
