"""Fault runs on the local stack: replay known events while injecting faults, then prove that
nothing was lost, nothing was double-applied and every invalid event is in quarantine.

``python -m devstack.rigs.chaos --help`` runs the scenarios on a fresh stack and prints a figures
table; ``tests/fault/`` runs a lean version on the test session's stack. Every fault hook
lives here, in ``devstack.standins.featurestore`` (``FaultConfig``, ``admin``) or in
``producers.faults``: none is on the Lambda code path. See docs/faults.md.
"""
