"""The Argo CD application controller, simulated (test infrastructure only).

Reconciles ``Application`` objects (argoproj.io/v1alpha1) in namespace
``openshift-gitops`` the way Argo CD does, far enough for the collection's
GitOps delivery to be tested for real:

* source: a git repository on this machine (a path or a ``file://`` URL; any
  other URL gives a ``ComparisonError``), ``targetRevision`` (branch, tag, sha;
  default ``HEAD``) and ``path``.  The repository is mirrored into
  ``<state_dir>/argocd/repos/<hash>``, the revision is resolved to a sha and
  checked out into ``<state_dir>/argocd/checkouts/<sha>``.
* rendering: ``kubectl kustomize`` when the path has a kustomization, else the
  ``*.yaml``/``*.yml``/``*.json`` files (``directory.recurse``,
  ``directory.include``/``exclude`` honoured), multi-document YAML and
  ``List`` kinds expanded.
* sync: server-side apply (field manager ``argocd-controller``, forced) in
  sync-wave order, then Argo CD's kind order; between waves the applied
  objects must become healthy (bounded wait; the operation stays ``Running``
  and resumes on the next pass otherwise).  Resource hooks (PreSync, Sync,
  PostSync; delete policies) are supported in a simple form.
* tracking: annotation ``argocd.argoproj.io/tracking-id:
  <app>:<group>/<kind>:<namespace>/<name>`` on every applied object.
* automated sync on create, on change of spec or revision and, with
  ``selfHeal``, whenever live state drifts; ``prune`` deletes tracked objects
  no longer rendered (unless annotated ``Prune=false``); a failed automated
  sync is not retried for the same revision and spec (as Argo CD), unless
  ``syncPolicy.retry`` asks for it.
* ``ignoreDifferences`` (``jsonPointers``) excluded from comparison;
  ``RespectIgnoreDifferences=true`` keeps the live values of those fields on
  apply.  ``CreateNamespace``, ``ServerSideApply``, ``SkipDryRunOnMissingResource``,
  ``Validate=false``, ``PrunePropagationPolicy`` sync options.
* manual sync via the ``operation`` field; refresh via the annotation
  ``argocd.argoproj.io/refresh``; the finalizer
  ``resources-finalizer.argocd.argoproj.io`` deletes the app's resources first.
* status: ``sync``, ``health``, ``resources``, ``operationState``,
  ``conditions``, ``history``, ``reconciledAt``, ``sourceType``.

Behaviour knobs (simulator ConfigMap): ``delays.applicationSync`` before each
sync operation, ``failures.applications["<ns>/<name>"]`` forces health
Degraded with that message, and optionally ``argocd.resyncSeconds`` (3) and
``argocd.waveTimeoutSeconds`` (60).
"""

import copy
import fnmatch
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from urllib.parse import unquote, urlsplit

import yaml
from kubernetes.client.rest import ApiException

from .core import now_iso, spawn, watch_forever

log = logging.getLogger("simulator.argocd")

NAMESPACE = "openshift-gitops"
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
APPS_PATH = "/apis/%s/%s/namespaces/%s/%s" % (GROUP, VERSION, NAMESPACE, PLURAL)
MANAGER = "argocd-controller"
TRACKING = "argocd.argoproj.io/tracking-id"
A_WAVE = "argocd.argoproj.io/sync-wave"
A_HOOK = "argocd.argoproj.io/hook"
A_HOOK_DELETE = "argocd.argoproj.io/hook-delete-policy"
A_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
A_REFRESH = "argocd.argoproj.io/refresh"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
FINALIZERS = (FINALIZER, FINALIZER + "/background", FINALIZER + "/foreground")
IN_CLUSTER = "https://kubernetes.default.svc"

# gitops-engine's kind order within one sync wave (sync/sync_tasks.go).
KIND_ORDER = {kind: index for index, kind in enumerate([
    "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
    "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap",
    "StorageClass", "PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition",
    "ClusterRole", "ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role",
    "RoleList", "RoleBinding", "RoleBindingList", "Service", "DaemonSet", "Pod",
    "ReplicationController", "ReplicaSet", "Deployment", "HorizontalPodAutoscaler",
    "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
])}
HOOK_PHASES = {"PreSync": 0, "Sync": 1, "PostSync": 2}
HEALTH_ORDER = ["Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown"]
MAX_HISTORY = 10


class ComparisonError(Exception):
    """The desired state cannot be computed (repository, revision, manifests)."""


class Waiting(Exception):
    """The sync operation cannot go on yet; it resumes on a later pass."""


# --------------------------------------------------------------------------- API access

class Api:
    """Small JSON REST helper over the admin ApiClient (thread-safe)."""

    def __init__(self, ctx):
        self.client = ctx.api_client

    def call(self, method, path, body=None, query=None, content_type="application/json"):
        resp = self.client.call_api(
            path, method, query_params=list((query or {}).items()),
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body, auth_settings=["BearerToken"], _preload_content=False,
            _return_http_data_only=True, _request_timeout=60)
        data = resp.data
        return json.loads(data) if data else None

    def get(self, path):
        """The object at ``path`` or None when it does not exist."""
        try:
            return self.call("GET", path)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise


def api_message(exc):
    """The apiserver's message of an ApiException."""
    try:
        body = json.loads(exc.body)
        if isinstance(body, dict) and body.get("message"):
            return body["message"]
    except (TypeError, ValueError):
        pass
    return "%s %s" % (exc.status, exc.reason)


class Discovery:
    """apiVersion + kind -> (plural, namespaced), refreshed on a miss."""

    def __init__(self, api):
        self.api = api
        self.lock = threading.Lock()
        self.cache = {}  # group/version -> (fetched_at, {kind: (plural, namespaced)})

    def _fetch(self, group_version):
        path = "/api/v1" if group_version == "v1" else "/apis/" + group_version
        try:
            doc = self.api.call("GET", path)
        except ApiException as exc:
            if exc.status in (404, 503):
                doc = None
            else:
                raise
        kinds = {}
        for res in (doc or {}).get("resources") or []:
            if "/" not in res["name"]:
                kinds[res["kind"]] = (res["name"], bool(res.get("namespaced")))
        return kinds

    def lookup(self, api_version, kind, max_age=1.0):
        with self.lock:
            entry = self.cache.get(api_version)
        if entry and (kind in entry[1] or time.monotonic() - entry[0] < max_age):
            return entry[1].get(kind)
        kinds = self._fetch(api_version)
        with self.lock:
            self.cache[api_version] = (time.monotonic(), kinds)
        return kinds.get(kind)

    def forget(self, api_version):
        with self.lock:
            self.cache.pop(api_version, None)


def split_api_version(api_version):
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


def object_path(api_version, plural, namespace, name=None):
    base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
    if namespace:
        base += "/namespaces/" + namespace
    base += "/" + plural
    return base + ("/" + name if name else "")


# --------------------------------------------------------------------------- git

def local_repo_path(url):
    """The filesystem path of a local repository URL, or None."""
    if not url:
        return None
    if url.startswith("file://"):
        path = unquote(urlsplit(url).path)
    elif url.startswith("/"):
        path = url
    else:
        return None
    return path if os.path.isdir(path) else None


def _git(*args, cwd=None):
    res = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                         env=dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C"), timeout=120)
    if res.returncode != 0:
        raise ComparisonError("git %s: %s" % (args[0], (res.stderr or res.stdout).strip()))
    return res.stdout.strip()


