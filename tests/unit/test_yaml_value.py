"""rhods.gitops.yaml_value: what a manifest template writes loads back to exactly the value,
and every template writes every expression through it."""

import glob
import os
import random
import re

import pytest
import yaml

from ansible_collections.rhods.gitops.plugins.filter.manifests import yaml_value

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSTILE = ["line1\n  volumeName: injected\nsecurityContext: {privileged: true}",
           "quotes \" ' ` \\", "{{ x }} {% y %}", "$(id) ${HOME}", "nul\x00 tab\t cr\r",
           "emoji \U0001F600 rtl \u202e", "c1 \x85\x9f ls \u2028 ps \u2029 bom \ufeff \ufffe\uffff",
           "x" * 300000, "", " leading and trailing ", "- item", "key: value", "#comment",
           "yes", "null", "0x10", "1e3", {"k\n": ["v\x00", 1, 2.5, None, True]}, [], {}]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_the_value_loads_back_exactly(value):
    assert yaml.safe_load("key: " + yaml_value(value))["key"] == value
    assert yaml.safe_load("- " + yaml_value(value))[0] == value


def test_random_text_loads_back_exactly():
    rng = random.Random(7)
    planes = [(0, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]
    for _round in range(3000):
        text = "".join(chr(rng.randint(*rng.choice(planes))) for _char in range(12))
        assert yaml.safe_load("key: " + yaml_value(text))["key"] == text


def test_every_manifest_template_writes_every_expression_as_data():
    """One template style: no user string is pasted into YAML text."""
    bad = []
    for path in sorted(glob.glob(os.path.join(REPO_ROOT, "roles", "*", "templates", "*.y*ml.j2"))):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        for match in re.finditer(r"\{\{(.*?)\}\}", text, re.S):
            if not re.search(r"\|\s*rhods\.gitops\.yaml_value\s*$", match.group(1)):
                line = text.count("\n", 0, match.start()) + 1
                where = os.path.relpath(path, REPO_ROOT)
                bad.append("{0}:{1}: {2}".format(where, line, match.group(0)[:80]))
    assert not bad, "expressions written without | rhods.gitops.yaml_value:\n" + "\n".join(bad)
