"""The heater (a climate entity) of a Whatsminer, against the emulated miner.

The room is a test sensor whose state the test sets; the controller's decisions
go through the coordinator and the governor (default rules) to the emulator.
"""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.climate import (
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_HVAC_MODE,
    SERVICE_TURN_OFF,
)
from homeassistant.components.climate.const import HVACAction, HVACMode
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.const import (
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_TEMPERATURE,
    STATE_UNAVAILABLE,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache,
    mock_restore_cache_with_extra_data,
)

from custom_components.miner_hub.const import (
    CONF_TEMPERATURE_SENSOR,
    DOMAIN,
)
from tests.conftest import (
    DRAGONMINT_UNIQUE_ID,
    EmulatedWhatsminer,
    dragonmint_config_entry,
    dragonmint_entry_data,
    poll,
    setup_integration,
)
from tests.emulators import DragonMintEmulator
from tests.heating.home import HEATER, ROOM, heater_entry, set_room

pytestmark = pytest.mark.governed

SWITCH = "switch.garage_m30_mining"
PERCENT = "number.garage_m30_power_percent"


@pytest.fixture
async def heater(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> MockConfigEntry:
    """The emulated miner with a heater for a room at 19 °C."""
    set_room(hass, 19.0)
    return await setup_integration(hass, heater_entry(any_whatsminer))


async def _call(hass: HomeAssistant, service: str, **data: Any) -> None:
    await hass.services.async_call(
        CLIMATE_DOMAIN, service, {ATTR_ENTITY_ID: HEATER, **data}, blocking=True
    )


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.unique_id or ""), entry.entry_id
    )
    assert device is not None
    return device.id


def _heater(hass: HomeAssistant) -> State:
    state = hass.states.get(HEATER)
    assert state is not None
    return state


async def test_a_heater_only_with_a_room_sensor(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    entry = await setup_integration(hass, any_whatsminer.entry())
    assert hass.states.get(HEATER) is None
    set_room(hass, 19.0)
    hass.config_entries.async_update_entry(
        entry, options={CONF_TEMPERATURE_SENSOR: ROOM}
    )
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    state = _heater(hass)
    assert state.state == HVACMode.OFF
    assert state.attributes["current_temperature"] == 19.0
    assert state.attributes[ATTR_TEMPERATURE] == 20.0
    assert state.attributes["hvac_modes"] == [HVACMode.OFF, HVACMode.HEAT]
    # Clearing the sensor removes the heater, also from the registry.
    hass.config_entries.async_update_entry(entry, options={})
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(HEATER) is None
    assert entity_registry.async_get(HEATER) is None


async def test_no_heater_on_a_dragonmint(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    set_room(hass, 19.0)
    plain = dragonmint_config_entry(dragonmint_entry_data(dragonmint))
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=plain.title,
        unique_id=DRAGONMINT_UNIQUE_ID,
        data=plain.data,
        options={CONF_TEMPERATURE_SENSOR: ROOM},
    )
    await setup_integration(hass, entry)
    assert not hass.states.async_entity_ids(CLIMATE_DOMAIN)


async def test_heating_follows_the_room(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
) -> None:
    set_room(hass, 15.0)
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    assert any_whatsminer.state.power_percent == 100
    assert _heater(hass).attributes["hvac_action"] == HVACAction.HEATING

    set_room(hass, 22.0)  # too warm: down to the floor within the hour
    for _ in range(30):
        await poll(hass, freezer, 2 * 60)
        if any_whatsminer.state.power_percent == 30:
            break
    assert any_whatsminer.state.power_percent == 30
    # Still too warm at the floor for half an hour: mining stops.
    for _ in range(16):
        await poll(hass, freezer, 2 * 60)
    assert any_whatsminer.state.mining is False
    assert _heater(hass).attributes["hvac_action"] == HVACAction.IDLE

    set_room(hass, 19.4)  # below the target by more than the hysteresis
    for _ in range(6):
        await poll(hass, freezer, 2 * 60)
    assert any_whatsminer.state.mining is True
    assert any_whatsminer.state.power_percent >= 30


async def test_off_stops_mining(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
) -> None:
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    await _call(hass, SERVICE_TURN_OFF)
    assert any_whatsminer.state.mining is False
    state = _heater(hass)
    assert state.state == HVACMode.OFF
    assert state.attributes["hvac_action"] == HVACAction.OFF


@pytest.mark.parametrize(
    "call",
    [
        (SWITCH_DOMAIN, "turn_off", {ATTR_ENTITY_ID: SWITCH}),
        (SWITCH_DOMAIN, "turn_on", {ATTR_ENTITY_ID: SWITCH}),
        ("number", "set_value", {ATTR_ENTITY_ID: PERCENT, "value": 55}),
        (DOMAIN, "set_mining", {"mining": False}),
        (DOMAIN, "set_power_percent", {"percent": 55}),
    ],
    ids=["switch_off", "switch_on", "number", "set_mining", "set_power_percent"],
)
async def test_someone_else_takes_over(
    hass: HomeAssistant,
    heater: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    call: tuple[str, str, dict[str, Any]],
) -> None:
    """Mining or power set by anyone else: the heater turns off, and says so."""
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    domain, service, data = call
    if domain == DOMAIN:
        data = {ATTR_DEVICE_ID: _device_id(hass, heater), **data}
    await hass.services.async_call(domain, service, data, blocking=True)
    assert _heater(hass).state == HVACMode.OFF
    assert "the heater turns off" in caplog.text


async def test_identify_leaves_the_heater_alone(
    hass: HomeAssistant, heater: MockConfigEntry
) -> None:
    """Only mining and the power percent are the heater's."""
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: "button.garage_m30_identify"}, blocking=True
    )
    assert _heater(hass).state == HVACMode.HEAT