class Repos:
    """Mirrors of source repositories and checkouts of resolved revisions."""

    def __init__(self, state_dir):
        self.base = os.path.join(state_dir, "argocd")
        self.locks = {}
        self.lock = threading.Lock()

    def _lock(self, key):
        with self.lock:
            return self.locks.setdefault(key, threading.Lock())

    def resolve(self, url, revision):
        """Fetch ``url`` and return (sha, checkout directory) of ``revision``."""
        path = local_repo_path(url)
        if path is None:
            raise ComparisonError("repository not accessible: %s (the local cluster reaches "
                                  "only git repositories on this machine: a path or file:// URL)"
                                  % url)
        key = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:20]
        mirror = os.path.join(self.base, "repos", key)
        with self._lock(key):
            if not os.path.isdir(os.path.join(mirror, "refs")):
                shutil.rmtree(mirror, ignore_errors=True)
                os.makedirs(os.path.dirname(mirror), exist_ok=True)
                _git("clone", "--quiet", "--mirror", path, mirror)
            else:
                _git("fetch", "--quiet", "--prune", "--force", "origin", cwd=mirror)
            sha = self._rev_parse(mirror, path, revision)
            return sha, self._checkout(mirror, sha)

    @staticmethod
    def _rev_parse(mirror, source, revision):
        revision = (revision or "").strip()
        if revision in ("", "HEAD"):
            out = _git("ls-remote", source, "HEAD")
            if not out:
                raise ComparisonError("repository %s has no HEAD (empty repository?)" % source)
            return out.split()[0]
        for candidate in ("refs/heads/%s^{commit}" % revision, "refs/tags/%s^{commit}" % revision,
                          "%s^{commit}" % revision):
            res = subprocess.run(["git", "rev-parse", "--verify", "--quiet", candidate],
                                 cwd=mirror, capture_output=True, text=True, check=False)
            if res.returncode == 0 and res.stdout.strip():
                return res.stdout.strip()
        raise ComparisonError("Unable to resolve '%s' to a commit SHA" % revision)

    def _checkout(self, mirror, sha):
        target = os.path.join(self.base, "checkouts", sha)
        if os.path.isdir(target):
            return target
        os.makedirs(os.path.dirname(target), exist_ok=True)
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=mirror,
                                 capture_output=True, check=False, timeout=120)
        if archive.returncode != 0:
            raise ComparisonError("git archive %s: %s" % (sha, archive.stderr.decode().strip()))
        tmp = tempfile.mkdtemp(prefix=sha[:12] + ".", dir=os.path.dirname(target))
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        try:
            os.rename(tmp, target)
        except OSError:  # another thread was faster
            shutil.rmtree(tmp, ignore_errors=True)
        return target


# --------------------------------------------------------------------------- rendering

def kubectl_binary():
    for candidate in (os.environ.get("KUBECTL"), shutil.which("kubectl")):
        if candidate and os.path.exists(candidate):
            return candidate
    return "kubectl"


KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _expand_braces(pattern):
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    out = []
    for alt in match.group(1).split(","):
        out += _expand_braces(pattern[:match.start()] + alt + pattern[match.end():])
    return out


def _glob_match(rel, patterns):
    for pattern in _expand_braces(patterns):
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(os.path.basename(rel), pattern):
            return True
    return False


def parse_documents(text, origin):
    out = []
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ComparisonError("failed to parse %s: %s" % (origin, exc)) from exc
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
            raise ComparisonError("%s: every document must be an object with apiVersion and "
                                  "kind" % origin)
        if doc["kind"].endswith("List") and isinstance(doc.get("items"), list):
            out += [item for item in doc["items"] if isinstance(item, dict)]
        else:
            out.append(doc)
    return out


def render(root, source):
    """(manifests, sourceType) of ``source`` checked out at ``root``."""
    rel = (source.get("path") or ".").strip("/") or "."
    directory = os.path.normpath(os.path.join(root, rel))
    if not directory.startswith(os.path.normpath(root)) or not os.path.isdir(directory):
        raise ComparisonError("app path does not exist: %s" % rel)
    if any(os.path.exists(os.path.join(directory, name)) for name in KUSTOMIZATIONS):
        res = subprocess.run([kubectl_binary(), "kustomize", directory], capture_output=True,
                             text=True, check=False, timeout=120)
        if res.returncode != 0:
            raise ComparisonError("kustomize build %s failed: %s" % (rel, res.stderr.strip()))
        return parse_documents(res.stdout, rel), "Kustomize"
    options = source.get("directory") or {}
    recurse = bool(options.get("recurse"))
    include, exclude = options.get("include") or "", options.get("exclude") or ""
    files = []
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if recurse else []
        for name in sorted(names):
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = os.path.join(current, name)
            relpath = os.path.relpath(path, directory)
            if include and not _glob_match(relpath, include):
                continue
            if exclude and _glob_match(relpath, exclude):
                continue
            files.append((relpath, path))
    manifests = []
    for relpath, path in sorted(files):
        with open(path, encoding="utf-8") as handle:
            manifests += parse_documents(handle.read(), os.path.join(rel, relpath))
    return manifests, "Directory"


# --------------------------------------------------------------------------- comparison

def _unescape(token):
    return token.replace("~1", "/").replace("~0", "~")


def pointer_get(obj, pointer):
    cur = obj
    for token in [_unescape(t) for t in pointer.split("/")[1:]]:
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return False, None
    return True, cur


def pointer_remove(obj, pointer):
    tokens = [_unescape(t) for t in pointer.split("/")[1:]]
    if not tokens:
        return
    cur = obj
    for token in tokens[:-1]:
        if isinstance(cur, dict) and token in cur:
            cur = cur[token]
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return
    last = tokens[-1]
    if isinstance(cur, dict):
        cur.pop(last, None)
    elif isinstance(cur, list) and last.isdigit() and int(last) < len(cur):
        del cur[int(last)]


def pointer_set(obj, pointer, value):
    tokens = [_unescape(t) for t in pointer.split("/")[1:]]
    cur = obj
    for token in tokens[:-1]:
        if isinstance(cur, dict):
            cur = cur.setdefault(token, {})
        elif isinstance(cur, list) and token.isdigit() and int(token) < len(cur):
            cur = cur[int(token)]
        else:
            return
    if isinstance(cur, dict):
        cur[tokens[-1]] = value
    elif isinstance(cur, list) and tokens[-1].isdigit() and int(tokens[-1]) < len(cur):
        cur[int(tokens[-1])] = value


_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:[eE]([+-]?\d+))?"
                       r"(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX = {None: 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
           "P": 1e15, "E": 1e18, "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40,
           "Pi": 2 ** 50, "Ei": 2 ** 60}


def _quantity(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    number = float(match.group(1)) * (10 ** int(match.group(2)) if match.group(2) else 1)
    return number * _SUFFIX[match.group(3)]


def _empty(value):
    return value is None or value == {} or value == [] or value is False or value == "" or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0)


def is_subset(desired, live):
    """True when every field set in ``desired`` has the same value in ``live``."""
    if desired is None:
        return True
    if isinstance(desired, dict):
        if live is None:
            return all(_empty(v) or (isinstance(v, dict) and is_subset(v, None))
                       for v in desired.values())
        if not isinstance(live, dict):
            return False
        return all(is_subset(v, live.get(k)) for k, v in desired.items())
    if isinstance(desired, list):
        if live is None:
            return not desired
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(is_subset(d, l) for d, l in zip(desired, live))
    if live is None:
        return _empty(desired)
    if desired == live and type(desired) is type(live):
        return True
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired == live
    if str(desired) == str(live):
        return True
    dq, lq = _quantity(desired), _quantity(live)
    return dq is not None and lq is not None and abs(dq - lq) <= 1e-9 * max(abs(dq), 1)


def normalize_desired(obj):
    """The part of a manifest that is compared with live state."""
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    out["metadata"] = {k: meta[k] for k in ("labels", "annotations") if meta.get(k)}
    if out.get("kind") == "Secret" and out.get("apiVersion") == "v1" and out.get("stringData"):
        import base64  # pylint: disable=import-outside-toplevel
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


# --------------------------------------------------------------------------- health

