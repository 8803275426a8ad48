"""The coordinator: polling, failures, slow reads, identity, write access, commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import logging
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.miner_hub.const import CONF_API, DOMAIN
from custom_components.miner_hub.coordinator import MinerCoordinator
from custom_components.miner_hub.governor import Verdict
from custom_components.miner_hub.protocol.models import WriteAccess
from tests.conftest import (
    APIS,
    MINER_UNIQUE_ID,
    EmulatedWhatsminer,
    poll,
    setup_integration,
)
from tests.emulators import WhatsminerV2Emulator

HASHRATE = "sensor.garage_m30_hashrate"
UPTIME = "sensor.garage_m30_uptime"
SLOW_READS = ("get_psu", "get_error_code")
ISSUE_PREFIX = "write_api_disabled_"


def _entity_states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    registry = er.async_get(hass)
    return {
        item.entity_id: hass.states.get(item.entity_id).state
        for item in er.async_entries_for_config_entry(registry, entry.entry_id)
        if not item.disabled_by
    }


def _slow_reads(miner: EmulatedWhatsminer) -> int:
    return sum(read in miner.slow_reads for read in miner.reads())


async def test_first_refresh_failure_retries_setup(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """An unreachable miner at setup: Home Assistant retries later."""
    await any_whatsminer.set_offline(True)
    any_miner_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(any_miner_entry.entry_id)
    assert any_miner_entry.state is ConfigEntryState.SETUP_RETRY
    assert any_whatsminer.connections_total == 0

    # It comes back: the retry sets it up.
    await any_whatsminer.set_offline(False)
    assert await hass.config_entries.async_reload(any_miner_entry.entry_id)
    assert any_miner_entry.state is ConfigEntryState.LOADED


async def test_unavailable_then_recovery(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """A failed poll makes every entity unavailable, logged once; then recovery."""
    init_integration = init_any_integration
    states = _entity_states(hass, init_integration)
    assert len(states) > 20
    assert STATE_UNAVAILABLE not in states.values()

    await any_whatsminer.set_offline(True)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await poll(hass, freezer)
        await poll(hass, freezer)
        await poll(hass, freezer)
    assert set(_entity_states(hass, init_integration).values()) == {STATE_UNAVAILABLE}
    errors = [
        record
        for record in caplog.records
        if record.name.startswith("custom_components.miner_hub")
        and record.levelno >= logging.WARNING
    ]
    assert len(errors) == 1  # not once per failed poll
    assert "Could not communicate with the miner" in errors[0].getMessage()

    await any_whatsminer.set_offline(False)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        await poll(hass, freezer)
    assert _entity_states(hass, init_integration) == states
    assert "data recovered" in caplog.text


async def test_slow_reads_every_five_minutes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Power supply and error codes are read at setup, then every 5 minutes."""
    miner = any_whatsminer
    assert _slow_reads(miner) == 2
    sent = miner.mark()

    for _ in range(9):
        await poll(hass, freezer)
    assert miner.reads(sent) == miner.poll_reads * 9
    assert _slow_reads(miner) == 2  # 4.5 minutes later

    await poll(hass, freezer)  # 5 minutes after setup
    assert _slow_reads(miner) == 4
    assert miner.reads()[-2:] == miner.slow_reads


async def test_slow_read_failure_keeps_values(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_integration: MockConfigEntry,
) -> None:
    """A failed slow read keeps its last value, fails no poll, waits 5 minutes."""
    coordinator: MinerCoordinator = init_integration.runtime_data
    errors = "sensor.garage_m30_error_codes"
    psu_temperature = "sensor.garage_m30_psu_temperature"
    whatsminer.state.error_codes = [("530", "2026-10-01 19:58:03")]
    await poll(hass, freezer, 300)
    assert hass.states.get(errors).state == "1"

    # Firmware 2.0.4 cuts long error replies: the list cannot be read.
    whatsminer.faults.json_defects = True
    whatsminer.faults.error_reply_max_bytes = 60
    whatsminer.state.error_codes = [
        (str(code), "2026-10-01 20:00:00") for code in range(200, 210)
    ]
    whatsminer.state.env_temp = 35.0  # the power supply still reads fine
    psu_before = hass.states.get(psu_temperature).state
    await poll(hass, freezer, 300)
    assert coordinator.last_update_success
    assert hass.states.get(errors).state == "1"
    assert hass.states.get(psu_temperature).state != psu_before
    assert float(hass.states.get(HASHRATE).state) > 80
    reads = whatsminer.commands().count("get_error_code")
    await poll(hass, freezer)  # no retry at every poll: it costs a connection
    assert whatsminer.commands().count("get_error_code") == reads

    whatsminer.faults.error_reply_max_bytes = 4096
    await poll(hass, freezer, 300)
    assert hass.states.get(errors).state == "10"
    assert whatsminer.commands().count("get_error_code") == reads + 1


