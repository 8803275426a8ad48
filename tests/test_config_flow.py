"""The config flow, over real TCP against the Whatsminer emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType, InvalidData
from homeassistant.helpers import issue_registry as ir
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import (
    CONF_KIND,
    CONF_SCAN_INTERVAL,
    DOMAIN,
    KIND_WHATSMINER,
)
from tests.conftest import (
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    whatsminer_entry_data,
)
from tests.emulators import WhatsminerV2Emulator

OTHER_MAC = "C6:07:20:00:AB:CD"
OTHER_HOSTNAME = "shed-m50"
NEW_PASSWORD = "n3w_pass"
WRONG_PASSWORD = "wrong_1"
# TEST-NET-1 (RFC 5737): an address nothing in a test ever connects to.
STALE_HOST = "192.0.2.10"


@pytest.fixture
async def other_miner(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """Another Whatsminer (another MAC) with the same password."""
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname=OTHER_HOSTNAME, mac=OTHER_MAC
    ) as emulator:
        yield emulator


@pytest.fixture
async def moved_miner(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """The configured miner (same MAC) answering at another address."""
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname=MINER_HOSTNAME, mac=MINER_MAC
    ) as emulator:
        yield emulator


@pytest.fixture
def closed_port(socket_enabled: None) -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _suggested_values(result: FlowResult[Any, Any]) -> dict[str, Any]:
    """The values a form pre-fills, by field."""
    schema: probatio.Schema = result["data_schema"]
    return {
        str(key): key.description["suggested_value"]
        for key in schema.schema
        if key.description and "suggested_value" in key.description
    }


def _user_input(
    emulator: WhatsminerV2Emulator, password: str = MINER_PASSWORD
) -> dict[str, Any]:
    return {CONF_HOST: emulator.host, CONF_PORT: emulator.port, CONF_PASSWORD: password}


async def _whatsminer_form(hass: HomeAssistant) -> FlowResult[Any, Any]:
    """Open the flow and pick Whatsminer in the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_WHATSMINER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_WHATSMINER
    assert result["errors"] == {}
    return result


def _issue_id(entry: MockConfigEntry) -> str:
    return f"write_api_disabled_{entry.entry_id}"


# --- user: menu and the Whatsminer form ----------------------------------------


