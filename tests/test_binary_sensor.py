"""Binary sensors of an emulated Whatsminer, read over real TCP."""

from __future__ import annotations

from collections.abc import Iterator
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from tests.conftest import (
    MINER_PASSWORD,
    EmulatedWhatsminer,
    poll,
    setup_integration,
)
from tests.emulators import WhatsminerV2Emulator

MINING = "binary_sensor.garage_m30_mining"
HASH_STABLE = "binary_sensor.garage_m30_hashrate_stable"
HASHRATE = "sensor.garage_m30_hashrate"


@pytest.fixture(autouse=True)
def own_platforms() -> Iterator[None]:
    """Set up the binary sensors, and the sensors some tests read."""
    with patch(
        "custom_components.miner_hub.PLATFORMS",
        [Platform.BINARY_SENSOR, Platform.SENSOR],
    ):
        yield


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


@pytest.mark.freeze_time("2026-10-01T12:00:00+00:00")
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_binary_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Every binary sensor of the emulated M30S+ (v2) and M60S (v3)."""
    any_miner_entry.add_to_hass(hass)
    with patch("custom_components.miner_hub.PLATFORMS", [Platform.BINARY_SENSOR]):
        assert await hass.config_entries.async_setup(any_miner_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, any_miner_entry.entry_id)


async def test_mining_follows_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Mining off: off and still available; on again: hashing, stable later."""
    assert _state(hass, MINING) == STATE_ON
    assert _state(hass, HASH_STABLE) == STATE_ON  # mining for 50 minutes

    any_whatsminer.state.mining = False
    await poll(hass, freezer)
    assert _state(hass, MINING) == STATE_OFF
    assert _state(hass, HASH_STABLE) == STATE_OFF
    assert float(_state(hass, HASHRATE)) == 0

    await init_any_integration.runtime_data.async_set_mining(True)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert any_whatsminer.state.mining is True
    assert _state(hass, MINING) == STATE_ON
    assert float(_state(hass, HASHRATE)) > 80
    # Btminer calls the hashrate stable once it has settled, 5 minutes after
    # the start (the emulators' HASH_STABLE_SECONDS).
    assert _state(hass, HASH_STABLE) == STATE_OFF
    await poll(hass, freezer, 240)
    assert _state(hass, HASH_STABLE) == STATE_OFF
    await poll(hass, freezer, 60)
    assert _state(hass, HASH_STABLE) == STATE_ON


async def test_mining_service_stopped(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_integration: MockConfigEntry,
) -> None:
    """Btminer down while mining is off: not mining, stability unknown."""
    whatsminer.faults.btminer_restart_reads = "down"
    whatsminer.faults.btminer_restart_seconds = 3600
    whatsminer.state.mining = False
    await init_integration.runtime_data.async_set_power_limit(3000)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert whatsminer.is_btminer_restarting()
    assert _state(hass, MINING) == STATE_OFF
    assert _state(hass, HASH_STABLE) == STATE_UNKNOWN


async def test_hash_stable_added_once_reported(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Set up while btminer is stopped: "hashrate stable" appears once reported."""
    whatsminer.faults.btminer_restart_reads = "down"
    whatsminer.faults.btminer_restart_seconds = 3600
    whatsminer.state.mining = False
    await WhatsminerV2Client(
        whatsminer.host, whatsminer.port, MINER_PASSWORD
    ).set_power_limit(3000)
    await setup_integration(hass, mock_config_entry)
    assert _state(hass, MINING) == STATE_OFF
    assert hass.states.get(HASH_STABLE) is None

    whatsminer.advance(3600)
    await mock_config_entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert _state(hass, MINING) == STATE_OFF
    assert _state(hass, HASH_STABLE) == STATE_OFF


async def test_unavailable_while_unreachable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Unreachable is not "not mining": the state becomes unavailable."""
    await any_whatsminer.set_offline(True)
    await poll(hass, freezer)
    assert _state(hass, MINING) == STATE_UNAVAILABLE
    assert _state(hass, HASH_STABLE) == STATE_UNAVAILABLE

    await any_whatsminer.set_offline(False)
    await poll(hass, freezer)
    assert _state(hass, MINING) == STATE_ON
