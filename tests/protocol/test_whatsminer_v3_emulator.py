"""Tests of the Whatsminer API v3 emulator itself, over raw asyncio sockets.

The client side is deliberately tiny and independent of Miner Hub's client: the
4-byte framing, SHA-256 token and AES parameter encryption are written here from
the reference (ref §9), and the vendor's test vector (ref §9.3) pins them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
import hashlib
import io
import json
import logging
import math
import random
import struct
import tarfile
import time
from typing import Any

from Crypto.Cipher import AES
import pytest

from custom_components.miner_hub.protocol.whatsminer.crypto import md5_crypt
from tests.emulators import (
    M60S_VK40,
    ReceivedV3Command,
    V3Faults,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)
from tests.emulators.__main__ import KINDS
from tests.emulators.whatsminer_v2 import (
    BOARD_IDLE_RISE,
    BOARD_RISE_PER_LOAD,
    HASH_STABLE_SECONDS,
    PSU_IDLE_RISE,
    PSU_RISE_PER_LOAD,
)

# The vendor vector (ref §9.3, mdk tests/unit/api-v3-auth.test.js).
VENDOR_PASSWORD = "super"
VENDOR_SALT = "5QAHiKMb"
VENDOR_TS = 1692685512
VENDOR_CMD = "set.miner.pools"
VENDOR_SHA256 = "b7957365d05ec273e788a1034d1a4b0df51b295a3da79d14f46b2bf7b56e4ab3"
VENDOR_TOKEN = "t5VzZdBe"
VENDOR_POOLS = [{"pool": "stratum+tcp://pool:3333", "worker": "worker", "passwd": "x"}]
VENDOR_ENC = (
    "M7c6KBuUVIiP+BnrFxPBexRUr3Zw94Ng42eBDFq02W9o7MSxcGd0EcmSwVx72paF9s8xliqcLqi0"
    "0gxEFa8AzpW/A3R+69wXNkHPuGtqhA4="
)
VENDOR_ENC_SPACED = (
    "jbAT2on1f02Fj1gIAAS6DC9GmyJQI+5CdldDO7B+qe5gI5v11cV87dUphKDvCNBXtXhmluMfGVa8"
    "yy/g4B2szLUwgQwETvQHTd0A58ln8LA="
)
PASSWORD = "super"
FROZEN_NOW = 1_767_225_600.0  # 2026-01-01
MISSING: Any = object()


# ------------------------------------------------------------------- client side


def frame(payload: bytes) -> bytes:
    return struct.pack("<I", len(payload)) + payload


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def digest_of(cmd: str, password: str, salt: str, ts: int) -> bytes:
    return hashlib.sha256(f"{cmd}{password}{salt}{ts}".encode()).digest()


def token_of(key: bytes) -> str:
    return base64.b64encode(key).decode()[:8]


def seal(param: Any, key: bytes, *, zero: bool = False) -> str:
    plain = compact(param)
    if zero:
        plain += b"\0" * (-len(plain) % 16)
    else:
        pad = 16 - len(plain) % 16
        plain += bytes([pad]) * pad
    return base64.b64encode(AES.new(key, AES.MODE_ECB).encrypt(plain)).decode()


async def read_frame(reader: asyncio.StreamReader, wait: float = 3.0) -> Any:
    """One reply frame, or None at EOF."""
    try:
        header = await asyncio.wait_for(reader.readexactly(4), wait)
    except asyncio.IncompleteReadError:
        return None
    (length,) = struct.unpack("<I", header)
    if not 0 < length <= 1 << 20:
        raise ValueError(f"absurd frame length {length}")
    return json.loads(await asyncio.wait_for(reader.readexactly(length), wait))


async def exchange(
    port: int, payload: bytes, *, pieces: int = 1, half_close: bool = False
) -> tuple[Any, bytes]:
    """Send raw bytes; return the first frame (or None) and what follows to EOF."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        size = max(1, -(-len(payload) // pieces))
        for start in range(0, len(payload), size):
            writer.write(payload[start : start + size])
            await writer.drain()
            if pieces > 1:
                await asyncio.sleep(0.001)
        if half_close:
            writer.write_eof()
        reply = await read_frame(reader)
        rest = await asyncio.wait_for(reader.read(), 3.0)
        return reply, rest
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def call(emu: WhatsminerV3Emulator, request: dict[str, Any]) -> Any:
    reply, rest = await exchange(emu.port, frame(compact(request)))
    assert rest == b""  # close after reply
    return reply


async def read(emu: WhatsminerV3Emulator, cmd: str, param: Any = MISSING) -> Any:
    request: dict[str, Any] = {"cmd": cmd}
    if param is not MISSING:
        request["param"] = param
    return await call(emu, request)


def clock(emu: WhatsminerV3Emulator) -> int:
    return int(emu.now() + emu.v2._clock_offset)


def signed(
    emu: WhatsminerV3Emulator,
    cmd: str,
    param: Any = MISSING,
    *,
    password: str | None = None,
    salt: str | None = None,
    account: str = "super",
    ts: int | None = None,
    encrypt: bool | None = None,
    zero: bool = False,
) -> dict[str, Any]:
    ts = clock(emu) if ts is None else ts
    key = digest_of(
        cmd,
        PASSWORD if password is None else password,
        emu.state.salt if salt is None else salt,
        ts,
    )
    request: dict[str, Any] = {"cmd": cmd}
    if param is not MISSING:
        if encrypt is None:
            encrypt = cmd in ("set.miner.pools", "set.user.change_passwd")
        request["param"] = seal(param, key, zero=zero) if encrypt else param
    request |= {"ts": ts, "token": token_of(key), "account": account}
    return request


async def write(
    emu: WhatsminerV3Emulator, cmd: str, param: Any = MISSING, **kw: Any
) -> Any:
    return await call(emu, signed(emu, cmd, param, **kw))


def ok(reply: Any, cmd: str) -> None:
    assert reply["code"] == 0, reply
    assert reply["msg"] == "ok"
    assert reply["desc"] == cmd
    assert isinstance(reply["when"], int)


def refused(reply: Any, code: int) -> str:
    assert reply["code"] == code, reply
    assert isinstance(reply["msg"], str)
    return str(reply["msg"])


async def v2_read(emu: WhatsminerV3Emulator, cmd: str, **params: Any) -> Any:
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.v2.port)
    try:
        writer.write(json.dumps({"cmd": cmd, **params}).encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 3.0)
    finally:
        writer.close()
        await writer.wait_closed()
    return json.loads(raw.rstrip(b"\0\n"))


async def summary(emu: WhatsminerV3Emulator) -> dict[str, Any]:
    reply = await read(emu, "get.miner.status", "summary")
    result: dict[str, Any] = reply["msg"]["summary"]
    return result


async def setting(emu: WhatsminerV3Emulator) -> dict[str, Any]:
    reply = await read(emu, "get.miner.setting")
    result: dict[str, Any] = reply["msg"]
    return result


def mining(emu: WhatsminerV3Emulator) -> bool:
    """Read through a call, so mypy does not keep an earlier narrowing."""
    return emu.state.mining


def led(emu: WhatsminerV3Emulator) -> object:
    return emu.state.led


