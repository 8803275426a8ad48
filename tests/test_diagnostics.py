"""Diagnostics of a miner, over real TCP against the Whatsminer emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from tests.conftest import (
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    setup_integration,
)
from tests.emulators import WhatsminerV2Emulator

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
# Values that change from run to run: the emulator's port and the token's age.
VOLATILE = path_type(
    {
        "entry.data.port": (int,),
        "miner.port": (int,),
        "miner.token_age_s": (int,),
    }
)


@pytest.fixture(autouse=True)
def frozen_time(freezer: FrozenDateTimeFactory) -> None:
    """A fixed time, before any access token is issued."""
    freezer.move_to(NOW)


@pytest.fixture
async def whatsminer(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """The conftest miner, on a clock that stands still: replies are repeatable."""
    emulator = WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname=MINER_HOSTNAME, mac=MINER_MAC
    )
    emulator.now = NOW.timestamp
    emulator.state.error_codes = [("531", "2026-05-01 11:58:02")]
    async with emulator:
        yield emulator


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_integration
    )
    assert diagnostics == snapshot(matcher=VOLATILE)

    dumped = json.dumps(diagnostics)
    assert MINER_PASSWORD not in dumped
    assert MINER_UNIQUE_ID not in dumped.lower()
    assert whatsminer.state.miner_sn not in dumped
    assert whatsminer.state.power_sn not in dumped
    assert "microbtinitial" not in dumped  # the pool worker
    assert diagnostics["mac_matches_unique_id"] is True


async def test_diagnostics_pool_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Credentials in a pool URL and worker names stay out of the report."""
    whatsminer.state.pools = [
        ("stratum+tcp://alice:hunter2@pool.example.com:3333", "alice.rig1", "x"),
        ("stratum+tcp://backup.example.com:443", "bc1qwalletaddress.rig1", "x"),
    ]
    await setup_integration(hass, mock_config_entry)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    pools = diagnostics["data"]["status"]["pools"]  # type: ignore[index]
    assert [(pool["url"], pool["user"]) for pool in pools] == [  # type: ignore[index]
        ("stratum+tcp://**REDACTED**@pool.example.com:3333", "**REDACTED**"),
        ("stratum+tcp://backup.example.com:443", "**REDACTED**"),
    ]
    dumped = json.dumps(diagnostics)
    for secret in ("alice", "hunter2", "bc1qwalletaddress", MINER_PASSWORD):
        assert secret not in dumped


async def test_diagnostics_write_api_disabled_and_failed_poll(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The write access state and a failed poll are reported; the last data stays."""
    whatsminer.state.write_api_enabled = False
    await setup_integration(hass, mock_config_entry)

    await whatsminer.set_offline(True)
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    assert diagnostics["write_access"] == "disabled"
    coordinator = diagnostics["coordinator"]
    assert coordinator["last_update_success"] is False  # type: ignore[index]
    assert "UpdateFailed" in coordinator["last_exception"]  # type: ignore[index]
    assert coordinator["update_interval_s"] == 30  # type: ignore[index]
    assert diagnostics["data"]["status"]["mining"] is True  # type: ignore[index]
    assert MINER_PASSWORD not in json.dumps(diagnostics)
