"""Run the operator simulator: ``python -m simulator --kubeconfig K --state-dir D``.

Run with cwd (or PYTHONPATH) ``tests/cluster``.  Starts every controller in
its own daemon thread (each restarts after a crash), logs to stderr with
timestamps and exits promptly on SIGTERM / SIGINT.  Test infrastructure only.
"""

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time

from simulator import core

CONTROLLERS = ("installed_operators", "gitops_operator", "rhods_operator", "openshift", "notebooks")
# Written separately; started when present.
OPTIONAL = ("webhook",)

log = logging.getLogger("simulator")


def _forever(name, fn, ctx):
    """Run ``fn(ctx)``; if it ever returns or raises, start it again."""
    while True:
        try:
            fn(ctx)
            log.warning("%s: run() returned; restarting", name)
        except Exception:  # pylint: disable=broad-except
            log.exception("%s: crashed; restarting", name)
        time.sleep(1.0)


def _watch_crds(ctx):
    """Wake the watches that wait for a resource type whenever a CRD is Established."""
    def on_crd(etype, crd):
        if etype == "DELETED" or core.is_established(crd):
            ctx.crds_changed()
    core.watch_forever(ctx, ctx.kube.lister("apiextensions.k8s.io/v1",
                                            "customresourcedefinitions"),
                       on_crd, "customresourcedefinitions")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, help="admin kubeconfig")
    parser.add_argument("--state-dir", required=True, help="the local cluster's state directory")
    parser.add_argument("--log-level", default=os.environ.get("SIMULATOR_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)

    logging.basicConfig(stream=sys.stderr, level=getattr(logging, args.log_level.upper(), 20),
                        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s: %(message)s",
                        datefmt="%Y-%m-%dT%H:%M:%S")
    for noisy in ("urllib3", "kubernetes"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("signal %d: exiting", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ctx = core.Context(args.kubeconfig, args.state_dir)
    core.spawn(_forever, "crds", _watch_crds, ctx, name="crds")
    for name in CONTROLLERS:
        module = importlib.import_module("simulator.controllers." + name)
        core.spawn(_forever, name, module.run, ctx, name=name)
    for name in OPTIONAL:
        try:
            module = importlib.import_module("simulator." + name)
        except ImportError as exc:
            if getattr(exc, "name", None) != "simulator." + name:
                log.exception("%s: import failed", name)
            else:
                log.info("%s: not present, not started", name)
            continue
        core.spawn(_forever, name, module.run, ctx, name=name)
    log.info("simulator running (pid %d): %s", os.getpid(),
             ", ".join(CONTROLLERS + tuple(n for n in OPTIONAL
                                          if "simulator." + n in sys.modules)))
    while not stop.wait(3600):
        pass
    logging.shutdown()
    # Daemon threads may sit in blocking reads: leave without waiting for them.
    os._exit(0)  # pylint: disable=protected-access


if __name__ == "__main__":
    main()
