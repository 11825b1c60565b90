"""The architecture document names every file of the engine."""

import os

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FOLDERS = ("plugins/module_utils", "plugins/plugin_utils", "plugins/filter")


def engine_files():
    out = []
    for folder in FOLDERS:
        for name in sorted(os.listdir(os.path.join(REPO_ROOT, folder))):
            if name.endswith(".py") and name != "__init__.py":
                out.append(folder + "/" + name)
    return out


@pytest.mark.parametrize("path", engine_files())
def test_architecture_names_every_engine_file(path):
    with open(os.path.join(REPO_ROOT, "docs", "architecture.md"), encoding="utf-8") as handle:
        text = handle.read()
    folder, name = path.split("/")[-2:]
    # Named as `module_utils/x.py`, or in a row that lists several: `module_utils/a.py`, `b.py`.
    assert "{0}/{1}".format(folder, name) in text or "`{0}`".format(name) in text, \
        "docs/architecture.md does not name {0}".format(path)