def _conditions(obj):
    return {c.get("type"): c for c in ((obj.get("status") or {}).get("conditions") or [])
            if isinstance(c, dict)}


def _h(status, message=""):
    return {"status": status, "message": message} if message else {"status": status}


def resource_health(group, kind, obj):
    """Argo CD's health assessment of one live object ({status, message})."""
    if obj is None:
        return _h("Missing")
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        return _h("Progressing", "Pending deletion")
    spec = obj.get("spec") or {}
    st = obj.get("status") or {}
    gen = (obj.get("metadata") or {}).get("generation")
    observed = st.get("observedGeneration")
    conds = _conditions(obj)
    if group in ("apps", "extensions") and kind == "Deployment":
        if spec.get("paused"):
            return _h("Suspended", "Deployment is paused")
        if gen and (observed or 0) < gen:
            return _h("Progressing", "Waiting for rollout to finish: observed deployment "
                                     "generation less than desired generation")
        prog = conds.get("Progressing") or {}
        if prog.get("reason") == "ProgressDeadlineExceeded":
            return _h("Degraded", 'Deployment "%s" exceeded its progress deadline'
                      % obj["metadata"]["name"])
        want = spec.get("replicas", 1)
        updated, total = st.get("updatedReplicas") or 0, st.get("replicas") or 0
        available = st.get("availableReplicas") or 0
        if updated < want:
            return _h("Progressing", "Waiting for rollout to finish: %d out of %d new replicas "
                                     "have been updated..." % (updated, want))
        if total > updated:
            return _h("Progressing", "Waiting for rollout to finish: %d old replicas are "
                                     "pending termination..." % (total - updated))
        if available < updated:
            return _h("Progressing", "Waiting for rollout to finish: %d of %d updated replicas "
                                     "are available..." % (available, updated))
        return _h("Healthy")
    if group == "apps" and kind in ("StatefulSet", "ReplicaSet"):
        if gen and (observed or 0) < gen:
            return _h("Progressing", "Waiting for statefulset spec update to be observed...")
        want = spec.get("replicas", 1)
        ready = st.get("readyReplicas" if kind == "StatefulSet" else "availableReplicas") or 0
        if ready < want:
            return _h("Progressing", "Waiting for %d pods to be ready..." % (want - ready))
        return _h("Healthy")
    if group == "apps" and kind == "DaemonSet":
        if (st.get("numberAvailable") or 0) < (st.get("desiredNumberScheduled") or 0):
            return _h("Progressing", "Waiting for daemon set pods to be available...")
        return _h("Healthy")
    if group == "batch" and kind == "Job":
        if (conds.get("Failed") or {}).get("status") == "True":
            return _h("Degraded", conds["Failed"].get("message") or "Job failed")
        if (conds.get("Complete") or {}).get("status") == "True":
            return _h("Healthy", conds["Complete"].get("message") or "Job completed")
        if spec.get("suspend"):
            return _h("Suspended", "Job is suspended")
        return _h("Progressing", "Job is running")
    if group == "" and kind == "Pod":
        phase = st.get("phase")
        if phase == "Succeeded":
            return _h("Healthy", st.get("message", ""))
        if phase == "Failed":
            return _h("Degraded", st.get("message", "Pod failed"))
        if phase == "Running" and (conds.get("Ready") or {}).get("status") == "True":
            return _h("Healthy")
        return _h("Progressing", st.get("message", ""))
    if group == "" and kind == "PersistentVolumeClaim":
        phase = st.get("phase")
        if phase == "Bound":
            return _h("Healthy")
        if phase == "Lost":
            return _h("Degraded")
        return _h("Progressing")
    if group == "" and kind == "Service":
        if spec.get("type") == "LoadBalancer" and not (st.get("loadBalancer") or {}).get("ingress"):
            return _h("Progressing")
        return _h("Healthy")
    if group == "apiextensions.k8s.io" and kind == "CustomResourceDefinition":
        if (conds.get("NamesAccepted") or {}).get("status") == "False":
            return _h("Degraded", conds["NamesAccepted"].get("message", ""))
        if (conds.get("Established") or {}).get("status") == "True":
            return _h("Healthy")
        return _h("Progressing", "CRD is not established yet")
    if group == "apiregistration.k8s.io" and kind == "APIService":
        available = conds.get("Available") or {}
        if available.get("status") == "True":
            return _h("Healthy")
        return _h("Progressing", available.get("message", ""))
    if group == "route.openshift.io" and kind == "Route":
        for ingress in st.get("ingress") or []:
            for cond in ingress.get("conditions") or []:
                if cond.get("type") == "Admitted":
                    if cond.get("status") == "True":
                        return _h("Healthy")
                    if cond.get("status") == "False":
                        return _h("Degraded", cond.get("message", ""))
        return _h("Progressing", "Waiting for the route to be admitted")
    if group == "operators.coreos.com":
        return _olm_health(kind, st)
    if group == "build.openshift.io" and kind == "Build":
        phase = st.get("phase")
        if phase == "Complete":
            return _h("Healthy", st.get("message", ""))
        if phase in ("Failed", "Error", "Cancelled"):
            return _h("Degraded", st.get("message") or st.get("reason") or phase)
        return _h("Progressing", st.get("message", ""))
    if group == "datasciencecluster.opendatahub.io" and kind == "DataScienceCluster":
        phase = st.get("phase")
        if phase == "Ready" or (conds.get("Ready") or {}).get("status") == "True":
            return _h("Healthy")
        if phase in ("Error", "Failed"):
            return _h("Degraded", (conds.get("Ready") or {}).get("message", phase))
        return _h("Progressing", (conds.get("Ready") or {}).get("message", "Waiting for the "
                                                                             "DataScienceCluster"))
    return _h("Healthy")


def _olm_health(kind, st):
    if kind == "Subscription":
        conds = st.get("conditions")
        if not st or conds is None:
            return _h("Progressing", "An install plan for a subscription is pending installation")
        degraded, pending, lines = 0, 0, []
        for index, cond in enumerate(conds):
            lines.append("%d: %s | %s" % (index + 1, cond.get("type"), cond.get("status")))
            ctype, status = cond.get("type"), cond.get("status")
            if ctype == "InstallPlanPending" and status == "True":
                pending += 1
            elif ctype == "InstallPlanMissing" and status == "True" and cond.get(
                    "reason") != "ReferencedInstallPlanNotFound":
                degraded += 1
            elif ctype in ("CatalogSourcesUnhealthy", "InstallPlanFailed",
                           "ResolutionFailed") and status == "True":
                degraded += 1
        if degraded:
            return _h("Degraded", "\n".join(lines))
        if pending:
            return _h("Progressing", "An install plan for a subscription is pending installation")
        return _h("Healthy", "\n".join(lines))
    if kind == "ClusterServiceVersion":
        phase = st.get("phase")
        if phase == "Succeeded":
            return _h("Healthy", st.get("message", ""))
        if phase == "Failed":
            return _h("Degraded", st.get("message", ""))
        return _h("Progressing", st.get("message", ""))
    if kind == "InstallPlan":
        phase = st.get("phase")
        if phase == "Complete":
            return _h("Healthy")
        if phase == "Failed":
            return _h("Degraded", st.get("message", ""))
        if phase == "RequiresApproval":
            return _h("Suspended", "The install plan requires approval")
        return _h("Progressing")
    return _h("Healthy")


# --------------------------------------------------------------------------- model

def sync_options(values):
    """{"Prune": "false", ...} of a list or comma-separated string of Key=Value."""
    if isinstance(values, str):
        values = values.split(",")
    out = {}
    for item in values or []:
        key, _, value = str(item).strip().partition("=")
        if key:
            out[key.strip()] = value.strip()
    return out


