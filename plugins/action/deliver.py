# SPDX-License-Identifier: Apache-2.0
"""Action plugin rhods.gitops.deliver: one component's objects, in either delivery mode.

direct: the objects with one server-side apply (``apply``), then the Secrets with another
whose result carries no value. gitops: the objects rendered into the tree, committed and
pushed (``render_tree``); the component's Application ensured; the Secrets applied directly
once Argo CD has created their namespaces; then the Application awaited, Synced at the pushed
commit and Healthy (``argocd_application``, in rounds with progress). The decisions are in
plugins/plugin_utils/delivery.py; this file only calls the modules.
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.utils.display import Display

from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.rhods.gitops.plugins.filter.gitops import app_project, controller_rights
from ansible_collections.rhods.gitops.plugins.module_utils import applyset
from ansible_collections.rhods.gitops.plugins.module_utils.args import (
    APPLY, ARGOCD, DEFAULT_PROGRESS_INTERVAL, module_spec)
from ansible_collections.rhods.gitops.plugins.module_utils.live_fields import keep_live_fields
from ansible_collections.rhods.gitops.plugins.plugin_utils import delivery
from ansible_collections.rhods.gitops.plugins.plugin_utils.wait_rounds import (
    CollectionAction, run_in_rounds)

OWN_SPEC = {
    "component": {"type": "str", "required": True},
    "manifests": {"type": "list", "elements": "dict", "required": True},
    "delivery": {"type": "str", "choices": list(delivery.MODES)},
    "keep_live_fields": {"type": "list", "elements": "dict", "default": []},
    "progress_interval": {"type": "int", "default": DEFAULT_PROGRESS_INTERVAL},
    "ownership": {"type": "bool", "default": True},
    "prune": {"type": "bool", "default": True},
    "delete_data": {"type": "bool"},
    "state_namespace": {"type": "str"},
}


def argument_spec():
    """What plugins/modules/deliver.py documents: the own options, the apply group and
    kubernetes.core's connection options (those are handed on to the k8s modules as they are)."""
    return module_spec(OWN_SPEC, APPLY, ARGOCD)


NAMESPACE_ACTIVE = "status.phase == 'Active'"
display = Display()


