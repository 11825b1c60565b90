# SPDX-License-Identifier: Apache-2.0
"""The Data Science Project list of the ``dsp`` role: validation and defaults, pure Python.

``problems(projects)`` checks everything the cluster, the dashboard and S3
would refuse (or silently get wrong) BEFORE anything is changed, and returns
every problem at once, each naming its field (``dsp_projects[1].connections[0]
.secret_key``). ``normalize(projects, defaults)`` returns the same list with
every default filled in, so the templates stay free of defaulting logic.
``identities(manifests)`` strips rendered objects down to what
``rhods.gitops.prune`` needs to keep them. Used by the filters in
``plugins/filter/naming.py``; unit-tested in ``tests/unit/test_dsp_filters.py``.
"""

from ansible_collections.rhods.gitops.plugins.module_utils.naming import (
    CONNECTION_PREFIX,
    bucket_name_problems,
    connection_name_problems,
    project_name_problems,
    rolebinding_name,
)

ROLES = ("admin", "edit", "view")
CONNECTION_TYPES = ("minio", "s3")
VERIFY_MODES = ("auto", "always", "never")

PROJECT_KEYS = ("name", "display_name", "description", "modelmesh", "labels", "annotations",
                "access", "connections")
ACCESS_KEYS = ("role", "users", "groups")
CONNECTION_KEYS = ("name", "display_name", "type", "endpoint", "region", "bucket", "access_key",
                   "secret_key", "verify", "verify_endpoint", "validate_certs")

DEFAULTS = {
    "minio_endpoint": "http://minio.minio.svc:9000",
    "minio_region": "us",
    "s3_region": "us-east-1",
    "verify": "auto",
    "validate_certs": True,
    "modelmesh": True,
}


def _unknown(item, allowed, field):
    extra = sorted(k for k in item if k not in allowed)
    if not extra:
        return []
    return ["{0} has unknown key(s) {1}: the known keys are {2}. Check the spelling.".format(
        field, ", ".join(extra), ", ".join(allowed))]


def _strings(value, field):
    """A list of non-empty strings (users, groups)."""
    if value is None:
        return []
    if not isinstance(value, list):
        return ["{0} must be a list of names, not a {1}.".format(field, type(value).__name__)]
    return ["{0}[{1}] must be a non-empty string.".format(field, i)
            for i, v in enumerate(value) if not isinstance(v, str) or not v.strip()]


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _access_problems(access, field):
    if access is None:
        return []
    if not isinstance(access, list):
        return ["{0} must be a list of {{role, users, groups}} entries.".format(field)]
    out = []
    for i, entry in enumerate(access):
        where = "{0}[{1}]".format(field, i)
        if not isinstance(entry, dict):
            out.append("{0} must be a mapping with role, users and groups.".format(where))
            continue
        out.extend(_unknown(entry, ACCESS_KEYS, where))
        if entry.get("role") not in ROLES:
            out.append("{0}.role is {1!r}: use one of {2} (the ClusterRoles a project is shared "
                       "with).".format(where, entry.get("role"), ", ".join(ROLES)))
        out.extend(_strings(entry.get("users"), where + ".users"))
        out.extend(_strings(entry.get("groups"), where + ".groups"))
        if not entry.get("users") and not entry.get("groups"):
            out.append("{0} names no users and no groups: give at least one, or remove the "
                       "entry.".format(where))
    return out


