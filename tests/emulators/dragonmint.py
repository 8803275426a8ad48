r"""Emulator of the DragonMint / Halong T1 web API (nginx + PHP), with an Innosilicon mode.

Written from the reference notes ``dragonmint.md`` (cited as "ref §N"; project notes outside this repository), the vendor
document and the firmware's own backend sources it cites (``dm-backend``,
``im-backend``, the ``mineralos`` nginx configuration), not from Miner Hub's client.

What is emulated, layer by layer:

nginx (ref §1, §10, §11)
    ``/api/<x>`` and ``/cgi-bin/<x>`` become ``index.php?action=<x>`` (nginx appends
    the original query, so a later ``action=`` in the query wins, as in PHP);
    ``/stream/logs`` and ``/upgrade/{download,upload}`` are guarded by
    ``auth_request`` (admin only, else an HTML 401 from nginx); ``/upgrade/ws`` has
    no auth; static files and ``try_files`` serve the web UI (``<title>DragonMint``
    or ``<title>AsicMiner``); a PHP worker that is down gives an HTML 502.
PHP backend (ref §2-§9)
    The caller is resolved before routing (a bad Bearer token answers
    ``{"success":false,"token":"expired"}`` even on ``/api/auth``); Bearer wins over
    Basic; routes are registered by role; everything application-level is HTTP 200.
    Writes read ``$_POST`` only: form bodies of POST requests (urlencoded or
    multipart, with PHP's ``name[]`` arrays); a JSON body leaves the form empty.
    Replies are PHP ``json_encode`` output (``/`` escaped as ``\/``).
cgminer
    ``running`` / ``restarting`` / ``down``; summary, stats and autotune status need
    it running. Three ``DT1`` chains in MH/s whose averages ramp up after a start.
SWUpdate and journal-gatewayd
    A firmware download or upload is recorded, progresses over
    ``faults.upgrade_seconds``, broadcasts SWUpdate-style frames on ``/upgrade/ws``
    and reboots into the new version; ``/stream/logs`` is an endless chunked
    journal.

Time is the emulator's clock (``now()`` plus ``advance()``): token expiry, cgminer
restarts, the ~4 s delay of reboot/poweroff/factoryReset, reboots, network restarts
and firmware updates can be stepped through without sleeping. Only ``latency``,
``cgminer_latency`` and the pace of the log stream use real time.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
import contextlib
from dataclasses import dataclass, field
import datetime as dt
import hashlib
import heapq
import hmac
import ipaddress
import itertools
import json
import logging
import math
import random
import re
import secrets
import socket
import struct
import time
from typing import Any, Final, Literal, NamedTuple
from urllib.parse import parse_qsl

from aiohttp import BodyPartReader, WSMsgType, web
from multidict import CIMultiDict

from ._listener import SwitchableListener, cancel_all, reset_socket

_LOGGER = logging.getLogger(__name__)

# ------------------------------------------------------------------- constants

DEFAULT_MAC: Final = "00:0A:35:12:34:56"
T1_ADMIN_PASSWORD: Final = "dragonadmin"  # dm-backend Config/config.inc.php
T1_GUEST_PASSWORD: Final = "dragonguest"
INNO_ADMIN_PASSWORD: Final = "admin"  # im-backend Config/config.inc.php
INNO_GUEST_PASSWORD: Final = "guest"
AUTOTUNE_MODES: Final = ("efficient", "balanced", "factory", "performance")
JWT_LIFETIME: Final = 21600  # jwtTokenExpire (ref §2.3)
JWT_KEY_ALPHABET: Final = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)
MAX_BODY_BYTES: Final = 100 * 1024 * 1024  # nginx client_max_body_size 100M
SERVER_HEADER: Final = "nginx/1.12.2"
POWERED_BY: Final = "PHP/7.2.4"
SHARE_DIFFICULTY: Final = 65536.0
CGMINER_INIT_SECONDS: Final = 20.0  # chain init before the first nonce
HISTORY_STEP_SECONDS: Final = 300  # spacing of the monitor's hashrate samples
JOURNAL_MAX: Final = 5000
# Innosilicon model table: multiplier to base units and the base unit
# (im-backend Config/miner.inc.php; ref §9).
INNO_MODELS: Final[dict[str, tuple[int, str]]] = {
    "Default": (1_000_000, "H/s"),
    "A4+": (1_000_000, "H/s"),
    "A6": (1_000_000, "H/s"),
    "A5": (1_000_000, "H/s"),
    "A5+": (1_000_000, "H/s"),
    "A8": (1000, "H/s"),
    "A8+": (1000, "H/s"),
    "T1": (1_000_000, "H/s"),
    "T2": (1_000_000, "H/s"),
    "B29+": (1, "Sol/s"),
    "D9": (1_000_000, "H/s"),
    "S11": (1_000_000, "H/s"),
    "Z1": (1_000_000, "H/s"),
}
_UNIT_PREFIXES: Final = ("", "K", "M", "G", "T", "P", "E")

# Route tables (dm-backend / im-backend index.php; ref §1.1, §9).
_GUEST_ROUTES_T1: Final = frozenset(
    {
        "summary",
        "pools",
        "type",
        "network",
        "overview",
        "ping",
        "stats",
        "getHashRates",
        "getDebugStats",
    }
)
_ADMIN_ROUTES_T1: Final = frozenset(
    {
        "updatePools",
        "updatePassword",
        "updateNetwork",
        "reboot",
        "poweroff",
        "restartCgMiner",
        "getLogs",
        "factoryReset",
        "getAutoTune",
        "setAutoTune",
        "getAutoTuneStatus",
        "getLatestFirmwareVersion",
        "type.py",
        "api.py",
        "system.py",
        "network.py",
        "version.py",
        "reboot.py",
    }
)
_GUEST_ROUTES_INNO: Final = _GUEST_ROUTES_T1 | {"unit", "getAutoTuneStatus"}
_ADMIN_ROUTES_INNO: Final = (_ADMIN_ROUTES_T1 - {"getAutoTuneStatus"}) | {
    "getFreqVol",
    "setFreqVol",
    "SetMonitor",
    "getErrorMessage",
}

# nginx pages. The 50x page is nginx's stock html/50x.html (error_page 500 502 503
# 504 /50x.html); the others are nginx 1.12's built-in special responses.
_NGINX_TITLES: Final = {
    301: "301 Moved Permanently",
    400: "400 Bad Request",
    401: "401 Authorization Required",
    404: "404 Not Found",
    405: "405 Not Allowed",
    413: "413 Request Entity Too Large",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}
NGINX_50X_PAGE: Final = (
    "<!DOCTYPE html>\n<html>\n<head>\n<title>Error</title>\n<style>\n"
    "    body {\n        width: 35em;\n        margin: 0 auto;\n"
    "        font-family: Tahoma, Verdana, Arial, sans-serif;\n    }\n"
    "</style>\n</head>\n<body>\n<h1>An error occurred.</h1>\n"
    "<p>Sorry, the page you are looking for is currently unavailable.<br/>\n"
    "Please try again later.</p>\n"
    "<p>If you are the system administrator of this resource then you should check\n"
    'the <a href="http://nginx.org/r/error_log">error log</a> for details.</p>\n'
    "<p><em>Faithfully yours, nginx.</em></p>\n</body>\n</html>\n"
)
_PREFIXES: Final = (
    ("/stream/logs", "logs"),
    ("/upgrade/download", "download"),
    ("/upgrade/upload", "upload"),
    ("/upgrade/ws", "ws"),
    ("/auth", "auth"),
)
_GUARDED: Final = frozenset({"logs", "download", "upload", "auth"})
_STATIC_RE: Final = re.compile(
    r"^.+.(jpg|jpeg|gif|css|png|js|ico|html|xml|txt)$", re.IGNORECASE
)
_BEARER_RE: Final = re.compile(r"Bearer\s(\S+)")
_USERNAME_STRIP_RE: Final = re.compile(r"[^a-zA-Z0-9_\-]+")
_VERSION_RE: Final = re.compile(r"([A-Za-z0-9]+_\d{8}_\d{6})")
_B64_STRIP_RE: Final = re.compile(r"[^A-Za-z0-9+/]")

CgminerState = Literal["running", "restarting", "down"]
PowerState = Literal["on", "rebooting", "off"]
AuthKind = Literal["basic", "bearer"]


# ------------------------------------------------------------------- data model


@dataclass
class Chain:
    """One hashboard as cgminer reports it (a ``DEVS`` row and a ``STATS`` entry).

    ``overrides`` replaces fields of the generated ``DEVS`` row (before the backend
    adds ``Hash Rate``), e.g. ``{"MHS 5s": 0.0}`` or ``{"Last Share Pool": -1}``.
    """

    mhs: float = 4_904_000.0  # nominal hashrate, MH/s
    status: Literal["Alive", "Dead"] = "Alive"
    temperature: int = 64
    hardware_errors: int = 0  # at cgminer start; grows slowly while hashing
    chips: int = 60
    voltage_mv: int = 412
    overrides: dict[str, Any] = field(default_factory=dict)


def _default_chains() -> list[Chain]:
    return [
        Chain(mhs=4_921_384.0, temperature=62, hardware_errors=3),
        Chain(mhs=4_887_905.0, temperature=66, hardware_errors=7),
        Chain(mhs=4_903_452.0, temperature=64, hardware_errors=2),
    ]


def _default_pools() -> list[tuple[str, str, str]]:
    return [
        ("stratum+tcp://us-east.stratum.slushpool.com:3333", "minerhub.t1a", "x"),
        ("stratum+tcp://btc.viabtc.com:3333", "minerhub.001", "x"),
        ("stratum+tcp://stratum.antpool.com:3333", "minerhub.001", "x"),
    ]


@dataclass
class Network:
    """What ``/api/network`` reports (the live address plus the saved DHCP flag)."""

    dhcp: Literal["dhcp", "static"] = "dhcp"
    ipaddress: str = "192.168.1.151"
    netmask: str = "255.255.255.0"
    gateway: str = "192.168.1.1"
    dns1: str = "192.168.1.1"
    dns2: str = "8.8.8.8"


@dataclass
class LatestFirmware:
    """What the vendor's update server answers to ``getLatestFirmwareVersion``."""

    version: str
    url: str
    info: str = "Stability fixes and improved autotune."


@dataclass
class FirmwareUpdate:
    """One firmware transfer received on ``/upgrade/download`` or ``/upgrade/upload``."""

    source: Literal["download", "upload"]
    url: str | None  # download: the ``url`` form field
    filename: str | None  # upload: the ``upfile`` file name
    size: int  # upload: bytes received
    version: str  # version the miner boots into on success
    requested_at: float  # emulator clock
    result: Literal["running", "success", "failure", "aborted"] = "running"


