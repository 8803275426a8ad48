"""The ``miner_hub.came_online`` trigger, against the emulated Whatsminer."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.miner_hub.const import DOMAIN
from tests.conftest import poll, setup_integration
from tests.emulators import DragonMintEmulator, WhatsminerV2Emulator

MINING_SENSOR = "binary_sensor.garage_m30_mining"


def _miner_device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.unique_id or ""), entry.entry_id
    )
    assert device is not None
    return device.id


async def _automation(hass: HomeAssistant, target: dict[str, Any]) -> None:
    """An automation that fires ``miner_back`` when the trigger does."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {"trigger": "miner_hub.came_online", "target": target},
                # Evaluated as the run starts.
                "variables": {"switch": "{{ states('switch.garage_m30_mining') }}"},
                "actions": {
                    "event": "miner_back",
                    "event_data": {
                        "entity_id": "{{ trigger.entity_id }}",
                        "switch": "{{ switch }}",
                    },
                },
            }
        },
    )


async def test_fires_once_when_the_miner_answers_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    await _automation(hass, {"device_id": _miner_device(hass, init_integration)})
    fired = async_capture_events(hass, "miner_back")

    await whatsminer.set_offline(True)
    await poll(hass, freezer)
    assert hass.states.get(MINING_SENSOR).state == STATE_UNAVAILABLE
    await poll(hass, freezer)
    assert fired == []  # going away, and staying away, is not coming back

    await whatsminer.set_offline(False)
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert [event.data["entity_id"] for event in fired] == [MINING_SENSOR]
    # The action runs once the whole miner is back, not just the sensor.
    assert fired[0].data["switch"] == "on"

    whatsminer.state.mining = False  # a change of state is not a return
    await poll(hass, freezer)
    assert len(fired) == 1


async def test_fires_when_the_integration_loads_after_a_restart(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """After a restart the restored Mining sensor is unavailable until setup."""
    await setup_integration(hass, mock_config_entry)
    device_id = _miner_device(hass, mock_config_entry)
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(MINING_SENSOR).state == STATE_UNAVAILABLE

    await _automation(hass, {"device_id": device_id})
    fired = async_capture_events(hass, "miner_back")
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert len(fired) == 1


async def test_targets_only_miner_hub_mining_sensors(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    """Another running sensor of the same device (or elsewhere) does not count."""
    hass.states.async_set("binary_sensor.other_running", "unavailable")
    await _automation(
        hass,
        {"entity_id": [MINING_SENSOR, "binary_sensor.other_running"]},
    )
    fired = async_capture_events(hass, "miner_back")
    hass.states.async_set(
        "binary_sensor.other_running", "on", {"device_class": "running"}
    )
    await hass.async_block_till_done()
    assert fired == []

    await whatsminer.set_offline(True)
    await poll(hass, freezer)
    await whatsminer.set_offline(False)
    await poll(hass, freezer)
    assert len(fired) == 1


async def test_dragonmint_came_online(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    await setup_integration(hass, dragonmint_entry)
    device_id = _miner_device(hass, dragonmint_entry)
    await _automation(hass, {"device_id": device_id})
    fired = async_capture_events(hass, "miner_back")

    dragonmint.faults.offline = True
    await poll(hass, freezer)
    dragonmint.faults.offline = False
    await poll(hass, freezer)
    assert len(fired) == 1
