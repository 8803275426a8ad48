"""Miner Hub in a real ``hass`` of each version we support: ``scripts/newest-ha``.

``python -m tests.newest.requirements`` (run by the Home Assistant it is about)
prints what that ``hass`` would install when it starts, pinned as Home Assistant
pins it; ``python -m tests.newest`` runs the check.
"""
