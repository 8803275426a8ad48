"""Whatever a device or the pool sends, the parsers give a model or a typed error.

Property-based (hypothesis): JSON of any shape, with the field names the parsers
look for mixed in, and arbitrary bytes where frames and bodies are read. The only
exceptions allowed out are the protocol's own (``MinerHubError``).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.miner_hub.protocol.dragonmint import parse as dragonmint
from custom_components.miner_hub.protocol.errors import InvalidParameter, MinerHubError
from custom_components.miner_hub.protocol.gate import Gate
from custom_components.miner_hub.protocol.spiderpool import (
    client as spiderpool,
    crypto as spiderpool_crypto,
    parse as spiderpool_parse,
)
from custom_components.miner_hub.protocol.whatsminer.v3 import (
    parse as v3,
    transport as v3_transport,
)
from tests.emulators.spiderpool import VENDOR_DEMO_PRIVATE_KEY_B64
from tests.strategies import JSON_VALUES, records

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

V3_FIELDS = [
    "account", "board-temperature", "bootup-time", "edevs", "elapsed", "factory-hash",
    "fast-boot", "hash-average", "hash-realtime", "heat-mode", "hostname", "ip",
    "mac", "miner", "network", "pools", "power", "power-limit", "power-mode",
    "power-percent", "power-realtime", "summary", "system", "target-freq",
    "upfreq-speed", "url", "code", "msg", "when", "error-code", "fan-speed-in",
    "fan-speed-out", "environment-temperature", "chip-temp-max", "status",
]  # fmt: skip
DRAGONMINT_FIELDS = [
    "Accepted", "Device Elapsed", "Hardware Errors", "Hash Rate H", "ID", "MHS 5m",
    "MHS av", "POOL", "Priority", "Rejected", "Status", "Stratum Active",
    "Temperature", "URL", "User", "currentVersion", "currentVersionDate", "dhcp",
    "gateway", "info", "ipaddress", "isRunning", "isTuning", "isUpdated", "level",
    "mode", "netmask", "url", "version", "versionDate", "success", "token",
    "DEVS", "POOLS", "SUMMARY", "hardware", "network", "autoTuneMode", "fansSpeed",
]  # fmt: skip
SPIDERPOOL_FIELDS = [
    "workerName", "realtimeHashrate", "hashRate", "avgHashrate1440", "hashRate24h",
    "avgRejectrate1440", "rejectRate", "status", "lastShareTime", "hashrates",
    "startTime", "timeInterval", "code", "msg", "success", "data",
]  # fmt: skip


def _typed_only(*builders: Callable[[], Any]) -> None:
    for build in builders:
        with contextlib.suppress(MinerHubError):
            build()


@FUZZ
@given(records(V3_FIELDS), records(V3_FIELDS))
def test_whatsminer_v3_replies(msg: dict[str, Any], nested: dict[str, Any]) -> None:
    for record in (msg, {**msg, "summary": nested, "edevs": [nested]}):
        _typed_only(
            lambda record=record: v3.device_info_from(record),
            lambda record=record: v3.summary_from(record),
            lambda record=record: v3.status_from(record),
            lambda record=record: v3.settings_from(record),
            lambda record=record: v3.raise_for_code(record, "get.miner.status"),
        )


@FUZZ
@given(st.binary(max_size=64), st.booleans())
def test_whatsminer_v3_frames(payload: bytes, with_header: bool) -> None:
    """A frame is a 4-byte little-endian length and JSON: anything else is typed."""
    if with_header:
        payload = len(payload).to_bytes(4, "little") + payload

    async def read() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(payload)
        reader.feed_eof()
        transport = v3_transport.V3Transport("127.0.0.1", 4433, "pw", "super", Gate())
        with contextlib.suppress(MinerHubError, asyncio.IncompleteReadError):
            await transport._read_frame(reader)

    asyncio.run(read())


@FUZZ
@given(records(DRAGONMINT_FIELDS), records(DRAGONMINT_FIELDS), st.integers(0, 5))
def test_dragonmint_replies(
    reply: dict[str, Any], record: dict[str, Any], index: int
) -> None:
    for body in (reply, {**reply, "DEVS": [record], "POOLS": [record]}):
        _typed_only(
            lambda body=body: dragonmint.summary_from(body),
            lambda body=body: dragonmint.overview_from(body),
            lambda body=body: dragonmint.autotune_from(body),
            lambda body=body: dragonmint.reply_error(body, "summary"),
            lambda: dragonmint.chain_from(index, record),
            lambda: dragonmint.pool_from(index, record),
        )


@FUZZ
@given(records(SPIDERPOOL_FIELDS))
def test_spiderpool_records(record: dict[str, Any]) -> None:
    _typed_only(
        lambda: spiderpool_parse.worker_from(record),
        lambda: spiderpool_parse.series_from(record),
    )


@FUZZ
@given(st.binary(max_size=200) | JSON_VALUES.map(lambda v: repr(v).encode()),
       st.sampled_from([200, 400, 404, 429, 500, 503]))  # fmt: skip
def test_spiderpool_bodies(body: bytes, status: int) -> None:
    client = spiderpool.SpiderpoolClient(
        None,  # type: ignore[arg-type]  # nothing is sent
        "access",
        VENDOR_DEMO_PRIVATE_KEY_B64,
    )
    with contextlib.suppress(MinerHubError):
        client._data("/v1/api/user/subaccount/info", status, body)


_KEY = base64.b64decode(VENDOR_DEMO_PRIVATE_KEY_B64)


@FUZZ
@given(
    st.text(max_size=200)
    | st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
    | st.tuples(st.integers(0, len(_KEY) - 1), st.integers(0, 255)).map(
        lambda cut: base64.b64encode(
            _KEY[: cut[0]] + bytes([cut[1]]) + _KEY[cut[0] + 1 :]
        ).decode()
    )
)
def test_malformed_private_keys(text: str) -> None:
    """A damaged key is rejected with InvalidPrivateKey, never anything else."""
    try:
        key = spiderpool_crypto.load_private_key(text)
    except InvalidParameter:
        return
    assert key.has_private()
