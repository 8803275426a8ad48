"""The mining switch, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from unittest.mock import patch

from homeassistant.components.switch import (
    DOMAIN as SWITCH_DOMAIN,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
)
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN, ISSUE_WRITE_API_DISABLED
from custom_components.miner_hub.protocol.whatsminer.miner import WhatsminerV2Miner
from tests.conftest import only_platforms, setup_integration
from tests.emulators import WhatsminerV2Emulator

ENTITY_ID = "switch.garage_m30_mining"


@pytest.fixture
async def init_switch(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner with only its switches set up."""
    with only_platforms(Platform.SWITCH):
        yield await setup_integration(hass, mock_config_entry)


async def _switch(hass: HomeAssistant, service: str) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN, service, {ATTR_ENTITY_ID: ENTITY_ID}, blocking=True
    )


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_switch: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_switch.entry_id)


async def test_no_switch_without_capability(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    with (
        patch.object(WhatsminerV2Miner, "capabilities", frozenset()),
        only_platforms(Platform.SWITCH),
    ):
        await setup_integration(hass, mock_config_entry)
        assert hass.states.get(ENTITY_ID) is None


async def test_turn_off_and_on(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    assert hass.states.get(ENTITY_ID).state == STATE_ON

    sent = len(whatsminer.received)
    await _switch(hass, SERVICE_TURN_OFF)
    command = whatsminer.received[sent]
    assert command.cmd == "power_off"
    assert command.params == {"respbefore": "true"}
    assert command.encrypted  # executed: the emulator checked the token
    assert whatsminer.state.mining is False
    # The refresh after the command read the miner's status again.
    assert whatsminer.commands()[sent + 1 :] == ["status", "summary+pools+edevs"]
    assert hass.states.get(ENTITY_ID).state == STATE_OFF
    assert init_switch.runtime_data.data.status.mining is False

    # The next command comes within the refresh cooldown: refresh by hand.
    sent = len(whatsminer.received)
    await _switch(hass, SERVICE_TURN_ON)
    command = whatsminer.received[sent]
    assert (command.cmd, command.params, command.encrypted) == ("power_on", {}, True)
    assert whatsminer.state.mining is True
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON


async def test_state_follows_the_miner(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    """Mining switched off elsewhere (WhatsMinerTool) shows at the next poll."""
    whatsminer.state.mining = False
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_OFF


async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    whatsminer.state.write_api_enabled = False
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner at 127\.0\.0\.1 refuses commands: its write API is "
        r"switched off\. Turn on Remote Ctrl → Miner API Switch in WhatsMinerTool$",
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    assert whatsminer.state.mining is True
    assert whatsminer.received[-1].cmd == "power_off"
    issue_id = f"{ISSUE_WRITE_API_DISABLED}_{init_switch.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert hass.states.get(ENTITY_ID).state == STATE_ON  # still available

    # Switched on in WhatsMinerTool: the next command works, the issue goes.
    whatsminer.state.write_api_enabled = True
    await _switch(hass, SERVICE_TURN_OFF)
    assert whatsminer.state.mining is False
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    whatsminer.state.password = "changed1"
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the password\. "
        r"Update it in the integration's settings$",
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    assert whatsminer.state.mining is True
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_switch.entry_id


async def test_unreachable(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    await whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: .+"
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    # Unavailable at once, not only after the next poll.
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE

    await whatsminer.set_offline(False)
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON


async def test_no_reply(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_switch: MockConfigEntry,
) -> None:
    """power_on without a reply: reported as unknown, never sent twice."""
    whatsminer.state.mining = False
    await init_switch.runtime_data.async_refresh()
    init_switch.runtime_data.miner.client.read_timeout = 0.2
    whatsminer.faults.hang_commands = {"power_on"}
    sent = len(whatsminer.received)
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner did not confirm the command power_on\. It may still take "
        r"effect: check the miner's state before trying again$",
    ):
        await _switch(hass, SERVICE_TURN_ON)
    await hass.async_block_till_done()
    assert whatsminer.commands()[sent:].count("power_on") == 1
    # It did take effect; the refresh the error scheduled shows it.
    assert whatsminer.state.mining is True
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON
