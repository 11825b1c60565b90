"""Run ansible-playbook and SIGKILL it at a point seen in its output or in the cluster.

``KillRun(command, env, cwd, point, dynamic_client).run()`` starts the playbook in a process
group of its own, reads its output line by line and, when the point has an object to watch,
watches that kind in the cluster (a list, then a watch from its resourceVersion). As soon as the
point holds (its TASK header was printed, if it names one, and its predicate is true of the
watched objects, if it has one), ``kill_tree`` sends SIGKILL to ansible-playbook's process group
and to the group of each of its descendants: the workers (each in a session of its own) and the
module processes they started. ``run()`` returns a ``Killed`` record: whether the point fired,
the return code, the output, the last TASK header before the kill, the groups killed and whether
every process of them is gone.

Test infrastructure for tests/integration/test_kill_points.py.
"""

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError


@dataclass
class Point:
    """Where to kill: after ``marker`` (a TASK header) was printed, once ``predicate`` holds
    for the objects of ``kind`` (``{(namespace, name): object}``) in ``namespace`` (None: all)
    and, if ``module`` names one, while a process of that module (``AnsiballZ_<module>.py``)
    runs under the playbook, and, if ``audit`` is given, once the API server's audit log (when
    the cluster has one) holds an event since the run started for which ``audit(event)`` is
    true (a module's watch, for example: it has decided and waits)."""
    name: str
    marker: str = None
    module: str = None
    audit: object = None
    api_version: str = None
    kind: str = None
    namespace: str = None
    predicate: object = None


@dataclass
class Killed:
    point: str
    fired: bool
    rc: int
    stdout: str
    stderr: str
    last_task: str = ""
    group_gone: bool = False
    groups: set = field(default_factory=set)
    objects: dict = field(default_factory=dict)
    elapsed: float = 0.0

    def __str__(self):
        return "kill point %r fired=%s rc=%s last task %r group gone=%s\n%s\n%s" % (
            self.point, self.fired, self.rc, self.last_task, self.group_gone,
            self.stdout[-5000:], self.stderr[-2000:])


