"""The miner_hub actions, against the emulated Whatsminer over TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
import json
from pathlib import Path
import re
from typing import Any
from unittest.mock import PropertyMock, patch

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, ServiceResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub import services
from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from tests.conftest import (
    APIS,
    MINER_HOSTNAME,
    MINER_UNIQUE_ID,
    V3_ONLY,
    WRITE_API_DISABLED_ERROR,
    EmulatedWhatsminer,
    miner_entry,
    only_platforms,
    setup_integration,
    write_api_issue_id,
)
from tests.emulators import WhatsminerV2Emulator

PACKAGE = Path(services.__file__).parent
POWER_PERCENT = "number.garage_m30_power_percent"
POOL_1 = "stratum+tcp://btc.example.com:3333"
POOL_2 = "stratum+tcp://backup.example.com:443"
POOL_3 = "stratum+tcp://last.example.org:25"


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Set the entry up (numbers only); the ID of its device."""
    await setup_integration(hass, entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.fixture
async def device_id(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncIterator[str]:
    """The device of the emulated miner (API 2.2), set up with its numbers."""
    with only_platforms(Platform.NUMBER):
        yield await _setup(hass, mock_config_entry)


@pytest.fixture
async def any_device_id(
    hass: HomeAssistant, any_miner_entry: MockConfigEntry
) -> AsyncIterator[str]:
    """The device of the emulated miner (API v2, then v3), set up with its numbers."""
    with only_platforms(Platform.NUMBER):
        yield await _setup(hass, any_miner_entry)


@pytest.fixture
async def old_device_id(
    hass: HomeAssistant, old_whatsminer: WhatsminerV2Emulator
) -> AsyncIterator[str]:
    """The device of the 2.0.4 miner, set up with its numbers."""
    entry = miner_entry(old_whatsminer)
    with only_platforms(Platform.NUMBER):
        yield await _setup(hass, entry)


@contextmanager
def _sends_nothing(emulator: WhatsminerV2Emulator) -> Iterator[None]:
    """Nothing inside the block reaches the miner."""
    sent = len(emulator.received)
    yield
    assert len(emulator.received) == sent


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kwargs: Any
) -> ServiceResponse:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, **kwargs
    )


# --- registration and documentation -----------------------------------------


