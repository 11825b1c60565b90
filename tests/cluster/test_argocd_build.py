"""The Argo CD wrapper module (lc/argocd.py): the replace directives it copies from upstream.

Pure logic, no cluster: the wrapper must carry every version replacement of Argo CD's
go.mod (they pin the Kubernetes libraries), whether written in a block or one per line,
with or without a version on the left, and ignore comments.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lc import argocd  # noqa: E402  pylint: disable=wrong-import-position

GOMOD = """module github.com/argoproj/argo-cd/v3

go 1.25.5

require (
\tk8s.io/api v0.34.0
)

replace (
\tgithub.com/golang/protobuf => github.com/golang/protobuf v1.5.4

\t// Avoid CVE-2022-3064
\tgopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0 // pinned
\tk8s.io/api => k8s.io/api v0.34.0
)

replace example.com/old v1.0.0 => example.com/new v1.2.0
"""


def test_every_replacement_is_copied_as_one_directive():
    assert argocd.replace_lines(GOMOD) == [
        "replace github.com/golang/protobuf => github.com/golang/protobuf v1.5.4",
        "replace gopkg.in/yaml.v2 => gopkg.in/yaml.v2 v2.4.0",
        "replace k8s.io/api => k8s.io/api v0.34.0",
        "replace example.com/old v1.0.0 => example.com/new v1.2.0",
    ]


def test_requirements_are_not_replacements():
    assert argocd.replace_lines("require (\n\tk8s.io/api v0.34.0\n)\n") == []
