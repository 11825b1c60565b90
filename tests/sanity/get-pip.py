#!/usr/bin/env python
"""Offline stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-<version>.py.

``ansible-test sanity --venv`` bootstraps pip into each empty virtual environment it
creates by running a cached ``~/.ansible/test/cache/get_pip_<version>.py`` with the
arguments of ``pip install`` (``pip==<version>``, ``--disable-pip-version-check``) plus
``--no-setuptools``/``--no-wheel``.  That download host is not reachable from our build
machines; a package index is.  So: install the pip bundled with this Python
(``ensurepip``), then let it install exactly what it was asked for from the index.
The test gate (tests/quality/test_gates.py) copies this file into that cache path.
"""

import subprocess
import sys

SKIP = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}


def main():
    args = [arg for arg in sys.argv[1:] if arg not in SKIP]
    subprocess.run([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet"] + args, check=True)
    # ensurepip also installs setuptools on older Pythons; honour --no-setuptools.
    unwanted = [name for flag, name in SKIP.items() if flag in sys.argv[1:]]
    installed = subprocess.run([sys.executable, "-m", "pip", "list", "--format=freeze"],
                               check=True, capture_output=True, text=True).stdout.lower()
    unwanted = [name for name in unwanted if (name + "==") in installed]
    if unwanted:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet"] + unwanted,
                       check=True)


if __name__ == "__main__":
    main()
