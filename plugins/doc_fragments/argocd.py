# SPDX-License-Identifier: Apache-2.0
"""Options of the modules that hand objects to an Argo CD Application; their argument spec is ``args.ARGOCD`` in module_utils."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  ignore_differences:
    description:
      - Argo CD C(ignoreDifferences) rules, for fields of the delivered objects that other writers
        own. M(rhods.gitops.argocd_application) sets them as the Application's
        C(spec.ignoreDifferences); M(rhods.gitops.deliver) uses them with gitops delivery only,
        added to those of C(gitops_bootstrap_target).
    type: list
    elements: dict
    default: []
  wait_healthy:
    description:
      - When the Application is awaited, wait for it to be C(Healthy) too, not only C(Synced) at
        the expected commit. V(false) is satisfied by C(Synced) whatever the health (C(Degraded)
        still fails), for objects whose readiness a later task awaits, such as a Subscription
        with Manual approval, which stays C(Progressing) until M(rhods.gitops.olm_operator)
        approves its InstallPlan (the rhods role's operator component).
    type: bool
    default: true
"""
