"""Operator simulator for the local control plane (test infrastructure only)."""