@dataclass
class DragonMintState:
    """Everything the miner remembers; tests may read and change any field."""

    innosilicon: bool = False
    users: dict[str, str] = field(default_factory=dict)  # name -> password
    # The Innosilicon backend accepts any Basic password for admin/guest while the
    # stored password is still the factory one (im-backend getLoggedUser).
    inno_default_password_bypass: bool = True
    pools: list[tuple[str, str, str]] | None = field(default_factory=_default_pools)
    dead_pools: set[int] = field(default_factory=set)  # indexes reported "Dead"
    autotune_mode: str = ""  # "" = the firmware default ("balanced" / "factory")
    autotune_level: str = "2"  # Innosilicon only
    autotune_noauto: bool = False  # "<type>noauto" in cgminer.conf: no tuning
    tuning: bool = False  # VidOptimal/pllOptimal false in cgminer stats
    cgminer: CgminerState = "running"
    chains: list[Chain] = field(default_factory=_default_chains)
    fan_duty: int = 80
    network: Network = field(default_factory=Network)
    miner_type: str = "T1"
    hwver: str = "g19"
    ethaddr: str = DEFAULT_MAC.lower()
    platform_v: str = "t1_20181024_114207"
    hostname: str = "DragonMint"
    latest_firmware: LatestFirmware | None = None  # None: update server unreachable
    firmware_downloads: list[str] = field(default_factory=list)  # URLs received
    firmware_uploads: list[tuple[str, int]] = field(default_factory=list)
    firmware_updates: list[FirmwareUpdate] = field(default_factory=list)
    jwt_key: str = ""  # regenerated at every boot
    clock_offset: float = 0.0  # miner clock minus emulator clock, seconds
    hashrate_history: bool = True  # the monitor's stats file exists
    freq_vol: tuple[str, str] | None = None  # Innosilicon getFreqVol (T1Pll1, T1VID1)
    error_message: tuple[str, str] | None = None  # Innosilicon /tmp/errcode
    boot_time: float = 0.0  # emulator clock; set by start()
    cgminer_started_at: float = 0.0
    logs_text: str | None = None  # getLogs body override; None = the journal

    def __post_init__(self) -> None:
        if not self.users:
            self.users = (
                {"admin": INNO_ADMIN_PASSWORD, "guest": INNO_GUEST_PASSWORD}
                if self.innosilicon
                else {"admin": T1_ADMIN_PASSWORD, "guest": T1_GUEST_PASSWORD}
            )
        if not self.autotune_mode:
            self.autotune_mode = "factory" if self.innosilicon else "balanced"
        if not self.jwt_key:
            self.jwt_key = new_jwt_key()

    @property
    def default_users(self) -> dict[str, str]:
        """Factory passwords of this firmware."""
        if self.innosilicon:
            return {"admin": INNO_ADMIN_PASSWORD, "guest": INNO_GUEST_PASSWORD}
        return {"admin": T1_ADMIN_PASSWORD, "guest": T1_GUEST_PASSWORD}


def default_state(
    innosilicon: bool = False,
    *,
    mac: str = DEFAULT_MAC,
    admin_password: str | None = None,
    guest_password: str | None = None,
) -> DragonMintState:
    """Factory-fresh state of a T1 (or an Innosilicon-firmware unit)."""
    state = DragonMintState(innosilicon=innosilicon, ethaddr=mac.lower())
    if innosilicon:
        state.hostname = "AsicMiner"
    if admin_password is not None:
        state.users["admin"] = admin_password
    if guest_password is not None:
        state.users["guest"] = guest_password
    return state


def new_jwt_key() -> str:
    """A 20-character key like ``rand_string(20)`` (``str_shuffle``, no repeats)."""
    return "".join(secrets.SystemRandom().sample(JWT_KEY_ALPHABET, 20))


def _apply_dead_chains(state: DragonMintState) -> None:
    for chain in state.chains:
        chain.status = "Dead"


def _apply_overheat(state: DragonMintState) -> None:
    temps = (111, 103, 98)
    for chain, temp in zip(state.chains, temps, strict=False):
        chain.temperature = temp
    state.fan_duty = 100


def _apply_two_chains(state: DragonMintState) -> None:
    del state.chains[2:]


def _apply_fan_full(state: DragonMintState) -> None:
    state.fan_duty = 100


def _apply_no_share(state: DragonMintState) -> None:
    state.dead_pools = set(range(len(state.pools or [])))


def _apply_stalled_5s(state: DragonMintState) -> None:
    for chain in state.chains:
        chain.overrides["MHS 5s"] = 0.0


def _apply_tuning(state: DragonMintState) -> None:
    state.tuning = True


# Abnormal states seen on real units (ref §5.4, §13), applied with apply_scenario().
SCENARIOS: Final[dict[str, Callable[[DragonMintState], None]]] = {
    "dead_chains": _apply_dead_chains,
    "overheat": _apply_overheat,
    "two_chains": _apply_two_chains,
    "fan_full": _apply_fan_full,
    "no_share": _apply_no_share,
    "stalled_5s": _apply_stalled_5s,
    "tuning": _apply_tuning,
}


def apply_scenario(state: DragonMintState, *names: str) -> None:
    """Apply named abnormal states from ``SCENARIOS`` to a state."""
    for name in names:
        SCENARIOS[name](state)


@dataclass
class DragonMintFaults:
    """Switchable faults and timings; all faults default off. Change them any time.

    Durations ending in ``_seconds`` are on the emulator clock (step them with
    ``advance()``); ``latency``, ``cgminer_latency`` and ``log_interval`` are real
    seconds. Assigning ``offline`` takes effect at once (the listening socket is
    closed, open connections are cut; clearing it listens again on the same port).
    """

    offline: bool = False
    stall: bool = False  # read and record each request, never answer
    http_500: bool = False  # PHP worker down: nginx HTML error page
    http_500_status: int = 502
    latency: float = 0.0  # real seconds before every answer
    cgminer_latency: float = 0.0  # extra real seconds on routes that ask cgminer
    drop_requests: int = 0  # cut the next N requests without an answer
    drop_probability: float = 0.0  # cut requests at random (seeded)
    cgminer_restart_seconds: float = 30.0  # also cgminer start after a boot
    reboot_seconds: float = 60.0  # unreachable while booting
    action_delay_seconds: float = 4.0  # "sleep 4" of reboot/poweroff/factoryReset
    network_restart_seconds: float = 2.0  # unreachable after updateNetwork
    upgrade_seconds: float = 20.0  # transfer + install of a firmware update
    upgrade_fails: bool = False  # the update ends in FAILURE (no reboot)
    ws_malformed_frame: bool = True  # one unparsable "info" frame per update
    log_interval: float = 0.2  # real seconds between streamed journal lines
    _observer: Callable[[str], None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        observer = self.__dict__.get("_observer")
        if observer is not None and name == "offline":
            observer(name)


class ReceivedRequest(NamedTuple):
    """One request as recorded in ``DragonMintEmulator.received``."""

    method: str
    path: str
    action: str | None  # PHP action for /api and /cgi-bin, else None
    form: dict[str, Any]  # $_POST as PHP built it (arrays as lists/dicts)
    json: Any  # the body if it parsed as JSON (and was not a form), else None
    auth: AuthKind | None
    user: str | None  # resolved caller: "admin", "guest", None (also if expired)


# ------------------------------------------------------------------ PHP helpers


def php_json(obj: object, *, escape_slashes: bool = True) -> str:
    """``json_encode``: compact, ASCII-only, ``/`` escaped unless told not to."""
    text = json.dumps(obj, separators=(",", ":"))
    return text.replace("/", "\\/") if escape_slashes else text


def _php_date(when: dt.datetime) -> str:
    r"""PHP ``date_format($d, 'jS \of F Y h:i A')``, e.g. "9th of April 2018 01:07 AM"."""
    day = when.day
    suffix = (
        "th"
        if 11 <= day % 100 <= 13
        else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    )
    return f"{day}{suffix} of {when.strftime('%B %Y %I:%M %p')}"


def version_datetime(version: str) -> dt.datetime | None:
    """Build date encoded in a ``<type>_YYYYMMDD_HHMMSS`` version (UTC)."""
    parts = version.split("_")
    if len(parts) < 3:
        return None
    date_part, time_part = (parts[2], parts[3]) if len(parts) == 4 else parts[1:3]
    try:
        return dt.datetime.strptime(
            f"{date_part} {time_part}", "%Y%m%d %H%M%S"
        ).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def _php_register(target: dict[str, Any], name: str, value: str) -> None:
    """Store one form field the way PHP builds ``$_POST`` (``a[]``, ``a[k]``)."""
    name = name.lstrip(" ")
    bracket = name.find("[")
    base, rest = (name, "") if bracket < 0 else (name[:bracket], name[bracket:])
    keys: list[str] = []
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            if not keys:  # PHP turns an unmatched "[" into "_"
                base = f"{base}_{rest[1:]}"
            break
        keys.append(rest[1:close])
        rest = rest[close + 1 :]
    base = base.replace(".", "_").replace(" ", "_")
    if not base:
        return
    node, key = target, base
    for sub in keys:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
        if sub:
            key = sub
        else:  # "name[]": the next integer index
            ints = [int(k) for k in node if re.fullmatch(r"-?\d+", k)]
            key = str(max(ints) + 1 if ints else 0)
    node[key] = value


def php_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """PHP's array for a sequence of form fields."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        _php_register(result, name, value)
    return result


def _php_plain(value: Any) -> Any:
    """PHP arrays for recording: sequential keys become lists."""
    if isinstance(value, dict):
        if value and list(value) == [str(i) for i in range(len(value))]:
            return [_php_plain(item) for item in value.values()]
        return {key: _php_plain(item) for key, item in value.items()}
    return value


def _php_str(value: Any) -> str | None:
    """A scalar form value; None for missing fields and arrays."""
    return value if isinstance(value, str) else None


def _php_index(value: Any, index: int) -> str | None:
    """``$value[index]``: an array element or a character of a string."""
    if isinstance(value, dict):
        return _php_str(value.get(str(index)))
    if isinstance(value, str) and index < len(value):
        return value[index]
    return None


def _php_num(value: Any) -> float:
    """PHP 7 number of a JSON value in a comparison (non-numeric strings are 0)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value.strip())
    return 0.0


def _valid_ip(text: str | None) -> bool:
    """``long2ip(ip2long($ip)) == $ip``: a canonical dotted quad."""
    if not text:
        return False
    try:
        return str(ipaddress.IPv4Address(text)) == text
    except ValueError:
        return False


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _b64url_decode(text: str) -> bytes:
    """php-jwt ``urlsafeB64Decode``: pad, translate, lenient ``base64_decode``."""
    text = text.replace("-", "+").replace("_", "/")
    text = _B64_STRIP_RE.sub("", text)
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text)
    except ValueError:
        return b""


