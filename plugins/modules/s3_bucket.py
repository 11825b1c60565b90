#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: s3_bucket
short_description: Ensure S3 buckets exist, proving that the credentials work
version_added: 0.1.0
description:
  - Checks each bucket in O(buckets) at one S3 endpoint with one request (C(ListObjectsV2)),
    which proves that the endpoint answers, that the keys are accepted and that the bucket can be
    read; creates the buckets that are missing when O(create=true).
  - Idempotent; reports changed only when a bucket was (or, in check mode, would be) created.
  - A wrong access key, a wrong secret key, refused access or an untrusted certificate fail the
    task with a message that names the endpoint, the bucket and what to fix.
  - Used by the P(rhods.gitops.minio#role) role to create the buckets the Data Science Projects
    need, through MinIO's S3 route, from where Ansible runs.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  endpoint_url:
    description:
      - The S3 endpoint as reached from where Ansible runs, for example
        V(https://minio-s3-minio.apps.example.com).
    type: str
    required: true
  access_key:
    description: The access key ID (for MinIO, the root user).
    type: str
    required: true
    aliases: [aws_access_key_id]
  secret_key:
    description: The secret access key (for MinIO, the root password).
    type: str
    required: true
    aliases: [aws_secret_access_key]
  region:
    description: The region to sign requests for, and to create buckets in.
    type: str
    default: us-east-1
  buckets:
    description: The bucket names. Each must be a valid S3 bucket name; the task fails before any
      request when one is not.
    type: list
    elements: str
    required: true
  create:
    description: Create missing buckets. With V(false), a missing bucket fails the task.
    type: bool
    default: true
  unreachable:
    description:
      - What to do when the endpoint cannot be reached. V(fail) fails the task; V(skip) returns
        RV(reachable=false) with a warning.
      - In check mode an unreachable endpoint is always skipped with a warning (the server may
        not exist yet).
    type: str
    choices: [fail, skip]
    default: fail
  label:
    description: What the endpoint is, for messages, for example V(MinIO).
    type: str
    default: S3
extends_documentation_fragment: [rhods.gitops.s3, ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: Reads only; reports which buckets would be created.
  diff_mode:
    support: none
  platform:
    platforms: all
"""

EXAMPLES = r"""
- name: Create the bucket of the demo project in MinIO
  rhods.gitops.s3_bucket:
    endpoint_url: "https://{{ minio_route_host }}"
    access_key: "{{ minio_root_user }}"
    secret_key: "{{ minio_root_password }}"
    buckets: [notebook-demo]
    label: MinIO

- name: Only prove that an external bucket exists and the keys work
  rhods.gitops.s3_bucket:
    endpoint_url: https://s3.eu-west-1.amazonaws.com
    region: eu-west-1
    access_key: "{{ vault_s3_access_key }}"
    secret_key: "{{ vault_s3_secret_key }}"
    buckets: [team-models]
    create: false
"""

RETURN = r"""
endpoint_url:
  description: The endpoint that was used.
  returned: always
  type: str
reachable:
  description: Whether the endpoint answered.
  returned: always
  type: bool
buckets:
  description: One entry per bucket.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The bucket name.
      type: str
    state:
      description: V(exists), V(created), V(would_create) (check mode) or V(unknown) (endpoint
        not reached).
      type: str
"""

from ansible_collections.rhods.gitops.plugins.module_utils import s3
from ansible_collections.rhods.gitops.plugins.module_utils.args import S3, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.naming import bucket_name_problems
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "endpoint_url": {"type": "str", "required": True},
        "access_key": {"type": "str", "required": True, "no_log": True,
                       "aliases": ["aws_access_key_id"]},
        "secret_key": {"type": "str", "required": True, "no_log": True,
                       "aliases": ["aws_secret_access_key"]},
        "region": {"type": "str", "default": "us-east-1"},
        "buckets": {"type": "list", "elements": "str", "required": True},
        "create": {"type": "bool", "default": True},
        "unreachable": {"type": "str", "choices": ["fail", "skip"], "default": "fail"},
        "label": {"type": "str", "default": "S3"},
    }, S3, cluster=False)


def ensure_buckets(run, endpoint):
    """Probe (and create) each bucket; return (changed, per-bucket results)."""
    params = run.params
    changed = False
    results = []
    for bucket in params["buckets"]:
        state = endpoint.probe(bucket)
        if state == s3.MISSING:
            if not params["create"]:
                raise s3.S3Error(
                    "{0} bucket {1!r} does not exist at {2}. Create it, or let the task create "
                    "it (create: true).".format(params["label"], bucket, endpoint.endpoint_url),
                    s3.MISSING)
            changed = True
            state = "would_create" if run.check_mode else endpoint.create(bucket)
        results.append({"name": bucket, "state": state})
    return changed, results


def check_params(params):
    """Fail before any request on an endpoint URL or a bucket name S3 cannot take."""
    url = params["endpoint_url"] or ""
    if not url.startswith(("http://", "https://")):
        raise GitopsError("endpoint_url {0!r} must start with http:// or https://.".format(url))
    problems = []
    for index, bucket in enumerate(params["buckets"]):
        problems.extend(bucket_name_problems(bucket, "buckets[{0}]".format(index)))
    if problems:
        raise GitopsError(" ".join(problems), problems=problems)


def handle(run):
    params = run.params
    check_params(params)
    run.result.update(endpoint_url=params["endpoint_url"], reachable=True, buckets=[])
    try:
        endpoint = s3.S3Endpoint(params["endpoint_url"], params["access_key"],
                                 params["secret_key"], region=params["region"],
                                 validate_certs=params["validate_certs"],
                                 ca_path=params["ca_path"], timeout=params["timeout"])
        run.changed, run.result["buckets"] = ensure_buckets(run, endpoint)
    except s3.S3Error as exc:
        if exc.kind == s3.UNREACHABLE and (params["unreachable"] == "skip" or run.check_mode):
            run.warnings.append("{0}: {1} Buckets were not checked.".format(
                params["label"], exc.msg))
            run.result.update(reachable=False, buckets=[
                {"name": b, "state": "unknown"} for b in params["buckets"]])
            return
        raise GitopsError("{0}: {1}".format(params["label"], exc.msg), kind=exc.kind,
                          code=exc.code) from None


def main():
    run_module(argument_spec(), handle, cluster=False,
               libraries=[("botocore", s3.BOTOCORE_IMPORT_ERROR)])


if __name__ == "__main__":
    main()
