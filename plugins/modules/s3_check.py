#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0

DOCUMENTATION = r"""
module: s3_check
short_description: Verify S3 data connections - keys accepted, bucket present - in one call
version_added: 0.1.0
description:
  - For each connection in O(connections), sends one S3 request (C(ListObjectsV2) on the bucket)
    and reports whether the endpoint answers, the keys are accepted and the bucket exists and can
    be read.
  - Verifies every connection, then fails once, naming each connection that failed, its
    endpoint, its bucket and what to fix (a wrong access key, a wrong secret key, a missing
    bucket, refused access, an untrusted certificate).
  - With C(verify=auto) a connection whose endpoint cannot be reached from where Ansible runs
    (for example an in-cluster C(*.svc) address) is skipped, not failed; C(verify=always) fails
    it; C(verify=never) skips it without a request. An endpoint found unreachable is not tried
    again for the other connections of the same call.
  - Reads only, so it runs in check mode too. Used by the P(rhods.gitops.dsp#role) role.
author:
  - rhods.gitops maintainers (@rhods-gitops)
options:
  connections:
    description: The connections to verify.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: How to call the connection in messages, for example
          V(notebook-demo/aws-connection-minio).
        type: str
        required: true
      field:
        description: Where the connection was defined, for messages, for example
          V(dsp_projects[0].connections[1]).
        type: str
      endpoint_url:
        description: The endpoint as reached from where Ansible runs.
        type: str
        required: true
      access_key:
        description: The access key ID.
        type: str
        required: true
      secret_key:
        description: The secret access key.
        type: str
        required: true
      region:
        description: The region to sign requests for.
        type: str
        default: us-east-1
      bucket:
        description: The bucket the connection points at.
        type: str
        required: true
      verify:
        description: V(auto) skips an unreachable endpoint, V(always) fails it, V(never) skips
          the connection.
        type: str
        choices: [auto, always, never]
        default: auto
      validate_certs:
        description: Verify the endpoint's TLS certificate.
        type: bool
        default: true
      ca_path:
        description: A CA bundle (PEM) to trust for this endpoint.
        type: path
  timeout:
    description: Seconds to wait for a connection and for each answer.
    type: int
    default: 10
  missing_in_check_mode:
    description:
      - What a missing bucket does in check mode. V(warn) reports it (result V(missing)) with a
        warning, because an earlier task of the same run (for example bucket creation in role
        P(rhods.gitops.minio#role)) only pretended to create it; V(fail) fails as in a real run.
    type: str
    choices: [warn, fail]
    default: warn
notes:
  - The access key is masked in the output like the secret key (MinIO's root user doubles as the
    access key and is generated like a password).
extends_documentation_fragment: [ansible.builtin.action_common_attributes]
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode verifies exactly as a real run.
  diff_mode:
    support: none
  platform:
    platforms: all
requirements:
  - botocore
"""

EXAMPLES = r"""
- name: Verify two data connections
  rhods.gitops.s3_check:
    connections:
      - name: notebook-demo/aws-connection-minio
        endpoint_url: "https://{{ minio_route_host }}"
        access_key: "{{ minio_root_user }}"
        secret_key: "{{ minio_root_password }}"
        region: us
        bucket: notebook-demo
      - name: notebook-demo/aws-connection-models
        endpoint_url: https://s3.eu-west-1.amazonaws.com
        region: eu-west-1
        access_key: "{{ vault_models_access_key }}"
        secret_key: "{{ vault_models_secret_key }}"
        bucket: team-models
        verify: always
"""

RETURN = r"""
connections:
  description: One entry per connection, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The connection's name.
      type: str
    endpoint_url:
      description: The endpoint that was tried.
      type: str
    bucket:
      description: The bucket.
      type: str
    result:
      description: V(verified), V(skipped), V(failed), or V(missing) (check mode, bucket not
        there yet).
      type: str
    reason:
      description: Why it was skipped or failed.
      type: str
verified:
  description: How many connections were verified.
  returned: always
  type: int
skipped:
  description: How many connections were skipped.
  returned: always
  type: int
failed_connections:
  description: How many connections failed.
  returned: always
  type: int
"""

