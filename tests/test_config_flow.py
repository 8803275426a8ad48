"""The config flow, over the network against the Whatsminer, DragonMint and Spiderpool emulators."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
import json
from pathlib import Path
import socket
import textwrap
from typing import Any, Final
from unittest.mock import patch

from Crypto.PublicKey import RSA
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import (
    FlowResult,
    FlowResultType,
    InvalidData,
    section,
)
from homeassistant.helpers import issue_registry as ir
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import (
    CONF_ACCESS_KEY,
    CONF_API,
    CONF_API_URL,
    CONF_BITCOIN_PRICE,
    CONF_COIN,
    CONF_ELECTRICITY_PRICE,
    CONF_KIND,
    CONF_MAX_DISRUPTIVE_CHANGES,
    CONF_MIN_DISRUPTIVE_INTERVAL,
    CONF_MIN_POWER_PERCENT_INTERVAL,
    CONF_POWER_FLOOR,
    CONF_PRIVATE_KEY,
    CONF_SCAN_INTERVAL,
    CONF_SUBACCOUNT,
    CONF_TEMPERATURE_SENSOR,
    CONF_V3_PORT,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.forms import OPTION_DEFAULTS, SECTION_ADVANCED
from custom_components.miner_hub.governor import GovernorRules
from custom_components.miner_hub.helpers import create_miner, create_pool_client
from custom_components.miner_hub.protocol.dragonmint.adapter import DragonMintMiner
from custom_components.miner_hub.protocol.miner import Miner
from custom_components.miner_hub.protocol.spiderpool.client import SpiderpoolClient
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import (
    WhatsminerV3Miner,
)
from tests.conftest import (
    DRAGONMINT_MAC,
    DRAGONMINT_PASSWORD,
    DRAGONMINT_TITLE,
    DRAGONMINT_UNIQUE_ID,
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    POOL_COIN,
    POOL_SUBACCOUNT,
    POOL_TITLE,
    POOL_UNIQUE_ID,
    dragonmint_config_entry,
    dragonmint_entry_data,
    setup_integration,
    spiderpool_entry_data,
    whatsminer_config_entry,
    whatsminer_entry_data,
    whatsminer_v3_entry_data,
    write_api_issue_id,
)
from tests.emulators import (
    INNO_ADMIN_PASSWORD,
    T1_GUEST_PASSWORD,
    VENDOR_DEMO_PRIVATE_KEY_B64,
    VENDOR_DEMO_PUBLIC_KEY_PEM,
    DragonMintEmulator,
    SpiderpoolAccount,
    SpiderpoolEmulator,
    SpiderpoolFaults,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)

OTHER_MAC = "C6:07:20:00:AB:CD"
OTHER_HOSTNAME = "shed-m50"
NEW_PASSWORD = "n3w_pass"
WRONG_PASSWORD = "wrong_1"
# TEST-NET-1 (RFC 5737): an address nothing in a test ever connects to.
STALE_HOST = "192.0.2.10"
OTHER_DRAGONMINT_MAC = "00:0A:35:AB:CD:EF"
TRANSLATIONS = (
    Path(__file__).resolve().parents[1] / "custom_components/miner_hub/translations"
)


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


MINER_OPTIONS: Final = [
    CONF_SCAN_INTERVAL,
    CONF_MIN_DISRUPTIVE_INTERVAL,
    CONF_MAX_DISRUPTIVE_CHANGES,
    CONF_MIN_POWER_PERCENT_INTERVAL,
]
HEATER_OPTIONS: Final = [CONF_TEMPERATURE_SENSOR, CONF_POWER_FLOOR]


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


async def _user_form(hass: HomeAssistant, kind: str) -> ConfigFlowResult:
    """Open the flow and pick ``kind`` (a KIND_* constant) in the menu."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == kind
    assert result["errors"] == {}
    return result


