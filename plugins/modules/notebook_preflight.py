#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: rhods.gitops contributors

DOCUMENTATION = r"""
module: notebook_preflight
short_description: Check custom notebook images and workbenches before anything is written
description:
  - Validates the custom notebook images and workbenches of the C(rhods.gitops.custom_notebook)
    role before a single object is written, and fails with a message that names the variable,
    the item, the field and a valid example.
  - Sizes are Kubernetes quantities (C(2Gi), not C(2GB)); names are valid object
    names; every workbench uses a size of O(sizes) and an image the role builds or an
    ImageStream tag that exists; dependency locks pin every requirement.
  - A workbench whose size the dashboard's live C(odh-dashboard-config) does not offer with the
    same requests and limits gets a warning (the dashboard would show it with a custom size).
  - Every base image tag the builds start from must be in the base ImageStream's C(status.tags);
    otherwise the message lists the tags it has. While the base ImageStream does not exist or has
    no tags yet (RHODS is still installing), the module waits for it up to O(wait_timeout). In
    check mode it does not wait and only warns.
  - Reads only; never changes anything.
version_added: 0.1.0
author:
  - rhods.gitops contributors (@rhods-gitops)
options:
  namespace:
    description: The applications namespace, where the images are built and their ImageStreams live.
    type: str
    default: redhat-ods-applications
  images:
    description: The images to build (the C(custom_notebook_images) role variable).
    type: list
    elements: dict
    default: []
  workbenches:
    description: The workbenches (the C(custom_notebook_workbenches) role variable).
    type: list
    elements: dict
    default: []
  sizes:
    description:
      - Container sizes by name, the sizes the workbenches resolve against (from the rhods
        role's C(rhods_notebook_sizes)).
    type: dict
    default: {}
  base:
    description: The default base ImageStreamTag of the builds; an image's C(base_tag) overrides the tag.
    type: dict
    required: true
    suboptions:
      namespace: {description: Namespace of the base ImageStream., type: str, required: true}
      name: {description: Name of the base ImageStream., type: str, required: true}
      tag: {description: The default base tag., type: str, required: true}
  check_data_connections:
    description: Warn when a workbench's data connection Secret does not exist (yet).
    type: bool
    default: true
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.wait]
"""

EXAMPLES = r"""
- name: Check the images and workbenches before anything changes
  rhods.gitops.notebook_preflight:
    images: "{{ custom_notebook_images }}"
    workbenches: "{{ custom_notebook_workbenches }}"
    sizes: "{{ custom_notebook_input.custom_notebook_sizes }}"
    base:
      namespace: redhat-ods-applications
      name: s2i-generic-data-science-notebook
      tag: "2025.2"
"""

