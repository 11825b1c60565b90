# SPDX-License-Identifier: Apache-2.0
"""``pod_problems(pods)``: why pods are not ready, in words, from their status.

Turns a list of Pod objects (``kubernetes.core.k8s_info`` resources) into
messages such as ``Pod minio/minio-6d9f-x: container minio is waiting:
ImagePullBackOff (Back-off pulling image ...)``, so a role can explain a wait
that timed out. Pure Python; unit-tested in ``tests/unit/test_dsp_filters.py``.
"""


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


class FilterModule:
    """rhods.gitops workload filters."""

    def filters(self):
        return {"pod_problems": pod_problems}
