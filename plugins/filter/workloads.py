# SPDX-License-Identifier: Apache-2.0
"""Workload filters. Pure Python; unit-tested in ``tests/unit/test_dsp_filters.py``.

``pod_problems(pods)``: why pods are not ready, in words, from their status. Turns a
list of Pod objects (``kubernetes.core.k8s_info`` resources) into messages such as
``Pod minio/minio-6d9f-x: container minio is waiting: ImagePullBackOff (Back-off
pulling image ...)``, so a role can explain a wait that timed out.

``workbench_waits(workbenches)``: the ``objects`` of one ``rhods.gitops.k8s_wait``
for workbenches (``custom_notebook_workbenches``): each ready (a ready replica), or,
when declared stopped, with no ready replica. A workbench declared running that
someone stops (the dashboard's stop annotation) fails the wait at once instead of
timing out.

``awaited_result(result, kind)``: from the result of a ``k8s_wait`` with ``objects``, what a
wait for only the first object of ``kind`` would have registered (``satisfied``,
``resource``, ``resources``, ``elapsed``, ``progress`` of that object);
``{"skipped": true, "changed": false}`` when that kind was not awaited or the task skipped.
"""

from ansible.module_utils.parsing.convert_bool import boolean

WORKBENCH_READY = "status.readyReplicas >= `1`"
WORKBENCH_STOPPED = "(status.readyReplicas || `0`) == `0`"
WORKBENCH_STOPPED_BY_SOMEONE = 'metadata.annotations."kubeflow-resource-stopped" != null'


def _container_problems(pod_ref, statuses):
    out = []
    for status in statuses or []:
        state = status.get("state") or {}
        name = status.get("name")
        waiting = state.get("waiting")
        terminated = state.get("terminated")
        if waiting and waiting.get("reason") not in (None, "ContainerCreating", "PodInitializing"):
            out.append("{0}: container {1} is waiting: {2}{3}.".format(
                pod_ref, name, waiting.get("reason"),
                " ({0})".format(waiting["message"]) if waiting.get("message") else ""))
        elif terminated and terminated.get("exitCode", 0) != 0:
            out.append("{0}: container {1} exited with code {2}: {3}.".format(
                pod_ref, name, terminated.get("exitCode"),
                terminated.get("reason") or terminated.get("message") or "no reason given"))
        elif status.get("restartCount", 0) > 2 and not status.get("ready"):
            out.append("{0}: container {1} restarted {2} times and is not ready.".format(
                pod_ref, name, status.get("restartCount")))
    return out


def pod_problems(pods):
    """Messages that explain why the given pods are not ready (empty: nothing found)."""
    out = []
    for pod in pods or []:
        meta = pod.get("metadata") or {}
        status = pod.get("status") or {}
        ref = "Pod {0}/{1}".format(meta.get("namespace"), meta.get("name"))
        for cond in status.get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                out.append("{0} cannot be scheduled: {1}.".format(
                    ref, cond.get("message") or cond.get("reason")))
        out.extend(_container_problems(ref, status.get("initContainerStatuses")))
        out.extend(_container_problems(ref, status.get("containerStatuses")))
    return out


def workbench_waits(workbenches):
    out = []
    for workbench in workbenches or []:
        entry = {"namespace": workbench["namespace"], "name": workbench["name"]}
        if boolean(workbench.get("stopped", False), strict=False):
            entry["condition"] = WORKBENCH_STOPPED
        else:
            entry.update(condition=WORKBENCH_READY, fail_condition=WORKBENCH_STOPPED_BY_SOMEONE)
        out.append(entry)
    return out


def awaited_result(result, kind):
    result = result or {}
    found = [a for a in result.get("awaited") or [] if a.get("kind") == kind]
    if not found:
        return {"skipped": True, "changed": False}
    entry = found[0]
    subject = "{0} {1}".format(kind, "/".join(p for p in (entry.get("namespace"),
                                                          entry.get("name")) if p))
    resource = entry.get("resource")
    return {"changed": False, "satisfied": entry.get("satisfied"), "resource": resource,
            "resources": [resource] if resource else [], "elapsed": result.get("elapsed"),
            "progress": [p for p in result.get("progress") or [] if p.get("object") == subject]}


class FilterModule:
    """rhods.gitops workload filters."""

    def filters(self):
        return {"pod_problems": pod_problems, "workbench_waits": workbench_waits,
                "awaited_result": awaited_result}
