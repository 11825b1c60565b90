#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: rhods.gitops contributors

DOCUMENTATION = r"""
module: image_build
short_description: Build the image of an OpenShift BuildConfig only when its inputs changed
description:
  - Makes sure the image of a BuildConfig is built from the BuildConfig's current inputs (source,
    strategy and its base image, output tag), and returns the image reference with its digest.
  - If a build of the current inputs is already C(New), C(Pending) or C(Running) (for example
    started by an ImageChange trigger when the BuildConfig was created), the module waits for
    that build instead of starting a second one.
  - If the BuildConfig's ImageChange trigger has not fired yet for its base tag's current image,
    the module gives the trigger O(trigger_grace) seconds to start its build, and adopts it.
  - It starts a new build (C(POST buildconfigs/<name>/instantiate)) only when no build of the
    current inputs completed, or the output tag is missing from the ImageStream, or
    O(rebuild=true). Otherwise it reports C(changed=false) and starts nothing.
  - The inputs are compared by a fingerprint (SHA-256) of the BuildConfig spec. Builds this
    module starts record it (annotation C(rhods.gitops/build-inputs) and the build cause); other
    builds are fingerprinted from their own spec.
  - On failure the task fails with the build's phase, reason and message and the last
    O(log_lines) lines of its log (C(GET builds/<name>/log)).
  - In check mode nothing is started or awaited; RV(would_build) says whether a build would start.
version_added: 0.1.0
author:
  - rhods.gitops contributors (@rhods-gitops)
options:
  namespace:
    description: Namespace of the BuildConfig.
    type: str
    required: true
  name:
    description: Name of the BuildConfig.
    type: str
    required: true
  rebuild:
    description:
      - Start a new build even when a build of the current inputs completed.
      - With rounds of progress output (O(progress_interval)), only the first round starts one.
    type: bool
    default: false
  wait:
    description:
      - Wait until the build is C(Complete) and its output tag is in the ImageStream's
        C(status.tags) (then RV(image) carries the digest).
      - With V(false), return as soon as the build is started or found.
    type: bool
    default: true
  trigger_grace:
    description:
      - Seconds to wait for the BuildConfig's ImageChange trigger to start its build when the
        trigger has not fired for the base tag's current image yet (a BuildConfig just created).
      - After that the module starts a build itself.
    type: int
    default: 30
  source_dir:
    description:
      - Binary source. A local directory (on the machine that runs the module) uploaded as a
        gzipped tar archive to C(buildconfigs/<name>/instantiatebinary); the BuildConfig must
        have C(source.type=Binary).
      - The archive is reproducible (sorted, owner root, mtime 0); its digest is part of the
        inputs, so a new build starts only when a file in the directory changed.
    type: path
  as_file:
    description: With O(source_dir), the file name the build sees the archive as (C(asFile)).
    type: str
  log_lines:
    description: How many of the last lines of the build log a failure reports.
    type: int
    default: 40
extends_documentation_fragment: [kubernetes.core.k8s_auth_options, rhods.gitops.cluster, rhods.gitops.wait]
notes:
  - Needs C(get), C(list), C(watch) on C(buildconfigs), C(builds) and C(imagestreams), C(create)
    on C(buildconfigs/instantiate) (or C(buildconfigs/instantiatebinary)) and C(get) on
    C(builds/log).
  - Binary upload is covered by unit tests only; the local control plane of this project
    implements C(instantiate) and C(builds/<name>/log) but not C(instantiatebinary).
"""

EXAMPLES = r"""
- name: Build the LightGBM notebook image (or adopt the build its trigger started)
  rhods.gitops.image_build:
    namespace: redhat-ods-applications
    name: lightgbm
    wait_timeout: 1800
  register: lightgbm_build

- name: Show the image reference with its digest
  ansible.builtin.debug:
    msg: "{{ lightgbm_build.image }}"

- name: Build again from the same inputs (for example after a base image security update)
  rhods.gitops.image_build:
    namespace: redhat-ods-applications
    name: lightgbm
    rebuild: true

- name: Build from a local directory (BuildConfig with source type Binary)
  rhods.gitops.image_build:
    namespace: redhat-ods-applications
    name: my-image
    source_dir: "{{ playbook_dir }}/images/my-image"
"""