from ansible_collections.rhods.gitops.plugins.module_utils import s3
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module

CONNECTION_SPEC = {
    "name": {"type": "str", "required": True},
    "field": {"type": "str"},
    "endpoint_url": {"type": "str", "required": True},
    "access_key": {"type": "str", "required": True, "no_log": True},
    "secret_key": {"type": "str", "required": True, "no_log": True},
    "region": {"type": "str", "default": "us-east-1"},
    "bucket": {"type": "str", "required": True},
    "verify": {"type": "str", "choices": ["auto", "always", "never"], "default": "auto"},
    "validate_certs": {"type": "bool", "default": True},
    "ca_path": {"type": "path"},
}


def argument_spec():
    return {
        "connections": {"type": "list", "elements": "dict", "required": True,
                        "options": CONNECTION_SPEC},
        "timeout": {"type": "int", "default": 10},
        "missing_in_check_mode": {"type": "str", "choices": ["warn", "fail"], "default": "warn"},
    }


def check_one(endpoints, conn):
    """The verdict for one connection: (result, reason)."""
    url = (conn["endpoint_url"] or "").rstrip("/")
    if conn["verify"] == "never":
        return "skipped", "verification is off (verify: never)"
    if not url.startswith(("http://", "https://")):
        return "failed", "endpoint {0!r} is not an http:// or https:// URL".format(url)
    if url in endpoints.unreachable:
        error = endpoints.unreachable[url]
    else:
        try:
            endpoint = endpoints.get(url, conn["access_key"], conn["secret_key"],
                                     region=conn["region"], validate_certs=conn["validate_certs"],
                                     ca_path=conn["ca_path"])
            state = endpoint.probe(conn["bucket"])
        except s3.S3Error as exc:
            error = exc
            if exc.kind == s3.UNREACHABLE:
                endpoints.unreachable[url] = exc
        else:
            if state == s3.MISSING:
                return s3.MISSING, ("bucket {0!r} does not exist at {1}. Create it (for MinIO: add "
                                    "it to minio_buckets), or fix the bucket name.".format(
                                        conn["bucket"], url))
            return "verified", "keys accepted, bucket {0!r} readable".format(conn["bucket"])
    if error.kind == s3.UNREACHABLE and conn["verify"] == "auto":
        return "skipped", ("{0} is not reachable from where Ansible runs, so it was not verified "
                           "(verify: auto)".format(url))
    return "failed", error.msg


def verdicts(run):
    """One result entry per connection; warnings for the skipped and (check mode) missing."""
    endpoints = s3.S3Clients(timeout=run.params["timeout"])
    results = []
    for conn in run.params["connections"]:
        result, reason = check_one(endpoints, conn)
        if result == s3.MISSING:
            if run.check_mode and run.params["missing_in_check_mode"] == "warn":
                run.warnings.append("Data connection {0}: {1} (check mode: a real run fails "
                                    "unless an earlier task creates it).".format(conn["name"],
                                                                                 reason))
            else:
                result = "failed"
        elif result == "skipped" and conn["verify"] != "never":
            run.warnings.append("Data connection {0} was not verified: {1}.".format(
                conn["name"], reason))
        results.append({"name": conn["name"], "field": conn.get("field"),
                        "endpoint_url": conn["endpoint_url"], "bucket": conn["bucket"],
                        "result": result, "reason": reason})
    return results


def handle(run):
    results = verdicts(run)
    run.result["connections"] = results
    run.result.update({key: sum(1 for r in results if r["result"] == value)
                       for key, value in (("verified", "verified"), ("skipped", "skipped"),
                                          ("failed_connections", "failed"))})
    failed = [r for r in results if r["result"] == "failed"]
    if failed:
        lines = ["Data connection {0}{1}: {2}".format(
            r["name"], " ({0})".format(r["field"]) if r.get("field") else "", r["reason"])
            for r in failed]
        raise GitopsError("{0} of {1} data connection(s) failed verification: {2}".format(
            len(failed), len(results), " | ".join(lines)))


def main():
    run_module(argument_spec(), handle, cluster=False,
               libraries=[("botocore", s3.BOTOCORE_IMPORT_ERROR)])


if __name__ == "__main__":
    main()
