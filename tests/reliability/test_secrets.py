"""No secret leaks: not in logs (debug included), diagnostics, errors or attributes.

Each test runs what a person and the integration do with one device kind — the
config flow with a wrong and the right secret, polls, every action, faults, a
password change with its reauth, diagnostics — with every logger at DEBUG, then
scans everything that could carry a secret: the captured log, the exceptions the
actions raised, every state's attributes and the diagnostics (as downloaded,
before Home Assistant wraps them). The
secrets are those the test chose (passwords, keys, a pool password) and those the
devices handed out meanwhile (Whatsminer tokens, Spiderpool signatures).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterable
import json
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntry
from homeassistant.const import (
    ATTR_DEVICE_ID,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.miner_hub.const import (
    CONF_ACCESS_KEY,
    CONF_COIN,
    CONF_PRIVATE_KEY,
    CONF_SUBACCOUNT,
    CONF_TEMPERATURE_SENSOR,
    CONF_V3_PORT,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.miner_hub.forms import SECTION_ADVANCED
from tests.conftest import (
    DRAGONMINT_PASSWORD,
    MINER_PASSWORD,
    POOL_COIN,
    POOL_SUBACCOUNT,
    EmulatedWhatsminer,
    poll,
)
from tests.emulators import DragonMintEmulator, SpiderpoolEmulator
from tests.heating.home import HEATER, ROOM, set_room

NEW_PASSWORD = "n3w_pass"  # 8 characters: the most a Whatsminer takes
POOL_PASSWORD = "pool-pass-9f2c"  # a pool password set through set_pools
HELD_CHANGE = "sensor.garage_m30_held_change"
# The test harness's stand-in for Home Assistant's storage logs the data it is
# given; Home Assistant's own Store logs only the file's name. (A held pools
# change is stored with its password until applied, as the entry's password is.)
HARNESS_STORAGE_LOGGER = "pytest_homeassistant_custom_component.common"


class Exposure:
    """Everything a secret could leak into, gathered during a test."""

    def __init__(self, hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
        self.hass = hass
        self.caplog = caplog
        self.texts: list[str] = []
        caplog.set_level(logging.DEBUG)

    async def expect_error(self, action: Awaitable[Any]) -> None:
        """Run an action that fails; keep what its error says."""
        with pytest.raises(HomeAssistantError) as caught:
            await action
        self.texts += [str(caught.value), repr(caught.value.translation_placeholders)]

    async def run(self, action: Awaitable[Any]) -> None:
        """Run an action that may fail (a fault is on); keep what an error says."""
        try:
            await action
        except HomeAssistantError as err:
            self.texts += [str(err), repr(err.translation_placeholders)]

    def assert_clean(self, secrets: Iterable[str], diagnostics: list[Any]) -> None:
        attributes = [
            json.dumps(dict(state.attributes), default=str)
            for state in self.hass.states.async_all()
        ]
        haystacks = {
            "the log": "\n".join(
                self.caplog.handler.format(record)
                for record in self.caplog.records
                if record.name != HARNESS_STORAGE_LOGGER
            ),
            "an error": "\n".join(self.texts),
            "an attribute": "\n".join(attributes),
            "the diagnostics": json.dumps(diagnostics, default=str),
        }
        assert len(self.caplog.records) > 50  # debug logging was on and captured
        for secret in secrets:
            assert len(secret) >= 6, "a short secret could match by chance"
            for where, text in haystacks.items():
                assert secret not in text, f"{secret[:3]}… found in {where}"


async def _flow(hass: HomeAssistant, kind: str, *inputs: dict[str, Any]) -> ConfigEntry:
    """The user flow with each input in turn; the last one creates the entry."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    for user_input in inputs:
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], user_input
        )
    assert result["type"] == "create_entry", result.get("errors")
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


async def _reauth(
    hass: HomeAssistant, entry: ConfigEntry, user_input: dict[str, Any]
) -> None:
    (flow,) = [
        flow
        for flow in hass.config_entries.flow.async_progress()
        if flow["context"].get("source") == "reauth"
    ]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


def _device_id(hass: HomeAssistant, entry: ConfigEntry) -> str:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return devices[0].id


def _service(hass: HomeAssistant) -> Callable[..., Awaitable[Any]]:
    def call(domain: str, service: str, data: dict[str, Any]) -> Awaitable[Any]:
        return hass.services.async_call(domain, service, data, blocking=True)

    return call


def _set_pools(
    call: Callable[..., Awaitable[Any]], device_id: str, worker: str
) -> Awaitable[Any]:
    """A pool with a password: the password must not be echoed anywhere."""
    return call(
        DOMAIN,
        "set_pools",
        {
            ATTR_DEVICE_ID: device_id,
            "url_1": "stratum+tcp://pool.example.com:3333",
            "worker_1": worker,
            "password_1": POOL_PASSWORD,
        },
    )