RETURN = r"""
action:
  description:
    - What the module decided. V(start) (a build was started), V(adopt) (a build of the current
      inputs was already running and was awaited), V(up-to-date) (nothing to build),
      V(await-trigger) (check mode, the ImageChange trigger is about to start a build).
  type: str
  returned: success
  sample: up-to-date
reason:
  description: Why, in a few words.
  type: str
  returned: success
  sample: build lightgbm-1 of the current inputs is Complete and its output tag is in the ImageStream
started:
  description: Whether this run started a build.
  type: bool
  returned: success, not in check mode
would_build:
  description: Whether a build would start (check mode) or was found necessary.
  type: bool
  returned: always
build:
  description: Name of the build started, adopted or found up to date.
  type: str
  returned: when a build is involved
  sample: lightgbm-1
build_number:
  description: The build's number (annotation C(openshift.io/build.number)).
  type: int
  returned: when a build is involved
phase:
  description: The build's last phase seen.
  type: str
  returned: when a build is involved
  sample: Complete
image:
  description: Pull spec of the output tag's current image, with its digest.
  type: str
  returned: when the output tag is in the ImageStream
  sample: image-registry.openshift-image-registry.svc:5000/redhat-ods-applications/lightgbm@sha256:0f1e...
image_digest:
  description: The image digest.
  type: str
  returned: when the output tag is in the ImageStream
image_stream:
  description: C(<namespace>/<name>) of the output ImageStream.
  type: str
  returned: when the output is an ImageStreamTag
tag:
  description: The output tag.
  type: str
  returned: when the output is an ImageStreamTag
inputs:
  description: The fingerprint of the BuildConfig's current inputs.
  type: str
  returned: when the BuildConfig exists
triggers_owned_elsewhere:
  description:
    - True when the build controller owns the BuildConfig's C(spec.triggers) alone. An
      ImageChange trigger that fires records its image in that atomic list and so takes it over;
      then RV(build_config) is returned, to apply again with
      P(rhods.gitops.keep_live_fields#filter), which makes the list ours again and the next run
      change nothing (the custom_notebook role does this).
  type: bool
  returned: when the build controller took the triggers over
build_config:
  description: The BuildConfig as it is now (without managedFields).
  type: dict
  returned: when RV(triggers_owned_elsewhere) is true
log_tail:
  description: On failure, the last lines of the build log.
  type: list
  elements: str
  returned: failure of the build
build_reason:
  description: On failure, the build's C(status.reason).
  type: str
  returned: failure of the build
build_message:
  description: On failure, the build's C(status.message).
  type: str
  returned: failure of the build
"""

from ansible_collections.rhods.gitops.plugins.module_utils.args import WAIT, module_spec
from ansible_collections.rhods.gitops.plugins.module_utils.image_builder import ImageBuilder
from ansible_collections.rhods.gitops.plugins.module_utils.runner import run_module

RULES = {"required_by": {"as_file": "source_dir"}}


def argument_spec():
    return module_spec({
        "namespace": {"type": "str", "required": True},
        "name": {"type": "str", "required": True},
        "rebuild": {"type": "bool", "default": False},
        "wait": {"type": "bool", "default": True},
        "trigger_grace": {"type": "int", "default": 30},
        "source_dir": {"type": "path"},
        "as_file": {"type": "str"},
        "log_lines": {"type": "int", "default": 40},
    }, WAIT)


def main():
    run_module(argument_spec(), lambda run: ImageBuilder(run).ensure(), **RULES)


if __name__ == "__main__":
    main()
