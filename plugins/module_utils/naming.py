# SPDX-License-Identifier: Apache-2.0
"""Names the cluster, the RHODS/RHOAI dashboard and S3 accept, as pure functions.

Every ``*_problems`` function returns a list of messages (empty: the name is
fine). Each message names the field it is about (``field`` is how the user
wrote it, e.g. ``dsp_projects[1].name``) and says what to do, so a role can
print them as they are. No Kubernetes or S3 access happens here; the unit tests
in ``tests/unit/test_naming.py`` pin the rules.
"""

import hashlib
import re
from urllib.parse import quote

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253

# The dashboard refuses to create or list Data Science Projects whose name starts
# with these (they are the platform's own namespaces).
RESERVED_PROJECT_PREFIXES = ("openshift", "kube")

# Namespaces the platform reserves: OpenShift refuses a project request for these names
# and prefixes, and objects of the automation do not belong there.
RESERVED_NAMESPACES = ("default", "openshift", "kube")
RESERVED_NAMESPACE_PREFIXES = ("openshift-", "kube-")

# What the API server accepts in metadata (apimachinery's validation).
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ANNOTATIONS_MAX = 256 * 1024  # bytes of all annotations (keys and values) of one object

# Data connections are Secrets named after this prefix (the dashboard's convention).
CONNECTION_PREFIX = "aws-connection-"

# S3 bucket naming rules (AWS "general purpose bucket naming rules"; MinIO and
# SeaweedFS apply the same or looser ones).
BUCKET_CHARS = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def type_name(value):
    """The YAML type of a value (ansible-core 2.19 hands over str and int subclasses)."""
    for kind in (bool, str, int, float, dict, list):
        if isinstance(value, kind):
            return kind.__name__
    return "null" if value is None else type(value).__name__


def _describe(value):
    return repr(str(value)) if isinstance(value, str) else "a {0}".format(type_name(value))


def dns_label_problems(value, field, what="name"):
    """``value`` must be a DNS-1123 label: at most 63 lower-case letters, digits and '-',
    starting and ending with a letter or digit."""
    if not isinstance(value, str) or not value:
        return ["{0} is {1}: give a {2} (lower-case letters, digits and '-').".format(
            field, "empty" if value in ("", None) else _describe(value), what)]
    problems = []
    if len(value) > DNS1123_LABEL_MAX:
        problems.append("{0} {1} is {2} characters long: a {3} may have at most {4}.".format(
            field, _describe(value), len(value), what, DNS1123_LABEL_MAX))
    if not DNS1123_LABEL.match(value):
        problems.append(
            "{0} {1} is not a valid DNS-1123 label: use only lower-case letters, digits and '-', "
            "and start and end with a letter or digit (for example {2!r}).".format(
                field, _describe(value), suggest_label(value)))
    return problems


def namespace_problems(value, field):
    """A namespace the automation creates or writes into: a DNS-1123 label that is not one of
    the platform's own (``default``, ``openshift-*``, ``kube-*``)."""
    problems = dns_label_problems(value, field, what="namespace name")
    if isinstance(value, str) and (value in RESERVED_NAMESPACES
                                   or value.startswith(RESERVED_NAMESPACE_PREFIXES)):
        problems.append(
            "{0} {1} is reserved for the platform (default, openshift-*, kube-*): choose a "
            "namespace of your own, for example {2!r}.".format(
                field, _describe(value), suggest_label("my-" + value.split("-", 1)[-1])))
    return problems


def qualified_name_problems(key, field):
    """A label or annotation key: an optional DNS-1123 subdomain prefix and '/', then a name
    of at most 63 letters, digits, '-', '_' and '.' that starts and ends alphanumeric."""
    key = str(key)
    prefix, _slash, name = key.rpartition("/")
    if (len(name) > DNS1123_LABEL_MAX or not QUALIFIED_NAME.match(name)
            or ("/" in key and (len(prefix) > DNS1123_SUBDOMAIN_MAX
                                or not DNS1123_SUBDOMAIN.match(prefix)))):
        return ["{0} key {1!r} is not a valid key: write [prefix/]name, the name at most 63 "
                "letters, digits, '-', '_' and '.', starting and ending with a letter or digit "
                "(for example example.com/team).".format(field, key)]
    return []


def label_problems(labels, field):
    """Labels the API server accepts: qualified keys, values of at most 63 characters."""
    problems = []
    for key, value in (labels or {}).items():
        problems.extend(qualified_name_problems(key, field))
        text = "" if value is None else str(value)
        if len(text) > DNS1123_LABEL_MAX or not LABEL_VALUE.match(text):
            problems.append(
                "{0}[{1!r}] {2!r} is not a valid label value: at most 63 letters, digits, '-', "
                "'_' and '.', starting and ending with a letter or digit; put longer text into "
                "an annotation.".format(field, key, text[:80]))
    return problems


def annotation_problems(annotations, field, extra=0):
    """Annotation keys the API server accepts, and their total size: all annotations of one
    object (keys and values, ``extra`` bytes the role adds) may have at most 256 KiB."""
    problems = []
    size = extra
    for key, value in (annotations or {}).items():
        problems.extend(qualified_name_problems(key, field))
        size += len(str(key).encode("utf-8")) + len(str(value).encode("utf-8"))
    if size > ANNOTATIONS_MAX:
        problems.append(annotation_size_problem(field, size))
    return problems


