"""Tests of the Spiderpool API emulator itself, with plain aiohttp and pycryptodome.

The client side is a bare ``aiohttp.ClientSession`` and a signing helper written here
(no Miner Hub code). Expected values come from the vendor document and
the reference notes ``spiderpool.md`` (ref §N), including its signing vector.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
from decimal import Decimal
import json
import os
import re
import stat
import time
from typing import Any, NamedTuple

import aiohttp
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.PublicKey.RSA import RsaKey
from Crypto.Signature import pkcs1_15
import pytest

from tests.emulators import (
    DOCUMENTED_ONLY_PATHS,
    VENDOR_DEMO_ACCESS_KEY,
    VENDOR_DEMO_PRIVATE_KEY_B64,
    VENDOR_DEMO_PUBLIC_KEY_PEM,
    SpiderpoolAccount,
    SpiderpoolEmulator,
    SpiderpoolErrorReply,
)
from tests.emulators.__main__ import KINDS

SUB = {"coin": "btc", "subaccount": "homeminer"}
SUCCESS_KEYS = ["code", "msg", "showErrorCode", "data"]
SP_KEYS = ["code", "msg", "t", "success", "data"]
PARAM_ERROR = ("INVALID_PARAM", "Parameter error")

# ref §2.5: vendor demonstration key, computed vector and its negative case.
VECTOR_DATA = '{"coin":"btc","subaccount":"test001"}'
VECTOR_TS = 1628381288000
VECTOR_SIGN = (
    "B7NAp3oHOGUy8SHyah55CAO/NTUCn3JGBpy3qy/nDPp8N/laEXAUlT3Jk56+4JQzH68ElYMG6muR9u/E"
    "cSgxbdyWNpitqe4hDv0BLXWIJsjxiNLwTgz5Am42oFaeFo8vGsR0/g1U5tOqj/H8bH1zf4xWY3N14y9F"
    "6juT7SQcUis="
)
VECTOR_BODY = (
    '{"dataJson":"{\\"coin\\":\\"btc\\",\\"subaccount\\":\\"test001\\"}",'
    '"accessKey":"5A842DAA0B8A4746B362FBF382A04CD9","timestamp":1628381288000,'
    f'"sign":"{VECTOR_SIGN}"}}'
)
VECTOR_SPACED_DATA = '{"coin": "btc", "subaccount": "test001"}'
VECTOR_SPACED_SIGN = (
    "cqNWvmSjzaZVvWMHHH6uG/W6+ib3WX7MPj4Xdl4pbB1ONfiA2n/ClS0QTw7lpOywzaunqMvQiwMsVRAH"
    "61wu35uyrkz+lIvN3izEE4++mfXKo9QYmp0oGyHgBxJjufMUlwlJr9aDLbvZPKRzHAQ6v31Z+ZxgBMia"
    "37ssoh/dIO0="
)


# ------------------------------------------------------------------ helpers


def sign(key: RsaKey, data_json: str, timestamp: int | str) -> str:
    """``base64(RSASSA-PKCS1-v1_5(MD5(utf8(dataJson + "|" + timestamp))))``."""
    digest = MD5.new(f"{data_json}|{timestamp}".encode())  # noqa: S303 - the protocol
    return base64.b64encode(pkcs1_15.new(key).sign(digest)).decode()


def compact(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def console_key(text: str) -> RsaKey:
    """Import a console key: bare base64 of PKCS#8 DER (ref §2.4)."""
    return RSA.import_key(base64.b64decode(text))


class Reply(NamedTuple):
    status: int
    body: Any  # parsed JSON, or the text if it is not JSON
    text: str
    headers: dict[str, str]


class Client:
    """Signs requests for one account; timestamps are unique per request."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        emu: SpiderpoolEmulator,
        account: SpiderpoolAccount | None = None,
    ) -> None:
        self.session = session
        self.emu = emu
        self.account = account or emu.account
        assert self.account.private_key is not None
        self.key = console_key(self.account.private_key_b64)
        self._last = 0

    def timestamp(self) -> int:
        self._last = max(self.emu.time_ms(), self._last + 1)
        return self._last

    def envelope(
        self,
        data: Any = None,
        *,
        data_json: str | None = None,
        timestamp: int | None = None,
    ) -> dict[str, Any]:
        text = (
            compact(SUB if data is None else data) if data_json is None else data_json
        )
        stamp = self.timestamp() if timestamp is None else timestamp
        return {
            "dataJson": text,
            "accessKey": self.account.access_key,
            "timestamp": stamp,
            "sign": sign(self.key, text, stamp),
        }

    async def call(self, path: str, data: Any = None, **kwargs: Any) -> Reply:
        return await self.send(path, self.envelope(data, **kwargs))

    async def send(
        self,
        path: str,
        body: Any,
        *,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if isinstance(body, str | bytes):
            data = body.encode() if isinstance(body, str) else body
            headers = {"Content-Type": "application/json"} | (headers or {})
        else:
            data = compact(body).encode()
            headers = {"Content-Type": "application/json"} | (headers or {})
        async with self.session.request(
            method, f"{self.emu.url}{path}", data=data, headers=headers
        ) as response:
            text = await response.text()
            try:
                parsed = json.loads(text, parse_float=Decimal)
            except ValueError:
                parsed = text
            return Reply(response.status, parsed, text, dict(response.headers))

    async def ok(self, path: str, data: Any = None) -> Any:
        """A call that must succeed in its family's shape; returns ``data``."""
        reply = await self.call(path, data)
        assert reply.status == 200, reply
        if path.startswith("/v2/sp/"):
            assert list(reply.body) == SP_KEYS
            assert (reply.body["code"], reply.body["success"]) == (200, True)
        else:
            assert list(reply.body) == SUCCESS_KEYS
            assert reply.body["code"] == "SUCCESS"
        return reply.body["data"]


def error_of(reply: Reply) -> tuple[Any, Any]:
    return reply.body["code"], reply.body["msg"]


@pytest.fixture
async def emu(socket_enabled: None) -> AsyncIterator[SpiderpoolEmulator]:
    async with SpiderpoolEmulator() as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


@pytest.fixture
def client(emu: SpiderpoolEmulator, session: aiohttp.ClientSession) -> Client:
    return Client(session, emu)


