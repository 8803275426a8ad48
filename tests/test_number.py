"""Power percent and power limit, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from unittest.mock import PropertyMock, patch

from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN, ISSUE_WRITE_API_DISABLED
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.protocol.whatsminer.miner import WhatsminerV2Miner
from tests.conftest import (
    miner_entry,
    only_platforms,
    setup_integration,
)
from tests.emulators import WhatsminerV2Emulator

POWER_PERCENT = "number.garage_m30_power_percent"
POWER_LIMIT = "number.garage_m30_power_limit"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await setup_integration(hass, entry)


@pytest.fixture
async def init_number(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner with only its numbers set up."""
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, mock_config_entry)
        yield mock_config_entry


@pytest.fixture
async def init_old_number(
    hass: HomeAssistant, old_whatsminer: WhatsminerV2Emulator
) -> AsyncIterator[MockConfigEntry]:
    """The 2.0.4 miner with only its numbers set up."""
    entry = miner_entry(old_whatsminer)
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, entry)
        yield entry


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: entity_id, ATTR_VALUE: value},
        blocking=True,
    )


async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_number: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_number.entry_id)


@pytest.mark.parametrize(
    ("missing", "absent", "present"),
    [
        (Capability.POWER_PERCENT, POWER_PERCENT, POWER_LIMIT),
        (Capability.POWER_LIMIT, POWER_LIMIT, POWER_PERCENT),
    ],
)
async def test_numbers_follow_capabilities(
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
    missing: Capability,
    absent: str,
    present: str,
) -> None:
    with (
        patch.object(
            WhatsminerV2Miner,
            "capabilities",
            new_callable=PropertyMock,
            return_value=frozenset(Capability) - {missing},
        ),
        only_platforms(Platform.NUMBER),
    ):
        await setup_integration(hass, mock_config_entry)
        assert hass.states.get(absent) is None
        assert hass.states.get(present) is not None


