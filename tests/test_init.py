"""Setting up and unloading a miner."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.models import WriteAccess
from tests.conftest import MINER_UNIQUE_ID
from tests.emulators import WhatsminerV2Emulator


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data
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
    assert device.model == "M30S+VE40"
    assert device.name == "garage-m30"
    assert device.sw_version == "20240624.18.REL"
    assert device.hw_version == "H6OS"
    assert device.serial_number is not None
    assert device.configuration_url is not None
    assert device.configuration_url.startswith("http://127.0.0.1")
    assert (dr.CONNECTION_NETWORK_MAC, MINER_UNIQUE_ID) in device.connections

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_unreachable_miner_retries_setup(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    await whatsminer.set_offline(True)
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
