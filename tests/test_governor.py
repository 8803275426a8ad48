"""The command governor in Home Assistant, against the emulated miners over TCP.

Every test keeps the default rules (``governed``): a disruptive change at most
every 10 minutes and 12 times in 24 hours, power percent at most every 2
minutes.
"""

from __future__ import annotations

from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.switch import (
    DOMAIN as SWITCH_DOMAIN,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
)
from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, STATE_OFF, STATE_ON
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.miner_hub.const import (
    CONF_MAX_DISRUPTIVE_CHANGES,
    DOMAIN,
)
from custom_components.miner_hub.governor import store_key
from tests.conftest import (
    MINER_UNIQUE_ID,
    V2_ONLY,
    EmulatedWhatsminer,
    poll,
    setup_integration,
    whatsminer_config_entry,
)

pytestmark = pytest.mark.governed

SWITCH = "switch.garage_m30"
PERCENT = "number.garage_m30_power_percent"
HELD = "sensor.garage_m30_held_change"
COUNT = "sensor.garage_m30_disruptive_changes_24_h"
REBOOT = "button.garage_m30_reboot"


async def _switch(hass: HomeAssistant, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: SWITCH},
        blocking=True,
    )


def _mining_writes(miner: EmulatedWhatsminer, since: int) -> list[str]:
    commands = {miner.command("mining_on"), miner.command("mining_off")}
    return [write.cmd for write in miner.writes(since) if write.cmd in commands]


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


async def test_a_change_that_comes_too_early_is_held_then_applied(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    mark = any_whatsminer.mark()
    await _switch(hass, False)
    await _switch(hass, True)  # right after: held
    await hass.async_block_till_done()
    assert any_whatsminer.state.mining is False
    assert _state(hass, SWITCH) == STATE_OFF  # the miner's real state
    held = hass.states.get(HELD)
    assert held is not None
    assert held.state == "mining_on"
    due = held.attributes["due"]
    assert timedelta(minutes=9) < due - dt_util.utcnow() <= timedelta(minutes=10)
    assert _state(hass, COUNT) == "1"
    assert "mining on held until" in caplog.text

    await poll(hass, freezer, 5 * 60)
    assert any_whatsminer.state.mining is False  # not due yet
    await poll(hass, freezer, 5 * 60)
    assert any_whatsminer.state.mining is True
    assert _state(hass, SWITCH) == STATE_ON
    assert _state(hass, HELD) == "none"
    assert _state(hass, COUNT) == "2"
    assert _mining_writes(any_whatsminer, mark) == [
        any_whatsminer.command("mining_off"),
        any_whatsminer.command("mining_on"),
    ]


async def test_the_last_request_wins_and_the_current_state_cancels(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    mark = any_whatsminer.mark()
    await _switch(hass, False)
    await _switch(hass, True)
    await _switch(hass, False)  # what the miner does already: nothing held
    assert _state(hass, HELD) == "none"
    await poll(hass, freezer, 15 * 60)
    assert _mining_writes(any_whatsminer, mark) == [
        any_whatsminer.command("mining_off")
    ]
    assert any_whatsminer.state.mining is False


async def test_at_most_so_many_changes_a_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    entry = whatsminer_config_entry(any_whatsminer.entry_data())
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        unique_id=entry.unique_id,
        data=entry.data,
        options={CONF_MAX_DISRUPTIVE_CHANGES: 2},
    )
    await setup_integration(hass, entry)
    await _switch(hass, False)
    await poll(hass, freezer, 10 * 60)
    await _switch(hass, True)
    await poll(hass, freezer, 10 * 60)
    await _switch(hass, False)  # the third in a day: held until the first is old
    held = hass.states.get(HELD)
    assert held is not None
    assert held.state == "mining_off"
    assert held.attributes["due"] - dt_util.utcnow() > timedelta(hours=23)
    await poll(hass, freezer, 23 * 3600)
    assert any_whatsminer.state.mining is True
    await poll(hass, freezer, 3600)
    assert any_whatsminer.state.mining is False


async def test_power_percent_changes_are_spaced(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    for value in (50, 60, 70):  # 70 replaces the held 60
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: PERCENT, ATTR_VALUE: value},
            blocking=True,
        )
    assert any_whatsminer.state.power_percent == 50
    assert _state(hass, PERCENT) == "50"
    assert _state(hass, HELD) == "power_percent"
    assert _state(hass, COUNT) == "0"  # no restart
    await poll(hass, freezer, 2 * 60)
    assert any_whatsminer.state.power_percent == 70
    assert _state(hass, PERCENT) == "70"
    assert _state(hass, HELD) == "none"