async def _submit_form(
    hass: HomeAssistant, kind: str, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Pick ``kind`` in the menu and submit its form with ``user_input``."""
    result = await _user_form(hass, kind)
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def _submit_form_validation_fails(
    hass: HomeAssistant,
    kind: str,
    user_input: dict[str, Any],
    validate: str = "_validate",
) -> ConfigFlowResult:
    """Submit ``kind``'s form while validation (``validate``) raises: "unknown"."""
    result = await _user_form(hass, kind)
    with patch(
        f"custom_components.miner_hub.config_flow.{validate}",
        side_effect=Exception("boom"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == kind
    assert result["errors"] == {"base": "unknown"}
    return result


async def _reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Start reconfiguring ``entry`` and submit ``user_input``."""
    result = await entry.start_reconfigure_flow(hass)
    return await hass.config_entries.flow.async_configure(result["flow_id"], user_input)


async def _assert_entry_follows_the_miner(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    kind: str,
    user_input: dict[str, Any],
    data: dict[str, Any],
) -> None:
    """The miner is added again at a new address: ``entry`` follows it and loads.

    ``entry`` is stuck on the old address (its setup retries); the flow aborts and
    the entry takes ``data``.
    """
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY

    result = await _submit_form(hass, kind, user_input)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == data
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


def _dragonmint_input(
    emulator: DragonMintEmulator, password: str = DRAGONMINT_PASSWORD
) -> dict[str, Any]:
    return {
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.port,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: password,
    }


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


# --- user: menu and the Whatsminer form ----------------------------------------


async def test_user_menu(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    # A search of the network first (tests/test_search.py), then the manual steps.
    assert result["menu_options"] == [
        "search",
        "whatsminer",
        "dragonmint",
        "spiderpool",
    ]


async def test_whatsminer_form_defaults(hass: HomeAssistant) -> None:
    result = await _user_form(hass, KIND_WHATSMINER)
    assert _suggested_values(result) == {}
    # Port defaults to 4028; host and password are required.
    validated = result["data_schema"]({CONF_HOST: "10.0.0.5", CONF_PASSWORD: "x"})
    assert validated[CONF_PORT] == 4028
    with pytest.raises(probatio.Invalid):
        result["data_schema"]({CONF_HOST: "10.0.0.5"})


async def test_whatsminer_success(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(whatsminer))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == MINER_HOSTNAME
    assert result["data"] == {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: whatsminer.host,
        CONF_PORT: whatsminer.port,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v2",  # nothing answers API v3
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


@pytest.mark.parametrize(
    "host", ["http://{host}/", "{host}:4028", "{host} garage", "", "-bad-.lan"]
)
@pytest.mark.parametrize("kind", [KIND_WHATSMINER, KIND_DRAGONMINT])
async def test_address_must_be_a_host(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    dragonmint: DragonMintEmulator,
    kind: str,
    host: str,
) -> None:
    """Only an IP address or host name: the form says so and nothing is sent."""
    emulator = whatsminer if kind == KIND_WHATSMINER else dragonmint
    user_input = (
        _user_input(whatsminer)
        if kind == KIND_WHATSMINER
        else _dragonmint_input(dragonmint)
    )
    before = (len(whatsminer.received), len(dragonmint.received))
    result = await _user_form(hass, kind)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_HOST: host.format(host=emulator.host)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert (len(whatsminer.received), len(dragonmint.received)) == before

    # Blanks around a good address are dropped.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**user_input, CONF_HOST: f"  {emulator.host} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_HOST] == emulator.host


async def test_whatsminer_too_many_logins(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """Code 136 (every token slot taken, e.g. by many wrong passwords): said so."""
    whatsminer.faults.tokens_per_ip = 0
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(whatsminer))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "too_many_logins"}

    # Trying again at once asks the miner for no token: the client backs off.
    whatsminer.faults.tokens_per_ip = 32
    asked = whatsminer.commands().count("get_token")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["errors"] == {"base": "too_many_logins"}
    assert whatsminer.commands().count("get_token") == asked


async def test_reconfigure_address_must_be_a_host(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    result = await _reconfigure(
        hass, init_integration, {CONF_HOST: "http://192.168.1.50", CONF_PORT: 4028}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_HOST: "invalid_host"}
    assert init_integration.data[CONF_HOST] != "http://192.168.1.50"


async def test_whatsminer_port_stored_as_int(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """A number field may arrive as a float; the entry stores an int."""
    result = await _submit_form(
        hass,
        KIND_WHATSMINER,
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
        result = await _submit_form(hass, KIND_WHATSMINER, _user_input(emulator))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["result"].unique_id == MINER_UNIQUE_ID
        await hass.async_block_till_done()
        assert await hass.config_entries.async_unload(result["result"].entry_id)


async def test_whatsminer_title_falls_back_to_host(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """A miner that reports no hostname is named after its model and MAC."""
    whatsminer.state.hostname = ""
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(whatsminer))
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

    result = await _submit_form(hass, KIND_WHATSMINER, user_input)
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
    result = await _submit_form_validation_fails(
        hass, KIND_WHATSMINER, _user_input(whatsminer)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _user_input(whatsminer)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_whatsminer_already_configured_updates_address(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator, closed_port: int
) -> None:
    """The miner got a new address: the existing entry follows it and loads."""
    await _assert_entry_follows_the_miner(
        hass,
        whatsminer_config_entry(
            {**whatsminer_entry_data(whatsminer), CONF_PORT: closed_port}
        ),
        KIND_WHATSMINER,
        _user_input(whatsminer),
        whatsminer_entry_data(whatsminer),
    )


async def test_whatsminer_already_configured_keeps_other_data(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """Only host and port are updated; another MAC is another miner."""
    entry = whatsminer_config_entry(
        {**whatsminer_entry_data(whatsminer), CONF_HOST: STALE_HOST, CONF_PORT: 4028}
    )
    entry.add_to_hass(hass)
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(whatsminer))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data == whatsminer_entry_data(whatsminer)
    assert entry.state is ConfigEntryState.NOT_LOADED  # not set up by the flow


async def test_whatsminer_second_miner_is_added(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    other_miner: WhatsminerV2Emulator,
) -> None:
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(other_miner))
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
    result = await _submit_form(hass, KIND_WHATSMINER, _user_input(whatsminer))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    issue = issue_registry.async_get_issue(DOMAIN, write_api_issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "write_api_disabled"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "name": MINER_HOSTNAME,
        "host": whatsminer.host,
    }


# --- user: a Whatsminer on API v3 firmware --------------------------------------


@pytest.fixture
def v3_miner(whatsminer_v3: WhatsminerV3Emulator) -> Iterator[WhatsminerV3Emulator]:
    """The v3 emulator, where API detection looks (port 4433 on a real miner)."""
    with patch(
        "custom_components.miner_hub.protocol.whatsminer.detect.V3_PORT",
        whatsminer_v3.port,
    ):
        yield whatsminer_v3


def _v3_user_input(
    emulator: WhatsminerV3Emulator, password: str = MINER_PASSWORD
) -> dict[str, Any]:
    """The form as the user fills it: the v2 port, as for any Whatsminer."""
    return {
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.v2.port,
        CONF_PASSWORD: password,
    }


def _v3_writes(emulator: WhatsminerV3Emulator) -> list[tuple[str, bool]]:
    """The v3 writes the miner received, with whether their token was right."""
    return [
        (command.cmd, command.token_ok)
        for command in emulator.received
        if command.cmd.startswith("set.")
    ]


async def test_whatsminer_v3_success(
    hass: HomeAssistant, v3_miner: WhatsminerV3Emulator
) -> None:
    """The same form sets up a v3 miner: the API is detected and stored."""
    result = await _submit_form(hass, KIND_WHATSMINER, _v3_user_input(v3_miner))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == MINER_HOSTNAME
    assert result["data"] == {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: v3_miner.host,
        CONF_PORT: v3_miner.v2.port,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v3",
    }
    entry = result["result"]
    assert entry.unique_id == MINER_UNIQUE_ID
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)
    # API v3 has no authenticated read: a harmless write proved the password.
    assert ("set.system.led", True) in _v3_writes(v3_miner)
    assert v3_miner.state.led == "auto"


async def test_whatsminer_advanced_v3_port(
    hass: HomeAssistant, whatsminer_v3: WhatsminerV3Emulator
) -> None:
    """The advanced section's API v3 port is where detection looks for v3."""
    result = await _user_form(hass, KIND_WHATSMINER)
    assert _fields(result) == [CONF_HOST, CONF_PORT, CONF_PASSWORD, SECTION_ADVANCED]
    advanced = result["data_schema"].schema[SECTION_ADVANCED]
    assert advanced.options == {"collapsed": True}
    assert advanced({}) == {CONF_V3_PORT: 4433}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            **_v3_user_input(whatsminer_v3),
            SECTION_ADVANCED: {CONF_V3_PORT: whatsminer_v3.port},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == "v3"
    assert result["data"][CONF_V3_PORT] == whatsminer_v3.port
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)


@pytest.mark.parametrize(
    ("fault", "error"),
    [("offline", "cannot_connect"), ("wrong_password", "invalid_auth")],
)
async def test_whatsminer_v3_error_then_recovery(
    hass: HomeAssistant, v3_miner: WhatsminerV3Emulator, fault: str, error: str
) -> None:
    user_input = _v3_user_input(v3_miner)
    if fault == "offline":
        await v3_miner.set_offline(True)  # both APIs
    else:
        user_input[CONF_PASSWORD] = WRONG_PASSWORD

    result = await _submit_form(hass, KIND_WHATSMINER, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert not hass.config_entries.async_entries(DOMAIN)
    if fault == "wrong_password":
        # Refused once, then once more with a fresh salt (it may have rotated).
        assert _v3_writes(v3_miner) == [("set.system.led", False)] * 2

    await v3_miner.set_offline(False)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _v3_user_input(v3_miner)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == "v3"
    await hass.async_block_till_done()


async def test_whatsminer_v3_write_api_disabled(
    hass: HomeAssistant,
    v3_miner: WhatsminerV3Emulator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The switch is off (``apiswitch`` 0): reads work, a repair issue explains."""
    v3_miner.state.write_api_enabled = False
    result = await _submit_form(hass, KIND_WHATSMINER, _v3_user_input(v3_miner))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _v3_writes(v3_miner) == []  # no write is tried with the switch off
    issue = issue_registry.async_get_issue(DOMAIN, write_api_issue_id(entry))
    assert issue is not None
    assert issue.translation_key == "write_api_disabled"


async def test_whatsminer_v3_hanging_api_falls_back_to_v2(
    hass: HomeAssistant, v3_miner: WhatsminerV3Emulator
) -> None:
    """Port 4433 accepts but never answers: detection gives up soon, uses v2."""
    v3_miner.faults.stall = True
    result = await _user_form(hass, KIND_WHATSMINER)
    with patch(
        "custom_components.miner_hub.protocol.whatsminer.detect.PROBE_TIMEOUT", 0.2
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _v3_user_input(v3_miner)
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_API] == "v2"
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_reauth_v3(hass: HomeAssistant, v3_miner: WhatsminerV3Emulator) -> None:
    entry = await setup_integration(
        hass, whatsminer_config_entry(whatsminer_v3_entry_data(v3_miner))
    )
    v3_miner.state.password = NEW_PASSWORD
    result = await entry.start_reauth_flow(hass)
    await _assert_reauth_with_new_password(
        hass,
        entry,
        result["flow_id"],
        MINER_PASSWORD,
        whatsminer_v3_entry_data(v3_miner),
    )


async def test_reconfigure_detects_v3(
    hass: HomeAssistant, v3_miner: WhatsminerV3Emulator
) -> None:
    """Reconfiguring a miner stored as v2 finds its new API."""
    entry = whatsminer_config_entry(
        {**whatsminer_v3_entry_data(v3_miner), CONF_HOST: STALE_HOST, CONF_API: "v2"}
    )
    entry.add_to_hass(hass)
    result = await _reconfigure(
        hass, entry, {CONF_HOST: v3_miner.host, CONF_PORT: v3_miner.v2.port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_HOST] == v3_miner.host
    assert entry.data[CONF_API] == "v3"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


# --- user: the DragonMint form -------------------------------------------------


async def test_dragonmint_form_defaults(hass: HomeAssistant) -> None:
    result = await _user_form(hass, KIND_DRAGONMINT)
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
    result = await _submit_form(hass, KIND_DRAGONMINT, _dragonmint_input(dragonmint))
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
    result = await _submit_form(
        hass,
        KIND_DRAGONMINT,
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
    result = await _submit_form(hass, KIND_DRAGONMINT, _dragonmint_input(dragonmint))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == DRAGONMINT_UNIQUE_ID
    assert result["title"] == DRAGONMINT_TITLE
    await hass.async_block_till_done()


async def test_dragonmint_added_while_cgminer_restarts(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    """Summary says "not ready" for a while after a pool change: still added."""
    dragonmint.state.cgminer = "restarting"
    result = await _submit_form(hass, KIND_DRAGONMINT, _dragonmint_input(dragonmint))
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
        ("wrong_password", "invalid_auth_dragonmint"),
        ("guest_account", "invalid_auth_dragonmint"),
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

    result = await _user_form(hass, KIND_DRAGONMINT)
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
    result = await _submit_form_validation_fails(
        hass, KIND_DRAGONMINT, _dragonmint_input(dragonmint)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _dragonmint_input(dragonmint)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_dragonmint_already_configured_updates_address(
    hass: HomeAssistant, dragonmint: DragonMintEmulator, closed_port: int
) -> None:
    """The miner got a new port: the existing entry follows it and loads."""
    await _assert_entry_follows_the_miner(
        hass,
        dragonmint_config_entry(
            {
                **dragonmint_entry_data(dragonmint),
                CONF_HOST: "localhost",
                CONF_PORT: closed_port,
            }
        ),
        KIND_DRAGONMINT,
        _dragonmint_input(dragonmint),
        dragonmint_entry_data(dragonmint),
    )


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
        result = await _submit_form(
            hass, KIND_DRAGONMINT, _dragonmint_input(emulator, INNO_ADMIN_PASSWORD)
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
    result = await _submit_form(hass, KIND_DRAGONMINT, _dragonmint_input(dragonmint))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    entries = hass.config_entries.async_entries(DOMAIN)
    assert {entry.data[CONF_KIND] for entry in entries} == {
        KIND_WHATSMINER,
        KIND_DRAGONMINT,
    }
    assert all(entry.state is ConfigEntryState.LOADED for entry in entries)


# --- reauthentication ----------------------------------------------------------


async def _assert_reauth_with_new_password(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    flow_id: str,
    old_password: str,
    data: dict[str, Any],
    *,
    invalid_auth: str = "invalid_auth",
) -> None:
    """The old password no longer works; NEW_PASSWORD is stored and the entry loads.

    ``data``: the entry's data before, with the old password; ``invalid_auth``:
    the kind's error for a wrong password.
    """
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PASSWORD: old_password}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": invalid_auth}

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_PASSWORD: NEW_PASSWORD}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {**data, CONF_PASSWORD: NEW_PASSWORD}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


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

    await _assert_reauth_with_new_password(
        hass,
        entry,
        result["flow_id"],
        MINER_PASSWORD,
        whatsminer_entry_data(whatsminer),
    )
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
    entry = whatsminer_config_entry(data)
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

    await _assert_reauth_with_new_password(
        hass,
        entry,
        result["flow_id"],
        DRAGONMINT_PASSWORD,
        dragonmint_entry_data(dragonmint),
        invalid_auth="invalid_auth_dragonmint",
    )
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
    result = await _reconfigure(
        hass,
        entry,
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
    entry = whatsminer_config_entry(
        {**whatsminer_entry_data(whatsminer), CONF_HOST: STALE_HOST}
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
    result = await _reconfigure(hass, entry, _user_input(whatsminer, NEW_PASSWORD))
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
    result = await _reconfigure(
        hass, entry, {CONF_HOST: other_miner.host, CONF_PORT: other_miner.port}
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

    result = await _reconfigure(hass, entry, user_input)
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
    result = await _reconfigure(
        hass,
        entry,
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
    result = await _reconfigure(
        hass, entry, _dragonmint_input(dragonmint, NEW_PASSWORD)
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
    result = await _reconfigure(
        hass,
        entry,
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
        ("wrong_password", "invalid_auth_dragonmint"),
        ("guest_account", "invalid_auth_dragonmint"),
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

    result = await _reconfigure(hass, entry, user_input)
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
    assert result["description_placeholders"] == {"name": entry.title}
    assert _fields(result) == [*MINER_OPTIONS, *HEATER_OPTIONS]
    assert _suggested_values(result) == {**OPTION_DEFAULTS, CONF_SCAN_INTERVAL: 30}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SCAN_INTERVAL: 60.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**OPTION_DEFAULTS, CONF_SCAN_INTERVAL: 60}
    assert type(result["data"][CONF_SCAN_INTERVAL]) is int
    await hass.async_block_till_done()

    assert entry.options == {**OPTION_DEFAULTS, CONF_SCAN_INTERVAL: 60}
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert entry.runtime_data.update_interval == timedelta(seconds=60)

    # Opened again, the form shows the stored value.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _suggested_values(result)[CONF_SCAN_INTERVAL] == 60


async def test_options_flow_governor_rules(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The governor's rules apply once the entry has reloaded."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_MIN_DISRUPTIVE_INTERVAL: 30,
            CONF_MAX_DISRUPTIVE_CHANGES: 4,
            CONF_MIN_POWER_PERCENT_INTERVAL: 5,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.runtime_data.governor.rules == GovernorRules(
        min_disruptive_interval=timedelta(minutes=30),
        max_disruptive_per_day=4,
        min_power_percent_interval=timedelta(minutes=5),
    )


async def test_options_flow_room_sensor(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A room sensor and a floor: kept as given (the heater appears)."""
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_TEMPERATURE_SENSOR: "sensor.garage_temperature", CONF_POWER_FLOOR: 40},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_TEMPERATURE_SENSOR] == "sensor.garage_temperature"
    assert result["data"][CONF_POWER_FLOOR] == 40


async def test_options_flow_dragonmint(
    hass: HomeAssistant, dragonmint_entry: MockConfigEntry
) -> None:
    """No power control on a DragonMint: no heater fields."""
    await setup_integration(hass, dragonmint_entry)
    result = await hass.config_entries.options.async_init(dragonmint_entry.entry_id)
    assert _fields(result) == MINER_OPTIONS
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {key: OPTION_DEFAULTS[key] for key in MINER_OPTIONS}


@pytest.mark.parametrize(
    "user_input",
    [
        {CONF_SCAN_INTERVAL: 9},
        {CONF_SCAN_INTERVAL: 301},
        {CONF_SCAN_INTERVAL: 0},
        {CONF_SCAN_INTERVAL: -30},
        {CONF_MIN_DISRUPTIVE_INTERVAL: 0},
        {CONF_MIN_DISRUPTIVE_INTERVAL: 241},
        {CONF_MAX_DISRUPTIVE_CHANGES: 0},
        {CONF_MAX_DISRUPTIVE_CHANGES: 145},
        {CONF_MIN_POWER_PERCENT_INTERVAL: 0},
        {CONF_MIN_POWER_PERCENT_INTERVAL: 61},
        {CONF_POWER_FLOOR: 9},
        {CONF_POWER_FLOOR: 91},
        {CONF_TEMPERATURE_SENSOR: "light.kitchen"},
    ],
)
async def test_options_flow_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, user_input: dict[str, Any]
) -> None:
    entry = init_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    with pytest.raises(InvalidData) as raised:
        await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert entry.options == {}
    # A number out of range: the frontend shows options.error.out_of_range.
    (field,) = user_input
    if field != CONF_TEMPERATURE_SENSOR:
        assert raised.value.schema_errors == {field: "out_of_range"}


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


# --- Spiderpool ----------------------------------------------------------------
#
# The forms never carry ``api_url``: a real account talks to
# https://api.spiderpool.com, the client's default when the entry has no
# ``api_url``. ``pool_api`` points that default (the name ``create_pool_client``
# reads) at the emulator, so the user step runs exactly as in production and the
# entry it creates has no ``api_url``. Entries made by the ``spiderpool_entry``
# fixture carry the emulator's address as ``api_url``, as ``scripts/develop``
# would: reauthentication and reconfiguration must keep it.

PROFIT_INFO_PATH = "/v2/subaccount/getSubaccountProfitInfo"
OTHER_SUBACCOUNT = "shedminer1"
UNKNOWN_ACCESS_KEY = "0123456789ABCDEF0123456789ABCDEF"


@pytest.fixture
def spiderpool(spiderpool: SpiderpoolEmulator, pool_clock: None) -> SpiderpoolEmulator:
    """The emulated pool; each request is signed a millisecond after the last.

    A flow's validation and the setup that follows send requests with the same
    ``dataJson`` back to back: on the same millisecond they would carry the same
    signature, which the emulator rejects as a replay.
    """
    return spiderpool


@pytest.fixture
def pool_api(spiderpool: SpiderpoolEmulator) -> Iterator[SpiderpoolEmulator]:
    """The emulator answers at the pool's default address."""
    with patch("custom_components.miner_hub.helpers.DEFAULT_BASE_URL", spiderpool.url):
        yield spiderpool


def _pool_input(emulator: SpiderpoolEmulator, **changes: str) -> dict[str, Any]:
    """What a user types for the emulated account (``changes`` by field)."""
    return {
        CONF_ACCESS_KEY: emulator.access_key,
        CONF_PRIVATE_KEY: emulator.private_key_b64,
        CONF_COIN: POOL_COIN,
        CONF_SUBACCOUNT: POOL_SUBACCOUNT,
        **changes,
    }


def _pool_data(emulator: SpiderpoolEmulator, private_key: str) -> dict[str, Any]:
    """Entry data created by the form: no ``api_url``."""
    return {
        CONF_KIND: KIND_SPIDERPOOL,
        CONF_ACCESS_KEY: emulator.access_key,
        CONF_PRIVATE_KEY: private_key,
        CONF_COIN: POOL_COIN,
        CONF_SUBACCOUNT: POOL_SUBACCOUNT,
    }


def _keys(account: SpiderpoolAccount) -> dict[str, str]:
    return {
        CONF_ACCESS_KEY: account.access_key,
        CONF_PRIVATE_KEY: account.private_key_b64,
    }


def _entry_of_another_subaccount(
    hass: HomeAssistant, emulator: SpiderpoolEmulator
) -> MockConfigEntry:
    """An entry of the account whose unique ID is another sub-account's, added."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=POOL_TITLE,
        unique_id=f"btc_{OTHER_SUBACCOUNT}",
        data=spiderpool_entry_data(emulator),
    )
    entry.add_to_hass(hass)
    return entry


def _rotate_keys(emulator: SpiderpoolEmulator) -> SpiderpoolAccount:
    """The console issues a new key pair for the account; the old one stops working."""
    old = emulator.account
    new = emulator.add_account()
    new.subaccounts = old.subaccounts
    del emulator.state.accounts[old.access_key]
    return new


def _pem_pkcs1(emulator: SpiderpoolEmulator) -> str:
    """The same private key as ``-----BEGIN RSA PRIVATE KEY-----`` (PKCS#1)."""
    key = RSA.import_key(base64.b64decode(emulator.private_key_b64))
    pem: bytes = key.export_key(format="PEM")
    return pem.decode("ascii")


def _public_b64(emulator: SpiderpoolEmulator) -> str:
    """The account's public key as bare base64 DER (what the pool keeps)."""
    der: bytes = emulator.public_key.export_key(format="DER")
    return base64.b64encode(der).decode("ascii")


def _selectors(result: FlowResult[Any, Any]) -> dict[str, dict[str, Any]]:
    """Each field's selector, as the frontend receives it."""
    schema: probatio.Schema = result["data_schema"]
    return {
        str(key): value.serialize()["selector"]
        for key, value in schema.schema.items()
        if not isinstance(value, section)
    }


@contextmanager
def _short_pool_timeout() -> Iterator[None]:
    """Validation gives up on a silent pool after 0.2 s instead of 20 s."""

    def create(hass: HomeAssistant, data: Mapping[str, Any]) -> SpiderpoolClient:
        client = create_pool_client(hass, data)
        client.request_timeout = 0.2
        return client

    with patch(
        "custom_components.miner_hub.config_flow.create_pool_client",
        side_effect=create,
    ):
        yield


# --- Spiderpool: the user step -------------------------------------------------


async def test_spiderpool_form(hass: HomeAssistant) -> None:
    result = await _user_form(hass, KIND_SPIDERPOOL)
    assert _fields(result) == [
        CONF_ACCESS_KEY,
        CONF_PRIVATE_KEY,
        CONF_COIN,
        CONF_SUBACCOUNT,
        SECTION_ADVANCED,
    ]
    assert _suggested_values(result) == {}
    # The private key is a multi-line box the browser does not remember; the
    # access key is shown like a user name.
    selectors = _selectors(result)
    assert selectors[CONF_PRIVATE_KEY]["text"]["multiline"] is True
    assert selectors[CONF_PRIVATE_KEY]["text"]["autocomplete"] == "off"
    assert "type" not in selectors[CONF_ACCESS_KEY]["text"]
    # The coin defaults to btc; everything else is required.
    validated = result["data_schema"](
        {CONF_ACCESS_KEY: "A", CONF_PRIVATE_KEY: "K", CONF_SUBACCOUNT: "s"}
    )
    assert validated[CONF_COIN] == "btc"
    for field in (CONF_ACCESS_KEY, CONF_PRIVATE_KEY, CONF_SUBACCOUNT):
        values = {CONF_ACCESS_KEY: "A", CONF_PRIVATE_KEY: "K", CONF_SUBACCOUNT: "s"}
        del values[field]
        with pytest.raises(probatio.Invalid):
            result["data_schema"](values)


async def test_spiderpool_form_supplies_the_default_api_url(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator
) -> None:
    """The API address's description names the default address as a placeholder.

    hassfest refuses URLs in translations: the form supplies ``{default_url}``,
    also when it is shown again with an error.
    """
    strings = json.loads((TRANSLATIONS / "en.json").read_text())
    description = strings["config"]["step"]["spiderpool"]["sections"]["advanced"][
        "data_description"
    ]["api_url"]
    assert "{default_url}" in description
    assert "://" not in description
    placeholders = {"default_url": "https://api.spiderpool.com"}
    result = await _user_form(hass, KIND_SPIDERPOOL)
    assert result["description_placeholders"] == placeholders
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _with_api_url(_pool_input(spiderpool), "ftp://pool")
    )
    assert result["errors"] == {CONF_API_URL: "invalid_api_url"}
    assert result["description_placeholders"] == placeholders


def _with_api_url(user_input: dict[str, Any], api_url: str) -> dict[str, Any]:
    return {**user_input, SECTION_ADVANCED: {CONF_API_URL: api_url}}


async def test_spiderpool_advanced_api_url(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator
) -> None:
    """The advanced section's API address is checked and stored."""
    result = await _user_form(hass, KIND_SPIDERPOOL)
    advanced = result["data_schema"].schema[SECTION_ADVANCED]
    assert advanced.options == {"collapsed": True}
    assert advanced({}) == {CONF_API_URL: "https://api.spiderpool.com"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _with_api_url(_pool_input(spiderpool), "ftp://pool")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_API_URL: "invalid_api_url"}
    # What was typed stays in the form, the private key does not.
    section = result["data_schema"].schema[SECTION_ADVANCED]
    assert _suggested_values({"data_schema": section.schema}) == {
        CONF_API_URL: "ftp://pool"
    }
    assert CONF_PRIVATE_KEY not in _suggested_values(result)
    assert spiderpool.received == []

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _with_api_url(_pool_input(spiderpool), spiderpool.url)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        **_pool_data(spiderpool, spiderpool.private_key_b64),
        CONF_API_URL: spiderpool.url,
    }
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED
    assert set(spiderpool.verdicts()) == {"ok"}


