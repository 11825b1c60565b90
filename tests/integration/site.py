"""Running the whole collection (site.yml, credentials.yml, teardown.yml) in tests.

On the local control plane no container runs (kwok's pods only report a status), so
no MinIO pod serves S3: the S3 server
of the tests (SeaweedFS, fixture ``s3server``) plays MinIO's S3 API, with the
root credentials the minio role generates mirrored into it (``SecretMirror``).
"""

import json

from .ansible import REPO_ROOT, run_playbook

APPS = "redhat-ods-applications"
SITE = REPO_ROOT + "/site.yml"
CREDENTIALS = REPO_ROOT + "/playbooks/credentials.yml"
TEARDOWN = REPO_ROOT + "/playbooks/teardown.yml"


def site_vars(s3server, **extra):
    out = {"minio_s3_endpoint": s3server.endpoint,
           "dsp_minio_verify_endpoint": s3server.endpoint}
    out.update(extra)
    return out


def play(cluster, playbook, extra_vars=None, **kwargs):
    return run_playbook(playbook, extra_vars or {}, kubeconfig=cluster.automation_kubeconfig,
                        kube_bin=cluster.kube_bin, timeout=1800, **kwargs)


def get(cluster, kind, name, namespace=None):
    args = ["get", kind, name, "-o", "json"] + (["-n", namespace] if namespace else [])
    res = cluster.kubectl(*args, check=False)
    if res.returncode != 0:
        if "NotFound" in res.stderr or "not found" in res.stderr:
            return None
        raise AssertionError(res.stderr)
    return json.loads(res.stdout)


def names(cluster, kind, namespace=None, selector=None):
    args = ["get", kind, "-o", "json"] + (["-n", namespace] if namespace else ["-A"])
    if selector:
        args += ["-l", selector]
    res = cluster.kubectl(*args, check=False)
    if res.returncode != 0:
        return []
    return sorted(i["metadata"]["name"] for i in json.loads(res.stdout)["items"])


def changed_tasks(result):
    """The tasks that reported changed (or failed), for assertion messages."""
    out, task = [], None
    for line in result.stdout.splitlines():
        if line.startswith("TASK ["):
            task = line.split("]")[0][6:]
        elif line.startswith(("changed:", "fatal:")):
            out.append("%s: %s" % (task, line[:400]))
    return out


def report(result):
    """The lines of the credentials report printed by credentials.yml."""
    text = result.stdout
    start = text.rfind('"msg": [')
    if start < 0:
        return []
    end = text.index("]", start)
    return json.loads(text[start + len('"msg": '):end + 1])
