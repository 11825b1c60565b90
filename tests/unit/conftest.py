"""Unit tests (no cluster): make ``ansible_collections.rhods.gitops`` importable
from this source tree, next to kubernetes.core from the virtualenv."""

import os
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collections_dir():
    base = tempfile.mkdtemp(prefix="rhods-gitops-unit-")
    os.makedirs(os.path.join(base, "ansible_collections", "rhods"))
    os.symlink(REPO_ROOT, os.path.join(base, "ansible_collections", "rhods", "gitops"))
    return base


sys.path.insert(0, _collections_dir())
