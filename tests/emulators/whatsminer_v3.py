"""Emulator of the MicroBT Whatsminer API v3 (TCP 4433, firmware of late 2024 on).

Written from the reference notes ``whatsminer.md`` (cited as "ref §N"; project notes outside this repository), the
reply fixtures it cites (asic-rs ``test/json/v3``) and MicroBT's own API v3
documentation (apidoc 3.0.x, cited as "apidoc"), not from Miner Hub's client.

One miner, two listeners, one state:

* 4433 (``port``): API v3. Every message in both directions is a 4-byte
  little-endian length and that many bytes of UTF-8 JSON (ref §9.1). A length of 0
  or above ``V3Faults.max_frame_bytes`` ends the connection (so does unframed
  JSON, whose first four bytes read as an absurd length). The connection closes
  after each reply unless ``keep_alive`` is set; ``V3Faults.idle_timeout`` (300 s,
  apidoc) closes a silent one.
* 4028 (``v2_port``, ``emu.v2``): the reduced v2 API v3 firmware keeps (ref §1,
  §5.2): a ``WhatsminerV2Emulator`` in the ``v3compat`` profile that shares the
  state, the clock and the reboots, answers reads and refuses every write
  (``emu.v2.faults.refuse_writes``; clear it to model the firmware on which
  asic-rs still writes through 4028). Its telemetry is the v3 replies' too:
  temperatures that lag the load (``state.warming_tau_s``,
  ``state.cooling_tau_s``) and ``up-freq-finish`` after ``HASH_STABLE_SECONDS``.

Reads (``get.*``) need no token. Writes (``set.*``) need ``ts`` (unix seconds,
within ``V3Faults.ts_skew`` of the miner clock), ``account`` and ``token`` =
``base64(sha256(cmd + password + salt + ts))[:8]``; anything wrong answers -4
``no permission`` (ref §9.3). ``set.miner.pools`` and ``set.user.change_passwd``
carry ``param`` as ``base64(AES-256-ECB(key = the SHA-256 digest, JSON))`` with
PKCS#7 or zero padding; anything else answers -1. Replies are
``{"code":…,"when":…,"msg":…,"desc":"<cmd>"}`` (ref §9.2).

Time is the shared emulator clock (``now`` plus ``advance()``), so ``ts``
freshness, reboots and btminer restarts are stepped without sleeping. Only
``latency``, ``idle_timeout``, fragment pauses and ``set.miner.report`` pushes use
real time.

Inferred where no source settles it (each switchable in ``V3Faults`` where it
matters): the 60 s ``ts`` window; a 0-length frame closes (the apidoc calls it a
heartbeat: ``heartbeat_frames``); one salt for both APIs, new when the super
password changes (as ref §3.4 for v2); the refused v2 writes answer like a
switched-off write API (Code 45); ``-1``/``-2``/``-3`` messages other than
``no permission``, ``invalid encrypted param`` and ``param item is null``; the
``get.miner.history`` records and the ``get.miner.report`` frame content.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
import hashlib
import hmac
import io
import ipaddress
import json
import logging
import math
import re
import socket
import struct
import tarfile
from typing import Any, Final

from Crypto.Cipher import AES

from ._listener import (
    SwitchableListener,
    abort_with_reset,
    cancel_all,
    close_writer,
    reset_socket,
)
from .whatsminer_v2 import (
    GARBAGE_REPLY,
    MinerModel,
    MinerState,
    WhatsminerV2Emulator,
    _clock_text,
    _Telemetry,
    derive_salt,
    random_salt,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_ACCOUNT: Final = "super"
# Vendor sample README and pyasic default (ref §9.3); the firmware's is Unknown.
V3_FACTORY_PASSWORD: Final = "super"
USER_ACCOUNTS: Final = ("user1", "user2", "user3")  # apidoc; super is `account`
V3_FIRMWARE: Final = "20251209.16.Rel2"  # asic-rs fixture
V3_API_VERSION: Final = "3.0.2"  # asic-rs fixture
MAX_FRAME_BYTES: Final = 64 * 1024  # firmware limit Unknown (ref §9.1)
MAX_FIRMWARE_BYTES: Final = 64 * 1024 * 1024
MAX_REPORT_GAP: Final = 285  # apidoc set.miner.report
HISTORY_STEP: Final = 600  # seconds between get.miner.history records
HISTORY_SPAN: Final = 86400  # apidoc: "cannot exceed 24 hours"

OK: Final = 0
FAIL: Final = -1
INVALID_COMMAND: Final = -2
PARAM_NULL: Final = -3
NO_PERMISSION: Final = -4

ENCRYPTED_PARAM_COMMANDS: Final = frozenset(
    {"set.miner.pools", "set.user.change_passwd"}
)
DEFAULT_NO_REPLY: Final = frozenset({"set.system.reboot"})  # tetherto v3 mock
STATUS_SECTIONS: Final = frozenset({"summary", "pools", "edevs"})
_CUSTOM_KEYS: Final = frozenset({"CustomerSn", *(f"msg{i}" for i in range(10))})
_COINTYPES: Final = frozenset({"BTC", "BCH", "BSV", "DCR", "HC", "DGB", "SHA256"})
_HEAT_MODES: Final = frozenset({"heating", "normal", "anti-freezing", "anti-icing"})
_HEADER: Final = struct.Struct("<I")
_HOSTNAME_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_PERCENT_RE: Final = re.compile(r"\s*[+-]?\d{1,3}\s*")
_TIMESTAMP_RE: Final = re.compile(r"\s*\d{1,12}(\.\d*)?\s*")
_DEFAULT_NTP: Final = (
    "0.cn.pool.ntp.org",
    "0.openwrt.pool.ntp.org",
    "0.asia.pool.ntp.org",
    "0.pool.ntp.org",
)


# --------------------------------------------------------------------------- model


# The miner of the asic-rs v3 fixtures: 181.051 TH/s factory, 625 MHz, 75 chips a
# board, limit 3600 W; the power per mode is an estimate (about 18.5 J/TH).
M60S_VK40: Final = MinerModel(
    name="M60S_VK40",
    board_factory_ghs=(60350, 60350, 60351),
    chips_per_board=75,
    freq_mhz=625,
    low_power_w=2900,
    normal_power_w=3344,
    high_power_w=3580,
    default_power_limit_w=3600,
    platform="H616",
    chip_data=("K8EC374-2426", "BINVE6-197806A"),
    psu_model="P221B",
    pcb_sn_prefix="BKM3CSE1404807K4275",
)


@dataclass
class V3MinerState(MinerState):
    """The v2 ``MinerState`` plus what only API v3 shows; shared by both listeners.

    ``password``/``salt`` belong to ``account`` (the super account) and serve both
    APIs; ``power_mode`` keeps the v2 spelling (``"Low"``/``"Normal"``/``"High"``);
    ``led`` is ``"auto"`` or the v3 list of flash patterns.
    """

    account: str = DEFAULT_ACCOUNT
    users: dict[str, str] = field(default_factory=dict)  # user1..user3 passwords
    permissions: dict[str, list[str]] = field(default_factory=dict)  # user: cmds
    api_v3_version: str = V3_API_VERSION
    control_board_version: str = "CB6V10"
    hash_board: str = "K40"
    psu_hw_version: str = "RT0159"
    psu_sw_version: str = "230224.220429"
    cointype: str = "BTC"
    pool_strategy: str = "FAILOVER"
    fast_hash: bool = False
    liquid_cooled: bool = False
    ntp_servers: list[str] = field(default_factory=lambda: list(_DEFAULT_NTP))
    time_randomized: tuple[int, int] = (0, 0)  # (start, stop) seconds
    error_reasons: dict[str, str] = field(default_factory=dict)  # code: reason


def default_v3_state(
    password: str = V3_FACTORY_PASSWORD,
    *,
    account: str = DEFAULT_ACCOUNT,
    model: MinerModel = M60S_VK40,
    mac: str | None = None,
    hostname: str | None = None,
) -> V3MinerState:
    """Factory state of a v3 miner (a freshly set up M60S by default)."""
    state = V3MinerState(
        password=password,
        account=account,
        model=model,
        firmware_version=V3_FIRMWARE,
        api_version="2.0.5",  # get_version on the reduced v2 API
        power_limit_w=model.default_power_limit_w,
        miner_sn="BTM3CS40HD2408310000000000012345",
        power_sn="1436B2429603097",
    )
    if mac is not None:
        state.mac = mac
    if hostname is not None:
        state.hostname = hostname
    return state


@dataclass
class V3Faults:
    """Switchable faults and firmware variants of the 4433 listener.

    ``offline`` (both ports) and ``v3_offline`` (4433 only) take effect at once.
    Reboot and btminer-restart durations apply to both APIs.
    """

    offline: bool = False
    v3_offline: bool = False  # 4433 refuses, the reduced v2 API still answers
    stall: bool = False  # decode and record the request, then never reply
    stall_seconds: float | None = None  # None: hold stalled connections until stop()
    garbage: bool = False  # unframed non-JSON bytes instead of the reply
    garbage_json: bool = False  # a well-framed reply whose body is not JSON
    truncate: bool = False  # announce the whole reply, send half, close
    fragment: bool = False  # reply in pieces of 2, 5 and the rest (mdk mock)
    latency: float = 0.0  # real seconds before each reply
    pretty_json: bool = False  # cJSON_Print layout (tabs) as in the apidoc examples
    ts_skew: float | None = 60.0  # max |ts - miner clock| of a write; None: any
    no_reply_commands: set[str] = field(default_factory=lambda: set(DEFAULT_NO_REPLY))
    hang_commands: set[str] = field(default_factory=set)  # act, then never reply
    unsupported_commands: set[str] = field(default_factory=set)  # answer -2
    rejected_commands: set[str] = field(default_factory=set)  # answer -1
    reboot_seconds: float = 0.5  # emulator-clock seconds both ports are unreachable
    btminer_restart_seconds: float = 0.5
    idle_timeout: float = 300.0  # apidoc: closed after 300 s of inactivity
    max_frame_bytes: int = MAX_FRAME_BYTES
    heartbeat_frames: bool = False  # apidoc: a 0-length frame is a heartbeat
    max_clients: int = 10  # apidoc: "a maximum of 10 concurrent clients"
    idle_rejects_pools: bool = False  # mdk: idle firmware answers -1 to "pools"
    power_percent_numbers: bool = False  # accept a JSON number as percent (apidoc)
    psu_telemetry: bool = False  # iin/vin/vout/pin/temp0 in the power section
    salt_changes_on_reboot: bool = False
    report_time_scale: float = 1.0  # real seconds per set.miner.report gap second
    _observer: Callable[[str], None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        observer = self.__dict__.get("_observer")
        if observer is not None and name in ("offline", "v3_offline"):
            observer(name)


@dataclass(frozen=True, slots=True)
class ReceivedV3Command:
    """One decoded v3 request, as recorded in ``WhatsminerV3Emulator.received``.

    ``param`` is the decrypted value for the encrypted commands; ``token_ok`` is
    None for reads and for writes rejected before authentication.
    """

    cmd: str
    param: Any
    ts: Any
    token_ok: bool | None
    account: Any
    peer: str
    encrypted: bool = False


# ------------------------------------------------------------------ internal types


class _Fail(Exception):
    """A request the firmware refuses with ``code``."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


