# SPDX-License-Identifier: Apache-2.0
"""Custom notebook images and workbenches: the checks that must pass before
anything is written.

``validate_images`` and ``validate_workbenches`` are pure (unit tested without
a cluster): Kubernetes quantities (``2Gi``, not ``2GB``), object names, sizes,
image references and sources. ``check_base_tags`` compares the wanted base
tags with what the base ImageStream really has in ``status.tags``. Every
message names the variable, the item, the field and an example of a valid
value.
"""

import re
from decimal import Decimal, InvalidOperation

from ansible_collections.rhods.gitops.plugins.module_utils import containerfile, naming
from ansible_collections.rhods.gitops.plugins.module_utils.errors import GitopsError
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
           "Ei": 2 ** 60}
_DECIMAL = {"m": Decimal("0.001"), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
            "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "P": Decimal(10) ** 15,
            "E": Decimal(10) ** 18}
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_HASH = re.compile(r"(^|\s)--hash[= ]sha256:[0-9a-fA-F]{64}(\s|$)")
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[^\s=]+")
SOURCE_TYPES = ("dockerfile", "git", "binary")
# A StatefulSet's pods carry controller-revision-hash: <name>-<hash of up to 10 characters>.
WORKBENCH_NAME_MAX = 52
# Builds are <name>-<number> and carry that as a label: room for 99999 builds.
IMAGE_NAME_MAX = 57
# What the role's own annotations (keys and fixed values) add to a user's texts, at most.
ANNOTATION_OVERHEAD = 4096