async def test_actions_registered_once_without_entries(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done()
    assert set(hass.services.async_services_for_domain(DOMAIN)) == {
        "set_mining",
        "set_pools",
        "set_power_percent",
        "set_power_budget",
        "pre_power_on",
        "set_minimum_payment",
    }
    with pytest.raises(
        ServiceValidationError, match=r"^nowhere is not a miner of Miner Hub$"
    ):
        await _call(hass, "pre_power_on", {ATTR_DEVICE_ID: "nowhere"})


async def test_actions_documented(hass: HomeAssistant) -> None:
    """services.yaml (as HA reads it), translations and schemas agree."""
    assert await async_setup_component(hass, DOMAIN, {})
    described = (await async_get_all_descriptions(hass))[DOMAIN]
    translations = json.loads((PACKAGE / "translations/en.json").read_text())
    icons = json.loads((PACKAGE / "icons.json").read_text())
    schemas = {
        "set_mining": services.SET_MINING_SCHEMA,
        "set_pools": services.SET_POOLS_SCHEMA.validators[0],
        "set_power_percent": services.SET_POWER_PERCENT_SCHEMA,
        "set_power_budget": services.SET_POWER_BUDGET_SCHEMA,
        "pre_power_on": services.PRE_POWER_ON_SCHEMA,
        "set_minimum_payment": services.SET_MINIMUM_PAYMENT_SCHEMA,
    }
    assert set(described) == set(translations["services"]) == set(schemas)
    assert set(icons["services"]) == set(schemas)
    for name, schema in schemas.items():
        fields = set(described[name]["fields"])
        assert fields == set(translations["services"][name]["fields"]), name
        assert fields == {str(key) for key in schema.schema}, name
        device = described[name]["fields"]["device_id"]
        assert device["required"] is True
        assert device["selector"]["device"]["filter"][0]["integration"] == DOMAIN
    for name, key in (
        ("set_power_percent", "power_percent_mode"),
        ("set_power_budget", "power_budget_mode"),
    ):
        mode = described[name]["fields"]["mode"]["selector"]["select"]
        assert mode["translation_key"] == key
        assert set(mode["options"]) == set(translations["selector"][key]["options"])


# --- set_pools ----------------------------------------------------------------


async def test_set_pools_three(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
    any_device_id: str,
) -> None:
    """v2 update_pools (encrypted as a whole), v3 set.miner.pools (param encrypted)."""
    miner = any_whatsminer
    sent = miner.mark()
    await _call(
        hass,
        "set_pools",
        {
            ATTR_DEVICE_ID: any_device_id,
            "url_1": POOL_1,
            "worker_1": "acct.garage",
            "password_1": "p1",
            "url_2": POOL_2,
            "worker_2": "acct.garage2",
            "password_2": "p2",
            "url_3": POOL_3,
            "worker_3": "acct.garage3",
            "password_3": "p3",
        },
    )
    pools = [
        (POOL_1, "acct.garage", "p1"),
        (POOL_2, "acct.garage2", "p2"),
        (POOL_3, "acct.garage3", "p3"),
    ]
    assert miner.writes(sent) == [miner.write("pools", *pools)]
    assert miner.emulator.received[sent].encrypted
    assert miner.state.pools == pools
    # The refresh after the command sees the new pools.
    assert miner.reads(sent) == miner.poll_reads
    status = any_miner_entry.runtime_data.data.status
    assert [(pool.url, pool.user) for pool in status.pools] == [
        (POOL_1, "acct.garage"),
        (POOL_2, "acct.garage2"),
        (POOL_3, "acct.garage3"),
    ]


async def test_set_pools_one_with_default_password(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    miner = any_whatsminer
    sent = miner.mark()
    await _call(
        hass,
        "set_pools",
        {ATTR_DEVICE_ID: any_device_id, "url_1": POOL_1, "worker_1": "acct.garage"},
    )
    # v2 sends all nine keys, "" for the unused pools; v3 only the pools in use.
    assert miner.writes(sent) == [miner.write("pools", (POOL_1, "acct.garage", "x"))]
    assert miner.state.pools == [(POOL_1, "acct.garage", "x")]


async def test_set_pools_gap_keeps_the_order(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    """Pools 1 and 3 without 2: the miner gets them as its first two."""
    await _call(
        hass,
        "set_pools",
        {
            ATTR_DEVICE_ID: any_device_id,
            "url_1": POOL_1,
            "worker_1": "a",
            "url_3": POOL_3,
            "worker_3": "c",
            "password_3": "",
        },
    )
    assert any_whatsminer.state.pools == [(POOL_1, "a", "x"), (POOL_3, "c", "")]


@pytest.mark.parametrize(
    "data",
    [
        {"worker_1": "a"},  # no url_1
        {"url_1": POOL_1},  # no worker_1
        {"url_1": "", "worker_1": "a"},
        {"url_1": POOL_1, "worker_1": ""},
        {"url_1": POOL_1, "worker_1": "a", "url_2": POOL_2},  # no worker_2
        {"url_1": POOL_1, "worker_1": "a", "worker_3": "c"},  # no url_3
        {"url_1": POOL_1, "worker_1": "a", "password_2": "b"},  # no pool 2
        {"url_1": POOL_1, "worker_1": "a", "url_4": POOL_3},
    ],
)
async def test_set_pools_invalid(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    device_id: str,
    data: dict[str, str],
) -> None:
    with _sends_nothing(whatsminer), pytest.raises(probatio.Invalid):
        await _call(hass, "set_pools", {ATTR_DEVICE_ID: device_id, **data})


# A valid URL of 256 characters: what the client lets through at the most.
LONGEST_POOL = "stratum+tcp://" + ".".join(["p" * 59] * 3 + ["p" * 54]) + ".ex:3333"


@pytest.mark.parametrize(
    ("pool", "message"),
    [
        (
            {"url_1": LONGEST_POOL + "3", "worker_1": "a"},
            r"^Pool 1: stratum\+tcp://p+.*:33333 is not a pool address\. ",
        ),
        (
            {"url_1": "http://pool.example.com:3333", "worker_1": "a"},
            r"^Pool 1: http://pool\.example\.com:3333 is not a pool address\. ",
        ),
        (
            {"url_1": POOL_1, "worker_1": "a", "url_2": "pool2:3333 ", "worker_2": "b"},
            r"^Pool 2: pool2:3333  is not a pool address\. ",
        ),
        (
            {"url_1": POOL_1, "worker_1": "acct garage"},
            r"^Pool 1: the worker must be 1 to 256 characters without blanks",
        ),
        (
            {"url_1": POOL_1, "worker_1": "a", "password_1": "secret\nline"},
            r"^Pool 1: the pool password must be at most 256 characters, ",
        ),
    ],
)
async def test_set_pools_checked_before_sending(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    device_id: str,
    pool: dict[str, str],
    message: str,
) -> None:
    """A pool no miner could use is refused, translated, and nothing is sent."""
    with (
        _sends_nothing(whatsminer),
        pytest.raises(ServiceValidationError, match=message) as caught,
    ):
        await _call(hass, "set_pools", {ATTR_DEVICE_ID: device_id, **pool})
    assert caught.value.translation_key.startswith("invalid_pool_")
    assert "secret" not in str(caught.value)  # a password is never echoed


async def test_set_pools_rejected_by_the_miner(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    """256 characters pass the client; this firmware stops at 255 (v2 132, v3 -1)."""
    assert len(LONGEST_POOL) == 256
    miner = any_whatsminer
    before = list(miner.state.pools)
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the command: (API command ERROR|invalid pool)$",
    ):
        await _call(
            hass,
            "set_pools",
            {ATTR_DEVICE_ID: any_device_id, "url_1": LONGEST_POOL, "worker_1": "a"},
        )
    assert miner.writes(sent) == [miner.write("pools", (LONGEST_POOL, "a", "x"))]
    assert miner.state.pools == before


async def test_set_pools_no_reply(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
    any_device_id: str,
) -> None:
    miner = any_whatsminer
    command = miner.command("pools")
    any_miner_entry.runtime_data.miner.client.read_timeout = 0.2
    miner.faults.hang_commands = {command}
    sent = miner.mark()
    with pytest.raises(
        HomeAssistantError,
        match=rf"^The miner did not confirm the command {re.escape(command)}\. ",
    ):
        await _call(
            hass,
            "set_pools",
            {ATTR_DEVICE_ID: any_device_id, "url_1": POOL_1, "worker_1": "a"},
        )
    await hass.async_block_till_done()
    assert miner.writes(sent) == [miner.write("pools", (POOL_1, "a", "x"))]
    assert miner.state.pools == [(POOL_1, "a", "x")]


# --- set_power_percent ----------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "sent_mode"),
    [({}, "normal"), ({"mode": "normal"}, "normal"), ({"mode": "fast"}, "fast")],
    ids=["default", "normal", "fast"],  # normal is the default
)
async def test_set_power_percent(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_device_id: str,
    mode: dict[str, str],
    sent_mode: str,
) -> None:
    """v2: set_power_pct_v2 (normal) or set_power_pct (fast); v3: the mode in param."""
    miner = any_whatsminer
    sent = miner.mark()
    await _call(
        hass,
        "set_power_percent",
        {ATTR_DEVICE_ID: any_device_id, "percent": 30, **mode},
    )
    assert miner.writes(sent) == [miner.write("power_percent", 30, sent_mode)]
    assert miner.state.power_percent == 30
    assert miner.state.power_percent_mode == sent_mode
    # The number entity shows the value the miner accepted.
    assert hass.states.get(POWER_PERCENT).state == "30"


async def test_set_power_percent_coerces_text(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    await _call(
        hass, "set_power_percent", {ATTR_DEVICE_ID: any_device_id, "percent": "45"}
    )
    assert any_whatsminer.state.power_percent == 45
    assert hass.states.get(POWER_PERCENT).state == "45"


async def test_set_power_percent_falls_back_on_old_firmware(
    hass: HomeAssistant, old_whatsminer: WhatsminerV2Emulator, old_device_id: str
) -> None:
    sent = len(old_whatsminer.received)
    await _call(
        hass,
        "set_power_percent",
        {ATTR_DEVICE_ID: old_device_id, "percent": 65, "mode": "normal"},
    )
    assert [
        (command.cmd, command.params, command.encrypted)
        for command in old_whatsminer.received[sent:]
        if command.cmd.startswith("set_power_pct")
    ] == [
        ("set_power_pct_v2", {"percent": "65"}, True),
        ("set_power_pct", {"percent": "65"}, True),
    ]
    assert old_whatsminer.state.power_percent == 65
    assert hass.states.get(POWER_PERCENT).state == "65"


@pytest.mark.parametrize(
    "data",
    [
        {"percent": 101},
        {"percent": -1},
        {"percent": "lots"},
        {"percent": 50, "mode": "turbo"},
        {"mode": "fast"},
    ],
)
async def test_set_power_percent_invalid(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    device_id: str,
    data: dict[str, Any],
) -> None:
    with _sends_nothing(whatsminer), pytest.raises(probatio.Invalid):
        await _call(hass, "set_power_percent", {ATTR_DEVICE_ID: device_id, **data})


async def test_set_power_percent_failure_keeps_the_number(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    """Unknown on v2 (not reported), 100 on v3: unchanged either way."""
    before = hass.states.get(POWER_PERCENT).state
    any_whatsminer.state.write_api_enabled = False
    with pytest.raises(HomeAssistantError, match="write API is switched off"):
        await _call(
            hass, "set_power_percent", {ATTR_DEVICE_ID: any_device_id, "percent": 5}
        )
    assert any_whatsminer.state.power_percent == 100
    await hass.config_entries.async_entries(DOMAIN)[0].runtime_data.async_refresh()
    assert hass.states.get(POWER_PERCENT).state == before


# --- pre_power_on ---------------------------------------------------------------


async def test_pre_power_on_progress(
    hass: HomeAssistant, old_whatsminer: WhatsminerV2Emulator, old_device_id: str
) -> None:
    old_whatsminer.state.mining = False  # pre-heating needs mining off
    call = {ATTR_DEVICE_ID: old_device_id}

    sent = len(old_whatsminer.received)
    response = await _call(hass, "pre_power_on", call, return_response=True)
    assert response == {"complete": False, "message": "wait for adjust temp"}
    command = old_whatsminer.received[sent]
    assert (command.cmd, command.params, command.encrypted) == (
        "pre_power_on",
        {},
        True,
    )

    response = await _call(hass, "pre_power_on", call, return_response=True)
    assert response == {"complete": False, "message": "adjust continue"}

    old_whatsminer.advance(old_whatsminer.faults.preheat_seconds)
    response = await _call(hass, "pre_power_on", call, return_response=True)
    assert response == {"complete": True, "message": "adjust complete"}
    assert old_whatsminer.commands().count("pre_power_on") == 3


async def test_pre_power_on_without_response(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator, device_id: str
) -> None:
    """Automations may start pre-heating without asking for the progress."""
    whatsminer.state.mining = False
    assert await _call(hass, "pre_power_on", {ATTR_DEVICE_ID: device_id}) is None
    assert whatsminer.received[-3].cmd == "pre_power_on"
    assert whatsminer.state.preheat_started_at is not None


async def test_pre_power_on_while_mining(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator, device_id: str
) -> None:
    with pytest.raises(
        HomeAssistantError,
        match=r"^The miner rejected the command: API command ERROR$",
    ):
        await _call(
            hass, "pre_power_on", {ATTR_DEVICE_ID: device_id}, return_response=True
        )
    assert whatsminer.received[-1].cmd == "pre_power_on"
    assert whatsminer.state.preheat_started_at is None


@V3_ONLY
async def test_pre_power_on_not_supported_on_v3(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, any_device_id: str
) -> None:
    """API v3 has no pre-heating command: refused before anything is sent."""
    any_whatsminer.state.mining = False
    sent = any_whatsminer.mark()
    with pytest.raises(
        ServiceValidationError,
        match=rf"^{MINER_HOSTNAME} does not support this action$",
    ) as err:
        await _call(
            hass, "pre_power_on", {ATTR_DEVICE_ID: any_device_id}, return_response=True
        )
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "not_supported_by_miner"
    assert any_whatsminer.mark() == sent
    assert any_whatsminer.state.preheat_started_at is None


# --- errors of every action ------------------------------------------------------


# (action, its data besides the device, what it sends: a control of
# conftest.WRITES and the values it is sent with)
type Action = tuple[str, dict[str, Any], tuple[Any, ...]]
ACTIONS: list[Action] = [
    ("set_pools", {"url_1": POOL_1, "worker_1": "a"}, ("pools", (POOL_1, "a", "x"))),
    ("set_power_percent", {"percent": 50}, ("power_percent", 50)),
    ("pre_power_on", {}, ("pre_power_on",)),
]
ACTION_IDS = [action for action, _, _ in ACTIONS]
# Every action on both APIs, but pre_power_on, which v3 lacks (tested above).
ACTIONS_ON_ANY = [
    pytest.param(api, case, id=f"{api}-{case[0]}")
    for api in APIS
    for case in ACTIONS
    if (api, case[0]) != ("v3", "pre_power_on")
]


@pytest.mark.parametrize(
    ("any_whatsminer", "case"), ACTIONS_ON_ANY, indirect=["any_whatsminer"]
)
async def test_write_api_disabled(
    hass: HomeAssistant,
    issue_registry: ir.IssueRegistry,
    any_whatsminer: EmulatedWhatsminer,
    any_device_id: str,
    case: Action,
) -> None:
    miner = any_whatsminer
    action, data, control = case
    miner.state.mining = False  # so that pre_power_on would run
    miner.state.write_api_enabled = False
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=WRITE_API_DISABLED_ERROR):
        await _call(hass, action, {ATTR_DEVICE_ID: any_device_id, **data})
    # Refused unread (v2 Code 45; v3 -4, sent once more with a fresh salt).
    assert {write.cmd for write in miner.writes(sent)} == {miner.command(*control)}
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    assert issue_registry.async_get_issue(DOMAIN, write_api_issue_id(entry))
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


@pytest.mark.parametrize(
    ("any_whatsminer", "case"), ACTIONS_ON_ANY, indirect=["any_whatsminer"]
)
async def test_wrong_password(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
    any_device_id: str,
    case: Action,
) -> None:
    miner = any_whatsminer
    action, data, _ = case
    miner.state.password = "changed1"
    sent = miner.mark()
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _call(hass, action, {ATTR_DEVICE_ID: any_device_id, **data})
    assert miner.writes(sent) == []  # v2 cannot decrypt it, v3 finds the token wrong
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == any_miner_entry.entry_id


@pytest.mark.parametrize(
    ("any_whatsminer", "case"), ACTIONS_ON_ANY, indirect=["any_whatsminer"]
)
async def test_unreachable(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_device_id: str,
    case: Action,
) -> None:
    action, data, _ = case
    await any_whatsminer.set_offline(True)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _call(hass, action, {ATTR_DEVICE_ID: any_device_id, **data})
    assert hass.states.get(POWER_PERCENT).state == STATE_UNAVAILABLE


# --- which miner ------------------------------------------------------------------


@pytest.mark.parametrize("case", ACTIONS, ids=ACTION_IDS)
async def test_unknown_device(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    device_id: str,
    case: Action,
) -> None:
    action, data, _ = case
    with (
        _sends_nothing(whatsminer),
        pytest.raises(
            ServiceValidationError,
            match=r"^no-such-device is not a miner of Miner Hub$",
        ) as err,
    ):
        await _call(hass, action, {ATTR_DEVICE_ID: "no-such-device", **data})
    assert err.value.translation_key == "device_not_found"


async def test_device_of_another_integration(
    hass: HomeAssistant, device_id: str
) -> None:
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    lamp = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "lamp")}
    )
    with pytest.raises(
        ServiceValidationError, match=rf"^{lamp.id} is not a miner of Miner Hub$"
    ):
        await _call(hass, "pre_power_on", {ATTR_DEVICE_ID: lamp.id})


