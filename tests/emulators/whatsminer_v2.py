"""Emulator of the MicroBT Whatsminer API v2 (the btminer API on TCP 4028).

Written from the reference notes ``whatsminer.md`` (cited below as "ref §N"; project notes outside this repository) and
the vendor manuals 2.0.4 and 2.2, not from Miner Hub's client. The only code shared
with the client is md5-crypt, which its own tests pin to ``openssl passwd -1``.

Wire behaviour (ref §2, §12): one request per connection, buffered until one complete
JSON object has arrived (fragmented writes and a client FIN are fine, a trailing
newline is ignored); one reply, then close; silence for ``Faults.idle_timeout``
closes the connection. Writes are AES-256-ECB encrypted with a ``get_token`` sign
(ref §3, §4); replies to encrypted requests are encrypted with zero padding, except
errors raised before decryption or authorisation, which stay plaintext.

Profiles:

``"2.2"``
    Clean JSON as in Manual 2.2 (API 2.0.5 firmware of 2024): ``vendor`` and ``pin``
    in ``get_psu``, ``MAC`` in ``summary``, the flat ``status`` shape with
    ``mineroff``/``FirmwareVersion``, error codes as a list of one-key objects.
``"2.0.4"``
    Firmware of 2022 with every defect of ref §6: the ``get_error_code`` bracket bug
    (and truncation of long error replies), ``vender``, a missing comma before
    ``"temp0"``, ``,}`` closing the ``pools``/``devs`` rows, a raw newline inside
    ``Chip Data``, the bare ``status`` object with a single-quoted firmware version.
    Commands added after Manual 2.0.4 answer Code 14.
``"v3compat"``
    The degraded v2 API of v3 firmware (ref §5.2): ``summary`` in the flat envelope,
    hashrates in TH/s in ``summary`` and ``devs``, no chip temperatures, a 2025
    ``fw_ver``.

Time is the emulator's clock (``now`` plus ``advance()``), so token expiry, reboots
and btminer restarts can be stepped through without sleeping. Only ``latency``,
``idle_timeout`` and the ~10 ms pause of ``download_logs`` use real time.

Temperatures lag the load on that clock: the boards and the PSU approach their
target (``env_temp`` plus the heat of the load; ``env_temp + 2`` with mining off)
exponentially, warming with ``state.warming_tau_s`` (120 s) and cooling with
``state.cooling_tau_s`` (180 s); 0 for both gives the targets at once. The chips'
lead over their board follows the load at once. A change to ``state`` (through the
API or made directly by a test) counts from the moment it is made; the end of a
btminer restart or of a reboot counts from when it happened, however far one
``advance()`` jumps. "Hash Stable" and "Upfreq Complete" come on
``HASH_STABLE_SECONDS`` (300 s) after btminer starts (fast boot and the upfreq
speed shorten it).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Coroutine
import contextlib
import copy
from dataclasses import dataclass, field
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import random
import re
import secrets
import socket
import struct
import time
from typing import Any, Final, Literal

from Crypto.Cipher import AES

from custom_components.miner_hub.protocol.whatsminer.crypto import md5_crypt

from ._listener import (
    SwitchableListener,
    abort_with_reset,
    cancel_all,
    close_writer,
    reset_socket,
)

_LOGGER = logging.getLogger(__name__)

Profile = Literal["2.2", "2.0.4", "v3compat"]
PROFILES: Final[tuple[Profile, ...]] = ("2.2", "2.0.4", "v3compat")

FACTORY_PASSWORD: Final = "admin"
FACTORY_SALT: Final = "BQ5hoXV9"  # stored salt of the factory password (ref §3.3)
SALT_ALPHABET: Final = (
    "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
BTMINER_DOWN_TEXT: Final = b"Socket connect failed: Connection refused\n"  # ref §2.2
GARBAGE_REPLY: Final = b"\xff\xfe<html>500 Internal Error</html>\x8b\x1f garbage"

MAX_REQUEST_BYTES: Final = 64 * 1024
MAX_FIRMWARE_BYTES: Final = 64 * 1024 * 1024
IDLE_POWER_W: Final = 30
SHARE_DIFFICULTY: Final = 65536.0
# Shares per second per TH/s at SHARE_DIFFICULTY: 1e12 / (difficulty * 2**32).
SHARES_PER_TH_SECOND: Final = 1e12 / (SHARE_DIFFICULTY * 2**32)
LOG_PAUSE_SECONDS: Final = 0.01  # "the miner sends the file content after 10 ms"

DEFAULT_NO_REPLY: Final = frozenset(
    ["reboot", "restart_btminer", "set_low_power", "set_normal_power", "set_high_power"]
)
CGMINER_READS: Final = frozenset(["summary", "pools", "edevs", "devs", "devdetails"])
# Write commands by the manual that introduced them (ref §8.1).
WRITES_2_0_4: Final = frozenset(
    [
        "update_pools",
        "restart_btminer",
        "power_off",
        "power_on",
        "set_led",
        "set_low_power",
        "set_normal_power",
        "set_high_power",
        "update_firmware",
        "reboot",
        "factory_reset",
        "update_pwd",
        "net_config",
        "download_logs",
        "set_target_freq",
        "enable_btminer_fast_boot",
        "disable_btminer_fast_boot",
        "enable_web_pools",
        "disable_web_pools",
        "set_hostname",
        "set_zone",
        "load_log",
        "set_power_pct",
        "pre_power_on",
    ]
)
WRITES_2_0_5: Final = WRITES_2_0_4 | frozenset(
    [
        "set_temp_offset",
        "adjust_power_limit",
        "adjust_upfreq_speed",
        "set_poweroff_cool",
        "set_fan_zero_speed",
    ]
)
WRITES_2_2: Final = WRITES_2_0_5 | frozenset(
    [
        "set_power_pct_v2",
        "set_power",
        "restore_power_pct",
        "set_heat_mode",
        "disable_btminer_init",
        "enable_btminer_init",
        "set_customer_msg",
        "get_customer_msg",
    ]
)
PROFILE_WRITES: Final[dict[str, frozenset[str]]] = {
    "2.0.4": WRITES_2_0_4,
    "2.2": WRITES_2_2,
    "v3compat": WRITES_2_2,
}
_SECRET_PARAMS: Final = frozenset({"passwd1", "passwd2", "passwd3", "old", "new"})
_INT_RE: Final = re.compile(r"[+-]?\d{1,9}")
_PASSWORD_RE: Final = re.compile(r"[A-Za-z0-9_]{1,8}")
_HOSTNAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_CUSTOMER_KEYS: Final = frozenset({"CustomerSn", *(f"msg{i}" for i in range(10))})
# Per-window factors of the cgminer hashrate averages (deterministic unless noise).
_WINDOWS: Final = (
    ("MHS av", 1.0),
    ("MHS 5s", 1.0031),
    ("MHS 1m", 1.0012),
    ("MHS 5m", 0.9995),
    ("MHS 15m", 0.9991),
    ("HS RT", 1.0007),
)
_BOARD_SKEW: Final = (0.0, -0.6, 0.8)
# Hash boards and PSU: heat above the intake air (°C) when idle, and per unit of
# load (input power / the Normal mode's) when hashing.
BOARD_IDLE_RISE: Final = 2.0
BOARD_RISE_PER_LOAD: Final = 50.0
PSU_IDLE_RISE: Final = 8.0
PSU_RISE_PER_LOAD: Final = 12.0
# Seconds after btminer starts until "Hash Stable" (and the boards' "Upfreq
# Complete"), at upfreq speed 0. No source gives the firmware's timing (ref §8.3
# lists the fields only; the manuals' example pairs "Hash Stable": true with
# "Elapsed" 2648 and "Hash Stable Cost Seconds" 17569, which do not add up):
# normal start-up counts as settled once a 5-minute hashrate window has filled;
# fast boot skips the frequency search. A higher upfreq speed is "a shorter time
# to achieve a stable hashrate" (Manual 2.2 §3.27): divided by 1 + speed.
HASH_STABLE_SECONDS: Final = 300
HASH_STABLE_FAST_BOOT_SECONDS: Final = 60


# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class MinerModel:
    """Static hardware description; numbers follow the manuals' example payloads."""

    name: str
    board_factory_ghs: tuple[int, ...]
    chips_per_board: int
    freq_mhz: int
    low_power_w: int
    normal_power_w: int
    high_power_w: int
    default_power_limit_w: int
    platform: str
    chip_data: tuple[str, str]
    psu_model: str
    pcb_sn_prefix: str

    @property
    def factory_ghs(self) -> int:
        """Factory-rated hashrate of the whole miner, GH/s."""
        return sum(self.board_factory_ghs)

    def mode_power_w(self, mode: str) -> int:
        """Input power btminer aims at in a power mode."""
        return {"Low": self.low_power_w, "High": self.high_power_w}.get(
            mode, self.normal_power_w
        )


M30S_PLUS_VE40: Final = MinerModel(
    name="M30S+VE40",
    board_factory_ghs=(28258, 28258, 28257),
    chips_per_board=156,
    freq_mhz=587,
    low_power_w=2900,
    normal_power_w=3380,
    high_power_w=3590,
    default_power_limit_w=3600,
    platform="H6OS",
    chip_data=("K88Z347-2039", "BINV01-195001D"),
    psu_model="P221B",
    pcb_sn_prefix="HEM1EP9C400929K6000",
)
M50_VH50: Final = MinerModel(
    name="M50VH50",
    board_factory_ghs=(39333, 39333, 39334),
    chips_per_board=105,
    freq_mhz=530,
    low_power_w=2850,
    normal_power_w=3306,
    high_power_w=3560,
    default_power_limit_w=3600,
    platform="H616",
    chip_data=("K88Z402-2247", "BINV02-195009C"),
    psu_model="P222B",
    pcb_sn_prefix="HEM5EP1C500112K7000",
)