@dataclass(slots=True)
class _Request:
    cmd: str
    param: Any
    peer: str
    ts: Any = None
    token: Any = None
    account: Any = None
    token_ok: bool | None = None
    encrypted: bool = False


@dataclass(slots=True)
class _Reply:
    body: bytes | None  # JSON of the frame; None: close without replying
    payload: bytes | None = None  # raw bytes after the frame (get.log.download)
    upload: bool = False  # a firmware image follows on this connection
    hang: bool = False  # never reply, hold the connection
    report_gap: int | None = None  # set.miner.report: push every N seconds
    then: Callable[[], None] | None = None  # once this connection is done


@dataclass(slots=True)
class _Connection:
    writer: asyncio.StreamWriter
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    report: asyncio.Task[None] | None = None
    then: Callable[[], None] | None = None

    @property
    def reporting(self) -> bool:
        return self.report is not None and not self.report.done()

    def stop_report(self) -> None:
        if self.report is not None:
            self.report.cancel()
            self.report = None


_Read = Callable[[Any], _Reply]
_Write = Callable[[Any, str], _Reply]


class _CompatV2(WhatsminerV2Emulator):
    """The reduced v2 API on 4028; tells the v3 side when a reboot starts or ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reboot_begun: Callable[[], None] | None = None
        self.reboot_finished: Callable[[float], None] | None = None

    def _begin_reboot(self) -> None:
        super()._begin_reboot()
        if self.reboot_begun is not None:
            self.reboot_begun()

    def _finish_reboot(self, at: float) -> None:
        super()._finish_reboot(at)
        if self.reboot_finished is not None:
            self.reboot_finished(at)


# ------------------------------------------------------------------------ helpers


def _need(param: Any) -> Any:
    if param is None or param == "":
        raise _Fail(PARAM_NULL, "param item is null")
    return param


def _object(param: Any) -> dict[str, Any]:
    """An object param, also sent JSON-encoded as a string (the vendor sample)."""
    value = _need(param)
    if isinstance(value, str):
        with contextlib.suppress(ValueError, RecursionError):
            value = json.loads(value)
    if not isinstance(value, dict):
        raise _Fail(FAIL, "invalid param")
    return value


def _int(value: Any, low: int, high: int, name: str) -> int:
    """A JSON integer (no bool, no string) in ``low..high``."""
    if value is None:
        raise _Fail(PARAM_NULL, "param item is null")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Fail(FAIL, f"invalid {name}")
    if not low <= value <= high:
        raise _Fail(FAIL, f"{name} out of range")
    return value


def _choice(value: Any, choices: frozenset[str], name: str) -> str:
    if value is None:
        raise _Fail(PARAM_NULL, "param item is null")
    if not isinstance(value, str) or value not in choices:
        raise _Fail(FAIL, f"invalid {name}")
    return value


def _text(
    value: Any,
    name: str,
    *,
    max_len: int = 127,
    pattern: re.Pattern[str] | None = None,
    empty: bool = False,
) -> str:
    """A printable UTF-8 string of at most ``max_len`` bytes."""
    if value is None:
        raise _Fail(PARAM_NULL, "param item is null")
    if not isinstance(value, str) or (not value and not empty):
        raise _Fail(FAIL, f"invalid {name}")
    try:
        size = len(value.encode())
    except UnicodeEncodeError as err:
        raise _Fail(FAIL, f"invalid {name}") from err
    if size > max_len or not value.isprintable():
        raise _Fail(FAIL, f"invalid {name}")
    if pattern is not None and value and not pattern.fullmatch(value):
        raise _Fail(FAIL, f"invalid {name}")
    return value


def _ipv4(value: Any, name: str) -> str:
    text = _text(value, name, max_len=15)
    try:
        ipaddress.IPv4Address(text)
    except ValueError as err:
        raise _Fail(FAIL, f"invalid {name}") from err
    return text


def _timestamp(value: Any) -> int | None:
    """Unix seconds sent as a number or a numeric string (pyasic sends a float)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and _TIMESTAMP_RE.fullmatch(value):
        return int(float(value))
    return None