async def refuses(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return False


def frozen(emulator: WhatsminerV3Emulator) -> WhatsminerV3Emulator:
    """Stop the clock: reboots and restarts end only through ``advance()``."""
    emulator.now = lambda: FROZEN_NOW
    return emulator


@pytest.fixture
async def emu(socket_enabled: None) -> AsyncIterator[WhatsminerV3Emulator]:
    async with frozen(WhatsminerV3Emulator(password=PASSWORD)) as emulator:
        yield emulator


# ------------------------------------------------------------ vendor vector


def test_vendor_vector_helpers() -> None:
    key = digest_of(VENDOR_CMD, VENDOR_PASSWORD, VENDOR_SALT, VENDOR_TS)
    assert key.hex() == VENDOR_SHA256
    assert token_of(key) == VENDOR_TOKEN
    assert seal(VENDOR_POOLS, key) == VENDOR_ENC
    spaced = json.dumps(VENDOR_POOLS).encode()
    spaced += bytes([16 - len(spaced) % 16]) * (16 - len(spaced) % 16)
    cipher = AES.new(key, AES.MODE_ECB).encrypt(spaced)
    assert base64.b64encode(cipher).decode() == VENDOR_ENC_SPACED


async def test_vendor_vector_is_accepted(socket_enabled: None) -> None:
    async with WhatsminerV3Emulator(password=VENDOR_PASSWORD) as emu:
        emu.now = lambda: float(VENDOR_TS)
        emu.state.salt = VENDOR_SALT
        request = (
            '{"cmd":"set.miner.pools","ts":1692685512,"token":"t5VzZdBe",'
            f'"account":"super","param":"{VENDOR_ENC}"}}'
        ).encode()
        reply, _ = await exchange(emu.port, frame(request))
        assert reply == {
            "code": 0,
            "when": VENDOR_TS,
            "msg": "ok",
            "desc": "set.miner.pools",
        }
        assert emu.state.pools == [("stratum+tcp://pool:3333", "worker", "x")]
        assert emu.received[-1] == ReceivedV3Command(
            cmd="set.miner.pools",
            param=VENDOR_POOLS,
            ts=VENDOR_TS,
            token_ok=True,
            account="super",
            peer="127.0.0.1",
            encrypted=True,
        )
        assert emu.token(VENDOR_CMD, VENDOR_TS) == VENDOR_TOKEN
        # The same request one minute and one second later is stale: -4.
        emu.advance(61)
        reply, _ = await exchange(emu.port, frame(request))
        assert refused(reply, -4) == "no permission"


async def test_account_is_configurable(socket_enabled: None) -> None:
    async with WhatsminerV3Emulator(password=PASSWORD, account="operator") as emu:
        refused(await write(emu, "set.system.led", "auto"), -4)
        ok(
            await write(emu, "set.system.led", "auto", account="operator"),
            "set.system.led",
        )


# ----------------------------------------------------------------- transport


async def test_close_after_reply_by_default(emu: WhatsminerV3Emulator) -> None:
    reply, rest = await exchange(emu.port, frame(compact({"cmd": "get.device.info"})))
    assert reply["code"] == 0
    assert rest == b""


async def test_keep_alive_serves_many_frames(socket_enabled: None) -> None:
    async with WhatsminerV3Emulator(password=PASSWORD, keep_alive=True) as emu:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        # The vendor sample: get.device.info, then a write on the same socket.
        writer.write(frame(compact({"cmd": "get.device.info", "param": "salt"})))
        salt = (await read_frame(reader))["msg"]["salt"]
        writer.write(
            frame(compact(signed(emu, "set.miner.service", "stop", salt=salt)))
        )
        ok(await read_frame(reader), "set.miner.service")
        writer.write(frame(compact({"cmd": "get.miner.setting"})))
        assert (await read_frame(reader))["desc"] == "get.miner.setting"
        writer.close()
        await writer.wait_closed()
        assert not emu.state.mining
        emu.faults.idle_timeout = 0.05
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        assert await asyncio.wait_for(reader.read(), 2.0) == b""  # idle close
        writer.close()


async def test_fragmented_and_half_closed_requests(emu: WhatsminerV3Emulator) -> None:
    payload = frame(compact({"cmd": "get.miner.status", "param": "summary"}))
    reply, _ = await exchange(emu.port, payload, pieces=len(payload))
    assert reply["desc"] == "get.miner.status"
    reply, _ = await exchange(emu.port, payload, half_close=True)
    assert "summary" in reply["msg"]


BAD_FRAMES = {
    "length-0": b"\0\0\0\0",
    "absurd-length": struct.pack("<I", 1 << 30) + b"{}",
    "unframed-json": compact({"cmd": "get.device.info"}),
    "short-header": b"\x05\x00",
    "short-body": struct.pack("<I", 50) + b'{"cmd"',
}


async def test_bad_frames_close_without_reply(emu: WhatsminerV3Emulator) -> None:
    for name, payload in BAD_FRAMES.items():
        reply, rest = await exchange(emu.port, payload, half_close=True)
        assert (reply, rest) == (None, b""), name
    assert await read(emu, "get.miner.setting")  # still serving


async def test_heartbeat_frames_when_enabled(emu: WhatsminerV3Emulator) -> None:
    emu.faults.heartbeat_frames = True
    payload = b"\0\0\0\0" * 3 + frame(compact({"cmd": "get.miner.setting"}))
    reply, _ = await exchange(emu.port, payload)
    assert reply["desc"] == "get.miner.setting"


INVALID_REQUESTS: list[tuple[bytes, int, str]] = [
    (b"not json", -1, ""),
    (b"\xff\xfe", -1, ""),
    (b"[1,2]", -2, ""),
    (b'{"param":"salt"}', -2, ""),
    (b'{"cmd":""}', -2, ""),
    (b'{"cmd":5}', -2, ""),
    (b'{"cmd":"get.nothing"}', -2, "get.nothing"),
    (
        b'{"cmd":"set.nothing","ts":1,"token":"x","account":"super"}',
        -2,
        "set.nothing",
    ),
    (b'{"cmd":"summary"}', -2, "summary"),
    (b"[" * 30000 + b"]" * 30000, -2, ""),
]


async def test_invalid_requests(emu: WhatsminerV3Emulator) -> None:
    for body, code, desc in INVALID_REQUESTS:
        reply, _ = await exchange(emu.port, frame(body))
        refused(reply, code)
        assert reply["desc"] == desc


async def test_never_crashes_on_random_input(
    emu: WhatsminerV3Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(6)
    samples = [
        b'{"cmd":"set.miner.pools","param":[1],"ts":"x","token":null}',
        b'{"cmd":"get.miner.status","param":{"a":1}}',
        b'{"cmd":"get.device.info","param":["salt"]}',
        b'{"cmd":"get.miner.history","param":"\\ud800"}',
        b'{"cmd":"set.system.led","ts":1e400,"token":"\\ud800","account":"super"}',
    ]
    for _ in range(40):
        size = rng.randrange(1, 60)
        samples.append(bytes(rng.randrange(256) for _ in range(size)))
    for sample in samples:
        reply, _ = await exchange(emu.port, frame(sample))
        assert reply is None or reply["code"] in (-1, -2, -3, -4)
    assert await read(emu, "get.miner.setting")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --------------------------------------------------------------------- reads


async def test_device_info_full(emu: WhatsminerV3Emulator) -> None:
    reply = await read(emu, "get.device.info")
    assert reply["code"] == 0
    assert reply["desc"] == "get.device.info"
    msg = reply["msg"]
    assert list(msg) == ["network", "miner", "system", "power", "salt"]
    assert msg["salt"] == emu.state.salt
    assert len(msg["salt"]) == 8
    assert msg["network"]["mac"] == emu.state.mac
    assert msg["miner"]["type"] == "M60S_VK40"
    assert msg["miner"]["working"] == "true"
    assert msg["miner"]["board-num"] == "3"
    assert {"pcbsn0", "chipdata2", "miner-sn", "detect-hash-rate"} <= set(msg["miner"])
    assert msg["system"] == {
        "api": "3.0.2",
        "platform": "H616",
        "fwversion": "20251209.16.Rel2",
        "control-board-version": "CB6V10",
        "apiswitch": "1",
        "ledstatus": "auto",
    }
    assert isinstance(msg["power"]["fanspeed"], int)
    assert "pin" not in msg["power"]
    # The same miner on the reduced v2 API.
    version = await v2_read(emu, "get_version")
    assert version["Msg"]["fw_ver"] == "20251209.16.Rel2"
    assert version["Msg"]["miner_type"] == "M60S_VK40"
    info = await v2_read(emu, "get_miner_info")
    assert info["Msg"]["mac"] == msg["network"]["mac"]


async def test_device_info_sections(emu: WhatsminerV3Emulator) -> None:
    full = (await read(emu, "get.device.info"))["msg"]
    for section in ("network", "miner", "system", "power", "salt", "error-code"):
        reply = await read(emu, "get.device.info", section)
        assert reply["code"] == 0
        assert list(reply["msg"]) == [section]
        assert reply["msg"][section] == full.get(section, [])


async def test_device_info_errors_and_bad_sections(emu: WhatsminerV3Emulator) -> None:
    emu.state.error_codes = [
        ("264", "2026-05-23 09:19:10"),
        ("531", "2026-05-23 09:20:00"),
    ]
    emu.state.error_reasons = {"264": "Power xfer error. code: 0xffffffffc0000000"}
    errors = (await read(emu, "get.device.info"))["msg"]["error-code"]
    assert errors == [
        {
            "264": "2026-05-23 09:19:10",
            "reason": "Power xfer error. code: 0xffffffffc0000000",
        },
        {"531": "2026-05-23 09:20:00", "reason": "Error code 531."},
    ]
    for bad in ("bogus", 5, ["salt"]):
        refused(await read(emu, "get.device.info", bad), -2)
    emu.faults.psu_telemetry = True
    power = (await read(emu, "get.device.info", "power"))["msg"]["power"]
    assert {"iin", "vin", "vout", "pin", "temp0"} <= set(power)


async def test_miner_status_needs_a_param(emu: WhatsminerV3Emulator) -> None:
    for param in (MISSING, None, ""):
        reply = await read(emu, "get.miner.status", param)
        assert refused(reply, -3) == "param item is null"
        assert reply["desc"] == "get.miner.status"


async def test_miner_status_sections_and_joins(emu: WhatsminerV3Emulator) -> None:
    joined = (await read(emu, "get.miner.status", "summary+pools+edevs"))["msg"]
    assert list(joined) == ["summary", "pools", "edevs"]
    pools = (await read(emu, "get.miner.status", "pools"))["msg"]
    assert pools == {"pools": joined["pools"]}
    assert joined["pools"][0] == {
        "url": "stratum+tcp://btc.ss.poolin.com:443",
        "account": "microbtinitial",
        "status": "alive",
        "stratum-active": True,
        "pool-priority": 0,
    }
    edevs = joined["edevs"]
    assert [row["id"] for row in edevs] == [0, 1, 2]
    assert set(edevs[0]) == {
        "id",
        "status",
        "freq",
        "effective-chips",
        "factory-hash",
        "hash-average",
        "hash-realtime",
        "chip-temp-min",
        "chip-temp-avg",
        "chip-temp-max",
    }
    refused(await read(emu, "get.miner.status", "summary+devs"), -2)
    refused(await read(emu, "get.miner.status", {"a": 1}), -2)


async def test_summary_is_the_v2_miner_in_th(emu: WhatsminerV3Emulator) -> None:
    v3 = await summary(emu)
    assert v3["factory-hash"] == pytest.approx(M60S_VK40.factory_ghs / 1000)
    assert 175 < v3["hash-average"] < 190  # TH/s
    assert isinstance(v3["elapsed"], int)
    assert isinstance(v3["board-temperature"], list)
    assert len(v3["board-temperature"]) == 3
    assert v3["chip-temp-min"] <= v3["chip-temp-avg"] <= v3["chip-temp-max"]
    assert v3["power-limit"] == 3600
    v2 = (await v2_read(emu, "summary"))["Msg"]  # flat, TH/s (ref §5.2)
    assert v2["MHS av"] == v3["hash-average"]
    assert v2["HS RT"] == v3["hash-realtime"]
    assert v2["Power"] == v3["power-realtime"]
    assert v2["Power Limit"] == v3["power-limit"]
    assert v2["Fan Speed In"] == v3["fan-speed-in"]
    assert "Chip Temp Avg" not in v2
    devs = (await v2_read(emu, "edevs"))["DEVS"]
    edevs = (await read(emu, "get.miner.status", "edevs"))["msg"]["edevs"]
    assert [d["MHS av"] for d in devs] == [e["hash-average"] for e in edevs]
    assert [d["Temperature"] for d in devs] == v3["board-temperature"]


async def test_miner_setting_shape(emu: WhatsminerV3Emulator) -> None:
    assert await setting(emu) == {
        "power-limit": 3600,
        "upfreq-speed": 0,
        "power-mode": "normal",
        "fast-boot": "disable",
        "fast-hash": "disable",
        "heat-mode": "normal",
        "target-freq": 0,
        "power": 0,
        "power-percent": 100,
        "btrom-worker-suffix": "",
    }


async def test_idle_firmware_rejects_pools_alone(emu: WhatsminerV3Emulator) -> None:
    emu.faults.idle_rejects_pools = True
    assert (await read(emu, "get.miner.status", "pools"))["code"] == 0  # mining
    ok(await write(emu, "set.miner.service", "stop"), "set.miner.service")
    refused(await read(emu, "get.miner.status", "pools"), -1)
    msg = (await read(emu, "get.miner.status", "summary+pools"))["msg"]
    assert list(msg) == ["summary"]


async def test_history(emu: WhatsminerV3Emulator) -> None:
    now = clock(emu)
    reply = await read(emu, "get.miner.history", {"start": "1", "stop": f"{now}.5"})
    records = reply["msg"]["Data"].split(" ")
    assert 2 <= len(records) <= 144
    ts, hashrate, power = records[-1].split(",")
    assert int(ts) % 600 == 0
    assert now - 600 < int(ts) <= now
    assert float(hashrate) > 100
    assert int(power) > 1000
    window = {"begin": str(now - 1799), "end": str(now)}  # now % 600 == 0
    data = (await read(emu, "get.miner.history", window))["msg"]["Data"]
    assert [int(record.split(",")[0]) for record in data.split()] == [
        now - 1200,
        now - 600,
        now,
    ]
    refused(await read(emu, "get.miner.history"), -3)
    refused(await read(emu, "get.miner.history", {"begin": "x", "end": "1"}), -1)
    refused(await read(emu, "get.miner.history", {"begin": 10, "end": 5}), -1)


async def test_other_setting_reads(emu: WhatsminerV3Emulator) -> None:
    fan = (await read(emu, "get.fan.setting"))["msg"]
    assert fan == {"fan-poweroff-cool": 0, "fan-zero-speed": 0, "fan-temp-offset": 0}
    system = (await read(emu, "get.system.setting"))["msg"]
    assert system["hostname"] == emu.state.hostname
    assert system["ntp-server"]
    assert (await read(emu, "get.device.custom_data"))["msg"] == {}


async def test_log_download(emu: WhatsminerV3Emulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact({"cmd": "get.log.download"})))
    header = await read_frame(reader)
    size = int(header["msg"]["logsize"])
    data = await reader.readexactly(size)
    assert await reader.read() == b""
    writer.close()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        member = archive.extractfile("messages")
        assert member is not None
        assert b"btminer" in member.read()


# -------------------------------------------------------------------- tokens


TOKEN_FAILURES: dict[str, dict[str, Any]] = {
    "wrong-token": {"token": "AAAAAAAA"},
    "null-token": {"token": None},
    "no-ts": {"ts": None},
    "string-ts": {"ts": "NOW"},
    "bool-ts": {"ts": True},
    "no-account": {"account": None},
    "account-without-password": {"account": "user1"},
    "unknown-account": {"account": "admin"},
    "wrong-password": {"password": "wrong"},
    "wrong-salt": {"salt": "AAAAAAAA"},
    "stale-ts": {"skew": -61},
    "future-ts": {"skew": 61},
}


async def test_token_failures_are_no_permission(emu: WhatsminerV3Emulator) -> None:
    for name, case in TOKEN_FAILURES.items():
        change = dict(case)
        request = signed(
            emu,
            "set.miner.power_mode",
            "low",
            password=change.pop("password", None),
            salt=change.pop("salt", None),
            ts=clock(emu) + change.pop("skew", 0),
        )
        for key, value in change.items():
            if value is None:
                del request[key]
            elif key == "ts" and value == "NOW":
                request["ts"] = str(request["ts"])
            else:
                request[key] = value
        reply = await call(emu, request)
        assert refused(reply, -4) == "no permission", name
        assert reply["desc"] == "set.miner.power_mode"
        assert emu.received[-1].token_ok is False
    assert emu.state.power_mode == "Normal"


async def test_ts_window(emu: WhatsminerV3Emulator) -> None:
    now = clock(emu)
    ok(await write(emu, "set.system.led", "auto", ts=now - 60), "set.system.led")
    ok(await write(emu, "set.system.led", "auto", ts=now + 60), "set.system.led")
    emu.faults.ts_skew = 5
    refused(await write(emu, "set.system.led", "auto", ts=now - 10), -4)
    emu.faults.ts_skew = None
    ok(await write(emu, "set.system.led", "auto", ts=12345), "set.system.led")


async def test_salt_change_then_refresh(emu: WhatsminerV3Emulator) -> None:
    old = (await read(emu, "get.device.info", "salt"))["msg"]["salt"]
    new = emu.rotate_salt()
    assert new != old
    refused(await write(emu, "set.miner.service", "stop", salt=old), -4)
    fresh = (await read(emu, "get.device.info", "salt"))["msg"]["salt"]
    assert fresh == new
    ok(await write(emu, "set.miner.service", "stop", salt=fresh), "set.miner.service")
    assert emu.rotate_salt("QbVy1Ou3") == "QbVy1Ou3"


async def test_salt_may_change_on_reboot(emu: WhatsminerV3Emulator) -> None:
    emu.faults.salt_changes_on_reboot = True
    old = emu.state.salt
    await write(emu, "set.system.reboot")
    emu.advance(1)
    assert emu.state.salt != old


async def test_write_api_switch_off(emu: WhatsminerV3Emulator) -> None:
    emu.state.write_api_enabled = False
    refused(await write(emu, "set.system.led", "auto"), -4)
    assert emu.received[-1].token_ok is True
    system = (await read(emu, "get.device.info", "system"))["msg"]["system"]
    assert system["apiswitch"] == "0"


async def test_reads_are_recorded_without_token(emu: WhatsminerV3Emulator) -> None:
    await read(emu, "get.device.info", "salt")
    assert emu.received[-1] == ReceivedV3Command(
        "get.device.info", "salt", None, None, None, "127.0.0.1"
    )
    assert emu.commands() == ["get.device.info"]


# -------------------------------------------------------- encrypted params


async def test_pools_need_encrypted_params(emu: WhatsminerV3Emulator) -> None:
    pools = [
        {"pool": "stratum+tcp://a.example:3333", "worker": "w.1", "passwd": "x"},
        {"pool": "stratum+tcp://b.example:3333", "worker": "w.2", "passwd": "y"},
        {"pool": "", "worker": "", "passwd": ""},
    ]
    before = list(emu.state.pools)
    reply = await write(emu, "set.miner.pools", pools, encrypt=False)
    assert refused(reply, -1) == "invalid encrypted param"
    refused(await write(emu, "set.miner.pools", json.dumps(pools), encrypt=False), -1)
    request = signed(emu, "set.miner.pools", pools)
    request["param"] = request["param"][:-4] + "!!!!"
    refused(await call(emu, request), -1)
    other_ts = signed(emu, "set.miner.pools", pools, ts=clock(emu) - 1)["param"]
    request = signed(emu, "set.miner.pools", pools)
    request["param"] = other_ts  # encrypted under another ts's key
    refused(await call(emu, request), -1)
    refused(await write(emu, "set.miner.pools", None, encrypt=False), -3)
    refused(await write(emu, "set.miner.pools", [], encrypt=True), -1)
    assert emu.state.pools == before
    ok(await write(emu, "set.miner.pools", pools, zero=True), "set.miner.pools")
    assert emu.state.pools == [
        ("stratum+tcp://a.example:3333", "w.1", "x"),
        ("stratum+tcp://b.example:3333", "w.2", "y"),
    ]
    ok(await write(emu, "set.miner.pools", pools[1:2]), "set.miner.pools")
    assert emu.received[-1].param == pools[1:2]
    v2_pools = (await v2_read(emu, "pools"))["POOLS"]
    assert [pool["URL"] for pool in v2_pools] == ["stratum+tcp://b.example:3333"]


async def test_change_password(emu: WhatsminerV3Emulator) -> None:
    old_salt = emu.state.salt
    change = {"account": "super", "new": "n3w_Pass", "old": "wrong"}
    refused(await write(emu, "set.user.change_passwd", change), -1)
    refused(await write(emu, "set.user.change_passwd", change, encrypt=False), -1)
    change["old"] = PASSWORD
    ok(await write(emu, "set.user.change_passwd", change), "set.user.change_passwd")
    assert emu.state.password == "n3w_Pass"
    assert emu.state.salt != old_salt  # a new password, a new salt (Inference)
    refused(await write(emu, "set.system.led", "auto"), -4)
    refused(
        await write(emu, "set.system.led", "auto", password="n3w_Pass", salt=old_salt),
        -4,
    )
    salt = (await read(emu, "get.device.info", "salt"))["msg"]["salt"]
    ok(
        await write(emu, "set.system.led", "auto", password="n3w_Pass", salt=salt),
        "set.system.led",
    )
    token = await v2_read(emu, "get_token")  # one salt for both APIs
    assert token["Msg"]["salt"] == salt


async def test_user_accounts_and_permissions(emu: WhatsminerV3Emulator) -> None:
    change = {"account": "user1", "new": "u1pass", "old": ""}
    refused(await write(emu, "set.user.change_passwd", change), -1)  # no such password
    emu.state.users["user1"] = ""
    ok(await write(emu, "set.user.change_passwd", change), "set.user.change_passwd")
    assert emu.state.users["user1"] == "u1pass"
    refused(
        await write(emu, "set.system.led", "auto", account="user1", password="u1pass"),
        -4,
    )
    grant = {"user": "user1", "permission": "set.system.led,set.miner.service"}
    ok(await write(emu, "set.user.permission", grant), "set.user.permission")
    ok(
        await write(emu, "set.system.led", "auto", account="user1", password="u1pass"),
        "set.system.led",
    )
    refused(
        await write(
            emu, "set.miner.power_mode", "low", account="user1", password="u1pass"
        ),
        -4,
    )
    refused(
        await write(
            emu, "set.user.permission", {"user": "user1", "permission": "set.nothing"}
        ),
        -1,
    )


# -------------------------------------------------------------------- writes


async def test_service_start_stop_restart(emu: WhatsminerV3Emulator) -> None:
    ok(await write(emu, "set.miner.service", "stop"), "set.miner.service")
    assert not mining(emu)
    assert (await summary(emu))["hash-average"] == 0
    miner = (await read(emu, "get.device.info", "miner"))["msg"]["miner"]
    assert miner["working"] == "false"
    assert (await v2_read(emu, "status"))["Msg"]["mineroff"] == "true"
    ok(await write(emu, "set.miner.service", "start"), "set.miner.service")
    assert mining(emu)
    assert (await summary(emu))["hash-average"] > 100
    ok(await write(emu, "set.miner.service", "restart"), "set.miner.service")
    assert emu.v2.is_btminer_restarting()
    assert (await summary(emu))["hash-average"] == 0
    emu.advance(1)
    assert (await summary(emu))["hash-average"] > 100
    ok(await write(emu, "set.miner.service", "disable"), "set.miner.service")
    assert not emu.state.btminer_init
    refused(await write(emu, "set.miner.service", "pause"), -1)
    refused(await write(emu, "set.miner.service"), -3)


async def test_power_percent(emu: WhatsminerV3Emulator) -> None:
    full = (await summary(emu))["power-realtime"]
    param = {"percent": "80", "mode": "normal"}
    ok(await write(emu, "set.miner.power_percent", param), "set.miner.power_percent")
    assert (emu.state.power_percent, emu.state.power_percent_mode) == (80, "normal")
    assert (await setting(emu))["power-percent"] == 80
    assert (await summary(emu))["power-realtime"] < full
    assert (await v2_read(emu, "summary"))["Msg"]["Power"] < full
    # The vendor sample sends the object JSON-encoded as a string.
    vendor = json.dumps({"percent": "70", "mode": "fast"})
    ok(await write(emu, "set.miner.power_percent", vendor), "set.miner.power_percent")
    assert (await setting(emu))["power-percent"] == 70
    # A number fails: the firmware reads cJSON valuestring (mdk).
    refused(
        await write(emu, "set.miner.power_percent", {"percent": 60, "mode": "fast"}), -1
    )
    emu.faults.power_percent_numbers = True
    ok(
        await write(emu, "set.miner.power_percent", {"percent": 60, "mode": "fast"}),
        "set.miner.power_percent",
    )
    for bad in (
        {"percent": "101"},
        {"percent": "x"},
        {"percent": "50", "mode": "slow"},
        "50",
        50,
    ):
        refused(await write(emu, "set.miner.power_percent", bad), -1)
    refused(await write(emu, "set.miner.power_percent", {"mode": "fast"}), -3)
    emu.state.power_mode = "High"
    refused(await write(emu, "set.miner.power_percent", param), -1)  # air-cooled rule
    # Not kept over a reboot (apidoc).
    await write(emu, "set.system.reboot")
    emu.advance(1)
    assert (await setting(emu))["power-percent"] == 100


async def test_power_limit_is_a_bare_integer(emu: WhatsminerV3Emulator) -> None:
    ok(await write(emu, "set.miner.power_limit", 3000), "set.miner.power_limit")
    assert emu.state.power_limit_w == 3000
    assert (await setting(emu))["power-limit"] == 3000
    assert emu.v2.is_btminer_restarting()
    emu.advance(1)
    v3 = await summary(emu)
    assert v3["power-limit"] == 3000
    assert v3["power-realtime"] <= 3000
    assert (await v2_read(emu, "summary"))["Msg"]["Power Limit"] == 3000
    for bad in ("3000", {"watts": 3000}, 3000.5, True, -1, 100_000):
        refused(await write(emu, "set.miner.power_limit", bad), -1)
    refused(await write(emu, "set.miner.power_limit"), -3)
    assert emu.state.power_limit_w == 3000


async def test_power_mode(emu: WhatsminerV3Emulator) -> None:
    ok(await write(emu, "set.miner.power_mode", "low"), "set.miner.power_mode")
    assert emu.state.power_mode == "Low"
    assert (await setting(emu))["power-mode"] == "low"
    assert (await v2_read(emu, "status"))["Msg"]["power_mode"] == "low"
    emu.advance(1)
    assert (await v2_read(emu, "summary"))["Msg"]["Power Mode"] == "Low"
    refused(await write(emu, "set.miner.power_mode", "Low"), -1)
    refused(await write(emu, "set.miner.power_mode", 1), -1)


async def test_led(emu: WhatsminerV3Emulator) -> None:
    flash = [
        {"color": "red", "period": 200, "duration": 100, "start": 0},
        {"color": "green", "period": 200, "duration": 150, "start": 0},
    ]
    ok(await write(emu, "set.system.led", flash), "set.system.led")
    assert emu.state.led == flash
    system = (await read(emu, "get.device.info", "system"))["msg"]["system"]
    assert system["ledstatus"] == "manual"
    assert (await v2_read(emu, "get_miner_info"))["Msg"]["ledstat"] == "manual"
    for bad in (
        "on",
        flash[0],
        [{"color": "blue", "period": 200, "duration": 100, "start": 0}],
        [{"color": "red", "period": 200, "duration": 300, "start": 0}],
        [{"color": "red", "period": "200", "duration": 100, "start": 0}],
        [],
    ):
        refused(await write(emu, "set.system.led", bad), -1)
    ok(await write(emu, "set.system.led", "auto"), "set.system.led")
    assert led(emu) == "auto"


SIMPLE_WRITES: list[tuple[str, Any, str, Any]] = [
    ("set.system.hostname", {"hostname": "rig-7"}, "hostname", "rig-7"),
    ("set.system.hostname", '{"hostname": "rig-8"}', "hostname", "rig-8"),
    ("set.system.timezone", {"timezone": "UTC", "zonename": "UTC"}, "zonename", "UTC"),
    (
        "set.system.ntp_server",
        "pool.ntp.org,time.example",
        "ntp_servers",
        ["pool.ntp.org", "time.example"],
    ),
    (
        "set.system.time_randomized",
        {"start": 10, "stop": 20},
        "time_randomized",
        (10, 20),
    ),
    ("set.system.webpools", "disable", "web_pools", False),
    ("set.miner.fastboot", "enable", "fast_boot", True),
    ("set.miner.fast_hash", 1, "fast_hash", True),
    ("set.miner.upfreq_speed", 7, "upfreq_speed", 7),
    ("set.miner.heat_mode", "anti-freezing", "heat_mode", "anti-freezing"),
    ("set.miner.cointype", {"cointype": "BCH"}, "cointype", "BCH"),
    ("set.miner.power", 3200, "power_target_w", 3200),
    ("set.miner.target_freq", -10, "target_freq_percent", -10),
    ("set.fan.poweroff_cool", 1, "poweroff_cool", True),
    ("set.fan.temp_offset", -10, "temp_offset", -10),
    ("set.fan.zero_speed", 1, "fan_zero_speed", True),
    (
        "set.log.upload",
        {"ip": "192.168.2.22", "port": "4001", "proto": "udp"},
        "log_server",
        ("192.168.2.22", "4001", "udp"),
    ),
    (
        "set.device.custom_data",
        {"key": "msg3", "value": "rack 4"},
        "customer_msgs",
        {"msg3": "rack 4"},
    ),
]


async def test_simple_writes(emu: WhatsminerV3Emulator) -> None:
    for cmd, param, attribute, value in SIMPLE_WRITES:
        ok(await write(emu, cmd, param), cmd)
        assert getattr(emu.state, attribute) == value, cmd


INVALID_WRITES: list[tuple[str, Any]] = [
    ("set.system.hostname", {"hostname": "bad host"}),
    ("set.system.hostname", {"name": "x"}),
    ("set.system.timezone", "CST-8"),
    ("set.system.ntp_server", ",,"),
    ("set.system.time_randomized", {"start": 121, "stop": 0}),
    ("set.system.webpools", "on"),
    ("set.miner.fast_hash", "1"),
    ("set.miner.upfreq_speed", 11),
    ("set.miner.heat_mode", "warm"),
    ("set.miner.cointype", {"cointype": "ETH"}),
    ("set.miner.target_freq", 10),
    ("set.fan.temp_offset", 5),
    ("set.log.upload", {"ip": "x", "port": "1", "proto": "udp"}),
    ("set.log.upload", {"ip": "10.0.0.1", "port": 4001, "proto": "udp"}),
    ("set.device.custom_data", {"key": "msg10", "value": "x"}),
    ("set.device.custom_data", {"key": "msg1", "value": "x" * 128}),
    ("set.miner.report", {"gap": 286}),
    ("set.system.net_config", {"ip": "10.0.0.9", "netmask": "255.0.0.0"}),
    ("set.system.net_config", "static"),
]


async def test_invalid_write_params(emu: WhatsminerV3Emulator) -> None:
    for cmd, param in INVALID_WRITES:
        reply = await write(emu, cmd, param)
        assert reply["code"] in (-1, -3), (cmd, param, reply)
        assert reply["desc"] == cmd
    assert not emu.is_rebooting()


async def test_liquid_cooled_variants(emu: WhatsminerV3Emulator) -> None:
    emu.state.liquid_cooled = True
    ok(await write(emu, "set.miner.target_freq", 20), "set.miner.target_freq")
    emu.state.power_mode = "High"
    ok(
        await write(
            emu, "set.miner.power_percent", {"percent": "90", "mode": "normal"}
        ),
        "set.miner.power_percent",
    )


async def test_restore_setting(emu: WhatsminerV3Emulator) -> None:
    await write(emu, "set.miner.power_limit", 3000)
    await write(emu, "set.miner.power_mode", "low")
    ok(await write(emu, "set.miner.restore_setting"), "set.miner.restore_setting")
    assert (await setting(emu))["power-limit"] == 3600
    assert emu.state.power_mode == "Normal"


async def test_net_config_reboots(emu: WhatsminerV3Emulator) -> None:
    static = {
        "ip": "192.168.2.50",
        "netmask": "255.255.255.0",
        "gateway": "192.168.2.1",
        "dns": "192.168.2.1 8.8.8.8",
    }
    ok(await write(emu, "set.system.net_config", static), "set.system.net_config")
    assert emu.is_rebooting()
    emu.advance(1)
    network = (await read(emu, "get.device.info", "network"))["msg"]["network"]
    assert (network["proto"], network["ip"]) == ("static", "192.168.2.50")
    ok(await write(emu, "set.system.net_config", "dhcp"), "set.system.net_config")
    emu.advance(1)
    assert emu.state.proto == "dhcp"


async def test_factory_reset(socket_enabled: None) -> None:
    async with frozen(WhatsminerV3Emulator(password="s3cret")) as emu:
        await write(emu, "set.miner.power_limit", 3000, password="s3cret")
        ok(
            await write(emu, "set.system.factory_reset", password="s3cret"),
            "set.system.factory_reset",
        )
        emu.advance(1)
        assert (emu.state.password, emu.state.write_api_enabled) == ("super", False)
        assert emu.state.power_limit_w == 3600
        refused(await write(emu, "set.system.led", "auto"), -4)  # switch off
        emu.state.write_api_enabled = True
        ok(await write(emu, "set.system.led", "auto"), "set.system.led")


async def test_unsupported_and_rejected_commands(emu: WhatsminerV3Emulator) -> None:
    emu.faults.unsupported_commands = {"set.miner.power_mode", "get.miner.setting"}
    refused(await write(emu, "set.miner.power_mode", "low"), -2)
    refused(await read(emu, "get.miner.setting"), -2)
    emu.faults.rejected_commands = {"set.system.led", "get.fan.setting"}
    refused(await write(emu, "set.system.led", "auto"), -1)
    refused(await read(emu, "get.fan.setting"), -1)


# ----------------------------------------------------------- reboot and faults


async def test_reboot_no_reply_both_ports_down(emu: WhatsminerV3Emulator) -> None:
    reply, rest = await exchange(
        emu.port, frame(compact(signed(emu, "set.system.reboot")))
    )
    assert (reply, rest) == (None, b"")
    assert emu.received[-1].cmd == "set.system.reboot"
    assert emu.is_rebooting()
    assert await refuses(emu.port)
    assert await refuses(emu.v2.port)
    emu.advance(1)
    assert not emu.is_rebooting()
    assert (await read(emu, "get.device.info", "salt"))["code"] == 0
    assert (await v2_read(emu, "summary"))["Code"] == 131


async def test_reboot_by_the_clock_and_with_reply(emu: WhatsminerV3Emulator) -> None:
    emu.now = time.time  # the clock runs again
    emu.faults.reboot_seconds = 0.3
    emu.faults.no_reply_commands = set()
    ok(await write(emu, "set.system.reboot"), "set.system.reboot")
    assert await refuses(emu.port)
    for _ in range(100):
        await asyncio.sleep(0.02)
        if not emu.is_rebooting() and not await refuses(emu.port):
            break
    assert (await read(emu, "get.miner.setting"))["code"] == 0


async def test_reboot_drops_keep_alive_connections(socket_enabled: None) -> None:
    emulator = frozen(WhatsminerV3Emulator(password=PASSWORD, keep_alive=True))
    async with emulator as emu:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(frame(compact({"cmd": "get.miner.setting"})))
        assert await read_frame(reader)
        emu.faults.hang_commands = {"set.system.reboot"}
        hung_reader, hung_writer = await asyncio.open_connection("127.0.0.1", emu.port)
        hung_writer.write(frame(compact(signed(emu, "set.system.reboot"))))
        await hung_writer.drain()
        for _ in range(100):
            if emu.is_rebooting():
                break
            await asyncio.sleep(0.01)
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(), 2.0) == b""
        with pytest.raises(TimeoutError):  # the hung one stays open, silent
            await asyncio.wait_for(hung_reader.read(1), 0.1)
        writer.close()
        hung_writer.close()