@dataclass(frozen=True, slots=True)
class _Firmware:
    version: str
    api_version: str
    model: MinerModel


_PROFILE_FIRMWARE: Final[dict[str, _Firmware]] = {
    "2.0.4": _Firmware("20220919.15.REL", "2.0.4", M30S_PLUS_VE40),
    "2.2": _Firmware("20240624.18.REL", "2.0.5", M30S_PLUS_VE40),
    "v3compat": _Firmware("20250422.11.REL", "2.0.5", M50_VH50),
}


def derive_salt(password: str) -> str:
    """Stored salt of a password: the real factory salt for ``admin`` (ref §3.4)."""
    if password == FACTORY_PASSWORD:
        return FACTORY_SALT
    digest = hashlib.sha256(b"whatsminer-emulator-salt:" + password.encode()).digest()
    return "".join(SALT_ALPHABET[byte % 64] for byte in digest[:8])


def random_salt() -> str:
    """A fresh 8-character ``newsalt``."""
    return "".join(secrets.choice(SALT_ALPHABET) for _ in range(8))


def _factory_pools() -> list[tuple[str, str, str]]:
    return [
        ("stratum+tcp://btc.ss.poolin.com:443", "microbtinitial", "123"),
        ("stratum+tcp://btc.ss.poolin.com:1883", "microbtinitial", "123"),
        ("stratum+tcp://btc.ss.poolin.com:25", "microbtinitial", "123"),
    ]


@dataclass
class MinerState:
    """Everything the miner remembers; tests may read and change any field."""

    password: str = FACTORY_PASSWORD
    salt: str = ""  # "" = derive_salt(password)
    model: MinerModel = M30S_PLUS_VE40
    firmware_version: str = "20240624.18.REL"
    api_version: str = "2.0.5"  # e.g. "whatsminer v1.4.0" for the old daemon
    description: str = ""  # "Description" of flat replies ("whatsminer v1.3" old)
    mining: bool = True
    power_mode: str = "Normal"  # "Low" / "Normal" / "High"
    power_limit_w: int = 3600
    power_percent: int = 100  # 100 = no reduction
    power_percent_mode: str = ""  # "fast" (set_power_pct) / "normal" (_v2)
    # Normal mode "spans a few minutes" (Manual 2.2 §3.22): the power moves from
    # where it was to the new percent over this many emulator-clock seconds.
    # 0 (the default): at once, as most tests want.
    normal_mode_ramp_s: float = 0.0
    power_percent_from: float = 100.0  # the percent the ramp starts from ...
    power_percent_set_at: float = 0.0  # ... and when it started
    power_target_w: int | None = None  # set_power
    target_freq_percent: int = 0  # set_target_freq, "hash_percent" in status
    pools: list[tuple[str, str, str]] = field(default_factory=_factory_pools)
    led: str | dict[str, Any] | list[dict[str, Any]] = "auto"  # list: API v3
    write_api_enabled: bool = True  # as if unlocked in WhatsMinerTool
    hostname: str = "WhatsMiner"
    mac: str = "C6:07:20:00:1E:C2"
    ip: str = "192.168.2.16"
    proto: str = "dhcp"
    netmask: str = "255.255.255.0"
    gateway: str = "192.168.2.1"
    dns: str = "114.114.114.114"
    fast_boot: bool = False
    web_pools: bool = True
    btminer_init: bool = True  # start mining at boot
    temp_offset: int = 0
    upfreq_speed: int = 0
    poweroff_cool: bool = False
    fan_zero_speed: bool = False
    heat_mode: str = "normal"
    timezone: str = "CST-8"
    zonename: str = "Asia/Shanghai"
    log_server: tuple[str, str, str] | None = None  # (ip, port, proto) of load_log
    customer_msgs: dict[str, str] = field(default_factory=dict)
    error_codes: list[tuple[str, str]] = field(default_factory=list)  # (code, time)
    env_temp: float = 25.0
    # Board and PSU temperatures approach their target (the intake air plus the
    # heat of the load, ``env_temp + 2`` with mining off) exponentially with
    # these time constants, on the emulator clock: warming when the target is
    # above, cooling when below. 0 = at once.
    warming_tau_s: float = 120.0
    cooling_tau_s: float = 180.0
    miner_sn: str = "HTM30SPVE40K2109012345"
    power_sn: str = "A1232B0120100049"
    boot_time: float = 0.0  # emulator clock; set by start()
    btminer_started_at: float = 0.0
    mineroff_time: float | None = None
    preheat_started_at: float | None = None
    firmware_images: list[bytes] = field(default_factory=list)  # update_firmware
    log_text: bytes | None = None  # download_logs content; None = generated

    def __post_init__(self) -> None:
        if not self.salt:
            self.salt = derive_salt(self.password)

    def __setattr__(self, name: str, value: Any) -> None:
        # The emulator that owns this state hears of a change before it happens,
        # so the temperatures' course so far is worked out with the old values.
        changing = self.__dict__.get("_changing")
        if changing is not None:
            changing(name)
        object.__setattr__(self, name, value)

    def __deepcopy__(self, memo: dict[int, Any]) -> MinerState:
        """A copy without the owning emulator's hook."""
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone.__dict__.pop("_changing", None)
        for name, value in list(clone.__dict__.items()):
            clone.__dict__[name] = copy.deepcopy(value, memo)
        return clone


# Fields factory_reset restores (Manual 2.2 §3.9; API switch off, ref §10).
_FACTORY_RESET_FIELDS: Final = (
    "power_mode",
    "power_limit_w",
    "power_percent",
    "power_percent_mode",
    "power_target_w",
    "target_freq_percent",
    "pools",
    "led",
    "hostname",
    "proto",
    "netmask",
    "gateway",
    "dns",
    "fast_boot",
    "web_pools",
    "btminer_init",
    "temp_offset",
    "upfreq_speed",
    "poweroff_cool",
    "fan_zero_speed",
    "heat_mode",
    "timezone",
    "zonename",
    "log_server",
)


def default_state(
    profile: str,
    password: str = FACTORY_PASSWORD,
    *,
    mac: str | None = None,
    hostname: str | None = None,
) -> MinerState:
    """Factory state of the miner a profile models."""
    firmware = _PROFILE_FIRMWARE[profile]
    state = MinerState(
        password=password,
        model=firmware.model,
        firmware_version=firmware.version,
        api_version=firmware.api_version,
        power_limit_w=firmware.model.default_power_limit_w,
    )
    if mac is not None:
        state.mac = mac
    if hostname is not None:
        state.hostname = hostname
    return state