class Target:
    """One rendered manifest, placed in the cluster."""

    def __init__(self, app_name, manifest, dest_ns, discovery):
        self.obj = copy.deepcopy(manifest)
        meta = self.obj.setdefault("metadata", {})
        self.api_version = self.obj["apiVersion"]
        self.group, self.version = split_api_version(self.api_version)
        self.kind = self.obj["kind"]
        annotations = meta.get("annotations") or {}
        hooks = [h.strip() for h in str(annotations.get(A_HOOK, "")).split(",") if h.strip()]
        self.hooks = hooks
        self.skip = "Skip" in hooks
        self.hook_phase = next((h for h in hooks if h in HOOK_PHASES), None) if hooks else None
        self.is_hook = bool(hooks) and not self.skip
        self.delete_policies = {p.strip() for p in str(annotations.get(
            A_HOOK_DELETE, "BeforeHookCreation")).split(",") if p.strip()}
        self.options = sync_options(annotations.get(A_SYNC_OPTIONS))
        try:
            self.wave = int(str(annotations.get(A_WAVE, "0")).strip() or 0)
        except ValueError:
            self.wave = 0
        self.name = meta.get("name") or ""
        self.generate_name = meta.get("generateName") or ""
        self.app_name = app_name
        self.dest_ns = dest_ns
        self.manifest_ns = meta.get("namespace") or ""
        self.live = None
        self.place(discovery.lookup(self.api_version, self.kind))

    def place(self, info):
        """Set scope, namespace and tracking annotation from discovery ``info``."""
        self.info = info
        meta = self.obj["metadata"]
        namespaced = info[1] if info else True
        if namespaced:
            self.namespace = self.manifest_ns or self.dest_ns or "default"
            meta["namespace"] = self.namespace
        else:
            self.namespace = ""
            meta.pop("namespace", None)
        self.tracking_id = "%s:%s/%s:%s/%s" % (self.app_name, self.group, self.kind,
                                               self.namespace, self.name)
        meta.setdefault("annotations", {})[TRACKING] = self.tracking_id

    @property
    def key(self):
        return (self.group, self.kind, self.namespace, self.name)

    def order(self):
        return (HOOK_PHASES.get(self.hook_phase or "Sync", 1), self.wave,
                KIND_ORDER.get(self.kind, len(KIND_ORDER)), self.kind, self.namespace, self.name)

    def path(self, name=None):
        return object_path(self.api_version, self.info[0], self.namespace, name or self.name)

    def ident(self):
        group_kind = "%s/%s" % (self.group, self.kind) if self.group else self.kind
        return "%s %s/%s" % (group_kind, self.namespace, self.name) if self.namespace else \
            "%s %s" % (group_kind, self.name)

    def applied_message(self):
        short = self.kind.lower() + ("." + self.group if self.group else "")
        return "%s/%s serverside-applied" % (short, self.name)

    def entry(self):
        out = {"group": self.group, "version": self.version, "kind": self.kind,
               "name": self.name}
        if self.namespace:
            out["namespace"] = self.namespace
        return out


class AppState:
    """What the controller remembers of one Application between passes."""

    def __init__(self):
        self.seen = None            # hash of what triggers a reconcile (spec, operation, ...)
        self.attempt = None         # (revision, spec hash) of the last sync attempt
        self.attempt_phase = None   # its phase
        self.in_progress = None     # dict: an operation that resumes on the next pass
        self.retry_at = 0.0
        self.managed = set()        # keys of objects this controller applied
        self.written = None         # status last written (without timestamps)
        self.restored = False
        self.last_op = None


def _digest(value):
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _duration(text, default):
    if text is None:
        return default
    if isinstance(text, (int, float)):
        return float(text)
    total, matched = 0.0, False
    for number, unit in re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s)", str(text)):
        matched = True
        total += float(number) * {"h": 3600, "m": 60, "s": 1, "ms": 0.001}[unit]
    return total if matched else default


# --------------------------------------------------------------------------- controller

