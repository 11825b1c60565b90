"""Build etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl from Go modules.

Both ``k8s.io/kubernetes`` and ``go.etcd.io/etcd/server/v3`` carry ``replace``
directives pointing into their own source trees, so ``go install`` refuses them.
The known way around it is a throw-away wrapper module per product that
requires the product and replaces every relative-path module with its published
version.  The list of replacements is read from the go.mod the module proxy
serves, so a new release needs no code change here.

Binaries are cached under ``$LOCALCLUSTER_CACHE/bin/<product>-<version>/``; a
second ``build`` finds them and does nothing.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

from . import argocd, config, crds, olm


def _go_env():
    env = dict(os.environ)
    env.setdefault("GOFLAGS", "-mod=mod")
    if "-mod=mod" not in env["GOFLAGS"]:
        env["GOFLAGS"] += " -mod=mod"
    # sum.golang.org is not reachable from the build machines; the module proxy is.
    # Only these throw-away wrapper builds turn the checksum database off.
    env["GOSUMDB"] = "off"
    env["CGO_ENABLED"] = "0"
    return env


def _run(cmd, cwd, env):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=cwd, env=env, check=True)


def _upstream_gomod(module, version, env):
    out = subprocess.run(
        ["go", "list", "-m", "-json", "%s@%s" % (module, version)],
        env=env, check=True, capture_output=True, text=True, cwd=config.cache_dir(),
    ).stdout
    path = json.loads(out)["GoMod"]
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _relative_replacements(gomod_text):
    """Return the module paths that the upstream go.mod replaces with a local path."""
    mods = []
    for line in gomod_text.splitlines():
        match = re.match(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\.\.?/\S+)\s*$", line)
        if match and "FORBIDDEN" not in match.group(2):
            mods.append(match.group(1))
    return mods


def _write_wrapper(workdir, module, version, replace_version_for):
    env = _go_env()
    upstream = _upstream_gomod(module, version, env)
    go_line = re.search(r"^go\s+(\S+)", upstream, re.M).group(1)
    lines = ["module localcluster.build/%s" % re.sub(r"[^a-z0-9]+", "-", module.lower()), "",
             "go %s" % go_line, "", "require %s %s" % (module, version), ""]
    for dep in _relative_replacements(upstream):
        lines.append("replace %s => %s %s" % (dep, dep, replace_version_for(dep)))
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "go.mod"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return env


def _kube_staging_version(kube_version):
    # k8s.io/kubernetes v1.X.Y publishes its staging modules as v0.X.Y.
    return "v0" + kube_version[2:]


def build_kube(version):
    dest = config.kube_bin_dir(version)
    wanted = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"]
    if all(os.path.exists(os.path.join(dest, name)) for name in wanted):
        print("kubernetes %s: cached in %s" % (version, dest))
        return
    workdir = os.path.join(config.cache_dir(), "src", "kube-" + version)
    env = _write_wrapper(workdir, "k8s.io/kubernetes", version,
                         lambda dep: _kube_staging_version(version))
    ldflags = " ".join(
        "-X %s.%s=%s" % (pkg, var, val)
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
        for var, val in (("gitVersion", version), ("gitMajor", version[1:].split(".")[0]),
                         ("gitMinor", version.split(".")[1]), ("gitTreeState", "clean"))
    )
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.monotonic()
    _run(["go", "mod", "download", "k8s.io/kubernetes"], workdir, env)
    _run(["go", "build", "-trimpath", "-ldflags", "-s -w " + ldflags, "-o", tmp + "/"]
         + ["k8s.io/kubernetes/cmd/" + name for name in wanted], workdir, env)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print("kubernetes %s: built in %.0fs into %s" % (version, time.monotonic() - started, dest))


def build_etcd(version):
    dest = config.etcd_bin_dir(version)
    if os.path.exists(os.path.join(dest, "etcd")):
        print("etcd %s: cached in %s" % (version, dest))
        return
    workdir = os.path.join(config.cache_dir(), "src", "etcd-" + version)
    env = _write_wrapper(workdir, "go.etcd.io/etcd/server/v3", version, lambda dep: version)
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.monotonic()
    _run(["go", "build", "-trimpath", "-ldflags", "-s -w", "-o", os.path.join(tmp, "etcd"),
          "go.etcd.io/etcd/server/v3"], workdir, env)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print("etcd %s: built in %.0fs into %s" % (version, time.monotonic() - started, dest))


def build_all():
    os.makedirs(config.cache_dir(), exist_ok=True)
    build_etcd(config.ETCD_VERSION)
    build_kube(config.KUBE_VERSION)
    crds.build()
    olm.build_all()
    from . import kwok, notebook_controller  # pylint: disable=import-outside-toplevel
    kwok.build_kwok()
    notebook_controller.build_notebook_controller()
    argocd.build_all()
