# SPDX-License-Identifier: Apache-2.0
"""Filters for runs over several clusters (pure Python, no cluster access).

- ``cluster_summary(hosts, converged, hostvars)``: one line per cluster (inventory host) of the
  play, in inventory order: what a converged one published (OpenShift AI's CSV, the dashboard
  URL, the delivery mode), or that it failed. ``hosts`` is ``ansible_play_hosts_all``,
  ``converged`` is ``ansible_play_hosts`` (the hosts that have not failed), ``hostvars`` is
  ``hostvars``.
"""

from ansible.errors import AnsibleError


def _get(variables, name):
    try:
        value = variables.get(name)
    except (AnsibleError, KeyError, TypeError, ValueError):  # an undefined or broken variable
        return None
    return value if value not in ("", None) else None


def cluster_summary(hosts, converged, hostvars):
    """Lines of the summary of every cluster of a run (see the module docstring)."""
    hosts, converged = list(hosts or []), set(converged or [])
    lines = ["{0} of {1} cluster(s) converged".format(
        len([h for h in hosts if h in converged]), len(hosts))]
    for host in hosts:
        if host not in converged:
            lines.append("{0}: FAILED - see its failed task above; the other clusters went "
                         "on".format(host))
            continue
        variables = hostvars[host] if host in hostvars else {}
        lines.append("{0}: converged ({1} delivery), OpenShift AI {2}, dashboard {3}".format(
            host, _get(variables, "rhods_gitops_delivery") or "direct",
            _get(variables, "rhods_csv") or "not known",
            _get(variables, "rhods_dashboard_url") or "not known"))
    return lines


class FilterModule:
    """rhods.gitops filters for several clusters."""

    def filters(self):
        return {"cluster_summary": cluster_summary}