async def test_boot_time_and_firmware_after_reboot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """The boot time is stable across polls; a reboot moves it and the firmware."""
    miner, init_integration = any_whatsminer, init_any_integration
    coordinator: MinerCoordinator = init_integration.runtime_data
    booted_at = coordinator.data.booted_at
    assert booted_at is not None
    uptime = hass.states.get(UPTIME).state
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), init_integration.entry_id
    )
    assert device is not None  # its other fields: test_init.py
    assert device.sw_version == miner.state.firmware_version != "20250101.01.REL"
    assert (dr.CONNECTION_NETWORK_MAC, MINER_UNIQUE_ID) in device.connections
    assert device.configuration_url == f"http://{miner.host}"

    for _ in range(3):
        await poll(hass, freezer)
        assert coordinator.data.booted_at == booted_at
    assert hass.states.get(UPTIME).state == uptime
    info_reads = miner.reads().count(miner.identity_read)

    # The miner reboots into new firmware.
    miner.state.firmware_version = "20250101.01.REL"
    miner.state.boot_time = time.time() - 90
    await poll(hass, freezer)

    assert coordinator.data.booted_at != booted_at
    assert hass.states.get(UPTIME).state != uptime
    after_reboot = miner.reads().count(miner.identity_read)
    assert after_reboot > info_reads
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), init_integration.entry_id
    )
    assert device.sw_version == "20250101.01.REL"
    assert coordinator.info.firmware_version == "20250101.01.REL"
    assert init_integration.data[CONF_API] == miner.api  # still the same API

    # Polls after the reboot keep the new boot time and read no identity.
    new_boot = coordinator.data.booted_at
    await poll(hass, freezer)
    assert coordinator.data.booted_at == new_boot
    assert miner.reads().count(miner.identity_read) == after_reboot


async def test_garbage_uptime_keeps_the_boot_time(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """An uptime no date can hold (found by fuzzing) is not a reboot, nor a crash."""
    coordinator: MinerCoordinator = init_any_integration.runtime_data
    booted_at = coordinator.data.booted_at
    uptime = hass.states.get(UPTIME).state
    any_whatsminer.state.boot_time = -1e15  # ~31 million years of uptime
    await poll(hass, freezer)
    assert coordinator.last_update_success
    assert coordinator.data.booted_at == booted_at
    assert hass.states.get(UPTIME).state == uptime


async def test_reboot_with_unreadable_identity(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    whatsminer: WhatsminerV2Emulator,
    init_integration: MockConfigEntry,
) -> None:
    """After a reboot the identity must be re-read: until then the miner is unavailable."""
    coordinator: MinerCoordinator = init_integration.runtime_data
    whatsminer.faults.unsupported_commands = {"get_version"}
    whatsminer.state.firmware_version = "20250101.01.REL"
    whatsminer.state.boot_time = time.time() - 90
    await poll(hass, freezer)

    assert not coordinator.last_update_success
    assert hass.states.get(HASHRATE).state == STATE_UNAVAILABLE
    assert coordinator.info.firmware_version == "20240624.18.REL"

    whatsminer.faults.unsupported_commands = set()
    await poll(hass, freezer)
    assert coordinator.last_update_success
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), init_integration.entry_id
    )
    assert device.sw_version == "20250101.01.REL"


async def test_other_miner_after_reboot_is_not_adopted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    device_registry: dr.DeviceRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """A reboot that brings another MAC: unavailable, this device is not rewritten."""
    init_integration = init_any_integration
    coordinator: MinerCoordinator = init_integration.runtime_data
    firmware = any_whatsminer.state.firmware_version
    any_whatsminer.state.mac = "C6:07:20:00:99:99"
    any_whatsminer.state.firmware_version = "20250101.01.REL"
    any_whatsminer.state.boot_time = time.time() - 90
    await poll(hass, freezer)
    await poll(hass, freezer)  # checked again at every poll, not only once

    assert not coordinator.last_update_success
    assert "c6:07:20:00:99:99" in str(coordinator.last_exception)
    assert hass.states.get(HASHRATE).state == STATE_UNAVAILABLE
    assert coordinator.info.mac == MINER_UNIQUE_ID
    device = device_registry.async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), init_integration.entry_id
    )
    assert device.sw_version == firmware


