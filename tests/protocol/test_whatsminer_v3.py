"""The Whatsminer API v3 client, its adapter and API detection, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import socket
import struct
from unittest.mock import patch

import pytest

from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NoReply,
    ParseError,
    RequestTimeout,
    UnsupportedCommand,
)
from custom_components.miner_hub.protocol.models import (
    Capability,
    PoolConfig,
    PowerMode,
    PowerPercentMode,
    WriteAccess,
)
from custom_components.miner_hub.protocol.whatsminer.crypto import (
    v3_encrypt_param as encrypt_param,
    v3_token as token,
)
from custom_components.miner_hub.protocol.whatsminer.detect import (
    WhatsminerApi,
    detect_api,
    whatsminer,
)
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import WhatsminerV3Miner
from custom_components.miner_hub.protocol.whatsminer.v3.client import WhatsminerV3Client
from tests.emulators import WhatsminerV2Emulator, WhatsminerV3Emulator

PASSWORD = "h0me_m1ner"


@pytest.fixture
async def v3(socket_enabled: None) -> AsyncIterator[WhatsminerV3Emulator]:
    async with WhatsminerV3Emulator(
        password=PASSWORD, mac="C6:07:20:00:33:44", hostname="attic-m60"
    ) as emulator:
        yield emulator


@pytest.fixture
def miner(v3: WhatsminerV3Emulator) -> WhatsminerV3Miner:
    miner = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, PASSWORD))
    miner.client.read_timeout = 1
    return miner


def test_vendor_token_vector() -> None:
    """The vendor's example: token and encrypted pools param, byte for byte."""
    sign, digest = token("set.miner.pools", "super", "5QAHiKMb", 1692685512)
    assert digest.hex() == (
        "b7957365d05ec273e788a1034d1a4b0df51b295a3da79d14f46b2bf7b56e4ab3"
    )
    assert sign == "t5VzZdBe"
    param = [{"pool": "stratum+tcp://pool:3333", "worker": "worker", "passwd": "x"}]
    assert encrypt_param(digest, param) == (
        "M7c6KBuUVIiP+BnrFxPBexRUr3Zw94Ng42eBDFq02W9o7MSxcGd0EcmSwVx72paF9s8xliqc"
        "Lqi00gxEFa8AzpW/A3R+69wXNkHPuGtqhA4="
    )


async def test_read_info(miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator) -> None:
    info = await miner.read_info()
    assert info.mac == "c6:07:20:00:33:44"
    assert info.hostname == "attic-m60"
    assert info.model == v3.state.model.name.replace("_", "")
    assert info.firmware_version == v3.state.firmware_version
    assert info.api_version is not None
    assert miner.host == v3.host
    assert miner.power_limit_range_w == (0, 99999)
    assert Capability.PRE_POWER_ON not in miner.capabilities
    assert PASSWORD not in repr(miner)