def _token(cmd: str, password: str, salt: str, ts: int) -> tuple[str, bytes]:
    """Token and AES key of a write (ref §9.3): the digest serves as both."""
    text = f"{cmd}{password}{salt}{ts}".encode(errors="surrogatepass")
    digest = hashlib.sha256(text).digest()
    return base64.b64encode(digest)[:8].decode(), digest


def _decrypt_param(param: Any, key: bytes) -> Any:
    """Base64 AES-256-ECB JSON; PKCS#7 or zero padding (ref §9.3, §12)."""
    if not isinstance(param, str):
        raise _Fail(FAIL, "invalid encrypted param")
    try:
        raw = base64.b64decode("".join(param.split()), validate=True)
    except (binascii.Error, ValueError) as err:
        raise _Fail(FAIL, "invalid encrypted param") from err
    if not raw or len(raw) % 16:
        raise _Fail(FAIL, "invalid encrypted param")
    plain = AES.new(key, AES.MODE_ECB).decrypt(raw)
    pad = plain[-1]
    if 1 <= pad <= 16 and plain.endswith(bytes([pad]) * pad):
        plain = plain[:-pad]
    else:
        plain = plain.rstrip(b"\0")
    try:
        return json.loads(plain.decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise _Fail(FAIL, "invalid encrypted param") from err


def _preview(cmd: str, param: Any) -> str:
    """A short, safe rendering of a param for the log (secrets hidden)."""
    if cmd in ENCRYPTED_PARAM_COMMANDS:
        return "***"
    try:
        text = json.dumps(param)
    except TypeError, ValueError, RecursionError:
        return "<unprintable>"
    return text if len(text) <= 120 else text[:117] + "..."


# ----------------------------------------------------------------------- emulator


class WhatsminerV3Emulator:
    """A Whatsminer speaking API v3 on ``host:port`` and reduced v2 on ``v2_port``."""

    def __init__(
        self,
        password: str = V3_FACTORY_PASSWORD,
        host: str = "127.0.0.1",
        port: int = 0,
        v2_port: int = 0,
        *,
        account: str = DEFAULT_ACCOUNT,
        mac: str | None = None,
        hostname: str | None = None,
        keep_alive: bool = False,
        model: MinerModel = M60S_VK40,
        noise: bool = False,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.keep_alive = keep_alive
        self.state = default_v3_state(
            password, account=account, model=model, mac=mac, hostname=hostname
        )
        compat = _CompatV2(
            password,
            profile="v3compat",
            host=host,
            port=v2_port,
            noise=noise,
            seed=seed,
        )
        compat.state = self.state
        compat.faults.refuse_writes = True
        compat.reboot_begun = self._on_reboot_begun
        compat.reboot_finished = self._on_reboot_finished
        self.v2: WhatsminerV2Emulator = compat
        self._faults = V3Faults()
        self._faults._observer = self._on_fault_change
        self.received: list[ReceivedV3Command] = []
        self.connections_total = 0
        self.max_concurrent_connections = 0
        self.make_salt: Callable[[], str] = random_salt
        self.upgrade_firmware_version: str | None = None  # None: dated from clock
        self._open_connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._holding: set[asyncio.StreamWriter] = set()
        self._client_socks: set[socket.socket] = set()
        self._listener = SwitchableListener(host, port, self._accepted)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._started = self._stopping = False
        self._pending_firmware: str | None = None
        self._reads: dict[str, _Read] = {
            "get.device.info": self._get_device_info,
            "get.miner.status": self._get_miner_status,
            "get.miner.setting": lambda _p: self._reply("get.miner.setting"),
            "get.miner.history": self._get_miner_history,
            "get.device.custom_data": lambda _p: self._reply("get.device.custom_data"),
            "get.fan.setting": lambda _p: self._reply("get.fan.setting"),
            "get.system.setting": lambda _p: self._reply("get.system.setting"),
            "get.log.download": self._get_log_download,
        }
        self._writes: dict[str, _Write] = self._write_table()

    # ------------------------------------------------------------ public API

    @property
    def faults(self) -> V3Faults:
        return self._faults

    @faults.setter
    def faults(self, faults: V3Faults) -> None:
        self._faults._observer = None
        self._faults = faults
        faults._observer = self._on_fault_change
        self._on_fault_change("offline")

    @property
    def now(self) -> Callable[[], float]:
        """The clock both APIs read (unix seconds), before ``advance()`` offsets."""
        return self.v2.now

    @now.setter
    def now(self, clock: Callable[[], float]) -> None:
        self.v2.now = clock

    def advance(self, seconds: float) -> None:
        """Move the shared emulator clock forward without sleeping."""
        self.v2.advance(seconds)
        self._sync_listener()

    def is_rebooting(self) -> bool:
        return self.v2.is_rebooting()

    def power_w(self) -> int:
        """The power the miner draws now (W), as both APIs report it."""
        return self.v2.power_w()

    def commands(self) -> list[str]:
        """Names of the decoded v3 commands, in arrival order."""
        return [received.cmd for received in self.received]

    def rotate_salt(self, salt: str | None = None) -> str:
        """Give the miner a new salt (cached client salts then get -4)."""
        old = self.state.salt
        new = salt or self.make_salt()
        while salt is None and new == old:
            new = self.make_salt()
        self.state.salt = new
        return new

    def token(self, cmd: str, ts: int, *, password: str | None = None) -> str:
        """The token the miner expects for ``cmd`` at ``ts`` (for test set-up)."""
        return _token(cmd, password or self.state.password, self.state.salt, ts)[0]

    async def set_offline(self, offline: bool) -> None:
        """Stop (or resume) listening on both ports; immediate either way."""
        self.faults.offline = offline
        await asyncio.sleep(0)

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        await self.v2.start()
        try:
            self._listener.open(self._loop)
        except OSError:
            await self.v2.stop()
            raise
        self.port = self._listener.port
        self._started = True
        self._on_fault_change("offline")
        _LOGGER.info(
            "Whatsminer v3 emulator (%s) on %s:%s, reduced v2 API on port %s",
            self.state.model.name,
            self.host,
            self.port,
            self.v2.port,
        )

    async def stop(self) -> None:
        """Close both listeners and every connection; wait for all tasks."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._listener.close()
        if self._stop_event is not None:
            self._stop_event.set()
        for _ in range(3):  # let accepted-but-unstarted handlers see _stopping
            await asyncio.sleep(0)
        await cancel_all(self._tasks)
        for conn in list(self._client_socks):
            conn.close()
        self._client_socks.clear()
        await asyncio.sleep(0)
        await self.v2.stop()
        self._started = self._stopping = False

    async def __aenter__(self) -> WhatsminerV3Emulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # --------------------------------------------------------------- clock

    def _time(self) -> float:
        return self.v2.now() + self.v2._clock_offset

    def _when(self) -> int:
        return int(self._time())

    def _tick(self) -> None:
        self.v2._tick()
        self._sync_listener()

    # ------------------------------------------------------------ listener

    def _on_fault_change(self, name: str) -> None:
        if name == "offline" and self.v2.faults.offline != self._faults.offline:
            self.v2.faults.offline = self._faults.offline
        self._sync_listener()

    def _wants_listener(self) -> bool:
        faults = self._faults
        return not (faults.offline or faults.v3_offline or self._rebooting())

    def _rebooting(self) -> bool:
        return self.v2._reboot_until is not None

    def _sync_listener(self) -> None:
        if not self._started or self._stopping:
            return
        assert self._loop is not None
        if not self._listener.switch(self._loop, self._wants_listener()):
            self._ensure_watcher()
        self.port = self._listener.port

    def _ensure_watcher(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._watcher = self._spawn(self._watch())

    async def _watch(self) -> None:
        while self._wants_listener() and not self._listener.listening:
            await asyncio.sleep(0.02)
            self._sync_listener()

    def _accepted(self, conn: socket.socket, peer: str) -> None:
        self.connections_total += 1
        self._client_socks.add(conn)
        self._spawn(self._handle(conn, peer))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -------------------------------------------------------------- reboot

    def _begin_reboot(self) -> None:
        """Both ports unreachable for ``reboot_seconds``; connections are lost."""
        if self._stopping or not self._started:
            return
        self.v2.faults.reboot_seconds = self._faults.reboot_seconds
        self.v2._begin_reboot()  # calls _on_reboot_begun

    def _on_reboot_begun(self) -> None:
        if self._rebooting():
            for writer in self._writers - self._holding:
                abort_with_reset(writer)
        self._sync_listener()

    def _on_reboot_finished(self, _at: float) -> None:
        s = self.state
        # apidoc: the power percent is "not saved to user config", lost on reboot.
        s.power_percent, s.power_percent_mode = 100, ""
        if self._pending_firmware is not None:
            s.firmware_version, self._pending_firmware = self._pending_firmware, None
        if self._faults.salt_changes_on_reboot:
            self.rotate_salt()
        self._sync_listener()

    def _restart_btminer(self) -> None:
        self.v2.faults.btminer_restart_seconds = self._faults.btminer_restart_seconds
        self.v2._restart_btminer_now()

    # ---------------------------------------------------------- connection

    async def _handle(self, conn: socket.socket, peer: str) -> None:
        writer: asyncio.StreamWriter | None = None
        then: Callable[[], None] | None = None
        counted = False
        try:
            self._tick()
            if (
                self._stopping
                or not self._wants_listener()
                or self._open_connections >= self._faults.max_clients
            ):
                reset_socket(conn)
                return
            counted = True
            self._open_connections += 1
            self.max_concurrent_connections = max(
                self.max_concurrent_connections, self._open_connections
            )
            reader, writer = await asyncio.open_connection(sock=conn)
            self._writers.add(writer)
            then = await self._converse(reader, writer, peer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError) as err:
            _LOGGER.debug("Connection from %s ended: %r", peer, err)
        except Exception:
            _LOGGER.exception("Emulator error while serving %s", peer)
        finally:
            if counted:
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
        """Serve frames until close-after-reply, EOF, silence or a reboot."""
        conn = _Connection(writer)
        try:
            while True:
                timeout = None if conn.reporting else self._faults.idle_timeout
                body = await self._read_frame(reader, timeout)
                if body is None:
                    return None
                reply = self._process(body, peer)
                if not await self._deliver(reader, conn, reply):
                    return conn.then
                if not (self.keep_alive or conn.reporting):
                    return None
        finally:
            conn.stop_report()

    async def _read_frame(
        self, reader: asyncio.StreamReader, wait: float | None
    ) -> bytes | None:
        """One frame body; None on EOF, silence or an unacceptable length."""
        while True:
            try:
                header = await asyncio.wait_for(reader.readexactly(4), wait)
                (length,) = _HEADER.unpack(header)
                if length == 0 and self._faults.heartbeat_frames:
                    continue
                if not 0 < length <= self._faults.max_frame_bytes:
                    _LOGGER.info("Frame length %d refused; closing", length)
                    return None
                return await asyncio.wait_for(reader.readexactly(length), wait)
            except TimeoutError:
                _LOGGER.debug("No complete frame within %ss", wait)
                return None
            except asyncio.IncompleteReadError:
                return None

    def _frame(self, body: bytes) -> bytes:
        return _HEADER.pack(len(body)) + body

    async def _deliver(
        self, reader: asyncio.StreamReader, conn: _Connection, reply: _Reply
    ) -> bool:
        """Send a reply; False when the connection must end (``conn.then`` next)."""
        writer, faults = conn.writer, self._faults
        if reply.hang:
            if reply.then is not None:  # e.g. reboot: this socket alone stays open
                self._holding.add(writer)
                reply.then()
            await self._hold()
            return False
        if reply.body is None:
            conn.then = reply.then
            return False
        data = self._frame(reply.body)
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)
        if faults.garbage or faults.garbage_json or faults.truncate:
            if faults.garbage:
                data = GARBAGE_REPLY
            elif faults.garbage_json:
                data = self._frame(GARBAGE_REPLY)
            else:
                data = data[: 4 + max(1, (len(data) - 4) // 2)]
            writer.write(data)
            await writer.drain()
            return False
        async with conn.lock:
            await self._send(writer, data + (reply.payload or b""))
        if reply.upload:
            if await self._receive_image(reader, conn):
                conn.then = self._begin_reboot
            return False
        if reply.report_gap is not None:
            self._start_report(conn, reply.report_gap)
        conn.then = reply.then
        return reply.then is None

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        if not self._faults.fragment:
            writer.write(data)
            await writer.drain()
            return
        for piece in (data[:2], data[2:7], data[7:]):
            if piece:
                writer.write(piece)
                await writer.drain()
                await asyncio.sleep(0.005)

    async def _hold(self) -> None:
        """Say nothing until stop() (or ``stall_seconds``)."""
        assert self._stop_event is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), self._faults.stall_seconds)

    async def _receive_image(
        self, reader: asyncio.StreamReader, conn: _Connection
    ) -> bool:
        """set.system.update_firmware: LE size and image, then a final frame."""
        timeout = self._faults.idle_timeout
        try:
            (size,) = _HEADER.unpack(
                await asyncio.wait_for(reader.readexactly(4), timeout)
            )
            if not 0 < size <= MAX_FIRMWARE_BYTES:
                _LOGGER.warning("Firmware image of %d bytes refused", size)
                body = self._envelope("set.system.update_firmware", FAIL, "fail")
                await self._send(conn.writer, self._frame(body))
                return False
            image = await asyncio.wait_for(reader.readexactly(size), timeout)
        except TimeoutError, asyncio.IncompleteReadError:
            _LOGGER.warning("Firmware upload incomplete")
            return False
        self.state.firmware_images.append(image)
        self._pending_firmware = self.upgrade_firmware_version or (
            f"{self._clock_date()}.16.Rel2"
        )
        body = self._envelope("set.system.update_firmware", OK, "ok")
        await self._send(conn.writer, self._frame(body))
        _LOGGER.info("Firmware image of %d bytes received; rebooting", size)
        return True

    def _clock_date(self) -> str:
        return _clock_text(self._time())[:10].replace("-", "")

    def _start_report(self, conn: _Connection, gap: int) -> None:
        conn.stop_report()
        if gap > 0:
            conn.report = self._spawn(self._push_reports(conn, gap))

    async def _push_reports(self, conn: _Connection, gap: int) -> None:
        """``get.miner.report`` frames every ``gap`` s on the same socket."""
        while True:
            await asyncio.sleep(gap * self._faults.report_time_scale)
            body = self._envelope(
                "get.miner.report", OK, {"summary": self._summary(self._telemetry())}
            )
            try:
                async with conn.lock:
                    await self._send(conn.writer, self._frame(body))
            except ConnectionError, OSError:
                return

    # ------------------------------------------------------------ decoding

    def _process(self, body: bytes, peer: str) -> _Reply:
        try:
            obj = json.loads(body.decode())
        except UnicodeDecodeError, ValueError, RecursionError:
            self._record(_Request("", None, peer))
            return self._error("", FAIL, "invalid json")
        cmd = obj.get("cmd") if isinstance(obj, dict) else None
        if not isinstance(cmd, str) or not cmd:
            self._record(_Request("", obj, peer))
            return self._error("", INVALID_COMMAND, "invalid command")
        request = _Request(
            cmd,
            obj.get("param"),
            peer,
            ts=obj.get("ts"),
            token=obj.get("token"),
            account=obj.get("account"),
        )
        try:
            if cmd.startswith("set."):
                return self._process_write(request)
            return self._process_read(request)
        except _Fail as err:
            _LOGGER.info("%s refused: %s", cmd, err.msg)
            return self._error(cmd, err.code, err.msg)

    def _process_read(self, request: _Request) -> _Reply:
        self._record(request)
        if self._faults.stall:
            return _Reply(None, hang=True)
        read = self._reads.get(request.cmd)
        if read is None or request.cmd in self._faults.unsupported_commands:
            raise _Fail(INVALID_COMMAND, "invalid command")
        self._check_rejected(request.cmd)
        return read(request.param)

    def _process_write(self, request: _Request) -> _Reply:
        """Known command (-2), token (-4), switch and permission (-4), param (-1)."""
        cmd = request.cmd
        write = self._writes.get(cmd)
        if write is None or cmd in self._faults.unsupported_commands:
            self._record(request)
            raise _Fail(INVALID_COMMAND, "invalid command")
        request.encrypted = cmd in ENCRYPTED_PARAM_COMMANDS
        key = self._authenticate(request)
        request.token_ok = key is not None
        if key is None or not isinstance(request.account, str):
            self._record(request)
            raise _Fail(NO_PERMISSION, "no permission")
        try:
            if not self.state.write_api_enabled or not self._permitted(
                request.account, cmd
            ):
                raise _Fail(NO_PERMISSION, "no permission")
            if request.encrypted:
                request.param = _decrypt_param(_need(request.param), key)
        finally:
            self._record(request)
        if self._faults.stall:
            return _Reply(None, hang=True)
        self._check_rejected(cmd)
        reply = write(request.param, request.account)
        if cmd in self._faults.hang_commands:
            reply.hang = True
        elif cmd in self._faults.no_reply_commands:
            reply.body, reply.payload, reply.upload = None, None, False
        return reply

    def _check_rejected(self, cmd: str) -> None:
        if cmd in self._faults.rejected_commands:
            raise _Fail(FAIL, "fail")

    def _authenticate(self, request: _Request) -> bytes | None:
        """The AES key (the SHA-256 digest) of a valid write, else None (-4)."""
        ts, token, account = request.ts, request.token, request.account
        if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
            return None
        if not isinstance(token, str) or not isinstance(account, str):
            return None
        password = self._password_of(account)
        if password is None:
            return None
        skew = self._faults.ts_skew
        if skew is not None and abs(ts - self._time()) > skew:
            _LOGGER.info("%s: ts %d is more than %ss off", request.cmd, ts, skew)
            return None
        expected, key = _token(request.cmd, password, self.state.salt, ts)
        if not hmac.compare_digest(
            expected.encode(), token.encode(errors="surrogatepass")
        ):
            return None
        return key

    def _password_of(self, account: str) -> str | None:
        if account == self.state.account:
            return self.state.password
        if account in USER_ACCOUNTS:
            return self.state.users.get(account)
        return None

    def _permitted(self, account: str, cmd: str) -> bool:
        """The super account may do anything; users what set.user.permission lists."""
        return account == self.state.account or cmd in self.state.permissions.get(
            account, []
        )

    def _record(self, request: _Request) -> None:
        self.received.append(
            ReceivedV3Command(
                request.cmd,
                request.param,
                request.ts,
                request.token_ok,
                request.account,
                request.peer,
                request.encrypted,
            )
        )
        token_ok = request.token_ok
        _LOGGER.info(
            "%s %s %s%s",
            request.peer,
            request.cmd or "<no cmd>",
            _preview(request.cmd, request.param),
            "" if token_ok is None else f" (token {'ok' if token_ok else 'bad'})",
        )

    # ------------------------------------------------------------- envelopes

    def _envelope(self, cmd: str, code: int, msg: object) -> bytes:
        obj = {"code": code, "when": self._when(), "msg": msg, "desc": cmd}
        if self._faults.pretty_json:
            return json.dumps(obj, indent="\t", separators=(",", ":\t")).encode()
        return json.dumps(obj, separators=(",", ":")).encode()

    def _error(self, cmd: str, code: int, msg: str) -> _Reply:
        return _Reply(self._envelope(cmd, code, msg))

    def _ok(self, cmd: str, **kwargs: Any) -> _Reply:
        return _Reply(self._envelope(cmd, OK, "ok"), **kwargs)

    def _reply(self, cmd: str, msg: object | None = None) -> _Reply:
        """A read's reply; without ``msg`` the setting read of that name."""
        if msg is None:
            msg = {
                "get.miner.setting": self._miner_setting,
                "get.device.custom_data": lambda: dict(self.state.customer_msgs),
                "get.fan.setting": self._fan_setting,
                "get.system.setting": self._system_setting,
            }[cmd]()
        return _Reply(self._envelope(cmd, OK, msg))

    # ------------------------------------------------------------------ reads

    def _telemetry(self) -> _Telemetry:
        return self.v2._telemetry()

    def _get_device_info(self, param: Any) -> _Reply:
        """All sections, or ``{<section>: …}`` for one (ref §9.4, §9.6)."""
        cmd = "get.device.info"
        tel = self._telemetry()
        sections: dict[str, Callable[[], object]] = {
            "network": self._network,
            "miner": lambda: self._miner_info(tel),
            "system": self._system,
            "power": lambda: self._power(tel),
            "salt": lambda: self.state.salt,
            "error-code": self._error_codes,
        }
        if param is None or param == "":
            msg = {name: build() for name, build in sections.items()}
            if not msg["error-code"]:  # absent on a miner without errors (asic-rs)
                del msg["error-code"]
            return self._reply(cmd, msg)
        if not isinstance(param, str) or param not in sections:
            raise _Fail(INVALID_COMMAND, f"invalid param: {param}")
        return self._reply(cmd, {param: sections[param]()})

    def _network(self) -> dict[str, str]:
        s = self.state
        return {
            "ip": s.ip,
            "proto": s.proto,
            "netmask": s.netmask,
            "dns": s.dns,
            "mac": s.mac,
            "gateway": s.gateway,
            "hostname": s.hostname,
        }

    def _miner_info(self, tel: _Telemetry) -> dict[str, object]:
        s, model = self.state, self.state.model
        boards = range(len(model.board_factory_ghs))
        info: dict[str, object] = {
            "working": "true" if tel.hashing else "false",
            "type": model.name,
            "hash-board": s.hash_board,
            "detect-hash-rate": ":".join(str(g) for g in model.board_factory_ghs),
            "cointype": s.cointype,
            "pool-strategy": s.pool_strategy,
            "heatmode": "" if s.heat_mode == "normal" else s.heat_mode,
            "hash-percent": str(s.target_freq_percent),
        }
        info |= {f"chipdata{i}": " ".join(model.chip_data) for i in boards}
        info |= {
            "fast-boot": "enable" if s.fast_boot else "disable",
            "board-num": str(len(boards)),
        }
        info |= {f"pcbsn{i}": f"{model.pcb_sn_prefix}{i}" for i in boards}
        info |= {
            "miner-sn": s.miner_sn,
            "power-limit-set": str(s.power_limit_w),
            "web-pool": int(s.web_pools),
        }
        return info

    def _system(self) -> dict[str, str]:
        s = self.state
        return {
            "api": s.api_v3_version,
            "platform": s.model.platform,
            "fwversion": s.firmware_version,
            "control-board-version": s.control_board_version,
            "apiswitch": "1" if s.write_api_enabled else "0",
            "ledstatus": "auto" if s.led == "auto" else "manual",
        }

    def _power(self, tel: _Telemetry) -> dict[str, object]:
        s = self.state
        power: dict[str, object] = {
            "type": s.model.psu_model,
            "mode": "1",
            "hwversion": s.psu_hw_version,
            "swversion": s.psu_sw_version,
            "model": s.model.psu_model,
        }
        if self._faults.psu_telemetry:  # apidoc fields, absent in the asic-rs fixture
            power |= {
                "iin": round(tel.power_w / 224.0, 2),  # A
                "vin": 224.0,  # V, as get_psu's "22400" (10 mV)
                "vout": 1209,  # 100 mV
                "pin": tel.power_w,  # W
            }
        power |= {"fanspeed": tel.psu_fan, "sn": s.power_sn, "vendor": "1"}
        if self._faults.psu_telemetry:
            power["temp0"] = tel.psu_temp
        return power

    def _error_codes(self) -> list[dict[str, str]]:
        reasons = self.state.error_reasons
        return [
            {code: when, "reason": reasons.get(code, f"Error code {code}.")}
            for code, when in self.state.error_codes
        ]

    def _get_miner_status(self, param: Any) -> _Reply:
        """``summary``, ``pools``, ``edevs`` or ``+`` joins (ref §9.4, §9.6)."""
        cmd = "get.miner.status"
        if param is None or param == "":
            raise _Fail(PARAM_NULL, "param item is null")
        if not isinstance(param, str):
            raise _Fail(INVALID_COMMAND, f"invalid param: {param}")
        parts = [part.strip() for part in param.split("+")]
        for part in parts:
            if part not in STATUS_SECTIONS:
                raise _Fail(INVALID_COMMAND, f"invalid param: {part}")
        tel = self._telemetry()
        if self._faults.idle_rejects_pools and not tel.hashing:
            if set(parts) == {"pools"}:
                raise _Fail(FAIL, "fail")
            parts = [part for part in parts if part != "pools"]
        msg: dict[str, object] = {}
        for part in parts:
            if part == "summary":
                msg["summary"] = self._summary(tel)
            elif part == "pools":
                msg["pools"] = self._pools(tel)
            else:
                msg["edevs"] = self._edevs(tel)
        return self._reply(cmd, msg)

    def _summary(self, tel: _Telemetry) -> dict[str, object]:
        """The v2-compat summary's numbers (TH/s both ways), v3 names and units."""
        s, boards = self.state, tel.boards
        windows = self.v2._windows(tel.ths, 1.0)
        return {
            "elapsed": tel.elapsed,
            "bootup-time": tel.uptime,
            "freq-avg": tel.freq,
            "target-freq": tel.target_freq,
            "factory-hash": round(s.model.factory_ghs / 1000, 3),
            "hash-average": windows["MHS av"],
            "hash-1min": windows["MHS 1m"],
            "hash-15min": windows["MHS 15m"],
            "hash-realtime": windows["HS RT"],
            "power-rate": round(tel.power_w / tel.ths, 2) if tel.ths else 0.0,
            "power-5min": float(tel.power_w),
            "power-realtime": float(tel.power_w),
            "environment-temperature": round(s.env_temp, 2),
            "board-temperature": [board.temp for board in boards],
            "chip-temp-min": min(board.chip_min for board in boards),
            "chip-temp-avg": round(sum(b.chip_avg for b in boards) / len(boards), 2),
            "chip-temp-max": max(board.chip_max for board in boards),
            "power-limit": s.power_limit_w,
            "up-freq-finish": int(tel.hashing and tel.elapsed >= tel.stable_seconds),
            "fan-speed-in": tel.fan_in,
            "fan-speed-out": tel.fan_out,
            "Debug": "",
        }

    def _pools(self, tel: _Telemetry) -> list[dict[str, object]]:
        """No share counters in v3 (ref §9.6); those stay on 4028."""
        return [
            {
                "url": url,
                "account": worker,
                "status": "alive",
                "stratum-active": index == 0 and tel.hashing,
                "pool-priority": index,
            }
            for index, (url, worker, _passwd) in enumerate(self.state.pools)
        ]

    def _edevs(self, tel: _Telemetry) -> list[dict[str, object]]:
        model = self.state.model
        rows: list[dict[str, object]] = []
        for index, board in enumerate(tel.boards):
            windows = self.v2._windows(board.ths, 1.0)
            rows.append(
                {
                    "id": index,
                    "status": "alive",
                    "freq": float(board.freq),
                    "effective-chips": model.chips_per_board,
                    "factory-hash": round(model.board_factory_ghs[index] / 1000, 3),
                    "hash-average": windows["MHS av"],
                    "hash-realtime": windows["HS RT"],
                    "chip-temp-min": board.chip_min,
                    "chip-temp-avg": board.chip_avg,
                    "chip-temp-max": board.chip_max,
                }
            )
        return rows

    def _miner_setting(self) -> dict[str, object]:
        """Keys "verified on fw 20260312.16.REL3 / api 3.0.5" (ref §9.4)."""
        s = self.state
        return {
            "power-limit": s.power_limit_w,
            "upfreq-speed": s.upfreq_speed,
            "power-mode": s.power_mode.lower(),
            "fast-boot": "enable" if s.fast_boot else "disable",
            "fast-hash": "enable" if s.fast_hash else "disable",
            "heat-mode": s.heat_mode,
            "target-freq": s.target_freq_percent,
            "power": s.power_target_w or 0,
            "power-percent": s.power_percent,
            "btrom-worker-suffix": "",
        }

    def _fan_setting(self) -> dict[str, int]:
        s = self.state
        return {
            "fan-poweroff-cool": int(s.poweroff_cool),
            "fan-zero-speed": int(s.fan_zero_speed),
            "fan-temp-offset": s.temp_offset,
        }

    def _system_setting(self) -> dict[str, object]:
        s = self.state
        ip, port, proto = s.log_server or ("", "", "")
        return {
            "web-pool": int(s.web_pools),
            "timezone": s.timezone,
            "zonename": s.zonename,
            "hostname": s.hostname,
            "log-upload": {"ip": ip, "port": port, "proto": proto},
            "time-randomized": {
                "start": s.time_randomized[0],
                "stop": s.time_randomized[1],
            },
            "ntp-server": list(s.ntp_servers),
        }

    def _get_miner_history(self, param: Any) -> _Reply:
        """``{"Data": "ts,TH/s,W ts,TH/s,W …"}`` (pyasic reads ``msg.Data``).

        Accepts ``begin``/``end`` (apidoc) and ``start``/``stop`` (pyasic); a range
        over 24 h keeps its last 24 h. Records every 10 minutes since boot, at the
        current rate (the emulator keeps no history).
        """
        window = _object(param)
        begin = _timestamp(window.get("begin", window.get("start")))
        end = _timestamp(window.get("end", window.get("stop")))
        if begin is None or end is None or end < begin:
            raise _Fail(FAIL, "invalid time range")
        end = min(end, self._when())
        begin = max(begin, end - HISTORY_SPAN, int(self.state.boot_time))
        tel = self._telemetry()
        first = -(-begin // HISTORY_STEP) * HISTORY_STEP
        records = [
            f"{ts},{tel.ths:.2f},{tel.power_w}"
            for ts in range(first, end + 1, HISTORY_STEP)
        ]
        return self._reply("get.miner.history", {"Data": " ".join(records)})

    def _get_log_download(self, _param: Any) -> _Reply:
        """``{"logsize":"N"}``, then N bytes of .tgz on the same socket (ref §9.1)."""
        log = self.state.log_text
        if log is None:
            log = self._log_archive()
        body = self._envelope("get.log.download", OK, {"logsize": str(len(log))})
        return _Reply(body, payload=log)

    def _log_archive(self) -> bytes:
        text = self.v2._log()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            info = tarfile.TarInfo("messages")
            info.size = len(text)
            info.mtime = self._when()
            archive.addfile(info, io.BytesIO(text))
        return buffer.getvalue()

    # ----------------------------------------------------------------- writes

    def _write_table(self) -> dict[str, _Write]:
        table: dict[str, _Write] = {
            "set.miner.service": self._set_service,
            "set.miner.power_mode": self._set_power_mode,
            "set.miner.power_limit": self._set_power_limit,
            "set.miner.power_percent": self._set_power_percent,
            "set.miner.power": self._set_power,
            "set.miner.target_freq": self._set_target_freq,
            "set.miner.upfreq_speed": self._int_setting(
                "set.miner.upfreq_speed", "upfreq_speed", 0, 10
            ),
            "set.miner.fastboot": self._flag("set.miner.fastboot", "fast_boot"),
            "set.miner.fast_hash": self._int_flag("set.miner.fast_hash", "fast_hash"),
            "set.miner.heat_mode": self._set_heat_mode,
            "set.miner.cointype": self._set_cointype,
            "set.miner.restore_setting": self._restore_setting,
            "set.miner.report": self._set_report,
            "set.miner.pools": self._set_pools,
            "set.system.led": self._set_led,
            "set.system.reboot": lambda _p, _a: self._ok(
                "set.system.reboot", then=self._begin_reboot
            ),
            "set.system.net_config": self._set_net_config,
            "set.system.hostname": self._set_hostname,
            "set.system.timezone": self._set_timezone,
            "set.system.ntp_server": self._set_ntp_server,
            "set.system.time_randomized": self._set_time_randomized,
            "set.system.webpools": self._flag("set.system.webpools", "web_pools"),
            "set.system.factory_reset": self._factory_reset,
            "set.system.update_firmware": lambda _p, _a: _Reply(
                self._envelope("set.system.update_firmware", OK, "ready"),
                upload=True,
            ),
            "set.fan.poweroff_cool": self._int_flag(
                "set.fan.poweroff_cool", "poweroff_cool"
            ),
            "set.fan.temp_offset": self._int_setting(
                "set.fan.temp_offset", "temp_offset", -30, 0
            ),
            "set.fan.zero_speed": self._int_flag(
                "set.fan.zero_speed", "fan_zero_speed"
            ),
            "set.log.upload": self._set_log_upload,
            "set.device.custom_data": self._set_custom_data,
            "set.user.change_passwd": self._change_passwd,
            "set.user.permission": self._set_permission,
        }
        return table

    def _int_setting(self, cmd: str, attribute: str, low: int, high: int) -> _Write:
        def handler(param: Any, _account: str) -> _Reply:
            setattr(self.state, attribute, _int(param, low, high, "param"))
            return self._ok(cmd)

        return handler

    def _int_flag(self, cmd: str, attribute: str) -> _Write:
        """A 0/1 JSON number (apidoc set.fan.*, set.miner.fast_hash)."""

        def handler(param: Any, _account: str) -> _Reply:
            setattr(self.state, attribute, bool(_int(param, 0, 1, "param")))
            return self._ok(cmd)

        return handler

    def _flag(self, cmd: str, attribute: str) -> _Write:
        """``"enable"``/``"disable"`` (apidoc set.miner.fastboot, set.system.webpools)."""

        def handler(param: Any, _account: str) -> _Reply:
            value = _choice(param, frozenset({"enable", "disable"}), "param")
            setattr(self.state, attribute, value == "enable")
            return self._ok(cmd)

        return handler

    def _set_service(self, param: Any, _account: str) -> _Reply:
        """start/stop/restart mining; enable/disable mining at boot (apidoc)."""
        actions = frozenset({"start", "stop", "restart", "enable", "disable"})
        action = _choice(_need(param), actions, "service action")
        s, now = self.state, self._time()
        if action == "start" and not s.mining:
            s.mining, s.mineroff_time, s.btminer_started_at = True, None, now
        elif action == "stop" and s.mining:
            s.mining, s.mineroff_time = False, now
        elif action == "restart":
            s.mining, s.mineroff_time = True, None
            self._restart_btminer()
        elif action in ("enable", "disable"):
            s.btminer_init = action == "enable"
        s.preheat_started_at = None
        return self._ok("set.miner.service")

    def _set_power_mode(self, param: Any, _account: str) -> _Reply:
        modes = frozenset({"low", "normal", "high"})
        self.state.power_mode = _choice(param, modes, "power mode").capitalize()
        self._restart_btminer()
        return self._ok("set.miner.power_mode")

    def _set_power_limit(self, param: Any, _account: str) -> _Reply:
        """A bare integer in W, 0..99999 (ref §9.4, apidoc); btminer restarts."""
        self.state.power_limit_w = _int(param, 0, 99_999, "power limit")
        self._restart_btminer()
        return self._ok("set.miner.power_limit")

    def _set_power_percent(self, param: Any, _account: str) -> _Reply:
        """``{"percent":"<string>","mode":"normal"|"fast"}`` (ref §9.4).

        The firmware reads ``percent`` with ``cJSON.valuestring`` (mdk), so a number
        fails unless ``power_percent_numbers``. On air-cooled miners "normal" mode
        works only in the Normal and Low power modes (apidoc).
        """
        value = _object(param)
        percent = value.get("percent")
        if percent is None:
            raise _Fail(PARAM_NULL, "param item is null")
        if isinstance(percent, str) and _PERCENT_RE.fullmatch(percent):
            number = int(percent)
        elif (
            self._faults.power_percent_numbers
            and isinstance(percent, int)
            and not isinstance(percent, bool)
        ):
            number = percent
        else:
            raise _Fail(FAIL, "invalid percent")
        if not 0 <= number <= 100:
            raise _Fail(FAIL, "percent out of range")
        mode = _choice(
            value.get("mode", "normal"), frozenset({"normal", "fast"}), "mode"
        )
        s = self.state
        if mode == "normal" and s.power_mode == "High" and not s.liquid_cooled:
            raise _Fail(FAIL, "normal mode needs the normal or low power mode")
        self.v2.apply_power_percent(number, mode)
        return self._ok("set.miner.power_percent")

    def _set_power(self, param: Any, _account: str) -> _Reply:
        """Target power in W (apidoc); 0 clears it."""
        self.state.power_target_w = _int(param, 0, 99_999, "power") or None
        return self._ok("set.miner.power")

    def _set_target_freq(self, param: Any, _account: str) -> _Reply:
        """-100..100 %; air-cooled miners may only lower it (apidoc); restarts."""
        percent = _int(param, -100, 100, "target freq")
        if percent > 0 and not self.state.liquid_cooled:
            raise _Fail(FAIL, "air-cooled miners can only lower the frequency")
        self.state.target_freq_percent = percent
        self._restart_btminer()
        return self._ok("set.miner.target_freq")

    def _set_heat_mode(self, param: Any, _account: str) -> _Reply:
        self.state.heat_mode = _choice(param, _HEAT_MODES, "heat mode")
        return self._ok("set.miner.heat_mode")

    def _set_cointype(self, param: Any, _account: str) -> _Reply:
        self.state.cointype = _choice(
            _object(param).get("cointype"), _COINTYPES, "cointype"
        )
        return self._ok("set.miner.cointype")

    def _restore_setting(self, _param: Any, _account: str) -> _Reply:
        """Miner settings back to factory; btminer restarts."""
        s = self.state
        s.power_mode, s.power_limit_w = "Normal", s.model.default_power_limit_w
        s.power_percent, s.power_percent_mode, s.power_target_w = 100, "", None
        s.target_freq_percent = s.upfreq_speed = 0
        s.fast_boot = s.fast_hash = False
        s.heat_mode = "normal"
        self._restart_btminer()
        return self._ok("set.miner.restore_setting")

    def _set_report(self, param: Any, _account: str) -> _Reply:
        """``{"gap":N}``: push ``get.miner.report`` every N s; 0 stops (apidoc)."""
        gap = _int(_object(param).get("gap"), 0, MAX_REPORT_GAP, "gap")
        return self._ok("set.miner.report", report_gap=gap)

    def _set_pools(self, param: Any, _account: str) -> _Reply:
        """Decrypted list of up to 3 ``{pool, worker, passwd}``; empty URLs unused."""
        if not isinstance(param, list) or not 1 <= len(param) <= 3:
            raise _Fail(FAIL, "invalid pools")
        pools: list[tuple[str, str, str]] = []
        for item in param:
            if not isinstance(item, dict):
                raise _Fail(FAIL, "invalid pools")
            url = _text(item.get("pool"), "pool", max_len=255, empty=True)
            worker = _text(item.get("worker", ""), "worker", max_len=255, empty=True)
            passwd = _text(item.get("passwd", ""), "passwd", max_len=255, empty=True)
            if url:
                pools.append((url, worker, passwd))
        if not pools:
            raise _Fail(FAIL, "invalid pools")
        self.state.pools = pools
        return self._ok("set.miner.pools")

    def _set_led(self, param: Any, _account: str) -> _Reply:
        """``"auto"`` or a list of ``{color, period, duration, start}`` (ref §9.4)."""
        value = _need(param)
        if value == "auto":
            self.state.led = "auto"
            return self._ok("set.system.led")
        if not isinstance(value, list) or not 1 <= len(value) <= 4:
            raise _Fail(FAIL, "invalid led param")
        pattern: list[dict[str, Any]] = []
        for item in value:
            if not isinstance(item, dict):
                raise _Fail(FAIL, "invalid led param")
            color = _choice(item.get("color"), frozenset({"red", "green"}), "color")
            period = _int(item.get("period"), 1, 100_000, "period")
            pattern.append(
                {
                    "color": color,
                    "period": period,
                    "duration": _int(item.get("duration"), 0, period, "duration"),
                    "start": _int(item.get("start"), 0, period, "start"),
                }
            )
        self.state.led = pattern
        return self._ok("set.system.led")

    def _set_net_config(self, param: Any, _account: str) -> _Reply:
        """``"dhcp"`` or ``{ip, netmask, gateway, dns}``; the miner reboots (apidoc)."""
        s = self.state
        if _need(param) == "dhcp":
            s.proto = "dhcp"
        else:
            value = _object(param)
            ip, netmask = (
                _ipv4(value.get("ip"), "ip"),
                _ipv4(value.get("netmask"), "netmask"),
            )
            gateway = _ipv4(value.get("gateway"), "gateway")
            dns = _text(value.get("dns"), "dns")
            for server in dns.replace(",", " ").split():
                _ipv4(server, "dns")
            s.proto, s.ip, s.netmask, s.gateway, s.dns = (
                "static",
                ip,
                netmask,
                gateway,
                dns,
            )
        return self._ok("set.system.net_config", then=self._begin_reboot)

    def _set_hostname(self, param: Any, _account: str) -> _Reply:
        """Applied at once (apidoc: after a restart), as the v2 emulator does."""
        self.state.hostname = _text(
            _object(param).get("hostname"), "hostname", max_len=63, pattern=_HOSTNAME_RE
        )
        return self._ok("set.system.hostname")

    def _set_timezone(self, param: Any, _account: str) -> _Reply:
        value = _object(param)
        timezone = _text(value.get("timezone"), "timezone", max_len=63)
        self.state.zonename = _text(value.get("zonename"), "zonename", max_len=63)
        self.state.timezone = timezone
        return self._ok("set.system.timezone")

    def _set_ntp_server(self, param: Any, _account: str) -> _Reply:
        """A comma-separated list of servers (apidoc)."""
        text = _text(_need(param), "ntp server", max_len=511)
        servers = [server.strip() for server in text.split(",") if server.strip()]
        if not servers or len(servers) > 8:
            raise _Fail(FAIL, "invalid ntp server")
        for server in servers:
            _text(server, "ntp server", max_len=63, pattern=_HOSTNAME_RE)
        self.state.ntp_servers = servers
        return self._ok("set.system.ntp_server")

    def _set_time_randomized(self, param: Any, _account: str) -> _Reply:
        value = _object(param)
        start = _int(value.get("start"), 0, 120, "start")
        self.state.time_randomized = (start, _int(value.get("stop"), 0, 120, "stop"))
        return self._ok("set.system.time_randomized")

    def _factory_reset(self, _param: Any, _account: str) -> _Reply:
        """Settings, network, passwords and the API switch (off) reset; reboot.

        The v3 factory password is Unknown (ref §13); the vendor sample's ``super``.
        """
        fresh = default_v3_state(account=self.state.account, model=self.state.model)
        s = self.state
        for name in (
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
            "fast_hash",
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
            "cointype",
            "ntp_servers",
            "time_randomized",
            "users",
            "permissions",
            "password",
            "salt",
        ):
            setattr(s, name, getattr(fresh, name))
        s.write_api_enabled = False
        return self._ok("set.system.factory_reset", then=self._begin_reboot)

    def _set_log_upload(self, param: Any, _account: str) -> _Reply:
        """``{ip, port (a string), proto}`` (apidoc)."""
        value = _object(param)
        ip = _ipv4(value.get("ip"), "ip")
        port = value.get("port")
        if not isinstance(port, str) or not port.isdigit() or not 0 < int(port) < 65536:
            raise _Fail(FAIL, "invalid port")
        proto = _choice(value.get("proto"), frozenset({"tcp", "udp"}), "proto")
        self.state.log_server = (ip, port, proto)
        return self._ok("set.log.upload")

    def _set_custom_data(self, param: Any, _account: str) -> _Reply:
        """``{key: CustomerSn|msg0..9, value: < 128 bytes}`` (apidoc)."""
        value = _object(param)
        key = _choice(value.get("key"), _CUSTOM_KEYS, "key")
        self.state.customer_msgs[key] = _text(
            value.get("value"), "value", max_len=127, empty=True
        )
        return self._ok("set.device.custom_data")

    def _change_passwd(self, param: Any, account: str) -> _Reply:
        """Decrypted ``{"account","new","old"}`` (vendor sample, ref §9.4).

        The super account may change any account, a user only its own. A new
        password of the super account gets a new salt (Inference, as ref §3.4).
        """
        if not isinstance(param, dict):
            raise _Fail(FAIL, "invalid param")
        target = _text(param.get("account"), "account", max_len=32)
        current = self._password_of(target)
        if current is None:
            raise _Fail(FAIL, "invalid account")
        if account not in (self.state.account, target):
            raise _Fail(NO_PERMISSION, "no permission")
        old = param.get("old")
        if not isinstance(old, str) or not hmac.compare_digest(
            old.encode(errors="surrogatepass"), current.encode()
        ):
            raise _Fail(FAIL, "old password does not match")
        new = _text(param.get("new"), "new", max_len=64)
        if any(char.isspace() for char in new):
            raise _Fail(FAIL, "invalid new")
        if target == self.state.account:
            self.state.password = new
            self.state.salt = derive_salt(new)
        else:
            self.state.users[target] = new
        return self._ok("set.user.change_passwd")

    def _set_permission(self, param: Any, account: str) -> _Reply:
        """``{user, permission: "cmd,cmd"}``; only the super account (apidoc)."""
        if account != self.state.account:
            raise _Fail(NO_PERMISSION, "no permission")
        value = _object(param)
        user = _choice(value.get("user"), frozenset(USER_ACCOUNTS), "user")
        text = _text(value.get("permission"), "permission", max_len=1023, empty=True)
        commands = [cmd.strip() for cmd in text.split(",") if cmd.strip()]
        if any(cmd not in self._writes for cmd in commands):
            raise _Fail(FAIL, "invalid permission")
        self.state.permissions[user] = commands
        return self._ok("set.user.permission")