async def test_offline_faults(emu: WhatsminerV3Emulator) -> None:
    await emu.set_offline(True)
    assert await refuses(emu.port)
    assert await refuses(emu.v2.port)
    await emu.set_offline(False)
    assert (await read(emu, "get.miner.setting"))["code"] == 0
    emu.faults.v3_offline = True  # a v3 firmware whose 4433 does not answer
    assert await refuses(emu.port)
    assert (await v2_read(emu, "get_version"))["Code"] == 131
    emu.faults = V3Faults()
    assert (await read(emu, "get.miner.setting"))["code"] == 0


async def test_reply_faults(emu: WhatsminerV3Emulator) -> None:
    request = frame(compact({"cmd": "get.miner.setting"}))
    emu.faults.fragment = True
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(request)
    chunks = []
    while chunk := await asyncio.wait_for(reader.read(4096), 2.0):
        chunks.append(chunk)
    writer.close()
    assert len(chunks) >= 2
    body = b"".join(chunks)
    assert json.loads(body[4:])["desc"] == "get.miner.setting"
    emu.faults.fragment = False
    emu.faults.truncate = True
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(request)
    data = await asyncio.wait_for(reader.read(), 2.0)
    (length,) = struct.unpack("<I", data[:4])
    assert 0 < len(data) - 4 < length
    writer.close()
    emu.faults.truncate = False
    emu.faults.garbage = True
    with pytest.raises(ValueError, match="absurd"):
        await exchange(emu.port, request)
    emu.faults.garbage = False
    emu.faults.garbage_json = True
    with pytest.raises(UnicodeDecodeError):
        await exchange(emu.port, request)
    emu.faults.garbage_json = False
    emu.faults.pretty_json = True
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(request)
    raw = await asyncio.wait_for(reader.read(), 2.0)
    writer.close()
    assert b'"code":\t0' in raw
    assert json.loads(raw[4:])["code"] == 0


