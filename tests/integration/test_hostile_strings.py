"""Manifests are data: a user's string reaches the object as one scalar, or is refused.

Every free-text field of every role gets the same hostile string at once (newline followed by
YAML, quotes, a Jinja expression, shell substitutions, NUL, emoji, a right-to-left mark), and
tests/integration/playbooks/render_objects.yml renders every object of the collection, as both
delivery modes would apply them. Each field must land literally where the role puts it, or the
run must refuse it naming the field (then the refused fields are set back, and the others
checked again).

The objects must also keep the shape of a render with plain strings: no key path more or
less anywhere (so ``volumeName`` or ``securityContext`` cannot be injected).

The strings are given as AAP gives survey answers: marked unsafe, so Ansible does not template
them (a Jinja expression in an unmarked extra var is Ansible's own template language, by
design). No cluster is needed.
"""

import base64
import json
import os
import subprocess
import sys

import pytest
import yaml

from .ansible import PLAYBOOKS, REPO_ROOT, playbook_env

HOSTILE = {
    "yaml": "line1\n  volumeName: injected-pv\nsecurityContext: {privileged: true}\n- x: y",
    "quotes": "double \" single ' back ` slash \\ end",
    "jinja": "{{ lookup('env', 'HOME') }} {% if true %}x{% endif %}",
    "shell": "$(touch /tmp/pwned) `id` ${HOME} ; rm -rf /",
    "nul": "nul\x00byte and\ttab\rcr",
    "unicode": "emoji \U0001F600 rtl \u202e kcatta \u2028 line sep \x85 nel",
}
EXTERNAL = ("AKIAHOSTILE", "secret-key")


def b64(text):
    return base64.b64decode(text).decode("utf-8")


def field_values(value):
    """The variables with ``value`` in every free-text field; [(field, where it lands)]."""
    variables = {
        "dsp_projects": [{
            "name": "hostile-project", "display_name": value, "description": value,
            "annotations": {"example.com/note": value},
            "connections": [{"name": "ext", "display_name": value, "type": "s3",
                             "endpoint": "https://s3.example.com", "bucket": "data",
                             "region": value, "access_key": EXTERNAL[0], "secret_key": value}]}],
        "custom_notebook_images": [{
            "name": "hostile-image", "tag": "v1", "display_name": value, "description": value,
            "url": value, "software": [{"name": "Python", "version": value}],
            "requirements": "lightgbm==3.3.5 \\\n    --hash=sha256:" + "0" * 64 + "\n",
            "python_imports": ["lightgbm"]}],
        "custom_notebook_workbenches": [{
            "name": "hostile-wb", "namespace": "hostile-project", "image": "hostile-image:v1",
            "display_name": value, "description": value, "storage_display_name": value,
            "storage_description": value, "storage_class": value, "owner": value,
            "data_connections": ["aws-connection-ext"]}],
        "minio_extra_env": [{"name": "HOSTILE", "value": value}],
        "rhods_subscription_config": {"env": [{"name": "HOSTILE", "value": value}]},
    }
    ns = ("v1", "Namespace", None, "hostile-project")
    secret = ("v1", "Secret", "hostile-project", "aws-connection-ext")
    stream = ("image.openshift.io/v1", "ImageStream", "redhat-ods-applications",
              "hostile-image")
    notebook = ("kubeflow.org/v1", "Notebook", "hostile-project", "hostile-wb")
    pvc = ("v1", "PersistentVolumeClaim", "hostile-project", "hostile-wb")
    landing = [
        ("dsp_projects[0].display_name", ns, ["metadata", "annotations", "openshift.io/display-name"]),
        ("dsp_projects[0].description", ns, ["metadata", "annotations", "openshift.io/description"]),
        ("dsp_projects[0].annotations", ns, ["metadata", "annotations", "example.com/note"]),
        ("dsp_projects[0].connections[0].display_name", secret,
         ["metadata", "annotations", "openshift.io/display-name"]),
        ("dsp_projects[0].connections[0].region", secret, ["data", "AWS_DEFAULT_REGION", b64]),
        ("dsp_projects[0].connections[0].secret_key", secret,
         ["data", "AWS_SECRET_ACCESS_KEY", b64]),
        ("custom_notebook_images[0].display_name", stream,
         ["metadata", "annotations", "opendatahub.io/notebook-image-name"]),
        ("custom_notebook_images[0].description", stream,
         ["metadata", "annotations", "opendatahub.io/notebook-image-desc"]),
        ("custom_notebook_images[0].url", stream,
         ["metadata", "annotations", "opendatahub.io/notebook-image-url"]),
        ("custom_notebook_images[0].software", stream,
         ["spec", "tags", 0, "annotations", "opendatahub.io/notebook-software", json.loads, 0,
          "version"]),
        ("custom_notebook_workbenches[0].display_name", notebook,
         ["metadata", "annotations", "openshift.io/display-name"]),
        ("custom_notebook_workbenches[0].description", notebook,
         ["metadata", "annotations", "openshift.io/description"]),
        ("custom_notebook_workbenches[0].owner", notebook,
         ["metadata", "annotations", "opendatahub.io/username"]),
        ("custom_notebook_workbenches[0].storage_display_name", pvc,
         ["metadata", "annotations", "openshift.io/display-name"]),
        ("custom_notebook_workbenches[0].storage_description", pvc,
         ["metadata", "annotations", "openshift.io/description"]),
        ("custom_notebook_workbenches[0].storage_class", pvc, ["spec", "storageClassName"]),
        ("minio_extra_env", ("apps/v1", "Deployment", "minio", "minio"),
         ["spec", "template", "spec", "containers", 0, "env", ("name", "HOSTILE"), "value"]),
        ("rhods_subscription_config", ("operators.coreos.com/v1alpha1", "Subscription",
                                       "redhat-ods-operator", "rhods-operator"),
         ["spec", "config", "env", ("name", "HOSTILE"), "value"]),
    ]
    return variables, landing


