"""The power mode select, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
import re
from unittest.mock import patch

from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
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

ENTITY_ID = "select.garage_m30_power_mode_restarts_mining"


@pytest.fixture
async def init_select(
    hass: HomeAssistant, any_miner_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner (API v2, then v3) with only its selects set up."""
    with only_platforms(Platform.SELECT):
        yield await setup_integration(hass, any_miner_entry)


async def _select(hass: HomeAssistant, option: str) -> None:
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: ENTITY_ID, ATTR_OPTION: option},
        blocking=True,
    )


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_select: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_select.entry_id)


async def test_no_select_without_capability(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    with (
        patch.object(WhatsminerV2Miner, "capabilities", frozenset()),
        only_platforms(Platform.SELECT),
    ):
        await setup_integration(hass, mock_config_entry)
        assert hass.states.get(ENTITY_ID) is None


@pytest.mark.parametrize(
    ("option", "mode"),
    [("low", "Low"), ("high", "High"), ("normal", "Normal")],
    ids=["low", "high", "normal"],
)
async def test_select_power_mode(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
    option: str,
    mode: str,
) -> None:
    miner = any_whatsminer
    if option == "normal":  # start elsewhere so that the change shows
        miner.state.power_mode = "High"
        await init_select.runtime_data.async_refresh()
        assert hass.states.get(ENTITY_ID).state == "high"
    else:
        assert hass.states.get(ENTITY_ID).state == "normal"

    sent = miner.mark()
    # v2 firmware closes without replying (btminer restarts): that is success.
    await _select(hass, option)
    assert miner.writes(sent) == [miner.write("power_mode", option)]
    assert miner.state.power_mode == mode
    assert miner.is_btminer_restarting()
    assert miner.reads(sent) == miner.poll_reads
    assert hass.states.get(ENTITY_ID).state == option


async def test_unknown_mode_shows_unknown(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    any_whatsminer.state.power_mode = "Turbo"
    await init_select.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == "unknown"


async def test_invalid_option(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    sent = any_whatsminer.mark()
    with pytest.raises(ServiceValidationError):
        await _select(hass, "turbo")
    assert any_whatsminer.mark() == sent


async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    miner.state.write_api_enabled = False
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=WRITE_API_DISABLED_ERROR):
        await _select(hass, "low")
    assert miner.writes(sent)[-1].cmd == miner.command("power_mode", "low")
    assert miner.state.power_mode == "Normal"
    assert issue_registry.async_get_issue(DOMAIN, write_api_issue_id(init_select))
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert hass.states.get(ENTITY_ID).state == "normal"


async def test_wrong_password(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    miner.state.password = "changed1"
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _select(hass, "low")
    assert miner.writes(sent) == []
    assert miner.state.power_mode == "Normal"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    await any_whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _select(hass, "low")
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE


async def test_unreadable_reply(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_select: MockConfigEntry,
) -> None:
    """A garbled reply leaves the outcome unknown: reported, not repeated."""
    miner = any_whatsminer
    command = miner.command("power_mode", "high")
    miner.faults.no_reply_commands = set()  # it replies, garbled
    miner.faults.garbage = True
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=rf"^The miner did not confirm the command {re.escape(command)}\. ",
    ):
        await _select(hass, "high")
    await hass.async_block_till_done()
    assert miner.writes(sent) == [miner.write("power_mode", "high")]
    miner.faults.garbage = False
    await init_select.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == "high"
