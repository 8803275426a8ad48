"""The Whatsminer v2 client over real TCP against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
import logging
import socket
import struct

import pytest

from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NoReply,
    ParseError,
    RateLimited,
    RequestTimeout,
    UnsupportedCommand,
    WriteApiDisabled,
)
from custom_components.miner_hub.protocol.gate import Gate
from custom_components.miner_hub.protocol.models import PowerMode, PowerPercentMode
from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from custom_components.miner_hub.protocol.whatsminer.v2.models import HeatMode
from custom_components.miner_hub.protocol.whatsminer.v2.transfer import (
    _read_log,
    json_object_end as _json_object_end,
)
from tests.emulators import WhatsminerV2Emulator

PASSWORD = "s3cr3t_pw"


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 10_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def miner(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    async with WhatsminerV2Emulator(password=PASSWORD) as emulator:
        yield emulator


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(
    miner: WhatsminerV2Emulator,
    clock: FakeClock | None = None,
    password: str | None = PASSWORD,
    *,
    gate: Gate | None = None,
    **kwargs: float,
) -> WhatsminerV2Client:
    """A client of ``miner``; clients given the same gate share its lock and token."""
    options: dict[str, float] = {"connect_timeout": 1.0, "read_timeout": 1.0} | kwargs
    return WhatsminerV2Client(
        miner.host,
        miner.port,
        password,
        gate=gate,
        clock=clock or FakeClock(),
        **options,
    )


@pytest.fixture
def client(
    miner: WhatsminerV2Emulator, clock: FakeClock, gate: Gate
) -> WhatsminerV2Client:
    return make_client(miner, clock, gate=gate)


def last(miner: WhatsminerV2Emulator) -> tuple[str, dict[str, object], bool]:
    received = miner.received[-1]
    return received.cmd, received.params, received.encrypted


# --- reads ---------------------------------------------------------------


async def test_summary(client: WhatsminerV2Client, miner: WhatsminerV2Emulator) -> None:
    summary = await client.summary()
    assert summary.hashrate_ths is not None
    assert summary.factory_hashrate_ths is not None
    # A working miner hashes near its factory rate, in TH/s (not MH/s).
    assert 0.5 < summary.hashrate_ths / summary.factory_hashrate_ths < 1.5
    assert summary.power_w is not None
    assert summary.power_w > 1000
    assert summary.power_limit_w == miner.state.power_limit_w
    assert summary.mac == miner.state.mac
    assert summary.power_mode == "Normal"
    assert miner.commands() == ["summary"]
    assert miner.received[0].encrypted is False


async def test_each_read_command(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    pools = await client.pools()
    assert [pool.url for pool in pools] == [
        url for url, _, _ in miner.state.pools if url
    ]
    boards = await client.edevs()
    assert len(boards) == 3
    assert all(board.hashrate_ths and board.hashrate_ths > 1 for board in boards)
    assert len(await client.devs()) == 3
    details = await client.devdetails()
    assert {detail.model for detail in details} == {miner.state.model.name}
    psu = await client.get_psu()
    assert psu.input_voltage_v is not None
    assert 100 < psu.input_voltage_v < 300
    version = await client.get_version()
    assert version.firmware_version == miner.state.firmware_version
    assert version.firmware_date is not None
    status = await client.status()
    assert status.mining_off is False
    info = await client.get_miner_info()
    assert (info.mac, info.hostname, info.ip) == (
        miner.state.mac,
        miner.state.hostname,
        miner.state.ip,
    )
    assert await client.get_error_code() == ()
    challenge = await client.get_token()
    assert challenge.salt == miner.state.salt
    assert len(challenge.time) == 4
    assert miner.commands() == [
        "pools", "edevs", "devs", "devdetails", "get_psu", "get_version",
        "status", "get_miner_info", "get_error_code", "get_token",
    ]  # fmt: skip


async def test_get_miner_info_selects_fields(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    info = await client.get_miner_info(["mac", "hostname"])
    assert info.mac == miner.state.mac
    assert info.ip is None
    assert last(miner)[1] == {"info": "mac,hostname"}
    with pytest.raises(InvalidParameter):
        await client.get_miner_info(["password"])


async def test_error_codes_are_read(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.state.error_codes = [
        ("329", "2022-01-17 11:28:11"),
        ("110", "2022-01-18 00:00:01"),
    ]
    codes = await client.get_error_code()
    assert [(code.code, code.since) for code in codes] == [
        (329, "2022-01-17 11:28:11"),
        (110, "2022-01-18 00:00:01"),
    ]


async def test_joined_read_costs_one_connection(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    readings = await client.read("summary", "pools", "edevs")
    assert miner.connections_total == 1
    assert miner.commands() == ["summary+pools+edevs"]
    assert readings.summary is not None
    assert readings.summary.hashrate_ths
    assert readings.pools
    assert readings.hashboards
    # The client remembers that joins work and keeps using them.
    await client.read("summary", "pools")
    assert miner.connections_total == 2


async def test_join_size_shrinks_to_what_the_firmware_accepts(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.max_join = 2
    readings = await client.read("summary", "pools", "edevs")
    assert readings.summary is not None
    assert readings.hashboards
    assert miner.commands() == ["summary+pools+edevs", "summary+pools", "edevs"]
    await client.read("summary", "pools", "edevs")
    assert miner.commands()[-2:] == ["summary+pools", "edevs"]


@pytest.mark.parametrize(
    ("write_api", "profile", "expected"),
    [(True, "2.2", True), (False, "2.2", False), (True, "2.0.4", None)],
)
async def test_check_write_api(
    socket_enabled: None, write_api: bool, profile: str, expected: bool | None
) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile=profile) as miner:
        miner.state.write_api_enabled = write_api
        assert await make_client(miner).check_write_api() is expected
        assert miner.commands() == ["get_token", "get_customer_msg"]


async def test_joined_read_falls_back_when_the_firmware_refuses(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.max_join = 1
    readings = await client.read("summary", "pools")
    assert readings.summary is not None
    assert readings.pools
    assert miner.commands() == ["summary+pools", "summary", "pools"]
    await client.read("summary", "pools")
    assert miner.commands()[-2:] == ["summary", "pools"]


@pytest.mark.parametrize("commands", [(), ("summary", "get_psu"), ("stats",)])
async def test_read_rejects_non_cgminer_commands(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, commands: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidParameter):
        await client.read(*commands)
    assert miner.connections_total == 0


@pytest.mark.parametrize("profile", ["2.0.4", "v3compat"])
async def test_firmware_profiles_parse_to_the_same_units(
    socket_enabled: None, profile: str
) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile=profile) as miner:
        miner.state.error_codes = [("329", "2022-01-17 11:28:11")]
        client = make_client(miner)
        summary = await client.summary()
        assert summary.hashrate_ths is not None
        factory = miner.state.model.factory_ghs / 1000
        assert 0.5 < summary.hashrate_ths / factory < 1.5
        boards = await client.edevs()
        assert all(
            board.hashrate_ths and 1 < board.hashrate_ths < factory for board in boards
        )
        status = await client.status()
        assert status.mining_off is False
        assert status.firmware_version == miner.state.firmware_version
        psu = await client.get_psu()
        assert psu.vendor is not None
        assert psu.input_voltage_v is not None
        codes = await client.get_error_code()
        assert [code.code for code in codes] == [329]


async def test_truncated_error_list_of_old_firmware_is_a_parse_error(
    socket_enabled: None,
) -> None:
    """API 2.0.4 cuts long error replies; the client reports it, typed."""
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as miner:
        miner.state.error_codes = [
            (str(code), "2022-01-17 11:28:11") for code in range(300)
        ]
        with pytest.raises(ParseError):
            await make_client(miner).get_error_code()


async def test_old_firmware_defects_in_every_read(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.json_defects = True
    miner.faults.trailing_nul = True
    miner.faults.trailing_newline = True
    readings = await client.read("summary", "pools", "edevs", "devdetails")
    assert readings.summary
    assert readings.pools
    assert readings.hashboards
    assert all(board.chip_data for board in readings.hashboards)
    assert (await client.get_psu()).temperature_c is not None
    assert (await client.status()).firmware_version is not None


# --- transport faults ----------------------------------------------------


async def test_offline_miner_is_a_connection_failure(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await miner.set_offline(True)
    with pytest.raises(ConnectionFailed):
        await client.summary()
    await miner.set_offline(False)
    assert (await client.summary()).hashrate_ths


async def test_nothing_listening_is_a_connection_failure(socket_enabled: None) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WhatsminerV2Client("127.0.0.1", port, PASSWORD, connect_timeout=1)
    with pytest.raises(ConnectionFailed, match=f"127.0.0.1:{port}"):
        await client.get_version()


async def test_stalled_read_times_out(miner: WhatsminerV2Emulator) -> None:
    client = make_client(miner, read_timeout=0.2)
    miner.faults.stall = True
    with pytest.raises(RequestTimeout):
        await client.summary()


@pytest.mark.parametrize("fault", ["garbage", "truncate"])
async def test_unreadable_replies_are_parse_errors(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, fault: str
) -> None:
    setattr(miner.faults, fault, True)
    with pytest.raises(ParseError):
        await client.summary()


async def test_btminer_down_is_a_connection_failure(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.btminer_down = True
    with pytest.raises(ConnectionFailed, match="btminer is not running"):
        await client.summary()


async def test_requests_to_one_miner_never_run_in_parallel(
    miner: WhatsminerV2Emulator, gate: Gate
) -> None:
    miner.faults.latency = 0.02
    first, second = make_client(miner, gate=gate), make_client(miner, gate=gate)
    await asyncio.gather(
        *(first.summary() for _ in range(4)),
        *(second.get_version() for _ in range(4)),
        first.power_on(),
    )
    assert miner.connections_total == 10  # 8 reads, get_token, power_on
    assert miner.max_concurrent_connections == 1


async def test_different_miners_are_polled_concurrently(socket_enabled: None) -> None:
    async with (
        WhatsminerV2Emulator(password=PASSWORD) as one,
        WhatsminerV2Emulator(password=PASSWORD) as two,
    ):
        one.faults.latency = two.faults.latency = 0.5
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(make_client(one).summary(), make_client(two).summary())
        assert loop.time() - started < 0.9  # one after the other would take 1 s


type Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def hostile_peer(behaviour: Behaviour) -> AsyncIterator[WhatsminerV2Client]:
    """A peer on 127.0.0.1 that misbehaves after reading one request."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(4096)
        await behaviour(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield WhatsminerV2Client("127.0.0.1", port, PASSWORD, read_timeout=1)
    finally:
        server.close()
        await server.wait_closed()


async def close_silently(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.close()


async def reset(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def test_read_closed_without_reply(socket_enabled: None) -> None:
    async with hostile_peer(close_silently) as client:
        with pytest.raises(ConnectionFailed, match="closed without replying"):
            await client.summary()


async def test_read_connection_reset(socket_enabled: None) -> None:
    async with hostile_peer(reset) as client:
        with pytest.raises(ConnectionFailed, match="connection lost"):
            await client.get_version()


async def test_token_request_reset(socket_enabled: None) -> None:
    async with hostile_peer(reset) as client:
        with pytest.raises(ConnectionFailed, match="get_token"):
            await client.power_on()


async def test_miner_that_never_closes_after_a_complete_reply(
    socket_enabled: None,
) -> None:
    """Some mocks leave the socket open: a complete reply is kept at the timeout."""

    async def reply_and_linger(
        _: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.write(b'{"STATUS":"S","Code":131,"Msg":{"fw_ver":"20240624.18.REL"}}')
        await writer.drain()
        await asyncio.sleep(2)

    async with hostile_peer(reply_and_linger) as client:
        client.read_timeout = 0.2
        version = await client.get_version()
    assert version.firmware_version == "20240624.18.REL"


async def test_encrypted_read_without_reply_times_out(
    miner: WhatsminerV2Emulator,
) -> None:
    client = make_client(miner, read_timeout=0.2)
    await client.power_on()
    miner.faults.stall = True
    with pytest.raises(RequestTimeout, match="get_version"):
        await client.check_password()


async def test_download_logs_closed_before_the_header(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.no_reply_commands = {"download_logs"}
    with pytest.raises(NoReply, match="closed before the header"):
        await client.system.download_logs()


async def test_download_log_header_without_length(client: WhatsminerV2Client) -> None:
    reader = asyncio.StreamReader()
    reply = {"STATUS": "S", "Code": 131, "Msg": {"logfilelen": "x"}}
    with pytest.raises(ParseError, match="no log length"):
        await _read_log(client.transport, reader, reply, b"")


@pytest.mark.parametrize(
    ("data", "end"),
    [
        (b"", None),
        (b"no object", None),
        (b'{"a":1}tail', 7),
        (b'{"a":{"b":{}}}\x00', 14),
        (b'  {"a":"}\\"}"}binary', 14),
        (b'{"a":"\\\\"}x', 10),
        (b'{"a":{"b":1}', None),
    ],
)
def test_json_object_end(data: bytes, end: int | None) -> None:
    assert _json_object_end(data) == end


# --- writes and the token --------------------------------------------------


async def test_write_gets_a_token_then_sends_an_encrypted_command(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    result = await client.power_off()
    assert result.replied is True
    assert miner.commands() == ["get_token", "power_off"]
    assert last(miner) == ("power_off", {"respbefore": "true"}, True)
    assert miner.state.mining is False
    assert (await client.summary()).hashrate_ths == 0


async def test_token_is_reused_across_connections_and_clients(
    client: WhatsminerV2Client,
    miner: WhatsminerV2Emulator,
    clock: FakeClock,
    gate: Gate,
) -> None:
    await client.power_off()
    await client.power_on()
    await make_client(miner, clock, gate=gate).set_led_auto()
    assert miner.tokens_issued == 1
    assert miner.commands() == ["get_token", "power_off", "power_on", "set_led"]
    assert client.token_age == 0


async def test_token_is_renewed_before_the_firmware_expires_it(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, clock: FakeClock
) -> None:
    await client.power_on()
    clock.now += 24 * 60
    await client.power_on()
    assert miner.tokens_issued == 1
    clock.now += 60
    await client.power_on()
    assert miner.tokens_issued == 2


async def test_idle_token_timeout_of_manual_22_is_honoured(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, clock: FakeClock
) -> None:
    miner.faults.token_timeout = 100
    await client.power_on()
    clock.now += 70
    await client.power_on()  # used again: still fresh
    assert miner.tokens_issued == 1
    clock.now += 90
    await client.power_on()
    assert miner.tokens_issued == 2


async def test_stale_token_is_replaced_once(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.power_on()
    miner.clear_tokens()  # e.g. the miner rebooted and forgot every token
    result = await client.power_off()
    assert result.replied
    assert miner.commands() == [
        "get_token",
        "power_on",
        "power_off",
        "get_token",
        "power_off",
    ]
    assert miner.state.mining is False


async def test_token_rejected_twice_is_not_retried_again(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.faults.token_lifetime = 0  # every token is already expired when checked
    with pytest.raises(CommandRejected) as caught:
        await client.power_off()
    assert caught.value.code == 135
    assert miner.commands() == ["get_token", "power_off", "get_token", "power_off"]
    assert miner.state.mining is True


@pytest.mark.parametrize("old_firmware", [False, True])
async def test_token_limit_backs_off_without_hammering(
    client: WhatsminerV2Client,
    miner: WhatsminerV2Emulator,
    clock: FakeClock,
    old_firmware: bool,
) -> None:
    miner.faults.tokens_per_ip = 1
    miner.faults.old_token_limit_message = old_firmware
    await client.power_on()
    client.forget_token()
    with pytest.raises(RateLimited):
        await client.power_on()
    connections = miner.connections_total
    with pytest.raises(RateLimited, match="retrying in"):
        await client.power_off()
    assert miner.connections_total == connections  # nothing sent during the back-off
    miner.clear_tokens()
    clock.now += 5 * 60
    assert (await client.power_off()).replied
    assert miner.state.mining is False


async def test_wrong_password_is_an_authentication_error(
    miner: WhatsminerV2Emulator,
) -> None:
    client = make_client(miner, password="wrong")
    with pytest.raises(AuthFailed, match="rejected the password"):
        await client.power_off()
    assert miner.state.mining is True
    assert client.token_age is None  # the useless token is dropped
    with pytest.raises(AuthFailed):
        await client.check_password()


async def test_missing_password_is_an_authentication_error(
    miner: WhatsminerV2Emulator,
) -> None:
    client = make_client(miner, password=None)
    with pytest.raises(AuthFailed, match="no password"):
        await client.power_on()
    assert miner.connections_total == 0


async def test_check_password(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.check_password()
    assert last(miner) == ("get_version", {}, True)


async def test_write_api_disabled(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    miner.state.write_api_enabled = False
    with pytest.raises(WriteApiDisabled) as caught:
        await client.power_off()
    assert caught.value.code == 45
    assert miner.state.mining is True
    # Reads keep working.
    assert (await client.summary()).hashrate_ths


async def test_command_unknown_to_the_firmware(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as miner:
        client = make_client(miner)
        with pytest.raises(UnsupportedCommand) as caught:
            await client.set_power_percent(80, PowerPercentMode.NORMAL)
        assert caught.value.code == 14


async def test_parameters_the_miner_rejects(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    """The client checks the manual's limits; the firmware may be stricter (132)."""
    pools = miner.state.pools
    with pytest.raises(CommandRejected) as caught:
        await client.update_pools([("stratum+tcp://" + "p" * 242, "w", "x")])
    assert caught.value.code == 132
    assert miner.state.pools == pools


async def test_restarting_commands_may_close_without_reply(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    result = await client.set_power_mode(PowerMode.LOW)
    assert (result.command, result.replied) == ("set_low_power", False)
    assert miner.state.power_mode == "Low"
    result = await client.restart_btminer()
    assert result.replied is False


async def test_reboot_makes_the_miner_unreachable_for_a_while(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    result = await client.reboot()
    assert result.replied is False
    with pytest.raises(ConnectionFailed):
        await client.summary()
    miner.advance(miner.faults.reboot_seconds + 1)
    assert (await client.get_version()).firmware_version


async def test_unknown_outcome_is_reported_and_never_retried(
    miner: WhatsminerV2Emulator,
) -> None:
    client = make_client(miner, read_timeout=0.2)
    await client.power_on()
    miner.faults.hang_commands = {"adjust_power_limit"}
    with pytest.raises(NoReply, match="outcome unknown"):
        await client.set_power_limit(3000)
    assert miner.commands().count("adjust_power_limit") == 1
    assert miner.state.power_limit_w == 3000  # it did take effect


async def test_silence_after_a_restarting_command_is_an_unknown_outcome(
    miner: WhatsminerV2Emulator,
) -> None:
    """Closing without a reply is how power_off may succeed; silence is not.

    Only a reboot may leave the connection silent: the miner vanishes with it.
    """
    client = make_client(miner, read_timeout=0.2)
    miner.faults.hang_commands = {"power_off", "reboot"}
    with pytest.raises(NoReply, match="outcome unknown"):
        await client.power_off()
    assert miner.commands().count("power_off") == 1
    assert miner.state.mining is False  # it did take effect
    assert (await client.reboot()).replied is False
    assert miner.commands().count("reboot") == 1


async def test_garbled_write_reply_is_an_unknown_outcome(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.power_on()
    miner.faults.garbage = True
    with pytest.raises(NoReply, match="unreadable reply"):
        await client.power_off()
    assert miner.commands().count("power_off") == 1


async def test_power_off_without_reply_first(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    result = await client.power_off(respond_before=False)
    assert result.replied is False
    assert last(miner)[1] == {"respbefore": "false"}
    assert miner.state.mining is False


async def test_every_write_reaches_the_miner(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    state = miner.state
    await client.update_pools([("stratum+tcp://pool.example:3333", "me.rig1", "x")])
    assert state.pools[0] == ("stratum+tcp://pool.example:3333", "me.rig1", "x")
    assert last(miner)[1]["pool3"] == ""
    await client.set_led("red", period_ms=1000, duration_ms=500, start_ms=0)
    assert last(miner)[1] == {
        "color": "red",
        "period": 1000,
        "duration": 500,
        "start": 0,
    }
    await client.set_led_auto()
    assert state.led == "auto"
    await client.set_target_frequency(-10)
    assert state.target_freq_percent == -10
    await client.set_fast_boot(True)
    assert state.fast_boot is True
    await client.set_web_pools(False)
    assert state.web_pools is False
    await client.system.set_hostname("rig-7")
    assert state.hostname == "rig-7"
    await client.system.set_zone("CET-1CEST", "Europe/Berlin")
    assert (state.timezone, state.zonename) == ("CET-1CEST", "Europe/Berlin")
    await client.system.load_log("192.168.2.20", 514, "udp")
    assert state.log_server == ("192.168.2.20", "514", "udp")
    await client.set_power_percent(80, PowerPercentMode.FAST)
    assert (state.power_percent, last(miner)[0]) == (80, "set_power_pct")
    await client.set_power_percent(70)
    assert (state.power_percent, last(miner)[0]) == (70, "set_power_pct_v2")
    await client.restore_power_percent()
    assert state.power_percent == 100
    await client.set_power(3000)
    assert state.power_target_w == 3000
    await client.set_temperature_offset(-5)
    assert state.temp_offset == -5
    await client.set_upfreq_speed(3)
    assert state.upfreq_speed == 3
    await client.set_poweroff_cool(True)
    assert state.poweroff_cool is True
    await client.set_fan_zero_speed(True)
    assert state.fan_zero_speed is True
    await client.set_heat_mode(HeatMode.HEATING)
    assert state.heat_mode == "heating"
    await client.set_btminer_init(False)
    assert state.btminer_init is False
    await client.system.set_customer_message("msg3", "rack 4")
    assert await client.system.get_customer_message() == {"msg3": "rack 4"}
    await client.set_power_limit(3200)
    assert state.power_limit_w == 3200
    await client.system.set_network_static(
        "192.168.2.50", "255.255.255.0", "192.168.2.1", ["1.1.1.1", "8.8.8.8"], "rig-7"
    )
    assert last(miner)[1] == {
        "ip": "192.168.2.50",
        "mask": "255.255.255.0",
        "gate": "192.168.2.1",
        "dns": "1.1.1.1 8.8.8.8",
        "host": "rig-7",
    }
    assert miner.tokens_issued == 1
    assert all(received.encrypted for received in miner.received[1:])


async def test_network_dhcp(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.system.set_network_dhcp()
    assert last(miner)[:2] == ("net_config", {"param": "dhcp"})
    assert miner.state.proto == "dhcp"


async def test_factory_reset(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.system.factory_reset()
    assert miner.state.password == "admin"
    assert miner.state.write_api_enabled is False


async def test_password_change_switches_to_the_new_password(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    await client.system.update_password("n3w_pass")
    assert last(miner)[1] == {"old": PASSWORD, "new": "n3w_pass"}
    assert miner.state.password == "n3w_pass"
    assert client.token_age is None
    await client.power_off()
    assert miner.state.mining is False
    assert miner.tokens_issued == 2


async def test_pre_power_on(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as miner:
        client = make_client(miner)
        await client.power_off()
        status = await client.pre_power_on()
        assert status.complete is False
        miner.advance(miner.faults.preheat_seconds + 1)
        status = await client.pre_power_on()
        assert status.complete is True


@pytest.mark.parametrize("mode", ["normal", "split", "merged"])
async def test_download_logs(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, mode: str
) -> None:
    miner.faults.download_logs_mode = mode  # type: ignore[assignment]
    miner.state.log_text = b"boot ok\n" * 500
    assert await client.system.download_logs() == b"boot ok\n" * 500


async def test_update_firmware(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator
) -> None:
    image = bytes(range(256)) * 64
    result = await client.system.update_firmware(image)
    assert result.replied
    assert miner.state.firmware_images == [image]


async def test_interrupted_transfer_is_an_unknown_outcome(
    miner: WhatsminerV2Emulator,
) -> None:
    client = make_client(miner, read_timeout=0.2)
    await client.power_on()
    miner.faults.hang_commands = {"download_logs"}
    with pytest.raises(NoReply, match="download_logs"):
        await client.system.download_logs()


# --- validation before sending -------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.update_pools([]), "between one and three"),
        (lambda c: c.update_pools([("a", "b", "c")] * 4), "between one and three"),
        (lambda c: c.update_pools([("", "w", "x")]), "url"),
        (lambda c: c.update_pools([("u" * 300, "w", "x")]), "at most 256"),
        (lambda c: c.set_led("blue", period_ms=1, duration_ms=1), "red or green"),
        (lambda c: c.set_led("red", period_ms=100, duration_ms=200), "duration_ms"),
        (lambda c: c.set_led("red", period_ms=0, duration_ms=0), "period_ms"),
        (lambda c: c.set_power_mode("turbo"), "turbo"),
        (lambda c: c.system.update_password("toolongpassword"), "1-8 letters"),
        (lambda c: c.system.update_password("bad pw"), "1-8 letters"),
        (lambda c: c.system.set_network_static("1.2.3", "255.0.0.0", "1.1.1.1", ["1.1.1.1"], "h"), "ip"),
        (lambda c: c.system.set_network_static("1.2.3.4", "255.0.0.0", "1.1.1.1", [], "h"), "dns"),
        (lambda c: c.system.set_network_static("1.2.3.4", "255.0.0.0", "1.1.1.1", ["1.1.1.1"], "-h"), "hostname"),
        (lambda c: c.set_target_frequency(101), "-100 to 100"),
        (lambda c: c.set_target_frequency(True), "-100 to 100"),
        (lambda c: c.system.set_hostname("a" * 64), "hostname"),
        (lambda c: c.system.set_zone("", "Europe/Berlin"), "required"),
        (lambda c: c.system.load_log("10.0.0.1", 70000, "udp"), "port"),
        (lambda c: c.system.load_log("10.0.0.1", 514, "http"), "tcp or udp"),
        (lambda c: c.set_power_percent(101), "0 to 100"),
        (lambda c: c.set_power_percent(-1, PowerPercentMode.FAST), "0 to 100"),
        (lambda c: c.set_power(-5), "power"),
        (lambda c: c.set_temperature_offset(5), "-30 to 0"),
        (lambda c: c.set_power_limit(100_000), "0 to 99999"),
        (lambda c: c.set_power_limit(3000.5), "power_limit"),
        (lambda c: c.set_upfreq_speed(10), "0 to 9"),
        (lambda c: c.set_heat_mode("freezing"), "freezing"),
        (lambda c: c.system.set_customer_message("msg10", "x"), "CustomerSn"),
        (lambda c: c.system.set_customer_message("msg1", "x" * 128), "at most 127"),
        (lambda c: c.system.update_firmware(b""), "empty"),
    ],
)  # fmt: skip
async def test_invalid_parameters_are_rejected_before_sending(
    client: WhatsminerV2Client, miner: WhatsminerV2Emulator, call: object, message: str
) -> None:
    with pytest.raises((InvalidParameter, ValueError), match=message):
        await call(client)  # type: ignore[operator]
    assert miner.connections_total == 0


# --- secrets -------------------------------------------------------------


async def test_secrets_stay_out_of_logs_repr_and_errors(
    miner: WhatsminerV2Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(miner)
    await client.update_pools([("stratum+tcp://pool.example:3333", "me.1", "poolpass")])
    token = client.transport._tokens.token
    assert token is not None
    await client.system.update_password("n3w_pass")
    wrong = make_client(miner, password="Wr0ng_pw")
    with pytest.raises(AuthFailed) as caught:
        await wrong.power_on()
    texts = [caplog.text, repr(client), repr(wrong), str(caught.value), repr(token)]
    for secret in (PASSWORD, "n3w_pass", "Wr0ng_pw", "poolpass", token.sign, token.key):
        assert all(secret not in text for text in texts), secret
    assert "update_pools" in caplog.text  # commands are logged, their values are not
