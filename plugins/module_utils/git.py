# SPDX-License-Identifier: Apache-2.0
"""A git working copy of the repository Argo CD syncs from: clone or fast-forward,
commit one folder, push.

Runs the ``git`` command line in a subprocess with a fixed environment:

- no prompts (``GIT_TERMINAL_PROMPT=0``), no credential helper (``-c
  credential.helper=``), so a password is never stored on disk by a helper;
- a username and password (a token) reach git through ``GIT_ASKPASS``: a small
  script that prints two environment variables of the git process; neither the
  script, the URL nor the git configuration contains them;
- author and committer from the options (``GIT_AUTHOR_*``/``GIT_COMMITTER_*``),
  so commits do not depend on the user's git configuration.

Errors name the command and repeat git's message with credentials removed.
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile
from urllib.parse import unquote, urlsplit

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError

ASKPASS = """#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' "$RHODS_GITOPS_GIT_USERNAME" ;;
  *) printf '%s\\n' "$RHODS_GITOPS_GIT_PASSWORD" ;;
esac
"""
URL_CREDENTIALS = re.compile(r"(://)[^/@\s]+@")
TIMEOUT = 300


class GitError(GitopsError):
    """A git command failed."""


def local_path(url):
    """The filesystem path of a local repository URL (``file://`` or absolute path), or None."""
    if url.startswith("file://"):
        return unquote(urlsplit(url).path)
    if url.startswith("/"):
        return url
    return None


def scrub(text, secrets=()):
    """``text`` without credentials: ``user:password@`` in URLs and the given secrets."""
    text = URL_CREDENTIALS.sub(r"\1<credentials>@", text or "")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


class Git:
    """Runs git commands for one working copy (``dest``)."""

    def __init__(self, dest, username=None, password=None, author_name="rhods.gitops",
                 author_email="rhods.gitops@localhost", binary=None):
        self.dest = dest
        self.binary = binary or shutil.which("git")
        if not self.binary:
            raise GitError("The git command line is required to publish the GitOps tree: "
                           "install git on the host that runs the playbook.")
        self.secrets = [s for s in (password,) if s]
        self.env = dict(os.environ)
        self.env.update({
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
        })
        for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
            self.env.pop(key, None)
        self._askpass_dir = None
        if username or password:
            self._askpass_dir = tempfile.mkdtemp(prefix="rhods-gitops-askpass-")
            script = os.path.join(self._askpass_dir, "askpass.sh")
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(ASKPASS)
            os.chmod(script, stat.S_IRWXU)
            self.env.update({"GIT_ASKPASS": script,
                             "RHODS_GITOPS_GIT_USERNAME": username or "",
                             "RHODS_GITOPS_GIT_PASSWORD": password or ""})

    def close(self):
        if self._askpass_dir:
            shutil.rmtree(self._askpass_dir, ignore_errors=True)
            self._askpass_dir = None

    def run(self, *args, cwd=None, check=True):
        """Run ``git <args>`` (in ``dest`` unless ``cwd``); return (rc, stdout, stderr)."""
        cmd = [self.binary, "-c", "credential.helper=", "-c", "core.quotepath=off", *args]
        try:
            proc = subprocess.run(cmd, cwd=cwd or self.dest, env=self.env, capture_output=True,
                                  text=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise GitError("git {0} did not finish within {1}s (is the remote reachable?)".format(
                args[0], TIMEOUT)) from None
        if check and proc.returncode != 0:
            message = scrub((proc.stderr or proc.stdout).strip(), self.secrets)
            raise GitError("git {0} failed in {1}: {2}".format(
                scrub(" ".join(args), self.secrets), cwd or self.dest, message),
                git_command=scrub(" ".join(args), self.secrets))
        return proc.returncode, proc.stdout.strip(), proc.stderr.strip()

    def out(self, *args, cwd=None):
        return self.run(*args, cwd=cwd)[1]

    def ok(self, *args):
        return self.run(*args, check=False)[0] == 0

    def rev(self, ref):
        """The sha of ``ref``, or None."""
        rc, out, _err = self.run("rev-parse", "--verify", "--quiet", ref + "^{commit}",
                                 check=False)
        return out if rc == 0 and out else None


class Worktree:
    """The working copy ``dest`` of ``url``, on ``branch``."""

    def __init__(self, git, url, branch, create_local_remote=True):
        self.git = git
        self.dest = git.dest
        self.url = url
        self.branch = branch
        self.create_local_remote = create_local_remote
        self.actions = []

    # preparing

    def exists(self):
        return os.path.isdir(os.path.join(self.dest, ".git"))

    def prepare(self, check_mode=False):
        """Clone ``url`` into ``dest`` or bring ``dest`` up to date (fast-forward only)."""
        if not self.exists():
            if os.path.isdir(self.dest) and os.listdir(self.dest):
                raise GitError("{0} exists, is not empty and is not a git working copy: choose "
                               "an empty or new directory for the rendered tree.".format(
                                   self.dest))
            if check_mode:
                return
            self._ensure_local_remote()
            parent = os.path.dirname(os.path.abspath(self.dest))
            os.makedirs(parent, exist_ok=True)
            self.git.run("clone", "--quiet", self.url, self.dest, cwd=parent)
            self.actions.append("cloned")
        else:
            origin = self.git.run("config", "--get", "remote.origin.url", check=False)[1]
            if origin != self.url:
                raise GitError("{0} is a working copy of {1}, not of {2}: give another directory "
                               "(rendered tree) or the same repository.".format(
                                   self.dest, scrub(origin) or "no remote", scrub(self.url)))
            if check_mode:
                return
            self._ensure_local_remote()  # a local remote removed since: start it again
        self.git.run("fetch", "--quiet", "--prune", "origin")
        remote = self.git.rev("refs/remotes/origin/" + self.branch)
        local = self.git.rev("refs/heads/" + self.branch)
        current = self.git.run("symbolic-ref", "--quiet", "HEAD", check=False)[1]
        if current != "refs/heads/" + self.branch:
            if local:
                self.git.run("checkout", "--quiet", self.branch)
            elif remote:
                self.git.run("checkout", "--quiet", "-B", self.branch, "refs/remotes/origin/" +
                             self.branch)
            elif self.git.rev("HEAD"):
                self.git.run("checkout", "--quiet", "-b", self.branch)
            else:  # empty repository: the branch is born with the first commit
                self.git.run("symbolic-ref", "HEAD", "refs/heads/" + self.branch)
            local = self.git.rev("refs/heads/" + self.branch)
        if remote and local and remote != local:
            if self.git.ok("merge-base", "--is-ancestor", local, remote):
                self.git.run("merge", "--quiet", "--ff-only", remote)
                self.actions.append("fast-forwarded")
            elif not self.git.ok("merge-base", "--is-ancestor", remote, local):
                raise GitError(
                    "Branch {0} of {1} has diverged from origin/{0} ({2}): someone else "
                    "pushed while this copy has commits of its own. Reconcile them (git pull "
                    "--rebase, then push) or remove the directory to start from the "
                    "remote.".format(self.branch, self.dest, scrub(self.url)))
        elif remote and not local:
            self.git.run("checkout", "--quiet", "-B", self.branch, remote)

    def _ensure_local_remote(self):
        path = local_path(self.url)
        if path is None or os.path.exists(path) or not self.create_local_remote:
            return
        os.makedirs(path)
        self.git.run("init", "--quiet", "--bare", "--initial-branch=" + self.branch, path,
                     cwd=path)
        self.actions.append("created the bare repository " + path)

    # publishing

    def commit(self, pathspec, message):
        """Commit the changes below ``pathspec`` (relative to dest); return the new sha or None."""
        self.git.run("add", "--all", "--", pathspec)
        if self.git.ok("diff", "--cached", "--quiet", "--", pathspec):
            return None
        self.git.run("commit", "--quiet", "--no-verify", "-m", message, "--", pathspec)
        self.actions.append("committed")
        return self.git.rev("HEAD")

    def ahead(self):
        """Whether the local branch has commits the remote branch lacks."""
        head = self.git.rev("HEAD")
        if not head:
            return False
        remote = self.git.rev("refs/remotes/origin/" + self.branch)
        return remote != head and (not remote or not self.git.ok(
            "merge-base", "--is-ancestor", head, remote))

    def push(self):
        self.git.run("push", "--quiet", "origin", "HEAD:refs/heads/" + self.branch)
        self.git.run("fetch", "--quiet", "origin")
        self.actions.append("pushed")

    def revision(self):
        return self.git.rev("HEAD")
