# SPDX-License-Identifier: Apache-2.0
"""Filters for the roles' input checks and rendering (pure Python, no cluster access).

- ``project_name_problems(name, field)``: a Data Science Project name the
  dashboard accepts (DNS-1123 label, not ``openshift*``/``kube*``).
- ``bucket_name_problems(name, field)``: an S3 bucket name.
- ``dns_label_problems(name, field, what)``: a DNS-1123 label.
- ``dsp_normalize(dsp_input, minio)``: ``dsp_projects`` with the defaults that depend on
  other fields and on MinIO filled in (``dsp_input``: the fact of ``rhods.gitops.role_input``).
- ``k8s_identities(manifests)``: apiVersion, kind, namespace and name of each
  manifest (what ``rhods.gitops.prune`` keeps), nothing else.
- ``dsp_verification_list(normalized)``: the connections as ``rhods.gitops.s3_check``
  takes them; ``dsp_uses_minio(projects)``: whether any connection is of type minio.
- ``workbench_connection_problems(projects, workbenches)``: workbenches in a Data Science
  Project that name a data connection the project does not declare (site.yml refuses them).
- ``dashboard_username(name)``: a user name escaped as the dashboard writes it into
  ``opendatahub.io/user`` (``kube:admin`` -> ``kube-3aadmin``).

Each ``*_problems`` filter returns a list of messages that name the field and
say what to do; an empty list means the input is fine.
"""

from ansible_collections.rhods.gitops.plugins.module_utils import dsp, naming


class FilterModule:
    """rhods.gitops naming and Data Science Project filters."""

    def filters(self):
        return {
            "project_name_problems": naming.project_name_problems,
            "bucket_name_problems": naming.bucket_name_problems,
            "dns_label_problems": naming.dns_label_problems,
            "dsp_normalize": dsp.normalize,
            "k8s_identities": dsp.identities,
            "dsp_verification_list": dsp.verification_list,
            "dsp_uses_minio": dsp.uses_minio,
            "workbench_connection_problems": dsp.workbench_connection_problems,
            "dashboard_username": naming.dashboard_username,
        }
