"""The config flow, over the network against the Whatsminer and DragonMint emulators."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
import socket
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
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
    KIND_DRAGONMINT,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.coordinator import create_miner
from custom_components.miner_hub.protocol.dragonmint.miner import DragonMintMiner
from custom_components.miner_hub.protocol.miner import Miner
from tests.conftest import (
    DRAGONMINT_MAC,
    DRAGONMINT_PASSWORD,
    DRAGONMINT_TITLE,
    DRAGONMINT_UNIQUE_ID,
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    dragonmint_entry_data,
    setup_integration,
    whatsminer_entry_data,
)
from tests.emulators import (
    INNO_ADMIN_PASSWORD,
    T1_GUEST_PASSWORD,
    DragonMintEmulator,
    WhatsminerV2Emulator,
)

OTHER_MAC = "C6:07:20:00:AB:CD"
OTHER_HOSTNAME = "shed-m50"
NEW_PASSWORD = "n3w_pass"
WRONG_PASSWORD = "wrong_1"
# TEST-NET-1 (RFC 5737): an address nothing in a test ever connects to.
STALE_HOST = "192.0.2.10"
OTHER_DRAGONMINT_MAC = "00:0A:35:AB:CD:EF"


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
async def moved_dragonmint(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    """The configured DragonMint (same MAC) answering on another port."""
    async with DragonMintEmulator(mac=DRAGONMINT_MAC, noise=False) as emulator:
        yield emulator


@pytest.fixture
async def other_dragonmint(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    """Another DragonMint (another MAC), factory account."""
    async with DragonMintEmulator(mac=OTHER_DRAGONMINT_MAC, noise=False) as emulator:
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


def _fields(result: FlowResult[Any, Any]) -> list[str]:
    """The form's fields, in order."""
    schema: probatio.Schema = result["data_schema"]
    return [str(key) for key in schema.schema]


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


def _dragonmint_input(
    emulator: DragonMintEmulator, password: str = DRAGONMINT_PASSWORD
) -> dict[str, Any]:
    return {
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.port,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: password,
    }


