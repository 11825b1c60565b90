# SPDX-License-Identifier: Apache-2.0
"""What enters an inline image build's Containerfile as text, checked against a strict grammar.

The manifests are data (``rhods.gitops.yaml_value``), but the Containerfile the custom_notebook
role writes is text that a shell and the build read: the registry and base namespace of its
``FROM``, each ``python_imports`` entry (run as ``python3 -c 'import <name>'``) and the
requirement lines. ``problems(values)`` names every value that does not fit, so nothing can
start a new instruction or break out of the quoting. Pure Python; ``tests/unit/test_notebooks.py``.
"""

import re

from ansible_collections.rhods.gitops.plugins.module_utils import naming

PY_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?"
                      r"(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$")
CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def _where(variable, index, item):
    name = item.get("name") if isinstance(item, dict) else None
    return "{0}[{1}]{2}".format(variable, index, " ({0})".format(name) if name else "")


def problems(values, variable="custom_notebook_images"):
    """Registry, base namespace, each image's python_imports and requirement lines."""
    errors = []
    registry = values.get("custom_notebook_registry")
    if not isinstance(registry, str) or not REGISTRY.match(registry):
        errors.append("custom_notebook_registry {0!r} is not a registry host[:port][/path], for "
                      "example image-registry.openshift-image-registry.svc:5000.".format(registry))
    errors.extend(naming.dns_label_problems(values.get("custom_notebook_base_namespace"),
                                            "custom_notebook_base_namespace", "namespace name"))
    for index, image in enumerate(values.get(variable) or []):
        if not isinstance(image, dict):
            continue
        where = _where(variable, index, image)
        for number, module in enumerate(image.get("python_imports") or []):
            if not isinstance(module, str) or not PY_MODULE.match(module):
                errors.append("{0}: python_imports[{1}] {2!r} is not a Python module name "
                              "(dotted identifiers, for example lightgbm or sklearn.ensemble): "
                              "the build runs python3 -c 'import <name>'.".format(
                                  where, number, module))
        lock = image.get("requirements")
        for number, line in enumerate(lock.split("\n") if isinstance(lock, str) else [],
                                      start=1):
            if CONTROL.search(line.rstrip("\r")):
                errors.append("{0}: requirements line {1} holds a control character: write "
                              "plain requirement lines (name==version --hash=...).".format(
                                  where, number))
    return errors