async def test_set_power_percent(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    # The miner does not report the percentage: unknown until it accepts one.
    assert hass.states.get(POWER_PERCENT).state == STATE_UNKNOWN

    sent = len(whatsminer.received)
    await _set(hass, POWER_PERCENT, 60)
    command = whatsminer.received[sent]
    assert command.cmd == "set_power_pct_v2"
    assert command.params == {"percent": "60"}
    assert command.encrypted
    assert whatsminer.state.power_percent == 60
    assert whatsminer.state.power_percent_mode == "normal"
    assert whatsminer.commands()[sent + 1 :] == ["status", "summary+pools+edevs"]
    assert hass.states.get(POWER_PERCENT).state == "60"

    # 0 is a valid percentage (the slider's low end), not "nothing".
    await _set(hass, POWER_PERCENT, 0)
    assert whatsminer.received[-1].params == {"percent": "0"}
    assert whatsminer.state.power_percent == 0
    assert hass.states.get(POWER_PERCENT).state == "0"


async def test_power_percent_falls_back_on_old_firmware(
    hass: HomeAssistant,
    old_whatsminer: WhatsminerV2Emulator,
    init_old_number: MockConfigEntry,
) -> None:
    sent = len(old_whatsminer.received)
    await _set(hass, POWER_PERCENT, 40)
    writes = [
        (command.cmd, command.params, command.encrypted)
        for command in old_whatsminer.received[sent:]
        if command.cmd.startswith("set_power_pct")
    ]
    assert writes == [
        ("set_power_pct_v2", {"percent": "40"}, True),  # code 14: unknown command
        ("set_power_pct", {"percent": "40"}, True),
    ]
    assert old_whatsminer.state.power_percent == 40
    assert old_whatsminer.state.power_percent_mode == "fast"
    assert hass.states.get(POWER_PERCENT).state == "40"

    # The adapter remembers: the next value goes straight to set_power_pct.
    sent = len(old_whatsminer.received)
    await _set(hass, POWER_PERCENT, 70)
    assert [
        command.cmd
        for command in old_whatsminer.received[sent:]
        if command.cmd.startswith("set_power_pct")
    ] == ["set_power_pct"]
    assert hass.states.get(POWER_PERCENT).state == "70"


async def test_power_percent_kept_across_reload(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    await _set(hass, POWER_PERCENT, 55)
    await hass.config_entries.async_reload(init_number.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(POWER_PERCENT).state == "55"
    # Restored, not sent again.
    assert whatsminer.commands().count("set_power_pct_v2") == 1


@pytest.mark.parametrize(
    ("extra_data", "expected"),
    [
        (
            {
                "native_max_value": 100,
                "native_min_value": 0,
                "native_step": 1,
                "native_unit_of_measurement": "%",
                "native_value": 35,
            },
            "35",
        ),
        ({}, STATE_UNKNOWN),  # nothing usable stored
    ],
)
async def test_power_percent_restored_after_restart(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
    extra_data: dict[str, object],
    expected: str,
) -> None:
    mock_restore_cache_with_extra_data(hass, [(State(POWER_PERCENT, "35"), extra_data)])
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, mock_config_entry)
        assert hass.states.get(POWER_PERCENT).state == expected
    # Restoring sends nothing to the miner.
    assert not any(c.cmd.startswith("set_power_pct") for c in whatsminer.received)


async def test_set_power_limit(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    state = hass.states.get(POWER_LIMIT)
    assert state.state == "3600.0"
    assert (state.attributes["min"], state.attributes["max"]) == (0, 99999)

    sent = len(whatsminer.received)
    await _set(hass, POWER_LIMIT, 3000)
    command = whatsminer.received[sent]
    assert command.cmd == "adjust_power_limit"
    assert command.params == {"power_limit": "3000"}
    assert command.encrypted
    assert whatsminer.state.power_limit_w == 3000
    assert whatsminer.commands()[sent + 1 :] == ["status", "summary+pools+edevs"]
    assert hass.states.get(POWER_LIMIT).state == "3000.0"


async def test_power_limit_out_of_range(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    sent = len(whatsminer.received)
    with pytest.raises(ServiceValidationError):
        await _set(hass, POWER_LIMIT, 100000)
    assert len(whatsminer.received) == sent


async def test_power_limit_rejected_by_miner(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    """Firmware that refuses a limit (code 132) leaves everything as it was."""

    whatsminer.faults.rejected_commands = {"adjust_power_limit"}
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the command: API command ERROR$",
    ):
        await _set(hass, POWER_LIMIT, 500)
    assert whatsminer.received[-1].cmd == "adjust_power_limit"
    assert whatsminer.state.power_limit_w == 3600
    assert hass.states.get(POWER_LIMIT).state == "3600.0"


async def test_power_limit_unsupported_by_old_firmware(
    hass: HomeAssistant,
    old_whatsminer: WhatsminerV2Emulator,
    init_old_number: MockConfigEntry,
) -> None:
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner's firmware does not support this command$",
    ):
        await _set(hass, POWER_LIMIT, 3000)
    assert old_whatsminer.received[-1].cmd == "adjust_power_limit"


async def test_power_limit_no_reply(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    """The limit was sent but not confirmed: reported, never sent twice."""
    init_number.runtime_data.miner.client.read_timeout = 0.2
    whatsminer.faults.hang_commands = {"adjust_power_limit"}
    sent = len(whatsminer.received)
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner did not confirm the command adjust_power_limit\. ",
    ):
        await _set(hass, POWER_LIMIT, 3200)
    await hass.async_block_till_done()
    assert whatsminer.commands()[sent:].count("adjust_power_limit") == 1
    # It took effect after all; the refresh the error asked for shows it.
    assert whatsminer.state.power_limit_w == 3200
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_LIMIT).state == "3200.0"


async def test_power_percent_no_reply_keeps_state(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
) -> None:
    """An unconfirmed percentage is not shown as accepted."""
    await _set(hass, POWER_PERCENT, 80)
    init_number.runtime_data.miner.client.read_timeout = 0.2
    whatsminer.faults.hang_commands = {"set_power_pct_v2"}
    with pytest.raises(HomeAssistantError, match="did not confirm"):
        await _set(hass, POWER_PERCENT, 20)
    await hass.async_block_till_done()
    assert hass.states.get(POWER_PERCENT).state == "80"


@pytest.mark.parametrize(
    "control", [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)], ids=["percent", "limit"]
)
async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
    control: tuple[str, int],
) -> None:
    entity_id, value = control
    before = hass.states.get(entity_id).state
    whatsminer.state.write_api_enabled = False
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner at 127\.0\.0\.1 refuses commands: its write API is "
        r"switched off\.",
    ):
        await _set(hass, entity_id, value)
    assert whatsminer.received[-1].encrypted
    assert (whatsminer.state.power_percent, whatsminer.state.power_limit_w) == (
        100,
        3600,
    )
    assert issue_registry.async_get_issue(
        DOMAIN, f"{ISSUE_WRITE_API_DISABLED}_{init_number.entry_id}"
    )
    assert hass.states.get(entity_id).state == before


@pytest.mark.parametrize(
    ("entity_id", "value"), [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)]
)
async def test_wrong_password(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
    entity_id: str,
    value: int,
) -> None:
    whatsminer.state.password = "changed1"
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _set(hass, entity_id, value)
    assert (whatsminer.state.power_percent, whatsminer.state.power_limit_w) == (
        100,
        3600,
    )
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    ("entity_id", "value"), [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)]
)
async def test_unreachable(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    init_number: MockConfigEntry,
    entity_id: str,
    value: int,
) -> None:
    await whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _set(hass, entity_id, value)
    assert hass.states.get(POWER_PERCENT).state == STATE_UNAVAILABLE
    assert hass.states.get(POWER_LIMIT).state == STATE_UNAVAILABLE