async def _dragonmint_form(hass: HomeAssistant) -> FlowResult[Any, Any]:
    """Open the flow and pick DragonMint in the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_DRAGONMINT}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_DRAGONMINT
    assert result["errors"] == {}
    return result


@contextmanager
def _short_dragonmint_timeout() -> Iterator[None]:
    """Validation gives up on a silent DragonMint after 0.2 s instead of 30 s."""

    def create(hass: HomeAssistant, data: dict[str, Any]) -> Miner:
        miner = create_miner(hass, data)
        assert isinstance(miner, DragonMintMiner)
        miner.client.request_timeout = 0.2
        return miner

    with patch(
        "custom_components.miner_hub.config_flow.create_miner", side_effect=create
    ):
        yield


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


# --- user: the DragonMint form -------------------------------------------------


async def test_dragonmint_form_defaults(hass: HomeAssistant) -> None:
    result = await _dragonmint_form(hass)
    assert _suggested_values(result) == {}
    # Port defaults to 80 and the account to admin; host and password are required.
    validated = result["data_schema"]({CONF_HOST: "10.0.0.5", CONF_PASSWORD: "x"})
    assert validated[CONF_PORT] == 80
    assert validated[CONF_USERNAME] == "admin"
    with pytest.raises(probatio.Invalid):
        result["data_schema"]({CONF_HOST: "10.0.0.5"})
    with pytest.raises(probatio.Invalid):
        result["data_schema"]({CONF_PASSWORD: "x"})


async def test_dragonmint_success(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DRAGONMINT_TITLE  # model and the end of the MAC
    assert result["data"] == dragonmint_entry_data(dragonmint)
    entry = result["result"]
    assert entry.unique_id == DRAGONMINT_UNIQUE_ID  # overview.version.ethaddr
    assert entry.options == {}

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.info.mac == DRAGONMINT_UNIQUE_ID
    assert entry.runtime_data.info.model == "DragonMint T1"
    # Validation read summary and overview, and proved the admin account on an
    # admin route; every request carried the account (HTTP Basic).
    assert {"summary", "overview", "getAutoTune"} <= set(dragonmint.actions())
    # Every API call as admin; only the public web page (its title) without.
    assert {(r.auth, r.user) for r in dragonmint.received if r.path != "/"} == {
        ("basic", "admin")
    }


async def test_dragonmint_port_stored_as_int(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    """A number field may arrive as a float; the entry stores an int."""
    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**_dragonmint_input(dragonmint), CONF_PORT: float(dragonmint.port)},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert type(result["data"][CONF_PORT]) is int
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "ethaddr",
    ["00:0A:35:12:34:56", "00-0a-35-12-34-56"],
    ids=["upper_case", "dashes"],
)
async def test_dragonmint_unique_id_is_normalised_mac(
    hass: HomeAssistant, dragonmint: DragonMintEmulator, ethaddr: str
) -> None:
    dragonmint.state.ethaddr = ethaddr
    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == DRAGONMINT_UNIQUE_ID
    assert result["title"] == DRAGONMINT_TITLE
    await hass.async_block_till_done()


async def test_dragonmint_added_while_cgminer_restarts(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    """Summary says "not ready" for a while after a pool change: still added."""
    dragonmint.state.cgminer = "restarting"
    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DRAGONMINT_TITLE
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("offline", "cannot_connect"),
        ("nothing_listening", "cannot_connect"),
        ("http_502", "cannot_connect"),
        ("http_500", "cannot_connect"),
        ("stall", "cannot_connect"),
        ("wrong_password", "invalid_auth"),
        ("guest_account", "invalid_auth"),
    ],
)
async def test_dragonmint_error_then_recovery(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    closed_port: int,
    fault: str,
    error: str,
) -> None:
    user_input = _dragonmint_input(dragonmint)
    if fault == "offline":
        dragonmint.faults.offline = True
    elif fault == "nothing_listening":
        user_input[CONF_PORT] = closed_port
    elif fault.startswith("http_"):
        # The PHP worker is down: nginx answers with an HTML error page.
        dragonmint.faults.http_500 = True
        dragonmint.faults.http_500_status = int(fault.removeprefix("http_"))
    elif fault == "stall":
        dragonmint.faults.stall = True
    elif fault == "wrong_password":
        user_input[CONF_PASSWORD] = WRONG_PASSWORD
    else:
        # The guest account reads, but the admin route getAutoTune refuses it.
        user_input[CONF_USERNAME] = "guest"
        user_input[CONF_PASSWORD] = T1_GUEST_PASSWORD

    result = await _dragonmint_form(hass)
    with _short_dragonmint_timeout():
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_DRAGONMINT
    assert result["errors"] == {"base": error}
    # What the user typed comes back, except the password.
    assert _suggested_values(result) == {
        CONF_HOST: user_input[CONF_HOST],
        CONF_PORT: user_input[CONF_PORT],
        CONF_USERNAME: user_input[CONF_USERNAME],
    }
    assert not hass.config_entries.async_entries(DOMAIN)
    if fault == "guest_account":
        assert ("getAutoTune", "guest") in [
            (received.action, received.user) for received in dragonmint.received
        ]

    dragonmint.faults.offline = False
    dragonmint.faults.http_500 = False
    dragonmint.faults.stall = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == dragonmint_entry_data(dragonmint)
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_dragonmint_unknown_error(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    result = await _dragonmint_form(hass)
    with patch(
        "custom_components.miner_hub.config_flow._validate",
        side_effect=Exception("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _dragonmint_input(dragonmint)
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_DRAGONMINT
    assert result["errors"] == {"base": "unknown"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_dragonmint_already_configured_updates_address(
    hass: HomeAssistant, dragonmint: DragonMintEmulator, closed_port: int
) -> None:
    """The miner got a new port: the existing entry follows it and loads."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=DRAGONMINT_TITLE,
        unique_id=DRAGONMINT_UNIQUE_ID,
        data={
            **dragonmint_entry_data(dragonmint),
            CONF_HOST: "localhost",
            CONF_PORT: closed_port,
        },
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == dragonmint_entry_data(dragonmint)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


