#!/usr/bin/env python3
"""The S3 server of a molecule scenario on the local control plane (test infrastructure).

On the local control plane no container runs (kwok plays the kubelet: MinIO's pod becomes
Ready, but nothing listens), so the MinIO Deployment the minio role creates never serves S3. This plays it, as the pytest suites do (tests/integration/s3server.py): a real S3
server (SeaweedFS) on 127.0.0.1 whose identities follow the Secret minio/minio-root-user of
the cluster, so the roles create and verify buckets for real.

  s3_stand_in.py start --dir DIR --kubeconfig ADMIN_KUBECONFIG
      start in the background; print {"endpoint": ...} once it answers
  s3_stand_in.py stop --dir DIR
      stop it (no-op when it is not running)
"""

import argparse
import json
import os
import signal
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
START_TIMEOUT = 120


def _paths(directory):
    return {name: os.path.join(directory, name) for name in ("pid", "endpoint", "s3.log")}


def _serve(directory, kubeconfig):
    sys.path.insert(0, os.path.join(REPO_ROOT, "tests"))
    from integration.s3server import S3Server, SecretMirror  # pylint: disable=import-outside-toplevel

    paths = _paths(directory)
    stop = {"now": False}

    def _on_term(_signum, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)
    server = S3Server(os.path.join(directory, "server"))
    os.makedirs(server.workdir, exist_ok=True)
    server.start()
    mirror = SecretMirror(server, kubeconfig).start()
    with open(paths["endpoint"] + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(server.endpoint)
    os.replace(paths["endpoint"] + ".tmp", paths["endpoint"])
    try:
        while not stop["now"]:
            time.sleep(0.5)
    finally:
        mirror.stop()
        server.stop()
        for name in ("endpoint", "pid"):
            if os.path.exists(paths[name]):
                os.unlink(paths[name])


def start(directory, kubeconfig):
    os.makedirs(directory, exist_ok=True)
    paths = _paths(directory)
    if _running(paths):
        with open(paths["endpoint"], encoding="utf-8") as handle:
            print(json.dumps({"endpoint": handle.read().strip(), "changed": False}))
        return 0
    for name in ("endpoint", "pid"):
        if os.path.exists(paths[name]):
            os.unlink(paths[name])
    pid = os.fork()
    if pid == 0:  # the daemon: its own session, no terminal, output to s3.log
        os.setsid()
        if os.fork():
            os._exit(0)  # pylint: disable=protected-access
        log = os.open(paths["s3.log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        # written whole or not at all: the parent reads an empty pid file as "died"
        with open(paths["pid"] + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        os.replace(paths["pid"] + ".tmp", paths["pid"])
        code = 0
        try:
            _serve(directory, kubeconfig)
        except BaseException as exc:  # pylint: disable=broad-except
            print("s3_stand_in: %r" % exc, flush=True)
            code = 1
        os._exit(code)  # pylint: disable=protected-access
    os.waitpid(pid, 0)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if os.path.exists(paths["endpoint"]):
            with open(paths["endpoint"], encoding="utf-8") as handle:
                print(json.dumps({"endpoint": handle.read().strip(), "changed": True}))
            return 0
        if os.path.exists(paths["pid"]) and not _running(paths):
            break
        time.sleep(0.2)
    with open(paths["s3.log"], encoding="utf-8", errors="replace") as handle:
        sys.stderr.write(handle.read()[-4000:])
    print("s3_stand_in: the S3 server did not start (log: %s)" % paths["s3.log"], file=sys.stderr)
    return 1


def _running(paths):
    try:
        with open(paths["pid"], encoding="utf-8") as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            if b"s3_stand_in" not in handle.read():
                return False
        return True
    except (OSError, ValueError):
        return False


def stop(directory):
    paths = _paths(directory)
    if not _running(paths):
        print(json.dumps({"changed": False}))
        return 0
    with open(paths["pid"], encoding="utf-8") as handle:
        pid = int(handle.read().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _running(paths):
        time.sleep(0.2)
    if _running(paths):
        os.kill(pid, signal.SIGKILL)
    print(json.dumps({"changed": True}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()
    if args.action == "start":
        if not args.kubeconfig:
            parser.error("start needs --kubeconfig (cluster-admin: it watches a Secret)")
        return start(os.path.abspath(args.dir), args.kubeconfig)
    return stop(os.path.abspath(args.dir))


if __name__ == "__main__":
    sys.exit(main())