def _connection_problems(conn, field):
    out = _unknown(conn, CONNECTION_KEYS, field)
    out.extend(connection_name_problems(conn.get("name"), field + ".name"))
    ctype = conn.get("type", "s3")
    if ctype not in CONNECTION_TYPES:
        out.append("{0}.type is {1!r}: use 'minio' (built from the in-cluster MinIO's "
                   "credentials) or 's3' (endpoint and keys given here).".format(field, ctype))
    out.extend(bucket_name_problems(conn.get("bucket"), field + ".bucket"))
    verify = conn.get("verify", "auto")
    if verify not in VERIFY_MODES:
        out.append("{0}.verify is {1!r}: use auto, always or never.".format(field, verify))
    for key in ("endpoint", "verify_endpoint"):
        value = conn.get(key)
        if not _blank(value) and not (isinstance(value, str)
                                      and value.startswith(("http://", "https://"))):
            out.append("{0}.{1} is {2!r}: give a URL that starts with http:// or https://."
                       .format(field, key, value))
    if ctype == "s3":
        if _blank(conn.get("endpoint")):
            out.append("{0}.endpoint is missing: an 's3' connection needs the S3 endpoint URL "
                       "(for example https://s3.us-east-1.amazonaws.com).".format(field))
        for key, what in (("access_key", "access key ID"), ("secret_key", "secret access key")):
            if _blank(conn.get(key)):
                out.append("{0}.{1} is missing or empty: an 's3' connection needs its {2}; put it "
                           "in a vault-encrypted variable and reference it here.".format(
                               field, key, what))
    elif ctype == "minio":
        for key in ("access_key", "secret_key"):
            if not _blank(conn.get(key)):
                out.append("{0}.{1} is set, but a 'minio' connection takes its keys from MinIO's "
                           "Secret: remove it, or use type 's3'.".format(field, key))
    return out


def problems(projects, field="dsp_projects"):
    """Every problem of the project list, each naming its field and what to do."""
    if not isinstance(projects, list):
        return ["{0} must be a list of projects, not a {1}.".format(
            field, type(projects).__name__)]
    out = []
    seen = {}
    for i, project in enumerate(projects):
        where = "{0}[{1}]".format(field, i)
        if not isinstance(project, dict):
            out.append("{0} must be a mapping (name, display_name, connections, ...).".format(
                where))
            continue
        out.extend(_unknown(project, PROJECT_KEYS, where))
        name = project.get("name")
        out.extend(project_name_problems(name, where + ".name"))
        if isinstance(name, str) and name in seen:
            out.append("{0}.name {1!r} is also {2}[{3}].name: each project once.".format(
                where, name, field, seen[name]))
        elif isinstance(name, str):
            seen[name] = i
        for key in ("labels", "annotations"):
            value = project.get(key)
            if value is not None and not isinstance(value, dict):
                out.append("{0}.{1} must be a mapping of strings.".format(where, key))
        out.extend(_access_problems(project.get("access"), where + ".access"))
        connections = project.get("connections")
        if connections is None:
            continue
        if not isinstance(connections, list):
            out.append("{0}.connections must be a list.".format(where))
            continue
        names = {}
        for j, conn in enumerate(connections):
            cwhere = "{0}.connections[{1}]".format(where, j)
            if not isinstance(conn, dict):
                out.append("{0} must be a mapping (name, type, bucket, ...).".format(cwhere))
                continue
            out.extend(_connection_problems(conn, cwhere))
            cname = conn.get("name")
            if isinstance(cname, str) and cname in names:
                out.append("{0}.name {1!r} is also {2}.connections[{3}].name: each connection "
                           "once per project.".format(cwhere, cname, where, names[cname]))
            elif isinstance(cname, str):
                names[cname] = j
    return out


def _stringify(mapping):
    return {str(k): str(v) for k, v in (mapping or {}).items()}


def _bindings(project):
    """The RoleBindings of a project's ``access`` entries, one per subject."""
    bindings = []
    for entry in project.get("access") or []:
        for kind, key in (("User", "users"), ("Group", "groups")):
            for subject in entry.get(key) or []:
                bindings.append({
                    "name": rolebinding_name(entry["role"], kind, subject),
                    "role": entry["role"],
                    "subject_kind": kind,
                    "subject": subject,
                })
    return sorted(bindings, key=lambda b: b["name"])


