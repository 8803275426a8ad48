"""Reboot, restart mining and identify, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import logging
import re
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN, IDENTIFY_DURATION
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from tests.conftest import (
    WRITE_API_DISABLED_ERROR,
    EmulatedWhatsminer,
    only_platforms,
    setup_integration,
    write_api_issue_id,
)

REBOOT = "button.garage_m30_reboot"
RESTART_MINING = "button.garage_m30_restart_mining"
IDENTIFY = "button.garage_m30_identify"
# Each button and the control it sends (conftest.WRITES).
BUTTONS = {REBOOT: "reboot", RESTART_MINING: "restart_mining", IDENTIFY: "identify_on"}


@pytest.fixture
async def init_button(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner (API v2, then v3) with only its buttons set up.

    What the setup sent is forgotten (on v3 it proves the password with
    ``set.system.led auto``), so that the tests see only the buttons' commands.
    """
    with only_platforms(Platform.BUTTON):
        entry = await setup_integration(hass, any_miner_entry)
        any_whatsminer.emulator.received.clear()
        yield entry


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def _tick(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta
) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def _led_commands(miner: EmulatedWhatsminer) -> list[str]:
    """The LED writes the miner received: "on" (flashing) or "off" (auto)."""
    on, off = miner.write("identify_on"), miner.write("identify_off")
    return [
        "on" if write == on else "off" if write == off else repr(write)
        for write in miner.writes()
        if write.cmd == on.cmd
    ]


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_button: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_button.entry_id)


