"""Integration tests: the collection's roles and modules against the local control plane.

A package on purpose: its helper module ``ansible.py`` must never shadow the
real ``ansible`` package on ``sys.path``.
"""
