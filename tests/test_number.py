"""Power percent and power limit, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import re
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
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from tests.conftest import (
    V2_ONLY,
    V3_ONLY,
    WRITE_API_DISABLED_ERROR,
    EmulatedWhatsminer,
    miner_entry,
    only_platforms,
    setup_integration,
    write_api_issue_id,
)
from tests.emulators import WhatsminerV2Emulator

POWER_PERCENT = "number.garage_m30_power_percent"
POWER_LIMIT = "number.garage_m30_power_limit_restarts_mining"


@pytest.fixture
async def init_number(
    hass: HomeAssistant, any_miner_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """The emulated miner (API v2, then v3) with only its numbers set up."""
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, any_miner_entry)
        yield any_miner_entry


@pytest.fixture
async def init_old_number(
    hass: HomeAssistant, old_whatsminer: WhatsminerV2Emulator
) -> AsyncIterator[MockConfigEntry]:
    """The 2.0.4 miner with only its numbers set up."""
    entry = miner_entry(old_whatsminer)
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, entry)
        yield entry


def _watts(hass: HomeAssistant) -> float:
    """The power limit shown (v2 reports a float, v3 an integer)."""
    return float(hass.states.get(POWER_LIMIT).state)


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
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    sent = miner.mark()
    await _set(hass, POWER_PERCENT, 60)
    assert miner.writes(sent) == [miner.write("power_percent", 60)]
    assert miner.state.power_percent == 60
    assert miner.state.power_percent_mode == "normal"
    assert miner.reads(sent) == miner.poll_reads
    assert hass.states.get(POWER_PERCENT).state == "60"

    # 0 is a valid percentage (the slider's low end), not "nothing".
    sent = miner.mark()
    await _set(hass, POWER_PERCENT, 0)
    assert miner.writes(sent) == [miner.write("power_percent", 0)]
    assert miner.state.power_percent == 0
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == "0"


@V2_ONLY
async def test_power_percent_100_until_accepted(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """API v2 does not report the percentage: 100 until the miner accepts another.

    100 is what the firmware runs at after a boot. A change made elsewhere
    (WhatsMinerTool) therefore does not show.
    """
    assert hass.states.get(POWER_PERCENT).state == "100"
    any_whatsminer.state.power_percent = 70
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == "100"

    await _set(hass, POWER_PERCENT, 40)
    any_whatsminer.state.power_percent = 90  # elsewhere again
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == "40"


@V3_ONLY
async def test_power_percent_reported_by_the_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """API v3 reports the percentage (get.miner.setting): the number shows it."""
    miner = any_whatsminer
    assert hass.states.get(POWER_PERCENT).state == "100"

    miner.state.power_percent = 70  # set elsewhere (WhatsMinerTool)
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == "70"

    await _set(hass, POWER_PERCENT, 40)
    assert hass.states.get(POWER_PERCENT).state == "40"
    # The firmware does not keep it across a reboot: the number follows.
    await init_number.runtime_data.async_reboot()
    miner.advance(1)
    await init_number.runtime_data.async_refresh()
    assert miner.state.power_percent == 100
    assert hass.states.get(POWER_PERCENT).state == "100"


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
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    sent = miner.mark()
    await _set(hass, POWER_PERCENT, 55)
    await hass.config_entries.async_reload(init_number.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(POWER_PERCENT).state == "55"
    # Restored (v2) or read back (v3), not sent again.
    assert miner.writes(sent).count(miner.write("power_percent", 55)) == 1


@V2_ONLY
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
        ({}, "100"),  # nothing usable stored: what the firmware boots at
    ],
)
async def test_power_percent_restored_after_restart(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
    extra_data: dict[str, object],
    expected: str,
) -> None:
    """Set 35 after the miner booted (an hour ago, the emulator's boot)."""
    mock_restore_cache_with_extra_data(hass, [(State(POWER_PERCENT, "35"), extra_data)])
    sent = any_whatsminer.mark()
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, any_miner_entry)
        assert hass.states.get(POWER_PERCENT).state == expected
    # Restoring sends nothing to the miner.
    assert any_whatsminer.command("power_percent", 35) not in {
        write.cmd for write in any_whatsminer.writes(sent)
    }


@V2_ONLY
async def test_power_percent_set_before_a_boot_is_not_restored(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """The firmware forgot it at the boot (an hour ago): it runs at 100 %."""
    set_at = dt_util.utcnow() - timedelta(hours=2)
    stored = State(POWER_PERCENT, "35", last_changed=set_at, last_updated=set_at)
    mock_restore_cache_with_extra_data(hass, [(stored, {"native_value": 35})])
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, any_miner_entry)
        assert hass.states.get(POWER_PERCENT).state == "100"