@pytest.mark.governed  # changes are held too: the held pools must not tell
async def test_whatsminer_secrets_stay_secret(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    miner, seen, call = any_whatsminer, Exposure(hass, caplog), _service(hass)
    address = {CONF_HOST: miner.host, CONF_PORT: miner.entry_data()[CONF_PORT]}
    if miner.api == "v3":
        address[SECTION_ADVANCED] = {CONF_V3_PORT: miner.entry_data()[CONF_V3_PORT]}
    entry = await _flow(
        hass,
        KIND_WHATSMINER,
        {**address, CONF_PASSWORD: "wr0ng_pw"},
        {**address, CONF_PASSWORD: MINER_PASSWORD},
    )
    device_id = _device_id(hass, entry)
    switch = next(s.entity_id for s in hass.states.async_all("switch"))
    # The heater heats a room, and acts all along.
    set_room(hass, 19.0)
    hass.config_entries.async_update_entry(
        entry, options={CONF_TEMPERATURE_SENSOR: ROOM}
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await call("climate", "turn_on", {"entity_id": HEATER})

    await poll(hass, freezer, 300)  # the slow reads too
    await call("switch", "turn_off", {"entity_id": switch})
    await call("switch", "turn_on", {"entity_id": switch})  # held
    await _set_pools(call, device_id, "acct.garage")  # held
    held = hass.states.get(HELD_CHANGE).attributes["changes"]
    assert [change["change"] for change in held] == ["mining_on", "pools"]
    await seen.expect_error(
        call(DOMAIN, "set_pools", {ATTR_DEVICE_ID: device_id, "url_1": "bad url",
                                   "worker_1": "a", "password_1": POOL_PASSWORD})
    )  # fmt: skip
    await call(DOMAIN, "set_power_percent", {ATTR_DEVICE_ID: device_id, "percent": 90})

    # Faults: unreachable, then garbage, then the password changed elsewhere
    # (mining forced off: the governor would hold it, and only a write tells).
    force_off = {ATTR_DEVICE_ID: device_id, "mining": False, "force": True}
    await miner.set_offline(True)
    await poll(hass, freezer)
    await seen.run(call(DOMAIN, "set_mining", force_off))
    await miner.set_offline(False)
    miner.faults.garbage = True
    await poll(hass, freezer)
    miner.faults.garbage = False
    miner.change_password(NEW_PASSWORD)
    await poll(hass, freezer)
    await seen.run(call(DOMAIN, "set_mining", force_off))
    await _reauth(hass, entry, {CONF_PASSWORD: NEW_PASSWORD})
    await poll(hass, freezer)

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    emulator = miner.emulator
    tokens = [
        token.sign
        for tokens in getattr(emulator, "_tokens", {}).values()
        for token in tokens
    ]
    seen.assert_clean(
        [MINER_PASSWORD, NEW_PASSWORD, "wr0ng_pw", POOL_PASSWORD, *tokens],
        [diagnostics],
    )


async def test_dragonmint_secrets_stay_secret(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
) -> None:
    seen, call = Exposure(hass, caplog), _service(hass)
    login = {
        CONF_HOST: dragonmint.host,
        CONF_PORT: dragonmint.port,
        CONF_USERNAME: "admin",
    }
    entry = await _flow(
        hass,
        KIND_DRAGONMINT,
        {**login, CONF_PASSWORD: "not-the-admin"},
        {**login, CONF_PASSWORD: DRAGONMINT_PASSWORD},
    )
    device_id = _device_id(hass, entry)
    select = next(s.entity_id for s in hass.states.async_all("select"))
    await poll(hass, freezer, 300)
    await call("select", "select_option", {"entity_id": select, "option": "efficient"})
    await _set_pools(call, device_id, "acct.t1")
    dragonmint.faults.offline = True
    await poll(hass, freezer)
    await seen.run(
        call("select", "select_option", {"entity_id": select, "option": "balanced"})
    )
    dragonmint.faults.offline = False
    await poll(hass, freezer)

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    basic = base64.b64encode(f"admin:{DRAGONMINT_PASSWORD}".encode()).decode()
    seen.assert_clean(
        [DRAGONMINT_PASSWORD, "not-the-admin", POOL_PASSWORD, basic], [diagnostics]
    )


async def test_spiderpool_secrets_stay_secret(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    spiderpool: SpiderpoolEmulator,
    pool_clock: None,
) -> None:
    seen, call = Exposure(hass, caplog), _service(hass)
    account = {
        CONF_ACCESS_KEY: spiderpool.access_key,
        CONF_COIN: POOL_COIN,
        CONF_SUBACCOUNT: POOL_SUBACCOUNT,
        SECTION_ADVANCED: {"api_url": spiderpool.url},
    }
    entry = await _flow(
        hass,
        KIND_SPIDERPOOL,
        {**account, CONF_PRIVATE_KEY: "MIIB" + "A" * 60},  # not a key
        {**account, CONF_PRIVATE_KEY: spiderpool.private_key_pem},
    )
    assert entry.data.get(CONF_PRIVATE_KEY)
    account_device = next(
        device.id
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), entry.entry_id
        )
        if (DOMAIN, entry.entry_id) in device.identifiers
    )
    await poll(hass, freezer, 1800)  # the slow reads (earnings) too
    await call(
        DOMAIN,
        "set_minimum_payment",
        {ATTR_DEVICE_ID: account_device, "amount": 0.005},
    )
    spiderpool.faults.http_500 = True
    await poll(hass, freezer, 600)
    spiderpool.faults.http_500 = False
    await poll(hass, freezer, 600)

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    key = spiderpool.private_key_b64
    signatures = [request.sign for request in spiderpool.received if request.sign]
    assert signatures
    seen.assert_clean(
        [
            spiderpool.access_key,
            *(key[start : start + 40] for start in range(0, len(key) - 40, 40)),
            *signatures,
        ],
        [diagnostics],
    )
