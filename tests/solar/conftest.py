"""Fixtures of the solar tests: the repository's blueprints and two miners."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from unittest.mock import PropertyMock, patch

from homeassistant.components.blueprint.models import DomainBlueprints
import pytest

from tests.conftest import EmulatedWhatsminer
from tests.solar.home import BLUEPRINTS, SHED_MAC


@pytest.fixture(autouse=True)
def repository_blueprints() -> Iterator[None]:
    """Blueprints load from the repository, as a user imports them."""
    with patch.object(
        DomainBlueprints,
        "blueprint_folder",
        new_callable=PropertyMock,
        return_value=BLUEPRINTS,
    ):
        yield


@pytest.fixture
async def miners(socket_enabled: None) -> AsyncIterator[list[EmulatedWhatsminer]]:
    """The garage's miner on API v2, the shed's on API v3."""
    async with (
        EmulatedWhatsminer("v2") as garage,
        EmulatedWhatsminer("v3", hostname="shed-m60", mac=SHED_MAC) as shed,
    ):
        yield [garage, shed]
