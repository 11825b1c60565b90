# SPDX-License-Identifier: Apache-2.0
"""The rendered GitOps tree: one folder per component, kustomize-ready.

``render_component(component, manifests)`` turns a component's manifests (the
list a role's ``tasks/render.yml`` builds) into files, as bytes, without
touching the disk:

- ``<kind>-<name>.yaml`` per object (``<kind>-<namespace>-<name>.yaml`` when two
  objects of one kind share a name), one YAML document each, keys sorted,
  multi-line strings as literal blocks, a header line, a trailing newline;
- ``kustomization.yaml`` listing them in the order given (the roles give them
  in sync-wave order; Argo CD orders by the ``argocd.argoproj.io/sync-wave``
  annotation anyway).

The same input always gives the same bytes, so the tree committed in the
repository can be compared byte for byte with a fresh rendering.

Secrets are never written: every object of kind ``Secret`` is left out and
reported in ``excluded``. Their values reach the cluster directly (see
docs/gitops.md), never through git.

``TreeWriter`` writes a rendered component into a directory, reporting changed
only when bytes differ, and removes the YAML files a previous rendering wrote
that are no longer rendered. In check mode it only compares.
"""

import copy
import os
import re
import tempfile

from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.objects import ObjectRef, dig

try:
    import yaml
except ImportError:  # reported by the module (kubernetes.core requires PyYAML)
    yaml = None

KUSTOMIZATION = "kustomization.yaml"
HEADER = ("# Rendered by rhods.gitops ({0}). Do not edit: change the role variables and "
          "render again.\n---\n")
COMPONENT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")
# Server bookkeeping that never belongs in git.
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
                 "selfLink")
EXCLUDED_KINDS = ("Secret",)


def _dumper():
    class Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
        """Block style, literal blocks for multi-line strings, no aliases."""

        def ignore_aliases(self, data):
            return True

    def represent_str(dumper, data):
        style = "|" if "\n" in data else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)

    Dumper.add_representer(str, represent_str)
    return Dumper


def to_yaml(obj):
    """Deterministic YAML text of ``obj`` (sorted keys, block style, no line folding)."""
    if yaml is None:
        raise GitopsError("PyYAML is required to render the GitOps tree: pip install pyyaml")
    return yaml.dump(obj, Dumper=_dumper(), default_flow_style=False, sort_keys=True,
                     allow_unicode=True, width=1000000, indent=2)


def clean(manifest):
    """The manifest as it belongs in git: no status, no server bookkeeping."""
    out = copy.deepcopy(manifest)
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        annotations.pop("kubectl.kubernetes.io/last-applied-configuration", None)
    return out


def _identity(manifest, index, component):
    where = "manifests[{0}] of component {1}".format(index, component)
    if not isinstance(manifest, dict):
        raise GitopsError("{0} is a {1}, not an object.".format(where, type(manifest).__name__))
    for field in ("apiVersion", "kind"):
        if not manifest.get(field):
            raise GitopsError("{0} has no {1}.".format(where, field))
    if not dig(manifest, "metadata.name"):
        raise GitopsError("{0} ({1}) has no metadata.name.".format(where, manifest["kind"]))
    return ObjectRef.of(manifest)


def file_names(refs):
    """File name of each object: ``<kind>-<name>.yaml``, with the namespace added for
    objects whose kind and name occur more than once."""
    counts = {}
    for ref in refs:
        key = (ref.kind.lower(), ref.name)
        counts[key] = counts.get(key, 0) + 1
    names = []
    for ref in refs:
        kind = ref.kind.lower()
        if counts[(kind, ref.name)] > 1 and ref.namespace:
            names.append("{0}-{1}-{2}.yaml".format(kind, ref.namespace, ref.name))
        else:
            names.append("{0}-{1}.yaml".format(kind, ref.name))
    seen = set()
    for ref, name in zip(refs, names):
        if name in seen:
            raise GitopsError("{0} occurs twice in the manifests: each object may be rendered "
                              "once.".format(ref))
        seen.add(name)
    return names


class Rendered:
    """A rendered component: ``files`` (name -> bytes, kustomization last), ``objects``
    (refs written) and ``excluded`` (refs left out, the Secrets)."""

    def __init__(self, component, files, objects, excluded):
        self.component = component
        self.files = files
        self.objects = objects
        self.excluded = excluded


def render_component(component, manifests):
    """Render ``manifests`` of ``component`` into files (see the module docstring)."""
    if not isinstance(component, str) or not COMPONENT_NAME.match(component):
        raise GitopsError("component {0!r} is not a valid folder name: use lower case letters, "
                          "digits, '-' and '_' (for example custom-notebook).".format(component))
    if not isinstance(manifests, list):
        raise GitopsError("manifests of component {0} must be a list of objects, not {1}.".format(
            component, type(manifests).__name__))
    kept, refs, excluded = [], [], []
    for index, manifest in enumerate(manifests):
        if manifest is None:
            continue
        ref = _identity(manifest, index, component)
        if ref.kind in EXCLUDED_KINDS:
            excluded.append(ref)
            continue
        kept.append(clean(manifest))
        refs.append(ref)
    names = file_names(refs)
    header = HEADER.format(component).encode("utf-8")
    files = {}
    for name, manifest in zip(names, kept):
        files[name] = header + to_yaml(manifest).encode("utf-8")
    kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                     "resources": names}
    files[KUSTOMIZATION] = header + to_yaml(kustomization).encode("utf-8")
    return Rendered(component, files, refs, excluded)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _text(data):
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "<binary file>"