async def test_garbage_is_not_a_frame(emu: WhatsminerV3Emulator) -> None:
    emu.faults.garbage = True
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact({"cmd": "get.miner.setting"})))
    data = await asyncio.wait_for(reader.read(), 2.0)
    writer.close()
    (length,) = struct.unpack("<I", data[:4])
    assert length > 1 << 20


async def test_stall_and_latency(emu: WhatsminerV3Emulator) -> None:
    emu.faults.stall = True
    emu.faults.stall_seconds = 0.05
    reply, rest = await exchange(
        emu.port, frame(compact(signed(emu, "set.miner.service", "stop")))
    )
    assert (reply, rest) == (None, b"")
    assert emu.state.mining  # stalled before acting
    assert emu.received[-1].cmd == "set.miner.service"
    emu.faults.stall = False
    emu.faults.latency = 0.05
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await read(emu, "get.miner.setting"))["code"] == 0
    assert loop.time() - started >= 0.05


async def test_max_clients(emu: WhatsminerV3Emulator) -> None:
    emu.faults.max_clients = 2
    emu.faults.stall = True
    held = []
    for _ in range(2):
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        writer.write(frame(compact({"cmd": "get.miner.setting"})))
        held.append((reader, writer))
    for _ in range(100):
        if len(emu.received) == 2:
            break
        await asyncio.sleep(0.01)
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(), 2.0) == b""
    writer.close()
    assert emu.max_concurrent_connections == 2
    for _, held_writer in held:
        held_writer.close()