class Controller:
    def __init__(self, ctx):
        self.ctx = ctx
        self.api = Api(ctx)
        self.discovery = Discovery(self.api)
        self.repos = Repos(ctx.state_dir)
        self.lock = threading.Lock()
        self.states = {}
        self.known = set()
        self.running = set()
        self.dirty = set()
        self.render_cache = {}
        self.render_lock = threading.Lock()
        self._status_subresource = None

    # ---- knobs

    def knob(self, name, default):
        value = (self.ctx.config().get("argocd") or {}).get(name)
        try:
            return float(value) if value is not None else default
        except (TypeError, ValueError):
            return default

    # ---- queue: one reconcile per app at a time; events during one re-run it

    def enqueue(self, name):
        with self.lock:
            if name in self.running:
                self.dirty.add(name)
                return
            self.running.add(name)
        spawn(self._work, name, name="argocd-" + name)

    def _work(self, name):
        while True:
            try:
                self.reconcile(name)
            except Exception:  # pylint: disable=broad-except
                log.exception("reconciling application %s", name)
            with self.lock:
                if name in self.dirty:
                    self.dirty.discard(name)
                    continue
                self.running.discard(name)
                return

    def state(self, name):
        with self.lock:
            return self.states.setdefault(name, AppState())

    def on_event(self, etype, app):
        name = (app.get("metadata") or {}).get("name")
        if not name:
            return
        if etype == "DELETED":
            with self.lock:
                self.known.discard(name)
                self.states.pop(name, None)
            return
        with self.lock:
            self.known.add(name)
        meta = app.get("metadata") or {}
        trigger = _digest([app.get("spec"), app.get("operation"), meta.get("deletionTimestamp"),
                           meta.get("finalizers"), (meta.get("annotations") or {}).get(A_REFRESH)])
        state = self.state(name)
        if state.seen != trigger:
            state.seen = trigger
            state.written = None  # a change asks for a fresh status (reconciledAt)
            self.enqueue(name)

    def ticker(self):
        while True:
            time.sleep(max(0.5, self.knob("resyncSeconds", 3.0)))
            with self.lock:
                names = list(self.known)
            for name in names:
                self.enqueue(name)

    # ---- one pass

    def reconcile(self, name):
        app = self.api.get("%s/%s" % (APPS_PATH, name))
        if app is None:
            with self.lock:
                self.states.pop(name, None)
                self.known.discard(name)
            return
        state = self.state(name)
        if not state.restored:
            self._restore(state, app)
        meta = app["metadata"]
        if meta.get("deletionTimestamp"):
            self.finalize(app, state)
            return
        annotations = meta.get("annotations") or {}
        if A_REFRESH in annotations:
            self._patch_app(name, [{"op": "remove", "path": "/metadata/annotations/" +
                                    A_REFRESH.replace("~", "~0").replace("/", "~1")}])
        spec = app.get("spec") or {}
        source = self._source(spec)
        dest = spec.get("destination") or {}
        dest_ns = dest.get("namespace") or ""
        policy = spec.get("syncPolicy") or {}
        automated = policy.get("automated")
        options = sync_options(policy.get("syncOptions"))
        operation = app.get("operation")
        status = copy.deepcopy(app.get("status") or {})

        revision_override = ((operation or {}).get("sync") or {}).get("revision")
        try:
            revision, targets, source_type = self.desired(app, source, dest_ns,
                                                          revision_override)
        except ComparisonError as exc:
            message = "Failed to load target state: %s" % exc
            if operation:
                self._finish_manual(app, {"phase": "Error", "message": message,
                                          "operation": operation,
                                          "startedAt": now_iso(), "finishedAt": now_iso()})
                status["operationState"] = state.last_op
            status.update({
                "sync": {"status": "Unknown",
                         "comparedTo": {"source": source, "destination": dest}},
                "conditions": [{"type": "ComparisonError", "message": message,
                                "lastTransitionTime": now_iso()}],
            })
            status["health"] = self._app_health(app, status.get("health") or {
                "status": "Unknown", "message": message}, None)
            self.write_status(app, state, status)
            return
        spec_hash = self._spec_hash(spec)

        self.observe(targets)
        extraneous = self.extraneous(name, state, status, targets)

        def progress(op_state):
            """Publish the state of a running operation while it waits.

            Raises Waiting when the Application was deleted or its spec changed
            meanwhile: the next pass then starts over from the new state.
            """
            fresh = self.api.get("%s/%s" % (APPS_PATH, name))
            if fresh is None or fresh["metadata"].get("deletionTimestamp") or \
                    fresh.get("spec") != app.get("spec") or \
                    fresh.get("operation") != app.get("operation"):
                raise Waiting("interrupted: the Application changed while syncing")
            current = copy.deepcopy(status)
            current["operationState"] = copy.deepcopy(op_state)
            self.observe(targets)
            self.write_status(app, state, self.compose(
                app, current, revision, targets,
                self.extraneous(name, state, current, targets), source_type))

        # ---- decide on a sync operation
        op_state = None
        if operation and operation.get("sync") is not None:
            op_state = self.run_operation(app, state, revision, targets, extraneous, operation,
                                          options, progress, resumed=state.in_progress)
            state.in_progress = op_state if op_state["phase"] == "Running" else None
            if op_state["phase"] != "Running":
                state.attempt = (revision, spec_hash)
                state.attempt_phase = op_state["phase"]
            self._finish_manual(app, op_state)
        else:
            sync_status = self.sync_status(app, targets, extraneous)
            resume = state.in_progress is not None and (
                state.in_progress.get("revision") == revision
                and state.in_progress.get("spec") == spec_hash)
            if state.in_progress is not None and not resume:
                state.in_progress = None
            if resume and time.monotonic() >= state.retry_at:
                op_state = self.run_operation(app, state, revision, targets, extraneous,
                                              state.in_progress["operation"], options, progress,
                                              resumed=state.in_progress)
            elif automated is not None and not resume and sync_status == "OutOfSync":
                attempted = state.attempt == (revision, spec_hash)
                self_heal = bool((automated or {}).get("selfHeal"))
                if not attempted or (self_heal and state.attempt_phase == "Succeeded"):
                    op = {"sync": {"revision": revision,
                                   "prune": bool((automated or {}).get("prune")),
                                   "syncOptions": policy.get("syncOptions") or []},
                          "initiatedBy": {"automated": True}}
                    if policy.get("retry"):
                        op["retry"] = policy["retry"]
                    op_state = self.run_operation(app, state, revision, targets, extraneous, op,
                                                  options, progress)
            if op_state is not None:
                if op_state["phase"] == "Running":
                    state.in_progress = state.in_progress or {}
                    state.in_progress.update({"revision": revision, "spec": spec_hash,
                                              "operation": op_state["operation"],
                                              "startedAt": op_state["startedAt"]})
                else:
                    state.in_progress = None
                    state.attempt = (revision, spec_hash)
                    state.attempt_phase = op_state["phase"]
                    if op_state["phase"] in ("Failed", "Error"):
                        self._schedule_retry(state, op_state, revision, spec_hash)
        if op_state is not None:
            status["operationState"] = op_state
            self.observe(targets)
            extraneous = self.extraneous(name, state, status, targets)
            if op_state["phase"] == "Succeeded":
                history = list(status.get("history") or [])
                history.append({"id": (history[-1].get("id", 0) + 1) if history else 0,
                                "revision": revision, "deployedAt": now_iso(),
                                "deployStartedAt": op_state.get("startedAt"),
                                "source": source})
                status["history"] = history[-MAX_HISTORY:]

        self.write_status(app, state, self.compose(app, status, revision, targets, extraneous,
                                                   source_type))

    def compose(self, app, status, revision, targets, extraneous, source_type):
        """``status`` updated from the compared targets (sync, health, resources...)."""
        spec = app.get("spec") or {}
        source = self._source(spec)
        dest = spec.get("destination") or {}
        conditions = []
        sync_status = self.sync_status(app, targets, extraneous)
        resources = self.resource_statuses(app, targets, extraneous)
        health = self._aggregate_health(targets)
        last_op = status.get("operationState") or {}
        if last_op.get("phase") in ("Failed", "Error") and (
                (last_op.get("syncResult") or {}).get("revision") == revision):
            conditions.append({"type": "SyncError", "message": "Failed sync attempt to %s: %s" % (
                revision, last_op.get("message", "")),
                               "lastTransitionTime": last_op.get("finishedAt") or now_iso()})
            if sync_status != "Synced" and \
                    HEALTH_ORDER.index(health["status"]) < HEALTH_ORDER.index("Degraded"):
                health = _h("Degraded", last_op.get("message", ""))
        status.update({
            "sync": {"status": sync_status, "revision": revision,
                     "comparedTo": {"source": source, "destination": dest}},
            "resources": resources,
            "sourceType": source_type,
            "conditions": conditions or None,
        })
        if spec.get("ignoreDifferences"):
            status["sync"]["comparedTo"]["ignoreDifferences"] = spec["ignoreDifferences"]
        status["health"] = self._app_health(app, health, targets)
        return status

    # ---- helpers of a pass

    def _restore(self, state, app):
        """After a restart, pick up what the status says about the last operation."""
        state.restored = True
        status = app.get("status") or {}
        op = status.get("operationState") or {}
        for res in status.get("resources") or []:
            state.managed.add((res.get("group", ""), res.get("kind"), res.get("namespace", ""),
                               res.get("name")))
        revision = (op.get("syncResult") or {}).get("revision")
        spec = app.get("spec") or {}
        spec_hash = self._spec_hash(spec)
        if op.get("phase") in ("Failed", "Error", "Succeeded") and revision:
            state.attempt = (revision, spec_hash)
            state.attempt_phase = op.get("phase")
        elif op.get("phase") == "Running" and revision and op.get("operation") and \
                not app.get("operation"):
            # Interrupted by a restart: resume it.
            state.in_progress = {"revision": revision, "spec": spec_hash,
                                 "operation": op["operation"], "startedAt": op.get("startedAt"),
                                 "retryCount": op.get("retryCount")}
        state.last_op = op or None

    @staticmethod
    def _spec_hash(spec):
        """What, besides the revision, makes a new automated sync necessary."""
        return _digest([spec.get("source"), spec.get("sources"), spec.get("destination") or {},
                        spec.get("ignoreDifferences"),
                        (spec.get("syncPolicy") or {}).get("syncOptions")])

    @staticmethod
    def _source(spec):
        if spec.get("source"):
            return spec["source"]
        sources = spec.get("sources") or []
        return sources[0] if sources else {}

    def desired(self, app, source, dest_ns, revision_override=None):
        """(revision sha, [Target], sourceType) of the app's source."""
        name = app["metadata"]["name"]
        if source.get("chart") or source.get("helm") or source.get("plugin"):
            raise ComparisonError("only plain YAML and kustomize sources are supported by the "
                                  "simulated Argo CD (no Helm, no plugins)")
        revision = revision_override or source.get("targetRevision") or "HEAD"
        sha, root = self.repos.resolve(source.get("repoURL", ""), revision)
        key = _digest([sha, source.get("path"), source.get("directory"), source.get("kustomize")])
        with self.render_lock:
            cached = self.render_cache.get(key)
        if cached is None:
            cached = render(root, source)
            with self.render_lock:
                if len(self.render_cache) > 128:
                    self.render_cache.clear()
                self.render_cache[key] = cached
        manifests, source_type = cached
        targets = []
        seen = set()
        for manifest in manifests:
            target = Target(name, manifest, dest_ns, self.discovery)
            if target.skip:
                continue
            if not target.is_hook:
                if not target.name:
                    raise ComparisonError("%s has no metadata.name" % target.kind)
                if target.key in seen:
                    raise ComparisonError("duplicate resource %s" % target.ident())
                seen.add(target.key)
            targets.append(target)
        return sha, targets, source_type

    def observe(self, targets):
        """Read the live object of every (non-hook) target."""
        for target in targets:
            if target.is_hook:
                continue
            if target.info is None:
                target.info = self.discovery.lookup(target.api_version, target.kind)
            if target.info is None:
                target.live = None
                continue
            try:
                target.live = self.api.get(target.path())
            except ApiException as exc:
                log.debug("reading %s: %s", target.ident(), exc.reason)
                target.live = None

    def extraneous(self, app_name, state, status, targets):
        """Live objects tracked for this app that are no longer rendered."""
        wanted = {t.key for t in targets if not t.is_hook}
        candidates = set(state.managed)
        for res in status.get("resources") or []:
            candidates.add((res.get("group", ""), res.get("kind"), res.get("namespace", ""),
                            res.get("name")))
        out = []
        for key in sorted(candidates - wanted, key=str):
            group, kind, namespace, name = key
            live = self._live_of(group, kind, namespace, name, res_version=self._version_of(
                status, key))
            if live is None:
                state.managed.discard(key)
                continue
            annotation = ((live.get("metadata") or {}).get("annotations") or {}).get(TRACKING, "")
            if not annotation.startswith(app_name + ":"):
                state.managed.discard(key)
                continue
            out.append((key, live))
        return out

    @staticmethod
    def _version_of(status, key):
        for res in status.get("resources") or []:
            if (res.get("group", ""), res.get("kind"), res.get("namespace", ""),
                    res.get("name")) == key:
                return res.get("version")
        return None

    def _live_of(self, group, kind, namespace, name, res_version=None):
        api_version = None
        for gv in ([("%s/%s" % (group, res_version)) if group else res_version]
                   if res_version else []):
            if self.discovery.lookup(gv, kind):
                api_version = gv
        if api_version is None:
            api_version = self._preferred_version(group, kind)
        if api_version is None:
            return None
        info = self.discovery.lookup(api_version, kind)
        if info is None:
            return None
        try:
            return self.api.get(object_path(api_version, info[0],
                                            namespace if info[1] else "", name))
        except ApiException:
            return None

    def _preferred_version(self, group, kind):
        if not group:
            return "v1"
        try:
            doc = self.api.call("GET", "/apis/" + group)
        except ApiException:
            return None
        versions = [v["groupVersion"] for v in (doc or {}).get("versions") or []]
        preferred = ((doc or {}).get("preferredVersion") or {}).get("groupVersion")
        for gv in ([preferred] if preferred else []) + versions:
            if self.discovery.lookup(gv, kind):
                return gv
        return None

    # ---- comparison

    def ignored_pointers(self, app, target):
        out = []
        for rule in (app.get("spec") or {}).get("ignoreDifferences") or []:
            if (rule.get("group") or "") != target.group or rule.get("kind") != target.kind:
                continue
            if rule.get("name") and rule["name"] != target.name:
                continue
            if rule.get("namespace") and rule["namespace"] != target.namespace:
                continue
            out += rule.get("jsonPointers") or []
        return out

    def in_sync(self, app, target):
        if target.live is None:
            return False
        desired = normalize_desired(target.obj)
        live = copy.deepcopy(target.live)
        for pointer in self.ignored_pointers(app, target):
            pointer_remove(desired, pointer)
            pointer_remove(live, pointer)
        return is_subset(desired, live)

    def sync_status(self, app, targets, extraneous):
        for target in targets:
            if not target.is_hook and not self.in_sync(app, target):
                return "OutOfSync"
        for _key, live in extraneous:
            if not _compare_option(live, "IgnoreExtraneous"):
                return "OutOfSync"
        return "Synced"

    def resource_statuses(self, app, targets, extraneous):
        out = []
        for target in sorted((t for t in targets if not t.is_hook), key=Target.order):
            entry = target.entry()
            entry["status"] = "Synced" if self.in_sync(app, target) else "OutOfSync"
            entry["health"] = resource_health(target.group, target.kind, target.live)
            if target.wave:
                entry["syncWave"] = target.wave
            out.append(entry)
        for key, live in extraneous:
            group, kind, namespace, name = key
            version = split_api_version(live.get("apiVersion", "v1"))[1]
            entry = {"group": group, "version": version, "kind": kind, "name": name,
                     "status": "OutOfSync", "requiresPruning": True,
                     "health": resource_health(group, kind, live)}
            if namespace:
                entry["namespace"] = namespace
            out.append(entry)
        return out

    def _aggregate_health(self, targets):
        worst_status, message = "Healthy", ""
        for target in targets:
            if target.is_hook:
                continue
            health = resource_health(target.group, target.kind, target.live)
            if HEALTH_ORDER.index(health["status"]) > HEALTH_ORDER.index(worst_status):
                worst_status = health["status"]
                message = "%s: %s" % (target.ident(), health.get("message") or health["status"])
        return _h(worst_status, message if worst_status != "Healthy" else "")

    def _app_health(self, app, health, _targets):
        key = "%s/%s" % (app["metadata"].get("namespace", NAMESPACE), app["metadata"]["name"])
        injected = self.ctx.failure("applications", key)
        if injected:
            return _h("Degraded", str(injected))
        return health

    # ---- sync operation

    def run_operation(self, app, state, revision, targets, extraneous, operation, options,
                      progress, resumed=None):
        """Run (or resume) a sync operation; return the operationState."""
        name = app["metadata"]["name"]
        sync = operation.get("sync") or {}
        options = dict(options)
        options.update(sync_options(sync.get("syncOptions")))
        started = (resumed or {}).get("startedAt") or now_iso()
        op_state = {"operation": operation, "phase": "Running", "message": "syncing",
                    "startedAt": started,
                    "syncResult": {"revision": revision, "resources": [],
                                   "source": self._source(app.get("spec") or {})}}
        if resumed and resumed.get("retryCount"):
            op_state["retryCount"] = resumed["retryCount"]
        if not resumed:
            self._write_operation_state(app, op_state)
            self.ctx.delay("applicationSync")
        selected = self._selected(sync.get("resources"), targets)
        results = op_state["syncResult"]["resources"]
        try:
            if options.get("CreateNamespace") == "true":
                self.ensure_namespace(app)
            ordered = sorted((t for t in targets if t in selected), key=Target.order)
            crd_kinds = set()
            for target in targets:
                if target.kind == "CustomResourceDefinition":
                    crd_spec = target.obj.get("spec") or {}
                    crd_kinds.add((crd_spec.get("group", ""),
                                   (crd_spec.get("names") or {}).get("kind")))
            groups = []
            for target in ordered:
                phase = HOOK_PHASES.get(target.hook_phase or "Sync", 1)
                if not groups or groups[-1][0] != (phase, target.wave):
                    groups.append(((phase, target.wave), []))
                groups[-1][1].append(target)
            for index, (_, group) in enumerate(groups):
                failed = []
                for target in group:
                    result = self.apply(app, state, target, options, crd_kinds)
                    results.append(result)
                    if result["status"] == "SyncFailed":
                        failed.append(result)
                if failed:
                    first = failed[0]
                    op_state.update(phase="Failed", message=(
                        "one or more objects failed to apply, reason: %s"
                        % first["message"]))
                    break
                more = index + 1 < len(groups)
                if more or any(t.is_hook for t in group):
                    self.wait_healthy(group, results, op_state, progress)
            else:
                prune = bool(sync.get("prune")) and options.get("Prune") != "false"
                if sync.get("resources"):  # a partial sync prunes only what it names
                    names = {((r.get("group") or ""), r.get("kind"), r.get("name"))
                             for r in sync["resources"]}
                    extraneous = [(k, v) for k, v in extraneous if (k[0], k[1], k[3]) in names]
                for key, live in reversed(extraneous):
                    results.append(self.prune(key, live, prune, options))
                op_state.update(phase="Succeeded", message="successfully synced (all tasks run)")
        except _HookFailed as failed:
            op_state.update(phase="Failed", message=str(failed))
        except Waiting as wait:
            op_state.update(phase="Running", message=str(wait))
        if op_state["phase"] != "Running":
            op_state["finishedAt"] = now_iso()
        log.info("application %s: sync %s at %s: %s", name, op_state["phase"], revision[:10],
                 op_state["message"])
        state.last_op = op_state
        return op_state

    @staticmethod
    def _selected(resources, targets):
        if not resources:
            return set(targets)
        wanted = {((r.get("group") or ""), r.get("kind"), r.get("name")) for r in resources}
        return {t for t in targets if (t.group, t.kind, t.name) in wanted}

    def _schedule_retry(self, state, op_state, revision, spec_hash):
        retry = (op_state.get("operation") or {}).get("retry") or {}
        limit = int(retry.get("limit") or 0)
        count = int(op_state.get("retryCount") or 0)
        if limit == 0 or (0 < limit <= count):
            return
        backoff = retry.get("backoff") or {}
        base = _duration(backoff.get("duration"), 5.0)
        factor = float(backoff.get("factor") or 2)
        delay = min(base * (factor ** count), _duration(backoff.get("maxDuration"), 180.0))
        state.retry_at = time.monotonic() + delay
        state.in_progress = {"revision": revision, "spec": spec_hash,
                             "operation": op_state["operation"],
                             "startedAt": op_state["startedAt"], "retryCount": count + 1}
        op_state["retryCount"] = count + 1
        op_state["phase"] = "Running"
        op_state["message"] = "%s. Retrying attempt #%d at %s." % (
            op_state["message"], count + 1, time.strftime("%H:%M%p", time.gmtime(
                time.time() + delay)))
        op_state.pop("finishedAt", None)
        state.attempt = None

    def ensure_namespace(self, app):
        spec = app.get("spec") or {}
        namespace = (spec.get("destination") or {}).get("namespace")
        if not namespace:
            return
        managed = (spec.get("syncPolicy") or {}).get("managedNamespaceMetadata") or {}
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        if managed.get("labels"):
            body["metadata"]["labels"] = managed["labels"]
        if managed.get("annotations"):
            body["metadata"]["annotations"] = managed["annotations"]
        if not managed and self.api.get("/api/v1/namespaces/" + namespace) is not None:
            return
        self.api.call("PATCH", "/api/v1/namespaces/" + namespace, body,
                      {"fieldManager": MANAGER, "force": "true"},
                      content_type="application/apply-patch+yaml")

    def _resolve_kind(self, target, targets_defining):
        """Discovery info of the target's kind, waiting a little for CRDs in flight."""
        info = self.discovery.lookup(target.api_version, target.kind)
        if info is not None:
            return info
        if (target.group, target.kind) in targets_defining:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                time.sleep(0.3)
                info = self.discovery.lookup(target.api_version, target.kind, max_age=0)
                if info is not None:
                    return info
        return None

    def apply(self, app, state, target, options, crd_kinds):
        # A sync result names the namespace always ("" when cluster-scoped): required upstream.
        result = dict(target.entry(), namespace=target.namespace)
        result.update({"syncPhase": target.hook_phase or "Sync"})
        info = self._resolve_kind(target, crd_kinds)
        if info is None:
            opts = dict(options)
            opts.update(target.options)
            message = ('The Kubernetes API could not find %s/%s for requested resource %s. Make '
                       'sure the "%s" CRD is installed on the destination cluster.'
                       % (target.group or "core", target.kind, target.ident(), target.kind))
            if opts.get("SkipDryRunOnMissingResource") == "true":
                raise Waiting("waiting for %s/%s to be served (SkipDryRunOnMissingResource): %s"
                              % (target.group, target.kind, target.ident()))
            result.update(status="SyncFailed", message=message)
            return result
        if target.info != info:
            target.place(info)
            result = dict(target.entry(), namespace=target.namespace)
            result.update({"syncPhase": target.hook_phase or "Sync"})
        opts = dict(options)
        opts.update(target.options)
        body = copy.deepcopy(target.obj)
        try:
            if target.is_hook:
                return self._run_hook(target, body, result)
            if opts.get("RespectIgnoreDifferences") == "true":
                live = self.api.get(target.path())
                if live is not None:
                    for pointer in self.ignored_pointers(app, target):
                        found, value = pointer_get(live, pointer)
                        if found:
                            pointer_set(body, pointer, copy.deepcopy(value))
                        else:
                            pointer_remove(body, pointer)
            query = {"fieldManager": MANAGER, "force": "true",
                     "fieldValidation": "Ignore" if opts.get("Validate") == "false" else "Strict"}
            target.live = self.api.call("PATCH", target.path(), body, query,
                                        content_type="application/apply-patch+yaml")
            state.managed.add(target.key)
            if target.kind == "CustomResourceDefinition":
                spec = body.get("spec") or {}
                for version in spec.get("versions") or []:
                    self.discovery.forget("%s/%s" % (spec.get("group"), version.get("name")))
            result.update(status="Synced", message=target.applied_message())
        except ApiException as exc:
            result.update(status="SyncFailed",
                          message="%s: %s" % (target.ident(), api_message(exc)))
        return result

    def _run_hook(self, target, body, result):
        result["hookType"] = target.hook_phase or "Sync"
        collection = object_path(target.api_version, target.info[0], target.namespace)
        if target.name and "BeforeHookCreation" in target.delete_policies:
            self._delete_and_wait(target.path(), 30)
        if target.name:
            live = self.api.call("PATCH", target.path(), body,
                                 {"fieldManager": MANAGER, "force": "true"},
                                 content_type="application/apply-patch+yaml")
        else:
            live = self.api.call("POST", collection, body)
            target.name = live["metadata"]["name"]
            result["name"] = target.name
        target.live = live
        result.update(status="Synced", message=target.applied_message(), hookPhase="Running")
        return result

    def _delete_and_wait(self, path, timeout):
        try:
            self.api.call("DELETE", path, {"kind": "DeleteOptions", "apiVersion": "v1",
                                           "propagationPolicy": "Foreground"})
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.api.get(path) is not None:
            time.sleep(0.2)

    def wait_healthy(self, group, results, op_state, progress):
        """Wait (bounded) until every object of a wave is healthy / every hook done.

        While waiting, ``progress(op_state)`` publishes the state every few seconds.
        """
        timeout = self.knob("waveTimeoutSeconds", 60.0)
        deadline = time.monotonic() + timeout
        pending = list(group)
        published = 0.0
        while True:
            still = []
            for target in pending:
                live = self.api.get(target.path()) if target.info else None
                target.live = live
                health = resource_health(target.group, target.kind, live)
                if target.is_hook:
                    done = health["status"] in ("Healthy", "Degraded")
                    if done:
                        self._hook_done(target, health, results)
                        if health["status"] == "Degraded":
                            raise _HookFailed(target, health)
                        continue
                    still.append((target, health))
                elif health["status"] not in ("Healthy", "Suspended"):
                    still.append((target, health))
            if not still:
                return
            if time.monotonic() >= deadline:
                target, health = still[0]
                verb = "completion of hook" if target.is_hook else "healthy state of"
                group_kind = "%s/%s" % (target.group, target.kind) if target.group else target.kind
                raise Waiting("waiting for %s %s/%s%s" % (
                    verb, group_kind, target.name,
                    (": " + health["message"]) if health.get("message") else ""))
            pending = [t for t, _ in still]
            if time.monotonic() - published > 2.0:
                target, health = still[0]
                op_state["message"] = "waiting for %s %s%s" % (
                    "completion of hook" if target.is_hook else "healthy state of",
                    target.ident(), (": " + health["message"]) if health.get("message") else "")
                try:
                    progress(op_state)
                except Waiting:
                    raise
                except Exception:  # pylint: disable=broad-except
                    log.debug("publishing progress failed", exc_info=True)
                published = time.monotonic()
            time.sleep(0.3)

    def _hook_done(self, target, health, results):
        for result in results:
            if result.get("hookType") and result.get("name") == target.name and \
                    result.get("kind") == target.kind:
                result["hookPhase"] = "Succeeded" if health["status"] == "Healthy" else "Failed"
                if health.get("message"):
                    result["message"] = health["message"]
        policy = "HookSucceeded" if health["status"] == "Healthy" else "HookFailed"
        if policy in target.delete_policies:
            try:
                self.api.call("DELETE", target.path(), {"kind": "DeleteOptions",
                                                        "apiVersion": "v1",
                                                        "propagationPolicy": "Background"})
            except ApiException:
                pass

    def prune(self, key, live, prune, options):
        group, kind, namespace, name = key
        version = split_api_version(live.get("apiVersion", "v1"))[1]
        result = {"group": group, "version": version, "kind": kind, "name": name,
                  "namespace": namespace or "", "syncPhase": "Sync"}
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        res_opts = sync_options(annotations.get(A_SYNC_OPTIONS))
        if not prune:
            result.update(status="PruneSkipped", message="ignored (requires pruning)")
            return result
        if res_opts.get("Prune") == "false":
            result.update(status="PruneSkipped", message="ignored (no prune)")
            return result
        policy = {"foreground": "Foreground", "orphan": "Orphan"}.get(
            options.get("PrunePropagationPolicy", "").lower(), "Background")
        info = self.discovery.lookup(live["apiVersion"], kind)
        try:
            self.api.call("DELETE", object_path(live["apiVersion"], info[0],
                                                namespace if info[1] else "", name),
                          {"kind": "DeleteOptions", "apiVersion": "v1",
                           "propagationPolicy": policy})
            result.update(status="Pruned", message="pruned")
        except ApiException as exc:
            if exc.status == 404:
                result.update(status="Pruned", message="pruned")
            else:
                result.update(status="SyncFailed", message=api_message(exc))
        return result

    # ---- manual operations, finalizer, status

    def _finish_manual(self, app, op_state):
        """Record a manual operation; once it ended, clear ``operation`` (as Argo CD).

        A running one keeps ``operation`` set, so the next pass resumes it.
        """
        name = app["metadata"]["name"]
        self.state(name).last_op = op_state
        self._write_operation_state(app, op_state)
        if op_state.get("phase") == "Running":
            return
        try:
            self._patch_app(name, [{"op": "remove", "path": "/operation"}])
        except ApiException as exc:
            if exc.status not in (404, 422):
                raise

    def finalize(self, app, state):
        meta = app["metadata"]
        finalizers = meta.get("finalizers") or []
        ours = [f for f in finalizers if f in FINALIZERS]
        if not ours:
            return
        name = meta["name"]
        keys = set(state.managed)
        status = app.get("status") or {}
        for res in status.get("resources") or []:
            keys.add((res.get("group", ""), res.get("kind"), res.get("namespace", ""),
                      res.get("name")))
        policy = "Foreground" if ours[0].endswith("/foreground") else "Background"
        remaining = []
        for key in sorted(keys, key=lambda k: (-KIND_ORDER.get(k[1], len(KIND_ORDER)), str(k))):
            group, kind, namespace, res_name = key
            live = self._live_of(group, kind, namespace, res_name,
                                 res_version=self._version_of(status, key))
            if live is None:
                continue
            annotations = (live.get("metadata") or {}).get("annotations") or {}
            if not annotations.get(TRACKING, "").startswith(name + ":"):
                continue
            if sync_options(annotations.get(A_SYNC_OPTIONS)).get("Delete") == "false":
                continue
            remaining.append(key)
            if live["metadata"].get("deletionTimestamp"):
                continue
            info = self.discovery.lookup(live["apiVersion"], kind)
            try:
                self.api.call("DELETE", object_path(live["apiVersion"], info[0],
                                                    namespace if info[1] else "", res_name),
                              {"kind": "DeleteOptions", "apiVersion": "v1",
                               "propagationPolicy": policy})
            except ApiException as exc:
                if exc.status != 404:
                    log.warning("application %s: deleting %s: %s", name, key, api_message(exc))
        if remaining:
            log.debug("application %s: waiting for %d resources to be deleted", name,
                      len(remaining))
            return
        kept = [f for f in finalizers if f not in FINALIZERS]
        try:
            self._patch_app(name, [{"op": "test", "path": "/metadata/finalizers",
                                    "value": finalizers},
                                   {"op": "replace", "path": "/metadata/finalizers",
                                    "value": kept}])
        except ApiException as exc:
            if exc.status not in (404, 409, 422):
                raise

    def _patch_app(self, name, ops):
        return self.api.call("PATCH", "%s/%s" % (APPS_PATH, name), ops,
                             {"fieldManager": MANAGER}, content_type="application/json-patch+json")

    def status_subresource(self):
        if self._status_subresource is None:
            crd = self.api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                               "applications.argoproj.io")
            versions = ((crd or {}).get("spec") or {}).get("versions") or []
            self._status_subresource = any(
                v.get("name") == VERSION and "status" in (v.get("subresources") or {})
                for v in versions)
        return self._status_subresource

    def _status_path(self, name):
        return "%s/%s%s" % (APPS_PATH, name, "/status" if self.status_subresource() else "")

    def _write_operation_state(self, app, op_state):
        name = app["metadata"]["name"]
        body = dict(op_state)
        for key in ("finishedAt", "retryCount"):
            body.setdefault(key, None)
        try:
            self.api.call("PATCH", self._status_path(name),
                          {"status": {"operationState": body}}, {"fieldManager": MANAGER},
                          content_type="application/merge-patch+json")
        except ApiException as exc:
            if exc.status != 404:
                raise

    def write_status(self, app, state, status):
        status = {k: v for k, v in status.items() if v is not None}
        old = {(c.get("type"), c.get("message")): c.get("lastTransitionTime")
               for c in ((app.get("status") or {}).get("conditions") or [])}
        for cond in status.get("conditions") or []:
            stamp = old.get((cond.get("type"), cond.get("message")))
            if stamp:
                cond["lastTransitionTime"] = stamp
        comparable = {k: v for k, v in status.items() if k not in ("reconciledAt", "observedAt")}
        if state.written == _digest(comparable):
            return
        status["reconciledAt"] = now_iso()
        status["observedAt"] = status["reconciledAt"]
        name = app["metadata"]["name"]
        try:
            self.api.call("PATCH", self._status_path(name),
                          [{"op": "add", "path": "/status", "value": status}],
                          {"fieldManager": MANAGER},
                          content_type="application/json-patch+json")
        except ApiException as exc:
            if exc.status == 404:
                self._status_subresource = None
                return
            raise
        state.written = _digest(comparable)


class _HookFailed(Waiting):
    def __init__(self, target, health):
        super().__init__("one or more synchronization tasks completed unsuccessfully, reason: "
                         "%s: %s" % (target.ident(), health.get("message") or "failed"))
        self.target = target


def _compare_option(live, option):
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return option in str(annotations.get("argocd.argoproj.io/compare-options", ""))


def run(ctx):
    controller = Controller(ctx)
    spawn(controller.ticker, name="argocd-ticker")
    watch_forever(ctx, ctx.custom.list_namespaced_custom_object, controller.on_event,
                  "argocd-applications", group=GROUP, version=VERSION, namespace=NAMESPACE,
                  plural=PLURAL)
