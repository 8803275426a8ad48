"""Shared test fixtures.

``custom_components`` is imported from this repository before the ``hass`` fixture
mounts the harness's own test config directory, so Home Assistant finds our
integration rather than an empty namespace package.
"""

from __future__ import annotations

import custom_components.miner_hub  # noqa: F401
