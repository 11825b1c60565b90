# SPDX-License-Identifier: Apache-2.0
"""Filter ``rhods.gitops.yaml_value``: a value written into a manifest template as data.

Every expression a role's manifest template writes goes through it, so a user's string lands in
the object as one scalar, whatever it holds: a newline followed by YAML (``storage_class:
"standard\\n  volumeName: injected"`` stays the storage class's name, and the API refuses it),
quotes, ``{{``, ``$()``, NUL, emoji, right-to-left marks.

The value is written as JSON (a subset of YAML's flow style), with three differences from
``to_json``: characters outside the Basic Multilingual Plane stay as they are (``to_json``
writes an emoji as a surrogate pair that YAML loads as two broken characters), and every
character YAML may not hold raw or reads as a line break (C0 and C1 controls, DEL, U+2028,
U+2029, U+FEFF, U+FFFE, U+FFFF) is written as an escape, so loading gives back exactly the
value. Pure Python; ``tests/unit/test_yaml_value.py``.
"""

import json
import re

# Raw characters YAML refuses, or reads as a line break inside a double-quoted scalar.
_NOT_RAW = re.compile("[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]")


def _escape(match):
    return "\\u{0:04x}".format(ord(match.group(0)))


def yaml_value(value):
    """``value`` (a string, number, boolean, null, list or mapping) as one YAML flow value."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=False)
    return _NOT_RAW.sub(_escape, text)


class FilterModule:
    """rhods.gitops manifest filters."""

    def filters(self):
        return {"yaml_value": yaml_value}