class Unsafe(str):
    """A string written as ``!unsafe`` (as AAP passes survey answers)."""


def _unsafe(dumper, data):
    return dumper.represent_scalar("!unsafe", str(data), style='"')


yaml.SafeDumper.add_representer(Unsafe, _unsafe)


def unsafe(value):
    if isinstance(value, str):
        return Unsafe(value)
    if isinstance(value, list):
        return [unsafe(v) for v in value]
    if isinstance(value, dict):
        return {k: unsafe(v) for k, v in value.items()}
    return value


def render(tmp_path, variables):
    out = tmp_path / "objects.json"
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text(yaml.safe_dump(unsafe(variables), allow_unicode=True))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
           "-e", "@" + str(vars_file), "-e", json.dumps({"render_objects_out": str(out)}),
           os.path.join(PLAYBOOKS, "render_objects.yml")]
    proc = subprocess.run(cmd, env=playbook_env(), capture_output=True, text=True,
                          cwd=REPO_ROOT, timeout=600, check=False)
    objects = None
    if proc.returncode == 0:
        with open(out, encoding="utf-8") as handle:
            rendered = json.load(handle)
        objects = [o for objs in rendered["components"].values() for o in objs]
    return proc, objects


def find(objects, ident):
    for obj in objects:
        meta = obj.get("metadata") or {}
        if (obj.get("apiVersion"), obj.get("kind"), meta.get("namespace"), meta.get("name")) == \
                ident:
            return obj
    raise AssertionError("{0} was not rendered".format(ident))


def dig(value, path):
    for step in path:
        if callable(step):
            value = step(value)
        elif isinstance(step, tuple):
            value = [item for item in value if item.get(step[0]) == step[1]][0]
        else:
            value = value[step]
    return value


def shape(value, path=""):
    """Every key path of ``value`` (list items by position), values left out."""
    out = {path}
    if isinstance(value, dict):
        for key, item in value.items():
            out |= shape(item, "{0}/{1}".format(path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out |= shape(item, "{0}[{1}]".format(path, index))
    return out


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_string_lands_literally_or_is_refused_naming_its_field(tmp_path, kind):
    value = HOSTILE[kind]
    variables, landing = field_values(value)
    proc, objects = render(tmp_path, variables)
    refused = []
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        refused = [field for field, _ident, _path in landing if field in output]
        assert refused, "the run failed without naming a field:\n" + output[-3000:]
        # Set the refused fields back to a plain string and check the others.
        benign, _ = field_values("plain text")
        for field in refused:
            _put(variables, benign, field)
        proc, objects = render(tmp_path, variables)
        assert proc.returncode == 0, (refused, (proc.stdout + proc.stderr)[-3000:])
    for field, ident, path in landing:
        if field in refused:
            continue
        assert dig(find(objects, ident), path) == value, field
    # No string added a field: the objects have the shape of the plain render.
    _, plain = render(tmp_path, field_values("plain text")[0])
    assert shape(objects) == shape(plain)
    print("\n{0}: {1} fields landed literally, refused: {2}".format(
        kind, len(landing) - len(refused), ", ".join(refused) or "none"))


def _put(variables, benign, field):
    """Copy ``field`` (``a[0].b``) from ``benign`` into ``variables``."""
    top = field.split("[")[0].split(".")[0]
    if "[" not in field and "." not in field:
        variables[top] = benign[top]
        return
    steps = field.replace("]", "").replace("[", ".").split(".")
    source, target = benign, variables
    for step in steps[:-1]:
        key = int(step) if step.isdigit() else step
        source, target = source[key], target[key]
    key = int(steps[-1]) if steps[-1].isdigit() else steps[-1]
    target[key] = source[key]