# ------------------------------------------------------ two-phase transfers


async def test_firmware_upload(emu: WhatsminerV3Emulator) -> None:
    emu.upgrade_firmware_version = "20260101.16.Rel1"
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact(signed(emu, "set.system.update_firmware"))))
    ready = await read_frame(reader)
    assert (ready["code"], ready["msg"]) == (0, "ready")
    image = b"\x1f\x8b" + bytes(range(256)) * 40
    writer.write(struct.pack("<I", len(image)) + image)
    ok(await read_frame(reader), "set.system.update_firmware")
    assert await asyncio.wait_for(reader.read(), 2.0) == b""
    writer.close()
    assert emu.state.firmware_images == [image]
    assert emu.is_rebooting()
    emu.advance(1)
    system = (await read(emu, "get.device.info", "system"))["msg"]["system"]
    assert system["fwversion"] == "20260101.16.Rel1"
    assert (await v2_read(emu, "get_version"))["Msg"]["fw_ver"] == "20260101.16.Rel1"


async def test_firmware_upload_refusals(emu: WhatsminerV3Emulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact(signed(emu, "set.system.update_firmware"))))
    assert (await read_frame(reader))["msg"] == "ready"
    writer.write(struct.pack("<I", 0))
    refused(await read_frame(reader), -1)
    writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact(signed(emu, "set.system.update_firmware"))))
    assert (await read_frame(reader))["msg"] == "ready"
    writer.write(struct.pack("<I", 100) + b"short")
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 2.0) == b""
    writer.close()
    assert emu.state.firmware_images == []
    assert not emu.is_rebooting()


