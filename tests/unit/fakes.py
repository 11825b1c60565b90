"""Test doubles: a controllable clock and a scripted cluster for the waiter."""

from ansible_collections.rhods.gitops.plugins.module_utils.errors import ApiError, NotServed


class FakeClock:
    """A monotonic clock that only moves when told to (or when something sleeps)."""

    def __init__(self, start=1000.0):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class FakeResource:
    def __init__(self, api_version, kind, namespaced=True):
        self.group_version = api_version
        self.kind = kind
        self.namespaced = namespaced


def obj(name, namespace="ns", kind="Thing", api_version="example.com/v1", rv="1", **fields):
    out = {"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv}}
    out.update(fields)
    return out


def event(kind, o):
    return (kind, o)


class ScriptedCluster:
    """Plays a script of listings and watch streams.

    ``listings``: list of item lists returned by successive ``list()`` calls.
    ``watches``: list of scripted watch streams; each is a list of events
    (``(type, object)``) or an exception instance to raise when the watch
    starts. When the script runs out, a watch just lasts its ``seconds``.
    ``served_after``: number of ``serves()`` calls answering False first.
    """

    def __init__(self, clock, listings=None, watches=None, served_after=0, namespaced=True):
        self.clock = clock
        self.listings = list(listings or [[]])
        self.watches = list(watches or [])
        self.unserved = served_after
        self.namespaced = namespaced
        self.calls = []

    def resource(self, api_version, kind):
        self.calls.append(("resource", kind))
        if self.unserved > 0:
            raise NotServed(api_version, kind)
        return FakeResource(api_version, kind, self.namespaced)

    def serves(self, api_version, kind):
        self.calls.append(("serves", kind))
        self.unserved -= 1
        return self.unserved <= 0

    def list(self, resource, namespace=None, label_selector=None, field_selector=None):
        self.calls.append(("list", field_selector or label_selector))
        items = self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]
        return [dict(i) for i in items], "100"

    def watch(self, resource, resource_version, seconds, namespace=None, label_selector=None,
              field_selector=None):
        self.calls.append(("watch", resource_version))
        if self.watches and isinstance(self.watches[0], Exception):
            raise self.watches.pop(0)
        script = self.watches.pop(0) if self.watches else None
        return self._stream(script, seconds)

    def _stream(self, script, seconds):
        if script is None:
            self.clock.sleep(seconds)  # the server ends an idle watch after `seconds`
            return
        for item in script:
            self.clock.sleep(0.1)
            yield item


def api_error(status):
    return ApiError("scripted", status=status)