class TreeWriter:
    """Writes rendered components below ``root`` (``<root>/<component>/``)."""

    def __init__(self, root, check_mode=False):
        self.root = root
        self.check_mode = check_mode

    def component_dir(self, component):
        return os.path.join(self.root, component)

    def write(self, rendered):
        """Write one component; return {written, removed, unchanged, diffs} (names relative
        to the component folder)."""
        folder = self.component_dir(rendered.component)
        if os.path.exists(folder) and not os.path.isdir(folder):
            raise GitopsError("{0} exists and is not a directory: the GitOps tree needs a folder "
                              "there for component {1}.".format(folder, rendered.component))
        written, unchanged, removed, diffs = [], [], [], []
        for name, data in rendered.files.items():
            path = os.path.join(folder, name)
            before = _read(path)
            if before == data:
                unchanged.append(name)
                continue
            written.append(name)
            diffs.append({"before_header": path, "after_header": path,
                          "before": _text(before), "after": _text(data)})
            if not self.check_mode:
                _write_atomic(path, data)
        if os.path.isdir(folder):
            for name in sorted(os.listdir(folder)):
                path = os.path.join(folder, name)
                if name in rendered.files or not name.endswith((".yaml", ".yml")) or \
                        not os.path.isfile(path):
                    continue
                removed.append(name)
                diffs.append({"before_header": path, "after_header": path + " (removed)",
                              "before": _text(_read(path)), "after": ""})
                if not self.check_mode:
                    os.unlink(path)
        return {"written": written, "removed": removed, "unchanged": unchanged, "diffs": diffs}


def _write_atomic(path, data):
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=".rhods-gitops-", dir=folder)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _publish(worktree, git_options, result, check_mode):
    """Commit and push the component's folder (not in check mode); fill the git keys of
    ``result``; return whether the working copy or the remote changed."""
    changed = False
    if not check_mode:
        message = git_options.get("commit_message") or \
            "rhods.gitops: render component {0}".format(result["component"])
        if worktree.commit(result["path"], message):
            result["committed"] = True
            changed = True
        if git_options.get("push", True) and worktree.ahead():
            worktree.push()
            result["pushed"] = True
            changed = True
    if worktree.exists():
        result["revision"] = worktree.revision()
    result["git_actions"] = worktree.actions
    return changed or any(a != "fast-forwarded" for a in worktree.actions)


def run_render_tree(params, check_mode=False, want_diff=False):
    """The render_tree module: render one component into ``dest``/``path``/``component``,
    optionally in a git working copy that is brought up to date, committed and pushed.

    Returns the module result (without ``changed`` bookkeeping of Ansible)."""
    # Imported here: the git module needs nothing of this one, and rendering alone
    # (playbooks/render.yml without git) needs no git binary.
    from ansible_collections.rhods.gitops.plugins.module_utils.git import (  # noqa: E501 pylint: disable=import-outside-toplevel
        Git,
        Worktree,
    )

    rendered = render_component(params["component"], params["manifests"])
    dest = os.path.abspath(os.path.expanduser(params["dest"]))
    rel = (params.get("path") or "").strip("/")
    if rel.startswith("..") or os.path.isabs(rel):
        raise GitopsError("path {0!r} must be a folder inside dest, for example rhods-gitops."
                          .format(params.get("path")))
    git_options = params.get("git") or None
    worktree = None
    git = None
    result = {"component": rendered.component,
              "path": "/".join(p for p in (rel, rendered.component) if p),
              "dir": os.path.join(dest, rel, rendered.component) if rel else
              os.path.join(dest, rendered.component),
              "files": sorted(rendered.files),
              "objects": [str(ref) for ref in rendered.objects],
              "excluded": [str(ref) for ref in rendered.excluded],
              "revision": None, "committed": False, "pushed": False, "git_actions": []}
    try:
        if git_options:
            git = Git(dest, username=git_options.get("username"),
                      password=git_options.get("password"),
                      author_name=git_options.get("author_name") or "rhods.gitops",
                      author_email=git_options.get("author_email") or "rhods.gitops@localhost")
            worktree = Worktree(git, git_options["url"], git_options.get("branch") or "main",
                                create_local_remote=git_options.get("create_local_remote", True))
            worktree.prepare(check_mode)
        writer = TreeWriter(os.path.join(dest, rel) if rel else dest, check_mode)
        outcome = writer.write(rendered)
        changed = bool(outcome["written"] or outcome["removed"])
        result.update(written=outcome["written"], removed=outcome["removed"])
        if want_diff and outcome["diffs"]:
            result["diff"] = outcome["diffs"]
        if worktree is not None:
            changed = _publish(worktree, git_options, result, check_mode) or changed
        result["changed"] = changed
        return result
    finally:
        if git is not None:
            git.close()
