"""The DragonMint adapter (the vendor-neutral Miner) against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.miner_hub.protocol.dragonmint.adapter import DragonMintMiner
from custom_components.miner_hub.protocol.dragonmint.client import DragonMintClient
from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    ParseError,
    UnsupportedCommand,
)
from custom_components.miner_hub.protocol.models import (
    AutoTuneMode,
    Capability,
    FirmwareRelease,
    PoolConfig,
    WriteAccess,
)
from tests.emulators import DragonMintEmulator
from tests.emulators.dragonmint import LatestFirmware, apply_scenario


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    async with DragonMintEmulator(mac="00:0A:35:12:34:56", noise=False) as emulator:
        yield emulator


@pytest.fixture
async def miner(emulator: DragonMintEmulator) -> AsyncIterator[DragonMintMiner]:
    async with aiohttp.ClientSession() as session:
        yield DragonMintMiner(
            DragonMintClient(
                session, emulator.host, emulator.port, "admin", "dragonadmin"
            )
        )


async def test_read_info(miner: DragonMintMiner, emulator: DragonMintEmulator) -> None:
    info = await miner.read_info()
    assert info.mac == "00:0a:35:12:34:56"
    assert (info.manufacturer, info.model) == ("Halong Mining", "DragonMint T1")
    assert info.firmware_version == emulator.state.platform_v
    assert info.hardware_version == emulator.state.hwver
    assert miner.host == emulator.host
    assert "dragonadmin" not in repr(miner)
    assert miner.diagnostics() == {
        "api": "dragonmint_http",
        "port": emulator.port,
        "username": "admin",
    }


async def test_innosilicon_identity(socket_enabled: None) -> None:
    async with (
        DragonMintEmulator(innosilicon=True, noise=False) as inno,
        aiohttp.ClientSession() as session,
    ):
        inno.state.miner_type = "T2"
        info = await DragonMintMiner(
            DragonMintClient(session, inno.host, inno.port, "admin", "admin")
        ).read_info()
        assert (info.manufacturer, info.model) == ("Innosilicon", "T2")


async def test_innosilicon_t1_is_told_apart_by_its_web_title(
    socket_enabled: None,
) -> None:
    async with (
        DragonMintEmulator(innosilicon=True, noise=False) as inno,
        aiohttp.ClientSession() as session,
    ):
        assert inno.state.miner_type == "T1"
        miner = DragonMintMiner(
            DragonMintClient(session, inno.host, inno.port, "admin", "admin")
        )
        info = await miner.read_info()
        assert (info.manufacturer, info.model) == ("Innosilicon", "T1")
        assert miner.web_url == inno.url


async def test_web_url_without_the_default_port(
    socket_enabled: None, miner: DragonMintMiner
) -> None:
    async with aiohttp.ClientSession() as session:
        standard = DragonMintMiner(
            DragonMintClient(session, "192.0.2.7", 80, "admin", "x")
        )
        assert standard.web_url == "http://192.0.2.7"
    assert miner.web_url.endswith(f":{miner.client.port}")


async def test_web_title_of_an_unreachable_miner(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    emulator.faults.offline = True
    with pytest.raises(ConnectionFailed):
        await miner.client.web_title()


async def test_no_mac_is_a_parse_error(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    emulator.state.ethaddr = ""
    with pytest.raises(ParseError, match="no MAC"):
        await miner.read_info()


async def test_read_status_sums_the_chains(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    status = await miner.read_status()
    chains = emulator.state.chains
    assert status.mining is True
    assert status.hashrate_ths == pytest.approx(
        sum(c.mhs for c in chains) / 1e6, rel=0.05
    )
    assert status.temperature_c == max(c.temperature for c in chains)
    assert status.fan_duty_pct == emulator.state.fan_duty
    assert status.hardware_errors is not None
    assert status.hardware_errors >= sum(c.hardware_errors for c in chains)
    assert status.autotune_mode is AutoTuneMode.BALANCED
    assert status.uptime_s is not None
    assert [board.index for board in status.boards] == [0, 1, 2]
    assert status.active_pool is not None
    assert status.active_pool.url == emulator.state.pools[0][0]
    assert status.power_w is None  # the T1 does not report power
    assert [request.action for request in emulator.received] == [
        "summary", "overview", "getAutoTune",
    ]  # fmt: skip


async def test_dead_chains(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    apply_scenario(emulator.state, "dead_chains")
    status = await miner.read_status()
    assert all(board.alive is False for board in status.boards)


async def test_cgminer_restart_is_unknown_not_zero(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    await miner.restart_mining()
    status = await miner.read_status()
    assert status.mining is None
    assert status.hashrate_ths is None
    assert status.temperature_c is None
    assert status.boards == ()
    assert status.uptime_s is not None  # the miner itself answers
    emulator.advance(emulator.faults.cgminer_restart_seconds + 1)
    status = await miner.read_status()
    assert status.mining is not None  # known again
    assert status.hashrate_ths is not None
    emulator.advance(600)
    assert (await miner.read_status()).hashrate_ths


async def test_check_access_needs_the_admin_account(
    emulator: DragonMintEmulator,
) -> None:
    async with aiohttp.ClientSession() as session:
        admin = DragonMintMiner(
            DragonMintClient(
                session, emulator.host, emulator.port, "admin", "dragonadmin"
            )
        )
        assert await admin.check_access() is WriteAccess.ENABLED
        guest = DragonMintMiner(
            DragonMintClient(
                session, emulator.host, emulator.port, "guest", "dragonguest"
            )
        )
        await guest.read_info()  # guests may read
        with pytest.raises(AuthFailed):
            await guest.check_access()


async def test_controls(miner: DragonMintMiner, emulator: DragonMintEmulator) -> None:
    assert miner.capabilities == {
        Capability.REBOOT, Capability.RESTART_MINING, Capability.POOLS,
        Capability.AUTOTUNE, Capability.POWER_OFF, Capability.FIRMWARE_UPDATE,
    }  # fmt: skip
    await miner.set_autotune_mode(AutoTuneMode.EFFICIENT)
    await miner.set_pools([PoolConfig("stratum+tcp://pool.example:3333", "me.t1")])
    await miner.restart_mining()
    await miner.reboot()
    await miner.power_off()
    assert emulator.actions()[-5:] == [
        "setAutoTune", "updatePools", "restartCgMiner", "reboot", "poweroff",
    ]  # fmt: skip
    assert emulator.state.autotune_mode == "efficient"
    assert emulator.state.pools == [("stratum+tcp://pool.example:3333", "me.t1", "x")]
    with pytest.raises(UnsupportedCommand):
        await miner.set_mining(False)


async def test_firmware(miner: DragonMintMiner, emulator: DragonMintEmulator) -> None:
    assert await miner.latest_firmware() is None  # the vendor server is gone
    emulator.state.latest_firmware = LatestFirmware(
        version="t1_20190101_000000", url="https://example.invalid/t1.swu", info="fixes"
    )
    release = await miner.latest_firmware()
    assert release == FirmwareRelease(
        "t1_20190101_000000", "https://example.invalid/t1.swu", "fixes"
    )
    await miner.install_firmware(release)
    assert emulator.state.firmware_downloads == ["https://example.invalid/t1.swu"]
    with pytest.raises(ParseError, match="no download address"):
        await miner.install_firmware(FirmwareRelease("t1_x", None))


async def test_firmware_check_needs_admin(emulator: DragonMintEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        guest = DragonMintMiner(
            DragonMintClient(
                session, emulator.host, emulator.port, "guest", "dragonguest"
            )
        )
        with pytest.raises(AuthFailed):
            await guest.latest_firmware()


async def test_other_firmware_check_errors_are_raised(
    miner: DragonMintMiner, emulator: DragonMintEmulator
) -> None:
    emulator.state.latest_firmware = LatestFirmware(
        version="", url="https://x.invalid/a"
    )
    assert await miner.latest_firmware() is None  # no version: nothing to offer
    emulator.faults.http_500 = True
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the typed error varies
        await miner.latest_firmware()
    assert not isinstance(caught.value, CommandRejected)