# ------------------------------------------------------------- keys and signing


async def test_keys_as_the_console_issues_them(emu: SpiderpoolEmulator) -> None:
    text = emu.private_key_b64
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text)  # bare base64, no armour
    assert text.startswith("MII")  # PKCS#8 DER (ref §2.3)
    private = console_key(text)
    assert private.has_private()
    assert private.size_in_bits() == 1024
    assert private.public_key() == emu.public_key
    assert emu.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert RSA.import_key(emu.private_key_pem) == private
    assert re.fullmatch(r"[0-9A-F]{32}", emu.access_key)
    same = SpiderpoolEmulator(seed=0)
    other = SpiderpoolEmulator(seed=1)
    assert (same.access_key, same.private_key_b64) == (emu.access_key, text)
    assert other.access_key != emu.access_key
    assert other.private_key_b64 != text
    assert emu.account.subaccounts[0] is emu.subaccount
    assert emu.workers is emu.subaccount.workers


async def test_vendor_vector_exact_bytes(
    emu: SpiderpoolEmulator, session: aiohttp.ClientSession
) -> None:
    key = console_key(VENDOR_DEMO_PRIVATE_KEY_B64)
    assert key.public_key() == RSA.import_key(VENDOR_DEMO_PUBLIC_KEY_PEM)
    assert sign(key, VECTOR_DATA, VECTOR_TS) == VECTOR_SIGN
    assert sign(key, VECTOR_SPACED_DATA, VECTOR_TS) == VECTOR_SPACED_SIGN
    vendor = emu.add_account(VENDOR_DEMO_ACCESS_KEY, VENDOR_DEMO_PUBLIC_KEY_PEM)
    assert vendor.private_key is None
    emu.add_subaccount("test001", account=vendor)
    emu.now = lambda: VECTOR_TS / 1000
    client = Client(session, emu, emu.add_account())
    path = "/v2/subaccount/getSubaccountProfitInfo"

    reply = await client.send(path, VECTOR_BODY)
    assert reply.status == 200
    assert reply.body["code"] == "SUCCESS"
    assert emu.received[-1].verdict == "ok"
    assert emu.received[-1].data_json == VECTOR_DATA
    assert emu.received[-1].data == {"coin": "btc", "subaccount": "test001"}

    # The same JSON re-serialised with spaces, carrying the compact string's sign.
    swapped = VECTOR_BODY.replace(
        compact(VECTOR_DATA)[1:-1], compact(VECTOR_SPACED_DATA)[1:-1]
    )
    assert swapped != VECTOR_BODY
    reply = await client.send(path, swapped)
    assert error_of(reply) == ("SIGN_INVALID", "Signature verification failed")
    assert emu.received[-1].verdict == "bad_signature"
    assert emu.received[-1].data is None  # never parsed
    # Signed over the string that is sent, spacing does not matter.
    spaced = swapped.replace(VECTOR_SIGN, VECTOR_SPACED_SIGN)
    reply = await client.send(path, spaced)
    assert reply.body["code"] == "SUCCESS"


