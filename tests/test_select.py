"""The power mode select, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
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

from custom_components.miner_hub.const import DOMAIN, ISSUE_WRITE_API_DISABLED
from custom_components.miner_hub.protocol.whatsminer.miner import WhatsminerV2Miner
from tests.conftest import only_platforms, setup_integration
from tests.emulators import WhatsminerV2Emulator

ENTITY_ID = "select.garage_m30_power_mode"


@pytest.fixture
async def init_select(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner with only its selects set up."""
    with only_platforms(Platform.SELECT):
        yield await setup_integration(hass, mock_config_entry)


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
    "case",
    [
        ("low", "set_low_power", "Low"),
        ("high", "set_high_power", "High"),
        ("normal", "set_normal_power", "Normal"),
    ],
    ids=["low", "high", "normal"],
)
async def test_select_power_mode(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
    case: tuple[str, str, str],
) -> None:
    option, command, mode = case
    if option == "normal":  # start elsewhere so that the change shows
        whatsminer.state.power_mode = "High"
        await init_select.runtime_data.async_refresh()
        assert hass.states.get(ENTITY_ID).state == "high"
    else:
        assert hass.states.get(ENTITY_ID).state == "normal"

    sent = len(whatsminer.received)
    # The firmware closes without replying (btminer restarts): that is success.
    await _select(hass, option)
    received = whatsminer.received[sent]
    assert (received.cmd, received.params, received.encrypted) == (command, {}, True)
    assert whatsminer.state.power_mode == mode
    assert whatsminer.commands()[sent + 1 :] == ["status", "summary+pools+edevs"]
    assert hass.states.get(ENTITY_ID).state == option


async def test_unknown_mode_shows_unknown(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    whatsminer.state.power_mode = "Turbo"
    await init_select.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == "unknown"


async def test_invalid_option(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    sent = len(whatsminer.received)
    with pytest.raises(ServiceValidationError):
        await _select(hass, "turbo")
    assert len(whatsminer.received) == sent


async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    whatsminer.state.write_api_enabled = False
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner at 127\.0\.0\.1 refuses commands: its write API is "
        r"switched off\.",
    ):
        await _select(hass, "low")
    assert whatsminer.received[-1].cmd == "set_low_power"
    assert whatsminer.state.power_mode == "Normal"
    assert issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_WRITE_API_DISABLED}_{init_select.entry_id}"
    )
    assert hass.states.get(ENTITY_ID).state == "normal"


async def test_wrong_password(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    whatsminer.state.password = "changed1"
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _select(hass, "low")
    assert whatsminer.state.power_mode == "Normal"
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_unreachable(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    await whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _select(hass, "low")
    assert hass.states.get(ENTITY_ID).state == STATE_UNAVAILABLE


async def test_unreadable_reply(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_select: MockConfigEntry,
) -> None:
    """A garbled reply leaves the outcome unknown: reported, not repeated."""
    whatsminer.faults.no_reply_commands = set()  # it replies, garbled
    whatsminer.faults.garbage = True
    sent = len(whatsminer.received)
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner did not confirm the command set_high_power\. ",
    ):
        await _select(hass, "high")
    await hass.async_block_till_done()
    assert whatsminer.commands()[sent:].count("set_high_power") == 1
    whatsminer.faults.garbage = False
    await init_select.runtime_data.async_refresh()
    assert hass.states.get(ENTITY_ID).state == "high"
