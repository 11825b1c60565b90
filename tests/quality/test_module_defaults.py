"""`module_defaults: {group/rhods.gitops.rhods: {host, api_key, ca_cert}}` authenticates
this collection's modules and kubernetes.core's at once (meta/runtime.yml: the action group
extends kubernetes.core.k8s): tests/quality/playbooks/module_defaults.yml applies and waits
with ours and reads with kubernetes.core.k8s_info, with no kubeconfig anywhere (no
KUBECONFIG, no ~/.kube/config, no K8S_AUTH_*), as the automation identity; the token shows
nowhere in the output, even at -vvv. rhods.gitops.deliver, an action that calls the modules,
passes the authentication on and prints no Secret value at -vvv."""

import base64
import json
import os
import re
import sys
import uuid

from .tools import AUTOMATION_USER, REPO_ROOT, clean_env, kubeconfig_credential, run, \
    source_collection_path, tool

sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))

from integration.audit import AuditWindow  # noqa: E402  pylint: disable=wrong-import-position

PLAYBOOK = os.path.join(REPO_ROOT, "tests", "quality", "playbooks", "module_defaults.yml")
SECRET_VALUE = "probe-secret-" + uuid.uuid4().hex


def test_module_defaults_authenticate_both_collections(cluster, tmp_path):
    namespace = "rhods-gitops-md-" + uuid.uuid4().hex[:6]
    cluster.kubectl("create", "namespace", namespace)
    try:
        credential = kubeconfig_credential(cluster.automation_kubeconfig, str(tmp_path))
        extra = tmp_path / "extra-vars.json"
        extra.write_text(json.dumps({
            "cluster_host": credential["host"], "cluster_token": credential["api_key"],
            "cluster_ca": credential["ca_cert"], "probe_namespace": namespace,
            "probe_name": "module-defaults-probe", "probe_secret": SECRET_VALUE}))
        os.chmod(str(extra), 0o600)
        home = tmp_path / "home"
        home.mkdir()
        env = clean_env(ANSIBLE_COLLECTIONS_PATH=source_collection_path(),
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable, HOME=str(home),
                        ANSIBLE_LOCALHOST_WARNING="false",
                        ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
        window = AuditWindow(cluster.audit_log) if cluster.audit_log else None
        res = run([tool("ansible-playbook"), "-i", "localhost,", "-e", "@" + str(extra),
                   "-vvv", PLAYBOOK], cwd=str(tmp_path), env=env, timeout=600)
        assert res.rc == 0, str(res)
        assert re.search(r"ok=5\s+changed=2\s+unreachable=0\s+failed=0", res.output), str(res)
        assert credential["api_key"] not in res.output, "the token was printed at -vvv"
        assert SECRET_VALUE not in res.output, "a delivered Secret's value was printed at -vvv"
        delivered = json.loads(cluster.kubectl("get", "secret", "module-defaults-probe-delivered",
                                               "-n", namespace, "-o", "json").stdout)
        assert delivered["data"]["token"] == base64.b64encode(SECRET_VALUE.encode()).decode()
        assert not (home / ".kube").exists()
        if window is not None:
            events = window.close().events(AUTOMATION_USER)
            touched = {(e.get("objectRef") or {}).get("name") for e in events}
            assert "module-defaults-probe" in touched, "requests did not come as %s" % (
                AUTOMATION_USER)
    finally:
        cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