async def test_a_held_change_survives_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, object],
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    await _switch(hass, False)
    await _switch(hass, True)
    await poll(hass, freezer, 5)  # the store is written a moment later
    stored = hass_storage[store_key(init_any_integration.entry_id)]
    assert [change["kind"] for change in stored["data"]["held"]] == ["mining"]  # type: ignore[index]

    assert await hass.config_entries.async_unload(init_any_integration.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(init_any_integration.entry_id)
    await hass.async_block_till_done()
    assert _state(hass, HELD) == "mining_on"
    assert _state(hass, COUNT) == "1"
    await poll(hass, freezer, 10 * 60)
    assert any_whatsminer.state.mining is True


async def test_force_applies_at_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), init_any_integration.entry_id
    )
    assert device is not None

    async def set_mining(mining: bool, **extra: bool) -> dict[str, object]:
        response = await hass.services.async_call(
            DOMAIN,
            "set_mining",
            {ATTR_DEVICE_ID: device.id, "mining": mining, **extra},
            blocking=True,
            return_response=True,
        )
        assert response is not None
        return dict(response)

    assert await set_mining(False) == {"result": "applied"}
    held = await set_mining(True)
    assert held["result"] == "held"
    assert any_whatsminer.state.mining is False
    assert await set_mining(True, force=True) == {"result": "applied"}
    assert any_whatsminer.state.mining is True
    assert _state(hass, HELD) == "none"  # the forced change replaced the held one
    await poll(hass, freezer, 2)  # the refresh after the command (a second later)
    assert await set_mining(True) == {"result": "unchanged"}
    assert _state(hass, COUNT) == "2"


async def test_a_person_reboots_at_once_an_automation_waits(
    hass: HomeAssistant,
    hass_admin_user: MockUser,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    await _switch(hass, False)
    mark = any_whatsminer.mark()
    reboot = any_whatsminer.command("reboot")
    await hass.services.async_call(  # an automation: no user
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: REBOOT}, blocking=True
    )
    assert reboot not in [write.cmd for write in any_whatsminer.writes(mark)]
    assert _state(hass, HELD) == "reboot"
    await hass.services.async_call(  # a person, in the UI
        BUTTON_DOMAIN,
        SERVICE_PRESS,
        {ATTR_ENTITY_ID: REBOOT},
        blocking=True,
        context=Context(user_id=hass_admin_user.id),
    )
    assert [write.cmd for write in any_whatsminer.writes(mark)] == [reboot]
    assert _state(hass, HELD) == "none"


@V2_ONLY
async def test_a_held_change_waits_for_an_unreachable_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    await _switch(hass, False)
    await _switch(hass, True)
    await any_whatsminer.set_offline(True)
    await poll(hass, freezer, 10 * 60)
    governor = init_any_integration.runtime_data.governor
    assert [change.value for change, _ in governor.held()] == [True]  # not sent
    await any_whatsminer.set_offline(False)
    await poll(hass, freezer, 30)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert any_whatsminer.state.mining is True
    assert _state(hass, HELD) == "none"


@V2_ONLY
async def test_a_held_change_without_reply_is_not_sent_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: PERCENT, ATTR_VALUE: 50},
        blocking=True,
    )
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: PERCENT, ATTR_VALUE: 60},
        blocking=True,
    )
    command = any_whatsminer.command("power_percent", 60)
    any_whatsminer.faults.no_reply_commands = {command}
    mark = any_whatsminer.mark()
    await poll(hass, freezer, 2 * 60)
    await poll(hass, freezer, 10 * 60)
    assert [w.cmd for w in any_whatsminer.writes(mark)].count(command) == 1
    assert _state(hass, HELD) == "none"
    assert "the held power percent 60 failed" in caplog.text
