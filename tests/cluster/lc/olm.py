"""OLM v0 (olm + catalog operators) and opm: build from Go modules, cached by version.

Both products are built through a throw-away wrapper module (as ``build.py``
does for kubernetes and etcd) that requires the product and copies its
``replace`` lines, so ``go build`` resolves the same dependency graph as
upstream.  Binaries go to ``$LOCALCLUSTER_CACHE/bin/<product>-<version>/``.
"""

import os
import re
import shutil
import time

from . import build, config

OLM_MODULE = "github.com/operator-framework/operator-lifecycle-manager"
OPM_MODULE = "github.com/operator-framework/operator-registry"
OLM_VERSION = os.environ.get("LOCALCLUSTER_OLM_VERSION", "v0.46.0")
OPM_VERSION = os.environ.get("LOCALCLUSTER_OPM_VERSION", "v1.73.0")
OPM_TAGS = "json1,containers_image_openpgp"


def olm_bin_dir(version=OLM_VERSION):
    return os.path.join(config.cache_dir(), "bin", "olm-" + version)


def opm_bin_dir(version=OPM_VERSION):
    return os.path.join(config.cache_dir(), "bin", "opm-" + version)


def _replace_lines(gomod_text):
    """Every ``replace`` of the upstream go.mod that does not point at a local path."""
    lines, in_block = [], False
    for line in gomod_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("replace ("):
            in_block = True
            continue
        if in_block and stripped == ")":
            in_block = False
            continue
        if in_block or stripped.startswith("replace "):
            body = stripped[len("replace "):] if stripped.startswith("replace ") else stripped
            if "=>" in body and not re.search(r"=>\s*\.\.?/", body):
                lines.append("replace " + body)
    return lines


def _write_wrapper(workdir, module, version):
    env = build._go_env()  # pylint: disable=protected-access
    upstream = build._upstream_gomod(module, version, env)  # pylint: disable=protected-access
    go_line = re.search(r"^go\s+(\S+)", upstream, re.M).group(1)
    lines = ["module localcluster.build/%s" % re.sub(r"[^a-z0-9]+", "-", module.lower()), "",
             "go %s" % go_line, "", "require %s %s" % (module, version), ""]
    lines += _replace_lines(upstream)
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "go.mod"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return env


def _build(product, module, version, dest, packages, ldflags="", tags=""):
    names = [pkg.rsplit("/", 1)[1] for pkg in packages]
    if all(os.path.exists(os.path.join(dest, name)) for name in names):
        print("%s %s: cached in %s" % (product, version, dest))
        return
    workdir = os.path.join(config.cache_dir(), "src", "%s-%s" % (product, version))
    env = _write_wrapper(workdir, module, version)
    tmp = dest + ".partial"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    started = time.monotonic()
    cmd = ["nice", "-n", "10", "go", "build", "-trimpath", "-ldflags", ("-s -w " + ldflags).strip()]
    if tags:
        cmd += ["-tags", tags]
    build._run(cmd + ["-o", tmp + "/"] + packages, workdir, env)  # pylint: disable=protected-access
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    print("%s %s: built in %.0fs into %s" % (product, version, time.monotonic() - started, dest))


def build_olm(version=OLM_VERSION):
    ldflags = "-X %s/pkg/version.OLMVersion=%s" % (OLM_MODULE, version.lstrip("v"))
    _build("olm", OLM_MODULE, version, olm_bin_dir(version),
           [OLM_MODULE + "/cmd/olm", OLM_MODULE + "/cmd/catalog"], ldflags)


def build_opm(version=OPM_VERSION):
    ldflags = "-X %s/cmd/opm/version.opmVersion=%s" % (OPM_MODULE, version)
    _build("opm", OPM_MODULE, version, opm_bin_dir(version),
           [OPM_MODULE + "/cmd/opm"], ldflags, OPM_TAGS)


def build_all():
    build_olm()
    build_opm()