async def test_user_menu(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["whatsminer", "dragonmint", "spiderpool"]


@pytest.mark.parametrize("kind", ["spiderpool"])
async def test_not_yet_supported(hass: HomeAssistant, kind: str) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"


async def test_whatsminer_form_defaults(hass: HomeAssistant) -> None:
    result = await _whatsminer_form(hass)
    assert _suggested_values(result) == {}
    # Port defaults to 4028; host and password are required.
    validated = result["data_schema"]({CONF_HOST: "10.0.0.5", CONF_PASSWORD: "x"})
    assert validated[CONF_PORT] == 4028
    with pytest.raises(probatio.Invalid):
        result["data_schema"]({CONF_HOST: "10.0.0.5"})


async def test_whatsminer_success(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == MINER_HOSTNAME
    assert result["data"] == {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: whatsminer.host,
        CONF_PORT: whatsminer.port,
        CONF_PASSWORD: MINER_PASSWORD,
    }
    entry = result["result"]
    assert entry.unique_id == MINER_UNIQUE_ID  # "C6:07:…" normalised
    assert entry.options == {}

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.info.mac == MINER_UNIQUE_ID
    # Validation read what setup reads, and proved the password.
    commands = whatsminer.commands()
    assert {"get_version", "get_miner_info", "status"} <= set(commands)
    assert any(command.startswith("summary") for command in commands)
    assert any(
        received.encrypted and received.cmd == "get_version"
        for received in whatsminer.received
    )


async def test_whatsminer_port_stored_as_int(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """A number field may arrive as a float; the entry stores an int."""
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**_user_input(whatsminer), CONF_PORT: float(whatsminer.port)},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert type(result["data"][CONF_PORT]) is int
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "mac", ["c6-07-20-00-1e-c2", "C607.2000.1EC2"], ids=["dashes", "dotted"]
)
async def test_whatsminer_unique_id_is_normalised_mac(
    hass: HomeAssistant, socket_enabled: None, mac: str
) -> None:
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname=MINER_HOSTNAME, mac=mac
    ) as emulator:
        result = await _whatsminer_form(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(emulator)
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == MINER_UNIQUE_ID
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_whatsminer_title_falls_back_to_host(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """A miner that reports no hostname is named after its model and MAC."""
    whatsminer.state.hostname = ""
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "M30S+VE40 001EC2"
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("offline", "cannot_connect"),
        ("nothing_listening", "cannot_connect"),
        ("garbage", "cannot_connect"),
        ("wrong_password", "invalid_auth"),
    ],
)
async def test_whatsminer_error_then_recovery(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    closed_port: int,
    fault: str,
    error: str,
) -> None:
    user_input = _user_input(whatsminer)
    if fault == "offline":
        await whatsminer.set_offline(True)
    elif fault == "nothing_listening":
        user_input[CONF_PORT] = closed_port
    elif fault == "garbage":
        whatsminer.faults.garbage = True
    else:
        user_input[CONF_PASSWORD] = WRONG_PASSWORD

    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_WHATSMINER
    assert result["errors"] == {"base": error}
    # What the user typed comes back, except the password.
    assert _suggested_values(result) == {
        CONF_HOST: user_input[CONF_HOST],
        CONF_PORT: user_input[CONF_PORT],
    }
    assert not hass.config_entries.async_entries(DOMAIN)

    await whatsminer.set_offline(False)
    whatsminer.faults.garbage = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == MINER_UNIQUE_ID
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_whatsminer_unknown_error(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    result = await _whatsminer_form(hass)
    with patch(
        "custom_components.miner_hub.config_flow._validate",
        side_effect=Exception("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _user_input(whatsminer)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_whatsminer_already_configured_updates_address(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator, closed_port: int
) -> None:
    """The miner got a new address: the existing entry follows it and loads."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=MINER_HOSTNAME,
        unique_id=MINER_UNIQUE_ID,
        data={**whatsminer_entry_data(whatsminer), CONF_PORT: closed_port},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == whatsminer_entry_data(whatsminer)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_whatsminer_already_configured_keeps_other_data(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """Only host and port are updated; another MAC is another miner."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=MINER_HOSTNAME,
        unique_id=MINER_UNIQUE_ID,
        data={
            **whatsminer_entry_data(whatsminer),
            CONF_HOST: STALE_HOST,
            CONF_PORT: 4028,
        },
    )
    entry.add_to_hass(hass)
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == whatsminer_entry_data(whatsminer)
    assert entry.state is ConfigEntryState.NOT_LOADED  # not set up by the flow


async def test_whatsminer_second_miner_is_added(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    other_miner: WhatsminerV2Emulator,
) -> None:
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(other_miner)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == OTHER_HOSTNAME
    assert result["result"].unique_id == OTHER_MAC.lower()
    await hass.async_block_till_done()
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


@pytest.mark.parametrize(
    "gates_encrypted_reads", [False, True], ids=["writes_refused", "all_encrypted"]
)
async def test_whatsminer_write_api_disabled(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    issue_registry: ir.IssueRegistry,
    gates_encrypted_reads: bool,
) -> None:
    """Reads work: the entry is created, and a repair issue explains the switch.

    Whether firmware with the switch off also refuses encrypted reads is not
    known; either way the miner is added.
    """
    whatsminer.state.write_api_enabled = False
    whatsminer.faults.switch_gates_encrypted_reads = gates_encrypted_reads
    result = await _whatsminer_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    issue = issue_registry.async_get_issue(DOMAIN, _issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "write_api_disabled"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "name": MINER_HOSTNAME,
        "host": whatsminer.host,
    }


# --- reauthentication ----------------------------------------------------------


async def test_reauth(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    entry = init_integration
    old_coordinator = entry.runtime_data
    whatsminer.state.password = NEW_PASSWORD  # changed in WhatsMinerTool

    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": MINER_HOSTNAME}
    assert result["errors"] == {}

    # The old password no longer works.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {
        **whatsminer_entry_data(whatsminer),
        CONF_PASSWORD: NEW_PASSWORD,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded


async def test_reauth_cannot_connect(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    result = await init_integration.start_reauth_flow(hass)
    await whatsminer.set_offline(True)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    await whatsminer.set_offline(False)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


async def test_reauth_other_miner_at_address(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    other_miner: WhatsminerV2Emulator,
) -> None:
    """The entry's address now belongs to another miner: nothing is changed."""
    data = {**whatsminer_entry_data(other_miner), CONF_PASSWORD: "old_pass"}
    entry = MockConfigEntry(
        domain=DOMAIN, title=MINER_HOSTNAME, unique_id=MINER_UNIQUE_ID, data=data
    )
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == data


# --- reconfiguration -----------------------------------------------------------


async def test_reconfigure_form(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": MINER_HOSTNAME}
    # The stored address is pre-filled; the stored password never is.
    assert _suggested_values(result) == {
        CONF_HOST: entry.data[CONF_HOST],
        CONF_PORT: entry.data[CONF_PORT],
    }
    # The password may be left out.
    validated = result["data_schema"]({CONF_HOST: "10.0.0.5", CONF_PORT: 4028})
    assert CONF_PASSWORD not in validated


@pytest.mark.parametrize(
    "password", [{}, {CONF_PASSWORD: ""}], ids=["omitted", "empty"]
)
async def test_reconfigure_new_port_keeps_password(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    moved_miner: WhatsminerV2Emulator,
    password: dict[str, str],
) -> None:
    entry = init_integration
    old_coordinator = entry.runtime_data
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_HOST: moved_miner.host, CONF_PORT: moved_miner.port, **password},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == whatsminer_entry_data(moved_miner)  # password kept
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert "status" in moved_miner.commands()  # and polls the new address


async def test_reconfigure_new_host(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """An entry stuck on an old host is pointed at the miner and set up."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=MINER_HOSTNAME,
        unique_id=MINER_UNIQUE_ID,
        data={**whatsminer_entry_data(whatsminer), CONF_HOST: STALE_HOST},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert _suggested_values(result)[CONF_HOST] == STALE_HOST
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: whatsminer.host, CONF_PORT: whatsminer.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == whatsminer_entry_data(whatsminer)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_new_password(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
) -> None:
    entry = init_integration
    whatsminer.state.password = NEW_PASSWORD
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer, NEW_PASSWORD)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_PASSWORD] == NEW_PASSWORD
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_other_miner(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
    other_miner: WhatsminerV2Emulator,
) -> None:
    entry = init_integration
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: other_miner.host, CONF_PORT: other_miner.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == whatsminer_entry_data(whatsminer)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("nothing_listening", "cannot_connect"), ("wrong_password", "invalid_auth")],
)
async def test_reconfigure_error_then_recovery(
    hass: HomeAssistant,
    *,
    init_integration: MockConfigEntry,
    whatsminer: WhatsminerV2Emulator,
    closed_port: int,
    fault: str,
    error: str,
) -> None:
    entry = init_integration
    user_input = _user_input(whatsminer)
    if fault == "nothing_listening":
        user_input[CONF_PORT] = closed_port
    else:
        user_input[CONF_PASSWORD] = WRONG_PASSWORD

    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": error}
    # The form keeps what the user typed (not the stored values), no password.
    assert _suggested_values(result) == {
        CONF_HOST: user_input[CONF_HOST],
        CONF_PORT: user_input[CONF_PORT],
    }
    assert entry.data == whatsminer_entry_data(whatsminer)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: whatsminer.host, CONF_PORT: whatsminer.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


# --- options -------------------------------------------------------------------


async def test_options_flow(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    entry = init_integration
    old_coordinator = entry.runtime_data
    assert old_coordinator.update_interval == timedelta(seconds=30)

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert _suggested_values(result) == {CONF_SCAN_INTERVAL: 30}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 60.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_SCAN_INTERVAL: 60}
    assert type(result["data"][CONF_SCAN_INTERVAL]) is int
    await hass.async_block_till_done()

    assert entry.options == {CONF_SCAN_INTERVAL: 60}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert entry.runtime_data.update_interval == timedelta(seconds=60)

    # Opened again, the form shows the stored value.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _suggested_values(result) == {CONF_SCAN_INTERVAL: 60}


@pytest.mark.parametrize("interval", [9, 301, 0, -30])
async def test_options_flow_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, interval: int
) -> None:
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_SCAN_INTERVAL: interval}
        )
    assert entry.options == {}


@pytest.mark.parametrize("interval", [10, 300])
async def test_options_flow_bounds(
    hass: HomeAssistant, init_integration: MockConfigEntry, interval: int
) -> None:
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: interval}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.update_interval == timedelta(seconds=interval)