def parse_quantity(value):
    """The value of a Kubernetes quantity as a Decimal (bytes for memory), or None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.match(value.strip())
    if not match or value.strip() != value:
        return None
    try:
        number = Decimal(match.group("number"))
    except InvalidOperation:
        return None
    suffix = match.group("suffix") or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    if suffix in _DECIMAL:
        return number * _DECIMAL[suffix]
    if suffix[:1] in ("e", "E"):
        return number * (Decimal(10) ** int(suffix[1:]))
    return number


def quantity_error(where, field, value, example):
    return ("{0}: {1} {2!r} is not a Kubernetes quantity. Write a number with a binary (Ki, Mi, "
            "Gi, Ti) or decimal (k, M, G, T) suffix, for example {1}: {3} ({4} is not a "
            "suffix Kubernetes knows).".format(where, field, value, example,
                                               _bad_suffix(value)))


def _bad_suffix(value):
    text = str(value)
    match = re.match(r"^[+-]?[0-9.]*", text)
    suffix = text[match.end():] if match else text
    return "'{0}'".format(suffix) if suffix else "the value"


def require_quantity(errors, where, field, value, example, positive=True):
    parsed = parse_quantity(value)
    if parsed is None:
        errors.append(quantity_error(where, field, value, example))
        return None
    if positive and parsed <= 0:
        errors.append("{0}: {1} {2!r} must be greater than zero, for example {1}: {3}.".format(
            where, field, value, example))
        return None
    return parsed


def _name_error(where, field, value, rule, example):
    return ("{0}: {1} {2!r} is not a valid name: {3}, for example {1}: {4}.".format(
        where, field, value, rule, example))


def check_label(errors, where, field, value, example, dns1035=False):
    pattern = _DNS1035_LABEL if dns1035 else _DNS1123_LABEL
    rule = ("lower-case letters, digits and '-', starting with a letter, at most 63 characters"
            if dns1035 else
            "lower-case letters, digits and '-', starting and ending with a letter or digit, "
            "at most 63 characters")
    if not isinstance(value, str) or not value or len(value) > 63 or not pattern.match(value):
        errors.append(_name_error(where, field, value, rule, example))
        return False
    return True


def check_subdomain(errors, where, field, value, example):
    if not isinstance(value, str) or not value or len(value) > 253 or \
            not _DNS1123_SUBDOMAIN.match(value):
        errors.append(_name_error(where, field, value, "lower-case letters, digits, '-' and '.', "
                                  "at most 253 characters", example))
        return False
    return True


def check_tag(errors, where, field, value, example):
    if not isinstance(value, str) or not _TAG.match(value):
        errors.append("{0}: {1} {2!r} is not a valid image tag: letters, digits, '_', '.' and "
                      "'-', at most 128 characters, for example {1}: \"{3}\" (quote numbers like "
                      "3.3.5 or 2025.2 so YAML keeps them strings).".format(
                          where, field, value, example))
        return False
    return True


def _item_where(variable, index, item):
    name = item.get("name") if isinstance(item, dict) else None
    return "{0}[{1}]{2}".format(variable, index, " ({0})".format(name) if name else "")


def _mappings(errors, items, variable, fields):
    """``(where, item)`` of each mapping of the list ``items``; an error for any other item,
    which should be a mapping with ``fields``."""
    for index, item in enumerate(items or []):
        where = _item_where(variable, index, item)
        if isinstance(item, dict):
            yield where, item
        else:
            errors.append("{0} must be a mapping with {1}.".format(where, fields))


def _requirements(lock):
    """``(line number, text)`` of each requirement of a pip lock, continuation lines joined."""
    out, number, parts = [], None, []
    for index, line in enumerate(lock.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if text and number is None:
            number = index
        parts.append(text.rstrip("\\").strip())
        if not text.endswith("\\"):
            if number is not None and " ".join(p for p in parts if p):
                out.append((number, " ".join(p for p in parts if p)))
            number, parts = None, []
    if number is not None:
        out.append((number, " ".join(p for p in parts if p)))
    return out


def lock_problems(where, lock):
    """Every requirement pinned (name==version) and with its --hash=sha256, as the build's
    ``pip install --require-hashes`` needs (it would fail only later, on the cluster)."""
    errors = []
    for number, text in _requirements(lock):
        if text.startswith("--"):
            continue
        if not _REQUIREMENT.match(text):
            errors.append("{0}: requirements line {1} ({2!r}) is not pinned: write "
                          "name==version, for example lightgbm==3.3.5.".format(
                              where, number, text.split(" --", 1)[0]))
        elif not _HASH.search(text):
            errors.append("{0}: requirements line {1} ({2!r}) has no --hash=sha256:<64 hex "
                          "digits>: the build installs with --require-hashes; add the hash of "
                          "each file (pip hash, or pip download and sha256sum).".format(
                              where, number, text))
    return errors


def _check_image_identity(errors, where, image):
    """The image's name, and the size of its ImageStream's annotations."""
    if check_subdomain(errors, where, "name", image.get("name"), "lightgbm") and \
            len(image["name"]) > IMAGE_NAME_MAX:
        errors.append("{0}: name {1!r} has {2} characters, at most {3} work: its builds are "
                      "named and labelled <name>-<number>, and a label value has at most "
                      "63. Choose a shorter name.".format(where, image["name"],
                                                          len(image["name"]), IMAGE_NAME_MAX))
    size = naming.text_size(image.get("display_name"), image.get("description"),
                            image.get("url"), image.get("creator"), image.get("software"),
                            image.get("python_dependencies")) + ANNOTATION_OVERHEAD
    if size > naming.ANNOTATIONS_MAX:
        errors.append(naming.annotation_size_problem(where, size))


def _check_source(errors, where, image):
    """The image's source, and the lock of a dockerfile source."""
    source = image.get("source")
    stype = source.get("type") if isinstance(source, dict) else None
    if stype not in SOURCE_TYPES:
        errors.append("{0}: source.type {1!r} is not one of {2}.".format(
            where, stype, ", ".join(SOURCE_TYPES)))
    elif stype == "git" and not source.get("uri"):
        errors.append("{0}: source.type git needs source.uri (the repository to clone), "
                      "for example uri: https://github.com/example/notebooks.git".format(where))
    elif stype == "binary" and (not isinstance(source.get("dir"), str) or
                                not source.get("dir")):
        errors.append("{0}: source.type binary needs source.dir, the local directory to "
                      "upload (it holds the Containerfile), for example dir: "
                      "images/lightgbm".format(where))
    if stype == "dockerfile":
        lock = image.get("requirements")
        if not isinstance(lock, str) or not lock.strip():
            errors.append("{0}: requirements is empty: give the pinned dependency lock, one "
                          "requirement per line, for example lightgbm==3.3.5 "
                          "--hash=sha256:<digest>.".format(where))
        else:
            errors.extend(lock_problems(where, lock))


