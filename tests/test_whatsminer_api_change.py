"""A Whatsminer whose firmware moves between API v2 and v3 is followed, not lost.

Firmware upgrades move control to API v3 (4433) and keep a read-only v2 API on
4028; downgrades, which some owners do to regain v2 control, remove v3 again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.switch import (
    DOMAIN as SWITCH_DOMAIN,
    SERVICE_TURN_OFF,
)
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.miner_hub.const import (
    API_REDETECT_INTERVAL,
    CONF_API,
    CONF_V3_PORT,
    DOMAIN,
)
from custom_components.miner_hub.protocol.whatsminer import detect
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import (
    WhatsminerV3Miner,
)
from tests.conftest import (
    CLOSED_PORT,
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    poll,
    setup_integration,
    whatsminer_entry_data,
    whatsminer_v3_entry_data,
)
from tests.emulators import WhatsminerV2Emulator, WhatsminerV3Emulator

MINING_SWITCH = "switch.garage_m30_mining"
PSU_VOLTAGE = "sensor.garage_m30_psu_input_voltage"  # v2 reports it, v3 does not


def _entry(data: dict[str, object]) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN, title=MINER_HOSTNAME, unique_id=MINER_UNIQUE_ID, data=data
    )


def _v2_emulator(port: int = 0) -> WhatsminerV2Emulator:
    return WhatsminerV2Emulator(
        password=MINER_PASSWORD, port=port, hostname=MINER_HOSTNAME, mac=MINER_MAC
    )


async def _turn_off_mining(hass: HomeAssistant) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN, SERVICE_TURN_OFF, {ATTR_ENTITY_ID: MINING_SWITCH}, blocking=True
    )


@pytest.fixture
async def upgradable(
    whatsminer_v3: WhatsminerV3Emulator,
) -> AsyncIterator[tuple[WhatsminerV3Emulator, WhatsminerV2Emulator]]:
    """A v2 miner on the ports its v3 firmware will use, the v3 firmware not yet on.

    The v3 emulator stays switched off until a test "upgrades" the miner.
    """
    await whatsminer_v3.set_offline(True)
    async with _v2_emulator(whatsminer_v3.v2.port) as old_firmware:
        yield whatsminer_v3, old_firmware


async def test_setup_follows_an_upgrade_while_home_assistant_was_off(
    hass: HomeAssistant, whatsminer_v3: WhatsminerV3Emulator
) -> None:
    """An entry stored as v2 whose miner now speaks v3 is set up on v3."""
    entry = _entry({**whatsminer_v3_entry_data(whatsminer_v3), CONF_API: "v2"})
    await setup_integration(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_API] == "v3"
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)
    await _turn_off_mining(hass)
    assert ("set.miner.service", "stop") in [
        (command.cmd, command.param) for command in whatsminer_v3.received
    ]
    assert not whatsminer_v3.state.mining


async def test_setup_follows_a_downgrade(
    hass: HomeAssistant,
    entity_registry_enabled_by_default: None,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    """An entry stored as v3 whose miner lost API v3 is set up on v2."""
    entry = _entry(
        {**whatsminer_entry_data(whatsminer), CONF_API: "v3", CONF_V3_PORT: CLOSED_PORT}
    )
    await setup_integration(hass, entry)

    assert entry.state is ConfigEntryState.LOADED
    assert entry.data[CONF_API] == "v2"
    assert isinstance(entry.runtime_data.miner, WhatsminerV2Miner)
    assert hass.states.get(PSU_VOLTAGE) is not None  # a v2 entity again


async def test_upgrade_at_runtime_reloads_on_v3(
    hass: HomeAssistant,
    entity_registry_enabled_by_default: None,
    entity_registry: er.EntityRegistry,
    freezer: FrozenDateTimeFactory,
    upgradable: tuple[WhatsminerV3Emulator, WhatsminerV2Emulator],
) -> None:
    """The reboot into v3 firmware is noticed at the next poll; control moves to v3."""
    new_firmware, old_firmware = upgradable
    entry = _entry({**whatsminer_v3_entry_data(new_firmware), CONF_API: "v2"})
    await setup_integration(hass, entry)
    assert entry.data[CONF_API] == "v2"  # API v3 does not answer yet
    assert hass.states.get(PSU_VOLTAGE) is not None
    entity_registry.async_update_entity(MINING_SWITCH, name="Garage heater")

    # The upgrade: the old firmware goes, the new one boots (later than the old).
    await old_firmware.stop()
    new_firmware.state.boot_time = old_firmware.state.boot_time + 1800
    await new_firmware.set_offline(False)
    await poll(hass, freezer)

    assert entry.data[CONF_API] == "v3"
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)
    assert entity_registry.async_get(PSU_VOLTAGE) is None  # v3 does not report it
    switch = entity_registry.async_get(MINING_SWITCH)
    assert switch is not None
    assert switch.name == "Garage heater"  # the user's settings survive
    await _turn_off_mining(hass)
    assert "set.miner.service" in new_firmware.commands()


async def test_downgrade_at_runtime_reloads_on_v2(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer_v3: WhatsminerV3Emulator,
) -> None:
    """API v3 refusing for good is not a miner that is off: v2 is tried and used."""
    entry = _entry(whatsminer_v3_entry_data(whatsminer_v3))
    await setup_integration(hass, entry)
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)

    port = whatsminer_v3.v2.port
    await whatsminer_v3.stop()
    async with _v2_emulator(port) as old_firmware:
        await poll(hass, freezer)

        assert entry.data[CONF_API] == "v2"
        assert entry.state is ConfigEntryState.LOADED
        assert isinstance(entry.runtime_data.miner, WhatsminerV2Miner)
        state = hass.states.get(MINING_SWITCH)
        assert state is not None
        assert state.state == "on"
        await _turn_off_mining(hass)
        assert "power_off" in old_firmware.commands()


async def test_offline_miner_is_not_probed_at_every_poll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer_v3: WhatsminerV3Emulator,
) -> None:
    """While the miner is off, its API is looked for again only now and then."""
    entry = _entry(whatsminer_v3_entry_data(whatsminer_v3))
    await setup_integration(hass, entry)
    await whatsminer_v3.set_offline(True)

    with patch.object(
        detect, "WhatsminerV3Miner", wraps=detect.WhatsminerV3Miner
    ) as probes:
        for _ in range(4):  # two minutes of polls
            await poll(hass, freezer)
        assert hass.states.get(MINING_SWITCH).state == STATE_UNAVAILABLE
        assert probes.call_count == 1
        await poll(hass, freezer, API_REDETECT_INTERVAL.total_seconds())
        assert probes.call_count == 2

    # Nothing changed: the miner comes back on the API it had.
    await whatsminer_v3.set_offline(False)
    await poll(hass, freezer, timedelta(seconds=30).total_seconds())
    assert entry.data[CONF_API] == "v3"
    assert hass.states.get(MINING_SWITCH).state == "on"


async def test_hanging_v3_api_is_no_downgrade(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    whatsminer_v3: WhatsminerV3Emulator,
) -> None:
    """API v3 that takes the connection and then hangs is still there: no reload.

    Its reduced v2 API answering meanwhile is no firmware change; only a port
    that refuses (or never accepts) connections is looked at again.
    """
    entry = _entry(whatsminer_v3_entry_data(whatsminer_v3))
    await setup_integration(hass, entry)
    switch = entity_registry.async_get(MINING_SWITCH)
    assert switch is not None
    entry.runtime_data.miner.client.read_timeout = 0.1
    whatsminer_v3.faults.stall = True

    # No freezer: a frozen clock would never end the client's read timeout.
    with patch.object(detect, "PROBE_TIMEOUT", 0.1):
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=30))
        await hass.async_block_till_done(wait_background_tasks=True)

    assert hass.states.get(MINING_SWITCH).state == STATE_UNAVAILABLE
    assert entry.data[CONF_API] == "v3"
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)
    assert entity_registry.async_get(MINING_SWITCH) == switch  # not re-created
