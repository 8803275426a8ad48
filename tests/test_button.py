"""Reboot, restart mining and identify, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import logging
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

from custom_components.miner_hub.const import (
    DOMAIN,
    IDENTIFY_DURATION,
    ISSUE_WRITE_API_DISABLED,
)
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.protocol.whatsminer.miner import WhatsminerV2Miner
from tests.conftest import only_platforms, setup_integration
from tests.emulators import WhatsminerV2Emulator

REBOOT = "button.garage_m30_reboot"
RESTART_MINING = "button.garage_m30_restart_mining"
IDENTIFY = "button.garage_m30_identify"
BUTTONS = {REBOOT: "reboot", RESTART_MINING: "restart_btminer", IDENTIFY: "set_led"}
LED_FLASHING = {"color": "red", "period": 1000, "duration": 500, "start": 0}


@pytest.fixture
async def init_button(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner with only its buttons set up."""
    with only_platforms(Platform.BUTTON):
        yield await setup_integration(hass, mock_config_entry)


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


def _led_commands(whatsminer: WhatsminerV2Emulator) -> list[dict[str, object]]:
    """Parameters of every set_led the miner received (all encrypted)."""
    commands = [command for command in whatsminer.received if command.cmd == "set_led"]
    assert all(command.encrypted for command in commands)
    return [command.params for command in commands]


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
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    coordinator = init_button.runtime_data
    sent = len(whatsminer.received)
    # The firmware closes without replying when it reboots: that is success.
    await _press(hass, REBOOT)
    command = whatsminer.received[sent]
    assert (command.cmd, command.params, command.encrypted) == ("reboot", {}, True)
    assert whatsminer.is_rebooting()
    # The refresh after the command found the miner away.
    assert coordinator.last_update_success is False
    assert hass.states.get(REBOOT).state == STATE_UNAVAILABLE

    whatsminer.advance(1)  # the reboot is over
    assert not whatsminer.is_rebooting()
    await coordinator.async_refresh()
    assert coordinator.last_update_success is True
    assert hass.states.get(REBOOT).state != STATE_UNAVAILABLE


