"""The mining switch, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
import re
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
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    intent,
    issue_registry as ir,
)
from homeassistant.helpers.entity_registry import COMPUTED_NAME
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from tests.conftest import (
    WRITE_API_DISABLED_ERROR,
    EmulatedWhatsminer,
    only_platforms,
    setup_integration,
    write_api_issue_id,
)

ENTITY_ID = "switch.garage_m30_mining"


@pytest.fixture
async def init_switch(
    hass: HomeAssistant, any_miner_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner (API v2, then v3) with only its switches set up."""
    with only_platforms(Platform.SWITCH):
        yield await setup_integration(hass, any_miner_entry)


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
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    assert hass.states.get(ENTITY_ID).state == STATE_ON

    sent = miner.mark()
    await _switch(hass, SERVICE_TURN_OFF)
    # Executed: the emulator checked the credentials (v2 token, v3 token).
    assert miner.writes(sent) == [miner.write("mining_off")]
    assert miner.state.mining is False
    # The refresh after the command read the miner's status again.
    assert miner.reads(sent) == miner.poll_reads
    assert hass.states.get(ENTITY_ID).state == STATE_OFF
    assert init_switch.runtime_data.data.status.mining is False

    # The next command comes within the refresh cooldown: refresh by hand.
    sent = miner.mark()
    await _switch(hass, SERVICE_TURN_ON)
    assert miner.writes(sent) == [miner.write("mining_on")]
    assert miner.state.mining is True
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON


async def test_state_follows_the_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    """Mining switched off elsewhere (WhatsMinerTool) shows at the next poll."""
    any_whatsminer.state.mining = False
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_OFF


async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    miner.state.write_api_enabled = False
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=WRITE_API_DISABLED_ERROR
        + r" Turn on Remote Ctrl → Miner API Switch in WhatsMinerTool$",
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    assert miner.state.mining is True
    assert miner.writes(sent)[-1].cmd == miner.command("mining_off")
    issue_id = write_api_issue_id(init_switch)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # Not a password problem: no reauthentication.
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert hass.states.get(ENTITY_ID).state == STATE_ON  # still available

    # Switched on in WhatsMinerTool: the next command works, the issue goes.
    miner.state.write_api_enabled = True
    await _switch(hass, SERVICE_TURN_OFF)
    assert miner.state.mining is False
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    """v2: the miner cannot decrypt the command; v3: the token is wrong (-4)."""
    miner = any_whatsminer
    miner.state.password = "changed1"
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the password\. "
        r"Update it in the integration's settings$",
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    assert miner.state.mining is True
    assert miner.writes(sent) == []
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_switch.entry_id


async def test_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    await any_whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: .+"
    ):
        await _switch(hass, SERVICE_TURN_OFF)
    # Unavailable at once, not only after the next poll.
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE

    await any_whatsminer.set_offline(False)
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON


async def test_no_reply(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_switch: MockConfigEntry,
) -> None:
    """Start without a reply: reported as unknown, never sent twice."""
    miner = any_whatsminer
    command = miner.command("mining_on")
    miner.state.mining = False
    await init_switch.runtime_data.async_refresh()
    init_switch.runtime_data.miner.client.read_timeout = 0.2
    miner.faults.hang_commands = {command}
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=rf"^The miner did not confirm the command {re.escape(command)}\. It "
        r"may still take effect: check the miner's state before trying again$",
    ):
        await _switch(hass, SERVICE_TURN_ON)
    await hass.async_block_till_done()
    assert miner.writes(sent) == [miner.write("mining_on")]
    # It did take effect; the refresh the error scheduled shows it.
    assert miner.state.mining is True
    await init_switch.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == STATE_ON


async def test_named_mining_with_the_miner_as_voice_alias(
    hass: HomeAssistant, init_switch: MockConfigEntry
) -> None:
    """Findable as "Mining"; Assist still knows it by the miner's name."""
    entry = er.async_get(hass).async_get(ENTITY_ID)
    assert entry is not None
    assert hass.states.get(ENTITY_ID).name == "garage-m30 Mining"  # type: ignore[union-attr]
    assert entry.aliases == [COMPUTED_NAME, "garage-m30"]
    assert intent.async_get_entity_aliases(
        hass,
        entry,
        state=hass.states.get(ENTITY_ID),  # type: ignore[arg-type]
    ) == ["garage-m30 Mining", "garage-m30"]


async def test_voice_alias_follows_the_device_name(
    hass: HomeAssistant, init_switch: MockConfigEntry
) -> None:
    """Renamed with the miner; once removed by the user, it stays removed."""
    entities, devices = er.async_get(hass), dr.async_get(hass)
    entry = entities.async_get(ENTITY_ID)
    assert entry is not None
    assert entry.device_id is not None
    devices.async_update_device(entry.device_id, name_by_user="Garage heater")
    await hass.async_block_till_done()
    assert entities.async_get(ENTITY_ID).aliases == [  # type: ignore[union-attr]
        COMPUTED_NAME,
        "Garage heater",
    ]

    entities.async_update_entity(ENTITY_ID, aliases=[COMPUTED_NAME])
    devices.async_update_device(entry.device_id, name_by_user="Attic heater")
    await hass.async_block_till_done()
    await hass.config_entries.async_reload(init_switch.entry_id)
    await hass.async_block_till_done()
    assert entities.async_get(ENTITY_ID).aliases == [COMPUTED_NAME]  # type: ignore[union-attr]