def validate_images(images, variable="custom_notebook_images"):
    """Check the image list; return ``[(stream, tag)]`` declared. Raise on any error."""
    errors, declared = [], []
    for where, image in _mappings(errors, images, variable, "name, tag and source"):
        _check_image_identity(errors, where, image)
        tag = image.get("tag")
        check_tag(errors, where, "tag", tag, "3.3.5")
        if image.get("base_tag") is not None:
            check_tag(errors, where, "base_tag", image.get("base_tag"), "2025.2")
        _check_source(errors, where, image)
        key = (image.get("name"), str(tag))
        if key in declared:
            errors.append("{0}: image {1}:{2} is declared twice.".format(where, *key))
        declared.append(key)
    if errors:
        raise GitopsError("Invalid {0}:\n- {1}".format(variable, "\n- ".join(errors)),
                          errors=errors)
    return declared


def _check_size(errors, warnings, where, bench, sizes, shm):
    """The workbench's size is one of ``sizes``; a /dev/shm above its memory limit is a warning."""
    size = bench.get("size")
    if size not in (sizes or {}):
        errors.append("{0}: size {1!r} is not one of the sizes the dashboard offers "
                      "(rhods_notebook_sizes: {2}).".format(
                          where, size, ", ".join(sizes or {}) or "none"))
        return
    limit = parse_quantity(dig(sizes[size], "limits.memory") or "")
    if shm is not None and limit is not None and shm > limit:
        warnings.append("{0}: shm_size {1} is larger than the memory limit of size {2} "
                        "({3}); /dev/shm counts against that limit.".format(
                            where, bench.get("shm_size"), size, dig(sizes[size], "limits.memory")))


def _check_image(errors, where, image, declared_images, existing_streams):
    """``image`` is <imagestream>:<tag>, built by the role or (when known) already there."""
    if not isinstance(image, str) or image.count(":") != 1 or "/" in image:
        errors.append("{0}: image {1!r} must be <imagestream>:<tag> of a notebook image in "
                      "the applications namespace, for example image: lightgbm:3.3.5 "
                      "(quote it in YAML).".format(where, image))
        return
    stream, tag = image.split(":", 1)
    known = (stream, tag) in declared_images or tag in (
        (existing_streams or {}).get(stream) or [])
    if not known and existing_streams is not None:
        errors.append("{0}: image {1} is neither built by this role (custom_notebook_"
                      "images: {2}) nor a tag of an ImageStream in the applications "
                      "namespace.".format(where, image, ", ".join(
                          "{0}:{1}".format(*i) for i in declared_images) or "none"))


def _check_identity(errors, where, bench):
    """The workbench's name and namespace, and the size of its annotations."""
    if check_label(errors, where, "name", bench.get("name"), "demo-lightgbm-workbench",
                   dns1035=True) and len(bench["name"]) > WORKBENCH_NAME_MAX:
        errors.append("{0}: name {1!r} has {2} characters, at most {3} work: the workbench "
                      "runs as a StatefulSet whose pods carry the label controller-revision-"
                      "hash <name>-<hash> (at most 63). Choose a shorter name.".format(
                          where, bench["name"], len(bench["name"]), WORKBENCH_NAME_MAX))
    if check_label(errors, where, "namespace", bench.get("namespace"), "notebook-demo"):
        errors.extend("{0}: {1}".format(where, p) for p in naming.namespace_problems(
            bench["namespace"], "namespace")[:1])
    size = naming.text_size(bench.get("display_name"), bench.get("description"),
                            bench.get("owner")) + ANNOTATION_OVERHEAD
    if size > naming.ANNOTATIONS_MAX:
        errors.append(naming.annotation_size_problem(where, size))


def validate_workbenches(workbenches, sizes, declared_images, existing_streams=None,
                         variable="custom_notebook_workbenches"):
    """Check the workbench list against the sizes and images; raise on any error.

    ``existing_streams``: ``{stream: [tags]}`` already in the applications
    namespace (None when unknown), for workbenches that use an image this
    role does not build. Returns a list of warnings."""
    errors, warnings, seen = [], [], set()
    for where, bench in _mappings(errors, workbenches, variable, "name, namespace and image"):
        _check_identity(errors, where, bench)
        key = (bench.get("namespace"), bench.get("name"))
        if key in seen:
            errors.append("{0}: workbench {1}/{2} is declared twice.".format(where, *key))
        seen.add(key)
        if bench.get("pvc_name") is not None:
            check_subdomain(errors, where, "pvc_name", bench.get("pvc_name"),
                            "demo-lightgbm-workbench")
        shm = require_quantity(errors, where, "shm_size", bench.get("shm_size"), "2Gi")
        require_quantity(errors, where, "storage_size", bench.get("storage_size"), "20Gi")
        _check_size(errors, warnings, where, bench, sizes, shm)
        _check_image(errors, where, bench.get("image"), declared_images, existing_streams)
        connections = bench.get("data_connections") or []
        if not isinstance(connections, list) or not all(
                isinstance(c, str) and c for c in connections):
            errors.append("{0}: data_connections must be a list of Secret names, for example "
                          "[aws-connection-minio].".format(where))
        access = bench.get("access") or {}
        for field in ("users", "groups"):
            value = access.get(field) if isinstance(access, dict) else None
            if value is not None and (not isinstance(value, list) or not all(
                    isinstance(v, str) and v for v in value)):
                errors.append("{0}: access.{1} must be a list of names.".format(where, field))
    if errors:
        raise GitopsError("Invalid {0}:\n- {1}".format(variable, "\n- ".join(errors)),
                          errors=errors)
    return warnings


def _errors_of(check, *args):
    try:
        check(*args)
    except GitopsError as error:
        return list(error.details.get("errors") or [error.msg])
    return []


def input_problems(values):
    """The problems of the role's normalized input a spec cannot express (no cluster)."""
    images = values["custom_notebook_images"]
    declared = [(i.get("name"), str(i.get("tag"))) for i in images]
    grace = values.get("custom_notebook_trigger_grace")
    out = naming.dns_label_problems(values["custom_notebook_namespace"],
                                    "custom_notebook_namespace", "namespace name")
    if isinstance(grace, int) and grace < 0:
        out.append("custom_notebook_trigger_grace is {0}: give 0 or more seconds.".format(grace))
    out.extend(_errors_of(validate_images, images))
    out.extend(_errors_of(validate_workbenches, values["custom_notebook_workbenches"],
                          values["custom_notebook_sizes"], declared))
    return out + containerfile.problems(values)


def derive(values):
    """The defaults that depend on other fields: an image's display name (its name) and base
    tag (custom_notebook_base_tag); a workbench's display name and PVC (its name), the PVC's
    display name and description, and access (custom_notebook_default_access)."""
    out = dict(values)
    out["custom_notebook_images"] = [dict(
        image, display_name=image["display_name"] or image["name"],
        base_tag=image["base_tag"] or values["custom_notebook_base_tag"])
        for image in values["custom_notebook_images"]]
    out["custom_notebook_workbenches"] = [_derive_workbench(bench, values)
                                          for bench in values["custom_notebook_workbenches"]]
    return out


def _derive_workbench(bench, values):
    pvc_name = bench["pvc_name"] or bench["name"]
    return dict(bench, display_name=bench["display_name"] or bench["name"], pvc_name=pvc_name,
                storage_display_name=bench["storage_display_name"] or pvc_name,
                storage_description=bench["storage_description"] or "Storage of workbench "
                + bench["name"],
                access=bench["access"] or values["custom_notebook_default_access"])


def check_base_tag(stream, namespace, name, tag, users):
    """Raise unless ImageStream ``namespace/name`` has ``tag`` in status.tags."""
    available = [t.get("tag") for t in dig(stream, "status.tags", []) or [] if t.get("items")]
    if tag in available:
        return
    raise GitopsError(
        "Base image tag {1}:{2} is not in ImageStream {0}/{1} (status.tags has: {3}), so the "
        "build of {4} cannot start. Set custom_notebook_base_tag (or the image's base_tag) to "
        "one of the available tags.".format(namespace, name, tag,
                                            ", ".join(available) or "no tags yet",
                                            ", ".join(users)),
        base_image_stream="{0}/{1}".format(namespace, name), base_tag=tag,
        available_tags=available)