async def test_restart_mining(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    sent = len(whatsminer.received)
    await _press(hass, RESTART_MINING)
    command = whatsminer.received[sent]
    assert (command.cmd, command.params, command.encrypted) == (
        "restart_btminer",
        {},
        True,
    )
    assert whatsminer.is_btminer_restarting()
    assert whatsminer.commands()[sent + 1 :] == ["status", "summary+pools+edevs"]
    assert init_button.runtime_data.last_update_success is True
    assert hass.states.get(RESTART_MINING).state != STATE_UNKNOWN


async def test_identify_flashes_then_gives_the_led_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    await _press(hass, IDENTIFY)
    assert _led_commands(whatsminer) == [LED_FLASHING]
    assert whatsminer.state.led == LED_FLASHING

    await _tick(hass, freezer, IDENTIFY_DURATION - timedelta(seconds=1))
    assert whatsminer.state.led == LED_FLASHING

    await _tick(hass, freezer, timedelta(seconds=1))
    assert _led_commands(whatsminer) == [LED_FLASHING, {"param": "auto"}]
    assert whatsminer.state.led == "auto"

    # Nothing else pending: unloading sends nothing more.
    assert await hass.config_entries.async_unload(init_button.entry_id)
    await hass.async_block_till_done()
    assert len(_led_commands(whatsminer)) == 2


async def test_identify_again_restarts_the_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    await _press(hass, IDENTIFY)
    await _tick(hass, freezer, timedelta(seconds=20))
    await _press(hass, IDENTIFY)
    await _tick(hass, freezer, timedelta(seconds=20))
    assert _led_commands(whatsminer) == [LED_FLASHING, LED_FLASHING]

    await _tick(hass, freezer, timedelta(seconds=10))
    assert _led_commands(whatsminer) == [LED_FLASHING, LED_FLASHING, {"param": "auto"}]
    await _tick(hass, freezer, timedelta(seconds=60))
    assert len(_led_commands(whatsminer)) == 3


async def test_identify_removed_while_flashing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    await _press(hass, IDENTIFY)
    assert await hass.config_entries.async_unload(init_button.entry_id)
    await hass.async_block_till_done()
    assert _led_commands(whatsminer) == [LED_FLASHING, {"param": "auto"}]
    assert whatsminer.state.led == "auto"

    await _tick(hass, freezer, IDENTIFY_DURATION * 2)  # the timer is gone
    assert len(_led_commands(whatsminer)) == 2


async def test_identify_removed_while_unreachable(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _press(hass, IDENTIFY)
    await whatsminer.set_offline(True)
    with caplog.at_level(logging.WARNING):
        assert await hass.config_entries.async_unload(init_button.entry_id)
        await hass.async_block_till_done()
    assert f"{IDENTIFY}: could not end the press" in caplog.text


async def test_identify_release_fails(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failed release is logged, not raised into the event loop."""
    await _press(hass, IDENTIFY)
    whatsminer.state.write_api_enabled = False
    with caplog.at_level(logging.WARNING):
        await _tick(hass, freezer, IDENTIFY_DURATION)
    assert f"{IDENTIFY}: could not end the press" in caplog.text
    assert "write API is switched off" in caplog.text
    assert _led_commands(whatsminer)[-1] == {"param": "auto"}
    assert whatsminer.state.led == LED_FLASHING


async def test_identify_no_reply_still_ends(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    """The LED may flash although the miner did not confirm: end it anyway."""
    init_button.runtime_data.miner.client.read_timeout = 0.2
    whatsminer.faults.hang_commands = {"set_led"}
    with pytest.raises(
        HomeAssistantError, match=r"^The miner did not confirm the command set_led\. "
    ):
        await _press(hass, IDENTIFY)
    assert whatsminer.state.led == LED_FLASHING

    whatsminer.faults.hang_commands = set()
    # No freezer here: a frozen clock would never end the client's read timeout.
    async_fire_time_changed(hass, dt_util.utcnow() + IDENTIFY_DURATION)
    await hass.async_block_till_done()
    assert _led_commands(whatsminer) == [LED_FLASHING, {"param": "auto"}]
    assert whatsminer.state.led == "auto"


async def test_identify_failure_starts_no_timer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
) -> None:
    whatsminer.state.write_api_enabled = False
    with pytest.raises(HomeAssistantError, match="write API is switched off"):
        await _press(hass, IDENTIFY)
    whatsminer.state.write_api_enabled = True
    await _tick(hass, freezer, IDENTIFY_DURATION)
    assert _led_commands(whatsminer) == [LED_FLASHING]  # the refused one only


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    whatsminer.state.write_api_enabled = False
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner at 127\.0\.0\.1 refuses commands: its write API is "
        r"switched off\.",
    ):
        await _press(hass, entity_id)
    assert whatsminer.received[-1].cmd == BUTTONS[entity_id]
    assert not whatsminer.is_rebooting()
    assert not whatsminer.is_btminer_restarting()
    assert whatsminer.state.led == "auto"
    assert issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_WRITE_API_DISABLED}_{init_button.entry_id}"
    )


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_wrong_password(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    whatsminer.state.password = "changed1"
    sent = len(whatsminer.received)
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _press(hass, entity_id)
    assert whatsminer.received[sent:] == []  # it could not even decrypt it
    assert not whatsminer.is_rebooting()
    assert not whatsminer.is_btminer_restarting()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("entity_id", list(BUTTONS))
async def test_unreachable(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_button: MockConfigEntry,
    entity_id: str,
) -> None:
    await whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _press(hass, entity_id)
    for button in BUTTONS:
        assert hass.states.get(button).state == STATE_UNAVAILABLE
