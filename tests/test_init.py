"""Setting up and unloading a miner (API v2, then v3)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.models import WriteAccess
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import (
    WhatsminerV3Miner,
)
from tests.conftest import MINER_UNIQUE_ID, V3_ONLY, EmulatedWhatsminer
from tests.emulators import WhatsminerV3Emulator

# What each emulated miner is: adapter, model, firmware, platform, serial number.
MINERS = {
    "v2": (
        WhatsminerV2Miner,
        "M30S+VE40",
        "20240624.18.REL",
        "H6OS",
        "HTM30SPVE40K2109012345",
    ),
    "v3": (
        WhatsminerV3Miner,
        "M60SVK40",  # "M60S_VK40" on the wire
        "20251209.16.Rel2",
        "H616",
        "BTM3CS40HD2408310000000000012345",
    ),
}


async def test_setup_and_unload(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    entry = init_any_integration
    adapter, model, firmware, platform, serial = MINERS[any_whatsminer.api]
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data
    assert type(coordinator.miner) is adapter
    assert coordinator.info.mac == MINER_UNIQUE_ID
    assert coordinator.write_access is WriteAccess.ENABLED
    assert coordinator.data.status.mining is True
    assert coordinator.data.status.hashrate_ths
    assert coordinator.data.power_supply is not None

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), entry.entry_id
    )
    assert device is not None
    assert device.manufacturer == "MicroBT"
    assert device.model == model
    assert device.name == "garage-m30"
    assert device.sw_version == firmware
    assert device.hw_version == platform
    assert device.serial_number == serial
    assert device.configuration_url is not None
    assert device.configuration_url.startswith("http://127.0.0.1")
    assert (dr.CONNECTION_NETWORK_MAC, MINER_UNIQUE_ID) in device.connections

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


@V3_ONLY
async def test_v3_entry_speaks_only_v3(
    any_whatsminer: EmulatedWhatsminer, init_any_integration: MockConfigEntry
) -> None:
    """Set up, polled and proven writable on API v3: its reduced v2 API is unused."""
    emulator = any_whatsminer.emulator
    assert isinstance(emulator, WhatsminerV3Emulator)
    assert emulator.v2.connections_total == 0
    assert emulator.v2.received == []
    # The password is proven with the firmware's default LED state, a valid token.
    assert any_whatsminer.writes() == [any_whatsminer.write("identify_off")]
    assert emulator.state.led == "auto"


async def test_unreachable_miner_retries_setup(
    hass: HomeAssistant,
    any_miner_entry: MockConfigEntry,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    await any_whatsminer.set_offline(True)
    any_miner_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(any_miner_entry.entry_id)
    await hass.async_block_till_done()
    assert any_miner_entry.state is ConfigEntryState.SETUP_RETRY