async def test_wrong_device_retries_setup(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Another miner at the entry's address (DHCP reuse): not set up, retried."""
    any_whatsminer.state.mac = "C6:07:20:00:99:99"
    any_miner_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(any_miner_entry.entry_id)
    assert any_miner_entry.state is ConfigEntryState.SETUP_RETRY
    assert "c6:07:20:00:99:99" in str(any_miner_entry.reason)
    # No data of the other miner: no read of a poll.
    assert any_whatsminer.identity_read in any_whatsminer.reads()
    assert not set(any_whatsminer.poll_reads) & set(any_whatsminer.reads())


async def test_wrong_password_starts_reauth(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """A rejected password at setup asks the user for the new one.

    v2 proves the password with an encrypted read, v3 with set.system.led auto.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="garage-m30",
        unique_id=MINER_UNIQUE_ID,
        data={**any_whatsminer.entry_data(), CONF_PASSWORD: "wrong_1"},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert len(flows) == 1
    assert flows[0]["handler"] == DOMAIN
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == entry.entry_id


async def test_write_api_disabled_repair_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Reads work without the write API; a repair issue explains how to enable it.

    v3 reports the switch (system.apiswitch) and refuses writes with -4, as it
    does a wrong password: neither may start a reauthentication here.
    """
    whatsminer, mock_config_entry = any_whatsminer, any_miner_entry
    whatsminer.state.write_api_enabled = False
    await setup_integration(hass, mock_config_entry)

    coordinator: MinerCoordinator = mock_config_entry.runtime_data
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert coordinator.write_access is WriteAccess.DISABLED
    assert float(hass.states.get(HASHRATE).state) > 80
    issue_id = f"{ISSUE_PREFIX}{mock_config_entry.entry_id}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "write_api_disabled"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {
        "name": "garage-m30",
        "host": whatsminer.host,
    }

    # Still off: a command fails and explains why; the issue stays.
    with pytest.raises(HomeAssistantError, match="write API is switched off") as err:
        await coordinator.async_set_mining(True, force=True)
    assert err.value.translation_key == "write_api_disabled"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert not hass.config_entries.flow.async_progress()

    # Switched on in WhatsMinerTool: the next command works and the issue goes.
    whatsminer.state.write_api_enabled = True
    await coordinator.async_set_mining(True, force=True)
    assert coordinator.write_access is WriteAccess.ENABLED
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None

    # Removing the entry forgets a (new) issue as well.
    whatsminer.state.write_api_enabled = False
    with pytest.raises(HomeAssistantError):
        await coordinator.async_set_mining(True, force=True)
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    assert await hass.config_entries.async_remove(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_write_api_enabled_at_reload_removes_issue(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Setup checks write access again: an enabled API removes the issue."""
    whatsminer, mock_config_entry = any_whatsminer, any_miner_entry
    whatsminer.state.write_api_enabled = False
    await setup_integration(hass, mock_config_entry)
    issue_id = f"{ISSUE_PREFIX}{mock_config_entry.entry_id}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None

    whatsminer.state.write_api_enabled = True
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_connections_perpoll(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """One TCP connection per read of a poll.

    v2: status, then summary+pools+edevs; v3: get.device.info miner (whether
    btminer works), get.miner.status summary+pools+edevs, get.miner.setting.
    """
    miner = any_whatsminer
    coordinator: MinerCoordinator = init_any_integration.runtime_data
    before = miner.connections_total
    received = miner.mark()
    await poll(hass, freezer)
    assert miner.connections_total - before == len(miner.poll_reads)
    assert miner.reads(received) == miner.poll_reads

    # The 5-minute poll adds one connection per slow read.
    before = miner.connections_total
    await poll(hass, freezer, 270)
    assert miner.connections_total - before == len(miner.poll_reads) + 2
    assert coordinator.last_update_success


Command = Callable[[MinerCoordinator], Awaitable[Any]]
# Sets a fault up on the miner; the command that then fails.
Case = Callable[[EmulatedWhatsminer], Awaitable[Command]]


def _start_mining(coordinator: MinerCoordinator) -> Awaitable[Verdict]:
    # Forced: sent although the miner mines already (the governor would skip it).
    return coordinator.async_set_mining(True, force=True)


def _set_power_limit(coordinator: MinerCoordinator) -> Awaitable[Verdict]:
    return coordinator.async_set_power_limit(3000)


async def _out_of_range(emulator: EmulatedWhatsminer) -> Command:
    return lambda coordinator: coordinator.async_set_power_percent(150)


async def _write_api_off(emulator: EmulatedWhatsminer) -> Command:
    emulator.state.write_api_enabled = False
    return _start_mining


async def _no_reply(emulator: EmulatedWhatsminer) -> Command:
    emulator.faults.no_reply_commands = {emulator.command("mining_on")}
    return _start_mining


async def _garbage(emulator: EmulatedWhatsminer) -> Command:
    emulator.faults.garbage = True
    return _start_mining


async def _password_changed(emulator: EmulatedWhatsminer) -> Command:
    emulator.change_password("other_1")
    return _start_mining


async def _rejected(emulator: EmulatedWhatsminer) -> Command:
    emulator.faults.rejected_commands = {emulator.command("power_limit", 3000)}
    return _set_power_limit


async def _unsupported(emulator: EmulatedWhatsminer) -> Command:
    emulator.faults.unsupported_commands = {emulator.command("power_limit", 3000)}
    return _set_power_limit


async def _offline(emulator: EmulatedWhatsminer) -> Command:
    await emulator.set_offline(True)
    return _start_mining


# API v2 only: its token, its old firmware, its defective JSON.
def _v2(miner: EmulatedWhatsminer) -> WhatsminerV2Emulator:
    assert isinstance(miner.emulator, WhatsminerV2Emulator)
    return miner.emulator


async def _tokens_expire(emulator: EmulatedWhatsminer) -> Command:
    _v2(emulator).faults.token_lifetime = 0.0
    return _start_mining


async def _token_limit(emulator: EmulatedWhatsminer) -> Command:
    _v2(emulator).faults.tokens_per_ip = 0
    _v2(emulator).clear_tokens()
    return _start_mining


async def _old_firmware(emulator: EmulatedWhatsminer) -> Command:
    _v2(emulator).profile = "2.0.4"  # no adjust_power_limit before API 2.0.5
    return _set_power_limit


async def _unreadable_token(emulator: EmulatedWhatsminer) -> Command:
    _v2(emulator).faults.garbage = True

    async def start_mining_with_a_new_token(coordinator: MinerCoordinator) -> None:
        # The token is asked before anything is sent; its reply is unreadable:
        # a ParseError, which has no dedicated message.
        coordinator.miner.client.forget_token()  # type: ignore[attr-defined]
        await coordinator.async_set_mining(True, force=True)

    return start_mining_with_a_new_token


COMMON_CASES: list[tuple[Case, str]] = [
    (_out_of_range, "invalid_value"),
    (_write_api_off, "write_api_disabled"),
    (_no_reply, "no_reply"),
    (_garbage, "no_reply"),  # a garbled reply to a write: outcome unknown
    (_password_changed, "invalid_auth"),
    (_rejected, "command_rejected"),
    (_unsupported, "unsupported_command"),
    (_offline, "communication_error"),
]
V2_CASES: list[tuple[Case, str]] = [
    (_tokens_expire, "command_rejected"),
    (_token_limit, "rate_limited"),
    (_old_firmware, "unsupported_command"),
    (_unreadable_token, "unknown_error"),
]


@pytest.mark.parametrize(
    ("any_whatsminer", "case", "key"),
    [
        pytest.param(api, case, key, id=f"{api}-{case.__name__.strip('_')}")
        for api in APIS
        for case, key in COMMON_CASES
    ]
    + [
        pytest.param("v2", case, key, id=f"v2-{case.__name__.strip('_')}")
        for case, key in V2_CASES
    ],
    indirect=["any_whatsminer"],
)
async def test_command_errors(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
    case: Case,
    key: str,
) -> None:
    """Each failure of a command becomes a translated error."""
    command = await case(any_whatsminer)
    with pytest.raises(HomeAssistantError) as err:
        await command(init_any_integration.runtime_data)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    # Bad input is the caller's fault: a validation error, not a device error.
    assert isinstance(err.value, ServiceValidationError) == (key == "invalid_value")
    await hass.async_block_till_done(wait_background_tasks=True)
    flows = hass.config_entries.flow.async_progress()
    if key == "invalid_auth":  # the user is asked for the new password
        assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    else:
        assert not flows
    if key == "communication_error":  # unavailable at once, not at the next poll
        assert hass.states.get(HASHRATE).state == STATE_UNAVAILABLE


async def test_reboot_without_device(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Without entities there is no device to update; the identity still is."""
    mock_config_entry.add_to_hass(hass)
    with patch("custom_components.miner_hub.PLATFORMS", []):
        assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    coordinator: MinerCoordinator = mock_config_entry.runtime_data
    coordinator.async_add_listener(lambda: None)  # keep polling
    whatsminer.state.firmware_version = "20250101.01.REL"
    whatsminer.state.boot_time = time.time() - 90
    await poll(hass, freezer)
    assert coordinator.info.firmware_version == "20250101.01.REL"