@V3_ONLY
async def test_power_percent_reported_wins_over_restored(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """A restored value is only for miners that do not report theirs."""
    any_whatsminer.state.power_percent = 80
    mock_restore_cache_with_extra_data(
        hass, [(State(POWER_PERCENT, "35"), {"native_value": 35})]
    )
    with only_platforms(Platform.NUMBER):
        await setup_integration(hass, any_miner_entry)
    assert hass.states.get(POWER_PERCENT).state == "80"


async def test_set_power_limit(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    miner = any_whatsminer
    state = hass.states.get(POWER_LIMIT)
    assert float(state.state) == 3600
    assert (state.attributes["min"], state.attributes["max"]) == (0, 99999)

    sent = miner.mark()
    await _set(hass, POWER_LIMIT, 3000)
    assert miner.writes(sent) == [miner.write("power_limit", 3000)]
    assert miner.state.power_limit_w == 3000
    assert miner.reads(sent) == miner.poll_reads
    assert _watts(hass) == 3000


async def test_power_limit_out_of_range(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    sent = any_whatsminer.mark()
    with pytest.raises(ServiceValidationError):
        await _set(hass, POWER_LIMIT, 100000)
    assert any_whatsminer.mark() == sent


async def test_power_limit_rejected_by_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """Firmware that refuses a limit (v2 code 132, v3 -1) leaves everything as it was."""
    miner = any_whatsminer
    miner.faults.rejected_commands = {miner.command("power_limit", 500)}
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the command: (API command ERROR|fail)$",
    ):
        await _set(hass, POWER_LIMIT, 500)
    assert miner.writes(sent) == [miner.write("power_limit", 500)]  # not retried
    assert miner.state.power_limit_w == 3600
    assert _watts(hass) == 3600


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
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """The limit was sent but not confirmed: reported, never sent twice."""
    miner = any_whatsminer
    command = miner.command("power_limit", 3200)
    init_number.runtime_data.miner.client.read_timeout = 0.2
    miner.faults.hang_commands = {command}
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=rf"^The miner did not confirm the command {re.escape(command)}\. ",
    ):
        await _set(hass, POWER_LIMIT, 3200)
    await hass.async_block_till_done()
    assert miner.writes(sent) == [miner.write("power_limit", 3200)]
    # It took effect after all; the refresh the error asked for shows it.
    assert miner.state.power_limit_w == 3200
    await init_number.runtime_data.async_refresh()
    assert _watts(hass) == 3200


@V2_ONLY
async def test_power_percent_no_reply_keeps_state(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """An unconfirmed percentage is not shown as accepted (v2 cannot read it)."""
    await _set(hass, POWER_PERCENT, 80)
    init_number.runtime_data.miner.client.read_timeout = 0.2
    any_whatsminer.faults.hang_commands = {any_whatsminer.command("power_percent", 20)}
    with pytest.raises(HomeAssistantError, match="did not confirm"):
        await _set(hass, POWER_PERCENT, 20)
    await hass.async_block_till_done()
    assert any_whatsminer.state.power_percent == 20  # it did take effect
    assert hass.states.get(POWER_PERCENT).state == "80"


@V3_ONLY
async def test_power_percent_no_reply_shows_the_miners_value(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
) -> None:
    """Unconfirmed, but v3 reports the percentage: the refresh shows what it is."""
    miner = any_whatsminer
    await _set(hass, POWER_PERCENT, 80)
    init_number.runtime_data.miner.client.read_timeout = 0.2
    miner.faults.hang_commands = {miner.command("power_percent", 20)}
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match="did not confirm"):
        await _set(hass, POWER_PERCENT, 20)
    await hass.async_block_till_done()
    assert miner.writes(sent) == [miner.write("power_percent", 20)]  # not retried
    assert miner.state.power_percent == 20
    await init_number.runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == "20"


@pytest.mark.parametrize(
    "control", [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)], ids=["percent", "limit"]
)
async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
    control: tuple[str, int],
) -> None:
    miner = any_whatsminer
    entity_id, value = control
    before = hass.states.get(entity_id).state
    miner.state.write_api_enabled = False
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=WRITE_API_DISABLED_ERROR):
        await _set(hass, entity_id, value)
    key = "power_percent" if entity_id == POWER_PERCENT else "power_limit"
    assert miner.writes(sent)[-1].cmd == miner.command(key, value)
    assert (miner.state.power_percent, miner.state.power_limit_w) == (100, 3600)
    assert issue_registry.async_get_issue(DOMAIN, write_api_issue_id(init_number))
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert hass.states.get(entity_id).state == before


@pytest.mark.parametrize(
    ("entity_id", "value"), [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)]
)
async def test_wrong_password(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
    entity_id: str,
    value: int,
) -> None:
    miner = any_whatsminer
    miner.state.password = "changed1"
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _set(hass, entity_id, value)
    assert miner.writes(sent) == []
    assert (miner.state.power_percent, miner.state.power_limit_w) == (100, 3600)
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize(
    ("entity_id", "value"), [(POWER_PERCENT, 50), (POWER_LIMIT, 3000)]
)
async def test_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_number: MockConfigEntry,
    entity_id: str,
    value: int,
) -> None:
    await any_whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _set(hass, entity_id, value)
    assert hass.states.get(POWER_PERCENT).state == STATE_UNAVAILABLE
    assert hass.states.get(POWER_LIMIT).state == STATE_UNAVAILABLE

    await any_whatsminer.set_offline(False)
    await init_number.runtime_data.async_refresh()
    assert _watts(hass) == 3600
