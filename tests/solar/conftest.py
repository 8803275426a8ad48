"""Fixtures of the solar tests: the repository's blueprints and two miners."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import EmulatedWhatsminer
from tests.solar.home import SHED_MAC


@pytest.fixture(autouse=True)
def blueprints(repository_blueprints: None, automations_off_at_the_end: None) -> None:
    """The repository's blueprints; their automations off before Home Assistant stops."""


@pytest.fixture
async def miners(socket_enabled: None) -> AsyncIterator[list[EmulatedWhatsminer]]:
    """The garage's miner on API v2, the shed's on API v3."""
    async with (
        EmulatedWhatsminer("v2") as garage,
        EmulatedWhatsminer("v3", hostname="shed-m60", mac=SHED_MAC) as shed,
    ):
        yield [garage, shed]