async def test_report_pushes(emu: WhatsminerV3Emulator) -> None:
    emu.faults.report_time_scale = 0.01
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
    writer.write(frame(compact(signed(emu, "set.miner.report", {"gap": 2}))))
    ok(await read_frame(reader), "set.miner.report")
    pushed = [await read_frame(reader), await read_frame(reader)]
    assert [p["desc"] for p in pushed] == ["get.miner.report"] * 2
    assert "hash-average" in pushed[0]["msg"]["summary"]
    # The socket stays open for pushes and still takes requests.
    writer.write(frame(compact({"cmd": "get.miner.setting"})))
    while (reply := await read_frame(reader))["desc"] != "get.miner.setting":
        pass
    writer.write(frame(compact(signed(emu, "set.miner.report", '{"gap": 0}'))))
    while (reply := await read_frame(reader))["desc"] != "set.miner.report":
        pass
    ok(reply, "set.miner.report")
    assert await asyncio.wait_for(reader.read(), 2.0) == b""  # closes again
    writer.close()


# ------------------------------------------------------------ reduced v2 API


def md5_body(secret: str, salt: str) -> str:
    return md5_crypt(secret, salt).rsplit("$", 1)[1]


async def test_v2_reads_work_and_writes_are_refused(emu: WhatsminerV3Emulator) -> None:
    assert isinstance(emu.v2, WhatsminerV2Emulator)
    assert emu.v2.profile == "v3compat"
    assert emu.v2.state is emu.state
    reply = await v2_read(emu, "summary")
    assert (reply["STATUS"], reply["Code"]) == ("S", 131)  # flat envelope
    # A correct v2 write (get_token, md5-crypt, AES) is still refused.
    msg = (await v2_read(emu, "get_token"))["Msg"]
    key = md5_body(PASSWORD, msg["salt"])
    sign = md5_body(key + msg["time"][-4:], msg["newsalt"])
    plain = json.dumps({"cmd": "set_led", "param": "auto", "token": sign}).encode()
    plain += b"\0" * (-len(plain) % 16)
    aes_key = hashlib.sha256(key.encode()).digest()
    data = base64.b64encode(AES.new(aes_key, AES.MODE_ECB).encrypt(plain)).decode()
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.v2.port)
    writer.write(json.dumps({"enc": 1, "data": data}).encode())
    raw = await asyncio.wait_for(reader.read(), 3.0)
    writer.close()
    refusal = json.loads(raw)
    assert (refusal["STATUS"], refusal["Code"]) == ("E", 45)
    assert refusal["Msg"] == "can't access write cmd"
    plain_write = await v2_read(emu, "power_off", respbefore="true")
    assert plain_write["Msg"] == "can't access write cmd"
    assert emu.state.mining
    # Firmware on which asic-rs still writes through 4028: one shared state.
    emu.v2.faults.refuse_writes = False
    emu.v2.faults.no_reply_commands = set()
    msg = (await v2_read(emu, "get_token"))["Msg"]
    sign = md5_body(key + msg["time"][-4:], msg["newsalt"])
    plain = json.dumps(
        {"cmd": "adjust_power_limit", "power_limit": "3100", "token": sign}
    ).encode()
    plain += b"\0" * (-len(plain) % 16)
    data = base64.b64encode(AES.new(aes_key, AES.MODE_ECB).encrypt(plain)).decode()
    reader, writer = await asyncio.open_connection("127.0.0.1", emu.v2.port)
    writer.write(json.dumps({"enc": 1, "data": data}).encode())
    assert b"enc" in await asyncio.wait_for(reader.read(), 3.0)
    writer.close()
    assert (await setting(emu))["power-limit"] == 3100