class KillRun:
    """One playbook run, killed at one point (see the module docstring)."""

    def __init__(self, command, env, cwd, point, dynamic_client=None, timeout=900,
                 audit_log=None, action=None):
        self.command = command
        self.audit_log = audit_log if point.audit else None
        self.audit_offset = os.path.getsize(audit_log) if self.audit_log else 0
        self.audit_seen = not self.audit_log
        self.action = action
        self.env = env
        self.cwd = cwd
        self.point = point
        self.dynamic = dynamic_client
        self.timeout = timeout
        self.proc = None
        self.lines = []
        self.objects = {}
        self.marker_seen = point.marker is None
        self.fired = threading.Event()
        self.done = threading.Event()
        self.last_task = ""
        self.groups = set()
        self._lock = threading.Lock()

    # -------------------------------------------------------------- the decision

    def _check(self):
        """Kill now if the point holds (called with the lock held)."""
        if self.fired.is_set() or not self.marker_seen:
            return
        if self.point.predicate is not None and not self.point.predicate(self.objects):
            return
        if self.point.module and not _runs(self.proc.pid, "AnsiballZ_%s.py" % self.point.module):
            return
        if not self.audit_seen:
            self._read_audit()
            if not self.audit_seen:
                return
        if self.action:  # not a kill: something to do at that point of a run that goes on
            self.action()
        else:
            self.groups = kill_tree(self.proc.pid)
        self.fired.set()

    def _read_audit(self):
        with open(self.audit_log, "rb") as handle:
            handle.seek(self.audit_offset)
            chunk = handle.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.audit_offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if self.point.audit(event):
                self.audit_seen = True
                return

    # -------------------------------------------------------------- the two sources

    def _read_output(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line)
                if line.startswith("TASK ["):
                    self.last_task = line.strip()
                    if self.point.marker and line.startswith(self.point.marker):
                        self.marker_seen = True
                self._check()

    def _watch(self, ready):
        resource = self.dynamic.resources.get(api_version=self.point.api_version,
                                              kind=self.point.kind)
        version = None
        while not self.done.is_set() and not self.fired.is_set():
            try:
                if version is None:
                    listed = resource.get(namespace=self.point.namespace).to_dict()
                    with self._lock:
                        self.objects = {_key(o): o for o in listed["items"]}
                        self._check()
                    version = listed["metadata"]["resourceVersion"]
                    ready.set()
                for event in resource.watch(namespace=self.point.namespace,
                                            resource_version=version, timeout=2):
                    obj = event["raw_object"]
                    if event["type"] == "ERROR":
                        version = None
                        break
                    version = obj["metadata"]["resourceVersion"]
                    with self._lock:
                        if event["type"] == "DELETED":
                            self.objects.pop(_key(obj), None)
                        else:
                            self.objects[_key(obj)] = obj
                        self._check()
                    if self.fired.is_set() or self.done.is_set():
                        break
            except (ApiException, HTTPError):
                version = None  # 410 Gone, a connection the proxy closed: list again
                time.sleep(0.2)

    def _tick(self):
        """Check again every 50 ms (module processes and the audit log are not events)."""
        while not self.done.is_set() and not self.fired.is_set():
            with self._lock:
                self._check()
            time.sleep(0.05)

    # -------------------------------------------------------------- the run

    def run(self):
        watcher = None
        ready = threading.Event()
        if self.point.kind:
            watcher = threading.Thread(target=self._watch, args=(ready,), daemon=True)
            watcher.start()
            ready.wait(60)  # the watch sees everything the playbook writes
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            self.command, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, start_new_session=True)
        start = time.monotonic()
        errors = []
        err_reader = threading.Thread(target=lambda: errors.append(self.proc.stderr.read()),
                                      daemon=True)
        err_reader.start()
        reader = threading.Thread(target=self._read_output, daemon=True)
        reader.start()
        if self.point.module or self.audit_log:
            threading.Thread(target=self._tick, daemon=True).start()
        try:
            rc = self.proc.wait(self.timeout)
        except subprocess.TimeoutExpired:
            self.groups = kill_tree(self.proc.pid)
            rc = self.proc.wait()
        elapsed = time.monotonic() - start
        reader.join(30)
        err_reader.join(30)
        self.done.set()
        if watcher:
            watcher.join(10)
        with self._lock:
            return Killed(point=self.point.name, fired=self.fired.is_set(), rc=rc,
                          stdout="".join(self.lines), stderr="".join(errors),
                          last_task=self.last_task,
                          group_gone=_groups_gone(self.groups or {self.proc.pid}),
                          objects=dict(self.objects), elapsed=elapsed,
                          groups=set(self.groups))


def _key(obj):
    meta = obj["metadata"]
    return (meta.get("namespace"), meta["name"])


def _processes():
    """{pid: (state, ppid, process group)} of every process."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid, encoding="utf-8") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        out[int(pid)] = (fields[0], int(fields[1]), int(fields[2]))
    return out


def _descendants(pid, table):
    tree, grew = {pid}, True
    while grew:
        found = {p for p, (_state, ppid, _group) in table.items() if ppid in tree} - tree
        tree |= found
        grew = bool(found)
    return tree


def _runs(pid, text):
    """Whether a descendant of ``pid`` has ``text`` in its command line."""
    for child in _descendants(pid, _processes()) - {pid}:
        try:
            with open("/proc/%d/cmdline" % child, "rb") as handle:
                if text.encode() in handle.read():
                    return True
        except (FileNotFoundError, ProcessLookupError):
            continue
    return False


def kill_tree(pid):
    """SIGKILL ``pid``'s process group and the group of every descendant.

    ansible-playbook's workers call setsid (each is the leader of a process group of its own,
    with the module processes it starts), so killing ansible-playbook's group leaves them
    running. The playbook's group is stopped first (no new worker starts), the descendants are
    read while their parents still link them, then every group is killed; a module process
    started meanwhile is in its worker's group. Returns the groups killed.
    """
    try:
        os.killpg(pid, signal.SIGSTOP)
    except ProcessLookupError:
        return set()
    table = _processes()
    tree = _descendants(pid, table)
    groups = {table[p][2] for p in tree if p in table} | {pid}
    for group in sorted(groups - {pid}) + [pid]:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return groups


def _groups_gone(groups, timeout=30):
    """True once no process of these groups is left (zombies count as gone)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not [p for p, (state, _ppid, group) in _processes().items()
                if group in groups and state != "Z"]:
            return True
        time.sleep(0.2)
    return False