@pytest.mark.parametrize(
    "api_url",
    ["ftp://pool.example", "https://", "https://pool.example/v2", "pool.example"],
)
async def test_spiderpool_api_url_must_be_an_origin(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, api_url: str
) -> None:
    result = await _submit_form(
        hass, KIND_SPIDERPOOL, _with_api_url(_pool_input(spiderpool), api_url)
    )
    assert result["errors"] == {CONF_API_URL: "invalid_api_url"}
    assert spiderpool.received == []


async def test_spiderpool_advanced_default_api_url_is_not_stored(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    """The pool's own address, as the field's default, leaves the entry plain."""
    result = await _submit_form(
        hass,
        KIND_SPIDERPOOL,
        _with_api_url(_pool_input(pool_api), "https://api.spiderpool.com/"),
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == _pool_data(pool_api, pool_api.private_key_b64)
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "key_form", ["base64", "base64_wrapped", "pem_pkcs8", "pem_pkcs1"]
)
async def test_spiderpool_success(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator, key_form: str
) -> None:
    spiderpool = pool_api
    private_key = {
        "base64": spiderpool.private_key_b64,
        "base64_wrapped": textwrap.fill(spiderpool.private_key_b64, 64),
        "pem_pkcs8": spiderpool.private_key_pem,
        "pem_pkcs1": _pem_pkcs1(spiderpool),
    }[key_form]
    result = await _submit_form(
        hass, KIND_SPIDERPOOL, _pool_input(spiderpool, private_key=private_key)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == POOL_TITLE
    # The key is stored as given; the address is the pool's default (no api_url).
    assert result["data"] == _pool_data(spiderpool, private_key)
    entry = result["result"]
    assert entry.unique_id == POOL_UNIQUE_ID
    assert entry.options == {}

    # Validation signed a real profit read, and the emulator verified it.
    validation = spiderpool.received[0]
    assert validation.path == PROFIT_INFO_PATH
    assert validation.access_key == spiderpool.access_key
    assert validation.data == {"coin": POOL_COIN, "subaccount": POOL_SUBACCOUNT}
    assert validation.verdict == "ok"

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert spiderpool.received[-1].verdict == "ok"
    assert set(spiderpool.verdicts()) == {"ok"}


async def test_spiderpool_code200_envelope(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    """The other success shape (code 200, success true) validates too."""
    pool_api.faults.envelope = "code200"
    result = await _submit_form(hass, KIND_SPIDERPOOL, _pool_input(pool_api))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert pool_api.received[0].code == 200
    await hass.async_block_till_done()


async def test_spiderpool_input_is_normalised(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    """Blanks around the values go; the coin is stored in lower case."""
    spiderpool = pool_api
    result = await _submit_form(
        hass,
        KIND_SPIDERPOOL,
        {
            CONF_ACCESS_KEY: f"  {spiderpool.access_key}\n",
            CONF_PRIVATE_KEY: f"\n{spiderpool.private_key_pem}\n\n",
            CONF_COIN: " BTC ",
            CONF_SUBACCOUNT: f" {POOL_SUBACCOUNT}\t",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == POOL_TITLE
    assert result["data"] == _pool_data(spiderpool, spiderpool.private_key_pem.strip())
    assert result["result"].unique_id == POOL_UNIQUE_ID
    assert spiderpool.received[0].data == {
        "coin": POOL_COIN,
        "subaccount": POOL_SUBACCOUNT,
    }
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "private_key",
    [
        "not a key",
        "   ",
        "truncated",
        "public_pem",
        "public_base64",
        "base64_of_garbage",
    ],
)
async def test_spiderpool_invalid_private_key(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator, private_key: str
) -> None:
    """Anything but an RSA private key is refused before a request is sent."""
    spiderpool = pool_api
    key = {
        "truncated": spiderpool.private_key_b64[:200],
        "public_pem": VENDOR_DEMO_PUBLIC_KEY_PEM,
        "public_base64": _public_b64(spiderpool),
        "base64_of_garbage": base64.b64encode(b"garbage" * 20).decode(),
    }.get(private_key, private_key)
    result = await _submit_form(
        hass, KIND_SPIDERPOOL, _pool_input(spiderpool, private_key=key)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_SPIDERPOOL
    assert result["errors"] == {CONF_PRIVATE_KEY: "invalid_private_key"}
    assert spiderpool.received == []
    # What the user typed comes back, except the private key.
    assert _suggested_values(result) == {
        CONF_ACCESS_KEY: spiderpool.access_key,
        CONF_COIN: POOL_COIN,
        CONF_SUBACCOUNT: POOL_SUBACCOUNT,
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(spiderpool)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


def _break_pool(emulator: SpiderpoolEmulator, fault: str) -> dict[str, str]:
    """Make the pool fail as ``fault``; the user input that goes with it."""
    changes: dict[str, str] = {}
    if fault == "unknown_access_key":
        changes = {CONF_ACCESS_KEY: UNKNOWN_ACCESS_KEY}
    elif fault == "blank_access_key":
        changes = {CONF_ACCESS_KEY: "  "}
    elif fault == "other_accounts_key":
        # A valid access key, with the private key of another account.
        changes = {CONF_ACCESS_KEY: emulator.add_account().access_key}
    elif fault == "vendor_demo_key":
        changes = {CONF_PRIVATE_KEY: VENDOR_DEMO_PRIVATE_KEY_B64}
    elif fault == "clock_behind":
        emulator.advance(3600)  # this system's clock is an hour behind
    elif fault == "clock_ahead":
        emulator.advance(-3600)
    elif fault == "api_disabled":
        emulator.account.api_enabled = False
    elif fault == "unknown_subaccount":
        changes = {CONF_SUBACCOUNT: "nosuchminer"}
    elif fault == "another_accounts_subaccount":
        other = emulator.add_account()
        emulator.add_subaccount(OTHER_SUBACCOUNT, account=other)
        changes = {CONF_SUBACCOUNT: OTHER_SUBACCOUNT}
    elif fault == "unsupported_coin":
        changes = {CONF_COIN: "xyz"}
    elif fault == "path_not_found":
        emulator.faults.disabled_paths = {PROFIT_INFO_PATH}
    else:  # offline, http_500, non_json
        setattr(emulator.faults, fault, True)
    return changes


def _repair_pool(emulator: SpiderpoolEmulator, fault: str) -> None:
    emulator.faults = SpiderpoolFaults()
    emulator.account.api_enabled = True
    if fault == "clock_behind":
        emulator.advance(-3600)
    elif fault == "clock_ahead":
        emulator.advance(3600)


POOL_FAULTS = [
    # fault, form error, the emulator's verdict (None: nothing was sent)
    ("unknown_access_key", "invalid_pool_keys", "unknown_key"),
    ("blank_access_key", "invalid_pool_keys", None),
    ("other_accounts_key", "invalid_pool_keys", "bad_signature"),
    ("vendor_demo_key", "invalid_pool_keys", "bad_signature"),
    ("clock_behind", "invalid_pool_keys", "stale"),
    ("clock_ahead", "invalid_pool_keys", "future"),
    ("api_disabled", "invalid_pool_keys", "permission_denied"),
    ("unknown_subaccount", "subaccount_not_found", "ok"),
    ("another_accounts_subaccount", "subaccount_not_found", "ok"),
    ("unsupported_coin", "subaccount_not_found", "ok"),
    ("offline", "cannot_connect_pool", None),
    ("http_500", "cannot_connect_pool", "http_500"),
    ("non_json", "cannot_connect_pool", "non_json"),
    ("path_not_found", "cannot_connect_pool", "not_found"),
]


@pytest.mark.parametrize(("fault", "error", "verdict"), POOL_FAULTS)
async def test_spiderpool_error_then_recovery(
    hass: HomeAssistant,
    pool_api: SpiderpoolEmulator,
    fault: str,
    error: str,
    verdict: str | None,
) -> None:
    spiderpool = pool_api
    user_input = _pool_input(spiderpool, **_break_pool(spiderpool, fault))
    result = await _submit_form(hass, KIND_SPIDERPOOL, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_SPIDERPOOL
    assert result["errors"] == {"base": error}
    assert spiderpool.verdicts() == ([verdict] if verdict else [])
    # What the user typed comes back (without blanks), except the private key.
    assert _suggested_values(result) == {
        CONF_ACCESS_KEY: user_input[CONF_ACCESS_KEY].strip(),
        CONF_COIN: user_input[CONF_COIN],
        CONF_SUBACCOUNT: user_input[CONF_SUBACCOUNT],
    }
    assert not hass.config_entries.async_entries(DOMAIN)

    _repair_pool(spiderpool, fault)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(spiderpool)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == POOL_UNIQUE_ID
    await hass.async_block_till_done()
    assert result["result"].state is ConfigEntryState.LOADED


async def test_spiderpool_rate_limited(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    """A rate-limit answer is a temporary error; the pool's wait is honoured."""
    spiderpool = pool_api
    spiderpool.faults.rate_limit = True
    result = await _submit_form(hass, KIND_SPIDERPOOL, _pool_input(spiderpool))
    assert result["errors"] == {"base": "cannot_connect_pool"}
    assert spiderpool.verdicts() == ["rate_limited"]  # with Retry-After: 1

    # Submitted again at once, nothing is sent until the pool's wait is over.
    spiderpool.faults.rate_limit = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(spiderpool)
    )
    assert result["errors"] == {"base": "cannot_connect_pool"}
    assert spiderpool.verdicts() == ["rate_limited"]

    await asyncio.sleep(1.05)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(spiderpool)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert spiderpool.verdicts()[:2] == ["rate_limited", "ok"]
    await hass.async_block_till_done()


async def test_spiderpool_no_reply(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    """A pool that never answers is a connection error, once the timeout passes."""
    spiderpool = pool_api
    spiderpool.faults.stall = True
    result = await _user_form(hass, KIND_SPIDERPOOL)
    with _short_pool_timeout():
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], _pool_input(spiderpool)
        )
    assert result["errors"] == {"base": "cannot_connect_pool"}
    assert spiderpool.verdicts() == ["stalled"]

    spiderpool.faults.stall = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(spiderpool)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def test_spiderpool_unknown_error(
    hass: HomeAssistant, pool_api: SpiderpoolEmulator
) -> None:
    result = await _submit_form_validation_fails(
        hass, KIND_SPIDERPOOL, _pool_input(pool_api), "_validate_pool"
    )
    assert CONF_PRIVATE_KEY not in _suggested_values(result)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _pool_input(pool_api)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


@pytest.mark.parametrize("coin", [POOL_COIN, " BTC"])
async def test_spiderpool_already_configured(
    hass: HomeAssistant,
    pool_api: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    coin: str,
) -> None:
    """The same coin and sub-account: aborted before any request is sent."""
    spiderpool_entry.add_to_hass(hass)
    result = await _submit_form(
        hass,
        KIND_SPIDERPOOL,
        _pool_input(pool_api, access_key=UNKNOWN_ACCESS_KEY, coin=coin),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert pool_api.received == []
    assert spiderpool_entry.data == spiderpool_entry_data(pool_api)
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_spiderpool_second_subaccount(
    hass: HomeAssistant,
    pool_api: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
) -> None:
    """Each sub-account of an account is an entry of its own."""
    pool_api.add_subaccount(OTHER_SUBACCOUNT, workers=3)
    await setup_integration(hass, spiderpool_entry)
    result = await _submit_form(
        hass, KIND_SPIDERPOOL, _pool_input(pool_api, subaccount=OTHER_SUBACCOUNT)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"{OTHER_SUBACCOUNT} (BTC)"
    assert result["result"].unique_id == f"btc_{OTHER_SUBACCOUNT}"
    assert result["data"][CONF_SUBACCOUNT] == OTHER_SUBACCOUNT
    await hass.async_block_till_done()
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2
    assert result["result"].state is ConfigEntryState.LOADED


# --- Spiderpool: reauthentication ------------------------------------------------


async def test_reauth_spiderpool_form(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    entry = await setup_integration(hass, spiderpool_entry)
    result = await entry.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_spiderpool"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": POOL_TITLE}
    # Only the keys: the stored access key is offered, the private key never.
    assert _fields(result) == [CONF_ACCESS_KEY, CONF_PRIVATE_KEY]
    assert _suggested_values(result) == {CONF_ACCESS_KEY: entry.data[CONF_ACCESS_KEY]}
    assert _selectors(result)[CONF_PRIVATE_KEY]["text"]["multiline"] is True
    # New keys: both are required.
    with pytest.raises(probatio.Invalid):
        result["data_schema"]({CONF_ACCESS_KEY: "A"})


async def test_reauth_spiderpool_new_keys(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
) -> None:
    """The keys were replaced in the console: the next poll asks for the new ones."""
    entry = await setup_integration(hass, spiderpool_entry)
    old_coordinator = entry.runtime_data
    new = _rotate_keys(spiderpool)
    await old_coordinator.async_refresh()
    await hass.async_block_till_done()
    assert spiderpool.received[-1].verdict == "unknown_key"
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_spiderpool"

    sent = len(spiderpool.received)
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], _keys(new))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    # Only the keys change; the emulator's address (api_url) is kept.
    assert entry.data == {**spiderpool_entry_data(spiderpool), **_keys(new)}
    assert entry.data[CONF_API_URL] == spiderpool.url
    validation = spiderpool.received[sent]
    assert validation.path == PROFIT_INFO_PATH
    assert validation.access_key == new.access_key
    assert validation.verdict == "ok"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert {r.access_key for r in spiderpool.received[sent:]} == {new.access_key}
    assert {r.verdict for r in spiderpool.received[sent:]} == {"ok"}


def _break_pool_keys(
    emulator: SpiderpoolEmulator, fault: str, new: SpiderpoolAccount
) -> dict[str, str]:
    """Keys that fail as ``fault`` (``new``: the account's valid keys)."""
    if fault == "garbage_private_key":
        return {CONF_ACCESS_KEY: new.access_key, CONF_PRIVATE_KEY: "-----BEGIN nope"}
    if fault == "blank_private_key":
        return {CONF_ACCESS_KEY: new.access_key, CONF_PRIVATE_KEY: " \n "}
    if fault == "unknown_access_key":
        return {**_keys(new), CONF_ACCESS_KEY: UNKNOWN_ACCESS_KEY}
    if fault == "keys_of_another_account":
        # Valid keys, but of an account without this sub-account.
        return _keys(emulator.add_account())
    emulator.faults.offline = True
    return _keys(new)


@pytest.mark.parametrize(
    ("fault", "errors"),
    [
        ("garbage_private_key", {CONF_PRIVATE_KEY: "invalid_private_key"}),
        ("blank_private_key", {CONF_PRIVATE_KEY: "invalid_private_key"}),
        ("unknown_access_key", {"base": "invalid_pool_keys"}),
        ("keys_of_another_account", {"base": "subaccount_not_found"}),
        ("offline", {"base": "cannot_connect_pool"}),
    ],
)
async def test_reauth_spiderpool_error_then_recovery(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    fault: str,
    errors: dict[str, str],
) -> None:
    entry = await setup_integration(hass, spiderpool_entry)
    new = _rotate_keys(spiderpool)
    keys = _break_pool_keys(spiderpool, fault, new)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], keys)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_spiderpool"
    assert result["errors"] == errors
    # The typed access key comes back, never the private key.
    assert _suggested_values(result) == {CONF_ACCESS_KEY: keys[CONF_ACCESS_KEY]}
    assert entry.data == spiderpool_entry_data(spiderpool)

    spiderpool.faults.offline = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _keys(new)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == {**spiderpool_entry_data(spiderpool), **_keys(new)}
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_spiderpool_unique_id_mismatch(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator
) -> None:
    """An entry whose unique ID is not its coin and sub-account is never rewritten."""
    entry = _entry_of_another_subaccount(hass, spiderpool)
    new = _rotate_keys(spiderpool)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _keys(new)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == spiderpool_entry_data(spiderpool)


# --- Spiderpool: reconfiguration -------------------------------------------------


async def test_reconfigure_spiderpool_form(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    entry = await setup_integration(hass, spiderpool_entry)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_spiderpool"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"name": POOL_TITLE}
    # Coin and sub-account identify the entry: only the keys can change.
    assert _fields(result) == [CONF_ACCESS_KEY, CONF_PRIVATE_KEY]
    assert _suggested_values(result) == {CONF_ACCESS_KEY: entry.data[CONF_ACCESS_KEY]}
    # The private key may be left out.
    validated = result["data_schema"]({CONF_ACCESS_KEY: "A"})
    assert CONF_PRIVATE_KEY not in validated


@pytest.mark.parametrize(
    "private_key",
    [{}, {CONF_PRIVATE_KEY: ""}, {CONF_PRIVATE_KEY: " \n"}],
    ids=["omitted", "empty", "blank"],
)
async def test_reconfigure_spiderpool_keeps_private_key(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    private_key: dict[str, str],
) -> None:
    entry = await setup_integration(hass, spiderpool_entry)
    old_coordinator = entry.runtime_data
    sent = len(spiderpool.received)
    result = await _reconfigure(
        hass,
        entry,
        {CONF_ACCESS_KEY: f" {spiderpool.access_key} ", **private_key},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == spiderpool_entry_data(spiderpool)  # api_url kept too
    # Validated with the stored private key.
    assert spiderpool.received[sent].path == PROFIT_INFO_PATH
    assert spiderpool.received[sent].verdict == "ok"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded


async def test_reconfigure_spiderpool_new_keys(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
) -> None:
    """Keys rotated in the console before the old ones stop working."""
    entry = await setup_integration(hass, spiderpool_entry)
    new = spiderpool.add_account()
    new.subaccounts = spiderpool.account.subaccounts  # both pairs work for now
    result = await _reconfigure(
        hass,
        entry,
        {CONF_ACCESS_KEY: new.access_key, CONF_PRIVATE_KEY: new.private_key_pem},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {
        **spiderpool_entry_data(spiderpool),
        CONF_ACCESS_KEY: new.access_key,
        CONF_PRIVATE_KEY: new.private_key_pem.strip(),
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert spiderpool.received[-1].access_key == new.access_key


@pytest.mark.parametrize(
    ("fault", "errors", "verdict"),
    [
        # A new access key without its private key.
        ("new_access_key_only", {"base": "invalid_pool_keys"}, "bad_signature"),
        ("garbage_private_key", {CONF_PRIVATE_KEY: "invalid_private_key"}, None),
        ("http_500", {"base": "cannot_connect_pool"}, "http_500"),
    ],
)
async def test_reconfigure_spiderpool_error_then_recovery(
    hass: HomeAssistant,
    *,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    fault: str,
    errors: dict[str, str],
    verdict: str | None,
) -> None:
    entry = await setup_integration(hass, spiderpool_entry)
    user_input: dict[str, str] = {CONF_ACCESS_KEY: spiderpool.access_key}
    if fault == "new_access_key_only":
        user_input[CONF_ACCESS_KEY] = spiderpool.add_account().access_key
    elif fault == "garbage_private_key":
        user_input[CONF_PRIVATE_KEY] = "MIIC-not-base64"
    else:
        spiderpool.faults.http_500 = True
    sent = len(spiderpool.received)
    result = await _reconfigure(hass, entry, user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_spiderpool"
    assert result["errors"] == errors
    assert spiderpool.verdicts()[sent:] == ([verdict] if verdict else [])
    assert _suggested_values(result) == {CONF_ACCESS_KEY: user_input[CONF_ACCESS_KEY]}
    assert entry.data == spiderpool_entry_data(spiderpool)

    spiderpool.faults.http_500 = False
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_ACCESS_KEY: spiderpool.access_key}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == spiderpool_entry_data(spiderpool)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_spiderpool_unique_id_mismatch(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator
) -> None:
    entry = _entry_of_another_subaccount(hass, spiderpool)
    result = await _reconfigure(hass, entry, {CONF_ACCESS_KEY: spiderpool.access_key})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == spiderpool_entry_data(spiderpool)


# --- Spiderpool: the prices of its miners' money figures -------------------------

ELECTRICITY = "sensor.electricity_price"
BITCOIN = "sensor.bitcoin_price"


async def _pool_options(
    hass: HomeAssistant, entry: MockConfigEntry
) -> FlowResult[Any, Any]:
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "prices"
    return result


async def test_spiderpool_options_prices(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    """Two price entities, in Home Assistant's currency; kept as chosen."""
    hass.states.async_set(ELECTRICITY, "0.25", {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set(BITCOIN, "85000", {"unit_of_measurement": "€"})
    result = await _pool_options(hass, spiderpool_entry)
    assert _fields(result) == [CONF_ELECTRICITY_PRICE, CONF_BITCOIN_PRICE]
    assert result["description_placeholders"] == {
        "name": "homeminer (BTC)",
        "currency": "EUR",
    }
    assert _suggested_values(result) == {}

    chosen = {CONF_ELECTRICITY_PRICE: ELECTRICITY, CONF_BITCOIN_PRICE: BITCOIN}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], chosen
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert spiderpool_entry.options == chosen
    assert spiderpool_entry.state is ConfigEntryState.LOADED

    # Opened again, the form shows them.
    result = await hass.config_entries.options.async_init(spiderpool_entry.entry_id)
    assert _suggested_values(result) == chosen


async def test_spiderpool_options_no_prices(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    """Both prices are optional (no cost, profit or break-even figures then)."""
    result = await _pool_options(hass, spiderpool_entry)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {}


@pytest.mark.parametrize(
    ("entity_id", "state", "unit", "error"),
    [
        (ELECTRICITY, "0.25", "°C", "invalid_electricity_price"),
        (ELECTRICITY, "0.25", None, "invalid_electricity_price"),
        (ELECTRICITY, "25", "ct/kWh", "invalid_electricity_price"),
        (ELECTRICITY, "cheap", "EUR/kWh", "invalid_electricity_price"),
        (BITCOIN, "85000", "USD", "invalid_bitcoin_price"),
        (BITCOIN, "0", "EUR", "invalid_bitcoin_price"),
    ],
)
async def test_spiderpool_options_refuse_a_wrong_price(
    hass: HomeAssistant,
    spiderpool_entry: MockConfigEntry,
    *,
    entity_id: str,
    state: str,
    unit: str | None,
    error: str,
) -> None:
    """A price in another unit or currency, or no number, is refused; fixed, kept."""
    attributes = {} if unit is None else {"unit_of_measurement": unit}
    hass.states.async_set(entity_id, state, attributes)
    option = error.removeprefix("invalid_")
    result = await _pool_options(hass, spiderpool_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {option: entity_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {option: error}
    assert _suggested_values(result) == {option: entity_id}

    good = "EUR/kWh" if option == CONF_ELECTRICITY_PRICE else "EUR"
    hass.states.async_set(entity_id, "0.3", {"unit_of_measurement": good})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {option: entity_id}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize("state", ["unavailable", "unknown", None])
async def test_spiderpool_options_accept_a_price_missing_now(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry, state: str | None
) -> None:
    """A price entity without a price just now (or not yet there) may come back."""
    if state is not None:
        hass.states.async_set(ELECTRICITY, state)
    result = await _pool_options(hass, spiderpool_entry)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_ELECTRICITY_PRICE: ELECTRICITY}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_error_texts_speak_of_their_own_kind() -> None:
    """A Whatsminer's wrong password says nothing of DragonMint or Spiderpool keys."""
    package = Path(__file__).parent.parent / "custom_components" / DOMAIN
    errors = json.loads((package / "translations" / "en.json").read_text())["config"][
        "error"
    ]
    others = {
        "invalid_auth": ("DragonMint", "Spiderpool", "key"),
        "cannot_connect": ("Spiderpool", "internet"),
        "invalid_auth_dragonmint": ("Whatsminer", "Spiderpool", "key"),
        "invalid_pool_keys": ("miner", "password"),
        "cannot_connect_pool": ("miner", "port"),
    }
    for key, words in others.items():
        assert not [word for word in words if word in errors[key]], key