def _connection(conn, namespace, where, opts, minio):
    """One data connection with every default filled in; ``where`` names its field."""
    ctype = conn.get("type", "s3")
    endpoint = conn.get("endpoint") or (opts["minio_endpoint"] if ctype == "minio" else "")
    verify = conn.get("verify") or opts["verify"]
    if ctype == "minio":
        access_key = minio.get("access_key") or ""
        secret_key = minio.get("secret_key") or ""
        verify_endpoint = conn.get("verify_endpoint") or minio.get("verify_endpoint") or ""
        if not (access_key and secret_key):
            verify = "never"
    else:
        access_key = conn.get("access_key") or ""
        secret_key = conn.get("secret_key") or ""
        verify_endpoint = conn.get("verify_endpoint") or endpoint
    return {
        "field": where,
        "name": conn["name"],
        "secret_name": CONNECTION_PREFIX + conn["name"],
        "namespace": namespace,
        "display_name": conn.get("display_name") or conn["name"],
        "type": ctype,
        "endpoint": endpoint,
        "region": conn.get("region") or (opts["minio_region"] if ctype == "minio"
                                         else opts["s3_region"]),
        "bucket": conn["bucket"],
        "access_key": access_key,
        "secret_key": secret_key,
        "verify": verify,
        "verify_endpoint": verify_endpoint,
        "validate_certs": opts["validate_certs"] if conn.get("validate_certs") is None
        else bool(conn["validate_certs"]),
    }


def normalize(projects, defaults=None, minio=None, field="dsp_projects"):
    """The project list with every default filled in (valid input assumed).

    ``minio`` gives what a ``type: minio`` connection takes from MinIO:
    ``access_key``, ``secret_key`` and ``verify_endpoint`` (the S3 URL as reached
    from where Ansible runs). Without keys (MinIO not installed yet, in check
    mode), those connections get empty keys and are not verified.
    """
    opts = dict(DEFAULTS)
    opts.update({k: v for k, v in (defaults or {}).items() if v is not None})
    minio = minio or {}
    out = []
    for index, project in enumerate(projects):
        name = project["name"]
        connections = [
            _connection(conn, name, "{0}[{1}].connections[{2}]".format(field, index, cindex),
                        opts, minio)
            for cindex, conn in enumerate(project.get("connections") or [])]
        out.append({
            "name": name,
            "display_name": project.get("display_name") or name,
            "description": project.get("description") or "",
            "modelmesh": opts["modelmesh"] if project.get("modelmesh") is None
            else bool(project["modelmesh"]),
            "labels": _stringify(project.get("labels")),
            "annotations": _stringify(project.get("annotations")),
            "rolebindings": _bindings(project),
            "connections": connections,
        })
    return out


def identities(manifests):
    """``{api_version, kind, namespace, name}`` of each manifest: what ``rhods.gitops.prune``
    keeps, without any other field (a Secret's data never travels along)."""
    out = []
    for obj in manifests or []:
        meta = obj.get("metadata") or {}
        out.append({"api_version": obj.get("apiVersion"), "kind": obj.get("kind"),
                    "namespace": meta.get("namespace"), "name": meta.get("name")})
    return out


def verification_list(projects):
    """The connections of normalized projects, shaped for ``rhods.gitops.s3_check``."""
    out = []
    for project in projects or []:
        for conn in project.get("connections") or []:
            out.append({
                "name": "{0}/{1}".format(conn["namespace"], conn["secret_name"]),
                "field": conn.get("field"),
                "endpoint_url": conn.get("verify_endpoint") or "",
                "access_key": conn.get("access_key") or "",
                "secret_key": conn.get("secret_key") or "",
                "region": conn.get("region") or DEFAULTS["s3_region"],
                "bucket": conn["bucket"],
                "verify": conn.get("verify") or "auto",
                "validate_certs": conn.get("validate_certs", True),
            })
    return out


def uses_minio(projects):
    """Whether any project has a ``type: minio`` connection (raw or normalized input)."""
    return any(isinstance(c, dict) and c.get("type") == "minio"
               for p in projects or [] if isinstance(p, dict)
               for c in (p.get("connections") or []))