async def test_v2_reboot_takes_4433_down(emu: WhatsminerV3Emulator) -> None:
    emu.v2._begin_reboot()  # a reboot seen from the v2 side (refuse_writes off)
    assert await refuses(emu.port)
    emu.advance(1)
    assert (await read(emu, "get.miner.setting"))["code"] == 0


# --------------------------------------------------------------- life cycle


async def test_stop_leaves_no_tasks(socket_enabled: None) -> None:
    before = asyncio.all_tasks()
    emu = WhatsminerV3Emulator(password=PASSWORD, keep_alive=True)
    await emu.start()
    emu.faults.report_time_scale = 0.01
    idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", emu.port)
    rep_reader, rep_writer = await asyncio.open_connection("127.0.0.1", emu.port)
    rep_writer.write(frame(compact(signed(emu, "set.miner.report", {"gap": 1}))))
    assert await read_frame(rep_reader)
    emu.faults.stall = True
    stall_reader, stall_writer = await asyncio.open_connection("127.0.0.1", emu.port)
    stall_writer.write(frame(compact({"cmd": "get.miner.setting"})))
    partial_reader, partial_writer = await asyncio.open_connection(
        "127.0.0.1", emu.v2.port
    )
    partial_writer.write(b'{"cmd":')
    await asyncio.sleep(0.05)
    port, v2_port = emu.port, emu.v2.port
    await asyncio.wait_for(emu.stop(), 5.0)
    assert asyncio.all_tasks() - before == {asyncio.current_task()} - before
    assert await refuses(port)
    assert await refuses(v2_port)
    for reader in (idle_reader, stall_reader, partial_reader):
        with contextlib.suppress(ConnectionError):
            assert await asyncio.wait_for(reader.read(), 2.0) == b""
    for writer in (idle_writer, rep_writer, stall_writer, partial_writer):
        writer.close()
    await emu.stop()  # idempotent
    emu.faults.stall = False
    emu.keep_alive = False
    async with emu:  # restartable
        assert (await read(emu, "get.miner.setting"))["code"] == 0