async def test_buttons_follow_capabilities(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    with (
        patch.object(
            WhatsminerV2Miner, "capabilities", frozenset({Capability.IDENTIFY})
        ),
        only_platforms(Platform.BUTTON),
    ):
        await setup_integration(hass, mock_config_entry)
        assert hass.states.get(REBOOT) is None
        assert hass.states.get(RESTART_MINING) is None
        assert hass.states.get(IDENTIFY) is not None


async def test_reboot(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    coordinator = init_button.runtime_data
    # The firmware closes without replying when it reboots: that is success.
    await _press(hass, REBOOT)
    assert miner.writes() == [miner.write("reboot")]
    assert miner.is_rebooting()
    # The refresh after the command found the miner away.
    assert coordinator.last_update_success is False
    assert hass.states.get(REBOOT).state == STATE_UNAVAILABLE

    miner.advance(1)  # the reboot is over
    assert not miner.is_rebooting()
    await coordinator.async_refresh()
    assert coordinator.last_update_success is True
    assert hass.states.get(REBOOT).state != STATE_UNAVAILABLE


async def test_restart_mining(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    await _press(hass, RESTART_MINING)
    assert miner.writes() == [miner.write("restart_mining")]
    assert miner.is_btminer_restarting()
    assert miner.reads() == miner.poll_reads
    assert init_button.runtime_data.last_update_success is True
    assert hass.states.get(RESTART_MINING).state != STATE_UNKNOWN


async def test_identify_flashes_then_gives_the_led_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    await _press(hass, IDENTIFY)
    assert _led_commands(miner) == ["on"]
    assert miner.state.led == miner.flashing_led

    await _tick(hass, freezer, IDENTIFY_DURATION - timedelta(seconds=1))
    assert miner.state.led == miner.flashing_led

    await _tick(hass, freezer, timedelta(seconds=1))
    assert _led_commands(miner) == ["on", "off"]
    assert miner.state.led == "auto"

    # Nothing else pending: unloading sends nothing more.
    assert await hass.config_entries.async_unload(init_button.entry_id)
    await hass.async_block_till_done()
    assert _led_commands(miner) == ["on", "off"]


async def test_identify_again_restarts_the_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    await _press(hass, IDENTIFY)
    await _tick(hass, freezer, timedelta(seconds=20))
    await _press(hass, IDENTIFY)
    await _tick(hass, freezer, timedelta(seconds=20))
    assert _led_commands(miner) == ["on", "on"]

    await _tick(hass, freezer, timedelta(seconds=10))
    assert _led_commands(miner) == ["on", "on", "off"]
    await _tick(hass, freezer, timedelta(seconds=60))
    assert _led_commands(miner) == ["on", "on", "off"]


async def test_identify_removed_while_flashing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    await _press(hass, IDENTIFY)
    assert await hass.config_entries.async_unload(init_button.entry_id)
    await hass.async_block_till_done()
    assert _led_commands(miner) == ["on", "off"]
    assert miner.state.led == "auto"

    await _tick(hass, freezer, IDENTIFY_DURATION * 2)  # the timer is gone
    assert _led_commands(miner) == ["on", "off"]


async def test_identify_removed_while_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _press(hass, IDENTIFY)
    await any_whatsminer.set_offline(True)
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_unload(init_button.entry_id)
        await hass.async_block_till_done()
    assert f"{IDENTIFY}: could not end the press" in caplog.text
    assert any_whatsminer.state.led == any_whatsminer.flashing_led


async def test_identify_release_fails(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed release is logged, not raised into the event loop."""
    miner = any_whatsminer
    await _press(hass, IDENTIFY)
    miner.state.write_api_enabled = False
    with caplog.at_level(logging.WARNING):
        await _tick(hass, freezer, IDENTIFY_DURATION)
    assert f"{IDENTIFY}: could not end the press" in caplog.text
    assert "write API is switched off" in caplog.text
    assert _led_commands(miner)[-1] == "off"
    assert miner.state.led == miner.flashing_led


async def test_identify_no_reply_still_ends(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    """The LED may flash although the miner did not confirm: end it anyway."""
    miner = any_whatsminer
    command = miner.command("identify_on")
    init_button.runtime_data.miner.client.read_timeout = 0.2
    miner.faults.hang_commands = {command}
    with pytest.raises(
        HomeAssistantError,
        match=rf"^The miner did not confirm the command {re.escape(command)}\. ",
    ):
        await _press(hass, IDENTIFY)
    assert miner.state.led == miner.flashing_led

    miner.faults.hang_commands = set()
    # No freezer here: a frozen clock would never end the client's read timeout.
    async_fire_time_changed(hass, dt_util.utcnow() + IDENTIFY_DURATION)
    await hass.async_block_till_done()
    assert _led_commands(miner) == ["on", "off"]
    assert miner.state.led == "auto"


async def test_identify_failure_starts_no_timer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    miner.state.write_api_enabled = False
    with pytest.raises(HomeAssistantError, match="write API is switched off"):
        await _press(hass, IDENTIFY)
    refused = _led_commands(miner)
    assert set(refused) == {"on"}  # v3 tries once more with a fresh salt
    miner.state.write_api_enabled = True
    await _tick(hass, freezer, IDENTIFY_DURATION)
    assert _led_commands(miner) == refused  # no release of a press that failed


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    miner = any_whatsminer
    miner.state.write_api_enabled = False
    with pytest.raises(HomeAssistantError, match=WRITE_API_DISABLED_ERROR):
        await _press(hass, entity_id)
    assert miner.writes()[-1].cmd == miner.command(BUTTONS[entity_id])
    assert not miner.is_rebooting()
    assert not miner.is_btminer_restarting()
    assert miner.state.led == "auto"
    assert issue_registry.async_get_issue(DOMAIN, write_api_issue_id(init_button))
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_wrong_password(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    miner = any_whatsminer
    miner.state.password = "changed1"
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _press(hass, entity_id)
    assert miner.writes() == []  # v2 cannot decrypt it, v3 finds the token wrong
    assert not miner.is_rebooting()
    assert not miner.is_btminer_restarting()
    assert miner.state.led == "auto"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    await any_whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _press(hass, entity_id)
    for button in BUTTONS:
        assert hass.states.get(button).state == STATE_UNAVAILABLE