async def test_signature_covers_the_raw_data_json_and_timestamp(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    good = client.envelope()
    # Other spacing, other key order, other timestamp, other key, broken base64.
    variants = [
        good | {"dataJson": json.dumps(SUB)},
        good | {"dataJson": compact({"subaccount": "homeminer", "coin": "btc"})},
        good | {"timestamp": good["timestamp"] + 1},
        good
        | {
            "sign": sign(
                console_key(VENDOR_DEMO_PRIVATE_KEY_B64),
                good["dataJson"],
                good["timestamp"],
            )
        },
        good | {"sign": "not base64!"},
        good | {"sign": good["sign"][:-8] + "AAAAAAA="},
    ]
    for body in variants:
        reply = await client.send(path, body)
        assert reply.status == 200
        assert list(reply.body) == SUCCESS_KEYS
        assert error_of(reply) == ("SIGN_INVALID", "Signature verification failed")
        assert (emu.received[-1].verdict, emu.received[-1].data) == (
            "bad_signature",
            None,
        )
    assert (await client.send(path, good)).body["code"] == "SUCCESS"
    # Non-ASCII text is signed as UTF-8.
    reply = await client.call(
        path, {"coin": "btc", "subaccount": "homeminer", "x": "é"}
    )
    assert reply.body["code"] == "SUCCESS"


async def test_unknown_key_and_disabled_permission(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    body = client.envelope() | {"accessKey": "0" * 32}
    reply = await client.send(path, body)
    assert error_of(reply) == ("ACCESS_KEY_INVALID", "The accessKey does not exist")
    assert emu.received[-1].verdict == "unknown_key"
    emu.account.api_enabled = False
    reply = await client.call(path)
    assert error_of(reply) == ("PERMISSION_DENIED", "API permission is not enabled")
    assert emu.received[-1].verdict == "permission_denied"
    # Codes and statuses are configurable (the real ones are undocumented).
    emu.faults.errors["permission_denied"] = SpiderpoolErrorReply("NO_AUTH", "x", 403)
    reply = await client.call(path)
    assert (reply.status, *error_of(reply)) == (403, "NO_AUTH", "x")


async def test_stale_and_future_timestamps(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    now = emu.time_ms()
    for offset, verdict in [
        (-301_000, "stale"),
        (301_000, "future"),
        (-295_000, "ok"),
        (295_000, "ok"),
    ]:
        reply = await client.call(path, timestamp=now + offset)
        assert emu.received[-1].verdict == verdict
        if verdict != "ok":
            assert error_of(reply) == (
                "TIMESTAMP_INVALID",
                "The request timestamp is out of range",
            )
    emu.faults.timestamp_tolerance = 5
    await client.call(path, timestamp=emu.time_ms() - 10_000)
    assert emu.received[-1].verdict == "stale"
    # The emulator clock moves without sleeping.
    body = client.envelope()
    emu.advance(6)
    await client.send(path, body)
    assert emu.received[-1].verdict == "stale"
    body = client.envelope(timestamp=emu.time_ms() + 8_000)
    await client.send(path, body)
    assert emu.received[-1].verdict == "future"
    emu.advance(4)
    await client.send(path, body)
    assert emu.received[-1].verdict == "ok"


async def test_replay_is_rejected(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    body = client.envelope()
    assert (await client.send(path, body)).body["code"] == "SUCCESS"
    reply = await client.send(path, body)
    assert error_of(reply) == ("REPEAT_REQUEST", "Repeated request")
    assert emu.verdicts()[-2:] == ["ok", "replay"]
    emu.advance(301)  # outside the window it is simply stale
    await client.send(path, body)
    assert emu.received[-1].verdict == "stale"
    emu.faults.replay_protection = False
    body = client.envelope()
    await client.send(path, body)
    await client.send(path, body)
    assert emu.verdicts()[-2:] == ["ok", "ok"]


async def test_malformed_envelopes(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    good = client.envelope()
    bodies: list[Any] = [
        {k: v for k, v in good.items() if k != "sign"},
        {k: v for k, v in good.items() if k != "dataJson"},
        {k: v for k, v in good.items() if k != "accessKey"},
        {k: v for k, v in good.items() if k != "timestamp"},
        good | {"timestamp": good["timestamp"] + 0.5},
        good | {"timestamp": True},
        good | {"timestamp": "12ab"},
        good | {"dataJson": SUB},
        good | {"accessKey": ""},
        [good],
        "null",
    ]
    for body in bodies:
        reply = await client.send(path, body)
        assert reply.status == 200
        assert error_of(reply) == PARAM_ERROR
        assert emu.received[-1].verdict == "malformed"
    # dataJson must be an object, checked only after the signature verified.
    reply = await client.call(path, data_json="[1]")
    assert error_of(reply) == PARAM_ERROR
    assert emu.received[-1].verdict == "malformed"
    reply = await client.call(path, data_json="{not json")
    assert error_of(reply) == PARAM_ERROR
    # The vendor Python example sends the timestamp as a string.
    stamp = client.timestamp()
    body = client.envelope(timestamp=stamp) | {"timestamp": str(stamp)}
    assert (await client.send(path, body)).body["code"] == "SUCCESS"
    # An empty dataJson is an empty object.
    reply = await client.call("/v2/sp/txPriorityChain/accountInfo", data_json="")
    assert reply.body["code"] == 200


async def test_spring_errors_before_any_controller(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    body = client.envelope()
    for path in [
        "/v2/subaccount/list",
        "/v2/subaccount/getSubaccountProfitInfo/",
        "/v2/Subaccount/getSubaccountProfitInfo",
        "/",
    ]:
        reply = await client.send(path, body)
        assert reply.status == 404
        assert list(reply.body) == ["timestamp", "status", "error", "path"]
        assert reply.body["status"] == 404
        assert reply.body["error"] == "Not Found"
        assert reply.body["path"] == path
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", reply.body["timestamp"]
        )
        assert reply.headers["Content-Type"].startswith("application/json")
        assert emu.received[-1].verdict == "not_found"
    path = "/v2/subaccount/getSubaccountProfitInfo"
    reply = await client.send(path, body, method="GET")
    assert (reply.status, reply.body["error"]) == (405, "Method Not Allowed")
    assert reply.headers["Allow"] == "POST"
    reply = await client.send(
        path, compact(body), headers={"Content-Type": "text/plain"}
    )
    assert (reply.status, reply.body["error"]) == (415, "Unsupported Media Type")
    emu.faults.require_json_content_type = False
    reply = await client.send(
        path, compact(body), headers={"Content-Type": "text/plain"}
    )
    assert reply.body["code"] == "SUCCESS"
    reply = await client.send(path, "{not json")
    assert (reply.status, reply.body["error"]) == (400, "Bad Request")
    assert emu.verdicts()[-4:] == [
        "method_not_allowed",
        "unsupported_media_type",
        "ok",
        "bad_request",
    ]
    # Paths can be switched off one by one or all documented-only ones at once.
    emu.faults.disabled_paths.add(path)
    assert (await client.call(path)).status == 404
    emu.faults.disabled_paths.clear()
    emu.faults.documented_only_endpoints = False
    assert (await client.call("/v2/subaccount/getSubaccountInfo")).status == 404
    assert (await client.call(path)).status == 200
    assert "/v2/subaccount/getSubaccountInfo" in DOCUMENTED_ONLY_PATHS
    assert set(DOCUMENTED_ONLY_PATHS) <= set(emu.paths)


# ---------------------------------------------------------------- envelopes


async def test_both_envelopes(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    async with SpiderpoolEmulator(envelope="code200") as emu:
        client = Client(session, emu)
        reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
        assert list(reply.body) == SP_KEYS
        assert (reply.body["code"], reply.body["msg"], reply.body["success"]) == (
            200,
            "Success",
            True,
        )
        assert abs(reply.body["t"] - emu.time_ms()) < 5000
        reply = await client.call(
            "/v2/subaccount/getSubaccountProfitInfo",
            {"coin": "btc", "subaccount": "nobody1"},
        )
        assert list(reply.body) == SP_KEYS
        assert (reply.body["code"], reply.body["success"], reply.body["data"]) == (
            "INVALID_PARAM",
            False,
            None,
        )
        emu.faults.envelope = "success"
        reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
        assert list(reply.body) == SUCCESS_KEYS
        assert reply.body["msg"] == "Operation is successful"
        assert reply.body["showErrorCode"] is None
        emu.faults.success_msg = None
        reply = await client.call("/v2/worker/getSubaccountWorkerDetailInfo")
        assert reply.body["msg"] is None
        # /v2/sp/* always answers the code-200 shape.
        reply = await client.call("/v2/sp/hashrate/subaccount/realHashRate")
        assert list(reply.body) == SP_KEYS
        reply = await client.call(
            "/v2/sp/hashrate/subaccount/realHashRate",
            {"coin": "btc", "subaccount": "nobody1"},
        )
        assert list(reply.body) == SP_KEYS
        assert reply.body["success"] is False


async def test_string_200_is_an_error(emu: SpiderpoolEmulator, client: Client) -> None:
    emu.faults.string_200_error = True
    reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
    assert (reply.status, reply.body["code"], reply.body["data"]) == (200, "200", None)
    reply = await client.call("/v2/sp/hashrate/subaccount/realHashRate")
    assert (reply.body["code"], reply.body["success"]) == ("200", False)
    assert emu.received[-1].verdict == "string_200"


# --------------------------------------------------------------- pagination


async def test_worker_list_pages(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/sp/hashrate/worker/list"
    first = await client.ok(path, SUB)
    assert list(first) == ["total", "pageNum", "pageSize", "pages", "records"]
    assert (first["total"], first["pageNum"], first["pageSize"], first["pages"]) == (
        12,
        1,
        10,
        2,
    )
    assert len(first["records"]) == 10
    second = await client.ok(path, SUB | {"pageNum": 2})
    assert (second["pageNum"], len(second["records"])) == (2, 2)
    assert (await client.ok(path, SUB | {"pageNum": 3}))["records"] == []
    names = [r["workerName"] for r in first["records"] + second["records"]]
    assert names == [w.name for w in emu.workers]
    assert len(set(names)) == 12
    everything = await client.ok(path, SUB | {"pageNum": 1, "pageSize": 100})
    assert (everything["pages"], len(everything["records"])) == (1, 12)
    emu.faults.max_page_size = 5
    capped = await client.ok(path, SUB | {"pageSize": 100})
    assert (capped["pageSize"], capped["pages"], len(capped["records"])) == (5, 3, 5)
    # "pageNumber" is not this endpoint's spelling: page 1 again.
    assert (await client.ok(path, SUB | {"pageNumber": 2}))["pageNum"] == 1
    record = first["records"][0]
    assert list(record) == [
        "workerName",
        "hashRate",
        "hashRate24h",
        "rejectRate",
        "status",
        "lastShareTime",
    ]
    assert record["status"] == "online"
    assert isinstance(record["hashRate"], str)
    assert second["records"][-1]["status"] == "offline"


async def test_payment_record_pages(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountPaymentRecord"
    first = await client.ok(path, SUB)
    assert list(first) == ["list", "total"]
    assert (first["total"], len(first["list"])) == (15, 10)
    second = await client.ok(path, SUB | {"pageNumber": 2})
    rows = first["list"] + second["list"]
    assert len(rows) == 15
    dates = [row["paymentDate"] for row in rows]
    assert dates == sorted(dates, reverse=True)  # newest first
    row = rows[0]
    assert list(row) == ["paymentDate", "paymentAddress", "paymentMoney", "txId"]
    assert row["paymentDate"] > 10**12  # ms
    assert row["paymentAddress"] == emu.subaccount.wallet_address
    assert isinstance(row["paymentMoney"], Decimal)
    assert re.fullmatch(r"[0-9a-f]{64}", row["txId"])
    # Time window in ms.
    window = await client.ok(
        path, SUB | {"startTimestamp": dates[3], "endTimestamp": dates[1]}
    )
    assert [r["paymentDate"] for r in window["list"]] == dates[1:4]
    emu.faults.payments_oldest_first = True
    oldest = await client.ok(path, SUB | {"pageSize": 3})
    assert [r["paymentDate"] for r in oldest["list"]] == sorted(dates)[:3]


async def test_profit_detail_pages(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountProfitDetailInfo"
    pages = [await client.ok(path, SUB | {"pageNumber": n}) for n in (1, 2, 3, 4, 5)]
    assert [p["total"] for p in pages] == [35] * 5
    assert [len(p["dayProfitList"]) for p in pages] == [10, 10, 10, 5, 0]
    day = pages[0]["dayProfitList"][0]
    assert list(day) == ["dayDate", "avgHashrate", "dayProfit"]
    assert day["dayDate"] % 86_400_000 == 0  # ms, UTC midnight
    assert isinstance(day["avgHashrate"], str)
    assert isinstance(day["dayProfit"], Decimal)
    # startTimestamp / endTimestamp are seconds.
    start = day["dayDate"] // 1000 - 2 * 86400
    window = await client.ok(path, SUB | {"startTimestamp": start})
    assert window["total"] == 3
    assert (await client.ok(path, SUB | {"bizType": "join_mining"}))["total"] == 35
    reply = await client.call(path, SUB | {"bizType": "other"})
    assert error_of(reply) == PARAM_ERROR


# --------------------------------------------------------------- rate limit


async def test_rate_limit_per_access_key(
    emu: SpiderpoolEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    emu.faults.rate_limit_per_second = 1.0
    assert (await client.call(path)).status == 200
    reply = await client.call(path)
    assert reply.status == 429
    assert error_of(reply) == ("TOO_MANY_REQUESTS", "Too many requests")
    assert reply.headers["Retry-After"] == "1"
    assert emu.received[-1].verdict == "rate_limited"
    other = Client(session, emu, emu.add_account())
    other_sub = emu.add_subaccount("another1", account=other.account, workers=1)
    assert (
        await other.call(path, {"coin": "btc", "subaccount": other_sub.name})
    ).status == 200
    emu.advance(1.0)
    assert (await client.call(path)).status == 200
    emu.faults.rate_limit_per_second = 0.25  # one per 4 s
    emu.advance(10)
    assert (await client.call(path)).status == 200
    reply = await client.call(path)
    assert reply.headers["Retry-After"] == "4"
    emu.faults.rate_limit_burst = 3
    emu.advance(12)
    statuses = [(await client.call(path)).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Switches: always answer the rate-limit reply, with or without Retry-After,
    # and with another code or status.
    emu.faults.rate_limit_per_second = None
    emu.faults.rate_limit = True
    assert (await client.call(path)).status == 429
    emu.faults.retry_after = False
    reply = await client.call(path)
    assert "Retry-After" not in reply.headers
    emu.faults.errors["rate_limited"] = SpiderpoolErrorReply("RATE_LIMIT", "slow down")
    reply = await client.call(path)
    assert (reply.status, *error_of(reply)) == (200, "RATE_LIMIT", "slow down")
    reply = await client.call("/v2/sp/hashrate/subaccount/realHashRate")
    assert (reply.body["code"], reply.body["success"]) == ("RATE_LIMIT", False)


# ------------------------------------------------------------------- faults


async def test_offline_refuses_and_comes_back_on_the_same_port(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    port = emu.port
    emu.faults.offline = True
    with pytest.raises(aiohttp.ClientConnectorError):
        await client.call("/v2/subaccount/getSubaccountProfitInfo")
    emu.faults.offline = False
    assert emu.port == port
    assert (await client.call("/v2/subaccount/getSubaccountProfitInfo")).status == 200


async def test_stall_drop_latency(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    emu.faults.stall = True
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await client.call(path)
    assert emu.received[-1].verdict == "stalled"
    assert emu.received[-1].status is None
    emu.faults.stall = False
    emu.faults.drop_requests = 1
    with pytest.raises(aiohttp.ClientError):
        await client.call(path)
    assert emu.received[-1].verdict == "dropped"
    assert emu.faults.drop_requests == 0
    emu.faults.latency = 0.05
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await client.call(path)).status == 200
    assert loop.time() - started >= 0.05


async def test_http_500_and_non_json(emu: SpiderpoolEmulator, client: Client) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    emu.faults.http_500 = True
    reply = await client.call(path)
    assert reply.status == 500
    assert reply.body == {
        "code": "500",
        "msg": "Internal Server Error",
        "showErrorCode": None,
        "data": None,
    }
    emu.faults.http_500_status = 200
    assert (await client.call(path)).status == 200
    emu.faults.http_500 = False
    emu.faults.non_json = True
    reply = await client.call(path)
    assert reply.status == 502
    assert reply.headers["Content-Type"].startswith("text/html")
    assert isinstance(reply.body, str)
    assert "502 Bad Gateway" in reply.text
    assert emu.verdicts()[-3:] == ["http_500", "http_500", "non_json"]
    emu.faults.non_json = False
    assert (await client.call(path)).status == 200


async def test_stop_leaves_nothing_behind(
    socket_enabled: None, session: aiohttp.ClientSession
) -> None:
    emu = SpiderpoolEmulator()
    await emu.start()
    client = Client(session, emu)
    emu.faults.stall = True
    pending = asyncio.ensure_future(
        client.call("/v2/subaccount/getSubaccountProfitInfo")
    )
    for _ in range(50):
        if emu.received:
            break
        await asyncio.sleep(0.01)
    await emu.stop()
    with pytest.raises(aiohttp.ClientError):
        await pending
    assert asyncio.all_tasks() == {asyncio.current_task()}
    await emu.stop()  # idempotent
    # Offline at start: the port is fixed but nothing listens.
    emu.faults.offline = True
    async with emu:
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.call("/v2/subaccount/getSubaccountProfitInfo")
    assert asyncio.all_tasks() == {asyncio.current_task()}


# ------------------------------------------------------------- parameters


async def test_parameter_and_subaccount_errors(
    emu: SpiderpoolEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    path = "/v2/subaccount/getSubaccountProfitInfo"
    reply = await client.call(path, {"coin": "BTC", "subaccount": "homeminer"})
    assert (reply.status, *error_of(reply)) == (
        500,
        "INVALID_PARAM",
        "Unsupported coin",
    )
    reply = await client.call(path, {"coin": "doge", "subaccount": "homeminer"})
    assert error_of(reply) == ("INVALID_PARAM", "Unsupported coin")
    emu.faults.unsupported_coin_status = 200
    assert (await client.call(path, {"coin": "BTC", "subaccount": "x"})).status == 200
    reply = await client.call(path, {"coin": "btc", "subaccount": "nobody1"})
    assert (reply.status, *error_of(reply)) == (
        200,
        "INVALID_PARAM",
        "The subaccount does not exist",
    )
    assert reply.body["data"] is None
    assert emu.received[-1].verdict == "ok"
    assert emu.received[-1].code == "INVALID_PARAM"
    for data in (
        {"coin": "btc"},
        {"subaccount": "homeminer"},
        {"coin": 1, "subaccount": "homeminer"},
    ):
        assert error_of(await client.call(path, data)) == PARAM_ERROR
    # Another account's sub-account does not exist for this key.
    other = Client(session, emu, emu.add_account())
    reply = await other.call(path, SUB)
    assert error_of(reply) == ("INVALID_PARAM", "The subaccount does not exist")


# -------------------------------------------------------- endpoint shapes


async def test_subaccount_info(emu: SpiderpoolEmulator, client: Client) -> None:
    rows = await client.ok("/v2/subaccount/getSubaccountInfo", {})
    assert len(rows) == 1
    row = rows[0]
    assert list(row) == [
        "coin",
        "subaccount",
        "walletAddress",
        "realtimeHashrate",
        "avgHashrate1440",
        "activeWorkerNum",
        "inactiveWorkerNum",
    ]
    assert (row["coin"], row["subaccount"]) == ("btc", "homeminer")
    assert (row["activeWorkerNum"], row["inactiveWorkerNum"]) == (10, 2)
    realtime = sum(int(w.hashrate or 0) for w in emu.workers)
    assert row["realtimeHashrate"] == str(realtime)
    assert 0.9e15 < realtime < 1.3e15  # H/s: about 1.1 PH/s
    assert re.fullmatch(r"\d+", row["avgHashrate1440"])
    assert await client.ok("/v2/subaccount/getSubaccountInfo", SUB) == rows
    assert (
        await client.ok(
            "/v2/subaccount/getSubaccountInfo",
            {"coin": "btc", "isGetSubaccountDetailInfo": True},
        )
        == rows
    )
    assert await client.ok("/v2/subaccount/getSubaccountInfo", {"coin": "fb"}) == []


async def test_profit_info(
    emu: SpiderpoolEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
    data = reply.body["data"]
    assert list(data) == [
        "yesterdayProfit",
        "unpaidProfit",
        "totalProfit",
        "dayEstimateProfit",
    ]
    assert "todayProfit" not in data
    sub = emu.subaccount
    assert data["yesterdayProfit"] == sub.yesterday_profit
    assert data["unpaidProfit"] == sub.unpaid_profit < sub.minimum_payment
    assert data["totalProfit"] == sub.total_profit
    assert Decimal("0.0003") < data["yesterdayProfit"] < Decimal("0.001")  # BTC
    numbers = re.findall(r'":(-?\d[^,}]*)', reply.text)
    assert len(numbers) == 4
    assert all(re.fullmatch(r"\d+\.\d{8}", n) for n in numbers), numbers
    # Tiny amounts are plain decimals, or Java BigDecimal.toString when asked.
    sub.unpaid_profit = Decimal("0.00000005")
    reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
    assert '"unpaidProfit":0.00000005,' in reply.text
    emu.faults.bigdecimal_exponents = True
    reply = await client.call("/v2/subaccount/getSubaccountProfitInfo")
    assert '"unpaidProfit":5E-8,' in reply.text
    # fb does not support dayEstimateProfit.
    emu.add_subaccount("fbminer", coin="fb", workers=2)
    fb = await client.ok(
        "/v2/subaccount/getSubaccountProfitInfo",
        {"coin": "fb", "subaccount": "fbminer"},
    )
    assert "dayEstimateProfit" not in fb


async def test_worker_detail(emu: SpiderpoolEmulator, client: Client) -> None:
    rows = await client.ok("/v2/worker/getSubaccountWorkerDetailInfo", SUB)
    assert len(rows) == 12  # no pagination
    assert list(rows[0]) == [
        "workerName",
        "realtimeHashrate",
        "avgHashrate1440",
        "avgRejectrate1440",
        "status",
        "lastShareTime",
    ]
    assert [r["status"] for r in rows] == ["active"] * 10 + ["inactive", "lost"]
    now = emu.time()
    for row in rows:
        assert isinstance(row["realtimeHashrate"], str)
        assert isinstance(row["avgRejectrate1440"], Decimal)
        assert 0 <= row["avgRejectrate1440"] < Decimal("0.01")
        assert now - 4 * 86400 < row["lastShareTime"] <= now  # seconds
    assert rows[0]["lastShareTime"] > now - 120
    assert rows[-1]["realtimeHashrate"] == "0"
    # Unknown values pass through: "" and null.
    emu.workers[0].hashrate = ""
    emu.workers[1].hashrate = None
    emu.workers[2].online = False
    rows = await client.ok("/v2/worker/getSubaccountWorkerDetailInfo", SUB)
    assert [r["realtimeHashrate"] for r in rows[:2]] == ["", None]
    assert rows[2]["status"] == "inactive"
    assert not emu.workers[2].online
    info = (await client.ok("/v2/subaccount/getSubaccountInfo", SUB))[0]
    assert info["activeWorkerNum"] == 9
    # Fields can be overridden per endpoint.
    emu.subaccount.overrides["/v2/subaccount/getSubaccountInfo"] = {
        "realtimeHashrate": None
    }
    emu.subaccount.overrides["/v2/sp/hashrate/worker/list"] = {"status": "weird"}
    info = (await client.ok("/v2/subaccount/getSubaccountInfo", SUB))[0]
    assert info["realtimeHashrate"] is None
    listing = await client.ok("/v2/sp/hashrate/worker/list", SUB)
    assert {r["status"] for r in listing["records"]} == {"weird"}


async def test_hashrate_charts(emu: SpiderpoolEmulator, client: Client) -> None:
    now = emu.time()
    hourly = await client.ok("/v2/subaccount/getSubaccountHashrateDetailInfo", SUB)
    assert list(hourly) == [
        "coin",
        "subaccount",
        "startTime",
        "timeInterval",
        "hashrates",
    ]
    assert (hourly["coin"], hourly["subaccount"], hourly["timeInterval"]) == (
        "btc",
        "homeminer",
        3600,
    )
    assert len(hourly["hashrates"]) == 24
    assert all(re.fullmatch(r"\d+", h) for h in hourly["hashrates"])
    assert hourly["startTime"] % 3_600_000 == 0
    assert now - 25 * 3600 <= hourly["startTime"] / 1000 <= now - 23 * 3600
    daily = await client.ok(
        "/v2/subaccount/getSubaccountHashrateDetailInfo", SUB | {"mode": "daily"}
    )
    assert (daily["timeInterval"], len(daily["hashrates"])) == (86400, 30)
    assert (
        error_of(
            await client.call(
                "/v2/subaccount/getSubaccountHashrateDetailInfo", SUB | {"mode": "x"}
            )
        )
        == PARAM_ERROR
    )

    path = "/v2/worker/getSubaccountWorkerHashrateDetailInfo"
    worker = await client.ok(path, SUB | {"worker": "s21-01"})
    assert list(worker) == ["startTime", "timeInterval", "hashrates"]
    assert len(worker["hashrates"]) == 24
    assert 0.8e14 < int(worker["hashrates"][0]) < 1.3e14
    assert (
        len(
            (await client.ok(path, SUB | {"worker": "s21-01", "mode": "daily"}))[
                "hashrates"
            ]
        )
        == 30
    )
    assert error_of(await client.call(path, SUB | {"worker": "ghost"})) == (
        "INVALID_PARAM",
        "The worker does not exist",
    )
    assert error_of(await client.call(path, SUB)) == PARAM_ERROR
    emu.add_subaccount("fbminer", coin="fb", workers=1)
    fb = {"coin": "fb", "subaccount": "fbminer", "worker": "s21-01"}
    assert (
        error_of(await client.call(path, fb | {"mode": "daily"})) == PARAM_ERROR
    )  # BTC only
    assert len((await client.ok(path, fb))["hashrates"]) == 24

    path = "/v2/subaccount/getHashrate"
    start = int(now) - 6 * 3600
    rows = await client.ok(path, SUB | {"mode": "hour", "startTimestamp": start})
    assert 5 <= len(rows) <= 6
    row = rows[0]
    assert list(row) == [
        "coin",
        "userName",
        "timestamp",
        "shareAcceptDiff",
        "shareRejectDiff",
        "shareAcceptHashRate",
        "shareRejectHashRate",
        "rejectRate",
    ]
    assert row["timestamp"] % 3600 == 0
    assert row["timestamp"] >= start
    assert row["userName"] == "homeminer"
    assert float(row["shareAcceptHashRate"]) == pytest.approx(
        row["shareAcceptDiff"] * 2**32 / 3600
    )
    assert 0.9e15 < row["shareAcceptHashRate"] < 1.3e15
    days = await client.ok(
        path, SUB | {"mode": "day", "startTimestamp": int(now) - 7 * 86400}
    )
    assert 6 <= len(days) <= 7
    assert error_of(await client.call(path, SUB | {"mode": "hour"})) == PARAM_ERROR
    assert (
        error_of(
            await client.call(path, SUB | {"mode": "week", "startTimestamp": start})
        )
        == PARAM_ERROR
    )
    huge = await client.ok(path, SUB | {"mode": "hour", "startTimestamp": -(10**15)})
    assert len(huge) <= 1000

    path = "/v2/sp/hashrate/subaccount/timeRangeHashRateChart"
    end = emu.time_ms()
    points = await client.ok(
        path, SUB | {"startTimestamp": end - 24 * 3_600_000, "endTimestamp": end}
    )
    assert 23 <= len(points) <= 24
    assert list(points[0]) == ["timestamp", "hashRate"]
    assert points[0]["timestamp"] % 3_600_000 == 0
    assert (
        error_of(await client.call(path, SUB | {"startTimestamp": end})) == PARAM_ERROR
    )


async def test_sp_hashrate_endpoints(emu: SpiderpoolEmulator, client: Client) -> None:
    real = await client.ok("/v2/sp/hashrate/subaccount/realHashRate", SUB)
    assert list(real) == [
        "subaccount",
        "hashRate",
        "staleRate",
        "rejectRate",
        "secondTimestamp",
        "lastShareTime",
    ]
    assert real["subaccount"] == "homeminer"
    assert real["hashRate"] == str(emu.subaccount.realtime_hashrate)
    assert re.fullmatch(r"0(\.\d+)?", real["staleRate"])
    assert re.fullmatch(r"0(\.\d+)?", real["rejectRate"])
    assert abs(real["secondTimestamp"] - emu.time()) < 5
    assert (
        real["secondTimestamp"] - 120 < real["lastShareTime"] <= real["secondTimestamp"]
    )
    full = await client.ok("/v2/sp/hashrate/subaccount/fullHashRate", SUB)
    assert list(full) == [
        "hashRate10",
        "hashRateHour",
        "hashRateDay",
        "staleRateHour",
        "staleRateDay",
    ]
    assert all(isinstance(v, str) for v in full.values())
    assert full["hashRateDay"] == str(emu.subaccount.hashrate_24h)
    # A new sub-account without workers reports zeros and the current time.
    assert (
        await client.ok(
            "/v2/subaccount/createSubaccount", {"coin": "btc", "subaccount": "empty01"}
        )
    ) is None
    empty = await client.ok(
        "/v2/sp/hashrate/subaccount/realHashRate",
        {"coin": "btc", "subaccount": "empty01"},
    )
    assert (empty["hashRate"], empty["staleRate"], empty["rejectRate"]) == (
        "0",
        "0",
        "0",
    )
    assert empty["lastShareTime"] == empty["secondTimestamp"]


async def test_day_and_hour_profit(emu: SpiderpoolEmulator, client: Client) -> None:
    day = emu.subaccount.day_profits[0]
    stamp = day.day_ms // 1000
    data = await client.ok(
        "/v2/sp/subaccount/getDayProfitDetailInfo", SUB | {"timeStamp": stamp}
    )
    assert list(data) == [
        "day",
        "coin",
        "userName",
        "subaccount",
        "withdrawAddress",
        "avgShareAccept",
        "dayProfit",
        "ppsDayProfit",
        "pplnsDayProfit",
        "difficult",
    ]
    assert (data["day"], data["coin"], data["userName"]) == (stamp, "btc", "homeminer")
    assert (
        data["dayProfit"] == day.profit == data["ppsDayProfit"] + data["pplnsDayProfit"]
    )
    assert isinstance(data["difficult"], str)
    assert data["avgShareAccept"] == int(day.avg_hashrate)
    # Any second of the day selects the day.
    later = await client.ok(
        "/v2/sp/subaccount/getDayProfitDetailInfo", SUB | {"timeStamp": stamp + 5000}
    )
    assert later["day"] == stamp
    future = await client.ok(
        "/v2/sp/subaccount/getDayProfitDetailInfo",
        SUB | {"timeStamp": stamp + 3 * 86400},
    )
    assert future is None
    assert (
        error_of(await client.call("/v2/sp/subaccount/getDayProfitDetailInfo", SUB))
        == PARAM_ERROR
    )
    hour = stamp + 7 * 3600
    data = await client.ok(
        "/v2/sp/subaccount/getHourProfitDetailInfo", SUB | {"timeStamp": hour + 59}
    )
    assert list(data) == ["day", "coin", "userName", "ppsDayProfit"]
    assert data["day"] == hour
    assert Decimal(0) < data["ppsDayProfit"] < day.profit / 12
    assert (
        await client.ok(
            "/v2/sp/subaccount/getHourProfitDetailInfo",
            SUB | {"timeStamp": int(emu.time())},
        )
        is None
    )


async def test_minimum_payment(emu: SpiderpoolEmulator, client: Client) -> None:
    get, update = (
        "/v2/subaccount/getUserMinimumPayment",
        "/v2/subaccount/updateUserMinimumPayment",
    )
    assert await client.ok(get, SUB) == {"minimumPayment": Decimal("0.001")}
    assert await client.ok(update, SUB | {"minimumPay": 0.005}) is None
    assert await client.ok(get, SUB) == {"minimumPayment": Decimal("0.005")}
    assert await client.ok(update, SUB | {"minimumPay": "0.0123"}) is None
    assert emu.subaccount.minimum_payment == Decimal("0.0123")
    for bad in (0, -1, "abc", True, None, 1000, "NaN"):
        reply = await client.call(update, SUB | {"minimumPay": bad})
        assert error_of(reply) == PARAM_ERROR, bad
    assert emu.subaccount.minimum_payment == Decimal("0.0123")


async def test_subaccount_writes(emu: SpiderpoolEmulator, client: Client) -> None:
    create = "/v2/subaccount/createSubaccount"
    assert await client.ok(create, {"coin": "btc", "subaccount": "garage42"}) is None
    reply = await client.call(create, {"coin": "btc", "subaccount": "garage42"})
    assert error_of(reply) == ("SUBACCOUNT_EXIST", "Account has been in existence")
    assert (
        error_of(await client.call(create, {"coin": "btc", "subaccount": "ab"}))[0]
        == "INVALID_SUBACCOUNT"
    )
    assert (
        error_of(await client.call(create, {"coin": "btc", "subaccount": "bad_name!"}))[
            0
        ]
        == "INVALID_SUBACCOUNT"
    )
    reply = await client.call(
        create, {"coin": "btc", "subaccount": "garage43", "walletAddress": "nope"}
    )
    assert error_of(reply)[0] == "IVAILD_WALLETADDRESS"
    wallet = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
    assert (
        await client.ok(
            create, {"coin": "btc", "subaccount": "garage43", "walletAddress": wallet}
        )
        is None
    )
    listing = await client.ok("/v2/sp/subaccount/list", {"coin": "btc"})
    assert listing[-1] == {
        "subaccount": "garage43",
        "coin": "btc",
        "withdrawAddress": wallet,
    }
    assert [row["subaccount"] for row in listing] == [
        "homeminer",
        "garage42",
        "garage43",
    ]
    assert len(await client.ok("/v2/sp/subaccount/list", {})) == 3

    modify = "/v2/subaccount/modifyWalletAddress"
    new = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    assert await client.ok(modify, SUB | {"newWalletAddress": new}) is None
    assert (await client.ok("/v2/subaccount/getSubaccountInfo", SUB))[0][
        "walletAddress"
    ] == new
    assert (
        error_of(await client.call(modify, SUB | {"newWalletAddress": "0x12"}))[0]
        == "IVAILD_WALLETADDRESS"
    )
    assert error_of(await client.call(modify, SUB)) == PARAM_ERROR

    link = "/v2/subaccount/subAccountObserverLink"
    first = await client.ok(link, SUB | {"type": "newSign"})
    assert list(first) == ["subaccount", "sign", "coin"]
    assert re.fullmatch(r"v[0-9a-f]{64}", first["sign"])
    assert (await client.ok(link, SUB | {"type": "newSign"}))["sign"] == first["sign"]
    reset = await client.ok(link, SUB | {"type": "resetSign"})
    assert reset["sign"] != first["sign"]
    assert await client.ok(link, SUB | {"type": "deleteSign"}) is None
    assert emu.subaccount.observer_sign is None
    assert error_of(await client.call(link, SUB | {"type": "other"})) == PARAM_ERROR


async def test_priority_chain(emu: SpiderpoolEmulator, client: Client) -> None:
    tx = "d0b0c82931c5c34fccb1f4acd42cadc999450921a1a3925ba6dce20ce10598f9"
    ask = {"txHash": tx, "informEmail": "test@test.com", "coin": "btc"}
    quote = await client.ok("/v2/sp/txPriorityChain/getChainingFee", ask)
    assert list(quote) == [
        "coin",
        "curTxSize",
        "unconfirmedPreTxSize",
        "unit",
        "totalFee",
        "theoreticalPayAmount",
        "txHash",
        "informEmail",
        "timeout",
    ]
    order = await client.ok(
        "/v2/sp/txPriorityChain/submit",
        ask | {"curTxSize": quote["curTxSize"], "totalFee": str(quote["totalFee"])},
    )
    assert (order["status"], order["txHash"], order["currency"]) == (3, tx, "btc")
    page = await client.ok(
        "/v2/sp/txPriorityChain/queryOrderPage", {"pageNumber": 1, "pageSize": 10}
    )
    assert page["total"] == 1
    assert page["list"][0]["coin"] == "BTC"
    detail = await client.ok("/v2/sp/txPriorityChain/orderDetail", {"txHash": tx})
    assert detail == page["list"][0]
    balances = await client.ok("/v2/sp/txPriorityChain/accountInfo", {})
    assert balances == [
        {
            "currency": "BTC",
            "availableBalance": Decimal("0.01") - quote["totalFee"],
            "totalConsumeAmount": quote["totalFee"],
        }
    ]
    assert (
        error_of(
            await client.call(
                "/v2/sp/txPriorityChain/orderDetail", {"txHash": "0" * 64}
            )
        )
        == PARAM_ERROR
    )
    assert (
        error_of(
            await client.call(
                "/v2/sp/txPriorityChain/queryOrderPage", {"pageNumber": 1}
            )
        )
        == PARAM_ERROR
    )
    reply = await client.call(
        "/v2/sp/txPriorityChain/submit", ask | {"curTxSize": 1, "totalFee": 5}
    )
    assert error_of(reply) == ("INVALID_PARAM", "Insufficient balance")


# ---------------------------------------------------------- record and CLI


async def test_received_records_every_request(
    emu: SpiderpoolEmulator, client: Client
) -> None:
    body = client.envelope({"coin": "btc", "subaccount": "homeminer"})
    await client.send("/v2/subaccount/getSubaccountProfitInfo", body)
    record = emu.received[-1]
    assert (record.method, record.path, record.verdict, record.status, record.code) == (
        "POST",
        "/v2/subaccount/getSubaccountProfitInfo",
        "ok",
        200,
        "SUCCESS",
    )
    assert record.envelope == body
    assert (record.access_key, record.timestamp, record.sign) == (
        emu.access_key,
        body["timestamp"],
        body["sign"],
    )
    assert record.data_json == body["dataJson"]
    assert record.data == SUB
    assert json.loads(record.body) == body
    assert abs(record.at - emu.time()) < 5


async def test_cli_prints_credentials(
    socket_enabled: None,
    session: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
) -> None:
    _, add_arguments, run = KINDS["spiderpool"]
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    key_file = tmp_path / "spiderpool.key"
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--workers",
            "3",
            "--key-file",
            str(key_file),
            "--rate-limit",
            "5",
        ]
    )
    task = asyncio.ensure_future(run(args))
    output = ""
    for _ in range(200):
        output += capsys.readouterr().out
        if "SPIDERPOOL_SUBACCOUNT" in output:
            break
        await asyncio.sleep(0.01)
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    assert values["SPIDERPOOL_COIN"] == "btc"
    assert values["SPIDERPOOL_SUBACCOUNT"] == "homeminer"
    assert key_file.read_text().strip() == values["SPIDERPOOL_PRIVATE_KEY"]
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    key = console_key(values["SPIDERPOOL_PRIVATE_KEY"])
    data_json = compact(SUB)
    stamp = int(time.time() * 1000)
    body = {
        "dataJson": data_json,
        "accessKey": values["SPIDERPOOL_ACCESS_KEY"],
        "timestamp": stamp,
        "sign": sign(key, data_json, stamp),
    }
    async with session.post(
        f"{values['SPIDERPOOL_URL']}/v2/worker/getSubaccountWorkerDetailInfo", json=body
    ) as response:
        reply = await response.json()
    assert reply["code"] == "SUCCESS"
    assert len(reply["data"]) == 3
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
