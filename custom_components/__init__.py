"""Custom components of this repository.

The tests import this package before Home Assistant's test config mounts its own.
"""
