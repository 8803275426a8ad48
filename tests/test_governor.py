"""The command governor in Home Assistant, against the emulated miners over TCP.

Every test keeps the default rules (``governed``): a disruptive change at most
every 10 minutes and 12 times in 24 hours, power percent at most every 2
minutes.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise
import logging
import math

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
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
from homeassistant.const import (
    ATTR_DEVICE_ID,
    ATTR_DOMAIN,
    ATTR_ENTITY_ID,
    ATTR_SERVICE,
    EVENT_CALL_SERVICE,
    STATE_OFF,
    STATE_ON,
)
from homeassistant.core import Context, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
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
    Write,
    poll,
    setup_integration,
    whatsminer_config_entry,
)
from tests.emulators.whatsminer_v2 import Faults

pytestmark = pytest.mark.governed

SWITCH = "switch.garage_m30_mining"
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


def _mining_writes(miner: EmulatedWhatsminer, since: int) -> list[Write]:
    """Mining stops and starts since ``since`` (v3 sends both as one command)."""
    switching = (miner.write("mining_on"), miner.write("mining_off"))
    return [write for write in miner.writes(since) if write in switching]


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
    await _switch(hass, True)  # asked again: it already waits
    await hass.async_block_till_done()
    assert any_whatsminer.state.mining is False
    assert _state(hass, SWITCH) == STATE_OFF  # the miner's real state
    held = hass.states.get(HELD)
    assert held is not None
    assert held.state == "mining_on"
    due = held.attributes["due"]
    assert timedelta(minutes=9) < due - dt_util.utcnow() <= timedelta(minutes=10)
    assert _state(hass, COUNT) == "1"
    assert caplog.text.count("mining on held until") == 1

    await poll(hass, freezer, 5 * 60)
    assert any_whatsminer.state.mining is False  # not due yet
    await poll(hass, freezer, 5 * 60)
    assert any_whatsminer.state.mining is True
    assert _state(hass, SWITCH) == STATE_ON
    assert _state(hass, HELD) == "none"
    assert _state(hass, COUNT) == "2"
    assert _mining_writes(any_whatsminer, mark) == [
        any_whatsminer.write("mining_off"),
        any_whatsminer.write("mining_on"),
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
    assert _mining_writes(any_whatsminer, mark) == [any_whatsminer.write("mining_off")]
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


async def test_each_kind_is_due_on_its_own(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """A held power percent is applied after 2 minutes, a held restart waits on."""
    await _switch(hass, False)
    await _switch(hass, True)  # held for 10 minutes
    for value in (50, 60):  # 60 held for 2 minutes
        await hass.services.async_call(
            NUMBER_DOMAIN,
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: PERCENT, ATTR_VALUE: value},
            blocking=True,
        )
    await poll(hass, freezer, 2 * 60)
    assert any_whatsminer.state.power_percent == 60
    assert any_whatsminer.state.mining is False
    assert _state(hass, HELD) == "mining_on"
    await poll(hass, freezer, 8 * 60)
    assert any_whatsminer.state.mining is True


async def test_unreadable_held_changes_are_dropped(
    hass: HomeAssistant,
    hass_storage: dict[str, object],
    any_miner_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A damaged store: the miner is set up with nothing held, and the log says so."""
    hass_storage[store_key(any_miner_entry.entry_id)] = {
        "version": 1,
        "minor_version": 1,
        "key": store_key(any_miner_entry.entry_id),
        "data": {"applied": ["yesterday"], "held": []},
    }
    await setup_integration(hass, any_miner_entry)
    assert _state(hass, HELD) == "none"
    assert _state(hass, COUNT) == "0"
    assert "held changes could not be read" in caplog.text


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
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Due while the miner is down: tried once, then at the next good poll."""
    caplog.set_level(logging.INFO)
    await _switch(hass, False)
    await _switch(hass, True)
    await any_whatsminer.set_offline(True)
    await poll(hass, freezer, 10 * 60)
    for _ in range(10):
        await poll(hass, freezer, 30)
    governor = init_any_integration.runtime_data.governor
    assert [change.value for change, _ in governor.held()] == [True]  # not sent
    assert caplog.text.count("applying the held mining on") <= 1  # no retry loop
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


@pytest.mark.timeout(300)  # a day of ten-second steps
async def test_an_automation_flipping_mining_all_day(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Mining switched off and on every 10 seconds for 24 hours.

    The miner gets what the rules allow: at most one change every 10 minutes
    and 12 in any 24 hours; in the end it does what was asked last.
    """
    miner = any_whatsminer
    # 8,640 steps: asyncio's debug mode (a traceback for every task and handle)
    # would take most of the time.
    hass.loop.set_debug(False)
    if isinstance(miner.faults, Faults):
        # The test's clock jumps, the client's monotonic clock not: a token it
        # holds fresh may have expired on the miner (and the write is sent twice).
        miner.faults.token_lifetime = math.inf
    # On a whole minute, so that the trigger fires at each ten-second step.
    minute = dt_util.utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
    freezer.move_to(minute)
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": "flip",
                "alias": "Flip mining",
                "triggers": [{"trigger": "time_pattern", "seconds": "/10"}],
                "actions": [
                    {
                        # 00, 20, 40 s: off; 10, 30, 50 s: on.
                        "action": "switch.turn_{{ 'on' if now().second % 20 else 'off' }}",
                        "target": {"entity_id": SWITCH},
                    }
                ],
            }
        },
    )
    asked: list[str] = []  # the switch's services the automation called

    @callback
    def on_call(event: Event) -> None:
        if event.data[ATTR_DOMAIN] == SWITCH_DOMAIN:
            asked.append(event.data[ATTR_SERVICE])

    hass.bus.async_listen(EVENT_CALL_SERVICE, on_call)
    start, seen = dt_util.utcnow(), miner.mark()
    changes: list[tuple[timedelta, Write]] = []
    while (elapsed := dt_util.utcnow() - start) < timedelta(hours=24) or (
        asked[-1] == SERVICE_TURN_ON  # end on "off": the miner mines by then
    ):
        await poll(hass, freezer, 10)
        changes += [(elapsed, write) for write in _mining_writes(miner, seen)]
        seen = miner.mark()
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {ATTR_ENTITY_ID: "all"}, blocking=True
    )
    assert len(asked) >= 24 * 360  # a request every 10 seconds, flipping
    assert all(a != b for a, b in pairwise(asked))

    times = [at for at, _write in changes]
    assert len(changes) == 12, changes  # the day's allowance, all of it
    assert all(b - a >= timedelta(minutes=10) for a, b in pairwise(times)), times
    assert changes[-1][1] == miner.write("mining_on")
    assert _state(hass, COUNT) == "12"
    # The last request waits until the first change is a day old, then applies.
    assert miner.state.mining is True
    assert _state(hass, HELD) == "mining_off"
    for _ in range(24):
        await poll(hass, freezer, 5 * 60)
    assert _state(hass, HELD) == "none"
    assert miner.state.mining is False
    assert _state(hass, SWITCH) == STATE_OFF
