"""Tests of the Whatsminer API v2 emulator itself, over raw asyncio sockets.

The client side here is deliberately tiny and independent of Miner Hub's client:
md5-crypt is the only shared code, AES and SHA-256 are done in place, and the
golden values come from the reference (vectors A and B, ref §3.3).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
import copy
from dataclasses import dataclass
import hashlib
import json
import logging
import math
import re
import struct
from typing import Any

from Crypto.Cipher import AES
import pytest

from custom_components.miner_hub.protocol.whatsminer.crypto import md5_crypt
from tests.emulators import (
    BTMINER_DOWN_TEXT,
    FACTORY_PASSWORD,
    FACTORY_SALT,
    Faults,
    MinerState,
    ReceivedCommand,
    WhatsminerV2Emulator,
)
from tests.emulators.whatsminer_v2 import (
    BOARD_IDLE_RISE,
    BOARD_RISE_PER_LOAD,
    HASH_STABLE_FAST_BOOT_SECONDS,
    HASH_STABLE_SECONDS,
    PSU_IDLE_RISE,
    PSU_RISE_PER_LOAD,
)

VECTOR_A_WHEN = 1678185039
VECTOR_A_NEWSALT = "P5NTAcEp"
VECTOR_A_SIGN = "W7vZynrBZBwIIjR5dvDJb0"
VECTOR_A_ZERO = (
    "K5NDiWBAqb++VrZy8g0NEQIjuugciGp5pA1ArzU2pL5T0g9hnCnTqX+tw8fKdbvv0B+dqNxAE78m"
    "YHAQQuguh0RImH7pFknHfcgQaznu3cE="
)
VECTOR_A_PKCS7 = (
    "K5NDiWBAqb++VrZy8g0NEQIjuugciGp5pA1ArzU2pL5T0g9hnCnTqX+tw8fKdbvv0B+dqNxAE78m"
    "YHAQQuguh894K3KWpPDX3VDVdvuYeTc="
)
VECTOR_A_REPLY = (
    "C/UGIQ8LwD66stwLyOOcM6Rs/AgNjAuq2GMwrwo3W7J3lluOVpsOSpBcGhtOpg0QfXzqoVOPWCks"
    "KSnoq5FdlDzf1zswfpjLBG0UghjHFmJyj0Iw94hY+ImJc0aQQ3bU"
)
VECTOR_B_SALT = "5QAHiKMb"
VECTOR_B_NEWSALT = "kowEj187"
VECTOR_B_SIGN = "FuAsr25h02Hee7J8zszS71"
VECTOR_B_AESKEY = "2b2d94b56224740c203daf81a7dc08729bd5a71d8bbe37350da63a68991cb72c"
VECTOR_B_ZERO = (
    "dobUXE5XuQKTKRNDhWkBlk31SIKYgKHWNNNwfnf/y5sEzgpWvG27mO8aXBYlAH7S7ThfrTpHk0fK"
    "oj5JgOJL91ZiGLdjnG+RXFdGn9bUUSQ="
)
VECTOR_B_PKCS7 = (
    "dobUXE5XuQKTKRNDhWkBlk31SIKYgKHWNNNwfnf/y5sEzgpWvG27mO8aXBYlAH7S7ThfrTpHk0fK"
    "oj5JgOJL94plTrULP2gnhman2o/3H2c="
)
OTHER_PASSWORD = "s3cret"
NEW_PASSWORD = "n3w_pw"
SALT_RE = re.compile(r"[./0-9A-Za-z]{8}")
ALL_READS = (
    "summary",
    "pools",
    "edevs",
    "devs",
    "devdetails",
    "get_psu",
    "get_version",
    "status",
    "get_miner_info",
    "get_error_code",
)


# ------------------------------------------------------------------- client side


async def exchange(
    emu: WhatsminerV2Emulator,
    payload: bytes,
    *,
    pieces: int = 1,
    half_close: bool = False,
    wait: float = 3.0,
) -> bytes:
    """Send one request (optionally in pieces, then FIN) and read to EOF."""
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    try:
        size = max(1, -(-len(payload) // pieces))
        for start in range(0, len(payload), size):
            writer.write(payload[start : start + size])
            await writer.drain()
            if pieces > 1:
                await asyncio.sleep(0.005)
        if half_close:
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), wait)
    finally:
        writer.close()
        await writer.wait_closed()


async def send(emu: WhatsminerV2Emulator, obj: dict[str, Any]) -> bytes:
    return await exchange(emu, json.dumps(obj).encode())


def load(raw: bytes) -> Any:
    return json.loads(raw.rstrip(b"\0\n"), strict=False)


async def read(emu: WhatsminerV2Emulator, cmd: str, **params: Any) -> Any:
    return load(await send(emu, {"cmd": cmd, **params}))


def body(password: str, salt: str) -> str:
    return md5_crypt(password, salt).rsplit("$", 1)[1]


def seal(obj: dict[str, Any], aes_key: bytes, *, pkcs7: bool = False) -> bytes:
    plain = json.dumps(obj).encode()
    pad = 16 - len(plain) % 16 if pkcs7 else -len(plain) % 16
    plain += bytes([pad] * pad) if pkcs7 else b"\0" * pad
    data = base64.b64encode(AES.new(aes_key, AES.MODE_ECB).encrypt(plain)).decode()
    return json.dumps({"enc": 1, "data": data}).encode()


def unseal(raw: bytes, aes_key: bytes) -> Any:
    cipher = base64.b64decode(load(raw)["enc"])
    return load(AES.new(aes_key, AES.MODE_ECB).decrypt(cipher).rstrip(b"\0"))


@dataclass
class Answer:
    raw: bytes
    data: Any
    encrypted: bool


@dataclass
class Client:
    """A minimal v2 write client: get_token, zero padding, decrypts replies."""

    emu: WhatsminerV2Emulator
    password: str = FACTORY_PASSWORD
    sign: str = ""
    aes_key: bytes = b""

    async def login(self) -> dict[str, Any]:
        reply: dict[str, Any] = await read(self.emu, "get_token")
        msg = reply["Msg"]
        key = body(self.password, msg["salt"])
        self.aes_key = hashlib.sha256(key.encode()).digest()
        self.sign = body(key + msg["time"][-4:], msg["newsalt"])
        return reply

    async def call(self, cmd: str, *, pkcs7: bool = False, **params: Any) -> Answer:
        request = {"cmd": cmd, **params, "token": self.sign}
        raw = await exchange(self.emu, seal(request, self.aes_key, pkcs7=pkcs7))
        return self.open(raw)

    def open(self, raw: bytes) -> Answer:
        if not raw:
            return Answer(raw, None, encrypted=False)
        try:
            data = load(raw)
        except ValueError:  # raw text such as BTMINER_DOWN_TEXT
            return Answer(raw, None, encrypted=False)
        if isinstance(data, dict) and isinstance(data.get("enc"), str):
            return Answer(raw, unseal(raw, self.aes_key), encrypted=True)
        return Answer(raw, data, encrypted=False)


async def logged_in(
    emu: WhatsminerV2Emulator, password: str = FACTORY_PASSWORD
) -> Client:
    client = Client(emu, password)
    await client.login()
    return client


def ok(answer: Answer) -> None:
    assert answer.encrypted
    assert answer.data["STATUS"] == "S"
    assert answer.data["Code"] == 131


def led_of(emu: WhatsminerV2Emulator) -> object:
    return emu.state.led


def summary_of(reply: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = reply["SUMMARY"][0]
    return row


@pytest.fixture
async def emu(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    async with WhatsminerV2Emulator() as emulator:
        yield emulator


# ------------------------------------------------------------- token and crypto


async def test_vector_a_zero_and_pkcs7_padding(emu: WhatsminerV2Emulator) -> None:
    emu.now = lambda: float(VECTOR_A_WHEN)
    emu.make_newsalt = lambda: VECTOR_A_NEWSALT
    token = await read(emu, "get_token")
    assert token["Msg"] == {"time": "5039", "salt": "BQ5hoXV9", "newsalt": "P5NTAcEp"}
    assert token["Code"] == 134
    assert token["When"] == VECTOR_A_WHEN
    expected = b'{"enc":"' + VECTOR_A_REPLY.encode() + b'"}'
    for data in (VECTOR_A_ZERO, VECTOR_A_PKCS7):
        emu.state.led = {"color": "red", "period": 200, "duration": 100, "start": 0}
        raw = await send(emu, {"enc": 1, "data": data})
        assert raw == expected  # byte for byte, zero-padded reply (ref §3.3)
        assert led_of(emu) == "auto"
    led = ReceivedCommand("set_led", {"param": "auto"}, True, "127.0.0.1")
    assert emu.received[1:] == [led, led]


async def test_vector_b_zero_and_pkcs7_padding(emu: WhatsminerV2Emulator) -> None:
    emu.state.salt = VECTOR_B_SALT
    emu.now = lambda: 1700000000.0  # last four digits "0000"
    emu.make_newsalt = lambda: VECTOR_B_NEWSALT
    msg = (await read(emu, "get_token"))["Msg"]
    assert (msg["time"], msg["salt"], msg["newsalt"]) == (
        "0000",
        "5QAHiKMb",
        "kowEj187",
    )
    aes_key = bytes.fromhex(VECTOR_B_AESKEY)
    for data in (VECTOR_B_ZERO, VECTOR_B_PKCS7):
        reply = unseal(await send(emu, {"enc": 1, "data": data}), aes_key)
        assert reply["Code"] == 131
        assert reply["Msg"] == "API command OK"
    assert (
        body(body("admin", VECTOR_B_SALT) + "0000", VECTOR_B_NEWSALT) == VECTOR_B_SIGN
    )


async def test_get_token_shape_and_salts(emu: WhatsminerV2Emulator) -> None:
    first, second = await read(emu, "get_token"), await read(emu, "get_token")
    for reply in (first, second):
        assert reply["STATUS"] == "S"
        assert reply["Code"] == 134
        assert reply["Description"] == ""
        assert set(reply["Msg"]) == {"time", "salt", "newsalt"}
        assert reply["Msg"]["salt"] == FACTORY_SALT
        assert SALT_RE.fullmatch(reply["Msg"]["newsalt"])
        assert reply["Msg"]["time"] == f"{reply['When'] % 10000:04d}"
    assert first["Msg"]["newsalt"] != second["Msg"]["newsalt"]
    assert emu.tokens_issued == 2
    assert emu.live_tokens("127.0.0.1") == 2


async def test_salt_is_fixed_per_password(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(password=OTHER_PASSWORD) as emu:
        salts = {(await read(emu, "get_token"))["Msg"]["salt"] for _ in range(3)}
        assert len(salts) == 1
        salt = salts.pop()
        assert SALT_RE.fullmatch(salt)
        assert salt != FACTORY_SALT
        client = await logged_in(emu, OTHER_PASSWORD)
        ok(await client.call("enable_web_pools"))


async def test_token_limit_codes_and_lifetime(emu: WhatsminerV2Emulator) -> None:
    emu.faults.tokens_per_ip = 2
    await read(emu, "get_token")
    await read(emu, "get_token")
    refused = await read(emu, "get_token")
    assert (refused["STATUS"], refused["Code"]) == ("E", 136)
    assert refused["Msg"] == "token over max times"
    emu.faults.old_token_limit_message = True
    assert (await read(emu, "get_token"))["Msg"] == "over max connect"
    assert emu.tokens_issued == 2
    emu.advance(1801)  # 30-minute lifetime
    assert (await read(emu, "get_token"))["Code"] == 134


async def test_token_ips_and_total_limits(emu: WhatsminerV2Emulator) -> None:
    emu.faults.tokens_total = 1
    await read(emu, "get_token")
    assert (await read(emu, "get_token"))["Code"] == 136
    emu.faults.tokens_total = None
    emu.faults.token_ips = 1
    assert (await read(emu, "get_token"))["Code"] == 134  # same IP: allowed


async def test_token_expiry_gives_encrypted_135(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    ok(await client.call("enable_web_pools"))
    emu.advance(1799)
    ok(await client.call("enable_web_pools"))
    emu.advance(2)
    answer = await client.call("enable_web_pools")
    assert answer.encrypted
    assert answer.data["Code"] == 135
    assert answer.data["Msg"] == "check token err"


async def test_manual_2_2_token_idle_timeout(emu: WhatsminerV2Emulator) -> None:
    emu.faults.token_timeout = 60
    client = Client(emu)
    assert (await client.login())["Msg"]["timeout"] == "60"
    for _ in range(3):  # each use restarts the idle timer
        emu.advance(50)
        ok(await client.call("enable_web_pools"))
    emu.advance(61)
    assert (await client.call("enable_web_pools")).data["Code"] == 135
    emu.faults.token_timeout = 0  # "0" disables expiry
    await client.login()
    emu.advance(10 * 3600)
    ok(await client.call("enable_web_pools"))


async def test_bad_sign_is_135(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    client.sign = "W7vZynrBZBwIIjR5dvDJb0"
    answer = await client.call("set_led", param="auto")
    assert answer.encrypted
    assert answer.data["Code"] == 135
    assert emu.received[-1].cmd == "set_led"


async def test_undecryptable_requests_are_plaintext_23(
    emu: WhatsminerV2Emulator,
) -> None:
    wrong = await logged_in(emu, "wrong")
    answer = await wrong.call("reboot")
    assert not answer.encrypted
    assert answer.data["STATUS"] == "E"
    assert answer.data["Code"] == 23
    assert answer.data["Msg"] == "enc json load err"
    bad_base64 = await send(emu, {"enc": 1, "data": "%%%not base64%%%"})
    assert load(bad_base64)["Code"] == 23
    unaligned = base64.b64encode(b"0123456789").decode()
    assert load(await send(emu, {"enc": 1, "data": unaligned}))["Code"] == 23
    assert load(await send(emu, {"enc": 1}))["Code"] == 23
    emu.faults.strict_base64 = True
    assert load(await send(emu, {"enc": 1, "data": "%%%"}))["Code"] == 137
    assert emu.commands() == ["get_token"]  # nothing decoded, nothing recorded


async def test_write_api_switch_and_plaintext_writes_are_45(
    emu: WhatsminerV2Emulator,
) -> None:
    plain = await read(emu, "power_off", respbefore="true")
    assert (plain["STATUS"], plain["Code"]) == ("E", 45)
    assert plain["Msg"] == "can't access write cmd"
    assert emu.state.mining
    client = await logged_in(emu)
    emu.state.write_api_enabled = False
    answer = await client.call("power_off", respbefore="true")
    assert not answer.encrypted
    assert answer.data["Code"] == 45
    assert emu.state.mining
    read_back = await client.call("summary")  # encrypted reads still work
    assert read_back.encrypted
    assert summary_of(read_back.data)["Power Mode"] == "Normal"
    assert (await read(emu, "get_customer_msg"))["Code"] == 45  # token required


async def test_unknown_commands_are_14(emu: WhatsminerV2Emulator) -> None:
    reply = await read(emu, "stats")
    assert reply == {
        "STATUS": "E",
        "When": reply["When"],
        "Code": 14,
        "Msg": "invalid cmd",
        "Description": "",
    }
    assert (await read(emu, ""))["Code"] == 14
    client = await logged_in(emu)
    answer = await client.call("set_fan_speed")
    assert answer.encrypted
    assert answer.data["Code"] == 14


async def test_bad_parameters_are_encrypted_132(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("set_target_freq", {"percent": "101"}),
        ("set_power_pct", {"percent": "-1"}),
        ("adjust_upfreq_speed", {"upfreq_speed": "10"}),
        ("set_temp_offset", {"temp_offset": "1"}),
        ("adjust_power_limit", {"power_limit": "abc"}),
        ("set_poweroff_cool", {"poweroff_cool": "2"}),
        ("set_led", {"color": "blue", "period": 200, "duration": 100, "start": 0}),
        ("update_pools", {"pool1": "stratum+tcp://a:1", "worker1": "w"}),
        ("set_heat_mode", {"mode": "sauna"}),
        ("set_customer_msg", {"key": "msg10", "val": "x"}),
        ("set_customer_msg", {"key": "msg1", "val": "x" * 128}),
        ("update_pwd", {"old": "admin", "new": "much_too_long"}),
        ("load_log", {"ip": "10.0.0.1", "port": "514", "proto": "icmp"}),
        ("net_config", {"ip": "10.0.0.300", "mask": "255.0.0.0"}),
    ]
    for cmd, params in bad:
        answer = await client.call(cmd, **params)
        assert answer.encrypted, cmd
        assert (answer.data["STATUS"], answer.data["Code"]) == ("E", 132), cmd
        assert answer.data["Msg"] == "API command ERROR"
    assert emu.state.target_freq_percent == 0
    assert emu.state.password == FACTORY_PASSWORD


# ---------------------------------------------------------------------- transport


async def test_fragmented_half_closed_and_newline_requests(
    emu: WhatsminerV2Emulator,
) -> None:
    payload = b'{"command": "get_version"}'
    for raw in (
        await exchange(emu, payload, pieces=len(payload)),
        await exchange(emu, payload, pieces=3, half_close=True),
        await exchange(emu, payload + b"\n"),
        await exchange(emu, b"  \r\n" + payload + b"\n", half_close=True),
    ):
        assert load(raw)["Msg"]["fw_ver"] == emu.state.firmware_version
    client = await logged_in(emu)
    sealed = seal(
        {"cmd": "set_led", "param": "auto", "token": client.sign}, client.aes_key
    )
    ok(client.open(await exchange(emu, sealed, pieces=7, half_close=True)))
    assert emu.connections_total == 6


async def test_invalid_json_and_silence(emu: WhatsminerV2Emulator) -> None:
    not_json = load(await exchange(emu, b"summary|", half_close=True))
    assert (not_json["STATUS"], not_json["Code"]) == ("E", 23)
    broken = load(await exchange(emu, b'{"cmd": summary}'))
    assert broken["Code"] == 23
    assert await exchange(emu, b'{"cmd":"summ', half_close=True) != b""
    emu.faults.idle_timeout = 0.05
    assert await exchange(emu, b"") == b""  # closed after the idle timeout
    assert await exchange(emu, b'{"cmd":"summ') == b""  # incomplete, then silence


async def test_hostile_input_never_breaks_the_emulator(
    emu: WhatsminerV2Emulator,
) -> None:
    nasty = [
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 5000 + b"1" + b"}" * 5000,
        b"\xff\xfe\x00{}",
        b'{"cmd":"\xff\xfe"}',
        b"{" * (70 * 1024),
        b'{"cmd":["summary"],"param":{"x":1}}',
        b'{"enc":1,"data":["x"]}',
        b'{"enc":1,"data":"' + base64.b64encode(b"\0" * 32) + b'"}',
    ]
    for payload in nasty:
        raw = await exchange(emu, payload, half_close=True)
        assert load(raw)["STATUS"] == "E", payload[:20]
    assert (await read(emu, "get_version"))["Code"] == 131


async def test_param_aliases_and_miner_info_selector(emu: WhatsminerV2Emulator) -> None:
    full = (await read(emu, "get_miner_info"))["Msg"]
    assert {"ip", "proto", "netmask", "gateway", "dns", "hostname", "mac"} <= set(full)
    assert {"ledstat", "minersn", "powersn"} <= set(full)
    picked = await send(emu, {"command": "get_miner_info", "parameter": "mac, ip"})
    assert load(picked)["Msg"] == {"mac": full["mac"], "ip": full["ip"]}
    info = await read(emu, "get_miner_info", info="hostname,nonsense")
    assert info["Msg"] == {"hostname": "WhatsMiner"}
    client = await logged_in(emu)
    answer = await client.call("set_led", parameter="auto")
    ok(answer)


async def test_joined_reads(emu: WhatsminerV2Emulator) -> None:
    joined = await read(emu, "summary+pools")
    assert set(joined) == {"summary", "pools", "id"}
    assert joined["summary"][0]["STATUS"][0]["Msg"] == "Summary"
    assert joined["pools"][0]["POOLS"][0]["URL"].startswith("stratum+tcp://")
    triple = await read(emu, "summary+devs+devdetails")
    assert len(triple["devs"][0]["DEVS"]) == 3
    for refused in ("get_version+summary", "summary+status", "a+b", "summary+reboot"):
        assert (await read(emu, refused))["Code"] == 14, refused
    assert (await read(emu, "summary+pools+devs+edevs"))["Code"] == 14
    client = await logged_in(emu)
    answer = await client.call("edevs+pools")
    assert answer.encrypted
    assert set(answer.data) == {"edevs", "pools", "id"}


async def test_encrypted_reads(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    for cmd in ALL_READS:
        answer = await client.call(cmd)
        assert answer.encrypted, cmd
    assert summary_of((await client.call("summary")).data)["MAC"] == emu.state.mac


async def test_concurrent_connections_are_counted(emu: WhatsminerV2Emulator) -> None:
    opened = [await asyncio.open_connection(emu.host, emu.port) for _ in range(3)]
    for reader, writer in opened:
        writer.write(b'{"cmd":"summary"}')
        assert load(await asyncio.wait_for(reader.read(), 3))["SUMMARY"]
        writer.close()
        await writer.wait_closed()
    assert emu.max_concurrent_connections == 3
    assert emu.connections_total == 3


async def test_stop_closes_open_connections(socket_enabled: None) -> None:
    emu = WhatsminerV2Emulator()
    await emu.start()
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(b'{"cmd":')
    await writer.drain()
    await asyncio.sleep(0.01)
    await asyncio.wait_for(emu.stop(), 1)
    assert await asyncio.wait_for(reader.read(), 1) == b""
    writer.close()
    await writer.wait_closed()


def test_unknown_profile_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        WhatsminerV2Emulator(profile="1.3")


# ------------------------------------------------------------------------ faults


async def test_offline_refuses_then_reopens_same_port(
    emu: WhatsminerV2Emulator,
) -> None:
    port = emu.port
    emu.faults.offline = True
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(emu.host, port)
    emu.faults.offline = False
    assert (await read(emu, "get_version"))["Code"] == 131
    await emu.set_offline(True)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(emu.host, port)
    await emu.set_offline(False)
    assert emu.port == port
    emu.faults = Faults(offline=True)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(emu.host, port)
    emu.faults.offline = False
    assert (await read(emu, "get_version"))["Code"] == 131


async def test_stall_holds_the_connection(emu: WhatsminerV2Emulator) -> None:
    emu.faults.stall = True
    with pytest.raises(TimeoutError):
        await exchange(emu, b'{"cmd":"summary"}', half_close=True, wait=0.2)
    assert emu.commands() == ["summary"]
    emu.faults.stall_seconds = 0.05
    assert await exchange(emu, b'{"cmd":"summary"}') == b""


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ("garbage", lambda raw: raw.startswith(b"\xff\xfe") and b"{" not in raw),
        ("truncate", lambda raw: raw.startswith(b'{"STATUS":[') and raw[-1:] != b"}"),
        ("trailing_nul", lambda raw: raw.endswith(b"}\x00")),
        ("trailing_newline", lambda raw: raw.endswith(b"}\n")),
    ],
)
async def test_output_faults(emu: WhatsminerV2Emulator, fault: str, check: Any) -> None:
    setattr(emu.faults, fault, True)
    raw = await exchange(emu, b'{"cmd":"summary"}')
    assert check(raw), raw[:80]


async def test_trailers_follow_encrypted_replies(emu: WhatsminerV2Emulator) -> None:
    emu.faults.trailing_nul = emu.faults.trailing_newline = True
    client = await logged_in(emu)
    answer = await client.call("enable_web_pools")
    assert answer.raw.endswith(b'"}\x00\n')
    ok(answer)


async def test_latency(emu: WhatsminerV2Emulator) -> None:
    emu.faults.latency = 0.15
    loop = asyncio.get_running_loop()
    started = loop.time()
    await read(emu, "get_version")
    assert loop.time() - started >= 0.14


async def test_btminer_down_text(emu: WhatsminerV2Emulator) -> None:
    emu.faults.btminer_down = True
    for cmd in ("summary", "edevs", "summary+pools"):
        assert await send(emu, {"cmd": cmd}) == BTMINER_DOWN_TEXT
    # The API daemon itself still answers: that is how a client sees btminer off.
    assert (await read(emu, "get_version"))["Code"] == 131
    assert "Msg" in await read(emu, "status")
    assert (await read(emu, "get_token"))["Code"] == 134
    client = await logged_in(emu)
    assert (await client.call("summary")).raw == BTMINER_DOWN_TEXT
    ok(await client.call("power_on"))


async def test_hang_commands_act_but_never_reply(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    emu.faults.hang_commands = {"set_high_power"}
    with pytest.raises(TimeoutError):
        await exchange(
            emu,
            seal({"cmd": "set_high_power", "token": client.sign}, client.aes_key),
            wait=0.2,
        )
    assert emu.state.power_mode == "High"


async def test_hung_reboot_keeps_the_socket_while_unreachable(
    emu: WhatsminerV2Emulator,
) -> None:
    client = await logged_in(emu)
    emu.faults.hang_commands = {"reboot"}
    request = seal({"cmd": "reboot", "token": client.sign}, client.aes_key)
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(request)
    await asyncio.sleep(0.05)
    assert emu.is_rebooting()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(emu.host, emu.port)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(), 0.1)
    writer.close()
    await writer.wait_closed()


# ------------------------------------------------------------- writes and state


async def test_reboot_closes_silently_and_comes_back(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    ok(await client.call("disable_btminer_init"))
    answer = await client.call("reboot")
    assert answer.raw == b""  # no reply by default (ref §7.2)
    assert emu.is_rebooting()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(emu.host, emu.port)
    emu.advance(emu.faults.reboot_seconds)
    assert not emu.is_rebooting()
    summary = summary_of(await read(emu, "summary"))
    assert summary["MHS av"] == 0  # btminer_init disabled: not mining after boot
    assert summary["Uptime"] == 0
    assert (await client.call("power_on")).data["Code"] == 135  # tokens lost
    await client.login()
    ok(await client.call("power_on"))
    assert summary_of(await read(emu, "summary"))["MHS av"] > 80e6


async def test_reboot_drops_open_connections(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(b'{"cmd":')  # a client still mid-request
    await writer.drain()
    await client.call("reboot")
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(reader.read(), 1)
    writer.close()
    with contextlib.suppress(ConnectionResetError):
        await writer.wait_closed()


async def test_reboot_ends_in_real_time(emu: WhatsminerV2Emulator) -> None:
    emu.faults.reboot_seconds = 0.1
    emu.faults.no_reply_commands.discard("reboot")
    client = await logged_in(emu)
    ok(await client.call("reboot"))
    await asyncio.sleep(0.05)
    assert emu.is_rebooting()
    for _ in range(50):
        await asyncio.sleep(0.02)
        if not emu.is_rebooting():
            break
    assert (await read(emu, "get_version"))["Code"] == 131


async def test_power_off_respbefore_and_power_on(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    ok(await client.call("power_off", respbefore="true"))
    summary = summary_of(await read(emu, "summary"))
    assert summary["MHS av"] == 0
    assert 0 < summary["Power"] < 100
    assert summary["Fan Speed In"] < 1500
    assert summary["Chip Temp Avg"] > 70  # still hot: the boards cool over minutes
    emu.advance(15 * 60)
    assert summary_of(await read(emu, "summary"))["Chip Temp Avg"] < 40
    status = (await read(emu, "status"))["Msg"]
    assert status["mineroff"] == "true"
    assert status["mineroff_time"]
    ok(await client.call("power_on"))
    assert (await read(emu, "status"))["Msg"]["mineroff"] == "false"
    assert (await client.call("power_off", respbefore="false")).raw == b""
    assert not emu.state.mining


async def test_power_modes_restart_btminer(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    normal = summary_of(await read(emu, "summary"))
    assert normal["Power Mode"] == "Normal"
    assert (await client.call("set_low_power")).raw == b""
    assert emu.state.power_mode == "Low"
    assert emu.is_btminer_restarting()
    during = summary_of(await read(emu, "summary"))
    assert (during["MHS av"], during["Elapsed"]) == (0, 0)  # "reduced" reads
    emu.advance(emu.faults.btminer_restart_seconds)
    low = summary_of(await read(emu, "summary"))
    assert low["Power Mode"] == "Low"
    assert low["Power"] < normal["Power"]
    assert low["MHS av"] < normal["MHS av"]
    assert (await read(emu, "status"))["Msg"]["power_mode"] == "low"
    await client.call("set_high_power")
    emu.advance(1)
    high = summary_of(await read(emu, "summary"))
    assert high["Power"] > normal["Power"]
    assert high["Power"] <= high["Power Limit"]


async def test_normal_mode_ramps_over_minutes(emu: WhatsminerV2Emulator) -> None:
    """With a ramp, set_power_pct_v2 moves the power there over that time."""
    emu.state.normal_mode_ramp_s = 180
    client = await logged_in(emu)
    full = summary_of(await read(emu, "summary"))["Power"]
    ok(await client.call("set_power_pct_v2", percent="40"))
    assert summary_of(await read(emu, "summary"))["Power"] == pytest.approx(full, 2)
    emu.advance(90)  # half-way: 70 %
    half = summary_of(await read(emu, "summary"))["Power"]
    assert half == pytest.approx(full * 0.7, abs=3)
    ok(await client.call("set_power_pct_v2", percent="100"))  # back up from there
    emu.advance(90)
    assert summary_of(await read(emu, "summary"))["Power"] == pytest.approx(
        full * 0.85, abs=3
    )
    emu.advance(90)
    assert summary_of(await read(emu, "summary"))["Power"] == pytest.approx(full, 2)
    ok(await client.call("set_power_pct", percent="50"))  # fast mode: at once
    assert summary_of(await read(emu, "summary"))["Power"] == pytest.approx(
        full / 2, abs=2
    )


async def test_power_limit_and_percent_scale_power_and_hashrate(
    emu: WhatsminerV2Emulator,
) -> None:
    client = await logged_in(emu)
    base = summary_of(await read(emu, "summary"))
    assert base["Power Rate"] == pytest.approx(
        base["Power"] / (base["MHS av"] / 1e6), abs=0.01
    )
    ok(await client.call("adjust_power_limit", power_limit="2000"))
    assert emu.state.power_limit_w == 2000
    emu.advance(1)
    limited = summary_of(await read(emu, "summary"))
    assert limited["Power"] == 2000
    assert limited["Power Limit"] == 2000
    ratio = limited["MHS av"] / base["MHS av"]
    assert 0.55 < ratio < 0.7  # roughly proportional to power
    assert (await read(emu, "status"))["Msg"]["power_limit_set"] == "2000"
    ok(await client.call("adjust_power_limit", power_limit="99999"))
    assert emu.state.power_limit_w == emu.state.model.default_power_limit_w
    assert (await read(emu, "status"))["Msg"]["power_limit_set"] == ""
    emu.advance(1)
    ok(await client.call("set_power_pct", percent="50"))
    half = summary_of(await read(emu, "summary"))
    assert half["Power"] == pytest.approx(base["Power"] / 2, abs=2)
    ok(await client.call("set_power_pct_v2", percent=80))
    assert (emu.state.power_percent, emu.state.power_percent_mode) == (80, "normal")
    ok(await client.call("restore_power_pct"))
    assert summary_of(await read(emu, "summary"))["Power"] == base["Power"]
    ok(await client.call("set_target_freq", percent="-20"))
    assert (await read(emu, "status"))["Msg"]["hash_percent"] == "-20"
    ok(await client.call("set_power", power="2500"))
    emu.advance(1)
    assert emu.state.power_target_w == 2500


async def test_update_pools_takes_effect_immediately(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    pools: dict[str, Any] = {
        "pool1": "stratum+tcp://pool.example:3333",
        "worker1": "acct.rig1",
        "passwd1": "x",
        "pool2": "stratum+tcp://backup.example:443",
        "worker2": "acct.rig1",
        "passwd2": "x",
        "pool3": "",
        "worker3": "",
        "passwd3": None,
    }
    ok(await client.call("update_pools", **pools))
    rows = (await read(emu, "pools"))["POOLS"]
    assert [(row["URL"], row["User"]) for row in rows] == [
        ("stratum+tcp://pool.example:3333", "acct.rig1"),
        ("stratum+tcp://backup.example:443", "acct.rig1"),
    ]
    assert rows[0]["Stratum URL"] == "pool.example"
    assert rows[0]["Stratum Active"] is True
    assert emu.state.pools[1] == ("stratum+tcp://backup.example:443", "acct.rig1", "x")


async def test_set_led_modes(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    ok(
        await client.call(
            "set_led", color="green", period=1000, duration="500", start=0
        )
    )
    assert led_of(emu) == {
        "color": "green",
        "period": 1000,
        "duration": 500,
        "start": 0,
    }
    assert (await read(emu, "get_miner_info", info="ledstat"))["Msg"] == {
        "ledstat": "manual"
    }
    ok(await client.call("set_led", param="auto"))
    assert led_of(emu) == "auto"


async def test_update_pwd_invalidates_tokens_and_changes_salt(
    emu: WhatsminerV2Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tests.emulators")
    client = await logged_in(emu)
    rejected = await client.call("update_pwd", old="nope", new=NEW_PASSWORD)
    assert rejected.data["Code"] == 132
    ok(await client.call("update_pwd", old="admin", new=NEW_PASSWORD))  # old key
    assert emu.state.password == NEW_PASSWORD
    assert emu.live_tokens() == 0
    assert (await read(emu, "get_token"))["Msg"]["salt"] != FACTORY_SALT
    assert (await client.call("enable_web_pools")).data["Code"] == 23
    fresh = await logged_in(emu, NEW_PASSWORD)
    ok(await fresh.call("enable_web_pools"))
    assert "update_pwd" in caplog.text
    assert NEW_PASSWORD not in caplog.text  # passwords are never logged


async def test_factory_reset(emu: WhatsminerV2Emulator) -> None:
    emu.faults.reboot_seconds = 0
    client = await logged_in(emu)
    ok(await client.call("update_pwd", old="admin", new="other"))
    client = await logged_in(emu, "other")
    assert (await client.call("set_low_power")).raw == b""
    ok(await client.call("adjust_power_limit", power_limit="3000"))
    ok(await client.call("enable_btminer_fast_boot"))
    ok(await client.call("factory_reset"))
    state = emu.state
    assert (state.password, state.salt, state.write_api_enabled) == (
        "admin",
        FACTORY_SALT,
        False,
    )
    assert (state.power_mode, state.power_limit_w, state.fast_boot) == (
        "Normal",
        3600,
        False,
    )
    assert not emu.is_rebooting()  # reboot_seconds 0: already back
    client = await logged_in(emu)
    assert (await client.call("power_off", respbefore="true")).data["Code"] == 45


async def test_net_config_and_other_settings(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    settings: list[tuple[str, dict[str, Any], str, object]] = [
        ("enable_btminer_fast_boot", {}, "fast_boot", True),
        ("disable_web_pools", {}, "web_pools", False),
        ("set_hostname", {"hostname": "rig-7"}, "hostname", "rig-7"),
        (
            "set_zone",
            {"timezone": "CET-1", "zonename": "Europe/Paris"},
            "zonename",
            "Europe/Paris",
        ),
        (
            "load_log",
            {"ip": "10.0.0.2", "port": "514", "proto": "udp"},
            "log_server",
            ("10.0.0.2", "514", "udp"),
        ),
        ("set_temp_offset", {"temp_offset": "-10"}, "temp_offset", -10),
        ("adjust_upfreq_speed", {"upfreq_speed": "9"}, "upfreq_speed", 9),
        ("set_poweroff_cool", {"poweroff_cool": "1"}, "poweroff_cool", True),
        ("set_fan_zero_speed", {"fan_zero_speed": 1}, "fan_zero_speed", True),
        ("set_heat_mode", {"mode": "heating"}, "heat_mode", "heating"),
        ("disable_btminer_init", {}, "btminer_init", False),
        (
            "set_customer_msg",
            {"key": "CustomerSn", "val": "SN-1"},
            "customer_msgs",
            {"CustomerSn": "SN-1"},
        ),
    ]
    for cmd, params, attribute, expected in settings:
        ok(await client.call(cmd, **params))
        assert getattr(emu.state, attribute) == expected, cmd
    customer = await client.call("get_customer_msg")
    assert customer.data["Msg"] == {"CustomerSn": "SN-1"}
    summary = summary_of(await read(emu, "summary"))
    assert summary["Btminer Fast Boot"] == "enable"
    emu.faults.reboot_seconds = 0
    static: dict[str, Any] = {
        "ip": "10.0.0.9",
        "mask": "255.255.255.0",
        "gate": "10.0.0.1",
        "dns": "1.1.1.1 9.9.9.9",
        "host": "rig-9",
    }
    ok(await client.call("net_config", **static))
    info = (await read(emu, "get_miner_info"))["Msg"]
    assert (info["proto"], info["ip"], info["dns"], info["hostname"]) == (
        "static",
        "10.0.0.9",
        "1.1.1.1 9.9.9.9",
        "rig-9",
    )
    client = await logged_in(emu)  # the restart dropped the tokens
    ok(await client.call("net_config", param="dhcp"))
    assert emu.state.proto == "dhcp"


async def test_pre_power_on(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    assert (await client.call("pre_power_on")).data["Code"] == 132  # mining is on
    await client.call("power_off", respbefore="true")
    first = (await client.call("pre_power_on", complete="false", msg="")).data["Msg"]
    assert first == {"complete": "false", "msg": "wait for adjust temp"}
    assert (await client.call("pre_power_on")).data["Msg"]["msg"] == "adjust continue"
    emu.advance(emu.faults.preheat_seconds)
    assert (await client.call("pre_power_on")).data["Msg"] == {
        "complete": "true",
        "msg": "adjust complete",
    }


@pytest.mark.parametrize("mode", ["normal", "split", "merged"])
async def test_download_logs_two_phase(emu: WhatsminerV2Emulator, mode: str) -> None:
    emu.faults.download_logs_mode = mode  # type: ignore[assignment]
    emu.state.log_text = b"line one\nline two\n" * 50
    client = await logged_in(emu)
    raw = await exchange(
        emu, seal({"cmd": "download_logs", "token": client.sign}, client.aes_key)
    )
    header_end = raw.index(b"}") + 1
    header = unseal(raw[:header_end], client.aes_key)
    assert header["Code"] == 131
    assert header["Msg"] == {"logfilelen": str(len(emu.state.log_text))}
    assert raw[header_end:] == emu.state.log_text


async def test_download_logs_generated_text(emu: WhatsminerV2Emulator) -> None:
    client = await logged_in(emu)
    raw = await exchange(
        emu, seal({"cmd": "download_logs", "token": client.sign}, client.aes_key)
    )
    header_end = raw.index(b"}") + 1
    length = int(unseal(raw[:header_end], client.aes_key)["Msg"]["logfilelen"])
    log = raw[header_end:]
    assert len(log) == length
    assert b"btminer" in log


async def test_update_firmware_upload_on_same_socket(emu: WhatsminerV2Emulator) -> None:
    emu.upgrade_firmware_version = "20240901.22.REL"
    client = await logged_in(emu)
    image = bytes(range(256)) * 40
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(seal({"cmd": "update_firmware", "token": client.sign}, client.aes_key))
    await writer.drain()
    ready = await asyncio.wait_for(reader.readuntil(b"}"), 3)
    assert unseal(ready, client.aes_key)["Msg"] == "ready"
    writer.write(struct.pack("<I", len(image)))
    for start in range(0, len(image), 1000):
        writer.write(image[start : start + 1000])
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()
    await writer.wait_closed()
    assert emu.state.firmware_images == [image]
    assert emu.is_rebooting()
    emu.advance(emu.faults.reboot_seconds)
    assert (await read(emu, "get_version"))["Msg"]["fw_ver"] == "20240901.22.REL"


async def test_update_firmware_cut_short_does_not_upgrade(
    emu: WhatsminerV2Emulator,
) -> None:
    client = await logged_in(emu)
    reader, writer = await asyncio.open_connection(emu.host, emu.port)
    writer.write(seal({"cmd": "update_firmware", "token": client.sign}, client.aes_key))
    await asyncio.wait_for(reader.readuntil(b"}"), 3)
    writer.write(struct.pack("<I", 5000) + b"partial")
    writer.write_eof()
    assert await asyncio.wait_for(reader.read(), 3) == b""
    writer.close()
    await writer.wait_closed()
    assert emu.state.firmware_images == []
    assert not emu.is_rebooting()


# ---------------------------------------------------------------------- profiles


async def test_profile_2_2_is_clean_json(emu: WhatsminerV2Emulator) -> None:
    emu.state.error_codes = [
        ("218", "2024-06-15 10:30:00"),
        ("110", "2024-06-15 10:31:00"),
    ]
    for cmd in ALL_READS:
        raw = await send(emu, {"cmd": cmd})
        assert b"\n" not in raw, cmd
        json.loads(raw)  # strict: no repair needed
    summary = summary_of(await read(emu, "summary"))
    assert summary["MAC"] == "C6:07:20:00:1E:C2"
    assert 80e6 < summary["MHS av"] < 90e6  # MH/s
    assert summary["Factory GHS"] == 84773
    assert (
        summary["Chip Temp Max"] > summary["Chip Temp Avg"] > summary["Chip Temp Min"]
    )
    assert (await read(emu, "get_psu"))["Msg"]["vendor"] == "7"
    errors = (await read(emu, "get_error_code"))["Msg"]["error_code"]
    assert errors == [{"218": "2024-06-15 10:30:00"}, {"110": "2024-06-15 10:31:00"}]
    status = await read(emu, "status")
    assert status["Code"] == 131
    assert status["Msg"]["FirmwareVersion"] == "20240624.18.REL"
    version = (await read(emu, "get_version"))["Msg"]
    assert (version["api_ver"], version["miner_type"]) == ("2.0.5", "M30S+VE40")
    devs = (await read(emu, "devs"))["DEVS"]
    assert [dev["Factory GHS"] for dev in devs] == [28258, 28258, 28257]
    assert (await read(emu, "edevs"))["DEVS"] == devs


async def test_profile_2_0_4_defects(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(profile="2.0.4") as emu:
        emu.state.error_codes = [("329", "2022-01-17 11:28:11")]
        errors = await send(emu, {"cmd": "get_error_code"})
        assert b'"error_code":["329":"2022-01-17 11:28:11"]' in errors
        psu = await send(emu, {"cmd": "get_psu"})
        assert b'"vender":"7"' in psu
        assert re.search(rb'"fan_speed":"\d+""temp0":"[\d.]+"', psu)
        devs = await send(emu, {"cmd": "devs"})
        assert b'"Chip Data":"K88Z347-2039\nBINV01-195001D"' in devs
        assert b",}" in devs
        assert b'"HS Factory":' in devs
        assert b",}" in await send(emu, {"cmd": "pools"})
        status = await send(emu, {"cmd": "status"})
        assert (
            status == b'{"btmineroff":"false","Firmware Version":"\'20220919.15.REL\'"}'
        )
        assert load(await send(emu, {"cmd": "get_version"}))["Msg"] == {
            "api_ver": "2.0.4",
            "fw_ver": "20220919.15.REL",
        }
        summary = summary_of(load(await send(emu, {"cmd": "summary"})))
        assert summary["Firmware Version"] == "20220919.15.REL"
        client = await logged_in(emu)
        assert (await client.call("adjust_power_limit", power_limit="3000")).data[
            "Code"
        ] == 14
        assert (await client.call("set_power_pct_v2", percent="90")).data["Code"] == 14
        assert (await client.call("set_low_power")).raw == b""
        assert await send(emu, {"cmd": "summary"}) == BTMINER_DOWN_TEXT  # restart
        emu.state.api_version = "whatsminer v1.4.0"  # the old daemon's strings
        emu.state.description = "whatsminer v1.3"
        version = await read(emu, "get_version")
        assert (version["Msg"]["api_ver"], version["Description"]) == (
            "whatsminer v1.4.0",
            "whatsminer v1.3",
        )
        assert (await read(emu, "stats"))["Description"] == "whatsminer v1.3"
        emu.state.error_codes = [
            (str(code), "2022-01-17 11:28:11") for code in range(400)
        ]
        long_reply = await send(emu, {"cmd": "get_error_code"})
        assert len(long_reply) == emu.faults.error_reply_max_bytes
        assert not long_reply.endswith(b"}")


async def test_json_defects_fault_in_clean_profile(emu: WhatsminerV2Emulator) -> None:
    emu.faults.json_defects = True
    assert b'"vender"' in await send(emu, {"cmd": "get_psu"})
    assert b"\n" in await send(emu, {"cmd": "edevs"})
    status = load(await send(emu, {"cmd": "status"}))
    assert status["Msg"]["FirmwareVersion"] == "'20240624.18.REL'"


async def test_profile_v3compat(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(profile="v3compat") as emu:
        summary = await read(emu, "summary")
        assert (summary["STATUS"], summary["Code"]) == ("S", 131)
        msg = summary["Msg"]
        assert 100 < msg["MHS av"] < 130  # TH/s
        assert "Chip Temp Avg" not in msg
        assert msg["MAC"] == emu.state.mac
        devs = (await read(emu, "devs"))["DEVS"]
        assert all(30 < dev["MHS av"] < 50 for dev in devs)
        assert all("Chip Temp Avg" not in dev for dev in devs)
        assert (await read(emu, "get_version"))["Msg"]["fw_ver"].startswith("2025")
        joined = await read(emu, "summary+pools")
        assert joined["summary"][0]["Msg"]["MHS av"] == msg["MHS av"]
        client = await logged_in(emu)
        ok(await client.call("adjust_power_limit", power_limit="3000"))


async def test_restart_reads_modes(emu: WhatsminerV2Emulator) -> None:
    emu.faults.btminer_restart_reads = "down"
    emu.faults.no_reply_commands.clear()
    client = await logged_in(emu)
    ok(await client.call("restart_btminer"))
    assert await send(emu, {"cmd": "pools"}) == BTMINER_DOWN_TEXT
    assert (await read(emu, "get_version"))["Code"] == 131  # answered by the api daemon
    emu.advance(emu.faults.btminer_restart_seconds)
    assert summary_of(await read(emu, "summary"))["Elapsed"] == 0


async def test_state_is_a_mutable_dataclass(emu: WhatsminerV2Emulator) -> None:
    assert isinstance(emu.state, MinerState)
    emu.state.env_temp = 35.0
    emu.state.mac = "AA:BB:CC:DD:EE:FF"
    summary = summary_of(await read(emu, "summary"))
    assert summary["Env Temp"] == 35.0
    assert summary["MAC"] == "AA:BB:CC:DD:EE:FF"
    emu.noise = True
    first = summary_of(await read(emu, "summary"))["MHS av"]
    second = summary_of(await read(emu, "summary"))["MHS av"]
    assert first != second


# ------------------------------------------------------ temperatures, hash stable

FROZEN_NOW = 1_767_225_600.0  # 2026-01-01
SKEWS = (0.0, -0.6, 0.8)  # the boards' differences at full load


@pytest.fixture
async def still(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """An emulator whose clock moves only by ``advance()``."""
    emulator = WhatsminerV2Emulator()
    emulator.now = lambda: FROZEN_NOW
    async with emulator:
        yield emulator


async def temperatures(emu: WhatsminerV2Emulator) -> tuple[list[float], float]:
    """The boards' temperatures (``edevs``) and the PSU's (``get_psu``)."""
    devs = (await read(emu, "edevs"))["DEVS"]
    psu = (await read(emu, "get_psu"))["Msg"]
    return [dev["Temperature"] for dev in devs], float(psu["temp0"])


def curve(start: float, target: float, seconds: float, tau: float) -> float:
    return target + (start - target) * math.exp(-seconds / tau)


async def test_temperatures_follow_the_load_over_minutes(
    still: WhatsminerV2Emulator,
) -> None:
    """Cooling τ 3 min after mining stops, warming τ 2 min after it resumes."""
    emu, env = still, still.state.env_temp
    cooling, warming = emu.state.cooling_tau_s, emu.state.warming_tau_s
    assert (cooling, warming) == (180, 120)
    hot = [env + BOARD_RISE_PER_LOAD + skew for skew in SKEWS]
    idle = env + BOARD_IDLE_RISE
    psu_hot, psu_idle = env + PSU_IDLE_RISE + PSU_RISE_PER_LOAD, env + PSU_IDLE_RISE
    boards, psu = await temperatures(emu)  # mining for 50 minutes: settled
    assert (boards, psu) == (pytest.approx(hot), pytest.approx(psu_hot))
    client = await logged_in(emu)
    ok(await client.call("power_off", respbefore="true"))
    boards, psu = await temperatures(emu)  # no jump
    assert (boards, psu) == (pytest.approx(hot), pytest.approx(psu_hot))
    summary = summary_of(await read(emu, "summary"))
    assert summary["MHS av"] == 0
    assert summary["Chip Temp Avg"] == pytest.approx(sum(hot) / 3, abs=0.01)

    waited = 0
    for seconds in (60, 180, 600):
        emu.advance(seconds - waited)
        waited = seconds
        boards, psu = await temperatures(emu)
        assert boards == pytest.approx(
            [curve(board, idle, seconds, cooling) for board in hot], abs=0.01
        )
        assert psu == pytest.approx(
            curve(psu_hot, psu_idle, seconds, cooling), abs=0.06
        )
    assert idle < max(boards) < idle + 2  # near the room after ten minutes
    cold = boards

    ok(await client.call("power_on"))
    summary = summary_of(await read(emu, "summary"))
    # the chips run ahead of their boards at once; the boards warm over minutes
    assert summary["Chip Temp Avg"] > max(cold) + 10
    assert summary["Temperature"] == pytest.approx(max(cold))
    emu.advance(120)
    boards, _ = await temperatures(emu)
    assert boards == pytest.approx(
        [curve(c, h, 120, warming) for c, h in zip(cold, hot, strict=True)], abs=0.02
    )
    emu.advance(3600)
    boards, psu = await temperatures(emu)
    assert (boards, psu) == (pytest.approx(hot), pytest.approx(psu_hot))


async def test_temperatures_at_once_without_time_constants(
    still: WhatsminerV2Emulator,
) -> None:
    """Time constants of 0: the targets at once (as before the curves)."""
    emu, env = still, still.state.env_temp
    emu.state.warming_tau_s = emu.state.cooling_tau_s = 0
    client = await logged_in(emu)
    ok(await client.call("power_off", respbefore="true"))
    boards, psu = await temperatures(emu)
    assert boards == [env + BOARD_IDLE_RISE] * 3
    assert psu == env + PSU_IDLE_RISE
    ok(await client.call("power_on"))
    boards, _ = await temperatures(emu)
    assert boards == pytest.approx([env + BOARD_RISE_PER_LOAD + s for s in SKEWS])


async def test_cooling_over_a_reboot_and_a_long_restart(
    still: WhatsminerV2Emulator,
) -> None:
    """One big advance() over the end of a reboot or restart: cool, then warm."""
    emu, env = still, still.state.env_temp
    hot = [env + BOARD_RISE_PER_LOAD + skew for skew in SKEWS]
    idle = env + BOARD_IDLE_RISE
    cooling, warming = emu.state.cooling_tau_s, emu.state.warming_tau_s

    def cooled_then_warmed(start: list[float], down: float, up: float) -> list[float]:
        return [
            curve(curve(t, idle, down, cooling), h, up, warming)
            for t, h in zip(start, hot, strict=True)
        ]

    client = await logged_in(emu)
    emu.faults.reboot_seconds = 600
    await client.call("reboot")
    assert emu.is_rebooting()
    emu.advance(600 + 120)
    assert not emu.is_rebooting()
    boards, _ = await temperatures(emu)
    assert boards == pytest.approx(cooled_then_warmed(hot, 600, 120), abs=0.01)

    emu.advance(7200)
    client = await logged_in(emu)
    emu.faults.btminer_restart_seconds = 300
    await client.call("restart_btminer")
    assert emu.is_btminer_restarting()
    emu.advance(300 + 60)
    boards, _ = await temperatures(emu)
    assert boards == pytest.approx(cooled_then_warmed(hot, 300, 60), abs=0.01)


async def test_state_changes_count_from_when_they_are_made(
    still: WhatsminerV2Emulator,
) -> None:
    """Changing ``state`` directly settles the temperatures up to that moment."""
    emu, env = still, still.state.env_temp
    hot = [env + BOARD_RISE_PER_LOAD + skew for skew in SKEWS]
    await temperatures(emu)
    emu.advance(1000)  # nobody reads in between
    emu.state.mining = False
    emu.advance(180)
    boards, _ = await temperatures(emu)
    expected = [curve(t, env + BOARD_IDLE_RISE, 180, 180) for t in hot]
    assert boards == pytest.approx(expected, abs=0.01)
    emu.state.env_temp = 30.0  # the room: the intake air, at once
    boards, _ = await temperatures(emu)
    assert boards == pytest.approx([t + 5 for t in expected], abs=0.01)


async def test_a_copy_of_the_state_leaves_the_emulator_behind(
    still: WhatsminerV2Emulator,
) -> None:
    emu, env = still, still.state.env_temp
    saved = copy.deepcopy(emu.state)
    assert saved == emu.state
    assert "_changing" not in vars(saved)
    saved.mining = False  # not heard by the emulator
    emu.advance(600)
    boards, _ = await temperatures(emu)
    assert boards[0] == pytest.approx(env + BOARD_RISE_PER_LOAD)
    for name in vars(saved):  # given back in place, as the fault campaign does
        setattr(emu.state, name, getattr(saved, name))
    emu.advance(180)
    boards, _ = await temperatures(emu)
    assert boards[0] == pytest.approx(
        curve(env + BOARD_RISE_PER_LOAD, env + BOARD_IDLE_RISE, 180, 180), abs=0.01
    )


async def test_temperatures_follow_freezegun(
    emu: WhatsminerV2Emulator, freezer: Any
) -> None:
    """The clock is ``now()`` (time.time, frozen here) plus ``advance()``."""
    env = emu.state.env_temp
    client = await logged_in(emu)
    ok(await client.call("power_off", respbefore="true"))
    freezer.tick(180)
    boards, _ = await temperatures(emu)
    assert boards[0] == pytest.approx(
        curve(env + BOARD_RISE_PER_LOAD, env + BOARD_IDLE_RISE, 180, 180), abs=0.01
    )


async def test_hash_stable_once_the_hashrate_settles(
    still: WhatsminerV2Emulator,
) -> None:
    """Off after a resume; on after 5 minutes (fast boot and upfreq speed: sooner)."""
    emu = still
    client = await logged_in(emu)

    async def stable() -> tuple[bool, int, list[int]]:
        summary = summary_of(await read(emu, "summary"))
        devs = (await read(emu, "edevs"))["DEVS"]
        return (
            summary["Hash Stable"],
            summary["Hash Stable Cost Seconds"],
            [dev["Upfreq Complete"] for dev in devs],
        )

    assert await stable() == (True, HASH_STABLE_SECONDS, [1, 1, 1])
    assert HASH_STABLE_SECONDS == 300
    ok(await client.call("power_off", respbefore="true"))
    assert await stable() == (False, 0, [0, 0, 0])
    ok(await client.call("power_on"))
    assert await stable() == (False, 0, [0, 0, 0])
    emu.advance(HASH_STABLE_SECONDS - 1)
    assert await stable() == (False, HASH_STABLE_SECONDS - 1, [0, 0, 0])
    emu.advance(1)
    assert await stable() == (True, HASH_STABLE_SECONDS, [1, 1, 1])

    for fast_boot, speed, seconds in (
        (True, 0, HASH_STABLE_FAST_BOOT_SECONDS),
        (False, 4, HASH_STABLE_SECONDS // 5),
        (True, 1, HASH_STABLE_FAST_BOOT_SECONDS // 2),
    ):
        emu.state.fast_boot, emu.state.upfreq_speed = fast_boot, speed
        ok(await client.call("power_off", respbefore="true"))
        ok(await client.call("power_on"))
        emu.advance(seconds - 1)
        assert (await stable())[0] is False
        emu.advance(1)
        assert (await stable())[0] is True