def test_cli_arguments() -> None:
    parser = argparse.ArgumentParser()
    KINDS["whatsminer-v3"][1](parser)
    args = parser.parse_args(["--port", "0", "--v2-port", "0", "--password", "pw"])
    assert (args.port, args.v2_port, args.password, args.account) == (
        0,
        0,
        "pw",
        "super",
    )
    assert (args.keep_alive, args.write_api, args.ts_skew) == (False, "on", 60.0)


async def test_cli_runner(
    socket_enabled: None, caplog: pytest.LogCaptureFixture
) -> None:
    parser = argparse.ArgumentParser()
    KINDS["whatsminer-v3"][1](parser)
    args = parser.parse_args(
        ["--port", "0", "--v2-port", "0", "--write-api", "off", "--ts-skew", "-1"]
    )
    caplog.set_level(logging.INFO, logger="tests.emulators")
    task = asyncio.ensure_future(KINDS["whatsminer-v3"][2](args))
    for _ in range(200):
        if "Whatsminer API v3 emulator listening" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert "Whatsminer API v3 emulator listening" in caplog.text
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_temperatures_and_up_freq_finish_after_stop_and_start(
    emu: WhatsminerV3Emulator,
) -> None:
    """The v2 core's curves through API v3: cooling τ 3 min, warming τ 2 min."""
    emu.faults.psu_telemetry = True
    env = emu.state.env_temp
    hot = [env + BOARD_RISE_PER_LOAD + skew for skew in (0.0, -0.6, 0.8)]
    idle = env + BOARD_IDLE_RISE
    psu_hot = env + PSU_IDLE_RISE + PSU_RISE_PER_LOAD

    async def psu() -> float:
        power = (await read(emu, "get.device.info", "power"))["msg"]["power"]
        return float(power["temp0"])

    def curve(start: float, target: float, seconds: float, tau: float) -> float:
        return target + (start - target) * math.exp(-seconds / tau)

    running = await summary(emu)
    assert running["board-temperature"] == pytest.approx(hot)
    assert running["up-freq-finish"] == 1
    assert await psu() == pytest.approx(psu_hot)
    ok(await write(emu, "set.miner.service", "stop"), "set.miner.service")
    assert (await summary(emu))["board-temperature"] == pytest.approx(hot)
    emu.advance(180)
    stopped = await summary(emu)
    assert stopped["board-temperature"] == pytest.approx(
        [curve(t, idle, 180, 180) for t in hot], abs=0.01
    )
    assert stopped["chip-temp-avg"] == pytest.approx(
        sum(stopped["board-temperature"]) / 3, abs=0.01
    )
    assert await psu() == pytest.approx(
        curve(psu_hot, env + PSU_IDLE_RISE, 180, 180), abs=0.01
    )
    v2 = (await v2_read(emu, "edevs"))["DEVS"]
    assert [dev["Temperature"] for dev in v2] == stopped["board-temperature"]

    ok(await write(emu, "set.miner.service", "start"), "set.miner.service")
    assert (await summary(emu))["up-freq-finish"] == 0
    emu.advance(HASH_STABLE_SECONDS - 1)
    started = await summary(emu)
    assert started["up-freq-finish"] == 0
    cold = stopped["board-temperature"]
    assert started["board-temperature"] == pytest.approx(
        [
            curve(c, h, HASH_STABLE_SECONDS - 1, 120)
            for c, h in zip(cold, hot, strict=True)
        ],
        abs=0.02,
    )
    emu.advance(1)
    assert (await summary(emu))["up-freq-finish"] == 1