RETURN = r"""
base_images:
  description: The base ImageStreamTags the builds start from, with the image each resolves to.
  type: list
  elements: dict
  returned: always
  contains:
    namespace: {description: Namespace of the base ImageStream., type: str}
    name: {description: The base ImageStream., type: str}
    tag: {description: The tag., type: str}
    image: {description: Its current image (null in check mode when unknown)., type: str}
    used_by: {description: The images built from it., type: list, elements: str}
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.builds import tag_item
from ansible_collections.rhods.gitops.plugins.module_utils.errors import NotServed
from ansible_collections.rhods.gitops.plugins.module_utils.dashboard import CONFIG_NAME, offered_size_warnings
from ansible_collections.rhods.gitops.plugins.module_utils.kinds import DASHBOARD_CONFIG, IMAGE_STREAM, SECRET
from ansible_collections.rhods.gitops.plugins.module_utils.notebooks import (
    check_base_tag,
    validate_images,
    validate_workbenches,
)
from ansible_collections.rhods.gitops.plugins.module_utils.objects import dig
from ansible_collections.rhods.gitops.plugins.module_utils.predicates import predicate
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module


def argument_spec():
    return module_spec({
        "namespace": {"type": "str", "default": "redhat-ods-applications"},
        "images": {"type": "list", "elements": "dict", "default": []},
        "workbenches": {"type": "list", "elements": "dict", "default": []},
        "sizes": {"type": "dict", "default": {}},
        "base": {"type": "dict", "required": True, "options": {
            "namespace": {"type": "str", "required": True},
            "name": {"type": "str", "required": True},
            "tag": {"type": "str", "required": True}}},
        "check_data_connections": {"type": "bool", "default": True},
    }, WAIT)


@predicate("the ImageStream has tags in status.tags")
def has_tags(stream):
    tags = [t.get("tag") for t in dig(stream, "status.tags", []) or [] if t.get("items")]
    return (True, "tags: " + ", ".join(tags)) if tags else (False, "no tags imported yet")


def _existing_streams(run, namespace):
    try:
        items = run.cluster.list(run.cluster.resource(*IMAGE_STREAM), namespace=namespace)[0]
    except NotServed:
        return {}
    return {dig(s, "metadata.name"): [t.get("tag") for t in dig(s, "status.tags", []) or []]
            for s in items}


def _check_bases(run, params):
    base = params["base"]
    wanted = {}
    for image in params["images"]:
        key = (base["namespace"], base["name"], str(image.get("base_tag") or base["tag"]))
        wanted.setdefault(key, []).append("{0}:{1}".format(image.get("name"), image.get("tag")))
    out = []
    for (namespace, name, tag), users in sorted(wanted.items()):
        entry = {"namespace": namespace, "name": name, "tag": tag, "image": None,
                 "used_by": users}
        out.append(entry)
        resource = run.cluster.resource(*IMAGE_STREAM)
        stream = run.cluster.get(resource, name, namespace)
        tagged, why = has_tags(stream)
        if not tagged:
            if run.check_mode:
                run.warnings.append(
                    "ImageStream {0}/{1} {2}, so the base tag {3} cannot be checked in check mode "
                    "(RHODS creates it with its workbenches component).".format(
                        namespace, name, why, tag))
                continue
            stream = run.waiter.wait(IMAGE_STREAM.select(name, namespace), has_tags)
        check_base_tag(stream, namespace, name, tag, users)
        entry["image"] = (tag_item(stream, tag) or {}).get("dockerImageReference")
    return out


def _check_connections(run, workbenches):
    resource = run.cluster.resource(*SECRET)
    for bench in workbenches:
        for name in bench.get("data_connections") or []:
            namespace = bench.get("namespace")
            if run.cluster.get(resource, name, namespace) is None:
                run.warnings.append(
                    "Workbench {0}/{1}: data connection Secret {2} does not exist (yet); the "
                    "workbench will not start until it does.".format(
                        namespace, bench.get("name"), name))


def _check_offered_sizes(run, params):
    """A warning per workbench whose size the live dashboard does not offer as declared."""
    try:
        live = run.cluster.get(run.cluster.resource(*DASHBOARD_CONFIG), CONFIG_NAME,
                               params["namespace"])
    except NotServed:
        return
    if live is not None:
        run.warnings.extend(offered_size_warnings(params["workbenches"], params["sizes"], live))


def handle(run):
    params = run.params
    declared = validate_images(params["images"])
    workbenches = params["workbenches"]
    existing = None
    undeclared = [b for b in workbenches if isinstance(b, dict) and isinstance(b.get("image"), str)
                  and tuple(b["image"].split(":", 1)) not in declared]
    if undeclared:
        existing = _existing_streams(run, params["namespace"])
    run.warnings.extend(validate_workbenches(workbenches, params["sizes"], declared, existing))
    run.result["base_images"] = _check_bases(run, params)
    if params["check_data_connections"]:
        _check_connections(run, workbenches)
    if workbenches:
        _check_offered_sizes(run, params)


def main():
    run_module(argument_spec(), handle)


if __name__ == "__main__":
    main()
