# SPDX-License-Identifier: Apache-2.0
"""The Data Science Project list of the ``dsp`` role: validation and defaults, pure Python.

The keys, types, choices and defaults of ``dsp_projects`` are written only in
``roles/dsp/meta/argument_specs.yml``; ``rhods.gitops.role_input`` checks them and fills
the spec's defaults (fact ``dsp_input``). ``problems(projects)`` checks what the spec
cannot express and the cluster, the dashboard and S3 would refuse (or silently get
wrong), every problem at once, each naming its field (``dsp_projects[1].connections[0]
.secret_key``). ``normalize(settings, minio)`` fills the defaults that depend on other
fields (display names, region by type, MinIO's endpoint and keys), so the templates stay
free of defaulting logic.
``identities(manifests)`` strips rendered objects down to what
``rhods.gitops.prune`` needs to keep them. Used by the filters in
``plugins/filter/naming.py``; unit-tested in ``tests/unit/test_dsp_filters.py``.
"""

from ansible_collections.rhods.gitops.plugins.module_utils.naming import (
    CONNECTION_PREFIX,
    annotation_problems,
    bucket_name_problems,
    label_problems,
    text_size,
    connection_name_problems,
    project_name_problems,
    rolebinding_name,
)

S3_REGION = "us-east-1"
# What the role's own namespace annotations (keys, fixed values) add to a user's, at most.
ANNOTATION_OVERHEAD = 1024


def _strings(value, field):
    """Names (users, groups) that are not blank."""
    return ["{0}[{1}] must be a non-empty string.".format(field, i)
            for i, v in enumerate(value or []) if not v.strip()]


def _blank(value):
    return value is None or not value.strip()


def _access_problems(access, field):
    out = []
    for i, entry in enumerate(access or []):
        where = "{0}[{1}]".format(field, i)
        out.extend(_strings(entry["users"], where + ".users"))
        out.extend(_strings(entry["groups"], where + ".groups"))
        if not entry["users"] and not entry["groups"]:
            out.append("{0} names no users and no groups: give at least one, or remove the "
                       "entry.".format(where))
    return out


def _connection_problems(conn, field):
    out = connection_name_problems(conn["name"], field + ".name")
    out.extend(bucket_name_problems(conn["bucket"], field + ".bucket"))
    for key in ("endpoint", "verify_endpoint"):
        value = conn[key]
        if not _blank(value) and not value.startswith(("http://", "https://")):
            out.append("{0}.{1} is {2!r}: give a URL that starts with http:// or https://."
                       .format(field, key, value))
    if conn["type"] == "s3":
        if _blank(conn["endpoint"]):
            out.append("{0}.endpoint is missing: an 's3' connection needs the S3 endpoint URL "
                       "(for example https://s3.us-east-1.amazonaws.com).".format(field))
        for key, what in (("access_key", "access key ID"), ("secret_key", "secret access key")):
            if _blank(conn[key]):
                out.append("{0}.{1} is missing or empty: an 's3' connection needs its {2}; put it "
                           "in a vault-encrypted variable and reference it here.".format(
                               field, key, what))
    else:
        for key in ("access_key", "secret_key"):
            if not _blank(conn[key]):
                out.append("{0}.{1} is set, but a 'minio' connection takes its keys from MinIO's "
                           "Secret: remove it, or use type 's3'.".format(field, key))
    return out


def _first_seen(names, what):
    """Problems of names given twice (``names``: ``[(where, name)]``)."""
    out, seen = [], {}
    for where, name in names:
        if name in seen:
            out.append("{0}.name {1!r} is also {2}.name: {3}.".format(where, name, seen[name], what))
        else:
            seen[name] = where
    return out


def problems(projects, field="dsp_projects"):
    """Every problem of the project list the argument spec cannot express, each naming its
    field and what to do. ``projects`` has passed the spec (``rhods.gitops.role_input``)."""
    out = []
    for i, project in enumerate(projects):
        where = "{0}[{1}]".format(field, i)
        out.extend(project_name_problems(project["name"], where + ".name"))
        out.extend(label_problems(project["labels"], where + ".labels"))
        out.extend(annotation_problems(project["annotations"], where + ".annotations", text_size(
            project["display_name"], project["description"]) + ANNOTATION_OVERHEAD))
        out.extend(_access_problems(project["access"], where + ".access"))
        connections = project["connections"] or []
        for j, conn in enumerate(connections):
            out.extend(_connection_problems(conn, "{0}.connections[{1}]".format(where, j)))
        out.extend(_first_seen([("{0}.connections[{1}]".format(where, j), c["name"])
                                for j, c in enumerate(connections)],
                               "each connection once per project"))
    out.extend(_first_seen([("{0}[{1}]".format(field, i), p["name"])
                            for i, p in enumerate(projects)], "each project once"))
    return out