async def test_device_of_a_pool_account(hass: HomeAssistant, device_id: str) -> None:
    """A Miner Hub entry of another kind (no miner coordinator) is no miner."""
    pool_entry = MockConfigEntry(domain=DOMAIN, title="pool", unique_id="btc:acct")
    pool_entry.add_to_hass(hass)
    pool_entry.mock_state(hass, ConfigEntryState.LOADED)
    pool_entry.runtime_data = object()
    account = dr.async_get(hass).async_get_or_create(
        config_entry_id=pool_entry.entry_id, identifiers={(DOMAIN, "btc:acct")}
    )
    with pytest.raises(
        ServiceValidationError, match=rf"^{account.id} is not a miner of Miner Hub$"
    ):
        await _call(hass, "pre_power_on", {ATTR_DEVICE_ID: account.id})


async def test_entry_not_loaded(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
    device_id: str,
) -> None:
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    with (
        _sends_nothing(whatsminer),
        pytest.raises(
            ServiceValidationError,
            match=rf"^The miner {MINER_HOSTNAME} is not loaded$",
        ) as err,
    ):
        await _call(
            hass, "set_power_percent", {ATTR_DEVICE_ID: device_id, "percent": 1}
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_entry_not_loaded_uses_the_users_device_name(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, device_id: str
) -> None:
    dr.async_get(hass).async_update_device(device_id, name_by_user="Basement miner")
    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(
        ServiceValidationError, match=r"^The miner Basement miner is not loaded$"
    ):
        await _call(hass, "pre_power_on", {ATTR_DEVICE_ID: device_id})


@pytest.mark.parametrize(
    ("case", "capability"),
    zip(
        ACTIONS,
        [Capability.POOLS, Capability.POWER_PERCENT, Capability.PRE_POWER_ON],
        strict=True,
    ),
    ids=ACTION_IDS,
)
async def test_not_supported_by_miner(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    device_id: str,
    case: Action,
    capability: Capability,
) -> None:
    action, data, _ = case
    with (
        _sends_nothing(whatsminer),
        patch.object(
            WhatsminerV2Miner,
            "capabilities",
            new_callable=PropertyMock,
            return_value=frozenset(Capability) - {capability},
        ),
        pytest.raises(
            ServiceValidationError,
            match=rf"^{MINER_HOSTNAME} does not support this action$",
        ) as err,
    ):
        await _call(hass, action, {ATTR_DEVICE_ID: device_id, **data})
    assert err.value.translation_key == "not_supported_by_miner"