async def test_read_status_in_ths_with_the_real_power_percent(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    status = await miner.read_status()
    assert status.mining is True
    factory = v3.state.model.factory_ghs / 1000
    assert status.hashrate_ths is not None
    assert 0.5 < status.hashrate_ths / factory < 1.5
    assert status.power_w is not None
    assert status.power_w > 1000
    assert status.power_percent == 100
    assert status.power_mode is PowerMode.NORMAL
    assert status.accepted_shares is None  # v3 has no share counters
    assert len(status.boards) == len(v3.state.model.board_factory_ghs)
    assert all(board.temperature_c is not None for board in status.boards)
    assert status.active_pool is not None
    assert [command.cmd for command in v3.received] == [
        "get.device.info", "get.miner.status", "get.miner.setting",
    ]  # fmt: skip


async def test_power_supply_and_errors(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    psu = await miner.read_power_supply()
    assert psu is not None
    assert psu.serial_number == v3.state.power_sn
    assert await miner.read_errors() == ()
    v3.state.error_codes = [("264", "2026-05-23 09:19:10")]
    errors = await miner.read_errors()
    assert [(e.code, e.since) for e in errors] == [(264, "2026-05-23 09:19:10")]
    assert errors[0].reason


async def test_controls_carry_valid_tokens(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    await miner.set_power_percent(70)
    assert v3.state.power_percent == 70
    assert (await miner.read_status()).power_percent == 70
    await miner.set_power_percent(60, PowerPercentMode.FAST)
    await miner.set_power_limit(3100)
    await miner.set_power_mode(PowerMode.LOW)
    await miner.identify(True)
    assert isinstance(v3.state.led, list)
    await miner.identify(False)
    await miner.set_pools([PoolConfig("stratum+tcp://pool.example:3333", "me.m60")])
    await miner.set_mining(False)
    assert v3.state.mining is False
    await miner.set_mining(True)
    await miner.restart_mining()
    writes = [c for c in v3.received if c.cmd.startswith("set.")]
    assert [c.cmd for c in writes] == [
        "set.miner.power_percent", "set.miner.power_percent", "set.miner.power_limit",
        "set.miner.power_mode", "set.system.led", "set.system.led",
        "set.miner.pools", "set.miner.service", "set.miner.service",
        "set.miner.service",
    ]  # fmt: skip
    assert all(command.token_ok for command in writes)
    assert writes[0].param == {"percent": "70", "mode": "normal"}
    assert writes[2].param == 3100
    pools = writes[6]
    assert pools.encrypted is True
    assert pools.param == [
        {"pool": "stratum+tcp://pool.example:3333", "worker": "me.m60", "passwd": "x"}
    ]
    assert v3.state.pools[0] == ("stratum+tcp://pool.example:3333", "me.m60", "x")
    assert v3.state.power_limit_w == 3100


async def test_reboot_without_reply(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    await miner.reboot()
    with pytest.raises(ConnectionFailed):
        await miner.read_info()
    v3.advance(v3.faults.reboot_seconds + 1)
    assert (await miner.read_info()).mac


async def test_unknown_outcome_is_reported_not_retried(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    miner.client.read_timeout = 0.2
    v3.faults.hang_commands = {"set.miner.power_limit"}
    with pytest.raises(NoReply):
        await miner.set_power_limit(3000)
    assert [c.cmd for c in v3.received].count("set.miner.power_limit") == 1


@pytest.mark.parametrize(
    ("account", "password", "error"),
    [("super", "wrong", AuthFailed), ("user7", PASSWORD, AuthFailed)],
)
async def test_wrong_credentials(
    v3: WhatsminerV3Emulator, account: str, password: str, error: type[Exception]
) -> None:
    miner = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, password, account))
    with pytest.raises(error):
        await miner.set_mining(False)
    assert v3.state.mining is True
    # The salt is refreshed once before giving up.
    assert [c.cmd for c in v3.received].count("set.miner.service") == 2


async def test_salt_refreshed_after_a_password_change(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    await miner.set_mining(True)
    v3.rotate_salt()
    await miner.set_mining(False)  # -4 with the old salt, then the new salt
    assert v3.state.mining is False


async def test_check_access(miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator) -> None:
    assert await miner.check_access() is WriteAccess.ENABLED
    assert v3.received[-1].cmd == "set.system.led"
    assert v3.received[-1].param == "auto"
    v3.state.write_api_enabled = False
    assert await miner.check_access() is WriteAccess.DISABLED
    wrong = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, "wrong"))
    v3.state.write_api_enabled = True
    with pytest.raises(AuthFailed):
        await wrong.check_access()


async def test_client_validation_and_codes(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    client = miner.client
    for call in (
        client.set_service("pause"),
        client.set_power_percent(101),
        client.set_power_limit(-1),
        client.set_led("blink"),
        client.set_led([{"color": "blue"}]),
        client.set_pools([]),
        client.system.change_password(""),
        client.system.set_hostname(""),
        client.system.set_timezone("", "x"),
        client.set_heat_mode("boil"),
        client.get_miner_status(["stats"]),
    ):
        with pytest.raises(InvalidParameter):
            await call
    assert not any(c.cmd.startswith("set.") for c in v3.received)
    v3.faults.unsupported_commands = {"set.miner.fastboot"}
    with pytest.raises(UnsupportedCommand):
        await client.set_fast_boot(True)
    v3.faults.rejected_commands = {"set.system.hostname"}
    with pytest.raises(CommandRejected):
        await client.system.set_hostname("attic")
    await client.system.set_timezone("CET-1CEST", "Europe/Berlin")
    await client.set_heat_mode("heating")
    assert v3.state.heat_mode == "heating"
    await client.system.set_network_dhcp()


async def test_password_change_and_history(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    now = int(v3.now())
    assert isinstance(await miner.client.get_history(now - 3600, now), list)
    await miner.client.system.change_password("n3wpass")
    assert v3.received[-1].encrypted is True
    await miner.set_mining(False)  # the client uses the new password and salt
    assert v3.state.mining is False


async def test_transport_faults(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    client = miner.client
    client.read_timeout = 0.2
    v3.faults.stall = True
    with pytest.raises(RequestTimeout):
        await client.get_device_info()
    v3.faults.stall = False
    v3.faults.garbage_json = True
    with pytest.raises(ParseError):
        await client.get_device_info()
    v3.faults.garbage_json = False
    v3.faults.fragment = True
    assert (await client.get_device_info()).mac
    v3.faults.fragment = False
    await v3.set_offline(True)
    with pytest.raises(ConnectionFailed):
        await client.get_device_info()


async def test_oversized_frame_is_a_parse_error(socket_enabled: None) -> None:
    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(4096)
        writer.write((1 << 30).to_bytes(4, "little"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ParseError, match="out of range"):
            await WhatsminerV3Client("127.0.0.1", port).get_device_info()
    finally:
        server.close()
        await server.wait_closed()


# --- detection -------------------------------------------------------------


async def test_detects_v3_and_its_reduced_v2(v3: WhatsminerV3Emulator) -> None:
    assert await detect_api(v3.host, v3.v2.port, v3_port=v3.port) is WhatsminerApi.V3
    miner = whatsminer(WhatsminerApi.V3, v3.host, v3.v2.port, PASSWORD, v3_port=v3.port)
    assert isinstance(miner, WhatsminerV3Miner)
    # The v2 API on 4028 answers reads, refuses writes: v3 is the one to use.
    legacy = WhatsminerV2Miner(WhatsminerV2Client(v3.host, v3.v2.port, PASSWORD))
    assert (await legacy.read_info()).mac == "c6:07:20:00:33:44"


async def test_detects_v2(socket_enabled: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with WhatsminerV2Emulator(password=PASSWORD) as v2:
        api = await detect_api(v2.host, v2.port, v3_port=closed_port)
        assert api is WhatsminerApi.V2
        assert isinstance(
            whatsminer(api, v2.host, v2.port, PASSWORD), WhatsminerV2Miner
        )
        await v2.set_offline(True)
        with pytest.raises(ConnectionFailed, match="no Whatsminer API"):
            await detect_api(v2.host, v2.port, v3_port=closed_port)


type Answer = bytes | None


async def serve_once(answer: Answer) -> tuple[asyncio.Server, int]:
    """A peer that reads one request, then sends ``answer`` (None: just closes)."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(4096)
        if answer is not None:
            writer.write(answer)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def frame(body: bytes) -> bytes:
    return len(body).to_bytes(4, "little") + body


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (None, ConnectionFailed, "closed without replying"),
        (b"\x10\x00", RequestTimeout, "no reply"),  # half a header, then EOF
        (frame(b"[1, 2]"), ParseError, "not a JSON object"),
        (frame(b'{"msg": {}}'), ParseError, "no code"),
        (frame(b'{"code": 0, "msg": "ok"}'), ParseError, "no msg object"),
    ],
)
async def test_misbehaving_peers(
    socket_enabled: None, answer: Answer, error: type[Exception], message: str
) -> None:
    server, port = await serve_once(answer)
    try:
        with pytest.raises(error, match=message):
            await WhatsminerV3Client(
                "127.0.0.1", port, read_timeout=1
            ).get_device_info()
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_miner_status(),
        lambda c: c.get_miner_settings(),
    ],
)
async def test_replies_without_an_object(socket_enabled: None, call: object) -> None:
    server, port = await serve_once(frame(b'{"code": 0, "msg": "ok"}'))
    try:
        with pytest.raises(ParseError, match="no msg object"):
            await call(WhatsminerV3Client("127.0.0.1", port))  # type: ignore[operator]
    finally:
        server.close()
        await server.wait_closed()


async def test_missing_salt_and_password(socket_enabled: None) -> None:
    server, port = await serve_once(frame(b'{"code": 0, "msg": {"salt": ""}}'))
    try:
        with pytest.raises(ParseError, match="no salt"):
            await WhatsminerV3Client("127.0.0.1", port, "pw").set_service("start")
    finally:
        server.close()
        await server.wait_closed()
    async with WhatsminerV3Emulator(password=PASSWORD) as v3:
        with pytest.raises(AuthFailed, match="no password"):
            await WhatsminerV3Client(v3.host, v3.port).set_service("start")


async def test_write_closed_without_reply_is_unknown(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    v3.faults.no_reply_commands = {"set.miner.power_mode"}
    with pytest.raises(NoReply):
        await miner.set_power_mode(PowerMode.HIGH)
    assert v3.state.power_mode == "High"  # it did take effect


async def test_history_skips_unreadable_records(miner: WhatsminerV3Miner) -> None:
    client = miner.client
    original = client.transport.read

    async def fake_read(cmd: str, param: object = None) -> object:
        if cmd == "get.miner.history":
            return {"Data": "1700000000,95.1,3300 garbage,x 1700000060,96,3310"}
        return await original(cmd, param)

    client.transport.read = fake_read  # type: ignore[method-assign]
    assert await client.get_history(0, 1) == [
        (1700000000, 95, 3300),
        (1700000060, 96, 3310),
    ]


async def test_factory_reset(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    await miner.client.system.factory_reset()
    assert v3.received[-1].cmd == "set.system.factory_reset"
    assert v3.received[-1].token_ok


# --- connections kept open, and the miner's clock ------------------------------


async def test_poll_shares_a_connection_the_miner_keeps_open(
    socket_enabled: None,
) -> None:
    async with WhatsminerV3Emulator(password=PASSWORD, keep_alive=True) as v3:
        miner = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, PASSWORD))
        for _ in range(2):
            await miner.read_status()
        assert v3.connections_total == 2  # one per poll, for three reads each
        assert (
            v3.commands()
            == [
                "get.device.info",
                "get.miner.status",
                "get.miner.setting",
            ]
            * 2
        )
        # The poll's connection is closed; the salt read and the write open
        # their own (a write never rides on a kept connection).
        await miner.set_mining(False)
        assert v3.commands()[-2:] == ["get.device.info", "set.miner.service"]
        assert v3.connections_total == 4


async def test_a_whole_poll_shares_the_connection_the_miner_keeps_open(
    socket_enabled: None,
) -> None:
    """The slow reads of a poll ride on its connection too (batches nest)."""
    async with WhatsminerV3Emulator(password=PASSWORD, keep_alive=True) as v3:
        miner = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, PASSWORD))
        async with miner.reads():
            await miner.read_status()  # its own batch, inside the poll's
            assert await miner.read_power_supply() is not None
            assert await miner.read_errors() == ()
        assert v3.connections_total == 1
        assert v3.commands() == [
            "get.device.info",
            "get.miner.status",
            "get.miner.setting",
            "get.device.info",
            "get.device.info",
        ]
        await miner.read_status()
        assert v3.connections_total == 2  # closed when the poll's reads ended


async def test_poll_on_a_miner_that_closes_after_each_reply(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    status = await miner.read_status()
    assert status.hashrate_ths is not None
    assert v3.connections_total == 3


async def test_kept_connection_closed_by_the_miner_meanwhile(
    socket_enabled: None,
) -> None:
    """The miner closed the idle connection: the read goes on a new one."""
    async with WhatsminerV3Emulator(password=PASSWORD, keep_alive=True) as v3:
        v3.faults.idle_timeout = 0.05
        client = WhatsminerV3Client(v3.host, v3.port, PASSWORD)
        async with client.batch():
            await client.get_device_info("miner")
            await asyncio.sleep(0.2)
            settings = await client.get_miner_settings()
        assert settings.power_percent is not None
        assert v3.connections_total == 2


async def _serve_first_request_only(
    reply: bytes, answer_more: bytes | None = None
) -> tuple[asyncio.Server, list[int]]:
    """A peer answering each connection's first request with ``reply``.

    Later requests on it get ``answer_more``, or nothing (it stays open).
    """
    connections = [0]

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connections[0] += 1
        await reader.read(4096)
        writer.write(reply)
        await writer.drain()
        await reader.read(4096)
        if answer_more is not None:
            writer.write(answer_more)
            await writer.drain()
        await reader.read(4096)  # until the client closes
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


DEVICE_INFO = frame(
    b'{"code":0,"when":1700000000,"msg":{"miner":{"working":"true"}},'
    b'"desc":"get.device.info"}'
)


async def test_kept_connection_ignored_by_the_miner(socket_enabled: None) -> None:
    """A miner ignoring a second request on a connection costs one timeout.

    The read goes on a new connection, and this client shares none again.
    """
    server, connections = await _serve_first_request_only(DEVICE_INFO)
    port = server.sockets[0].getsockname()[1]
    client = WhatsminerV3Client("127.0.0.1", port, read_timeout=0.2)
    loop = asyncio.get_running_loop()
    try:
        async with client.batch():
            for _ in range(2):
                assert (await client.get_device_info("miner")).working is True
        assert connections[0] == 2
        started = loop.time()
        async with client.batch():
            for _ in range(2):
                await client.get_device_info("miner")
        assert loop.time() - started < 0.2  # no second timeout
        assert connections[0] == 4
    finally:
        server.close()
        await server.wait_closed()


async def test_kept_connection_out_of_step(socket_enabled: None) -> None:
    """A frame that answers something else (a pushed report) is not the reply."""
    pushed = frame(b'{"code":0,"msg":{},"desc":"get.miner.report"}')
    server, connections = await _serve_first_request_only(DEVICE_INFO, pushed)
    port = server.sockets[0].getsockname()[1]
    client = WhatsminerV3Client("127.0.0.1", port, read_timeout=1)
    try:
        async with client.batch():
            for _ in range(2):
                assert (await client.get_device_info("miner")).working is True
        assert connections[0] == 2
    finally:
        server.close()
        await server.wait_closed()


async def test_writes_are_signed_with_the_miners_clock(
    miner: WhatsminerV3Miner, v3: WhatsminerV3Emulator
) -> None:
    """A miner clock two hours off our own still accepts every command."""
    v3.advance(7200)
    await miner.read_status()
    await miner.set_power_percent(70)
    received = v3.received[-1]
    assert (received.cmd, received.token_ok) == ("set.miner.power_percent", True)
    assert v3.state.power_percent == 70


async def test_kept_connection_reset(socket_enabled: None) -> None:
    """A kept connection the miner resets is replaced for the read."""
    connections = 0

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        nonlocal connections
        connections += 1
        await reader.read(4096)
        writer.write(DEVICE_INFO)
        await writer.drain()
        await reader.read(4096)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()  # RST instead of a reply

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    client = WhatsminerV3Client(
        "127.0.0.1", server.sockets[0].getsockname()[1], read_timeout=1
    )
    try:
        async with client.batch():
            for _ in range(2):
                assert (await client.get_device_info("miner")).working is True
        assert connections == 2
    finally:
        server.close()
        await server.wait_closed()


async def test_refused_write_with_an_unreadable_switch_is_the_password(
    v3: WhatsminerV3Emulator,
) -> None:
    """-4 while the API switch cannot be read: the password is what is known."""
    miner = WhatsminerV3Miner(WhatsminerV3Client(v3.host, v3.port, "not-the-password"))
    await miner.read_info()  # caches the salt
    with (
        patch.object(
            miner.client, "get_device_info", side_effect=ConnectionFailed("down")
        ),
        pytest.raises(AuthFailed),
    ):
        await miner.set_mining(False)
    assert v3.state.mining
