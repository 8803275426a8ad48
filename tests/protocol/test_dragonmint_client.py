"""The DragonMint / Innosilicon HTTP client against the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.miner_hub.protocol.dragonmint.client import DragonMintClient
from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NoReply,
    RequestTimeout,
    ServiceNotRunning,
)
from tests.emulators import DragonMintEmulator
from tests.emulators.dragonmint import LatestFirmware

ADMIN_PASSWORD = "dragonadmin"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def t1() -> AsyncIterator[DragonMintEmulator]:
    async with DragonMintEmulator(noise=False) as emulator:
        yield emulator


@pytest.fixture
def client(session: aiohttp.ClientSession, t1: DragonMintEmulator) -> DragonMintClient:
    return DragonMintClient(
        session, t1.host, t1.port, password=ADMIN_PASSWORD, request_timeout=2
    )


def last_form(emulator: DragonMintEmulator) -> tuple[str | None, dict[str, object]]:
    request = emulator.received[-1]
    assert request.json is None  # every write is a form, never JSON
    return request.action, request.form


async def test_summary(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    summary = await client.summary()
    assert [chain.index for chain in summary.chains] == [0, 1, 2]
    for chain, emulated in zip(summary.chains, t1.state.chains, strict=True):
        assert chain.status == "Alive"
        assert chain.temperature_c == emulated.temperature
        assert chain.hashrate_ths == pytest.approx(emulated.mhs / 1e6, rel=0.05)
        assert chain.hashrate_average_ths is not None
    assert summary.fan_duty_pct == t1.state.fan_duty
    assert summary.pools[0].url == t1.state.pools[0][0]  # "\/" unescaped
    assert summary.pools[0].user == t1.state.pools[0][1]
    assert t1.received[-1].auth == "basic"


async def test_summary_while_cgminer_restarts(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    await client.restart_cgminer()
    with pytest.raises(ServiceNotRunning, match="cgminer is not ready"):
        await client.summary()
    t1.advance(t1.faults.cgminer_restart_seconds + 1)
    assert len((await client.summary()).chains) == 3


async def test_overview(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    t1.advance(2 * 86400 + 3 * 3600 + 4 * 60)
    up_s = t1.time() - t1.state.boot_time
    overview = await client.overview()
    assert overview.type == "T1"
    assert overview.mac == t1.state.ethaddr
    assert overview.firmware_version == t1.state.platform_v
    assert overview.hardware_version == t1.state.hwver
    assert overview.uptime_s is not None
    assert overview.uptime_s == pytest.approx(up_s, abs=60)  # minute resolution
    assert overview.network is not None
    assert overview.network.ip == t1.state.network.ipaddress


@pytest.mark.parametrize(
    ("line", "seconds"),
    [
        ("15:38:31 up 10 min,  load average: 0.30, 0.23, 0.11", 600),
        ("15:38:31 up  3:04,  load average: 0.30", 11040),
        ("15:38:31 up 2 days,  3:04,  load average: 0.30", 183840),
        ("15:38:31 up 1 day, 7 min,  load average: 0.30", 86820),
        ("garbage", None),
    ],
)
def test_uptime_lines(line: str, seconds: int | None) -> None:
    from custom_components.miner_hub.protocol.dragonmint.client import overview_from

    overview = overview_from({"hardware": {"status": line}, "version": {}})
    assert overview.uptime_s == seconds


async def test_reads(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    saved = await client.pools()
    assert [(p.url, p.user, p.password) for p in saved] == t1.state.pools
    network = await client.network()
    assert network.dhcp is True
    assert network.dns == (t1.state.network.dns1, t1.state.network.dns2)
    assert await client.type() == "T1"
    await client.ping()
    autotune = await client.get_autotune()
    assert (autotune.mode, autotune.level) == ("balanced", None)
    status = await client.get_autotune_status()
    assert status.running is True
    assert status.mode == "balanced"
    debug = await client.get_debug_stats()
    assert "boards" in debug
    assert "success" not in debug


async def test_no_saved_pools(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    t1.state.pools = None
    assert await client.pools() == ()


async def test_latest_firmware(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    with pytest.raises(CommandRejected, match="can't fetch firmware versions"):
        await client.get_latest_firmware_version()
    t1.state.latest_firmware = LatestFirmware(
        version="t1_20190101_000000", url="https://example.invalid/t1.swu"
    )
    release = await client.get_latest_firmware_version()
    assert release.version == "t1_20190101_000000"
    assert release.current_version == t1.state.platform_v
    assert release.is_updated is False


async def test_wrong_password_and_guest(
    session: aiohttp.ClientSession, t1: DragonMintEmulator
) -> None:
    wrong = DragonMintClient(session, t1.host, t1.port, password="nope")
    with pytest.raises(AuthFailed, match="rejected the credentials"):
        await wrong.summary()
    guest = DragonMintClient(
        session, t1.host, t1.port, username="guest", password="dragonguest"
    )
    assert len((await guest.summary()).chains) == 3  # guests may read
    with pytest.raises(AuthFailed):
        await guest.reboot()  # admin route: "invalid request"
    with pytest.raises(AuthFailed, match="admin"):
        await guest.upgrade_download("https://example.invalid/t1.swu")  # nginx 401
    assert "nope" not in repr(wrong)


async def test_update_pools_is_form_encoded(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    pools = [("stratum+tcp://pool.example:3333", "me.t1", "x")]
    await client.update_pools(pools)
    action, form = last_form(t1)
    assert action == "updatePools"
    assert form == {"Pool1": pools[0][0], "UserName1": "me.t1", "Password1": "x"}
    assert [(p.url, p.user, p.password) for p in await client.pools()] == pools


@pytest.mark.parametrize(
    "pools",
    [[], [("a", "b", "c")] * 4, [("stratum+tcp://p:3333", "", "x")]],
)
async def test_update_pools_validation(
    client: DragonMintClient, t1: DragonMintEmulator, pools: list[tuple[str, str, str]]
) -> None:
    with pytest.raises(InvalidParameter):
        await client.update_pools(pools)
    assert t1.received == []


async def test_autotune(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    await client.set_autotune("efficient")
    assert last_form(t1) == ("setAutoTune", {"autotune": "efficient"})
    assert (await client.get_autotune()).mode == "efficient"
    with pytest.raises(InvalidParameter, match="efficient, balanced"):
        await client.set_autotune("turbo")
    with pytest.raises(InvalidParameter, match="level"):
        await client.set_autotune("efficient", "9")


async def test_password_change_switches_credentials(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    await client.update_password("n3w-secret", current_admin_password=ADMIN_PASSWORD)
    assert last_form(t1) == (
        "updatePassword",
        {
            "user": "admin",
            "currentPassword": ADMIN_PASSWORD,
            "newPassword": "n3w-secret",
        },
    )
    assert t1.state.users["admin"] == "n3w-secret"
    assert len((await client.summary()).chains) == 3  # now with the new password
    with pytest.raises(CommandRejected, match="wrong current password"):
        await client.update_password("x", current_admin_password="bad")
    with pytest.raises(InvalidParameter):
        await client.update_password(
            "x", user="root", current_admin_password="n3w-secret"
        )
    with pytest.raises(InvalidParameter):
        await client.update_password("", current_admin_password="n3w-secret")


async def test_guest_password_change_keeps_admin_credentials(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    await client.update_password(
        "g2", user="guest", current_admin_password=ADMIN_PASSWORD
    )
    assert t1.state.users["guest"] == "g2"
    await client.ping()


async def test_network(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    await client.update_network_static(
        "192.168.1.160", "255.255.255.0", "192.168.1.1", ("1.1.1.1", "8.8.8.8")
    )
    action, form = last_form(t1)
    assert action == "updateNetwork"
    assert form["dhcp"] == "static"
    assert form["dns"] == ["1.1.1.1", "8.8.8.8"]
    t1.advance(t1.faults.network_restart_seconds + 1)
    await client.ping()  # the pooled connection died with the network restart
    await client.update_network_dhcp()
    assert last_form(t1) == ("updateNetwork", {"dhcp": "dhcp"})
    with pytest.raises(InvalidParameter):
        await client.update_network_static(
            "1.2.3", "255.0.0.0", "1.1.1.1", ("1.1.1.1", "2.2.2.2")
        )
    with pytest.raises(InvalidParameter):
        await client.update_network_static(
            "1.2.3.4",
            "255.0.0.0",
            "1.1.1.1",
            ("1.1.1.1",),  # type: ignore[arg-type]
        )


async def test_system_actions(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    await client.restart_cgminer()
    await client.reboot()
    assert t1.actions()[-2:] == ["restartCgMiner", "reboot"]
    t1.advance(t1.faults.action_delay_seconds + 1)
    with pytest.raises(ConnectionFailed):
        await client.ping()
    t1.advance(t1.faults.reboot_seconds + 1)
    await client.ping()
    await client.poweroff()
    await client.factory_reset()
    assert t1.actions()[-2:] == ["poweroff", "factoryReset"]


async def test_stale_keep_alive_connection(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    """A read is sent again on a fresh connection; a write is never repeated."""
    await client.ping()  # leaves a keep-alive connection in the session's pool
    await client.update_network_dhcp()  # the miner restarts its network
    t1.advance(t1.faults.network_restart_seconds + 1)
    await client.ping()
    await client.ping()
    await client.update_network_dhcp()
    t1.advance(t1.faults.network_restart_seconds + 1)
    writes = t1.actions().count("reboot")
    with pytest.raises(NoReply, match="outcome unknown"):
        await client.reboot()
    assert t1.actions().count("reboot") == writes


async def test_firmware_download(
    client: DragonMintClient, t1: DragonMintEmulator
) -> None:
    await client.upgrade_download("https://example.invalid/t1_20190101_000000.swu")
    assert t1.state.firmware_downloads == [
        "https://example.invalid/t1_20190101_000000.swu"
    ]
    with pytest.raises(InvalidParameter):
        await client.upgrade_download("ftp://example.invalid/t1.swu")


async def test_stream_logs(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    t1.faults.log_interval = 0.01
    lines: list[str] = []
    async for line in client.stream_logs(line_timeout=2):
        lines.append(line)
        if len(lines) == 3:
            break
    assert len(lines) == 3
    assert all(line and "\n" not in line for line in lines)


async def test_stream_logs_denied_to_guests(
    session: aiohttp.ClientSession, t1: DragonMintEmulator
) -> None:
    guest = DragonMintClient(
        session, t1.host, t1.port, username="guest", password="dragonguest"
    )
    with pytest.raises(AuthFailed):
        async for _ in guest.stream_logs():
            pass  # pragma: no cover - refused before any line


async def test_faults(client: DragonMintClient, t1: DragonMintEmulator) -> None:
    t1.faults.http_500 = True
    with pytest.raises(ServiceNotRunning, match="HTTP 502"):
        await client.summary()
    t1.faults.http_500 = False
    t1.faults.stall = True
    client.request_timeout = 0.2
    with pytest.raises(RequestTimeout):
        await client.summary()
    t1.faults.stall = False
    t1.faults.offline = True
    with pytest.raises(ConnectionFailed):
        await client.summary()


async def test_innosilicon_firmware(session: aiohttp.ClientSession) -> None:
    async with DragonMintEmulator(innosilicon=True, noise=False) as inno:
        client = DragonMintClient(session, inno.host, inno.port, password="admin")
        summary = await client.summary()
        # Hash Rate H (H/s), never the display-scaled "Hash Rate".
        for chain, emulated in zip(summary.chains, inno.state.chains, strict=True):
            assert chain.hashrate_ths == pytest.approx(emulated.mhs / 1e6, rel=0.05)
        autotune = await client.get_autotune()
        assert (autotune.mode, autotune.level) == ("factory", "2")
        await client.set_autotune("efficient", "3")
        assert last_form(inno) == (
            "setAutoTune",
            {"autotune": "efficient", "level": "3"},
        )
