"""Tests of the DragonMint / Innosilicon HTTP emulator itself, with plain aiohttp.

The client side is a bare ``aiohttp.ClientSession`` (no Miner Hub code); expected
values come from the reference (the reference notes ``dragonmint.md``) and the
firmware backend it cites. Every session uses ``force_close`` so each request opens
its own connection and "connection refused" is observable.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import hashlib
import hmac
import json
import time
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.emulators import (
    INNO_ADMIN_PASSWORD,
    T1_ADMIN_PASSWORD,
    T1_GUEST_PASSWORD,
    DragonMintEmulator,
    DragonMintFaults,
    LatestFirmware,
    ReceivedRequest,
    apply_scenario,
)
from tests.emulators.__main__ import KINDS
from tests.emulators.dragonmint import php_form, version_datetime

Headers = list[tuple[str, str]]


def basic(user: str, password: str) -> Headers:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [("Authorization", f"Basic {token}")]


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT, without checking anything."""
    head, body, _signature = token.split(".")

    def load(part: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        )
        return decoded

    return load(head), load(body)


def bearer(token: str) -> Headers:
    return [("Authorization", f"Bearer {token}")]


ADMIN = basic("admin", T1_ADMIN_PASSWORD)
GUEST = basic("guest", T1_GUEST_PASSWORD)
INNO_ADMIN = basic("admin", INNO_ADMIN_PASSWORD)
NGINX = "nginx/1.12.2"