async def test_the_target_is_kept_across_a_restart(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    mock_restore_cache(hass, [State(HEATER, HVACMode.HEAT, {ATTR_TEMPERATURE: 18.5})])
    set_room(hass, 17.0)
    await setup_integration(hass, heater_entry(any_whatsminer))
    state = _heater(hass)
    assert state.state == HVACMode.HEAT
    assert state.attributes[ATTR_TEMPERATURE] == 18.5


async def test_the_power_is_kept_across_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """Heating on at 70 % before the restart, the room at the target: no jump.

    API v2 does not report the percent: the heater remembers what it sent.
    """
    any_whatsminer.state.power_percent = 70
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(HEATER, HVACMode.HEAT, {ATTR_TEMPERATURE: 20.0}),
                {"sent_percent": 70},
            )
        ],
    )
    set_room(hass, 20.0)
    await setup_integration(hass, heater_entry(any_whatsminer))
    for _ in range(3):
        await poll(hass, freezer, 2 * 60)
    percent = any_whatsminer.command("power_percent", 70)
    assert [write for write in any_whatsminer.writes() if write.cmd == percent] == []
    assert any_whatsminer.state.power_percent == 70


async def test_a_room_sensor_in_an_unknown_unit(
    hass: HomeAssistant, heater: MockConfigEntry
) -> None:
    set_room(hass, 20.0, "lx")
    await hass.async_block_till_done()
    assert _heater(hass).attributes["current_temperature"] is None


async def test_a_fahrenheit_room_sensor(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
) -> None:
    set_room(hass, 68.0, UnitOfTemperature.FAHRENHEIT)
    await hass.async_block_till_done()
    assert _heater(hass).attributes["current_temperature"] == 20.0


@pytest.mark.parametrize("reading", [STATE_UNAVAILABLE, "unknown", "warm"])
async def test_no_reading_no_change(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
    reading: str,
) -> None:
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    percent = any_whatsminer.state.power_percent
    set_room(hass, reading)
    mark = any_whatsminer.mark()
    await poll(hass, freezer, 10 * 60)
    assert _heater(hass).attributes["current_temperature"] is None
    assert any_whatsminer.writes(mark) == []
    assert any_whatsminer.state.power_percent == percent


async def test_an_unreachable_miner_gets_no_command(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
) -> None:
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    percent = any_whatsminer.state.power_percent
    mark = any_whatsminer.mark()
    await any_whatsminer.set_offline(True)
    set_room(hass, 25.0)
    await poll(hass, freezer, 10 * 60)
    assert _heater(hass).state == STATE_UNAVAILABLE
    assert any_whatsminer.writes(mark) == []
    await any_whatsminer.set_offline(False)
    await poll(hass, freezer, 2 * 60)
    await poll(hass, freezer, 2 * 60)
    assert _heater(hass).state == HVACMode.HEAT
    assert any_whatsminer.state.power_percent < percent  # it acts again


async def test_after_a_reboot_the_power_is_set_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    heater: MockConfigEntry,
) -> None:
    await hass.services.async_call(  # before the heater runs: no take-over
        "number", "set_value", {ATTR_ENTITY_ID: PERCENT, "value": 60}, blocking=True
    )
    set_room(hass, 20.0)  # at the target: the heater keeps 60 %
    await _call(hass, SERVICE_SET_HVAC_MODE, hvac_mode=HVACMode.HEAT)
    await poll(hass, freezer, 2 * 60)
    assert any_whatsminer.state.power_percent == 60
    any_whatsminer.emulator._begin_reboot()  # the firmware forgets the percent
    for _ in range(4):
        await poll(hass, freezer, 2 * 60)
    assert not any_whatsminer.is_rebooting()
    assert any_whatsminer.state.power_percent == 60
