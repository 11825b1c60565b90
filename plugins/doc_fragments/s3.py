# SPDX-License-Identifier: Apache-2.0
"""Connection options of the modules that talk to an S3 endpoint; their argument spec is ``args.S3`` in module_utils."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the endpoint's TLS certificate.
      - Set V(false) only for a test endpoint with a self-signed certificate; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description: A CA bundle (PEM) to trust for the endpoint, for example the cluster's ingress CA.
    type: path
  timeout:
    description: Seconds to wait for a connection and for each answer.
    type: int
    default: 10
requirements:
  - botocore
notes:
  - Requests are signed with AWS Signature Version 4 and use path-style addressing
    (C(https://host/bucket)), which MinIO, SeaweedFS, Ceph RGW and AWS all accept.
  - The keys are module options marked C(no_log), so Ansible masks them in every result and
    message; the task itself does not need C(no_log), which keeps its error messages readable.
  - Environment settings of botocore apply (for example C(HTTPS_PROXY), C(AWS_CA_BUNDLE)); shared
    AWS profiles are not used, the keys given here are.
"""
