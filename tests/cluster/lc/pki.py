"""Certificates, keys and tokens of the local control plane (openssl CLI, stdlib)."""

import os
import secrets
import subprocess

IDENTITIES = {
    # name: (user, groups) -- tokens are random, created once per state dir.
    "admin": ("localcluster-admin", ["system:masters"]),
    "automation": ("rhods-gitops-automation", ["rhods-gitops:automation"]),
    "scientist": ("data-scientist", ["data-scientists"]),
    "outsider": ("outsider", []),
    # OLM (lc/olm_run.py); cluster-admin like its service account on OpenShift.
    "olm": ("localcluster-olm", ["system:masters"]),
}


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _cert(pki, name, subject, sans):
    key, csr, crt = (os.path.join(pki, name + ext) for ext in (".key", ".csr", ".crt"))
    if os.path.exists(crt):
        return
    ext = os.path.join(pki, name + ".ext")
    with open(ext, "w", encoding="utf-8") as handle:
        handle.write("subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n"
                     "keyUsage=digitalSignature,keyEncipherment\n" % ",".join(sans))
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
             "-subj", subject)
    _openssl("x509", "-req", "-in", csr, "-CA", os.path.join(pki, "ca.crt"),
             "-CAkey", os.path.join(pki, "ca.key"), "-CAcreateserial", "-out", crt,
             "-days", "3650", "-sha256", "-extfile", ext)
    os.chmod(key, 0o600)


def ensure_pki(state):
    """Create the CA, the apiserver and serving certificates and the SA key pair once."""
    pki = os.path.join(state, "pki")
    os.makedirs(pki, mode=0o700, exist_ok=True)
    if not os.path.exists(os.path.join(pki, "ca.crt")):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                 "-keyout", os.path.join(pki, "ca.key"), "-out", os.path.join(pki, "ca.crt"),
                 "-days", "3650", "-subj", "/CN=localcluster-ca",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature")
        os.chmod(os.path.join(pki, "ca.key"), 0o600)
    _cert(pki, "apiserver", "/CN=kube-apiserver",
          ["IP:127.0.0.1", "IP:10.0.0.1", "DNS:localhost", "DNS:kubernetes",
           "DNS:kubernetes.default", "DNS:kubernetes.default.svc",
           "DNS:kubernetes.default.svc.cluster.local"])
    # Used by the simulator's front proxy and its admission webhook.
    _cert(pki, "serving", "/CN=localcluster-simulator", ["IP:127.0.0.1", "DNS:localhost"])
    if not os.path.exists(os.path.join(pki, "sa.key")):
        _openssl("genrsa", "-out", os.path.join(pki, "sa.key"), "2048")
        _openssl("rsa", "-in", os.path.join(pki, "sa.key"), "-pubout",
                 "-out", os.path.join(pki, "sa.pub"))
        os.chmod(os.path.join(pki, "sa.key"), 0o600)
    return pki


def ensure_tokens(state):
    """Return {identity: token}; the static token file is written once."""
    path = os.path.join(state, "pki", "tokens.csv")
    tokens = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                token, user = line.split(",")[:2]
                for name, (ident_user, _groups) in IDENTITIES.items():
                    if ident_user == user:
                        tokens[name] = token
    if set(tokens) != set(IDENTITIES):
        tokens = {name: secrets.token_hex(24) for name in IDENTITIES}
        lines = []
        for name, (user, groups) in IDENTITIES.items():
            line = "%s,%s,%s" % (tokens[name], user, user)
            if groups:
                line += ',"%s"' % ",".join(groups)
            lines.append(line)
        _write_private(path, "\n".join(lines) + "\n")
    return tokens


def write_kubeconfig(path, server, ca_file, token, user):
    text = """apiVersion: v1
kind: Config
clusters:
- name: localcluster
  cluster:
    server: {server}
    certificate-authority: {ca}
users:
- name: {user}
  user:
    token: {token}
contexts:
- name: {user}@localcluster
  context:
    cluster: localcluster
    user: {user}
    namespace: default
current-context: {user}@localcluster
""".format(server=server, ca=ca_file, token=token, user=user)
    _write_private(path, text)
