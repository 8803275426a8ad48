"""Whatever is typed into the forms, the flow answers with a form error or an entry.

Inputs come from hypothesis (derandomized, so every run tries the same ones):
addresses, ports and passwords with unusual characters, and damaged private keys.
The flow must never raise anything but Home Assistant's own ``InvalidData`` for
values the form's schema refuses, and must send nothing anywhere but 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.miner_hub.const import (
    CONF_ACCESS_KEY,
    CONF_COIN,
    CONF_PRIVATE_KEY,
    CONF_SUBACCOUNT,
    DOMAIN,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.protocol.errors import ConnectionFailed
from custom_components.miner_hub.protocol.validation import is_host
from tests.conftest import POOL_COIN, POOL_SUBACCOUNT
from tests.emulators import SpiderpoolEmulator, WhatsminerV2Emulator
from tests.emulators.spiderpool import VENDOR_DEMO_PRIVATE_KEY_B64

EXAMPLES = 120


def _examples[T](strategy: st.SearchStrategy[T]) -> list[T]:
    """Inputs drawn by hypothesis, the same on every run (async tests cannot @given)."""
    drawn: list[T] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value: T) -> None:
        drawn.append(value)

    draw()
    return drawn


async def _form(hass: HomeAssistant, kind: str) -> str:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": kind}
    )
    return str(result["flow_id"])


async def _submit(
    hass: HomeAssistant, flow_id: str, user_input: dict[str, Any]
) -> dict[str, str] | None:
    """The form's errors; None when the schema refused the values (InvalidData)."""
    try:
        result = await hass.config_entries.flow.async_configure(flow_id, user_input)
    except InvalidData:
        return None
    assert result["type"] is FlowResultType.FORM
    return dict(result["errors"] or {})


ADDRESSES = st.text(max_size=40) | st.sampled_from(
    ["http://10.0.0.5/", "10.0.0.5:4028", " 10.0.0.5 ", "miner.local", "::1",
     "[::1]", "10.0.0.256", "a..b", "ünïcode.lan", "x" * 300, "\x00", "\n"]
)  # fmt: skip


async def test_any_address_is_refused_or_only_then_tried(hass: HomeAssistant) -> None:
    """A bad address is a form error; a good one is tried (here: stubbed)."""
    tried: list[str] = []

    async def unreachable(_hass: HomeAssistant, data: dict[str, Any]) -> None:
        tried.append(data[CONF_HOST])
        raise ConnectionFailed("not tried in this test")

    flow_id = await _form(hass, KIND_WHATSMINER)
    with patch("custom_components.miner_hub.config_flow._validate", unreachable):
        for address in _examples(ADDRESSES):
            errors = await _submit(
                hass,
                flow_id,
                {CONF_HOST: address, CONF_PORT: 4028, CONF_PASSWORD: "admin"},
            )
            if is_host(address.strip()):
                assert errors == {"base": "cannot_connect"}
                assert tried[-1] == address.strip()
            else:
                assert errors in ({CONF_HOST: "invalid_host"}, None)
    assert all(is_host(host) for host in tried)


PORTS = st.integers(-5, 70000) | st.floats(allow_nan=True) | st.text(max_size=6)
PASSWORDS = st.text(max_size=24)


async def test_any_port_and_password_against_a_miner(
    hass: HomeAssistant, whatsminer: WhatsminerV2Emulator
) -> None:
    """Odd ports are refused by the form; odd passwords by the miner, politely.

    Every attempt takes one of the miner's token slots (32 per address, held
    30 minutes): the limit is raised so that the passwords, not the slots, are
    what is tested (test_config_flow covers the slots running out).
    """
    whatsminer.faults.tokens_per_ip = 10_000
    flow_id = await _form(hass, KIND_WHATSMINER)
    outcomes: set[str] = set()
    for port, password in zip(_examples(PORTS), _examples(PASSWORDS), strict=False):
        errors = await _submit(
            hass,
            flow_id,
            {CONF_HOST: whatsminer.host, CONF_PORT: port, CONF_PASSWORD: password},
        )
        outcomes.add("schema" if errors is None else ",".join(errors.values()))
    assert outcomes <= {"schema", "invalid_auth", "cannot_connect"}
    assert "schema" in outcomes  # the draw did reach out-of-range ports

    # At the miner's port every odd password is just wrong.
    for password in _examples(PASSWORDS)[:40]:
        errors = await _submit(
            hass,
            flow_id,
            {CONF_HOST: whatsminer.host, CONF_PORT: whatsminer.port,
             CONF_PASSWORD: password},
        )  # fmt: skip
        assert errors in ({"base": "invalid_auth"}, None), password


def _damaged(key: str) -> Callable[[tuple[int, str]], str]:
    return lambda cut: key[: cut[0]] + cut[1] + key[cut[0] + 1 :]


async def test_damaged_private_keys_are_refused_before_any_request(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator
) -> None:
    key = VENDOR_DEMO_PRIVATE_KEY_B64
    keys = _examples(
        st.text(max_size=80)
        | st.tuples(st.integers(0, len(key) - 1), st.sampled_from("A/+=!é\n")).map(
            _damaged(key)
        )
        | st.integers(1, len(key) - 1).map(lambda end: key[:end])
    )
    flow_id = await _form(hass, KIND_SPIDERPOOL)
    for private_key in keys:
        errors = await _submit(
            hass,
            flow_id,
            {
                CONF_ACCESS_KEY: spiderpool.access_key,
                CONF_PRIVATE_KEY: private_key,
                CONF_COIN: POOL_COIN,
                CONF_SUBACCOUNT: POOL_SUBACCOUNT,
                "advanced": {"api_url": spiderpool.url},
            },
        )
        # A damaged key that still parses is a key of no account: rejected.
        assert errors in (
            {CONF_PRIVATE_KEY: "invalid_private_key"},
            {"base": "invalid_pool_keys"},
        ), private_key
    refused_early = sum(request.sign is None for request in spiderpool.received)
    assert refused_early == 0  # nothing unsigned was ever sent
