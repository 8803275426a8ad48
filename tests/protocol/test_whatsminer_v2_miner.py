"""The Whatsminer v2 adapter (the vendor-neutral Miner) against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from custom_components.miner_hub.protocol.errors import ParseError, ServiceNotRunning
from custom_components.miner_hub.protocol.models import (
    Capability,
    PoolConfig,
    PowerMode,
    PowerPercentMode,
    WriteAccess,
)
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import (
    WhatsminerV2Miner,
    _miner_status,
)
from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from tests.emulators import WhatsminerV2Emulator

PASSWORD = "s3cr3t_pw"


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    async with WhatsminerV2Emulator(
        password=PASSWORD, hostname="rig-1", mac="C6-07-20-00-1E-C2"
    ) as emulator:
        yield emulator


@pytest.fixture
def miner(emulator: WhatsminerV2Emulator) -> WhatsminerV2Miner:
    miner = WhatsminerV2Miner(
        WhatsminerV2Client(emulator.host, emulator.port, PASSWORD)
    )
    miner.client.read_timeout = 1
    return miner


async def test_read_info(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    info = await miner.read_info()
    assert info.mac == "c6:07:20:00:1e:c2"
    assert info.manufacturer == "MicroBT"
    assert info.model == emulator.state.model.name
    assert info.firmware_version == emulator.state.firmware_version
    assert info.hostname == "rig-1"
    assert info.serial_number == emulator.state.miner_sn
    assert emulator.commands() == ["get_version", "get_miner_info"]
    assert Capability.MINING_SWITCH in miner.capabilities
    assert Capability.AUTOTUNE not in miner.capabilities  # a DragonMint control
    assert miner.host == emulator.host
    assert "s3cr3t" not in repr(miner)


async def test_read_info_of_old_firmware_uses_devdetails(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as emulator:
        miner = WhatsminerV2Miner(
            WhatsminerV2Client(emulator.host, emulator.port, PASSWORD)
        )
        info = await miner.read_info()
        assert info.model == emulator.state.model.name
        assert "devdetails" in emulator.commands()


async def test_read_status_costs_two_connections(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    status = await miner.read_status()
    assert emulator.connections_total == 2
    assert emulator.commands() == ["status", "summary+pools+edevs"]
    assert status.mining is True
    assert status.hashrate_ths is not None
    assert status.power_mode is PowerMode.NORMAL
    assert status.power_limit_w == emulator.state.power_limit_w
    assert status.efficiency_j_per_th is not None
    assert status.active_pool is not None
    assert status.active_pool.url == emulator.state.pools[0][0]
    assert len(status.boards) == 3
    assert all(board.alive for board in status.boards)
    total = sum(board.hashrate_ths or 0 for board in status.boards)
    assert total == pytest.approx(status.hashrate_ths, rel=0.05)


async def test_mining_off_is_reported_idle(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    await miner.set_mining(False)
    status = await miner.read_status()
    assert status.mining is False
    assert status.hashrate_ths == 0


async def test_btminer_stopped_is_an_idle_miner_not_an_error(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    await miner.set_mining(False)
    emulator.faults.btminer_down = True
    status = await miner.read_status()
    assert status.mining is False
    assert status.hashrate_ths == 0
    assert status.boards == ()


async def test_btminer_down_while_mining_is_an_error(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    emulator.faults.btminer_down = True
    with pytest.raises(ServiceNotRunning):
        await miner.read_status()


async def test_power_supply_and_errors(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    emulator.state.error_codes = [("110", "2026-11-21 10:00:00")]
    psu = await miner.read_power_supply()
    assert psu is not None
    assert psu.serial_number == emulator.state.power_sn
    errors = await miner.read_errors()
    assert [(error.code, error.since) for error in errors] == [
        (110, "2026-11-21 10:00:00")
    ]


@pytest.mark.parametrize(
    ("write_api", "gates_reads", "profile", "expected"),
    [
        (True, False, "2.2", WriteAccess.ENABLED),
        (False, False, "2.2", WriteAccess.DISABLED),
        (False, True, "2.2", WriteAccess.DISABLED),
        (True, False, "2.0.4", WriteAccess.UNKNOWN),
    ],
)
async def test_check_access(
    socket_enabled: None,
    write_api: bool,
    gates_reads: bool,
    profile: str,
    expected: WriteAccess,
) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile=profile) as emulator:
        emulator.state.write_api_enabled = write_api
        emulator.faults.switch_gates_encrypted_reads = gates_reads
        miner = WhatsminerV2Miner(
            WhatsminerV2Client(emulator.host, emulator.port, PASSWORD)
        )
        assert await miner.check_access() is expected


async def test_controls_reach_the_miner(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    await miner.set_power_limit(3000)
    await miner.set_power_mode(PowerMode.LOW)
    await miner.set_power_percent(70)
    await miner.set_power_percent(60, PowerPercentMode.FAST)
    await miner.identify(True)
    led = emulator.state.led
    await miner.identify(False)
    await miner.set_pools([PoolConfig("stratum+tcp://pool.example:3333", "me.rig")])
    await miner.restart_mining()
    await miner.reboot()
    assert emulator.commands()[1:] == [
        "adjust_power_limit", "set_low_power", "set_power_pct_v2", "set_power_pct",
        "set_led", "set_led", "update_pools", "restart_btminer", "reboot",
    ]  # fmt: skip
    assert isinstance(led, dict)
    assert led["color"] == "red"
    assert emulator.state.led == "auto"
    assert emulator.state.pools[0] == ("stratum+tcp://pool.example:3333", "me.rig", "x")
    assert emulator.state.power_limit_w == 3000


async def test_power_percent_falls_back_once_on_old_firmware(
    socket_enabled: None,
) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as emulator:
        miner = WhatsminerV2Miner(
            WhatsminerV2Client(emulator.host, emulator.port, PASSWORD)
        )
        await miner.set_power_percent(80)
        await miner.set_power_percent(70)
        assert emulator.commands() == [
            "get_token", "set_power_pct_v2", "set_power_pct", "set_power_pct",
        ]  # fmt: skip
        assert emulator.state.power_percent == 70
        assert miner.diagnostics()["power_percent_fast_only"] is True


async def test_pre_power_on(socket_enabled: None) -> None:
    async with WhatsminerV2Emulator(password=PASSWORD, profile="2.0.4") as emulator:
        miner = WhatsminerV2Miner(
            WhatsminerV2Client(emulator.host, emulator.port, PASSWORD)
        )
        await miner.set_mining(False)
        assert (await miner.pre_power_on()).complete is False


async def test_diagnostics_hold_no_secret(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    await miner.set_mining(True)
    diagnostics = miner.diagnostics()
    assert diagnostics["api"] == "whatsminer_v2"
    assert diagnostics["token_age_s"] is not None
    token = miner.client.transport._tokens.token
    assert token is not None
    assert token.sign not in str(diagnostics)
    assert PASSWORD not in str(diagnostics)


async def test_mac_from_summary_when_get_miner_info_is_missing(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    emulator.faults.unsupported_commands = {"get_miner_info"}
    info = await miner.read_info()
    assert info.mac == "c6:07:20:00:1e:c2"
    assert info.hostname is None
    assert "summary" in emulator.commands()


async def test_no_mac_at_all_is_a_parse_error(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    emulator.state.mac = ""
    with pytest.raises(ParseError, match="no MAC"):
        await miner.read_info()


async def test_firmware_before_api_204_lists_errors_in_summary(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    emulator.faults.unsupported_commands = {"get_error_code", "get_psu"}
    emulator.faults.errors_in_summary = True
    emulator.state.error_codes = [("110", "2022-01-17 11:28:11"), ("329", "x")]
    assert [error.code for error in await miner.read_errors()] == [110, 329]
    assert await miner.read_power_supply() is None


async def test_shares_and_efficiency_computed_where_the_summary_lacks_them(
    miner: WhatsminerV2Miner, emulator: WhatsminerV2Emulator
) -> None:
    """Some firmware counts shares only per pool and reports no power rate."""
    readings = await miner.client.read("summary", "pools", "edevs")
    assert readings.summary is not None
    assert readings.pools
    bare = replace(
        readings.summary, accepted=None, rejected=None, power_rate_j_per_th=None
    )
    pools = (*readings.pools, replace(readings.pools[0], url=None))
    status = _miner_status(
        await miner.client.status(), replace(readings, summary=bare, pools=pools)
    )
    assert status.accepted_shares == sum(pool.accepted or 0 for pool in pools)
    assert len(status.pools) == len(readings.pools)  # the pool without URL is left out
    assert status.power_w is not None
    assert status.hashrate_ths
    assert status.efficiency_j_per_th == pytest.approx(
        status.power_w / bare.hashrate_ths
    )
    none = replace(bare, hashrate_ths=None, hashrate_1m_ths=None, hashrate_5m_ths=None)
    status = _miner_status(await miner.client.status(), replace(readings, summary=none))
    assert status.hashrate_ths is None
    assert status.efficiency_j_per_th is None