@dataclass
class Faults:
    """Switchable faults and limits; all faults default off. Change them any time.

    ``offline`` takes effect at once: assigning it closes or reopens the listening
    socket (clients see ``ConnectionRefusedError``); ``set_offline()`` does the same.
    """

    offline: bool = False
    stall: bool = False  # decode and record the request, then never reply
    stall_seconds: float | None = None  # None: hold stalled connections until stop()
    garbage: bool = False  # reply with non-JSON bytes
    truncate: bool = False  # send the first half of the reply, then close
    trailing_nul: bool = False
    trailing_newline: bool = False
    json_defects: bool = False  # the 2.0.4 defects in any profile
    btminer_down: bool = False  # cgminer-family reads answer BTMINER_DOWN_TEXT
    no_reply_commands: set[str] = field(default_factory=lambda: set(DEFAULT_NO_REPLY))
    hang_commands: set[str] = field(default_factory=set)  # act, then never reply
    latency: float = 0.0  # real seconds before each reply
    reboot_seconds: float = 0.5  # emulator-clock seconds the miner is unreachable
    btminer_restart_seconds: float = 0.5
    # Reads of the cgminer family during a btminer restart: "down" (raw text) or
    # "reduced" (no hashrate, idle power); None = "down" on 2.0.4, else "reduced".
    btminer_restart_reads: Literal["down", "reduced"] | None = None
    tokens_per_ip: int = 32  # ref §3.6
    token_ips: int | None = None  # 16 in Manuals 2.0.4/2.0.5
    tokens_total: int | None = None  # 100 in Manual 2.2
    token_lifetime: float = 1800.0
    token_timeout: int | None = None  # Manual 2.2 Msg.timeout: 0 = never, >0 idle s
    old_token_limit_message: bool = False  # "over max connect" instead of Code 136
    idle_timeout: float = 10.0
    strict_base64: bool = False  # bad base64 -> Code 137 instead of 23
    download_logs_mode: Literal["normal", "split", "merged"] = "normal"
    preheat_seconds: float = 1.0  # pre_power_on completes after this long
    error_reply_max_bytes: int = 4096  # get_error_code cut here when defective
    max_join: int = 3
    # Firmware that refuses every encrypted request while the API switch is off,
    # reads included (unknown on real firmware; both behaviours are modelled).
    switch_gates_encrypted_reads: bool = False
    # Firmware that lacks these commands (Code 14) or refuses them (Code 132).
    unsupported_commands: set[str] = field(default_factory=set)
    # Firmware before API 2.0.4 lists errors in summary (Manual 1.3.8 §3.1);
    # combine with unsupported_commands={"get_error_code"}.
    errors_in_summary: bool = False
    rejected_commands: set[str] = field(default_factory=set)
    # The reduced v2 API that v3 firmware keeps on 4028 (ref §1, §5.2): reads work,
    # every write is refused like a switched-off write API (issue 6; Inference).
    refuse_writes: bool = False
    _observer: Callable[[str], None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        observer = self.__dict__.get("_observer")
        if observer is not None and name == "offline":
            observer(name)


@dataclass(frozen=True, slots=True)
class ReceivedCommand:
    """One decoded request, as recorded in ``WhatsminerV2Emulator.received``."""

    cmd: str
    params: dict[str, Any]
    encrypted: bool
    peer: str


# ------------------------------------------------------------------ internal types


class _BadParam(ValueError):
    """A write parameter is missing or out of range (Code 132)."""


@dataclass(slots=True)
class _Request:
    cmd: str
    params: dict[str, Any]
    encrypted: bool
    peer: str
    token: object = None
    aes_key: bytes | None = None

    def arg(self, name: str) -> object:
        return self.params.get(name)

    @property
    def param(self) -> object:
        return self.params.get("param", self.params.get("parameter"))


@dataclass(slots=True)
class _Reply:
    body: str | bytes | None  # None: close without replying
    plain: bool = False  # never encrypt (pre-decryption errors, raw text)
    payload: bytes | None = None  # second phase after ~10 ms (download_logs)
    upload: bool = False  # expect a firmware image on this connection
    hang: bool = False  # never reply, hold the connection
    then: Callable[[], None] | None = None  # once this connection is done (reboot)


@dataclass(slots=True)
class _Token:
    sign: str
    issued: float
    last_used: float


@dataclass(frozen=True, slots=True)
class _Board:
    ths: float
    freq: int
    temp: float
    chip_min: float
    chip_avg: float
    chip_max: float
    accepted: int


@dataclass(frozen=True, slots=True)
class _Telemetry:
    hashing: bool
    ths: float
    target_ths: float
    power_w: int
    freq: int
    target_freq: int
    boards: tuple[_Board, ...]
    fan_in: int
    fan_out: int
    psu_fan: int
    psu_temp: float
    elapsed: int
    uptime: int
    accepted: int
    rejected: int
    stable_seconds: int


# ------------------------------------------------------------------------ helpers


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


@functools.lru_cache(maxsize=64)
def _md5_body(secret: str, salt: str) -> str:
    return md5_crypt(secret, salt).rsplit("$", 1)[1]


def _aes_key(password: str, salt: str) -> bytes:
    """Return aeskey: SHA-256 of the md5-crypt body, raw digest (ref §3.2 step 5)."""
    return hashlib.sha256(_md5_body(password, salt).encode()).digest()


def _encrypt(body: bytes, key: bytes) -> bytes:
    """``{"enc":"<b64>"}`` with zero padding, as firmware replies (ref §4.2)."""
    padded = body + b"\0" * (-len(body) % 16)
    cipher = base64.b64encode(AES.new(key, AES.MODE_ECB).encrypt(padded))
    return b'{"enc":"' + cipher + b'"}'


def _object_end(data: bytes | bytearray) -> int | None:
    """End of the first complete JSON object: None if incomplete, -1 if no object."""
    depth = 0
    in_string = escaped = False
    for index, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x7B:  # {
            depth += 1
        elif depth == 0:
            if byte not in b" \t\r\n":
                return -1
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def _first_object(data: bytes) -> dict[str, Any] | None:
    """Parse the first JSON object, ignoring padding or garbage after it (ref §4.1)."""
    text = data.decode("utf-8", errors="replace").lstrip()
    try:
        obj, _ = json.JSONDecoder(strict=False).raw_decode(text)
    except ValueError, RecursionError:
        return None
    return obj if isinstance(obj, dict) else None


def _refuse(_request: _Request) -> _Reply:
    raise _BadParam("refused by the firmware (Faults.rejected_commands)")


def _int_arg(req: _Request, name: str, low: int, high: int) -> int:
    value = req.arg(name)
    if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
        number = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        raise _BadParam(f"{name} is not an integer: {value!r}")
    if not low <= number <= high:
        raise _BadParam(f"{name} out of range {low}..{high}: {number}")
    return number


def _text_arg(
    req: _Request,
    name: str,
    *,
    max_len: int = 127,
    pattern: re.Pattern[str] | None = None,
) -> str:
    value = req.arg(name)
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise _BadParam(f"{name} must be a string of 1..{max_len} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise _BadParam(f"{name} has invalid characters")
    return value


def _choice_arg(req: _Request, name: str, choices: frozenset[str]) -> str:
    value = req.arg(name)
    if not isinstance(value, str) or value not in choices:
        raise _BadParam(f"{name} must be one of {sorted(choices)}")
    return value


def _ipv4_arg(req: _Request, name: str) -> str:
    value = _text_arg(req, name, max_len=15)
    try:
        ipaddress.IPv4Address(value)
    except ValueError as err:
        raise _BadParam(f"{name} is not an IPv4 address") from err
    return value


def _redacted(params: dict[str, Any]) -> dict[str, Any]:
    return {k: "***" if k in _SECRET_PARAMS else v for k, v in params.items()}


def _approach(
    value: float, target: float, seconds: float, warming_tau: float, cooling_tau: float
) -> float:
    """First-order approach of ``value`` to ``target`` over ``seconds``."""
    tau = warming_tau if target > value else cooling_tau
    if tau <= 0:
        return target
    return target + (value - target) * math.exp(-seconds / tau)


def _r2(value: float) -> float:
    return round(value, 2)


def _stratum_host(url: str) -> str:
    host = url.split("://", 1)[-1]
    return host.rsplit(":", 1)[0] if ":" in host else host


def _clock_text(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when))


_Handler = Callable[[_Request], _Reply]


# ----------------------------------------------------------------------- emulator


class WhatsminerV2Emulator:
    """A Whatsminer listening on ``host:port`` and speaking API v2."""

    def __init__(
        self,
        password: str = FACTORY_PASSWORD,
        profile: str = "2.2",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        mac: str | None = None,
        hostname: str | None = None,
        noise: bool = False,
        seed: int = 0,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; expected one of {PROFILES}")
        self.profile = profile
        self.host = host
        self.port = port
        # The temperatures' rise above the intake air (the boards', then the
        # PSU's) as of ``_heat_at``; None until first needed.
        self._heat: tuple[float, ...] | None = None
        self._heat_at = 0.0
        self._heat_held = False  # state changes that take effect at _heat_at
        self._started = False
        self.state = default_state(profile, password, mac=mac, hostname=hostname)
        self._faults = Faults()
        self._faults._observer = self._on_fault_change
        self.received: list[ReceivedCommand] = []
        self.connections_total = 0
        self.max_concurrent_connections = 0
        self.tokens_issued = 0
        # Looked up at each call, so freezegun's patched time.time is seen too.
        self.now: Callable[[], float] = lambda: time.time()  # noqa: PLW0108
        self.make_newsalt: Callable[[], str] = random_salt
        self.upgrade_firmware_version: str | None = None  # None: dated from clock
        self.noise = noise
        self.rng = random.Random(seed)
        self._clock_offset = 0.0
        self._tokens: dict[str, list[_Token]] = {}
        self._open_connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._holding: set[asyncio.StreamWriter] = set()
        self._client_socks: set[socket.socket] = set()
        self._listener = SwitchableListener(host, port, self._accepted)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        self._reboot_until: float | None = None
        self._btminer_down_until = float("-inf")
        self._pending_firmware: str | None = None
        self._reads: dict[str, _Handler] = {
            "summary": self._text_read(self._summary),
            "pools": self._text_read(self._pools),
            "edevs": self._text_read(self._devs),
            "devs": self._text_read(self._devs),
            "devdetails": self._text_read(self._devdetails),
            "get_psu": self._text_read(self._get_psu),
            "get_version": self._text_read(self._get_version),
            "status": self._text_read(self._status),
            "get_miner_info": self._get_miner_info,
            "get_error_code": self._text_read(self._get_error_code),
        }
        self._writes: dict[str, _Handler] = self._write_table()

    # ------------------------------------------------------------ public API

    @property
    def state(self) -> MinerState:
        """Everything the miner remembers (shared with the v3 side, if any)."""
        return self._state

    @state.setter
    def state(self, state: MinerState) -> None:
        old = self.__dict__.get("_state")
        if old is not None and old is not state:
            old.__dict__.pop("_changing", None)
        object.__setattr__(state, "_changing", self._state_changing)
        self._state = state

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._faults._observer = None
        self._faults = faults
        faults._observer = self._on_fault_change
        self._sync_listener()

    def is_rebooting(self) -> bool:
        """Whether a reboot keeps the miner unreachable right now."""
        self._tick()
        return self._reboot_until is not None

    def is_btminer_restarting(self) -> bool:
        """Whether btminer is restarting after a power-mode or limit change."""
        return self._restarting(self._time())

    def power_w(self) -> int:
        """The power the miner draws now (W): what it reports, and heats with."""
        self._tick()
        return self._telemetry().power_w

    def commands(self) -> list[str]:
        """Names of the decoded commands, in arrival order."""
        return [received.cmd for received in self.received]

    def live_tokens(self, peer: str | None = None) -> int:
        """Number of unexpired tokens, for one client IP or all."""
        self._purge_tokens(self._time())
        if peer is not None:
            return len(self._tokens.get(peer, []))
        return sum(len(tokens) for tokens in self._tokens.values())

    def clear_tokens(self) -> None:
        self._tokens.clear()

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward without sleeping (adds to ``now()``)."""
        self._clock_offset += seconds
        self._tick()

    async def set_offline(self, offline: bool) -> None:
        """Stop (or resume) listening; the change is immediate either way."""
        self.faults.offline = offline
        await asyncio.sleep(0)

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        now = self._time()
        if not self.state.boot_time:
            self.state.boot_time = now - 3600.0  # a miner that has been running
            self.state.btminer_started_at = now - 3000.0
        self._listener.open(self._loop)  # fixes the port even when starting offline
        self.port = self._listener.port
        self._started = True
        self._sync_listener()
        _LOGGER.info(
            "Whatsminer v2 emulator (profile %s, %s) on %s:%s",
            self.profile,
            self.state.model.name,
            self.host,
            self.port,
        )

    async def stop(self) -> None:
        """Close the listener and every client connection; wait for all tasks."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._listener.close()
        if self._stop_event is not None:
            self._stop_event.set()
        for _ in range(3):  # let accepted-but-unstarted handlers see _stopping
            await asyncio.sleep(0)
        # Each handler closes its connection as it ends. Finished tasks leave the
        # set only when their done-callback runs, hence the filter.
        await cancel_all(self._tasks)
        for conn in list(self._client_socks):
            conn.close()
        self._client_socks.clear()
        await asyncio.sleep(0)  # let transports run connection_lost
        self._started = self._stopping = False

    async def __aenter__(self) -> WhatsminerV2Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --------------------------------------------------------------- clock

    def _time(self) -> float:
        return self.now() + self._clock_offset

    def _when(self) -> int:
        return int(self._time())

    def _restarting(self, now: float) -> bool:
        return now < self._btminer_down_until

    def _tick(self) -> None:
        """Apply clock-driven transitions (end of a reboot) and the listen state."""
        if self._reboot_until is not None and self._time() >= self._reboot_until:
            self._finish_reboot(self._reboot_until)
        self._sync_listener()

    # ------------------------------------------------------------ listener

    def _on_fault_change(self, _name: str) -> None:
        self._sync_listener()

    def _wants_listener(self) -> bool:
        return not self._faults.offline and self._reboot_until is None

    def _sync_listener(self) -> None:
        if not self._started or self._stopping:
            return
        assert self._loop is not None
        if not self._listener.switch(self._loop, self._wants_listener()):
            self._ensure_watcher()
        self.port = self._listener.port

    def _accepted(self, conn: socket.socket, peer: str) -> None:
        self.connections_total += 1
        self._open_connections += 1
        self.max_concurrent_connections = max(
            self.max_concurrent_connections, self._open_connections
        )
        self._client_socks.add(conn)
        self._spawn(self._handle(conn, peer))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ensure_watcher(self) -> None:
        """Poll the clock while a reboot (or a failed re-listen) is pending."""
        if self._watcher is None or self._watcher.done():
            self._watcher = self._spawn(self._watch())

    async def _watch(self) -> None:
        while self._reboot_until is not None or (
            self._wants_listener() and not self._listener.listening
        ):
            await asyncio.sleep(0.02)
            self._tick()

    # ---------------------------------------------------------- connection

    async def _handle(self, conn: socket.socket, peer: str) -> None:
        writer: asyncio.StreamWriter | None = None
        then: Callable[[], None] | None = None
        try:
            self._tick()
            if self._stopping or not self._wants_listener():
                reset_socket(conn)
                return
            reader, writer = await asyncio.open_connection(
                sock=conn, limit=MAX_REQUEST_BYTES
            )
            self._writers.add(writer)
            then = await self._converse(reader, writer, peer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as err:
            _LOGGER.debug("Connection from %s ended: %r", peer, err)
        except Exception:
            _LOGGER.exception("Emulator error while serving %s", peer)
        finally:
            self._open_connections -= 1
            if writer is not None:
                self._writers.discard(writer)
                self._holding.discard(writer)
            if then is not None and not self._stopping:
                then()  # e.g. a reboot: in effect before the client sees EOF
            if writer is not None:
                await close_writer(writer)
            else:
                conn.close()
            self._client_socks.discard(conn)

    async def _converse(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> Callable[[], None] | None:
        received = await self._read_request(reader)
        if received is None:
            return None
        raw, leftover = received
        reply, request = self._process(raw, peer)
        return await self._deliver(reader, writer, reply, request, leftover)

    async def _read_request(
        self, reader: asyncio.StreamReader
    ) -> tuple[bytes, bytes] | None:
        """Buffer until one JSON object is complete; None on silence or empty EOF."""
        buffer = bytearray()
        while True:
            try:
                chunk = await asyncio.wait_for(
                    reader.read(4096), self._faults.idle_timeout
                )
            except TimeoutError:
                _LOGGER.debug(
                    "No complete request within %ss", self._faults.idle_timeout
                )
                return None
            if not chunk:
                return (bytes(buffer), b"") if buffer.strip() else None
            buffer += chunk
            end = _object_end(buffer)
            if end is not None and end > 0:
                return bytes(buffer[:end]), bytes(buffer[end:])
            if end == -1 or len(buffer) > MAX_REQUEST_BYTES:
                return bytes(buffer), b""

    async def _deliver(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reply: _Reply,
        request: _Request | None,
        leftover: bytes,
    ) -> Callable[[], None] | None:
        if reply.hang:
            if reply.then is not None:  # e.g. reboot: this socket alone stays open
                self._holding.add(writer)
                reply.then()
            await self._hold()
            return None
        if reply.body is None:
            return reply.then
        data = self._wire(reply, request)
        if self._faults.latency > 0:
            await asyncio.sleep(self._faults.latency)
        if self._faults.garbage or self._faults.truncate:
            cut = data[: max(1, len(data) // 2)]
            writer.write(GARBAGE_REPLY if self._faults.garbage else cut)
            await writer.drain()
            return reply.then
        if reply.payload is not None:
            await self._send_two_phase(writer, data, reply.payload)
        elif reply.upload:
            writer.write(data)
            await writer.drain()
            return (
                self._begin_reboot
                if await self._receive_image(reader, leftover)
                else None
            )
        else:
            writer.write(data + self._trailer())
            await writer.drain()
        return reply.then

    def _wire(self, reply: _Reply, request: _Request | None) -> bytes:
        assert reply.body is not None
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        if request is not None and request.aes_key is not None and not reply.plain:
            return _encrypt(body, request.aes_key)
        return body

    def _trailer(self) -> bytes:
        return (b"\0" if self._faults.trailing_nul else b"") + (
            b"\n" if self._faults.trailing_newline else b""
        )

    async def _hold(self) -> None:
        """Say nothing until stop() (or ``stall_seconds``)."""
        assert self._stop_event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), self._faults.stall_seconds)

    async def _send_two_phase(
        self, writer: asyncio.StreamWriter, header: bytes, payload: bytes
    ) -> None:
        """download_logs: header, ~10 ms, then the raw bytes (ref §2.4)."""
        mode = self._faults.download_logs_mode
        if mode == "merged":
            writer.write(header + payload)
        else:
            if mode == "split":
                writer.write(header[: len(header) // 2])
                await writer.drain()
                await asyncio.sleep(LOG_PAUSE_SECONDS / 2)
                header = header[len(header) // 2 :]
            writer.write(header)
            await writer.drain()
            await asyncio.sleep(LOG_PAUSE_SECONDS)
            writer.write(payload)
        await writer.drain()

    async def _receive_image(
        self, reader: asyncio.StreamReader, leftover: bytes
    ) -> bool:
        """update_firmware: 4-byte LE size, then the image, same socket (ref §2.4)."""
        buffer = bytearray(leftover.removeprefix(b"\n"))
        timeout = self._faults.idle_timeout
        while len(buffer) < 4:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                return False
            buffer += chunk
        (size,) = struct.unpack("<I", bytes(buffer[:4]))
        if size > MAX_FIRMWARE_BYTES:
            _LOGGER.warning("Firmware image of %d bytes refused", size)
            return False
        del buffer[:4]
        while len(buffer) < size:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                _LOGGER.warning(
                    "Firmware upload cut at %d of %d bytes", len(buffer), size
                )
                return False
            buffer += chunk
        self.state.firmware_images.append(bytes(buffer[:size]))
        self._pending_firmware = self.upgrade_firmware_version or time.strftime(
            "%Y%m%d.30.REL", time.gmtime(self._time())
        )
        _LOGGER.info("Firmware image of %d bytes received; rebooting", size)
        return True

    # ------------------------------------------------------------ decoding

    def _process(self, raw: bytes, peer: str) -> tuple[_Reply, _Request | None]:
        obj = _first_object(raw)
        if obj is None:
            return _Reply(self._error(23, "json load err"), plain=True), None
        key: bytes | None = None
        if "enc" in obj:
            decrypted = self._decrypt(obj)
            if isinstance(decrypted, _Reply):
                return decrypted, None
            obj, key = decrypted
        request = self._make_request(obj, peer, key)
        self._record(request)
        if self._faults.stall:
            return _Reply(None, hang=True), request
        return self._dispatch(request), request

    def _decrypt(self, obj: dict[str, Any]) -> tuple[dict[str, Any], bytes] | _Reply:
        """Decrypt ``{"enc":1,"data":…}``; failures are plaintext errors (ref §4.2)."""
        data = obj.get("data")
        if not isinstance(data, str):
            return _Reply(self._error(23, "enc json load err"), plain=True)
        try:
            raw = base64.b64decode("".join(data.split()), validate=True)
        except binascii.Error, ValueError:
            if self._faults.strict_base64:
                return _Reply(self._error(137, "base64 decode err"), plain=True)
            return _Reply(self._error(23, "enc json load err"), plain=True)
        key = _aes_key(self.state.password, self.state.salt)
        if not raw or len(raw) % 16:
            return _Reply(self._error(23, "enc json load err"), plain=True)
        decoded = _first_object(AES.new(key, AES.MODE_ECB).decrypt(raw))
        if decoded is None:
            return _Reply(self._error(23, "enc json load err"), plain=True)
        return decoded, key

    @staticmethod
    def _make_request(obj: dict[str, Any], peer: str, key: bytes | None) -> _Request:
        cmd = obj.get("cmd", obj.get("command"))
        params = {k: v for k, v in obj.items() if k not in ("cmd", "command", "token")}
        return _Request(
            cmd=cmd if isinstance(cmd, str) else "",
            params=params,
            encrypted=key is not None,
            peer=peer,
            token=obj.get("token"),
            aes_key=key,
        )

    def _record(self, request: _Request) -> None:
        self.received.append(
            ReceivedCommand(
                request.cmd, request.params, request.encrypted, request.peer
            )
        )
        _LOGGER.info(
            "%s %s%s %s",
            request.peer,
            request.cmd or "<no cmd>",
            " (encrypted)" if request.encrypted else "",
            _redacted(request.params),
        )

    def _dispatch(self, request: _Request) -> _Reply:
        if request.encrypted and not self._check_token(request):
            return _Reply(self._error(135, "check token err"))
        cmd = request.cmd
        if "+" in cmd:
            return self._join(request)
        if cmd == "get_token" and not request.encrypted:
            return self._get_token(request)
        if cmd in self._reads:
            return self._read(request)
        if cmd in PROFILE_WRITES[self.profile]:
            return self._write(request)
        return _Reply(self._error(14, "invalid cmd"))

    # ------------------------------------------------------------- envelopes

    def _flat(self, msg: object, code: int = 131, when: int | None = None) -> str:
        return _dumps(
            {
                "STATUS": "S",
                "When": self._when() if when is None else when,
                "Code": code,
                "Msg": msg,
                "Description": self.state.description,
            }
        )

    def _error(self, code: int, msg: str) -> str:
        return _dumps(
            {
                "STATUS": "E",
                "When": self._when(),
                "Code": code,
                "Msg": msg,
                "Description": self.state.description,
            }
        )

    def _ok(self) -> _Reply:
        return _Reply(self._flat("API command OK"))

    def _cgminer(
        self, code: int, msg: str, key: str, rows: list[dict[str, Any]], *, loose: bool
    ) -> str:
        """cgminer-family reply; ``loose`` closes each row with ``,}`` (ref §6 #2)."""
        status = _dumps(
            [
                {
                    "STATUS": "S",
                    "When": self._when(),
                    "Code": code,
                    "Msg": msg,
                    "Description": "btminer",
                }
            ]
        )
        rendered = [_dumps(row) for row in rows]
        if loose:
            rendered = [text[:-1] + ",}" for text in rendered]
        return f'{{"STATUS":{status},"{key}":[{",".join(rendered)}],"id":1}}'

    @property
    def _defective(self) -> bool:
        return self.profile == "2.0.4" or self._faults.json_defects

    # ----------------------------------------------------------------- tokens

    def _token_alive(self, token: _Token, now: float) -> bool:
        timeout = self._faults.token_timeout
        if timeout is None:
            return now - token.issued < self._faults.token_lifetime
        return timeout == 0 or now - token.last_used < timeout

    def _purge_tokens(self, now: float) -> None:
        for peer in list(self._tokens):
            live = [t for t in self._tokens[peer] if self._token_alive(t, now)]
            if live:
                self._tokens[peer] = live
            else:
                del self._tokens[peer]

    def _token_budget_left(self, peer: str) -> bool:
        faults = self._faults
        if len(self._tokens.get(peer, [])) >= faults.tokens_per_ip:
            return False
        if (
            faults.tokens_total is not None
            and self.live_tokens() >= faults.tokens_total
        ):
            return False
        return not (
            faults.token_ips is not None
            and peer not in self._tokens
            and len(self._tokens) >= faults.token_ips
        )

    def _get_token(self, request: _Request) -> _Reply:
        """Code 134 with the fixed salt, a fresh newsalt and 4-digit time (ref §3)."""
        now = self._time()
        self._purge_tokens(now)
        if not self._token_budget_left(request.peer):
            if self._faults.old_token_limit_message:
                return _Reply(self._error(132, "over max connect"), plain=True)
            return _Reply(self._error(136, "token over max times"), plain=True)
        time4 = f"{int(now) % 10000:04d}"
        newsalt = self.make_newsalt()
        key = _md5_body(self.state.password, self.state.salt)
        token = _Token(_md5_body(key + time4, newsalt), now, now)
        self._tokens.setdefault(request.peer, []).append(token)
        self.tokens_issued += 1
        msg: dict[str, str] = {}
        if self._faults.token_timeout is not None:
            msg["timeout"] = str(self._faults.token_timeout)
        msg |= {"time": time4, "salt": self.state.salt, "newsalt": newsalt}
        # One instant for "time" and "When": they must agree (ref §3.2).
        return _Reply(self._flat(msg, 134, when=int(now)))

    def _check_token(self, request: _Request) -> bool:
        now = self._time()
        self._purge_tokens(now)
        sign = request.token if isinstance(request.token, str) else ""
        for token in self._tokens.get(request.peer, []):
            if hmac.compare_digest(token.sign.encode(), sign.encode()):
                token.last_used = now
                return True
        return False

    # ------------------------------------------------------------------ reads

    def _text_read(self, build: Callable[[], str]) -> _Handler:
        return lambda _request: _Reply(build())

    def _btminer_text(self, cmd: str) -> bool:
        """Whether a read answers the raw "btminer down" text right now.

        Only the cgminer family is forwarded to btminer (ref §5.1); ``get_*`` and
        ``status`` are answered by the API daemon, which is how a client learns
        that btminer is off.
        """
        if cmd not in CGMINER_READS:
            return False
        if self._faults.btminer_down:
            return True
        mode = self._faults.btminer_restart_reads or (
            "down" if self.profile == "2.0.4" else "reduced"
        )
        return mode == "down" and self.is_btminer_restarting()

    def _read(self, request: _Request) -> _Reply:
        if request.cmd in self._faults.unsupported_commands:
            return _Reply(self._error(14, "invalid cmd"))
        if (
            request.encrypted
            and self._faults.switch_gates_encrypted_reads
            and not self.state.write_api_enabled
        ):
            return _Reply(self._error(45, "can't access write cmd"), plain=True)
        if self._btminer_text(request.cmd):
            return _Reply(BTMINER_DOWN_TEXT, plain=True)
        return self._reads[request.cmd](request)

    def _join(self, request: _Request) -> _Reply:
        """``a+b`` → ``{"a":[…],"b":[…],"id":1}``; get_*/status refused (ref §7.1)."""
        parts = request.cmd.split("+")
        if not 2 <= len(parts) <= self._faults.max_join or not all(
            part in CGMINER_READS for part in parts
        ):
            return _Reply(self._error(14, "invalid cmd"))
        if any(self._btminer_text(part) for part in parts):
            return _Reply(BTMINER_DOWN_TEXT, plain=True)
        bodies = []
        for part in parts:
            body = self._reads[part](request).body
            text = body.decode() if isinstance(body, bytes) else body or ""
            bodies.append(f'"{part}":[{text}]')
        return _Reply("{" + ",".join(bodies) + ',"id":1}')

    def _mining_power(self, now: float | None = None) -> float:
        """Input power btminer aims at, from mode, set_power, percentages and limit."""
        s = self.state
        base = float(s.power_target_w or s.model.mode_power_w(s.power_mode))
        base *= max(0.0, 1.0 + s.target_freq_percent / 100)
        base *= self._effective_percent(self._time() if now is None else now) / 100
        return max(0.0, min(base, float(s.power_limit_w)))

    def _hashing(self, now: float) -> bool:
        return (
            self.state.mining
            and not self._restarting(now)
            and self._reboot_until is None
        )

    # ----------------------------------------------------------- temperatures

    def _heat_targets(self, now: float) -> tuple[float, ...]:
        """Where the boards' and the PSU's rise above the intake air are heading."""
        s = self.state
        hashing = self._hashing(now)
        load = self._mining_power(now) / s.model.normal_power_w if hashing else 0.0
        # a temp_offset below 0 runs cooler
        heat = BOARD_RISE_PER_LOAD * load + 0.35 * s.temp_offset * load
        boards = tuple(
            heat + _BOARD_SKEW[index % 3] * load if hashing else BOARD_IDLE_RISE
            for index in range(len(s.model.board_factory_ghs))
        )
        return (*boards, PSU_IDLE_RISE + PSU_RISE_PER_LOAD * load)

    def _heat_breaks(self, start: float, end: float) -> list[float]:
        """Times in (start, end) at which the heat target changes by itself."""
        s = self.state
        breaks = {self._btminer_down_until}
        if s.normal_mode_ramp_s > 0 and s.power_percent_mode == "normal":
            steps = 8  # the normal-mode power ramp, in steps
            breaks.update(
                s.power_percent_set_at + s.normal_mode_ramp_s * step / steps
                for step in range(1, steps + 1)
            )
        return sorted(t for t in breaks if start < t < end)

    def _settle_heat(self, until: float | None = None) -> tuple[float, ...]:
        """The temperatures' rise above the intake air at ``until`` (default now).

        Exponential approach to the target of each stretch of time in which the
        target holds still: a state change is settled before it happens (the
        state's hook), btminer's restart end and the normal-mode power ramp split
        the stretch. Time never runs backwards here.
        """
        s = self.state
        until = self._time() if until is None else until
        instant = s.warming_tau_s <= 0 and s.cooling_tau_s <= 0
        heat = self._heat
        if heat is None or instant or len(heat) != len(self._heat_targets(until)):
            self._heat, self._heat_at = self._heat_targets(until), until
            return self._heat
        if until <= self._heat_at:
            return heat
        start = self._heat_at
        for end in (*self._heat_breaks(start, until), until):
            targets = self._heat_targets((start + end) / 2)
            heat = tuple(
                _approach(value, target, end - start, s.warming_tau_s, s.cooling_tau_s)
                for value, target in zip(heat, targets, strict=True)
            )
            start = end
        self._heat, self._heat_at = heat, until
        return heat

    def _state_changing(self, _name: str) -> None:
        if self._started and not self._heat_held:
            self._settle_heat()

    def _jitter(self) -> float:
        return self.rng.uniform(0.99, 1.01) if self.noise else 1.0

    def _telemetry(self) -> _Telemetry:
        s, model, now = self.state, self.state.model, self._time()
        hashing = self._hashing(now)
        heat = self._settle_heat(now)
        target_w = self._mining_power(now)
        mining_w = target_w if hashing else 0.0
        load = mining_w / model.normal_power_w
        hash_ratio = load**0.9 if mining_w > 0 else 0.0
        factory_ths = model.factory_ghs / 1000
        ths = factory_ths * hash_ratio * self._jitter()
        elapsed = max(0, int(now - s.btminer_started_at)) if hashing else 0
        accepted = int(elapsed * ths * SHARES_PER_TH_SECOND)
        fan = self._fan_rpm(load, hashing, now)
        return _Telemetry(
            hashing=hashing,
            ths=ths,
            target_ths=factory_ths * (target_w / model.normal_power_w) ** 0.9,
            power_w=max(IDLE_POWER_W, round(mining_w * self._jitter())),
            freq=int(model.freq_mhz * hash_ratio),
            target_freq=int(model.freq_mhz * (target_w / model.normal_power_w) ** 0.9),
            boards=self._boards(ths, hash_ratio, load, hashing, accepted, heat=heat),
            fan_in=fan,
            fan_out=max(0, fan - 30),
            psu_fan=int(2000 + 4500 * load),
            psu_temp=_r2(s.env_temp + heat[-1]),
            elapsed=elapsed,
            uptime=max(0, int(now - s.boot_time)),
            accepted=accepted,
            rejected=accepted // 700,
            stable_seconds=(
                HASH_STABLE_FAST_BOOT_SECONDS if s.fast_boot else HASH_STABLE_SECONDS
            )
            // (1 + s.upfreq_speed),
        )

    def _boards(
        self,
        ths: float,
        hash_ratio: float,
        load: float,
        hashing: bool,
        accepted: int,
        *,
        heat: tuple[float, ...],
    ) -> tuple[_Board, ...]:
        """Boards at ``env_temp + heat``; their chips ahead by the load's share."""
        s, model = self.state, self.state.model
        boards = []
        for index, ghs in enumerate(model.board_factory_ghs):
            temp = (s.env_temp + heat[index]) * self._jitter()
            boards.append(
                _Board(
                    ths=ths * ghs / model.factory_ghs,
                    freq=int(model.freq_mhz * hash_ratio)
                    + (3 * index if hashing else 0),
                    temp=_r2(temp),
                    chip_min=_r2(temp + 6 * load),
                    chip_avg=_r2(temp + 14 * load),
                    chip_max=_r2(temp + 26 * load),
                    accepted=accepted * ghs // model.factory_ghs,
                )
            )
        return tuple(boards)

    def _fan_rpm(self, load: float, hashing: bool, now: float) -> int:
        s = self.state
        if hashing:
            return min(7200, int(1800 + 2800 * load - 60 * s.temp_offset))
        cooling = s.mineroff_time is not None and now - s.mineroff_time < 120
        if s.poweroff_cool and cooling:
            return 2400
        return 0 if s.fan_zero_speed else 900

    def _windows(self, ths: float, unit: float) -> dict[str, float]:
        return {name: _r2(ths * factor * unit) for name, factor in _WINDOWS}

    def _summary(self) -> str:
        tel = self._telemetry()
        if self.profile == "v3compat":
            return self._flat(self._summary_v3compat(tel))
        row = self._summary_row(tel)
        if self.profile == "2.2":
            row["MAC"] = self.state.mac
        else:
            row["Firmware Version"] = self.state.firmware_version
        if self._faults.errors_in_summary:
            row["Error Code Count"] = len(self.state.error_codes)
            for index, (code, _since) in enumerate(self.state.error_codes):
                row[f"Error Code {index}"] = int(code)
        return self._cgminer(11, "Summary", "SUMMARY", [row], loose=False)

    def _summary_row(self, tel: _Telemetry) -> dict[str, Any]:
        """Fields in the order of Manual 2.0.4 §3.1; hashrates in MH/s."""
        s = self.state
        mhs = tel.ths * 1e6
        rejected_pct = (
            round(100 * tel.rejected / tel.accepted, 4) if tel.accepted else 0.0
        )
        return {
            "Elapsed": tel.elapsed,
            **self._windows(tel.ths, 1e6),
            "Accepted": tel.accepted,
            "Rejected": tel.rejected,
            "Total MH": round(mhs * tel.elapsed, 4),
            "Temperature": max(board.temp for board in tel.boards),
            "freq_avg": tel.freq,
            "Fan Speed In": tel.fan_in,
            "Fan Speed Out": tel.fan_out,
            "Power": tel.power_w,
            "Power Rate": _r2(tel.power_w / tel.ths) if tel.ths else 0.0,
            "Pool Rejected%": rejected_pct,
            "Pool Stale%": 0.0,
            "Last getwork": 0,
            "Uptime": tel.uptime,
            "Security Mode": 0,
            "Hash Stable": tel.hashing and tel.elapsed >= tel.stable_seconds,
            "Hash Stable Cost Seconds": min(tel.elapsed, tel.stable_seconds),
            "Hash Deviation%": round(100 * (tel.ths / tel.target_ths - 1), 4)
            if tel.ths and tel.target_ths
            else 0.0,
            "Target Freq": tel.target_freq,
            "Target MHS": int(tel.target_ths * 1e6),
            "Env Temp": _r2(s.env_temp),
            "Power Mode": s.power_mode,
            "Factory GHS": s.model.factory_ghs,
            "Power Limit": s.power_limit_w,
            "Chip Temp Min": min(board.chip_min for board in tel.boards),
            "Chip Temp Max": max(board.chip_max for board in tel.boards),
            "Chip Temp Avg": _r2(sum(b.chip_avg for b in tel.boards) / len(tel.boards)),
            "Debug": f"{float(s.temp_offset)}_{float(s.power_percent)}_{tel.freq}",
            "Btminer Fast Boot": "enable" if s.fast_boot else "disable",
        }

    def _summary_v3compat(self, tel: _Telemetry) -> dict[str, Any]:
        """v3 firmware's flat summary: TH/s, no chip temperatures (ref §5.2)."""
        row = self._summary_row(tel)
        for name in ("Total MH", "Chip Temp Min", "Chip Temp Max", "Chip Temp Avg"):
            del row[name]
        row |= self._windows(tel.ths, 1.0)
        row["Target MHS"] = _r2(tel.target_ths)
        row["MAC"] = self.state.mac
        return row

    def _devs(self) -> str:
        tel = self._telemetry()
        rows = [
            self._dev_row(index, board, tel) for index, board in enumerate(tel.boards)
        ]
        text = self._cgminer(
            9, f"{len(rows)} ASC(s)", "DEVS", rows, loose=self._defective
        )
        # Manual 2.0.4's Chip Data holds a raw line break (ref §6 #3).
        return text.replace("\\n", "\n") if self._defective else text

    def _dev_row(self, index: int, board: _Board, tel: _Telemetry) -> dict[str, Any]:
        s, model = self.state, self.state.model
        v3compat = self.profile == "v3compat"
        separator = "\n" if self._defective else "    "
        row: dict[str, Any] = {
            "ASC": index,
            "Slot": index,
            "Enabled": "Y",
            "Status": "Alive",
            "Temperature": board.temp,
            "Chip Frequency": board.freq,
            **self._windows(board.ths, 1.0 if v3compat else 1e6),
            "HS Factory" if self.profile == "2.0.4" else "Factory GHS": (
                model.board_factory_ghs[index]
            ),
            "Accepted": board.accepted,
            "Rejected": board.accepted // 700,
            "Last Valid Work": self._when() if tel.hashing else 0,
            "Upfreq Complete": int(tel.hashing and tel.elapsed >= tel.stable_seconds),
            "Effective Chips": model.chips_per_board,
            "PCB SN": f"{model.pcb_sn_prefix}{index}",
            "Chip Data": separator.join(model.chip_data),
        }
        if not v3compat:
            row |= {
                "Chip Temp Min": board.chip_min,
                "Chip Temp Max": board.chip_max,
                "Chip Temp Avg": board.chip_avg,
                "chip_vol_diff": 9 + s.temp_offset // 10,
            }
        return row

    def _devdetails(self) -> str:
        rows = [
            {
                "DEVDETAILS": index,
                "Name": "SM",
                "ID": index,
                "Driver": "bitmicro",
                "Kernel": "",
                "Model": self.state.model.name,
            }
            for index in range(len(self.state.model.board_factory_ghs))
        ]
        return self._cgminer(69, "Device Details", "DEVDETAILS", rows, loose=False)

    def _pools(self) -> str:
        tel = self._telemetry()
        rows = [
            self._pool_row(index, pool, tel)
            for index, pool in enumerate(self.state.pools)
        ]
        return self._cgminer(
            7, f"{len(rows)} Pool(s)", "POOLS", rows, loose=self._defective
        )

    def _pool_row(
        self, index: int, pool: tuple[str, str, str], tel: _Telemetry
    ) -> dict[str, Any]:
        url, worker, _ = pool
        active = index == 0 and tel.hashing
        accepted = tel.accepted if index == 0 else 0
        rejected = tel.rejected if index == 0 else 0
        return {
            "POOL": index + 1,
            "URL": url,
            "Status": "Alive",
            "Priority": index,
            "Quota": 1,
            "Long Poll": "N",
            "Getworks": 1 + tel.elapsed // 30 if active else 0,
            "Accepted": accepted,
            "Rejected": rejected,
            "Works": 0,
            "Discarded": 0,
            "Stale": 0,
            "Get Failures": 0,
            "Remote Failures": 0,
            "User": worker,
            "Last Share Time": self._when() if active and accepted else 0,
            "Diff1 Shares": 0,
            "Proxy Type": "",
            "Proxy": "",
            "Difficulty Accepted": accepted * SHARE_DIFFICULTY,
            "Difficulty Rejected": rejected * SHARE_DIFFICULTY,
            "Difficulty Stale": 0.0,
            "Last Share Difficulty": SHARE_DIFFICULTY if accepted else 0.0,
            "Work Difficulty": SHARE_DIFFICULTY if active else 0.0,
            "Has Stratum": 1,
            "Stratum Active": active,
            "Stratum URL": _stratum_host(url),
            "Stratum Difficulty": SHARE_DIFFICULTY,
            "Best Share": 0,
            "Pool Rejected%": round(100 * rejected / accepted, 4) if accepted else 0.0,
            "Pool Stale%": 0.0,
            "Bad Work": 0,
            "Current Block Height": 0,
            "Current Block Version": 536870916,
        }

    def _get_psu(self) -> str:
        tel = self._telemetry()
        s = self.state
        fan = str(tel.psu_fan)
        temp = f"{tel.psu_temp:.1f}"
        msg = {
            "name": s.model.psu_model,
            "hw_version": "V01.00",
            "sw_version": "V01.00.V01.03",
            "model": s.model.psu_model,
            "iin": str(round(tel.power_w / 224.0 * 1000)),  # unit 1 mA
            "vin": "22400",  # unit 10 mV
            "pin": str(tel.power_w),
            "fan_speed": fan,
            "version": "-1",
            "serial_no": s.power_sn,
            "vendor": "7",
            "temp0": temp,
        }
        if not self._defective:
            return self._flat(msg)
        del msg["temp0"], msg["pin"]
        msg["vender"] = msg.pop("vendor")
        text = self._flat(msg)
        # Missing comma before "temp0" (ref §6 #4).
        anchor = f'"fan_speed":"{fan}",'
        return text.replace(anchor, f'"fan_speed":"{fan}""temp0":"{temp}",', 1)

    def _get_version(self) -> str:
        s = self.state
        msg = {"api_ver": s.api_version, "fw_ver": s.firmware_version}
        if self.profile != "2.0.4":
            msg |= {
                "platform": s.model.platform,
                "chip": "   ".join(s.model.chip_data),
                "miner_type": s.model.name,
            }
        return self._flat(msg)

    def _status(self) -> str:
        s = self.state
        firmware = f"'{s.firmware_version}'" if self._defective else s.firmware_version
        off = "false" if s.mining else "true"
        if self.profile == "2.0.4":  # bare object, no envelope (ref §5.3)
            return _dumps({"btmineroff": off, "Firmware Version": firmware})
        limit_set = (
            ""
            if s.power_limit_w == s.model.default_power_limit_w
            else str(s.power_limit_w)
        )
        msg = {
            "mineroff": off,
            "mineroff_reason": "",
            "mineroff_time": _clock_text(s.mineroff_time) if s.mineroff_time else "",
            "FirmwareVersion": firmware,
            "power_mode": s.power_mode.lower(),
            "power_limit_set": limit_set,
            "hash_percent": str(s.target_freq_percent),
        }
        return self._flat(msg)

    def _miner_info(self) -> dict[str, str]:
        s = self.state
        info = {
            "ip": s.ip,
            "proto": s.proto,
            "netmask": s.netmask,
            "gateway": s.gateway,
            "dns": s.dns,
            "hostname": s.hostname,
            "mac": s.mac,
            "ledstat": "auto" if s.led == "auto" else "manual",
        }
        if self.profile != "2.0.4":
            info |= {
                "minersn": s.miner_sn,
                "powersn": s.power_sn,
                "ut_speed": str(s.upfreq_speed),
            }
        return info

    def _get_miner_info(self, request: _Request) -> _Reply:
        """All fields, or those named in the comma-separated ``info`` selector."""
        info = self._miner_info()
        selector = request.arg("info")
        if selector is None:
            selector = request.param
        if isinstance(selector, str) and selector.strip():
            names = [name.strip() for name in selector.split(",")]
            info = {name: info[name] for name in names if name in info}
        return _Reply(self._flat(info))

    def _get_error_code(self) -> str:
        errors = self.state.error_codes
        if not self._defective:
            return self._flat({"error_code": [{code: when} for code, when in errors]})
        # The dict-like list of API 2.0.4 (ref §6 #6), cut when long (ref §6 #5).
        items = ",".join(f'"{code}":"{when}"' for code, when in errors)
        text = self._flat({"error_code": "@"}).replace('"@"', f"[{items}]")
        return text[: self._faults.error_reply_max_bytes]

    # ----------------------------------------------------------------- writes

    def _write(self, request: _Request) -> _Reply:
        if (
            not request.encrypted
            or not self.state.write_api_enabled
            or self._faults.refuse_writes
        ):
            return _Reply(self._error(45, "can't access write cmd"), plain=True)
        if request.cmd in self._faults.unsupported_commands:
            return _Reply(self._error(14, "invalid cmd"))
        handler = self._writes[request.cmd]
        if request.cmd in self._faults.rejected_commands:
            handler = _refuse
        try:
            reply = handler(request)
        except _BadParam as err:
            _LOGGER.info("%s rejected: %s", request.cmd, err)
            return _Reply(self._error(132, "API command ERROR"))
        if request.cmd in self._faults.hang_commands:
            reply.hang = True
        elif request.cmd in self._faults.no_reply_commands:
            reply.body, reply.payload, reply.upload = None, None, False
        return reply

    def _write_table(self) -> dict[str, _Handler]:
        table: dict[str, _Handler] = {
            "update_pools": self._update_pools,
            "restart_btminer": self._restart_btminer,
            "power_off": self._power_off,
            "power_on": self._power_on,
            "set_led": self._set_led,
            "set_low_power": self._power_mode("Low"),
            "set_normal_power": self._power_mode("Normal"),
            "set_high_power": self._power_mode("High"),
            "update_firmware": lambda _r: _Reply(self._flat("ready"), upload=True),
            "reboot": lambda _r: _Reply(
                self._flat("API command OK"), then=self._begin_reboot
            ),
            "factory_reset": self._factory_reset,
            "update_pwd": self._update_pwd,
            "net_config": self._net_config,
            "download_logs": self._download_logs,
            "set_target_freq": self._set_target_freq,
            "set_hostname": self._set_hostname,
            "set_zone": self._set_zone,
            "load_log": self._load_log,
            "set_power_pct": self._power_pct("fast"),
            "set_power_pct_v2": self._power_pct("normal"),
            "set_power": self._set_power,
            "restore_power_pct": self._restore_power_pct,
            "set_temp_offset": self._int_setting("temp_offset", "temp_offset", -30, 0),
            "adjust_power_limit": self._adjust_power_limit,
            "adjust_upfreq_speed": self._int_setting(
                "upfreq_speed", "upfreq_speed", 0, 9
            ),
            "set_poweroff_cool": self._flag_setting("poweroff_cool"),
            "set_fan_zero_speed": self._flag_setting("fan_zero_speed"),
            "set_heat_mode": self._set_heat_mode,
            "set_customer_msg": self._set_customer_msg,
            "get_customer_msg": self._get_customer_msg,
            "pre_power_on": self._pre_power_on,
        }
        for name, attribute, value in (
            ("enable_btminer_fast_boot", "fast_boot", True),
            ("disable_btminer_fast_boot", "fast_boot", False),
            ("enable_web_pools", "web_pools", True),
            ("disable_web_pools", "web_pools", False),
            ("enable_btminer_init", "btminer_init", True),
            ("disable_btminer_init", "btminer_init", False),
        ):
            table[name] = self._switch(attribute, value)
        return table

    def _switch(self, attribute: str, value: bool) -> _Handler:
        def handler(_request: _Request) -> _Reply:
            setattr(self.state, attribute, value)
            return self._ok()

        return handler

    def _int_setting(self, attribute: str, name: str, low: int, high: int) -> _Handler:
        def handler(request: _Request) -> _Reply:
            setattr(self.state, attribute, _int_arg(request, name, low, high))
            return self._ok()

        return handler

    def _flag_setting(self, name: str) -> _Handler:
        def handler(request: _Request) -> _Reply:
            setattr(self.state, name, bool(_int_arg(request, name, 0, 1)))
            return self._ok()

        return handler

    def _restart_btminer_now(self) -> None:
        """Stop btminer for ``btminer_restart_seconds``; it then starts afresh."""
        now = self._time()
        self._settle_heat(now)
        self._btminer_down_until = now + self._faults.btminer_restart_seconds
        self.state.btminer_started_at = self._btminer_down_until

    def _update_pools(self, request: _Request) -> _Reply:
        """All nine keys; "" (or null) for unused pools; effective at once."""
        pools = []
        for index in (1, 2, 3):
            values = []
            for key in (f"pool{index}", f"worker{index}", f"passwd{index}"):
                if key not in request.params:
                    raise _BadParam(f"missing {key}")
                value = request.params[key]
                if value is None:
                    value = ""
                if not isinstance(value, str) or len(value) > 255:
                    raise _BadParam(f"{key} must be a string of at most 255 characters")
                values.append(value)
            if values[0]:
                pools.append((values[0], values[1], values[2]))
        if not pools:
            raise _BadParam("no pool URL")
        self.state.pools = pools
        return self._ok()

    def _restart_btminer(self, _request: _Request) -> _Reply:
        self._restart_btminer_now()
        return self._ok()

    def _power_off(self, request: _Request) -> _Reply:
        """Replies first only with ``respbefore:"true"`` (ref §7.2)."""
        self.state.mining = False
        self.state.mineroff_time = self._time()
        return self._ok() if request.arg("respbefore") == "true" else _Reply(None)

    def _power_on(self, _request: _Request) -> _Reply:
        s = self.state
        if not s.mining:
            s.mining, s.mineroff_time = True, None
            s.btminer_started_at = self._time()
        s.preheat_started_at = None
        return self._ok()

    def _set_led(self, request: _Request) -> _Reply:
        if request.param == "auto":
            self.state.led = "auto"
            return self._ok()
        color = _choice_arg(request, "color", frozenset({"red", "green"}))
        period = _int_arg(request, "period", 1, 100_000)
        self.state.led = {
            "color": color,
            "period": period,
            "duration": _int_arg(request, "duration", 0, period),
            "start": _int_arg(request, "start", 0, period),
        }
        return self._ok()

    def _power_mode(self, mode: str) -> _Handler:
        def handler(_request: _Request) -> _Reply:
            self.state.power_mode = mode
            self._restart_btminer_now()
            return self._ok()

        return handler

    def _factory_reset(self, _request: _Request) -> _Reply:
        """Settings, password and API switch back to factory, then reboot."""
        fresh = default_state(self.profile)
        fresh.power_limit_w = self.state.model.default_power_limit_w
        for name in _FACTORY_RESET_FIELDS:
            setattr(self.state, name, getattr(fresh, name))
        self.state.password = FACTORY_PASSWORD
        self.state.salt = derive_salt(FACTORY_PASSWORD)
        self.state.write_api_enabled = False
        self._tokens.clear()
        return _Reply(self._flat("API command OK"), then=self._begin_reboot)

    def _update_pwd(self, request: _Request) -> _Reply:
        """``old`` must match; ``new``: ≤ 8 letters, digits, underscore (§3.10)."""
        old = request.arg("old")
        if not isinstance(old, str) or not hmac.compare_digest(
            old.encode(), self.state.password.encode()
        ):
            raise _BadParam("old password does not match")
        new = _text_arg(request, "new", max_len=8, pattern=_PASSWORD_RE)
        self.state.password, self.state.salt = new, derive_salt(new)
        self._tokens.clear()  # "the token must be acquired again"
        return self._ok()  # still encrypted with the old key (request.aes_key)

    def _net_config(self, request: _Request) -> _Reply:
        """``param:"dhcp"`` or ip/mask/gate/dns/host; the miner then restarts."""
        s = self.state
        if request.param == "dhcp":
            s.proto = "dhcp"
        else:
            ip, mask = _ipv4_arg(request, "ip"), _ipv4_arg(request, "mask")
            gate = _ipv4_arg(request, "gate")
            dns = _text_arg(request, "dns", max_len=127)
            for server in dns.split():
                try:
                    ipaddress.IPv4Address(server)
                except ValueError as err:
                    raise _BadParam("dns holds a non-IPv4 entry") from err
            host = _text_arg(request, "host", max_len=63, pattern=_HOSTNAME_RE)
            s.proto, s.ip, s.netmask, s.gateway = "static", ip, mask, gate
            s.dns, s.hostname = dns, host
        return _Reply(self._flat("API command OK"), then=self._begin_reboot)

    def _download_logs(self, _request: _Request) -> _Reply:
        log = self.state.log_text if self.state.log_text is not None else self._log()
        header = self._flat({"logfilelen": str(len(log))})
        return _Reply(header, payload=log)

    def _log(self) -> bytes:
        """A plausible syslog excerpt built from the current state."""
        s, now = self.state, self._time()
        events = [
            "kernel: Booting Linux on physical CPU 0x0",
            f"btminer[1432]: btminer {s.firmware_version} starting, model {s.model.name}",
            f"btminer[1432]: power mode {s.power_mode}, power limit {s.power_limit_w} W",
            *(
                f"btminer[1432]: pool {i} {url} user {w}"
                for i, (url, w, _) in enumerate(s.pools)
            ),
            *(f"btminer[1432]: board {i} detected" for i in range(3)),
            f"btminer[1432]: mining {'started' if s.mining else 'stopped'}",
        ]
        lines = [
            f"{_clock_text(s.boot_time + 5 * index)} {s.hostname} {event}"
            for index, event in enumerate(events * 8)
        ]
        return (
            "\n".join(lines) + f"\n{_clock_text(now)} {s.hostname} api: logs\n"
        ).encode()

    def _set_target_freq(self, request: _Request) -> _Reply:
        self.state.target_freq_percent = _int_arg(request, "percent", -100, 100)
        self._restart_btminer_now()  # "the miner will automatically restart"
        return self._ok()

    def _set_hostname(self, request: _Request) -> _Reply:
        """Applied at once (the manual: after the next network restart)."""
        self.state.hostname = _text_arg(
            request, "hostname", max_len=63, pattern=_HOSTNAME_RE
        )
        return self._ok()

    def _set_zone(self, request: _Request) -> _Reply:
        self.state.timezone = _text_arg(request, "timezone", max_len=63)
        self.state.zonename = _text_arg(request, "zonename", max_len=63)
        return self._ok()

    def _load_log(self, request: _Request) -> _Reply:
        ip = _ipv4_arg(request, "ip")
        port = _int_arg(request, "port", 1, 65535)
        proto = _choice_arg(request, "proto", frozenset({"tcp", "udp"}))
        self.state.log_server = (ip, str(port), proto)
        return self._ok()

    def _power_pct(self, mode: str) -> _Handler:
        def handler(request: _Request) -> _Reply:
            self.apply_power_percent(_int_arg(request, "percent", 0, 100), mode)
            return self._ok()

        return handler

    def apply_power_percent(self, percent: int, mode: str) -> None:
        """Run at ``percent`` from now (in normal mode over the ramp); both APIs."""
        s, now = self.state, self._time()
        s.power_percent_from = self._effective_percent(now)
        s.power_percent_set_at = now
        s.power_percent, s.power_percent_mode = percent, mode

    def _effective_percent(self, now: float) -> float:
        """The percent the miner runs at now: the set one, or on its way there."""
        s = self.state
        ramp = s.normal_mode_ramp_s
        if ramp <= 0 or s.power_percent_mode != "normal":
            return float(s.power_percent)
        done = min(1.0, max(0.0, (now - s.power_percent_set_at) / ramp))
        return s.power_percent_from + (s.power_percent - s.power_percent_from) * done

    def _set_power(self, request: _Request) -> _Reply:
        """Target input power in W (unit and range unknown, ref §13); 0 clears."""
        watts = _int_arg(request, "power", 0, 99_999)
        self.state.power_target_w = watts or None
        return self._ok()

    def _restore_power_pct(self, _request: _Request) -> _Reply:
        self.state.power_percent, self.state.power_percent_mode = 100, ""
        return self._ok()

    def _adjust_power_limit(self, request: _Request) -> _Reply:
        """0..99999 W; 99999 restores the default (ref §8.1); btminer restarts."""
        limit = _int_arg(request, "power_limit", 0, 99_999)
        if limit == 99_999:
            limit = self.state.model.default_power_limit_w
        self.state.power_limit_w = limit
        self._restart_btminer_now()
        return self._ok()

    def _set_heat_mode(self, request: _Request) -> _Reply:
        modes = frozenset({"anti-icing", "heating", "normal"})
        self.state.heat_mode = _choice_arg(request, "mode", modes)
        return self._ok()

    def _set_customer_msg(self, request: _Request) -> _Reply:
        key = _choice_arg(request, "key", _CUSTOMER_KEYS)
        value = request.arg("val")
        if not isinstance(value, str) or len(value) >= 128:
            raise _BadParam("val must be a string shorter than 128 characters")
        self.state.customer_msgs[key] = value
        return self._ok()

    def _get_customer_msg(self, _request: _Request) -> _Reply:
        """Reply shape unknown publicly (ref §13): Msg = the stored key/value pairs."""
        return _Reply(self._flat(dict(self.state.customer_msgs)))

    def _pre_power_on(self, _request: _Request) -> _Reply:
        """Preheat with mining off; complete after ``preheat_seconds`` (2.0.4 §2.22)."""
        s, now = self.state, self._time()
        if s.mining:
            raise _BadParam("pre_power_on needs mining off")
        if s.preheat_started_at is None:
            s.preheat_started_at = now
            complete, msg = "false", "wait for adjust temp"
        elif now - s.preheat_started_at >= self._faults.preheat_seconds:
            complete, msg = "true", "adjust complete"
        else:
            complete, msg = "false", "adjust continue"
        return _Reply(self._flat({"complete": complete, "msg": msg}))

    # ----------------------------------------------------------------- reboot

    def _begin_reboot(self) -> None:
        """Unreachable for ``reboot_seconds``; tokens and connections are lost.

        Only the connection of a command in ``hang_commands`` survives, so its
        client waits for its own timeout as with a real hung reboot.
        """
        if self._stopping or not self._started:
            return
        self._settle_heat()
        self._reboot_until = self._time() + max(0.0, self._faults.reboot_seconds)
        self._tokens.clear()
        for writer in self._writers - self._holding:
            abort_with_reset(writer)
        self._sync_listener()
        self._tick()
        if self._reboot_until is not None:
            self._ensure_watcher()

    def _finish_reboot(self, at: float) -> None:
        s = self.state
        self._settle_heat(at)  # cooling while it rebooted
        self._heat_held = True  # what follows happens at ``at``, not now
        try:
            self._reboot_until = None
            self._btminer_down_until = float("-inf")
            s.boot_time = s.btminer_started_at = at
            s.mining = s.btminer_init
            s.mineroff_time = None if s.mining else at
            s.preheat_started_at = None
            if self._pending_firmware is not None:
                s.firmware_version = self._pending_firmware
                self._pending_firmware = None
        finally:
            self._heat_held = False
        _LOGGER.info("Reboot finished (mining %s)", "on" if s.mining else "off")