class ActionModule(CollectionAction):
    """See the module docstring and plugins/modules/deliver.py."""

    def act(self, args):
        self.auth = {key: args.pop(key) for key in list(args) if key in AUTH_ARG_SPEC}
        spec = module_spec(OWN_SPEC, APPLY, ARGOCD, cluster=False)
        checked = ArgumentSpecValidator(spec).validate(args)
        if checked.error_messages:  # never echoes the arguments: manifests hold Secrets
            return {"failed": True, "msg": "rhods.gitops.deliver: {0}".format(
                "; ".join(checked.error_messages))}
        params = checked.validated_parameters
        try:
            component = delivery.check_component(params["component"])
            objects, secrets = delivery.split(params["manifests"])
            mode = delivery.delivery_mode(params["delivery"] or self._variable(
                delivery.DELIVERY_VARIABLE))
            target = None
            if mode == "gitops":
                target = delivery.gitops_target(self._variable(delivery.TARGET_FACT), component)
            owner = self._owner(params, component) if params["ownership"] else None
        except delivery.DeliveryInputError as exc:
            return {"failed": True, "msg": "{0}; nothing was changed.".format(exc)}
        outcome = self._deliver(params, component, mode, target, owner, objects, secrets)
        outcome.update(component=component, delivery=mode)
        return outcome

    def _deliver(self, params, component, mode, target, owner, objects, secrets):
        """Record the component's ApplySet, deliver its objects as members, prune the members
        it no longer renders: one task result."""
        # In gitops delivery the controller's rights for the component are members too (their
        # names do not depend on the kinds), so that direct delivery prunes them.
        rights = controller_rights(target, component, objects) if mode == "gitops" else []
        wanted = applyset.identities(objects + secrets + rights)
        if owner and mode == "direct":
            return self._direct_owned(params, component, owner, wanted, objects, secrets)
        steps = []
        if owner:
            steps.append(self._module("applyset", dict(owner, step="prepare", objects=wanted)))
            if steps[-1].get("failed"):
                return outcome_of(steps)
            secrets = applyset.labelled(secrets, steps[-1]["id"], component)
        if mode == "direct":
            if owner:
                objects = applyset.labelled(objects, steps[-1]["id"], component)
            delivered = self._direct(params, objects, secrets)
        else:
            delivered = self._gitops(params, target, component, applyset.tree_objects(
                objects, component, owner["namespace"] if owner else None, bool(owner)), secrets,
                steps[-1] if owner else {})
        steps.append(delivered)
        extra = {key: delivered.get(key) for key in ("applied", "revision", "path", "application")}
        if owner and params["prune"] and not delivered.get("failed"):
            steps.append(self._module("applyset", dict(owner, step="prune", objects=wanted)))
            extra.update(deleted=steps[-1].get("deleted"), kept=steps[-1].get("kept"))
        return outcome_of(steps, **extra)

    # ownership

    def _owner(self, params, component):
        """The arguments of ``applyset`` for this component (its parent's name and place)."""
        namespace = params["state_namespace"] or self._variable(delivery.STATE_NAMESPACE_VARIABLE) \
            or applyset.DEFAULT_NAMESPACE
        delete_data = params["delete_data"]
        if delete_data is None:
            delete_data = delivery.boolean_variable(
                delivery.DELETE_DATA_VARIABLE, self._variable(delivery.DELETE_DATA_VARIABLE))
        return {"component": component, "name": applyset.parent_name(component),
                "namespace": delivery.check_namespace(namespace), "delete_data": delete_data}

    # the modules

    def _variable(self, name):
        value = self.task_vars.get(name)
        return self._templar.template(value) if value is not None else None

    def _module(self, name, args, kube=True):
        module_args = dict(self.auth, **args) if kube else dict(args)
        return self._execute_module(module_name="rhods.gitops." + name, module_args=module_args,
                                    task_vars=self.task_vars)

    def _apply(self, definitions, force_conflicts, secret=False):
        result = self._module("apply", {"definitions": definitions,
                                        "force_conflicts": force_conflicts})
        result.pop("invocation", None)
        if secret:
            return delivery.hide_secret_result(result, len(definitions))
        return result

    # direct delivery

    def _direct(self, params, objects, secrets):
        steps = []
        if objects:
            if params["keep_live_fields"]:
                objects = keep_live_fields(objects, self._live(objects, params["keep_live_fields"]),
                                           params["keep_live_fields"])
            steps.append(self._apply(objects, params["force_conflicts"]))
        if secrets and not any(s.get("failed") for s in steps):
            steps.append(self._apply(secrets, params["force_conflicts"], secret=True))
        return outcome_of(steps, applied=steps[0].get("results", []) if objects else [])

    def _direct_owned(self, params, component, owner, wanted, objects, secrets):
        """Direct delivery of an owned component: one ``applyset`` run (step deliver) records
        the set, applies the objects and then the Secrets as members, and prunes."""
        set_id = applyset.applyset_id(owner["name"], owner["namespace"])
        objects = applyset.labelled(objects, set_id, component)
        if objects and params["keep_live_fields"]:
            objects = keep_live_fields(objects, self._live(objects, params["keep_live_fields"]),
                                       params["keep_live_fields"])
        result = self._module("applyset", dict(
            owner, step="deliver", objects=wanted, definitions=objects,
            secrets=applyset.labelled(secrets, set_id, component), prune=params["prune"],
            force_conflicts=params["force_conflicts"]))
        result.pop("invocation", None)
        extra = {"applied": result.get("applied", [])}
        if params["prune"]:
            extra.update(deleted=result.get("deleted"), kept=result.get("kept"))
        return outcome_of([result], **extra)

    def _live(self, objects, rules):
        """The live objects of the kinds whose fields are kept, one list per kind and namespace."""
        kinds = {rule.get("kind") for rule in rules}
        seen, live = set(), []
        for obj in objects:
            key = (obj.get("apiVersion"), obj.get("kind"), (obj.get("metadata") or {}).get("namespace"))
            if key[1] not in kinds or key in seen:
                continue
            seen.add(key)
            found = self._execute_module(
                module_name="kubernetes.core.k8s_info", task_vars=self.task_vars,
                module_args=dict(self.auth, api_version=key[0], kind=key[1], namespace=key[2]))
            if found.get("failed"):
                raise delivery.DeliveryInputError("cannot read the live {0} objects: {1}".format(
                    key[1], found.get("msg")))
            live.extend(found.get("resources") or [])
        return live

    # GitOps delivery

    def _gitops(self, params, target, component, objects, secrets, before=None):
        """``before``: the result of the ApplySet's prepare step, which lists the namespaces and
        kinds of what the component delivered until now; its AppProject allows them until Argo
        CD has pruned what left."""
        steps = [self._module("render_tree", delivery.render_args(target, component, objects),
                              kube=False)]
        if steps[0].get("failed"):
            return outcome_of(steps)
        before = before or {}
        project = [app_project(target, component, objects)] + self._rights(
            target, component, objects, before)
        # Until Argo CD has pruned what left, the project and the controller's rights also
        # cover what the component delivered before.
        widened = [app_project(target, component, objects, before.get("recorded_namespaces"),
                               before.get("recorded_group_kinds"))] + self._rights(
            target, component, objects, before, before.get("recorded_group_kinds"))
        steps.append(self._apply(widened, params["force_conflicts"]))
        if steps[-1].get("failed"):
            return outcome_of(steps)
        app = delivery.application_args(target, component, objects + secrets, steps[0],
                                        params["ignore_differences"])
        if target["push"] and steps[0].get("revision"):
            app["expected_revision"] = steps[0]["revision"]
        if secrets:
            steps.append(self._module("argocd_application", dict(app, wait=False)))
            steps.extend(self._namespaces_of(secrets, target))
            if not any(s.get("failed") for s in steps):
                steps.append(self._apply(secrets, params["force_conflicts"], secret=True))
        if any(s.get("failed") for s in steps):
            return outcome_of(steps)
        wait = dict(app, wait=True, wait_healthy=params["wait_healthy"],
                    wait_timeout=target["timeout"])
        if self._play_context.check_mode or params["progress_interval"] <= 0:
            steps.append(self._module("argocd_application", wait))
        else:
            steps.append(run_in_rounds(self, dict(self.auth, **wait), params["progress_interval"],
                                       self.task_vars, module_name="rhods.gitops.argocd_application"))
        waited = steps[-1]
        if widened != project and not self._play_context.check_mode and \
                not any(s.get("failed") for s in steps):
            steps.append(self._apply(project, params["force_conflicts"]))  # synced: narrow them
        final = outcome_of(steps, revision=steps[0].get("revision"), path=steps[0].get("path"))
        final["application"] = {"name": app["name"], "sync_status": waited.get("sync_status"),
                                "health_status": waited.get("health_status"),
                                "revision": waited.get("revision")}
        if not final.get("failed") and not self._play_context.check_mode:
            display.display("  [{0}] Application {1}/{2}: {3} at {4}, {5}".format(
                self.task_vars.get("inventory_hostname", "localhost"), app["namespace"],
                app["name"], final["application"]["sync_status"],
                (final["application"]["revision"] or "?")[:12],
                final["application"]["health_status"]))
        return final

    @staticmethod
    def _rights(target, component, objects, before, more_group_kinds=()):
        """The controller's rights for the component, members of its ApplySet when it has one."""
        rights = controller_rights(target, component, objects, more_group_kinds)
        return applyset.labelled(rights, before["id"], component) if before.get("id") else rights

    def _namespaces_of(self, secrets, target):
        """Wait until Argo CD has created the namespaces the Secrets go to."""
        out = []
        for namespace in delivery.gitops_namespaces(secrets):
            if self._play_context.check_mode:
                break
            out.append(self._module("k8s_wait", {
                "kind": "Namespace", "name": namespace, "condition": NAMESPACE_ACTIVE,
                "wait_timeout": target["timeout"]}))
            if out[-1].get("failed"):
                break
        return out


def outcome_of(steps, **extra):
    """One task result from the module results, in order: changed if any changed, the
    first failure's message, every diff."""
    out = {"changed": any(s.get("changed") for s in steps)}
    failed = [s for s in steps if s.get("failed")]
    if failed:
        out.update(failed=True, msg=failed[0].get("msg") or "delivery failed")
        for key in ("problems", "resources", "awaiting", "state", "reason"):
            if key in failed[0]:
                out[key] = failed[0][key]
    diffs = []
    for step in steps:
        diff = step.get("diff")
        diffs.extend(diff if isinstance(diff, list) else [diff] if diff else [])
    if diffs:
        out["diff"] = diffs
    warnings = [w for s in steps for w in s.get("warnings") or []]
    if warnings:
        out["warnings"] = warnings
    out.update({key: value for key, value in extra.items() if value is not None})
    return out