@pytest.fixture
async def emu(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    async with DragonMintEmulator() as emulator:
        yield emulator


@pytest.fixture
async def inno(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    async with DragonMintEmulator(innosilicon=True) as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(force_close=True)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


async def call(
    session: aiohttp.ClientSession,
    emu: DragonMintEmulator,
    action: str,
    *,
    headers: Headers | None = None,
    data: Any = None,
    json_body: Any = None,
    method: str = "POST",
    prefix: str = "/api/",
) -> Any:
    """One PHP call; asserts the HTTP 200 + JSON envelope and returns the body."""
    async with session.request(
        method,
        f"{emu.url}{prefix}{action}",
        headers=ADMIN if headers is None else headers,
        data=data,
        json=json_body,
    ) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.headers["Server"] == NGINX
        assert response.headers["X-Powered-By"] == "PHP/7.2.4"
        return json.loads(await response.text())


async def raw(
    session: aiohttp.ClientSession,
    emu: DragonMintEmulator,
    path: str,
    *,
    headers: Headers | None = None,
    method: str = "POST",
    data: Any = None,
) -> tuple[int, str, str]:
    async with session.request(
        method, f"{emu.url}{path}", headers=headers or [], data=data
    ) as response:
        return response.status, response.headers["Content-Type"], await response.text()


def cgminer(emu: DragonMintEmulator) -> str:
    return emu.state.cgminer


def power(emu: DragonMintEmulator) -> str:
    return emu.power_state


async def refused(session: aiohttp.ClientSession, emu: DragonMintEmulator) -> bool:
    try:
        await call(session, emu, "ping")
    except aiohttp.ClientConnectorError:
        return True
    return False


INVALID = {"success": False, "message": "invalid request"}
EXPIRED = {"success": False, "token": "expired"}
NOT_READY = {"success": False}


# ------------------------------------------------------------------- routing


async def test_any_method_routes_and_action_must_match(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        assert await call(session, emu, "ping", method=method) == {"success": True}
    assert await call(session, emu, "ping?foo=1") == {"success": True}
    assert await call(session, emu, "summary/") == INVALID
    assert await call(session, emu, "summary/x") == INVALID
    assert await call(session, emu, "Summary") == INVALID
    assert await call(session, emu, "nope") == INVALID
    assert await call(session, emu, "") == INVALID
    # /cgi-bin rewrites the same way; nginx appends the original query, PHP keeps
    # the last "action"; /api/index.php is reachable directly.
    assert (await call(session, emu, "type", prefix="/cgi-bin/"))["type"] == "T1"
    assert (await call(session, emu, "ping?action=type"))["type"] == "T1"
    assert (await call(session, emu, "index.php?action=type", prefix="/api/"))[
        "type"
    ] == "T1"
    assert await call(session, emu, "index.php", prefix="/api/") == INVALID
    assert await call(session, emu, "//api//ping", prefix="") == {"success": True}
    assert emu.actions()[:5] == ["ping"] * 5
    assert emu.received[6] == ReceivedRequest(
        "POST", "/api/summary/", "summary/", {}, None, "basic", "admin"
    )


async def test_static_pages_and_nginx_locations(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    status, ctype, body = await raw(session, emu, "/", method="GET")
    assert (status, ctype) == (200, "text/html")
    assert "<title>DragonMint</title>" in body
    status, _, body = await raw(session, emu, "/some/page", method="GET")
    assert status == 200
    assert "<title>DragonMint</title>" in body
    status, _, body = await raw(session, emu, "/", method="POST")
    assert status == 405
    assert "405 Not Allowed" in body
    status, _, body = await raw(session, emu, "/api/summary.js", headers=ADMIN)
    assert status == 404
    assert "404 Not Found" in body
    status, _, body = await raw(session, emu, "/api/other.php", headers=ADMIN)
    assert (status, body) == (404, "File not found.\n")
    above_root = URL(f"{emu.url}/api/%2E%2E/%2E%2E/x", encoded=True)
    async with session.get(above_root) as response:
        assert response.status == 400
    async with session.get(f"{emu.url}/api", allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"].endswith("/api/")


async def test_roles_and_credentials(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    assert await call(session, emu, "summary", headers=[]) == INVALID
    assert await call(session, emu, "summary", headers=basic("admin", "x")) == INVALID
    assert await call(session, emu, "summary", headers=basic("root", "x")) == INVALID
    assert (await call(session, emu, "summary", headers=GUEST))["success"] is True
    for admin_only in ("getAutoTune", "updatePools", "reboot", "getLogs", "type.py"):
        assert await call(session, emu, admin_only, headers=GUEST) == INVALID
    assert await call(session, emu, "unit") == INVALID  # Innosilicon only
    # The Basic user name is sanitised to [a-zA-Z0-9_-] before comparison.
    sanitised = basic("ad min!", T1_ADMIN_PASSWORD)
    assert (await call(session, emu, "getAutoTune", headers=sanitised))["success"]
    assert [r.user for r in emu.received[:3]] == [None, None, None]
    assert emu.received[3].user == "guest"


# ---------------------------------------------------------------------- auth


async def test_auth_form_success_and_jwt_claims(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    reply = await call(
        session,
        emu,
        "auth",
        headers=[],
        data={"username": "admin", "password": T1_ADMIN_PASSWORD},
    )
    assert set(reply) == {"success", "jwt"}
    token = reply["jwt"]
    header, claims = jwt_parts(token)
    assert header == {"typ": "JWT", "alg": "HS256"}
    head_b64, body_b64, sig_b64 = token.split(".")
    signature = hmac.new(
        emu.state.jwt_key.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256
    ).digest()
    assert base64.urlsafe_b64encode(signature).decode().rstrip("=") == sig_b64
    assert list(claims) == ["iss", "iat", "exp", "user"]
    assert claims["iss"] == "DragonMint"
    assert claims["user"] == "admin"
    assert claims["exp"] - claims["iat"] == 21600
    assert abs(claims["iat"] - time.time()) < 5
    assert len(emu.state.jwt_key) == 20
    assert emu.tokens_issued == 1
    assert (await call(session, emu, "getAutoTune", headers=bearer(token)))["success"]
    assert emu.received[-1].auth == "bearer"
    assert emu.received[-1].user == "admin"
    assert emu.received[0].form == {"username": "admin", "password": "dragonadmin"}


async def test_auth_errors_and_json_body(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async def auth(**kwargs: Any) -> Any:
        return await call(session, emu, "auth", headers=[], **kwargs)

    assert await auth(data={"username": "admin", "password": "nope"}) == {
        "success": False,
        "message": "invalid password",
    }
    assert await auth(data={"username": "bob", "password": "x"}) == {
        "success": False,
        "message": "user not found",
    }
    missing = {"success": False, "message": "missing username/password fields"}
    assert await auth(data={"username": "admin"}) == missing
    assert await auth(data={"username": "admin", "password": ""}) == missing
    assert await auth() == missing
    body = {"username": "admin", "password": T1_ADMIN_PASSWORD}
    assert await auth(json_body=body) == missing  # $_POST is empty for JSON
    assert emu.received[-1].json == body
    assert emu.received[-1].form == {}
    # PHP fills $_POST only for POST requests.
    assert await auth(data=body, method="PUT") == missing
    guest = await auth(data={"username": "guest", "password": T1_GUEST_PASSWORD})
    token = guest["jwt"]
    assert await call(session, emu, "getAutoTune", headers=bearer(token)) == INVALID
    assert (await call(session, emu, "summary", headers=bearer(token)))["success"]


async def test_bad_tokens_are_expired_before_routing(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    good = emu.issue_jwt("admin")
    forged = emu.issue_jwt("admin", key="x" * 20)
    for token in (forged, "garbage", "a.b.c", good + "x"):
        assert await call(session, emu, "ping", headers=bearer(token)) == EXPIRED
    # Even /api/auth and unknown routes answer "expired" first.
    form = {"username": "admin", "password": T1_ADMIN_PASSWORD}
    assert (
        await call(session, emu, "auth", headers=bearer(forged), data=form) == EXPIRED
    )
    assert await call(session, emu, "nope", headers=bearer(forged)) == EXPIRED
    # A valid token whose user is nobody known is just "no caller".
    assert await call(session, emu, "ping", headers=bearer(emu.issue_jwt("root"))) == (
        INVALID
    )
    assert [r.user for r in emu.received[:4]] == [None] * 4
    # Bearer wins over Basic, whether in one header or two.
    both = [*ADMIN, ("Authorization", f"Bearer {forged}")]
    assert await call(session, emu, "ping", headers=both) == EXPIRED
    guest_token = emu.issue_jwt("guest")
    mixed = [*ADMIN, ("Authorization", f"Bearer {guest_token}")]
    assert await call(session, emu, "getAutoTune", headers=mixed) == INVALID
    one_header = [("Authorization", f"{ADMIN[0][1]} Bearer {forged}")]
    assert await call(session, emu, "ping", headers=one_header) == EXPIRED
    assert emu.received[-1].auth == "bearer"


async def test_jwt_expiry_clock_skew_and_reboot(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    frozen = float(int(time.time()))
    emu.now = lambda: frozen
    token = emu.issue_jwt()
    emu.advance(21599)
    assert (await call(session, emu, "ping", headers=bearer(token)))["success"]
    emu.advance(1)  # exp reached: php-jwt uses now >= exp with zero leeway
    assert await call(session, emu, "ping", headers=bearer(token)) == EXPIRED
    # A miner clock behind the issuing moment rejects the token (iat in the future).
    fresh = emu.issue_jwt()
    emu.state.clock_offset = -30
    assert await call(session, emu, "ping", headers=bearer(fresh)) == EXPIRED
    assert (await call(session, emu, "ping", headers=bearer(emu.issue_jwt())))[
        "success"
    ]
    emu.state.clock_offset = 0
    key = emu.state.jwt_key
    emu.faults.reboot_seconds = 5
    emu.faults.cgminer_restart_seconds = 0
    emu.reboot()
    emu.advance(5)
    assert emu.state.jwt_key != key
    assert await call(session, emu, "ping", headers=bearer(fresh)) == EXPIRED


# ------------------------------------------------------------- reads and shapes


async def test_summary_shape_and_php_escaping(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{emu.url}/api/summary", headers=ADMIN) as response:
        text = await response.text()
    assert "stratum+tcp:\\/\\/us-east.stratum.slushpool.com:3333" in text
    reply = json.loads(text)
    assert list(reply) == [
        "success",
        "DEVS",
        "POOLS",
        "HARDWARE",
        "tuning",
        "hashrates",
    ]
    assert reply["HARDWARE"] == {"Fan duty": 80}
    assert reply["tuning"] is False
    assert reply["hashrates"] == []
    devs = reply["DEVS"]
    assert [(d["ASC"], d["ID"], d["Name"], d["Status"]) for d in devs] == [
        (i, i, "DT1", "Alive") for i in range(3)
    ]
    for dev in devs:
        assert 4.8e6 < dev["MHS av"] < 5.0e6  # MH/s, ~4.9 TH/s per chain
        assert dev["Device Elapsed"] > 3600
        assert dev["Hash Rate"] == dev["MHS 15m"]
        assert isinstance(dev["Temperature"], int)
        assert dev["Last Share Pool"] == 0
        assert dev["Enabled"] == "Y"
    assert 14.5e6 < sum(d["MHS 5m"] for d in devs) < 15.0e6
    pools = reply["POOLS"]
    assert [p["POOL"] for p in pools] == [0, 1, 2]
    assert pools[0]["URL"] == "stratum+tcp://us-east.stratum.slushpool.com:3333"
    assert pools[0]["Stratum Active"] is True
    assert pools[0]["Accepted"] > 0
    assert pools[0]["Stratum URL"] == "us-east.stratum.slushpool.com"
    assert {"Status", "Priority", "User", "Diff1 Shares", "Best Share"} <= set(pools[0])


async def test_other_reads(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(f"{emu.url}/api/pools", headers=ADMIN) as response:
        text = await response.text()
    assert '"url":"stratum+tcp://us-east' in text  # JSON_UNESCAPED_SLASHES
    assert json.loads(text)["pools"][1] == {
        "url": "stratum+tcp://btc.viabtc.com:3333",
        "user": "minerhub.001",
        "pass": "x",
    }
    overview = await call(session, emu, "overview", headers=GUEST)
    assert list(overview) == ["success", "type", "hardware", "network", "version"]
    assert overview["version"] == {
        "hwver": "g19",
        "ethaddr": "00:0a:35:12:34:56",
        "build_date": "24th of October 2018 11:42 AM",
        "platform_v": "t1_20181024_114207",
    }
    hardware = overview["hardware"]
    assert " up 1:30, load average: " in hardware["status"]
    assert hardware["memUsed"] + hardware["memFree"] == hardware["memTotal"]
    assert hardware["cacheTotal"] == hardware["cacheUsed"] + hardware["cacheFree"]
    network = await call(session, emu, "network", headers=GUEST)
    assert list(network) == [
        "dhcp",
        "ipaddress",
        "netmask",
        "gateway",
        "dns1",
        "dns2",
        "success",
    ]
    assert network == {**overview["network"], "success": True}
    assert await call(session, emu, "type", headers=GUEST) == {
        "success": True,
        "type": "T1",
    }
    stats = await call(session, emu, "stats", headers=GUEST)
    assert stats["success"] is True
    assert stats["STATUS"][0]["Msg"] == "CGMiner stats"
    assert [s["ID"] for s in stats["STATS"]] == [
        "DT10",
        "DT11",
        "DT12",
        "POOL0",
        "POOL1",
        "POOL2",
    ]
    debug = await call(session, emu, "getDebugStats", headers=GUEST)
    assert len(debug["boards"]) == 3
    assert debug["boards"][0]["board"]["ID"] == "DT10"
    assert debug["boards"][0]["chips"][0] == {
        "Freq": 800,
        "Vol": 412,
        "Temp": 58,
        "HW": 0,
    }
    assert set(debug["hashes"]) == {"firmware", "backend", "cgminer"}
    rates = await call(session, emu, "getHashRates", headers=GUEST)
    assert len(rates["stats"]) == 3
    assert len(rates["times"]) == len(rates["stats"][0]) == 18  # 90 min, 5-min steps
    assert rates["times"] == sorted(rates["times"])
    emu.state.hashrate_history = False
    assert await call(session, emu, "getHashRates") == {
        "success": False,
        "message": "No data to show",
    }
    assert await call(session, emu, "getAutoTune") == {
        "success": True,
        "autoTuneMode": "balanced",
    }
    assert await call(session, emu, "getAutoTuneStatus") == {
        "success": True,
        "isRunning": True,
        "isTuning": False,
        "mode": "balanced",
    }
    emu.state.pools = None
    assert await call(session, emu, "pools") == {
        "success": False,
        "message": "missing configuration",
    }


async def test_latest_firmware_and_logs(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    assert await call(session, emu, "getLatestFirmwareVersion") == {
        "success": False,
        "message": "can't fetch firmware versions",
    }
    assert (
        await call(session, emu, "getLatestFirmwareVersion", headers=GUEST) == INVALID
    )
    url = "https://download.halongmining.com/files/t1/t1_20190321_083414.swu"
    emu.state.latest_firmware = LatestFirmware("t1_20190321_083414", url, "fixes")
    async with session.post(
        f"{emu.url}/api/getLatestFirmwareVersion", headers=ADMIN
    ) as response:
        text = await response.text()
    assert "https:\\/\\/download.halongmining.com" in text
    assert json.loads(text) == {
        "success": True,
        "version": "t1_20190321_083414",
        "versionDate": "21st of March 2019 08:34 AM",
        "url": url,
        "info": "fixes",
        "currentVersion": "t1_20181024_114207",
        "currentVersionDate": "24th of October 2018 11:42 AM",
        "isUpdated": False,
    }
    emu.state.platform_v = "t1_20190321_083414"
    assert (await call(session, emu, "getLatestFirmwareVersion"))["isUpdated"] is True
    async with session.post(f"{emu.url}/api/getLogs", headers=ADMIN) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain"
        assert "attachment" in response.headers["Content-Disposition"]
        logs = await response.text()
    assert logs.startswith("-- Logs begin at ")
    assert " DragonMint cgminer[412]: " in logs


async def test_legacy_cgi_bin_routes(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    net = await call(session, emu, "network.py", prefix="/cgi-bin/")
    assert net["dns"] == ["192.168.1.1", "8.8.8.8"]
    assert "dns1" not in net
    api = await call(session, emu, "api.py", prefix="/cgi-bin/")
    assert [d["DUTY"] for d in api["DEVS"]] == [80, 80, 80]
    assert api["STATUS"][0]["Msg"] == "3 ASC(s)"
    assert set(await call(session, emu, "system.py", prefix="/cgi-bin/")) >= {
        "status",
        "memTotal",
    }
    # MinerApiV1Controller calls methods that do not exist: a PHP fatal error.
    status, ctype, body = await raw(session, emu, "/cgi-bin/type.py", headers=ADMIN)
    assert (status, ctype, body) == (500, "application/json", "")
    emu.state.cgminer = "down"
    assert await call(session, emu, "api.py", prefix="/cgi-bin/") == {
        "DEVS": None,
        "POOLS": None,
        "STATUS": None,
    }


# -------------------------------------------------------------------- writes


async def test_update_pools_form_and_json_hazard(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.cgminer_restart_seconds = 30
    form = {
        "Pool1": "stratum+tcp://pool.example.com:3333",
        "UserName1": "me.w1",
        "Password1": "x",
        "Pool2": "stratum+tcp://backup.example.com:443",
        "UserName2": "me.w1",
        "Password2": "",  # dropped: every field must be non-empty
        "Pool3": "stratum+tcp://third.example.com:25",
        "UserName3": "me.w1",
        "Password3": "123",
    }
    assert await call(session, emu, "updatePools", data=form) == {"success": True}
    assert emu.received[-1].form == form
    assert (await call(session, emu, "pools"))["pools"] == [
        {"url": "stratum+tcp://pool.example.com:3333", "user": "me.w1", "pass": "x"},
        {"url": "stratum+tcp://third.example.com:25", "user": "me.w1", "pass": "123"},
    ]
    assert cgminer(emu) == "restarting"
    assert await call(session, emu, "summary") == NOT_READY
    assert await call(session, emu, "stats") == NOT_READY
    status = await call(session, emu, "getAutoTuneStatus")
    assert (status["isRunning"], status["isTuning"]) == (False, False)
    emu.advance(30)
    summary = await call(session, emu, "summary")
    assert [p["URL"] for p in summary["POOLS"]] == [
        "stratum+tcp://pool.example.com:3333",
        "stratum+tcp://third.example.com:25",
    ]
    # Fresh cgminer: Hash Rate follows the Device Elapsed rule (ref §5.2).
    dev = summary["DEVS"][0]
    assert dev["Device Elapsed"] < 300
    assert dev["Hash Rate"] == dev["MHS 5s"]
    for seconds, window in ((400, "MHS 1m"), (1000, "MHS 5m"), (3600, "MHS 15m")):
        emu.advance(
            seconds - (await call(session, emu, "summary"))["DEVS"][0]["Device Elapsed"]
        )
        dev = (await call(session, emu, "summary"))["DEVS"][0]
        assert dev["Hash Rate"] == dev[window]
    # The hazard: a JSON body leaves $_POST empty -> every pool dropped, "success".
    body = {"Pool1": "stratum+tcp://x:1", "UserName1": "u", "Password1": "x"}
    assert await call(session, emu, "updatePools", json_body=body) == {"success": True}
    assert emu.received[-1].json == body
    assert emu.received[-1].form == {}
    assert await call(session, emu, "pools") == {"success": True, "pools": []}
    emu.advance(30)
    assert (await call(session, emu, "summary"))["POOLS"] == []


async def test_cgminer_restart_window(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.cgminer_restart_seconds = 20
    assert await call(session, emu, "restartCgMiner") == {"success": True}
    emu.advance(19)
    assert await call(session, emu, "summary") == NOT_READY
    emu.advance(1)
    assert (await call(session, emu, "summary"))["DEVS"][0]["MHS 5s"] == 0  # init
    emu.advance(60)
    summary = await call(session, emu, "summary")
    assert summary["DEVS"][0]["MHS 15m"] < summary["DEVS"][0]["MHS 5s"] / 10
    assert summary["DEVS"][0]["Last Share Pool"] == -1  # no share yet
    emu.state.cgminer = "down"
    emu.advance(1000)
    assert await call(session, emu, "summary") == NOT_READY
    assert (await call(session, emu, "pools"))["success"]  # config, not cgminer


async def test_set_autotune(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.cgminer_restart_seconds = 10

    async def set_mode(**form: str) -> Any:
        return await call(session, emu, "setAutoTune", data=form)

    assert await set_mode() == {"success": False, "message": "missing autotune value"}
    assert await set_mode(autotune="turbo") == {"success": True}
    assert emu.state.autotune_mode == "balanced"
    assert await set_mode(autotune="balanced") == {"success": True}
    assert cgminer(emu) == "running"  # nothing to change: no restart
    assert await set_mode(autotune="efficient") == {"success": True}
    assert cgminer(emu) == "restarting"
    assert await call(session, emu, "getAutoTune") == {
        "success": True,
        "autoTuneMode": "efficient",
    }
    emu.advance(10)
    # dm-backend rewrites the config (and restarts) for efficient/factory/performance
    # even when unchanged; only "balanced" over "balanced" is a no-op.
    assert await set_mode(autotune="efficient") == {"success": True}
    assert cgminer(emu) == "restarting"
    emu.advance(10)
    assert await set_mode(autotune="balanced") == {"success": True}
    assert cgminer(emu) == "restarting"
    emu.advance(10)
    apply_scenario(emu.state, "tuning")
    assert (await call(session, emu, "summary"))["tuning"] is True
    assert (await call(session, emu, "getAutoTuneStatus"))["isTuning"] is True
    emu.state.autotune_noauto = True
    assert (await call(session, emu, "summary"))["tuning"] is False


async def test_update_password(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async def update(**form: str) -> Any:
        return await call(session, emu, "updatePassword", data=form)

    wrong = {"success": False, "message": "wrong current password"}
    # The admin password is checked first, whichever user is changed.
    assert await update(user="guest", currentPassword=T1_GUEST_PASSWORD) == wrong
    assert await update(user="bob", newPassword="x") == wrong
    assert await update(user="bob", currentPassword=T1_ADMIN_PASSWORD) == {
        "success": False,
        "message": "invalid user",
    }
    assert await update(user="guest", currentPassword=T1_ADMIN_PASSWORD) == {
        "success": False,
        "message": "invalid new password",
    }
    token = emu.issue_jwt()
    assert await update(
        user="guest", currentPassword=T1_ADMIN_PASSWORD, newPassword="g2"
    ) == {"success": True}
    assert await call(session, emu, "ping", headers=GUEST) == INVALID
    assert (await call(session, emu, "ping", headers=basic("guest", "g2")))["success"]
    assert await update(
        user="admin", currentPassword=T1_ADMIN_PASSWORD, newPassword="a2"
    ) == {"success": True}
    assert await call(session, emu, "ping") == INVALID
    new_admin = basic("admin", "a2")
    assert (await call(session, emu, "ping", headers=new_admin))["success"]
    assert (await call(session, emu, "ping", headers=bearer(token)))["success"]
    assert emu.state.users == {"admin": "a2", "guest": "g2"}


async def test_update_network(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async def update(data: Any) -> Any:
        return await call(session, emu, "updateNetwork", data=data)

    def failure(message: str) -> dict[str, Any]:
        return {"success": False, "message": message}

    static = [
        ("dhcp", "static"),
        ("ipaddress", "10.0.0.7"),
        ("netmask", "255.255.255.0"),
        ("gateway", "10.0.0.1"),
        ("dns[]", "1.1.1.1"),
        ("dns[]", "9.9.9.9"),
    ]

    def without(key: str, value: str | None = None) -> Headers:
        kept = [(k, v) for k, v in static if k != key]
        return kept if value is None else [*kept, (key, value)]

    assert await update({}) == failure("invalid dhcp setting")
    assert await update({"dhcp": "auto"}) == failure("invalid dhcp setting")
    assert await update(without("ipaddress", "10.0.0.256")) == failure(
        "invalid ip address"
    )
    assert await update(without("netmask")) == failure("invalid netmask ")
    assert await update(without("gateway", "10.0.0.01")) == failure("invalid gateway ")
    assert await update(without("dns[]")) == failure("invalid dns 1 ")
    assert await update([*without("dns[]"), ("dns[0]", "1.1.1.1")]) == failure(
        "invalid dns 2 "
    )
    # A scalar "dns" is indexed as a string by PHP: "8" is not an address.
    assert await update([*without("dns[]"), ("dns", "8.8.8.8")]) == failure(
        "invalid dns 1 "
    )
    assert await call(session, emu, "updateNetwork", json_body=dict(static)) == (
        failure("invalid dhcp setting")
    )
    emu.faults.network_restart_seconds = 3
    assert await update(static) == {"success": True}
    assert emu.received[-1].form["dns"] == ["1.1.1.1", "9.9.9.9"]
    assert await refused(session, emu)  # systemd-networkd restarting
    emu.advance(3)
    assert await call(session, emu, "network") == {
        "dhcp": "static",
        "ipaddress": "10.0.0.7",
        "netmask": "255.255.255.0",
        "gateway": "10.0.0.1",
        "dns1": "1.1.1.1",
        "dns2": "9.9.9.9",
        "success": True,
    }
    emu.faults.network_restart_seconds = 0
    assert await update({"dhcp": "dhcp", "dns": "null"}) == {"success": True}
    assert (await call(session, emu, "network"))["dhcp"] == "dhcp"


async def test_reboot_poweroff_and_factory_reset(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.reboot_seconds = 50
    emu.faults.cgminer_restart_seconds = 30
    old_key = emu.state.jwt_key
    assert await call(session, emu, "reboot") == {"success": True}
    assert (await call(session, emu, "ping"))["success"]  # "sleep 4" first
    emu.advance(4)
    assert power(emu) == "rebooting"
    assert await refused(session, emu)
    emu.advance(49)
    assert await refused(session, emu)
    emu.advance(1)
    assert power(emu) == "on"
    assert emu.state.jwt_key != old_key
    assert await call(session, emu, "summary") == NOT_READY  # cgminer starting
    emu.advance(30)
    assert (await call(session, emu, "summary"))["success"]
    overview = await call(session, emu, "overview")
    assert " up 0 min, " in overview["hardware"]["status"]

    assert await call(session, emu, "poweroff") == {"success": True}
    emu.advance(4)
    assert power(emu) == "off"
    emu.advance(10_000)
    assert await refused(session, emu)
    emu.reset_power()
    assert await refused(session, emu)
    emu.advance(50)
    assert (await call(session, emu, "ping"))["success"]

    assert await call(
        session,
        emu,
        "updatePassword",
        data={
            "user": "admin",
            "currentPassword": T1_ADMIN_PASSWORD,
            "newPassword": "n",
        },
    ) == {"success": True}
    await call(
        session,
        emu,
        "setAutoTune",
        headers=basic("admin", "n"),
        data={"autotune": "factory"},
    )
    assert await call(session, emu, "factoryReset", headers=basic("admin", "n")) == {
        "success": True
    }
    emu.advance(4 + 50)
    assert await call(session, emu, "pools") == {
        "success": False,
        "message": "missing configuration",
    }
    assert (await call(session, emu, "getAutoTune"))["autoTuneMode"] == "balanced"
    # Test hooks act at once.
    emu.faults.reboot_seconds = 0
    emu.reboot()
    assert power(emu) == "on"
    emu.power_off()
    assert await refused(session, emu)
    emu.reset_power()
    assert (await call(session, emu, "ping"))["success"]


# ---------------------------------------------------------- stream and upgrade


async def test_stream_logs(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.log_interval = 0.01
    async with session.get(f"{emu.url}/stream/logs", headers=ADMIN) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain"
        assert response.headers["Transfer-Encoding"] == "chunked"
        backlog = len(emu.log_lines())
        lines = [
            await asyncio.wait_for(response.content.readline(), 2)
            for _ in range(backlog + 3)
        ]
    assert all(line.endswith(b"\n") for line in lines)
    assert b" DragonMint kernel: Booting Linux" in lines[0]
    assert any(b"cgminer[412]: Accepted " in line for line in lines[backlog:])
    token = emu.issue_jwt()
    json_headers = [*bearer(token), ("Accept", "application/json")]
    async with session.get(f"{emu.url}/stream/logs", headers=json_headers) as response:
        assert response.headers["Content-Type"] == "application/json"
        entry = json.loads(await asyncio.wait_for(response.content.readline(), 2))
        assert entry["SYSLOG_IDENTIFIER"] == "kernel"
    for headers in (GUEST, [], basic("admin", "x"), bearer("bad")):
        status, ctype, body = await raw(
            session, emu, "/stream/logs", headers=headers, method="GET"
        )
        assert (status, ctype) == (401, "text/html")
        assert "<title>401 Authorization Required</title>" in body
        assert NGINX in body


async def test_stream_logs_is_cut_by_reboot(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(f"{emu.url}/stream/logs", headers=ADMIN) as response:
        await asyncio.wait_for(response.content.readline(), 2)
        emu.reboot()
        with pytest.raises(aiohttp.ClientError):
            await asyncio.wait_for(response.content.read(), 2)


async def test_upgrade_download_with_websocket_progress(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.upgrade_seconds = 10
    emu.faults.reboot_seconds = 30
    url = "http://fw.example.com/t1/t1_20190801_101010.swu"
    status, _, _ = await raw(
        session, emu, "/upgrade/download", headers=GUEST, data={"url": url}
    )
    assert status == 401
    assert emu.state.firmware_downloads == []
    async with session.ws_connect(f"{emu.url}/upgrade/ws") as ws:  # no auth
        status, ctype, body = await raw(
            session, emu, "/upgrade/download", headers=ADMIN, data={"url": url}
        )
        assert (status, ctype, body) == (200, "text/plain", "Ok, download started.\r\n")
        assert emu.state.firmware_downloads == [url]
        emu.advance(10)
        frames = [msg.data async for msg in ws if msg.type == aiohttp.WSMsgType.TEXT]
    assert frames[0] == '{\r\n\t"type": "status",\r\n\t"status": "START"\r\n}\r\n'
    parsed: list[dict[str, str]] = []
    malformed = 0
    for frame in frames:
        try:
            parsed.append(json.loads(frame))
        except ValueError:
            malformed += 1
    assert malformed == 1  # SWUpdate's unescaped "info" frame
    statuses = [f["status"] for f in parsed if f["type"] == "status"]
    assert statuses == ["START", "RUN", "SUCCESS", "DONE"]
    received = [f["text"] for f in parsed if "Received" in f.get("text", "")]
    assert json.loads(received[-1])["percent"] == 100
    steps = [f for f in parsed if f["type"] == "step"]
    assert steps[-1] == {
        "type": "step",
        "number": "2",
        "step": "2",
        "name": "kernel.itb",
        "percent": "100",
    }
    assert power(emu) == "rebooting"
    assert emu.state.firmware_updates[0].result == "success"
    emu.advance(30)
    overview = await call(session, emu, "overview")
    assert overview["version"]["platform_v"] == "t1_20190801_101010"
    assert overview["version"]["build_date"] == "1st of August 2019 10:10 AM"


async def test_upgrade_upload_failure_and_busy(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.upgrade_fails = True
    form = aiohttp.FormData()
    form.add_field("upfile", b"\x00" * 1000, filename="t1_20200101_000000.swu")
    status, _, body = await raw(
        session, emu, "/upgrade/upload", headers=ADMIN, data=form
    )
    assert (status, body) == (200, "Ok, t1_20200101_000000.swu - 1000 bytes.\r\n")
    assert emu.state.firmware_uploads == [("t1_20200101_000000.swu", 1000)]
    status, _, body = await raw(
        session, emu, "/upgrade/download", headers=ADMIN, data={"url": "http://x/y.swu"}
    )
    assert (status, body) == (500, "Failed to queue command\n")
    json_headers = [*ADMIN, ("Content-Type", "application/json")]
    status, _, _ = await raw(
        session, emu, "/upgrade/download", headers=json_headers, data='{"url": "x"}'
    )
    assert status == 400  # the URL must be a form field
    emu.advance(emu.faults.upgrade_seconds)
    assert power(emu) == "on"
    assert emu.state.firmware_updates[0].result == "failure"
    assert emu.state.platform_v == "t1_20181024_114207"


# --------------------------------------------------------------- Innosilicon


async def test_innosilicon_mode(
    inno: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    status, _, body = await raw(session, inno, "/", method="GET")
    assert (status, "<title>AsicMiner</title>" in body) == (200, True)
    summary = await call(session, inno, "summary", headers=INNO_ADMIN)
    for dev in summary["DEVS"]:
        assert dev["Unit"] == "TH/s"
        assert dev["Hash Rate H"] == pytest.approx(dev["MHS 15m"] * 1e6)
        assert dev["Hash Rate"] == pytest.approx(dev["MHS 15m"] / 1e6)
        assert {"TempMIN", "TempAVG", "TempMAX", "DUTY"} <= set(dev)
    total = summary["TotalHash"]
    assert total["Unit"] == "TH/s"
    assert total["Hash Rate"] == pytest.approx(
        sum(d["MHS 15m"] for d in summary["DEVS"]) / 1e6
    )
    guest = basic("guest", "guest")
    assert await call(session, inno, "unit", headers=guest) == {
        "success": True,
        "unit": "H/s",
    }
    assert await call(session, inno, "getAutoTuneStatus", headers=guest) == {
        "success": True,
        "isRunning": True,
        "isTuning": False,
        "mode": "factory",
        "level": "2",
    }
    assert await call(session, inno, "getAutoTune", headers=guest) == INVALID
    assert await call(session, inno, "getAutoTune", headers=INNO_ADMIN) == {
        "success": True,
        "autoTuneMode": {"mode": "factory", "level": "2"},
    }
    reply = await call(
        session,
        inno,
        "setAutoTune",
        headers=INNO_ADMIN,
        data={"autotune": "efficient", "level": " 3 "},
    )
    assert reply == {"success": True}
    assert (await call(session, inno, "getAutoTune", headers=INNO_ADMIN))[
        "autoTuneMode"
    ] == {"mode": "efficient", "level": "3"}
    rates = await call(session, inno, "getHashRates", headers=guest)
    assert rates["stats"][0][0] > 1e12  # H/s on Innosilicon
    # getErrorMessage never sets its Content-Type: PHP's default text/html.
    status, ctype, body = await raw(
        session, inno, "/api/getErrorMessage", headers=INNO_ADMIN
    )
    assert (status, ctype) == (200, "text/html; charset=UTF-8")
    assert json.loads(body) == {"success": True, "code": "0", "errmsg": ""}
    assert await call(session, inno, "getFreqVol", headers=INNO_ADMIN) == {
        "success": False,
        "message": "missing configuration",
    }
    # Only admin's password can change on this firmware.
    assert await call(
        session,
        inno,
        "updatePassword",
        headers=INNO_ADMIN,
        data={"user": "guest", "currentPassword": "admin", "newPassword": "x"},
    ) == {"success": False, "message": "invalid user"}
    token = (
        await call(
            session,
            inno,
            "auth",
            headers=[],
            data={"username": "admin", "password": "admin"},
        )
    )["jwt"]
    assert jwt_parts(token)[1]["iss"] == "AsicMiner"


async def test_innosilicon_basic_accepts_any_password_while_default(
    inno: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    anything = basic("admin", "wrong")
    assert (await call(session, inno, "getAutoTune", headers=anything))["success"]
    inno.state.users["admin"] = "s3cret"
    assert await call(session, inno, "getAutoTune", headers=anything) == INVALID
    assert (await call(session, inno, "getAutoTune", headers=basic("admin", "s3cret")))[
        "success"
    ]
    inno.state.users["admin"] = "admin"
    inno.state.inno_default_password_bypass = False
    assert await call(session, inno, "getAutoTune", headers=anything) == INVALID
    # /api/auth always checks the password.
    assert await call(
        session, inno, "auth", headers=[], data={"username": "admin", "password": "x"}
    ) == {"success": False, "message": "invalid password"}


# -------------------------------------------------------------------- scenarios


async def test_scenarios(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    apply_scenario(emu.state, "overheat", "two_chains")
    emu.state.chains[1].status = "Dead"
    summary = await call(session, emu, "summary")
    assert [d["Temperature"] for d in summary["DEVS"]] == [111, 103]
    assert summary["HARDWARE"] == {"Fan duty": 100}
    dead = summary["DEVS"][1]
    assert dead["Status"] == "Dead"
    assert dead["MHS 5s"] == 0
    assert dead["MHS av"] > 0
    apply_scenario(emu.state, "no_share")
    assert {
        d["Last Share Pool"] for d in (await call(session, emu, "summary"))["DEVS"]
    } == {-1}
    emu.state.dead_pools.clear()
    emu.state.chains[0].overrides["MHS 5s"] = 0.0
    emu.state.fan_duty = 0
    summary = await call(session, emu, "summary")
    assert summary["DEVS"][0]["MHS 5s"] == 0.0
    assert summary["HARDWARE"] == {"Fan duty": 0}


# ------------------------------------------------------------------------ faults


async def test_offline_refuses_then_relistens_on_the_same_port(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    port = emu.port
    keepalive = aiohttp.ClientSession()
    try:
        async with keepalive.post(f"{emu.url}/api/ping", headers=ADMIN) as response:
            assert response.status == 200
        emu.faults.offline = True
        assert await refused(session, emu)
        with pytest.raises(aiohttp.ClientError):  # the pooled connection was cut
            async with keepalive.post(f"{emu.url}/api/ping", headers=ADMIN) as response:
                await response.read()
    finally:
        await keepalive.close()
    emu.faults.offline = False
    assert emu.port == port
    assert (await call(session, emu, "ping"))["success"]
    emu.faults = DragonMintFaults(offline=True)
    assert await refused(session, emu)
    emu.faults.offline = False
    assert (await call(session, emu, "ping"))["success"]


async def test_stall_latency_drop_and_http_500(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.stall = True
    with pytest.raises(TimeoutError):
        async with session.post(
            f"{emu.url}/api/summary",
            headers=ADMIN,
            timeout=aiohttp.ClientTimeout(total=0.2),
        ):
            pass
    assert emu.actions() == ["summary"]
    emu.faults.stall = False
    emu.faults.latency = 0.15
    started = time.monotonic()
    assert (await call(session, emu, "ping"))["success"]
    assert time.monotonic() - started >= 0.15
    emu.faults.latency = 0
    emu.faults.cgminer_latency = 0.1
    started = time.monotonic()
    assert (await call(session, emu, "summary"))["success"]
    assert time.monotonic() - started >= 0.1
    emu.faults.cgminer_latency = 0
    emu.faults.drop_requests = 1
    with pytest.raises(aiohttp.ClientError):
        await call(session, emu, "ping")
    assert (await call(session, emu, "ping"))["success"]
    emu.faults.http_500 = True
    status, ctype, body = await raw(session, emu, "/api/summary", headers=ADMIN)
    assert (status, ctype) == (502, "text/html")
    assert "<h1>An error occurred.</h1>" in body
    emu.faults.http_500_status = 504
    assert (await raw(session, emu, "/api/ping", headers=ADMIN))[0] == 504
    assert (await raw(session, emu, "/stream/logs", headers=ADMIN, method="GET"))[
        0
    ] == 500
    assert (await raw(session, emu, "/", method="GET"))[0] == 200  # static still served


async def test_bad_input_never_crashes(
    emu: DragonMintEmulator, session: aiohttp.ClientSession
) -> None:
    assert await call(session, emu, "updatePools", data=b"\xff\xfe%%%&&==") == {
        "success": True
    }
    headers = [*ADMIN, ("Content-Type", "multipart/form-data; boundary=zz")]
    assert await call(
        session, emu, "setAutoTune", headers=headers, data=b"--zz\r\nbroken"
    ) == {
        "success": False,
        "message": "missing autotune value",
    }
    assert await call(
        session, emu, "setAutoTune", data={"autotune[]": "efficient"}
    ) == {"success": True}
    assert emu.state.autotune_mode == "balanced"
    assert (
        await call(session, emu, "ping", headers=[("Authorization", "Basic !!!")])
        == INVALID
    )
    assert (
        await call(session, emu, "ping", headers=[("Authorization", "Bearer")])
        == INVALID
    )


def test_php_form_arrays_and_versions() -> None:
    assert php_form([("a[]", "1"), ("a[]", "2"), ("b[x]", "3"), ("c.d", "4")]) == {
        "a": {"0": "1", "1": "2"},
        "b": {"x": "3"},
        "c_d": "4",
    }
    assert php_form([("a", "1"), ("a", "2")]) == {"a": "2"}
    assert version_datetime("t1_20180409_010732") is not None
    assert version_datetime("garbage") is None


def test_cli_registers_dragonmint() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    KINDS["dragonmint"][1](parser)
    args = parser.parse_args(["--innosilicon", "--port", "0", "--password", "pw"])
    assert (args.innosilicon, args.port, args.password, args.host) == (
        True,
        0,
        "pw",
        "127.0.0.1",
    )


async def test_stop_leaves_no_tasks(socket_enabled: None) -> None:
    emulator = DragonMintEmulator()
    await emulator.start()
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as client:
        # A pending reboot (event + watcher), a WebSocket, a log stream and a
        # stalled request are all open when stop() runs.
        async with client.post(f"{emulator.url}/api/reboot", headers=ADMIN) as reply:
            assert await reply.json() == {"success": True}
        ws = await client.ws_connect(f"{emulator.url}/upgrade/ws")
        async with client.get(f"{emulator.url}/stream/logs", headers=ADMIN) as logs:
            await logs.content.readline()
            emulator.faults.stall = True  # stalls every request, the WebSocket too
            stalled = asyncio.ensure_future(
                client.post(f"{emulator.url}/api/summary", headers=ADMIN)
            )
            await asyncio.sleep(0.05)
            await asyncio.wait_for(emulator.stop(), 2)
        await ws.close()
        with pytest.raises(aiohttp.ClientError):
            await stalled
    current = asyncio.current_task()
    assert [task for task in asyncio.all_tasks() if task is not current] == []