@pytest.mark.parametrize(
    ("miner_type", "title", "manufacturer", "model"),
    [
        ("T2", "T2 ABCDEF", "Innosilicon", "T2"),
        ("T1", "T1 ABCDEF", "Innosilicon", "T1"),
    ],
)
async def test_innosilicon(
    hass: HomeAssistant,
    socket_enabled: None,
    *,
    miner_type: str,
    title: str,
    manufacturer: str,
    model: str,
) -> None:
    """Innosilicon firmware: factory account admin/admin, the object autotune mode.

    The model is the type the miner reports (overview); the web UI's title
    ("AsicMiner") tells an Innosilicon T1 from a DragonMint one.
    """
    async with DragonMintEmulator(
        innosilicon=True, mac=OTHER_DRAGONMINT_MAC, noise=False
    ) as emulator:
        emulator.state.miner_type = miner_type
        result = await _dragonmint_form(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _dragonmint_input(emulator, INNO_ADMIN_PASSWORD)
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["title"] == title
        assert result["data"] == {
            CONF_KIND: KIND_DRAGONMINT,
            CONF_HOST: emulator.host,
            CONF_PORT: emulator.port,
            CONF_USERNAME: "admin",
            CONF_PASSWORD: INNO_ADMIN_PASSWORD,
        }
        entry = result["result"]
        assert entry.unique_id == OTHER_DRAGONMINT_MAC.lower()
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        info = entry.runtime_data.info
        assert (info.manufacturer, info.model) == (manufacturer, model)
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_dragonmint_next_to_whatsminer(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    dragonmint: DragonMintEmulator,
) -> None:
    """Both kinds of miner live side by side."""
    result = await _dragonmint_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entries = hass.config_entries.async_entries(DOMAIN)
    assert {entry.data[CONF_KIND] for entry in entries} == {
        KIND_WHATSMINER,
        KIND_DRAGONMINT,
    }
    assert all(entry.state is ConfigEntryState.LOADED for entry in entries)


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


async def test_reauth_dragonmint(
    hass: HomeAssistant,
    dragonmint_entry: MockConfigEntry,
    dragonmint: DragonMintEmulator,
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    old_coordinator = entry.runtime_data
    dragonmint.state.users["admin"] = NEW_PASSWORD  # changed in the web interface

    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {"name": DRAGONMINT_TITLE}
    assert result["errors"] == {}
    assert _suggested_values(result) == {}

    # The old password no longer works.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: DRAGONMINT_PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {
        **dragonmint_entry_data(dragonmint),
        CONF_PASSWORD: NEW_PASSWORD,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    # The reloaded entry reads with the stored account and the new password.
    assert dragonmint.received[-1].user == "admin"


async def test_reauth_dragonmint_cannot_connect(
    hass: HomeAssistant,
    dragonmint_entry: MockConfigEntry,
    dragonmint: DragonMintEmulator,
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    result = await entry.start_reauth_flow(hass)
    dragonmint.faults.offline = True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: DRAGONMINT_PASSWORD}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    dragonmint.faults.offline = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSWORD: DRAGONMINT_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


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
    # A Whatsminer has no account name, only the admin password.
    assert _fields(result) == [CONF_HOST, CONF_PORT, CONF_PASSWORD]
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


async def test_reconfigure_dragonmint_form(
    hass: HomeAssistant, dragonmint_entry: MockConfigEntry
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": DRAGONMINT_TITLE}
    # Address and account are pre-filled; the stored password never is.
    assert _suggested_values(result) == {
        CONF_HOST: entry.data[CONF_HOST],
        CONF_PORT: entry.data[CONF_PORT],
        CONF_USERNAME: "admin",
    }
    # The account comes before its password, as when the miner was added.
    assert _fields(result) == [CONF_HOST, CONF_PORT, CONF_USERNAME, CONF_PASSWORD]
    # The password may be left out.
    validated = result["data_schema"](
        {CONF_HOST: "10.0.0.5", CONF_PORT: 80, CONF_USERNAME: "admin"}
    )
    assert CONF_PASSWORD not in validated


@pytest.mark.parametrize(
    "password", [{}, {CONF_PASSWORD: ""}], ids=["omitted", "empty"]
)
async def test_reconfigure_dragonmint_new_port_keeps_password(
    hass: HomeAssistant,
    dragonmint_entry: MockConfigEntry,
    moved_dragonmint: DragonMintEmulator,
    password: dict[str, str],
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    old_coordinator = entry.runtime_data
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOST: moved_dragonmint.host,
            CONF_PORT: moved_dragonmint.port,
            CONF_USERNAME: "admin",
            **password,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == dragonmint_entry_data(moved_dragonmint)  # password kept
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    # The reloaded entry polls the new port, with the stored password.
    assert "summary" in moved_dragonmint.actions()
    assert {r.user for r in moved_dragonmint.received if r.path != "/"} == {"admin"}


async def test_reconfigure_dragonmint_new_password(
    hass: HomeAssistant,
    dragonmint_entry: MockConfigEntry,
    dragonmint: DragonMintEmulator,
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    dragonmint.state.users["admin"] = NEW_PASSWORD
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint, NEW_PASSWORD)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        **dragonmint_entry_data(dragonmint),
        CONF_PASSWORD: NEW_PASSWORD,
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_dragonmint_other_miner(
    hass: HomeAssistant,
    dragonmint_entry: MockConfigEntry,
    dragonmint: DragonMintEmulator,
    other_dragonmint: DragonMintEmulator,
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOST: other_dragonmint.host,
            CONF_PORT: other_dragonmint.port,
            CONF_USERNAME: "admin",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == dragonmint_entry_data(dragonmint)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("nothing_listening", "cannot_connect"),
        ("wrong_password", "invalid_auth"),
        ("guest_account", "invalid_auth"),
    ],
)
async def test_reconfigure_dragonmint_error_then_recovery(
    hass: HomeAssistant,
    *,
    dragonmint_entry: MockConfigEntry,
    dragonmint: DragonMintEmulator,
    closed_port: int,
    fault: str,
    error: str,
) -> None:
    entry = await setup_integration(hass, dragonmint_entry)
    user_input = _dragonmint_input(dragonmint)
    if fault == "nothing_listening":
        user_input[CONF_PORT] = closed_port
    elif fault == "wrong_password":
        user_input[CONF_PASSWORD] = WRONG_PASSWORD
    else:
        user_input[CONF_USERNAME] = "guest"
        user_input[CONF_PASSWORD] = T1_GUEST_PASSWORD

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
        CONF_USERNAME: user_input[CONF_USERNAME],
    }
    assert entry.data == dragonmint_entry_data(dragonmint)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_HOST: dragonmint.host,
            CONF_PORT: dragonmint.port,
            CONF_USERNAME: "admin",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == dragonmint_entry_data(dragonmint)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


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