def annotation_size_problem(field, size):
    return ("{0}: the object's annotations would be {1} bytes, more than the {2} (256 KiB) "
            "Kubernetes allows in all: shorten the text (descriptions, display names, extra "
            "annotations).".format(field, size, ANNOTATIONS_MAX))


def text_size(*values):
    """Bytes of texts that become annotations (None counts as empty)."""
    return sum(len(("" if v is None else str(v)).encode("utf-8")) for v in values)


def project_name_problems(value, field):
    """A Data Science Project's namespace: a DNS-1123 label the dashboard accepts."""
    problems = dns_label_problems(value, field, what="project name")
    if isinstance(value, str):
        for prefix in RESERVED_PROJECT_PREFIXES:
            if value.startswith(prefix):
                problems.append(
                    "{0} {1} starts with {2!r}: the dashboard refuses projects named "
                    "openshift* or kube* (they are reserved for the platform). Choose another "
                    "name.".format(field, _describe(value), prefix))
        if value == "default":
            problems.append("{0} {1} is the platform's own namespace: choose another name for "
                            "the project.".format(field, _describe(value)))
    return problems


def connection_name_problems(value, field):
    """A data connection's name; the Secret is ``aws-connection-<name>``, which must stay a
    DNS-1123 label too."""
    problems = dns_label_problems(value, field, what="connection name")
    longest = DNS1123_LABEL_MAX - len(CONNECTION_PREFIX)
    if isinstance(value, str) and DNS1123_LABEL.match(value) and len(value) > longest:
        problems.append(
            "{0} {1} is {2} characters long: the Secret {3}<name> may have at most {4}, so the "
            "name at most {5}.".format(field, _describe(value), len(value), CONNECTION_PREFIX,
                                       DNS1123_LABEL_MAX, longest))
    return problems


def bucket_name_problems(value, field):
    """An S3 bucket name (AWS rules, which MinIO also enforces)."""
    if not isinstance(value, str) or not value:
        return ["{0} is {1}: give a bucket name (3-63 lower-case letters, digits, '-' and "
                "'.').".format(field, "empty" if value in ("", None) else _describe(value))]
    problems = []
    shown = _describe(value)
    if not 3 <= len(value) <= 63:
        problems.append("{0} {1} is {2} characters long: a bucket name has 3 to 63.".format(
            field, shown, len(value)))
    if not BUCKET_CHARS.match(value):
        problems.append(
            "{0} {1} is not a valid bucket name: use only lower-case letters, digits, '-' and "
            "'.', and start and end with a letter or digit.".format(field, shown))
    if ".." in value or ".-" in value or "-." in value:
        problems.append("{0} {1} has '..', '.-' or '-.': a bucket name may not.".format(
            field, shown))
    if IPV4.match(value):
        problems.append("{0} {1} looks like an IP address: a bucket name may not.".format(
            field, shown))
    for prefix in BUCKET_RESERVED_PREFIXES:
        if value.startswith(prefix):
            problems.append("{0} {1} starts with the reserved prefix {2!r}.".format(
                field, shown, prefix))
    for suffix in BUCKET_RESERVED_SUFFIXES:
        if value.endswith(suffix):
            problems.append("{0} {1} ends with the reserved suffix {2!r}.".format(
                field, shown, suffix))
    return problems


def suggest_label(value, limit=DNS1123_LABEL_MAX):
    """The nearest DNS-1123 label to ``value`` (lower case, other characters as '-')."""
    text = re.sub(r"[^a-z0-9-]+", "-", str(value).lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")[:limit].strip("-")
    return text or "x"


def subject_slug(name, limit=40):
    """A stable, readable DNS-1123 fragment for a user or group name.

    ``alice`` stays ``alice``; a name that had to change (``Alice@Example.com``)
    gets a short hash of the original so two different names never collide.
    """
    slug = suggest_label(name, limit)
    if slug != name or len(str(name)) > limit:
        digest = hashlib.sha256(str(name).encode("utf-8")).hexdigest()[:8]
        slug = "{0}-{1}".format(slug[:limit - 9].strip("-"), digest)
    return slug


def rolebinding_name(role, subject_kind, subject_name):
    """The RoleBinding that grants ``role`` to one user or group in a project."""
    return "rhods-gitops-{0}-{1}-{2}".format(role, subject_kind.lower(), subject_slug(subject_name))


# The dashboard's own escaping of a user name (its usernameTranslate): the name
# URI-encoded as a browser's encodeURIComponent does, then the characters that
# encoding leaves alone escaped too ('~' as %7f, as the dashboard does), every
# '%' turned into '-', and the result in lower case.
_DASHBOARD_USERNAME_ESCAPES = {"!": "%21", "'": "%27", "(": "%28", ")": "%29", "*": "%2a",
                               "-": "%2d", ".": "%2e", "_": "%5f", "~": "%7f"}


def dashboard_username(name):
    """The user name as the dashboard writes it into ``opendatahub.io/user``.

    ``alice`` stays ``alice``; ``kube:admin`` becomes ``kube-3aadmin`` and
    ``alice.smith`` ``alice-2esmith``, so the value is always a valid label value
    when the name starts and ends with a letter or digit.
    """
    encoded = quote(str(name), safe="-_.!~*'()")
    encoded = "".join(_DASHBOARD_USERNAME_ESCAPES.get(char, char) for char in encoded)
    return encoded.replace("%", "-").lower()
