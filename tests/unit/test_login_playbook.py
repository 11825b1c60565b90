"""playbooks/tasks/login.yml with a fake OpenShift OAuth server: creds.env becomes a token
only when no kubeconfig is given, and the token reaches module_defaults."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKEN = "sha256~fake-token-for-tests"


class FakeOAuthHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server API)
        base = "http://127.0.0.1:%d" % self.server.server_port
        if self.path == "/.well-known/oauth-authorization-server":
            body = json.dumps({"issuer": base, "authorization_endpoint": base + "/oauth/authorize",
                               "token_endpoint": base + "/oauth/token"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path.startswith("/oauth/authorize?") and \
                "client_id=openshift-challenging-client" in self.path and \
                self.headers.get("X-CSRF-Token") == "1" and \
                self.headers.get("Authorization") == "Basic a3ViZWFkbWluOnMzY3IzdA==":
            self.send_response(302)
            self.send_header("Location", base + "/oauth/token/implicit#access_token=" + TOKEN
                             + "&expires_in=86400&token_type=Bearer")
            self.end_headers()
        else:
            self.send_response(401)
            self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def oauth_server():
    server = HTTPServer(("127.0.0.1", 0), FakeOAuthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.import_tasks: {login}
    - name: save what the play would use
      ansible.builtin.copy:
        content: "{{{{ {{'needed': rhods_gitops_login_needed, 'auth': rhods_gitops_auth | default({{}})}} | to_json }}}}"
        dest: "{{{{ playbook_dir }}}}/auth.json"
"""


def run_login(tmp_path, oauth_url, password="s3cr3t", **env_extra):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (tmp_path / "creds.env").write_text(
        "CLUSTER={0}\nUSER=kubeadmin\nPASSWORD={1}\n".format(oauth_url, password))
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(login=os.path.join(REPO_ROOT, "playbooks", "tasks", "login.yml")))
    marker = os.sep + "ansible_collections" + os.sep
    collections = __import__("ansible_collections.rhods.gitops.plugins.modules.openshift_login",
                             fromlist=["x"]).__file__.rsplit(marker, 1)[0]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG"}
    env.update(HOME=str(home), PWD=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    env.update(env_extra)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                           str(play)], env=env, cwd=str(tmp_path), capture_output=True, text=True,
                          check=False)
    return proc


def test_creds_env_becomes_a_token_without_a_kubeconfig(tmp_path, oauth_server):
    proc = run_login(tmp_path, oauth_server)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    saved = json.loads((tmp_path / "auth.json").read_text())
    assert saved["needed"] is True
    assert saved["auth"]["host"] == oauth_server and saved["auth"]["api_key"] == TOKEN
    assert TOKEN not in proc.stdout and "s3cr3t" not in proc.stdout  # no_log


def test_a_kubeconfig_wins_over_creds_env(tmp_path, oauth_server):
    proc = run_login(tmp_path, oauth_server, KUBECONFIG=str(tmp_path / "kubeconfig"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads((tmp_path / "auth.json").read_text()) == {"needed": False, "auth": {}}


def test_a_wrong_password_fails_without_showing_it(tmp_path, oauth_server):
    proc = run_login(tmp_path, oauth_server, password="wrong-pass")
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "The OAuth server refused user kubeadmin (HTTP 401)" in output
    assert "wrong-pass" not in output