def _stringify(mapping):
    return {str(k): str(v) for k, v in (mapping or {}).items()}


def _bindings(access):
    out = []
    for entry in access or []:
        for kind, key in (("User", "users"), ("Group", "groups")):
            for subject in entry[key] or []:
                out.append({"name": rolebinding_name(entry["role"], kind, subject),
                            "role": entry["role"], "subject_kind": kind, "subject": subject})
    return sorted(out, key=lambda b: b["name"])


def _connection(conn, settings, minio, field, namespace):
    """One connection with the defaults that depend on its type, the role's settings and MinIO."""
    ctype = conn["type"]
    minio_endpoint = settings["dsp_minio_endpoint"] or "http://minio.{0}.svc:9000".format(
        settings["dsp_minio_namespace"])
    endpoint = conn["endpoint"] or (minio_endpoint if ctype == "minio" else "")
    verify = conn["verify"] or settings["dsp_verify_connections"]
    if ctype == "minio":
        access_key, secret_key = minio.get("access_key") or "", minio.get("secret_key") or ""
        verify_endpoint = conn["verify_endpoint"] or minio.get("verify_endpoint") or ""
        if not (access_key and secret_key):
            verify = "never"
    else:
        access_key, secret_key = conn["access_key"] or "", conn["secret_key"] or ""
        verify_endpoint = conn["verify_endpoint"] or endpoint
    return {
        "field": field, "name": conn["name"], "secret_name": CONNECTION_PREFIX + conn["name"],
        "namespace": namespace, "display_name": conn["display_name"] or conn["name"],
        "type": ctype, "endpoint": endpoint,
        "region": conn["region"] or (settings["dsp_minio_region"] if ctype == "minio" else S3_REGION),
        "bucket": conn["bucket"], "access_key": access_key, "secret_key": secret_key,
        "verify": verify, "verify_endpoint": verify_endpoint,
        "validate_certs": settings["dsp_verify_validate_certs"] if conn["validate_certs"] is None
        else conn["validate_certs"],
    }


def normalize(settings, minio=None, field="dsp_projects"):
    """``dsp_projects`` with the defaults that depend on other fields filled in.

    ``settings`` is the role's input as ``rhods.gitops.role_input`` normalized it (fact
    ``dsp_input``: every key of the spec present). ``minio`` gives what a ``type: minio``
    connection takes from MinIO: ``access_key``, ``secret_key`` and ``verify_endpoint`` (the S3
    URL as reached from where Ansible runs). Without keys (MinIO not installed yet, in check
    mode), those connections get empty keys and are not verified.
    """
    minio = minio or {}
    out = []
    for index, project in enumerate(settings[field]):
        name = project["name"]
        out.append({
            "name": name,
            "display_name": project["display_name"] or name,
            "description": project["description"] or "",
            "modelmesh": settings["dsp_modelmesh_enabled"] if project["modelmesh"] is None
            else project["modelmesh"],
            "labels": _stringify(project["labels"]),
            "annotations": _stringify(project["annotations"]),
            "rolebindings": _bindings(project["access"]),
            "connections": [_connection(conn, settings, minio, "{0}[{1}].connections[{2}]".format(
                field, index, cindex), name) for cindex, conn in enumerate(project["connections"] or [])],
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
                "region": conn.get("region") or S3_REGION,
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


def workbench_connection_problems(projects, workbenches):
    """A workbench in a Data Science Project of ``projects`` (``dsp_projects``, normalized) that
    names a data connection the project does not declare: dsp would not deliver it and, if it
    delivered it before, would delete it. One message per such entry, naming both lists.
    Workbenches in namespaces dsp does not manage may name any Secret."""
    declared = {}
    for index, project in enumerate(projects or []):
        declared[project["name"]] = (index, {CONNECTION_PREFIX + c["name"]
                                             for c in project.get("connections") or []})
    problems = []
    for index, bench in enumerate(workbenches or []):
        if bench.get("namespace") not in declared:
            continue
        project_index, names = declared[bench["namespace"]]
        for secret in bench.get("data_connections") or []:
            if secret not in names:
                problems.append(
                    "custom_notebook_workbenches[{0}] ({1}) uses data connection {2}, which "
                    "dsp_projects[{3}] ({4}) does not declare (its connections: {5}): dsp would "
                    "not deliver it, or would delete it. Add it to dsp_projects[{3}].connections "
                    "or remove it from the workbench's data_connections.".format(
                        index, bench.get("name"), secret, project_index, bench["namespace"],
                        ", ".join(sorted(names)) or "none"))
    return problems