def encode_jwt(claims: dict[str, Any], key: str) -> str:
    """firebase/php-jwt ``JWT::encode`` with HS256."""
    header = _b64url(php_json({"typ": "JWT", "alg": "HS256"}).encode())
    payload = _b64url(php_json(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(key.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def decode_jwt(token: str, key: str, now: int) -> dict[str, Any] | None:
    """firebase/php-jwt ``JWT::decode`` (HS256 only, zero leeway); None on failure.

    A payload that is valid but not a JSON object decodes to ``{}`` (no caller).
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    head_b64, body_b64, sig_b64 = parts
    try:
        header = json.loads(_b64url_decode(head_b64))
        payload = json.loads(_b64url_decode(body_b64))
    except ValueError:
        return None
    expected = hmac.new(
        key.encode(), f"{head_b64}.{body_b64}".encode(), hashlib.sha256
    ).digest()
    valid = (
        isinstance(header, dict)
        and payload is not None
        and header.get("alg") == "HS256"
        and hmac.compare_digest(expected, _b64url_decode(sig_b64))
    )
    if not valid:
        return None
    if not isinstance(payload, dict):
        return {}
    too_early = any(
        payload.get(claim) is not None and _php_num(payload[claim]) > now
        for claim in ("nbf", "iat")
    )
    expired = payload.get("exp") is not None and now >= _php_num(payload["exp"])
    return None if too_early or expired else payload


def _parse_basic(value: str) -> tuple[str, bytes] | None:
    """PHP's PHP_AUTH_USER / PHP_AUTH_PW from a ``Basic`` header (lenient base64)."""
    if value[:6].lower() != "basic ":
        return None
    raw = _b64url_decode(value[6:].strip().replace("+", "-").replace("/", "_"))
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    return user.decode("latin-1"), password


def _nginx_page(status: int) -> str:
    title = _NGINX_TITLES.get(status, f"{status} Error")
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n"
        f'<body bgcolor="white">\r\n<center><h1>{title}</h1></center>\r\n'
        f"<hr><center>{SERVER_HEADER}</center>\r\n</body>\r\n</html>\r\n"
    )


def _normalize_path(path: str) -> str | None:
    """URI normalisation as nginx does it: merge slashes, resolve dot segments.

    None means a path that climbs above the root (nginx answers 400).
    """
    out: list[str] = []
    segments = re.sub(r"/{2,}", "/", path).split("/")
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
            continue
        if segment == "..":
            if not out:
                return None
            out.pop()
            if last:
                out.append("")
            continue
        out.append(segment)
    return "/" + "/".join(out)


def _uptime_text(clock: float, up: float, load: tuple[float, float, float]) -> str:
    """A busybox ``uptime`` line, e.g. "15:38:31 up 10 min, load average: ..."."""
    when = dt.datetime.fromtimestamp(clock, dt.UTC)
    minutes = int(max(up, 0) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    text = f"{when:%H:%M:%S} up "
    if days:
        text += f"{days} day{'s' if days != 1 else ''}, "
    text += f"{hours}:{minutes:02d}, " if hours else f"{minutes} min, "
    return text + "load average: {:.2f}, {:.2f}, {:.2f}".format(*load)


def _ws_frame(fields: list[tuple[str, str]]) -> str:
    """An SWUpdate progress frame (CRLF and tab layout of mongoose_interface.c)."""
    body = ",\r\n".join(f'\t"{key}": "{value}"' for key, value in fields)
    return "{\r\n" + body + "\r\n}\r\n"


def _ws_json_text(fields: list[tuple[str, str]]) -> str:
    return _ws_frame(
        [(k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in fields]
    )


# ------------------------------------------------------------- internal types


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    name: str = field(compare=False)
    fire: Callable[[float], None] = field(compare=False)


@dataclass(frozen=True, slots=True)
class _JournalEntry:
    when: float  # miner clock
    ident: str
    pid: int | None
    message: str
    priority: int = 6
    seq: int = 0


@dataclass
class _Call:
    """One PHP request: the parsed form and the resolved caller."""

    request: web.BaseRequest
    action: str
    form: dict[str, Any]
    caller: str | None
    after: Callable[[], None] | None = None


@dataclass
class _UpgradeJob:
    update: FirmwareUpdate
    frames: list[tuple[float, str]]  # (due, frame text) not yet sent


_Handler = Callable[[_Call], Coroutine[Any, Any, web.StreamResponse]]


class _Dropped(Exception):
    """The request was cut on purpose (fault); nothing is answered."""


class _TooLarge(Exception):
    """The request body is larger than nginx's client_max_body_size."""


# ----------------------------------------------------------------- the emulator


class DragonMintEmulator:
    """A DragonMint T1 (or Innosilicon) web interface on ``http://host:port``.

    Public surface: ``state`` (DragonMintState), ``faults`` (DragonMintFaults),
    ``received`` (ReceivedRequest list), ``url``/``host``/``port``, ``advance()``,
    ``time()``/``miner_time()``, ``issue_jwt()``, ``log_lines()``, ``actions()``,
    ``power_state`` and the test hooks ``reboot()``, ``power_off()`` and
    ``reset_power()``. ``now`` may be replaced (a callable returning epoch seconds).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        innosilicon: bool = False,
        mac: str = DEFAULT_MAC,
        *,
        admin_password: str | None = None,
        guest_password: str | None = None,
        seed: int = 0,
        noise: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.state = default_state(
            innosilicon,
            mac=mac,
            admin_password=admin_password,
            guest_password=guest_password,
        )
        self._faults = DragonMintFaults()
        self._faults._observer = self._on_fault_change
        self.received: list[ReceivedRequest] = []
        self.tokens_issued = 0
        self.now: Callable[[], float] = lambda: time.time()  # noqa: PLW0108 (freezegun)
        self.noise = noise
        self.rng = random.Random(seed)
        self._clock_offset = 0.0
        self._power: PowerState = "on"
        self._net_down = False
        self._events: list[_Event] = []
        self._seq = itertools.count()
        self._cgminer_gen = 0
        self._cgminer_pools: list[tuple[str, str, str]] = list(self.state.pools or [])
        self._upgrade: _UpgradeJob | None = None
        self._pending_version: str | None = None  # installed, active after boot
        self._ws_queues: set[asyncio.Queue[str | None]] = set()
        self._ws_transports: set[asyncio.BaseTransport] = set()
        self._journal: deque[_JournalEntry] = deque(maxlen=JOURNAL_MAX)
        self._journal_seq = itertools.count(1)
        self._pids = {"cgminer": 412, "dm-monitor": 398, "swupdate": 371}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener = SwitchableListener(host, port, self._accepted)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: web.Server | None = None
        self._stop_event: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._started = self._stopping = False
        self._routes: dict[str, _Handler] = {
            "auth": self._auth,
            "summary": self._summary,
            "pools": self._pools,
            "type": self._type,
            "network": self._network,
            "overview": self._overview,
            "ping": self._ping,
            "stats": self._stats,
            "getHashRates": self._get_hash_rates,
            "getDebugStats": self._get_debug_stats,
            "unit": self._unit,
            "updatePools": self._update_pools,
            "updatePassword": self._update_password,
            "updateNetwork": self._update_network,
            "reboot": self._reboot_action,
            "reboot.py": self._reboot_action,
            "poweroff": self._poweroff_action,
            "restartCgMiner": self._restart_cgminer_action,
            "getLogs": self._get_logs,
            "factoryReset": self._factory_reset_action,
            "getAutoTune": self._get_autotune,
            "setAutoTune": self._set_autotune,
            "getAutoTuneStatus": self._get_autotune_status,
            "getLatestFirmwareVersion": self._get_latest_firmware,
            "type.py": self._php_fatal,
            "version.py": self._php_fatal,
            "api.py": self._api_py,
            "system.py": self._system_py,
            "network.py": self._network_py,
            "getFreqVol": self._get_freq_vol,
            "setFreqVol": self._set_freq_vol,
            "SetMonitor": self._set_monitor,
            "getErrorMessage": self._get_error_message,
        }

    # ------------------------------------------------------------ public API

    @property
    def faults(self) -> DragonMintFaults:
        return self._faults

    @faults.setter
    def faults(self, faults: DragonMintFaults) -> None:
        self._faults._observer = None
        self._faults = faults
        faults._observer = self._on_fault_change
        self._on_fault_change("offline")

    @property
    def innosilicon(self) -> bool:
        """Innosilicon firmware (im-backend) rather than DragonMint T1 (dm-backend)."""
        return self.state.innosilicon

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def power_state(self) -> PowerState:
        """``on``, ``rebooting`` (unreachable, boots by itself) or ``off``."""
        self._tick()
        return self._power

    @property
    def title(self) -> str:
        return "AsicMiner" if self.innosilicon else "DragonMint"

    @property
    def admin_password(self) -> str:
        return self.state.users.get("admin", "")

    def actions(self) -> list[str | None]:
        """PHP actions of the recorded requests, in arrival order."""
        return [received.action for received in self.received]

    def log_lines(self) -> list[str]:
        """The journal as ``/stream/logs`` sends it (short text format)."""
        return [self._journal_line(entry, "text") for entry in self._journal]

    def time(self) -> float:
        """The emulator clock (``now()`` plus everything passed to ``advance()``)."""
        return self.now() + self._clock_offset

    def miner_time(self) -> int:
        """The miner's own clock (PHP ``time()``): emulator clock + clock_offset."""
        return int(self.time() + self.state.clock_offset)

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward without sleeping."""
        self._clock_offset += seconds
        self._tick()

    def issue_jwt(
        self,
        user: str = "admin",
        *,
        iat: int | None = None,
        exp: int | None = None,
        key: str | None = None,
    ) -> str:
        """A token as ``/api/auth`` would sign it now (override claims or key)."""
        issued = self.miner_time() if iat is None else iat
        claims = {
            "iss": self.title,
            "iat": issued,
            "exp": issued + JWT_LIFETIME if exp is None else exp,
            "user": user,
        }
        return encode_jwt(claims, self.state.jwt_key if key is None else key)

    def reboot(self) -> None:
        """Test hook: reboot now (no 4 s delay); back after ``reboot_seconds``."""
        self._tick()
        if self._power == "on":
            self._go_down(self.time(), boot=True)
            self._tick()

    def power_off(self) -> None:
        """Test hook: power off now; unreachable until ``reset_power()``."""
        self._tick()
        if self._power != "off":
            self._go_down(self.time(), boot=False)
            self._tick()

    def reset_power(self) -> None:
        """Test hook: power cycle; the miner boots and answers after reboot_seconds."""
        self._tick()
        if self._power == "on":
            self._go_down(self.time(), boot=True)
        elif self._power == "off":
            self._power = "rebooting"
            self._schedule(
                self.time() + self._faults.reboot_seconds, "boot", self._boot
            )
        self._tick()

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self._server = web.Server(
            self._handle,
            handler_cancellation=True,
            keepalive_timeout=120,  # nginx keepalive_timeout
            access_log=None,
        )
        now = self.time()
        if not self.state.boot_time:
            self.state.boot_time = now - 5400.0  # a miner that has been running
            self.state.cgminer_started_at = now - 5350.0
            self._seed_journal()
        self._cgminer_pools = list(self.state.pools or [])  # read at cgminer start
        self._listener.open(self._loop)  # fixes the port even when starting offline
        self.port = self._listener.port
        self._started = True
        self._sync_listener()
        if self._events:
            self._ensure_watcher()
        _LOGGER.info(
            "DragonMint emulator (%s) on %s",
            "Innosilicon" if self.innosilicon else "T1",
            self.url,
        )

    async def stop(self) -> None:
        """Close the listener and every connection; wait for every task."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._listener.close()
        assert self._stop_event is not None
        self._stop_event.set()
        self._abort_connections(include_ws=True)
        for _ in range(3):
            await asyncio.sleep(0)
        if self._server is not None:
            await self._server.shutdown(0.1)
        await cancel_all(self._tasks)
        self._watcher = None
        await asyncio.sleep(0)
        self._server = None
        self._started = self._stopping = False

    async def __aenter__(self) -> DragonMintEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------ scheduler

    def _schedule(self, due: float, name: str, fire: Callable[[float], None]) -> None:
        heapq.heappush(self._events, _Event(due, next(self._seq), name, fire))
        if self._started:
            self._ensure_watcher()

    def _tick(self) -> None:
        """Fire due events in time order (each at its own due time)."""
        now = self.time()
        while self._events and self._events[0].due <= now:
            event = heapq.heappop(self._events)
            event.fire(event.due)
        self._sync_listener()

    def _ensure_watcher(self) -> None:
        if self._stopping or not self._started:
            return
        if self._watcher is None or self._watcher.done():
            self._watcher = self._spawn(self._watch())

    async def _watch(self) -> None:
        while self._events or (self._wants_listener() and not self._listener.listening):
            delay = 0.05
            if self._events:
                delay = min(delay, max(self._events[0].due - self.time(), 0.0) + 0.001)
            await asyncio.sleep(delay)
            self._tick()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------- listener

    def _on_fault_change(self, _name: str) -> None:
        if self._faults.offline:
            self._abort_connections()
        self._sync_listener()

    def _wants_listener(self) -> bool:
        return not self._faults.offline and self._power == "on" and not self._net_down

    def _sync_listener(self) -> None:
        if not self._started or self._stopping:
            return
        assert self._loop is not None
        if not self._listener.switch(self._loop, self._wants_listener()):
            self._ensure_watcher()
        self.port = self._listener.port

    def _accepted(self, conn: socket.socket, _peer: str) -> None:
        if self._stopping or not self._wants_listener():
            reset_socket(conn)
            return
        self._spawn(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        assert self._loop is not None
        assert self._server is not None
        try:
            await self._loop.connect_accepted_socket(self._server, sock=conn)
        except OSError:
            conn.close()

    def _abort_connections(
        self, *, graceful: bool = False, include_ws: bool = False
    ) -> None:
        """Cut every open connection: RST (power loss, offline) or FIN (graceful).

        WebSocket connections are told to finish instead, so the frames already
        queued (SWUpdate's last SUCCESS/DONE before its reboot) still go out first.
        """
        for queue in self._ws_queues:
            queue.put_nowait(None)
        if self._server is None:
            return
        for handler in self._server.connections:
            transport = handler.transport
            if transport is None or (
                transport in self._ws_transports and not include_ws
            ):
                continue
            if graceful:
                transport.close()
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
            transport.abort()

    # ------------------------------------------------------ power and boot

    def _go_down(self, at: float, *, boot: bool) -> None:
        """Everything in RAM is lost: pending work, cgminer, connections."""
        self._journal_add(
            at,
            "systemd",
            1,
            "Reached target Shutdown." if not boot else "Reached target Reboot.",
        )
        self._events.clear()
        self._power = "rebooting" if boot else "off"
        self._net_down = False
        self.state.cgminer = "down"
        self._cgminer_gen += 1
        if self._upgrade is not None:
            if self._upgrade.update.result == "running":
                self._upgrade.update.result = "aborted"
            self._upgrade = None
        self._abort_connections()
        self._listener.close()
        if boot:
            self._schedule(at + self._faults.reboot_seconds, "boot", self._boot)

    def _boot(self, at: float) -> None:
        state = self.state
        self._power = "on"
        state.boot_time = at
        state.jwt_key = new_jwt_key()  # /tmp/jwtK is gone
        if self._pending_version is not None:
            state.platform_v, self._pending_version = self._pending_version, None
        self._journal_add(at, "kernel", None, "Booting Linux on physical CPU 0x0")
        self._journal_add(at + 1, "systemd", 1, "Started nginx web server.")
        self._restart_cgminer(at, reason="boot")

    def _restart_cgminer(self, at: float, *, reason: str) -> None:
        self._cgminer_gen += 1
        generation = self._cgminer_gen
        self.state.cgminer = "restarting"
        if reason == "boot":
            self._journal_add(at, "systemd", 1, "Starting CGMiner...")
        else:
            self._journal_add(at, "systemd", 1, f"Stopping CGMiner ({reason})...")
        delay = max(0.0, self._faults.cgminer_restart_seconds)

        def up(when: float) -> None:
            if generation == self._cgminer_gen and self.state.cgminer == "restarting":
                self.state.cgminer = "running"
                self.state.cgminer_started_at = when
                self._cgminer_pools = list(self.state.pools or [])
                self._journal_add(when, "systemd", 1, "Started CGMiner.")
                self._journal_add(
                    when, "cgminer", self._pids["cgminer"], "Started cgminer 4.10.0"
                )

        self._schedule(at + delay, "cgminer", up)

    def _begin_network_restart(self) -> None:
        at = self.time()
        self._journal_add(at, "systemd-networkd", 287, "eth0: Lost carrier")
        seconds = self._faults.network_restart_seconds
        if seconds <= 0:
            return
        self._net_down = True
        self._abort_connections(graceful=True)  # the reply just sent must arrive
        self._listener.close()

        def up(when: float) -> None:
            self._net_down = False
            self._journal_add(when, "systemd-networkd", 287, "eth0: Gained carrier")

        self._schedule(at + seconds, "network", up)

    def _factory_reset(self) -> None:
        fresh = default_state(self.innosilicon, mac=self.state.ethaddr)
        state = self.state
        state.users = fresh.users
        state.pools = None  # /config/* deleted: no cgminer.conf
        state.autotune_mode = fresh.autotune_mode
        state.autotune_level = fresh.autotune_level
        state.autotune_noauto = False
        state.network = Network(
            dhcp="dhcp",
            ipaddress=state.network.ipaddress,
            netmask=state.network.netmask,
            gateway=state.network.gateway,
            dns1=state.network.dns1,
            dns2=state.network.dns2,
        )
        state.freq_vol = None

    # --------------------------------------------------------------- journal

    def _journal_add(
        self, at: float, ident: str, pid: int | None, message: str, priority: int = 6
    ) -> None:
        self._journal.append(
            _JournalEntry(
                at + self.state.clock_offset,
                ident,
                pid,
                message,
                priority,
                next(self._journal_seq),
            )
        )

    def _seed_journal(self) -> None:
        boot = self.state.boot_time
        self._journal_add(boot, "kernel", None, "Booting Linux on physical CPU 0x0")
        self._journal_add(boot + 2, "systemd", 1, "Started Network Service.")
        self._journal_add(boot + 3, "systemd", 1, "Started nginx web server.")
        self._journal_add(
            boot + 3,
            "swupdate",
            self._pids["swupdate"],
            "Mongoose web server started on port 8080",
        )
        self._journal_add(boot + 50, "systemd", 1, "Started CGMiner.")
        self._journal_add(
            boot + 50, "cgminer", self._pids["cgminer"], "Started cgminer 4.10.0"
        )
        for index in range(20):
            self._journal_add(
                self.time() - 600 + index * 30, *self._synthetic_line(index)
            )

    def _synthetic_line(self, counter: int) -> tuple[str, int | None, str]:
        state = self.state
        if state.cgminer == "running" and state.chains:
            chain = counter % len(state.chains)
            if counter % 3:
                nonce = self.rng.getrandbits(32)
                return (
                    "cgminer",
                    self._pids["cgminer"],
                    f"Accepted {nonce:08x} Diff {self.rng.randint(65536, 900000)}/65536 "
                    f"DT1 {chain} pool 0",
                )
            temp = state.chains[chain].temperature
            return (
                "dm-monitor",
                self._pids["dm-monitor"],
                f"chain {chain}: temp {temp}C fan duty {state.fan_duty}%",
            )
        return ("dm-monitor", self._pids["dm-monitor"], "cgminer API not answering")

    def _journal_line(self, entry: _JournalEntry, fmt: str) -> str:
        when = dt.datetime.fromtimestamp(entry.when, dt.UTC)
        if fmt == "text":
            ident = entry.ident if entry.pid is None else f"{entry.ident}[{entry.pid}]"
            return f"{when:%b %d %H:%M:%S} {self.state.hostname} {ident}: {entry.message}\n"
        usec = int(entry.when * 1_000_000)
        record: dict[str, str] = {
            "__CURSOR": f"s=0;i={entry.seq:x};t={usec:x}",
            "__REALTIME_TIMESTAMP": str(usec),
            "PRIORITY": str(entry.priority),
            "_HOSTNAME": self.state.hostname,
            "SYSLOG_IDENTIFIER": entry.ident,
            "MESSAGE": entry.message,
        }
        if entry.pid is not None:
            record["_PID"] = str(entry.pid)
        line = json.dumps(record)
        return f"data: {line}\n\n" if fmt == "sse" else line + "\n"

    # ---------------------------------------------------------- HTTP entry

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self._tick()
        try:
            return await self._serve(request)
        except _Dropped:
            await self._hold()
            raise  # unreachable: _hold() only ends by cancellation
        except ConnectionError, asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Emulator error on %s %s", request.method, request.path)
            return self._html(500, NGINX_50X_PAGE)

    async def _serve(self, request: web.BaseRequest) -> web.StreamResponse:
        path = _normalize_path(request.path)
        if path is None:
            return self._html(400, _nginx_page(400))
        kind, action = self._classify(path, request)
        form: dict[str, Any] = {}
        files: list[tuple[str, bytes]] = []
        body_json: Any = None
        too_large = False
        if kind != "ws":
            try:
                form, files, body_json = await self._read_body(request)
            except _TooLarge:
                too_large = True
        auth_kind, caller = self._resolve_caller(request)
        self.received.append(
            ReceivedRequest(
                request.method,
                path,
                action,
                _php_plain(form),
                body_json,
                auth_kind,
                _known(caller),
            )
        )
        if too_large:
            return self._html(413, _nginx_page(413))
        await self._apply_faults(request)
        if kind == "php":
            return await self._serve_php(request, action, form, caller)
        if kind in _GUARDED:
            return await self._serve_guarded(request, kind, form, files, caller)
        if kind == "ws":
            return await self._upgrade_ws(request)
        return self._serve_static(request, kind, path)

    async def _serve_php(
        self,
        request: web.BaseRequest,
        action: str | None,
        form: dict[str, Any],
        caller: str | None,
    ) -> web.StreamResponse:
        if self._faults.http_500:
            return self._html(self._faults.http_500_status, NGINX_50X_PAGE)
        call = _Call(request, action or "", form, caller)
        response = await self._php(call, action)
        if call.after is not None:  # reply first, then act (reboot, network)
            await response.prepare(request)
            await response.write_eof()
            call.after()
        return response

    async def _serve_guarded(
        self,
        request: web.BaseRequest,
        kind: str,
        form: dict[str, Any],
        files: list[tuple[str, bytes]],
        caller: str | None,
    ) -> web.StreamResponse:
        """Locations behind ``auth_request /auth`` (nginxAuth.php: admin only)."""
        if self._faults.http_500:  # the auth subrequest cannot reach PHP
            return self._html(500, _nginx_page(500))
        if kind == "auth":  # nginxAuth.php itself
            html = self._php_headers("text/html; charset=UTF-8")
            if caller == "admin":
                return web.Response(body=b"success", headers=html)
            return web.Response(status=401, headers=html)
        if caller != "admin":
            return self._html(401, _nginx_page(401))
        if kind == "logs":
            return await self._stream_logs(request)
        reply, update = (
            self._upgrade_download(form)
            if kind == "download"
            else self._upgrade_upload(files)
        )
        if update is not None:
            await reply.prepare(request)
            await reply.write_eof()
            self._start_upgrade(update)
        return reply

    def _serve_static(
        self, request: web.BaseRequest, kind: str, path: str
    ) -> web.StreamResponse:
        if kind == "php404":  # php-fpm: "Primary script unknown"
            return web.Response(
                status=404,
                body=b"File not found.\n",
                headers=self._php_headers("text/html; charset=UTF-8"),
            )
        if kind == "redirect":
            headers = {"Location": f"{self.url}{path}/"}
            return self._html(301, _nginx_page(301), headers)
        if kind == "notfound":
            return self._html(404, _nginx_page(404))
        if request.method not in {"GET", "HEAD"}:  # try_files $uri /index.html
            return self._html(405, _nginx_page(405))
        return self._html(200, self._index_html())

    def _classify(self, path: str, request: web.BaseRequest) -> tuple[str, str | None]:
        """The nginx location of a path (regex locations beat plain prefixes)."""
        if _STATIC_RE.match(path):
            kind = "static" if path == "/index.html" else "notfound"
        elif path.endswith("nginxAuth.php"):
            kind = "auth"
        elif path == "/api/index.php":
            return "php", self._php_action(None, request.query_string)
        elif path.endswith(".php"):
            kind = "php404"
        elif path.startswith(("/api/", "/cgi-bin/")):
            captured = path.split("/", 2)[2]
            return "php", self._php_action(captured, request.query_string)
        elif path == "/api":
            kind = "redirect"
        elif path.startswith(("/api", "/cgi-bin")):
            kind = "notfound"
        else:
            kind = next(
                (name for prefix, name in _PREFIXES if path.startswith(prefix)),
                "static",
            )
        return kind, None

    @staticmethod
    def _php_action(captured: str | None, query: str) -> str | None:
        """``$_GET["action"]`` after nginx's rewrite (original args appended)."""
        pairs = [] if captured is None else [("action", captured)]
        pairs += parse_qsl(query, keep_blank_values=True)
        return _php_str(php_form(pairs).get("action"))

    async def _read_body(
        self, request: web.BaseRequest
    ) -> tuple[dict[str, Any], list[tuple[str, bytes]], Any]:
        """``$_POST``, uploaded files and a JSON body (for the record)."""
        content_type = request.headers.get("Content-Type", "")
        mime = content_type.split(";", 1)[0].strip().lower()
        if mime == "multipart/form-data" and request.method == "POST":
            return await self._read_multipart(request)
        raw = bytearray()
        while chunk := await request.content.read(65536):
            raw += chunk
            if len(raw) > MAX_BODY_BYTES:
                raise _TooLarge
        if mime == "application/x-www-form-urlencoded":
            if request.method != "POST":
                return {}, [], None
            text = raw.decode("utf-8", "replace")
            return php_form(parse_qsl(text, keep_blank_values=True)), [], None
        body_json: Any = None
        if raw.strip():
            with contextlib.suppress(ValueError):
                body_json = json.loads(raw)
        return {}, [], body_json

    async def _read_multipart(
        self, request: web.BaseRequest
    ) -> tuple[dict[str, Any], list[tuple[str, bytes]], Any]:
        pairs: list[tuple[str, str]] = []
        files: list[tuple[str, bytes]] = []
        budget = [MAX_BODY_BYTES]
        try:
            reader = await request.multipart()
            async for part in reader:
                if isinstance(part, BodyPartReader):
                    data = await _read_part(part, budget)
                    if part.filename is not None:
                        files.append((part.filename, data))
                    else:
                        pairs.append((part.name or "", data.decode("utf-8", "replace")))
        except _TooLarge:
            raise
        except Exception:  # a malformed body leaves $_POST as far as it got
            _LOGGER.debug("Malformed multipart body", exc_info=True)
        return php_form(pairs), files, None

    def _resolve_caller(
        self, request: web.BaseRequest
    ) -> tuple[AuthKind | None, str | None]:
        """``getLoggedUser()``: ``(kind, "admin"|"guest"|other|None|"expired")``."""
        values = request.headers.getall("Authorization", [])
        joined = ", ".join(value.strip() for value in values)
        if match := _BEARER_RE.search(joined):
            claims = decode_jwt(match.group(1), self.state.jwt_key, self.miner_time())
            if claims is None:
                return "bearer", "expired"
            user = claims.get("user")
            return "bearer", user if isinstance(user, str) else None
        for value in values:
            basic = _parse_basic(value.strip())
            if basic is not None:
                return "basic", self._check_basic(*basic)
        return None, None

    def _check_basic(self, raw_user: str, password: bytes) -> str | None:
        username = _USERNAME_STRIP_RE.sub("", raw_user)
        stored = self.state.users.get(username)
        if stored is None:
            return None
        if hmac.compare_digest(stored.encode(), password):
            return username
        if (
            self.innosilicon
            and self.state.inno_default_password_bypass
            and self.state.default_users.get(username) == stored
        ):
            return username
        return None

    async def _apply_faults(self, request: web.BaseRequest) -> None:
        faults = self._faults
        if faults.stall:
            await self._hold()
        drop = faults.drop_requests > 0
        if drop:
            faults.drop_requests -= 1
        elif faults.drop_probability > 0:
            drop = self.rng.random() < faults.drop_probability
        if drop:
            if request.transport is not None:
                request.transport.abort()
            raise _Dropped
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
            self._tick()

    @staticmethod
    async def _hold() -> None:
        """Never answer; ends only when the connection is cut (or by stop())."""
        await asyncio.Event().wait()

    # ------------------------------------------------------------ responses

    def _php_headers(self, content_type: str = "application/json") -> CIMultiDict[str]:
        return CIMultiDict(
            {
                "Server": SERVER_HEADER,
                "X-Powered-By": POWERED_BY,
                "Content-Type": content_type,
            }
        )

    def _json(self, obj: object, *, escape_slashes: bool = True) -> web.Response:
        body = php_json(obj, escape_slashes=escape_slashes).encode()
        return web.Response(body=body, headers=self._php_headers())

    def _html(
        self, status: int, page: str, extra: dict[str, str] | None = None
    ) -> web.Response:
        headers = CIMultiDict({"Server": SERVER_HEADER, "Content-Type": "text/html"})
        headers.update(extra or {})
        return web.Response(status=status, body=page.encode(), headers=headers)

    def _index_html(self) -> str:
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{self.title}</title>\n"
            '<link href="/static/css/main.css" rel="stylesheet">\n</head>\n<body>\n'
            "<noscript>You need to enable JavaScript to run this app.</noscript>\n"
            '<div id="root"></div>\n<script src="/static/js/main.js"></script>\n'
            "</body>\n</html>\n"
        )

    # ------------------------------------------------------------------ PHP

    def _routes_for(self, caller: str | None) -> frozenset[str]:
        guest, admin = (
            (_GUEST_ROUTES_INNO, _ADMIN_ROUTES_INNO)
            if self.innosilicon
            else (_GUEST_ROUTES_T1, _ADMIN_ROUTES_T1)
        )
        routes: frozenset[str] = frozenset({"auth"})
        if caller in {"guest", "admin"}:
            routes |= guest
        if caller == "admin":
            routes |= admin
        return routes

    async def _php(self, call: _Call, action: str | None) -> web.StreamResponse:
        if call.caller == "expired":
            return self._json({"success": False, "token": "expired"})
        if action is None or action not in self._routes_for(call.caller):
            return self._invalid()
        return await self._routes[action](call)

    def _invalid(self) -> web.Response:
        return self._json({"success": False, "message": "invalid request"})

    def _ok(self) -> web.Response:
        return self._json({"success": True})

    async def _ask_cgminer(self) -> bool:
        """Whether cgminer answers its API now (after ``cgminer_latency``)."""
        if self._faults.cgminer_latency > 0:
            await asyncio.sleep(self._faults.cgminer_latency)
            self._tick()
        return self.state.cgminer == "running"

    # ---- auth and users

    async def _auth(self, call: _Call) -> web.StreamResponse:
        raw_user = call.form.get("username")
        raw_password = call.form.get("password")
        if not raw_user or not raw_password:
            return self._json(
                {"success": False, "message": "missing username/password fields"}
            )
        user = _php_str(raw_user)
        if user is not None and not self.innosilicon:
            user = _USERNAME_STRIP_RE.sub("", user)
        stored = self.state.users.get(user) if user is not None else None
        if stored is None:
            return self._json({"success": False, "message": "user not found"})
        password = _php_str(raw_password)
        if password is None or not hmac.compare_digest(
            stored.encode(), password.encode()
        ):
            return self._json({"success": False, "message": "invalid password"})
        assert user is not None
        self.tokens_issued += 1
        return self._json({"success": True, "jwt": self.issue_jwt(user)})

    async def _update_password(self, call: _Call) -> web.StreamResponse:
        current = _php_str(call.form.get("currentPassword"))
        admin = self.state.users.get("admin")
        if (
            not current
            or admin is None
            or not hmac.compare_digest(admin.encode(), current.encode())
        ):
            return self._json({"success": False, "message": "wrong current password"})
        user = _php_str(call.form.get("user"))
        allowed = {"admin"} if self.innosilicon else {"admin", "guest"}
        if user not in allowed:
            return self._json({"success": False, "message": "invalid user"})
        new = call.form.get("newPassword")
        if new is None or new == "":
            return self._json({"success": False, "message": "invalid new password"})
        new_text = new if isinstance(new, str) else "Array"  # PHP array-to-string
        assert user is not None
        if user not in self.state.users:
            return self._json({"success": False, "message": "cant update the password"})
        self.state.users[user] = new_text
        return self._ok()

    # ---- cgminer-backed reads

    async def _summary(self, call: _Call) -> web.StreamResponse:
        if not await self._ask_cgminer():
            return self._json({"success": False})
        devs = self._devs()
        stats = self._stats_entries()
        fan = 0
        tuning = False
        for entry in stats[:8]:
            duty = int(_php_num(entry.get("Fan duty", 0)))
            if fan == 0 and duty > 0:
                fan = duty
            if (
                entry.get("VidOptimal") is False or entry.get("pllOptimal") is False
            ) and not self.state.autotune_noauto:
                tuning = True
        total = 0.0
        for row in devs[:8]:
            row["Hash Rate"] = _choose_hash_rate(row)
            if self.innosilicon:
                total += _php_num(row["Hash Rate"])
                shown = self._hash_show(_php_num(row["Hash Rate"]))
                row["Hash Rate"] = shown[1]
                row["Unit"] = shown[2]
                row["Hash Rate H"] = shown[0]
        reply: dict[str, Any] = {
            "success": True,
            "DEVS": devs,
            "POOLS": self._pool_rows(),
            "HARDWARE": {"Fan duty": fan},
            "tuning": tuning,
            "hashrates": [],
        }
        if self.innosilicon:
            shown = self._hash_show(total)
            reply["TotalHash"] = {"Hash Rate": shown[1], "Unit": shown[2]}
        return self._json(reply)

    async def _stats(self, call: _Call) -> web.StreamResponse:
        if not await self._ask_cgminer():
            return self._json({"success": False})
        reply = self._cgminer_envelope("CGMiner stats", 70)
        reply["STATS"] = self._stats_entries()
        reply["id"] = 1
        reply["success"] = True
        return self._json(reply)

    async def _get_debug_stats(self, call: _Call) -> web.StreamResponse:
        boards: list[dict[str, Any]] = []
        if await self._ask_cgminer():
            for entry in self._stats_entries():
                if str(entry.get("ID", ""))[:4] == "POOL":
                    continue
                board: dict[str, Any] = {}
                chips: dict[int, dict[str, Any]] = {}
                for key, value in entry.items():
                    if key[:2].isdigit():
                        chips.setdefault(int(key[:2]), {})[key[3:]] = value
                    else:
                        board[key] = value
                chip_obj: Any = (
                    [chips[i] for i in range(len(chips))]
                    if list(chips) == list(range(len(chips)))
                    else {str(k): v for k, v in chips.items()}
                )
                boards.append({"board": board, "chips": chip_obj})
        hashes = {
            "firmware": "5b0c3f1e",
            "backend": "c41d9a02",
            "cgminer": "9e1d2a7b",
        }
        return self._json({"success": True, "boards": boards, "hashes": hashes})

    async def _get_autotune_status(self, call: _Call) -> web.StreamResponse:
        running = await self._ask_cgminer()
        tuning = running and self.state.tuning and not self.state.autotune_noauto
        reply: dict[str, Any] = {
            "success": True,
            "isRunning": running,
            "isTuning": tuning,
            "mode": self.state.autotune_mode,
        }
        if self.innosilicon:
            reply["level"] = self.state.autotune_level
        return self._json(reply)

    async def _api_py(self, call: _Call) -> web.StreamResponse:
        if not await self._ask_cgminer():
            return self._json({"DEVS": None, "POOLS": None, "STATUS": None})
        devs = self._devs()
        for index, entry in enumerate(self._stats_entries()):
            if "Fan duty" in entry and index < len(devs):
                devs[index]["DUTY"] = entry["Fan duty"]
        status = self._cgminer_envelope(f"{len(devs)} ASC(s)", 9)["STATUS"]
        return self._json({"DEVS": devs, "POOLS": self._pool_rows(), "STATUS": status})

    # ---- config and system reads

    async def _pools(self, call: _Call) -> web.StreamResponse:
        if self.state.pools is None:
            return self._json({"success": False, "message": "missing configuration"})
        pools = [{"url": u, "user": n, "pass": p} for u, n, p in self.state.pools]
        return self._json({"success": True, "pools": pools}, escape_slashes=False)

    async def _type(self, call: _Call) -> web.StreamResponse:
        return self._json({"success": True, "type": self.state.miner_type})

    def _network_dict(self) -> dict[str, str]:
        net = self.state.network
        return {
            "dhcp": net.dhcp,
            "ipaddress": net.ipaddress,
            "netmask": net.netmask,
            "gateway": net.gateway,
            "dns1": net.dns1,
            "dns2": net.dns2,
        }

    async def _network(self, call: _Call) -> web.StreamResponse:
        return self._json({**self._network_dict(), "success": True})

    async def _network_py(self, call: _Call) -> web.StreamResponse:
        net = self._network_dict()
        dns = [net.pop("dns1"), net.pop("dns2")]
        return self._json({**net, "dns": dns})

    def _hardware(self) -> dict[str, Any]:
        now = self.time()
        up = now - self.state.boot_time
        wobble = int(math.sin(now / 97.0) * 900)
        mem_total, mem_free = 250548, 151320 + wobble
        cached, available = 72440 - wobble // 3, 196812 + wobble
        load = (0.31 + (wobble % 7) / 100, 0.27, 0.18)
        return {
            "status": _uptime_text(self.miner_time(), up, load),
            "memUsed": mem_total - mem_free,
            "memFree": mem_free,
            "memTotal": mem_total,
            "cacheUsed": cached,
            "cacheFree": available,
            "cacheTotal": available + cached,
        }

    def _versions(self) -> dict[str, str]:
        built = version_datetime(self.state.platform_v)
        return {
            "hwver": self.state.hwver,
            "ethaddr": self.state.ethaddr,
            "build_date": _php_date(built) if built else "",
            "platform_v": self.state.platform_v,
        }

    async def _overview(self, call: _Call) -> web.StreamResponse:
        return self._json(
            {
                "success": True,
                "type": self.state.miner_type,
                "hardware": self._hardware(),
                "network": self._network_dict(),
                "version": self._versions(),
            }
        )

    async def _system_py(self, call: _Call) -> web.StreamResponse:
        return self._json(self._hardware())

    async def _php_fatal(self, call: _Call) -> web.StreamResponse:
        """MinerApiV1Controller calls methods MinerController lacks: PHP fatal error."""
        return web.Response(status=500, headers=self._php_headers())

    async def _ping(self, call: _Call) -> web.StreamResponse:
        return self._ok()

    async def _unit(self, call: _Call) -> web.StreamResponse:
        return self._json({"success": True, "unit": self._inno_model()[1]})

    async def _get_hash_rates(self, call: _Call) -> web.StreamResponse:
        samples = self._history()
        if samples is None:
            return self._json({"success": False, "message": "No data to show"})
        stats: list[list[float]] = [[] for _ in self.state.chains]
        times: list[int] = []
        for when, values in samples:
            times.append(when)
            for index, value in enumerate(values):
                stats[index].append(value)
        return self._json({"success": True, "stats": stats, "times": times})

    def _history(self) -> list[tuple[int, list[float]]] | None:
        """The monitor's samples in the retention window (volatile: since boot)."""
        if not self.state.hashrate_history:
            return None
        now = self.miner_time()
        boot = int(self.state.boot_time + self.state.clock_offset)
        retention = 24 * 3600 if self.innosilicon else 5 * 3600
        first = boot + HISTORY_STEP_SECONDS
        if now < first:
            return None
        start = max(first, now - retention + 1)
        start += (first - start) % HISTORY_STEP_SECONDS
        multiplier = self._inno_model()[0] if self.innosilicon else 1
        samples: list[tuple[int, list[float]]] = []
        for when in range(start, now + 1, HISTORY_STEP_SECONDS):
            rng = random.Random(when)
            values = []
            for chain in self.state.chains:
                mhs = 0.0 if chain.status == "Dead" else chain.mhs
                value = round(mhs * (1 + rng.uniform(-0.01, 0.01)), 2)
                values.append(value * multiplier if multiplier != 1 else value)
            samples.append((when, values))
        return samples

    async def _get_autotune(self, call: _Call) -> web.StreamResponse:
        mode: Any = self.state.autotune_mode
        if self.innosilicon:
            mode = {
                "mode": self.state.autotune_mode,
                "level": self.state.autotune_level,
            }
        return self._json({"success": True, "autoTuneMode": mode})

    async def _get_latest_firmware(self, call: _Call) -> web.StreamResponse:
        latest = self.state.latest_firmware
        if latest is None or not latest.version:
            return self._json(
                {"success": False, "message": "can't fetch firmware versions"}
            )
        latest_date = version_datetime(latest.version)
        current = self.state.platform_v
        current_date = version_datetime(current)
        if current_date is None:
            is_updated = latest_date is None
        else:
            is_updated = latest_date is None or current_date >= latest_date
        return self._json(
            {
                "success": True,
                "version": latest.version,
                "versionDate": _php_date(latest_date) if latest_date else False,
                "url": latest.url,
                "info": latest.info,
                "currentVersion": current,
                "currentVersionDate": _php_date(current_date)
                if current_date
                else False,
                "isUpdated": is_updated,
            }
        )

    async def _get_logs(self, call: _Call) -> web.StreamResponse:
        text = self.state.logs_text
        if text is None:
            entries = list(self._journal)
            lines = [self._journal_line(entry, "text") for entry in entries]
            if entries:
                first = dt.datetime.fromtimestamp(entries[0].when, dt.UTC)
                last = dt.datetime.fromtimestamp(entries[-1].when, dt.UTC)
                lines.insert(
                    0,
                    f"-- Logs begin at {first:%a %Y-%m-%d %H:%M:%S} UTC, "
                    f"end at {last:%a %Y-%m-%d %H:%M:%S} UTC. --\n",
                )
            text = "".join(lines)
        headers = self._php_headers("text/plain")
        headers["Content-Description"] = "File Transfer"
        headers["Content-Disposition"] = 'attachment; filename="miner.log"'
        headers["Expires"] = "0"
        headers["Cache-Control"] = "must-revalidate"
        headers["Pragma"] = "public"
        return web.Response(body=text.encode(), headers=headers)

    # ---- Innosilicon extras

    async def _get_freq_vol(self, call: _Call) -> web.StreamResponse:
        if self.state.freq_vol is None:
            return self._json({"success": False, "message": "missing configuration"})
        freq, vol = self.state.freq_vol
        return self._json(
            {"success": True, "freq": freq, "vol": vol}, escape_slashes=False
        )

    async def _set_freq_vol(self, call: _Call) -> web.StreamResponse:
        """The controller builds the values but never saves or answers (im-backend)."""
        return web.Response(body=b"", headers=self._php_headers())

    async def _set_monitor(self, call: _Call) -> web.StreamResponse:
        if "red_light" not in call.form:
            return web.Response(body=b"", headers=self._php_headers())
        return self._json({"success": False})  # dm-monitor is not emulated

    async def _get_error_message(self, call: _Call) -> web.StreamResponse:
        code, message = self.state.error_message or ("0", "")
        body = php_json({"success": True, "code": code, "errmsg": message})
        return web.Response(
            body=body.encode(), headers=self._php_headers("text/html; charset=UTF-8")
        )

    # ---- writes

    async def _update_pools(self, call: _Call) -> web.StreamResponse:
        pools: list[tuple[str, str, str]] = []
        for index in range(1, 4):
            values = [
                call.form.get(f"{key}{index}")
                for key in ("Pool", "UserName", "Password")
            ]
            if all(isinstance(v, str) and v != "" for v in values):
                url, user, password = (str(v) for v in values)
                pools.append((url, user, password))
        self.state.pools = pools
        self._restart_cgminer(self.time(), reason="updatePools")
        return self._ok()

    async def _set_autotune(self, call: _Call) -> web.StreamResponse:
        if call.form.get("autotune") is None:
            return self._json({"success": False, "message": "missing autotune value"})
        value = _php_str(call.form.get("autotune"))
        state = self.state
        had_keys = state.autotune_noauto or state.autotune_mode != "balanced"
        updated = False
        if value in {"efficient", "factory", "performance"}:
            updated = True  # always rewritten, even when unchanged (dm-backend)
        elif value == "balanced":
            updated = had_keys
        if updated:
            assert value is not None
            state.autotune_mode = value
            state.autotune_noauto = False
            if self.innosilicon:
                level = call.form.get("level")
                state.autotune_level = level.strip() if isinstance(level, str) else "2"
            self._restart_cgminer(self.time(), reason="setAutoTune")
        return self._ok()

    async def _update_network(self, call: _Call) -> web.StreamResponse:
        form = call.form
        dhcp = _php_str(form.get("dhcp"))
        if dhcp not in {"dhcp", "static"}:
            return self._json({"success": False, "message": "invalid dhcp setting"})
        net = self.state.network
        if dhcp == "static":
            checks = (
                (_php_str(form.get("ipaddress")), "invalid ip address"),
                (_php_str(form.get("netmask")), "invalid netmask "),
                (_php_str(form.get("gateway")), "invalid gateway "),
                (_php_index(form.get("dns"), 0), "invalid dns 1 "),
                (_php_index(form.get("dns"), 1), "invalid dns 2 "),
            )
            for value, message in checks:
                if not _valid_ip(value):
                    return self._json({"success": False, "message": message})
            values = [value or "" for value, _ in checks]
            self.state.network = Network("static", *values)
        else:
            self.state.network = Network(
                "dhcp", net.ipaddress, net.netmask, net.gateway, net.dns1, net.dns2
            )
        call.after = self._begin_network_restart
        return self._ok()

    def _delayed(self, name: str, action: Callable[[float], None]) -> None:
        self._schedule(self.time() + self._faults.action_delay_seconds, name, action)

    async def _reboot_action(self, call: _Call) -> web.StreamResponse:
        call.after = lambda: self._delayed(
            "reboot", lambda at: self._go_down(at, boot=True)
        )
        return self._ok()

    async def _poweroff_action(self, call: _Call) -> web.StreamResponse:
        call.after = lambda: self._delayed(
            "poweroff", lambda at: self._go_down(at, boot=False)
        )
        return self._ok()

    async def _factory_reset_action(self, call: _Call) -> web.StreamResponse:
        def reset(at: float) -> None:
            self._factory_reset()
            self._go_down(at, boot=True)

        call.after = lambda: self._delayed("factoryReset", reset)
        return self._ok()

    async def _restart_cgminer_action(self, call: _Call) -> web.StreamResponse:
        self._restart_cgminer(self.time(), reason="restartCgMiner")
        return self._ok()

    # ---------------------------------------------------------- cgminer data

    def _cgminer_envelope(self, msg: str, code: int) -> dict[str, Any]:
        return {
            "STATUS": [
                {
                    "STATUS": "S",
                    "When": self.miner_time(),
                    "Code": code,
                    "Msg": msg,
                    "Description": "cgminer 4.10.0",
                }
            ]
        }

    def _jitter(self, spread: float) -> float:
        return 1 + self.rng.uniform(-spread, spread) if self.noise else 1.0

    def _active_pool(self) -> int:
        for index, _pool in enumerate(self._cgminer_pools):
            if index not in self.state.dead_pools:
                return index
        return -1

    def _hashing_seconds(self) -> tuple[float, float]:
        """(cgminer elapsed, seconds spent hashing)."""
        elapsed = max(self.time() - self.state.cgminer_started_at, 0.0)
        return elapsed, max(elapsed - CGMINER_INIT_SECONDS, 0.0)

    def _devs(self) -> list[dict[str, Any]]:
        elapsed, hashing = self._hashing_seconds()
        pool = self._active_pool()
        clock = self.miner_time()
        rows = []
        for index, chain in enumerate(self.state.chains):
            alive = chain.status == "Alive"
            working = alive and pool >= 0
            rate = chain.mhs if working else 0.0
            ramp = {
                "MHS 5s": 1.0 if hashing > 5 else 0.0,
                "MHS 1m": 1 - math.exp(-hashing / 60),
                "MHS 5m": 1 - math.exp(-hashing / 300),
                "MHS 15m": 1 - math.exp(-hashing / 900),
            }
            spread = {
                "MHS 5s": 0.02,
                "MHS 1m": 0.008,
                "MHS 5m": 0.003,
                "MHS 15m": 0.0015,
            }
            average = (
                chain.mhs * hashing / elapsed if elapsed > 0 and pool >= 0 else 0.0
            )
            if not alive:
                average *= 0.5
            hashes = (rate if working else average) * 1e6 * hashing
            diff1 = int(hashes / 2**32)
            accepted = int(diff1 / SHARE_DIFFICULTY) if pool >= 0 else 0
            rejected = accepted // 350
            hw_errors = chain.hardware_errors + int(hashing / 900)
            last_share = clock - int(elapsed) % 47 if accepted else 0
            row: dict[str, Any] = {
                "ASC": index,
                "Name": "DT1",
                "ID": index,
                "Enabled": "Y",
                "Status": chain.status,
                "Temperature": chain.temperature,
                "MHS av": round(average, 2),
            }
            for key, factor in ramp.items():
                row[key] = round(rate * factor * self._jitter(spread[key]), 2)
            row.update(
                {
                    "Accepted": accepted,
                    "Rejected": rejected,
                    "Hardware Errors": hw_errors,
                    "Utility": round(accepted / (elapsed / 60), 2) if elapsed else 0.0,
                    "Last Share Pool": pool if accepted else -1,
                    "Last Share Time": last_share,
                    "Total MH": round(hashes / 1e6, 4),
                    "Diff1 Work": diff1,
                    "Difficulty Accepted": accepted * SHARE_DIFFICULTY,
                    "Difficulty Rejected": rejected * SHARE_DIFFICULTY,
                    "Last Share Difficulty": SHARE_DIFFICULTY if accepted else 0.0,
                    "Last Valid Work": clock if working else last_share,
                    "Device Hardware%": round(100 * hw_errors / (diff1 + hw_errors), 4)
                    if diff1 + hw_errors
                    else 0.0,
                    "Device Rejected%": round(
                        100 * rejected * SHARE_DIFFICULTY / diff1, 4
                    )
                    if diff1
                    else 0.0,
                    "Device Elapsed": int(elapsed),
                }
            )
            if self.innosilicon:
                row.update(
                    {
                        "TempMIN": chain.temperature - 7,
                        "TempAVG": chain.temperature,
                        "TempMAX": chain.temperature + 6,
                        "DUTY": self.state.fan_duty,
                    }
                )
            row.update(chain.overrides)
            rows.append(row)
        return rows

    def _pool_rows(self) -> list[dict[str, Any]]:
        elapsed, hashing = self._hashing_seconds()
        active = self._active_pool()
        clock = self.miner_time()
        total_mhs = sum(c.mhs for c in self.state.chains if c.status == "Alive")
        diff1 = int(total_mhs * 1e6 * hashing / 2**32) if active >= 0 else 0
        accepted = int(diff1 / SHARE_DIFFICULTY)
        height = 525_000 + int((clock - 1_528_000_000) / 600)
        rows = []
        for index, (url, user, _password) in enumerate(self._cgminer_pools):
            dead = index in self.state.dead_pools
            mine = index == active
            host = re.sub(r"^[a-z+]+://", "", url).rsplit(":", 1)[0]
            shares = accepted if mine else 0
            rows.append(
                {
                    "POOL": index,
                    "URL": url,
                    "Status": "Dead" if dead else "Alive",
                    "Priority": index,
                    "Quota": 1,
                    "Long Poll": "N",
                    "Getworks": int(elapsed / 30) + 1 if not dead else 0,
                    "Accepted": shares,
                    "Rejected": shares // 350,
                    "Works": diff1 // 4 if mine else 0,
                    "Discarded": int(elapsed / 30) * 3 if mine else 0,
                    "Stale": shares // 900,
                    "Get Failures": 0,
                    "Remote Failures": 0,
                    "User": user,
                    "Last Share Time": clock - int(elapsed) % 13 if shares else 0,
                    "Diff1 Shares": diff1 if mine else 0,
                    "Proxy Type": "",
                    "Proxy": "",
                    "Difficulty Accepted": shares * SHARE_DIFFICULTY,
                    "Difficulty Rejected": (shares // 350) * SHARE_DIFFICULTY,
                    "Difficulty Stale": (shares // 900) * SHARE_DIFFICULTY,
                    "Last Share Difficulty": SHARE_DIFFICULTY if shares else 0.0,
                    "Work Difficulty": SHARE_DIFFICULTY if not dead else 0.0,
                    "Has Stratum": True,
                    "Stratum Active": mine,
                    "Stratum URL": host if mine else "",
                    "Stratum Difficulty": SHARE_DIFFICULTY if mine else 0.0,
                    "Has Vmask": True,
                    "Has GBT": False,
                    "Best Share": shares * 1_843 + 1_048_576 if shares else 0,
                    "Pool Rejected%": round(100 / 350, 4) if shares >= 350 else 0.0,
                    "Pool Stale%": 0.0,
                    "Bad Work": 0,
                    "Current Block Height": height if not dead else 0,
                    "Current Block Version": 536870912,
                }
            )
        return rows

    def _stats_entries(self) -> list[dict[str, Any]]:
        elapsed, _hashing = self._hashing_seconds()
        tuning = self.state.tuning
        entries: list[dict[str, Any]] = []
        for index, chain in enumerate(self.state.chains):
            entry: dict[str, Any] = {
                "STATS": index,
                "ID": f"DT1{index}",
                "Elapsed": int(elapsed),
                "Calls": 0,
                "Wait": 0.0,
                "Max": 0.0,
                "Min": 99999999.0,
                "Chain ID": index,
                "Num chips": chain.chips,
                "Num active chips": chain.chips if chain.status == "Alive" else 0,
                "Temp": chain.temperature,
                "Temp max": chain.temperature + 6,
                "Temp min": chain.temperature - 7,
                "Fan duty": self.state.fan_duty,
                "Voltage Avg": chain.voltage_mv,
                "Voltage Max": chain.voltage_mv + 9,
                "Voltage Min": chain.voltage_mv - 11,
                "VidOptimal": not tuning,
                "pllOptimal": not tuning,
            }
            for chip in range(min(chain.chips, 99)):
                entry[f"{chip:02d} Freq"] = 800 - (chip * 7) % 25
                entry[f"{chip:02d} Vol"] = chain.voltage_mv - (chip * 3) % 13
                entry[f"{chip:02d} Temp"] = chain.temperature - 4 + (chip * 5) % 9
                entry[f"{chip:02d} HW"] = (chip * 11 + index) % 4
            entries.append(entry)
        for index, _pool in enumerate(self._cgminer_pools):
            entries.append(
                {
                    "STATS": len(entries),
                    "ID": f"POOL{index}",
                    "Elapsed": int(elapsed),
                    "Calls": 0,
                    "Wait": 0.0,
                    "Max": 0.0,
                    "Min": 99999999.0,
                    "Pool Calls": 0,
                    "Pool Attempts": 0,
                    "Pool Wait": 0.0,
                    "Pool Max": 0.0,
                    "Pool Min": 99999999.0,
                    "Pool Av": 0.0,
                    "Work Had Roll Time": False,
                    "Work Can Roll": False,
                    "Work Had Expire": False,
                    "Work Roll Time": 0,
                    "Work Diff": SHARE_DIFFICULTY,
                    "Min Diff": SHARE_DIFFICULTY,
                    "Max Diff": SHARE_DIFFICULTY,
                    "Min Diff Count": int(elapsed / 30),
                    "Max Diff Count": int(elapsed / 30),
                    "Times Sent": int(elapsed / 3),
                    "Bytes Sent": int(elapsed * 52),
                    "Times Recv": int(elapsed / 2),
                    "Bytes Recv": int(elapsed * 310),
                    "Net Bytes Sent": int(elapsed * 60),
                    "Net Bytes Recv": int(elapsed * 330),
                }
            )
        return entries

    def _inno_model(self) -> tuple[int, str]:
        return INNO_MODELS.get(self.state.miner_type, INNO_MODELS["Default"])

    def _hash_show(self, hashrate: float) -> tuple[float, float, str]:
        """im-backend ``getHashRateShow``: (base units, scaled value, unit)."""
        multiplier, unit_h = self._inno_model()
        value = hashrate * multiplier
        scaled = value
        step = 0
        while scaled >= 1000 and step < len(_UNIT_PREFIXES) - 1:
            scaled /= 1000
            step += 1
        return value, scaled, _UNIT_PREFIXES[step] + unit_h

    # -------------------------------------------------------- log stream

    async def _stream_logs(self, request: web.BaseRequest) -> web.StreamResponse:
        accept = request.headers.get("Accept", "")
        fmt, content_type = "text", "text/plain"
        if "application/json" in accept:
            fmt, content_type = "json", "application/json"
        elif "text/event-stream" in accept:
            fmt, content_type = "sse", "text/event-stream"
        response = web.StreamResponse(
            headers={"Server": SERVER_HEADER, "Content-Type": content_type}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        assert self._stop_event is not None
        sent = 0
        counter = 0
        try:
            while not self._stop_event.is_set():
                fresh = [entry for entry in self._journal if entry.seq > sent]
                if not fresh and counter:
                    self._journal_add(self.time(), *self._synthetic_line(counter))
                    fresh = [entry for entry in self._journal if entry.seq > sent]
                counter += 1
                for entry in fresh:
                    await response.write(self._journal_line(entry, fmt).encode())
                    sent = entry.seq
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._stop_event.wait(), max(self._faults.log_interval, 0.01)
                    )
        except ConnectionError, RuntimeError:
            _LOGGER.debug("Log stream client went away")
        return response

    # ----------------------------------------------------- firmware update

    def _target_version(self, name: str | None) -> str:
        latest = self.state.latest_firmware
        if latest is not None and name is not None and name == latest.url:
            return latest.version
        if name:
            tail = name.rstrip("/").rsplit("/", 1)[-1]
            if match := _VERSION_RE.search(tail):
                return match.group(1)
        stamp = dt.datetime.fromtimestamp(self.miner_time(), dt.UTC)
        return f"{self.state.miner_type.lower()}_{stamp:%Y%m%d_%H%M%S}"

    @staticmethod
    def _plain(status: int, text: str) -> web.Response:
        headers = {"Server": SERVER_HEADER, "Content-Type": "text/plain"}
        return web.Response(status=status, body=text.encode(), headers=headers)

    def _upgrade_download(
        self, form: dict[str, Any]
    ) -> tuple[web.Response, FirmwareUpdate | None]:
        url = _php_str(form.get("url"))
        if not url:
            return self._plain(400, "url not set in form\n"), None
        self.state.firmware_downloads.append(url)
        if self._upgrade is not None:
            return self._plain(500, "Failed to queue command\n"), None
        update = FirmwareUpdate(
            "download", url, None, 0, self._target_version(url), self.time()
        )
        return self._plain(200, "Ok, download started.\r\n"), update

    def _upgrade_upload(
        self, files: list[tuple[str, bytes]]
    ) -> tuple[web.Response, FirmwareUpdate | None]:
        if not files:
            return self._plain(400, "filename not set in form\n"), None
        filename, data = files[0]
        self.state.firmware_uploads.append((filename, len(data)))
        if self._upgrade is not None:
            return self._plain(500, "Failed to queue command\n"), None
        update = FirmwareUpdate(
            "upload",
            None,
            filename,
            len(data),
            self._target_version(filename),
            self.time(),
        )
        reply = self._plain(200, f"Ok, {filename} - {len(data)} bytes.\r\n")
        reply.force_close()  # "Connection: close"
        return reply, update

    def _start_upgrade(self, update: FirmwareUpdate) -> None:
        self.state.firmware_updates.append(update)
        start = update.requested_at
        span = max(self._faults.upgrade_seconds, 0.0)
        source = "DOWNLOADER" if update.source == "download" else "WEBSERVER"
        frames: list[tuple[float, str]] = [
            (start, _ws_frame([("type", "status"), ("status", "START")])),
            (start, _ws_frame([("type", "source"), ("source", source)])),
            (start, _ws_frame([("type", "status"), ("status", "RUN")])),
        ]
        for index, percent in enumerate((25, 50, 75, 100), start=1):
            text = json.dumps(
                {"percent": percent, "msg": f"Received {percent}% of image"}
            )
            frames.append(
                (
                    start + span * 0.1 * index,
                    _ws_json_text(
                        [("type", "message"), ("level", "6"), ("text", text)]
                    ),
                )
            )
        if self._faults.ws_malformed_frame:
            info = (
                '{"swupdate": "'
                + update.version
                + '", "hw": "'
                + self.state.hwver
                + '"}'
            )
            frames.append(
                (start + span * 0.45, _ws_frame([("type", "info"), ("source", info)]))
            )
        if self._faults.upgrade_fails:
            frames += [
                (
                    start + span * 0.6,
                    _ws_json_text(
                        [
                            ("type", "message"),
                            ("level", "3"),
                            (
                                "text",
                                "ERROR : Image invalid or corrupted. Not installing ...",
                            ),
                        ]
                    ),
                ),
                (
                    start + span * 0.6,
                    _ws_frame([("type", "status"), ("status", "FAILURE")]),
                ),
                (
                    start + span * 0.6,
                    _ws_frame([("type", "status"), ("status", "DONE")]),
                ),
            ]
        else:
            steps = (("rootfs.ubifs", 0.45, 0.85), ("kernel.itb", 0.85, 0.97))
            for number, (name, begin, end) in enumerate(steps, start=1):
                for percent in (0, 25, 50, 75, 100):
                    due = start + span * (begin + (end - begin) * percent / 100)
                    frames.append(
                        (
                            due,
                            _ws_frame(
                                [
                                    ("type", "step"),
                                    ("number", str(len(steps))),
                                    ("step", str(number)),
                                    ("name", name),
                                    ("percent", str(percent)),
                                ]
                            ),
                        )
                    )
            frames += [
                (start + span, _ws_frame([("type", "status"), ("status", "SUCCESS")])),
                (
                    start + span,
                    _ws_json_text(
                        [
                            ("type", "message"),
                            ("level", "6"),
                            ("text", "SWUPDATE successful !"),
                        ]
                    ),
                ),
                (start + span, _ws_frame([("type", "status"), ("status", "DONE")])),
            ]
        job = _UpgradeJob(update, frames)
        self._upgrade = job
        self._journal_add(
            start,
            "swupdate",
            self._pids["swupdate"],
            f"Software update started ({source})",
        )
        self._schedule_upgrade(job)

    def _schedule_upgrade(self, job: _UpgradeJob) -> None:
        if not job.frames:
            return
        due = job.frames[0][0]

        def fire(at: float) -> None:
            if self._upgrade is not job:
                return
            while job.frames and job.frames[0][0] <= at:
                _due, frame = job.frames.pop(0)
                for queue in self._ws_queues:
                    queue.put_nowait(frame)
            if job.frames:
                self._schedule_upgrade(job)
                return
            self._upgrade = None
            if self._faults.upgrade_fails:
                job.update.result = "failure"
                self._journal_add(
                    at, "swupdate", self._pids["swupdate"], "Software update failed"
                )
                return
            job.update.result = "success"
            self._pending_version = job.update.version
            self._journal_add(
                at,
                "swupdate",
                self._pids["swupdate"],
                "Software update successful, rebooting",
            )
            self._go_down(at, boot=True)  # swupdate -p '/bin/systemctl reboot'

        self._schedule(due, "upgrade", fire)

    async def _upgrade_ws(self, request: web.BaseRequest) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        ws.headers["Server"] = SERVER_HEADER
        await ws.prepare(request)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._ws_queues.add(queue)
        transport = request.transport
        if transport is not None:
            self._ws_transports.add(transport)

        async def pump() -> None:
            while (frame := await queue.get()) is not None:
                await ws.send_str(frame)
            if transport is not None:  # the miner went away: cut after the backlog
                transport.close()

        sender = self._spawn(pump())
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
        finally:
            self._ws_queues.discard(queue)
            if transport is not None:
                self._ws_transports.discard(transport)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        return ws


def _choose_hash_rate(row: dict[str, Any]) -> Any:
    """The backend's ``Hash Rate`` by ``Device Elapsed`` (ref §5.2)."""
    if "MHS 5m" in row and "MHS 15m" in row:
        elapsed = int(_php_num(row.get("Device Elapsed", 0)))
        if elapsed < 300:
            return row.get("MHS 5s")
        if elapsed < 900:
            return row.get("MHS 1m")
        if elapsed < 3600:
            return row.get("MHS 5m")
        return row.get("MHS 15m")
    return row.get("MHS av")


async def _read_part(part: BodyPartReader, budget: list[int]) -> bytes:
    """One multipart part, within what is left of the body size limit."""
    data = bytearray()
    while chunk := await part.read_chunk(65536):
        data += chunk
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _TooLarge
    return bytes(data)


def _known(caller: str | None) -> str | None:
    """The caller as recorded: an expired token resolves to nobody."""
    return None if caller == "expired" else caller
