"""Async client for the Whatsminer API v2 (TCP port 4028).

One request per TCP connection, as the firmware requires. Requests to one miner
never run in parallel (a per-miner lock), and the write token is cached per miner
and reused across connections until shortly before the firmware expires it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
import hashlib
import ipaddress
import json
import logging
import re
import struct
import time
from typing import Any, Final
import weakref

from ..errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    ConnectTimeout,
    DeviceError,
    InvalidParameter,
    NoReply,
    ParseError,
    RateLimited,
    RequestTimeout,
    Unreachable,
    UnsupportedCommand,
    WriteApiDisabled,
)
from ..fields import as_int
from ..models import MinerError, PowerMode, PowerPercentMode, PrePowerOnStatus
from ..pacing import take_turn
from . import parse
from .crypto import Token, decrypt, encrypt
from .models import (
    DeviceDetails,
    Hashboard,
    HeatMode,
    MinerStatus,
    NetworkInfo,
    Pool,
    PowerSupply,
    Readings,
    Summary,
    TokenChallenge,
    Version,
    WriteResult,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4028
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 10.0
# The firmware expires a sign after 30 minutes; renew a little earlier.
TOKEN_LIFETIME: Final = 25 * 60.0
# After "token over max times" the miner refuses tokens for a while: don't hammer it.
TOKEN_LIMIT_BACKOFF: Final = 5 * 60.0
_IDLE_EXPIRY_MARGIN: Final = 0.8

MINER_INFO_FIELDS: Final = (
    "ip",
    "proto",
    "netmask",
    "gateway",
    "dns",
    "hostname",
    "mac",
    "ledstat",
    "minersn",
    "powersn",
)
# Commands that restart btminer or the miner and often close without replying.
_MAY_CLOSE_WITHOUT_REPLY: Final = frozenset(
    {
        "reboot",
        "restart_btminer",
        "power_off",
        "set_low_power",
        "set_normal_power",
        "set_high_power",
    }
)
# A rebooting miner may vanish without closing: the client's timeout ends it.
_MAY_HANG_WITHOUT_REPLY: Final = frozenset({"reboot"})
_PASSWORD = re.compile(r"^\w{1,8}$", re.ASCII)
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CUSTOMER_KEYS: Final = frozenset({"CustomerSn", *(f"msg{i}" for i in range(10))})
_MAX_CUSTOMER_TEXT: Final = 127
_MAX_FIRMWARE_SIZE: Final = 0xFFFFFFFF
_MAX_JOIN: Final = len(parse.CGMINER_READS)


class _JoinRefused(Exception):
    """The firmware did not answer a joined read."""


@dataclass(slots=True)
class _MinerSession:
    """State shared by every client of one miner: the lock and the cached token."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    token: Token | None = None
    token_owner: str | None = None  # fingerprint of the password the token is for
    idle_timeout_s: int | None = None
    last_used: float = 0.0
    backoff_until: float = 0.0


_SESSIONS: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], _MinerSession]
] = weakref.WeakKeyDictionary()


def session_for(host: str, port: int) -> _MinerSession:
    """The lock (and token cache) shared by every client of one miner's port."""
    sessions = _SESSIONS.setdefault(asyncio.get_running_loop(), {})
    return sessions.setdefault((host, port), _MinerSession())


def _fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _in_range(name: str, value: int, low: int, high: int) -> str:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise InvalidParameter(f"{name} must be an integer from {low} to {high}")
    return str(value)


def _text(name: str, value: str, max_length: int) -> str:
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidParameter(
            f"{name} must be text of at most {max_length} characters"
        )
    return value


def _ip_address(name: str, value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as err:
        raise InvalidParameter(f"{name} must be an IPv4 address") from err


def _json_object_end(buffer: bytes | bytearray) -> int | None:
    """Index just past the first complete top-level JSON object, if any."""
    depth, in_string, escaped = 0, False, False
    start = buffer.find(b"{")
    if start < 0:
        return None
    for index in range(start, len(buffer)):
        byte = buffer[index]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:  # {
            depth += 1
        elif byte == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return index + 1
    return None


class WhatsminerV2Client:
    """Client for one Whatsminer miner's API v2."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        token_lifetime: float = TOKEN_LIFETIME,
        token_limit_backoff: float = TOKEN_LIMIT_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a client; nothing is sent until a method is called."""
        self.host = host
        self.port = port
        self._password = password
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.token_lifetime = token_lifetime
        self.token_limit_backoff = token_limit_backoff
        self._clock = clock
        self._join_limit = _MAX_JOIN

    def __repr__(self) -> str:
        """Name the miner, never the password."""
        return f"WhatsminerV2Client(host={self.host!r}, port={self.port})"

    @property
    def _session(self) -> _MinerSession:
        return session_for(self.host, self.port)

    @property
    def join_limit(self) -> int:
        """How many cgminer reads the firmware accepted in one joined request."""
        return self._join_limit

    @property
    def token_age(self) -> float | None:
        """Seconds since the cached token was obtained (None: no token)."""
        token = self._session.token
        return None if token is None else self._clock() - token.obtained_at

    # --- transport ----------------------------------------------------------

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(self.host, self.port)
        except TimeoutError as err:
            raise ConnectTimeout(f"{self.host}:{self.port}: connect timed out") from err
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise Unreachable(f"{self.host}:{self.port}: {reason}") from err

    async def _read_to_eof(self, reader: asyncio.StreamReader) -> bytes:
        """Read until the miner closes; on timeout keep what arrived, if anything."""
        buffer = bytearray()
        try:
            async with asyncio.timeout(self.read_timeout):
                while chunk := await reader.read(65536):
                    buffer += chunk
        except TimeoutError:
            if not buffer:
                raise
        return bytes(buffer)

    async def _exchange(self, payload: bytes) -> bytes:
        """Send one request on a new connection and return the raw reply.

        Raises ConnectionFailed before anything was sent; TimeoutError or OSError
        once the request may have reached the miner.
        """
        reader, writer = await self._open()
        try:
            writer.write(payload)
            await writer.drain()
            raw = await self._read_to_eof(reader)
        finally:
            writer.close()
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()
        await take_turn()  # before the reply is decoded
        return raw

    # --- plaintext reads ----------------------------------------------------

    async def _request(self, command: str, payload: bytes) -> parse.Reply:
        """One plaintext request (call with the session lock held)."""
        try:
            raw = await self._exchange(payload)
        except TimeoutError as err:
            raise RequestTimeout(f"{command}: no reply in time") from err
        except OSError as err:
            raise ConnectionFailed(f"{command}: connection lost") from err
        if not raw:
            raise ConnectionFailed(f"{command}: the miner closed without replying")
        return parse.decode(raw)

    async def _read(self, command: str, **params: str) -> parse.Reply:
        payload = json.dumps({"cmd": command, **params}).encode()
        _LOGGER.debug("%s: read %s", self, command)
        async with self._session.lock:
            return await self._request(command, payload)

    async def _read_message(self, command: str, **params: str) -> Mapping[str, Any]:
        reply = await self._read(command, **params)
        parse.raise_for_status(reply, command)
        return parse.message_object(reply, command)

    async def read(self, *commands: str) -> Readings:
        """Read cgminer-family commands, joined into as few requests as possible.

        ``read("summary", "pools", "edevs")`` costs one connection where the
        firmware accepts that join. Manual 2.2 promises joins of two, so when a
        join is refused the client remembers a smaller size and reads again.
        """
        unknown = set(commands) - parse.CGMINER_READS.keys()
        if not commands or unknown:
            raise InvalidParameter(f"cannot read {sorted(unknown) or 'nothing'}")
        ordered = list(dict.fromkeys(commands))
        while True:
            size = min(self._join_limit, len(ordered))
            try:
                replies: dict[str, parse.Reply] = {}
                for start in range(0, len(ordered), size):
                    replies |= await self._read_chunk(ordered[start : start + size])
            except _JoinRefused:
                _LOGGER.debug("%s: joins of %d refused", self, size)
                self._join_limit = size - 1
                continue
            return parse.readings_from(replies)

    async def _read_chunk(self, commands: list[str]) -> dict[str, parse.Reply]:
        if len(commands) == 1:
            return {commands[0]: await self._read(commands[0])}
        joined = "+".join(commands)
        reply = await self._read(joined)
        try:
            parse.raise_for_status(reply, joined)
            return parse.split_joined(reply, commands)
        except (DeviceError, ParseError) as err:
            raise _JoinRefused from err

    async def summary(self) -> Summary:
        """``summary``: hashrate, power, temperatures and fans."""
        summary = (await self.read("summary")).summary
        if summary is None:
            raise ParseError("summary: no data")
        return summary

    async def pools(self) -> tuple[Pool, ...]:
        """``pools``: the configured pools and their share counters."""
        return (await self.read("pools")).pools or ()

    async def edevs(self) -> tuple[Hashboard, ...]:
        """``edevs``: one entry per hashboard."""
        return (await self.read("edevs")).hashboards or ()

    async def devs(self) -> tuple[Hashboard, ...]:
        """``devs`` (deprecated alias of ``edevs`` on newer firmware)."""
        return (await self.read("devs")).hashboards or ()

    async def devdetails(self) -> tuple[DeviceDetails, ...]:
        """``devdetails``: the model name per hashboard."""
        return (await self.read("devdetails")).device_details or ()

    async def get_psu(self) -> PowerSupply:
        """``get_psu``: the power supply."""
        return parse.power_supply_from(await self._read_message("get_psu"))

    async def get_version(self) -> Version:
        """``get_version``: API and firmware versions."""
        return parse.version_from(await self._read_message("get_version"))

    async def get_token(self) -> TokenChallenge:
        """``get_token`` (plaintext): the inputs of a write token."""
        reply = await self._read("get_token")
        parse.raise_for_status(reply, "get_token")
        return parse.token_challenge_from(parse.message_object(reply, "get_token"))

    async def status(self) -> MinerStatus:
        """``status``: whether btminer is running, and the power settings."""
        reply = await self._read("status")
        parse.raise_for_status(reply, "status")
        return parse.status_from(reply)

    async def get_miner_info(self, fields: Iterable[str] | None = None) -> NetworkInfo:
        """``get_miner_info`` for the selected fields (default: all of them)."""
        selected = list(fields or MINER_INFO_FIELDS)
        if unknown := set(selected) - set(MINER_INFO_FIELDS):
            raise InvalidParameter(f"unknown miner info fields: {sorted(unknown)}")
        message = await self._read_message("get_miner_info", info=",".join(selected))
        return parse.network_info_from(message)

    async def get_error_code(self) -> tuple[MinerError, ...]:
        """``get_error_code``: the active error codes."""
        return parse.error_codes_from(await self._read_message("get_error_code"))

    # --- token --------------------------------------------------------------

    def _require_password(self) -> str:
        if self._password is None:
            raise AuthFailed("no password configured", command="get_token")
        return self._password

    def _cached_token(self, session: _MinerSession, owner: str) -> Token | None:
        token, now = session.token, self._clock()
        if token is None or session.token_owner != owner:
            return None
        if now - token.obtained_at >= self.token_lifetime:
            return None
        idle = session.idle_timeout_s
        if idle and now - session.last_used >= idle * _IDLE_EXPIRY_MARGIN:
            return None
        return token

    async def _token(self) -> Token:
        """The cached token, or a new one (call with the session lock held)."""
        password = self._require_password()
        session, owner = self._session, _fingerprint(password)
        if token := self._cached_token(session, owner):
            return token
        now = self._clock()
        if now < session.backoff_until:
            wait = int(session.backoff_until - now)
            raise RateLimited(
                f"token limit reached; retrying in {wait} s", command="get_token"
            )
        challenge = await self._fetch_challenge(session)
        token = Token.derive(
            password, challenge.salt, challenge.newsalt, challenge.time, self._clock()
        )
        session.token, session.token_owner = token, owner
        session.idle_timeout_s = challenge.timeout_s
        return token

    async def _fetch_challenge(self, session: _MinerSession) -> TokenChallenge:
        reply = await self._request("get_token", b'{"cmd":"get_token"}')
        try:
            parse.raise_for_status(reply, "get_token")
        except RateLimited:
            session.backoff_until = self._clock() + self.token_limit_backoff
            raise
        return parse.token_challenge_from(parse.message_object(reply, "get_token"))

    def forget_token(self) -> None:
        """Drop the cached token (the next write fetches a new one)."""
        self._session.token = None

    # --- encrypted requests -------------------------------------------------

    def _envelope(self, token: Token, command: str, params: Mapping[str, Any]) -> bytes:
        plaintext = json.dumps(
            {"cmd": command, **params, "token": token.sign}, separators=(",", ":")
        )
        data = encrypt(token.aes_key, plaintext.encode())
        return json.dumps({"enc": 1, "data": data}).encode()

    def _open_reply(self, raw: bytes, token: Token, command: str) -> parse.Reply:
        """Decode an encrypted reply; plaintext errors come before decryption."""
        reply = parse.decode(raw)
        parse.raise_for_status(reply, command, encrypted=True)
        ciphertext = reply.get("enc")
        if isinstance(ciphertext, str):
            reply = parse.decode(decrypt(token.aes_key, ciphertext))
            parse.raise_for_status(reply, command, encrypted=True)
        return reply

    async def _encrypted(
        self, command: str, params: Mapping[str, Any], *, write: bool
    ) -> parse.Reply | None:
        """Send an encrypted request; None when a write got no reply.

        Retries once with a new token when the miner says the token is stale
        (code 135: it rejected the command before running it). Never retries
        anything whose outcome is unknown.
        """
        _LOGGER.debug(
            "%s: %s %s", self, "write" if write else "encrypted read", command
        )
        session = self._session
        async with session.lock:
            for attempt in (1, 2):
                token = await self._token()
                try:
                    return await self._send_encrypted(command, params, token, write)
                except parse.StaleToken as err:
                    session.token = None
                    if attempt == 2:
                        raise CommandRejected(
                            "the miner rejected a fresh token",
                            command=command,
                            code=err.code,
                        ) from err
                except AuthFailed:
                    session.token = None
                    raise
                finally:
                    session.last_used = self._clock()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_encrypted(
        self, command: str, params: Mapping[str, Any], token: Token, write: bool
    ) -> parse.Reply | None:
        payload = self._envelope(token, command, params)
        try:
            raw = await self._exchange(payload)
        except TimeoutError as err:
            if not write:
                raise RequestTimeout(f"{command}: no reply in time") from err
            # Silence on a connection the miner keeps open: the outcome is
            # unknown, unless the miner reboots (it vanishes without closing).
            if command not in _MAY_HANG_WITHOUT_REPLY:
                raise NoReply(command) from err
            return None
        except OSError as err:
            if write:
                return None
            raise RequestTimeout(f"{command}: no reply in time") from err
        if not raw:
            if write:
                return None
            raise ConnectionFailed(f"{command}: the miner closed without replying")
        try:
            return self._open_reply(raw, token, command)
        except ParseError as err:
            if write:
                raise NoReply(command, "unreadable reply") from err
            raise

    async def _write(
        self, command: str, params: Mapping[str, Any] | None = None
    ) -> WriteResult:
        reply = await self._encrypted(command, params or {}, write=True)
        if reply is None:
            if command in _MAY_CLOSE_WITHOUT_REPLY:
                _LOGGER.debug("%s: %s sent, no reply", self, command)
                return WriteResult(command, replied=False)
            raise NoReply(command)
        return WriteResult(command, replied=True, message=reply.get("Msg"))

    async def _encrypted_read(self, command: str) -> parse.Reply:
        reply = await self._encrypted(command, {}, write=False)
        if reply is None:  # pragma: no cover - reads raise instead of returning None
            raise RequestTimeout(f"{command}: no reply")
        return reply

    async def check_write_api(self) -> bool | None:
        """Whether the miner accepts writes; None when the firmware cannot tell.

        Probes with ``get_customer_msg``, the one command of the writable API
        (Manual 2.2 §3.34) that changes nothing. Firmware older than Manual 2.2
        does not know it (code 14).
        """
        try:
            await self._encrypted_read("get_customer_msg")
        except WriteApiDisabled:
            return False
        except UnsupportedCommand:
            return None
        return True

    async def check_password(self) -> None:
        """Prove the password with an encrypted read (``get_version``).

        Raises AuthFailed for a wrong password and WriteApiDisabled when the
        miner refuses encrypted commands.
        """
        reply = await self._encrypted_read("get_version")
        parse.message_object(reply, "get_version")

    # --- writes (Manual 2.2 §3) ---------------------------------------------

    async def update_pools(self, pools: Iterable[tuple[str, str, str]]) -> WriteResult:
        """Set up to three pools as (url, worker, password); takes effect at once."""
        entries = list(pools)
        if not 1 <= len(entries) <= 3:
            raise InvalidParameter("between one and three pools are required")
        params: dict[str, str] = {}
        for index in range(1, 4):
            url, worker, secret = (
                entries[index - 1] if index <= len(entries) else ("", "", "")
            )
            params[f"pool{index}"] = _text("pool url", url, 256)
            params[f"worker{index}"] = _text("worker", worker, 256)
            params[f"passwd{index}"] = _text("pool password", secret, 256)
        if not all(entry[0] for entry in entries):
            raise InvalidParameter("every pool needs a url")
        return await self._write("update_pools", params)

    async def restart_btminer(self) -> WriteResult:
        """Restart the mining process (may not reply)."""
        return await self._write("restart_btminer")

    async def power_off(self, *, respond_before: bool = True) -> WriteResult:
        """Stop mining and cut hashboard power; the control board stays up."""
        return await self._write(
            "power_off", {"respbefore": "true" if respond_before else "false"}
        )

    async def power_on(self) -> WriteResult:
        """Start mining."""
        return await self._write("power_on")

    async def set_led_auto(self) -> WriteResult:
        """Give the LEDs back to the firmware."""
        return await self._write("set_led", {"param": "auto"})

    async def set_led(
        self, color: str, *, period_ms: int, duration_ms: int, start_ms: int = 0
    ) -> WriteResult:
        """Flash an LED: ``duration_ms`` on per ``period_ms``, from ``start_ms``."""
        if color not in ("red", "green"):
            raise InvalidParameter("color must be red or green")
        _in_range("period_ms", period_ms, 1, 3_600_000)
        _in_range("duration_ms", duration_ms, 0, period_ms)
        _in_range("start_ms", start_ms, 0, period_ms)
        return await self._write(
            "set_led",
            {
                "color": color,
                "period": period_ms,
                "duration": duration_ms,
                "start": start_ms,
            },
        )

    async def set_power_mode(self, mode: PowerMode) -> WriteResult:
        """Switch the power mode; btminer restarts (may not reply)."""
        return await self._write(f"set_{PowerMode(mode).value}_power")

    async def reboot(self) -> WriteResult:
        """Restart the control board (may not reply)."""
        return await self._write("reboot")

    async def factory_reset(self) -> WriteResult:
        """Restore factory settings.

        The password becomes ``admin`` and the write API is switched off.
        """
        return await self._write("factory_reset")

    async def update_password(self, new_password: str) -> WriteResult:
        """Change the admin password (1-8 letters, digits or underscores)."""
        if not isinstance(new_password, str) or not _PASSWORD.match(new_password):
            raise InvalidParameter("the new password must be 1-8 letters, digits or _")
        old = self._require_password()
        result = await self._write("update_pwd", {"old": old, "new": new_password})
        self._password = new_password
        self.forget_token()
        return result

    async def set_network_dhcp(self) -> WriteResult:
        """Use DHCP; the miner restarts its network."""
        return await self._write("net_config", {"param": "dhcp"})

    async def set_network_static(
        self, ip: str, netmask: str, gateway: str, dns: Iterable[str], hostname: str
    ) -> WriteResult:
        """Use a static address; the miner restarts its network."""
        servers = [_ip_address("dns", server) for server in dns]
        if not servers:
            raise InvalidParameter("at least one dns server is required")
        return await self._write(
            "net_config",
            {
                "ip": _ip_address("ip", ip),
                "mask": _ip_address("netmask", netmask),
                "gate": _ip_address("gateway", gateway),
                "dns": " ".join(servers),
                "host": self._hostname(hostname),
            },
        )

    async def download_logs(self) -> bytes:
        """Download the miner's log file (a header, then raw bytes)."""
        return await self._transfer("download_logs", upload=None)

    async def update_firmware(self, image: bytes) -> WriteResult:
        """Upload a firmware image; the miner reboots into it afterwards.

        Success shows later as a new firmware version in ``get_version``.
        """
        if not image or len(image) > _MAX_FIRMWARE_SIZE:
            raise InvalidParameter("the firmware image is empty or too large")
        await self._transfer("update_firmware", upload=image)
        return WriteResult("update_firmware", replied=True, message="ready")

    async def set_target_frequency(self, percent: int) -> WriteResult:
        """Adjust the frequency by -100..100 % of normal mode; btminer restarts."""
        return await self._write(
            "set_target_freq", {"percent": _in_range("percent", percent, -100, 100)}
        )

    async def set_fast_boot(self, enabled: bool) -> WriteResult:
        """Enable or disable btminer fast boot (from the next start)."""
        action = "enable" if enabled else "disable"
        return await self._write(f"{action}_btminer_fast_boot")

    async def set_web_pools(self, enabled: bool) -> WriteResult:
        """Allow or forbid pool changes from the miner's web page."""
        return await self._write(f"{'enable' if enabled else 'disable'}_web_pools")

    def _hostname(self, hostname: str) -> str:
        if not isinstance(hostname, str) or not _HOSTNAME.match(hostname):
            raise InvalidParameter("hostname must be 1-63 letters, digits or -")
        return hostname

    async def set_hostname(self, hostname: str) -> WriteResult:
        """Set the hostname (effective after a network restart)."""
        return await self._write("set_hostname", {"hostname": self._hostname(hostname)})

    async def set_zone(self, timezone: str, zonename: str) -> WriteResult:
        """Set the time zone, e.g. ``("CST-8", "Asia/Shanghai")``."""
        if not timezone or not zonename:
            raise InvalidParameter("timezone and zonename are required")
        return await self._write(
            "set_zone",
            {
                "timezone": _text("timezone", timezone, 64),
                "zonename": _text("zonename", zonename, 64),
            },
        )

    async def load_log(self, ip: str, port: int, proto: str) -> WriteResult:
        """Send the miner's logs to a syslog server."""
        if proto not in ("tcp", "udp"):
            raise InvalidParameter("proto must be tcp or udp")
        return await self._write(
            "load_log",
            {
                "ip": _ip_address("ip", ip),
                "port": _in_range("port", port, 1, 65535),
                "proto": proto,
            },
        )

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> WriteResult:
        """Run at a percentage of full power (normal mode adjusts over minutes)."""
        command = (
            "set_power_pct" if mode is PowerPercentMode.FAST else "set_power_pct_v2"
        )
        return await self._write(
            command, {"percent": _in_range("percent", percent, 0, 100)}
        )

    async def set_power(self, power_w: int) -> WriteResult:
        """Set the power value (Manual 2.2 §3.23: unit undocumented, watts likely)."""
        return await self._write(
            "set_power", {"power": _in_range("power", power_w, 0, 99999)}
        )

    async def restore_power_percent(self) -> WriteResult:
        """Undo ``set_power_pct`` / ``set_power_pct_v2``."""
        return await self._write("restore_power_pct")

    async def set_temperature_offset(self, offset_c: int) -> WriteResult:
        """Lower the target board temperature by up to 30 °C (from the next start)."""
        return await self._write(
            "set_temp_offset",
            {"temp_offset": _in_range("temp_offset", offset_c, -30, 0)},
        )

    async def set_power_limit(self, power_limit_w: int) -> WriteResult:
        """Set the upper power limit in W (99999 resets it); mining restarts."""
        return await self._write(
            "adjust_power_limit",
            {"power_limit": _in_range("power_limit", power_limit_w, 0, 99999)},
        )

    async def set_upfreq_speed(self, speed: int) -> WriteResult:
        """Start-up ramp speed, 0 (normal) to 9 (fastest)."""
        return await self._write(
            "adjust_upfreq_speed",
            {"upfreq_speed": _in_range("upfreq_speed", speed, 0, 9)},
        )

    async def set_poweroff_cool(self, enabled: bool) -> WriteResult:
        """Keep the fans cooling after mining stops (air-cooled)."""
        return await self._write(
            "set_poweroff_cool", {"poweroff_cool": "1" if enabled else "0"}
        )

    async def set_fan_zero_speed(self, enabled: bool) -> WriteResult:
        """Allow the fans to stop completely (air-cooled)."""
        return await self._write(
            "set_fan_zero_speed", {"fan_zero_speed": "1" if enabled else "0"}
        )

    async def set_heat_mode(self, mode: HeatMode) -> WriteResult:
        """Set the heat mode of hydro miners."""
        return await self._write("set_heat_mode", {"mode": HeatMode(mode).value})

    async def set_btminer_init(self, enabled: bool) -> WriteResult:
        """Whether mining starts when the miner boots."""
        return await self._write(f"{'enable' if enabled else 'disable'}_btminer_init")

    async def set_customer_message(self, key: str, value: str) -> WriteResult:
        """Store a customer SN (``CustomerSn``) or message (``msg0``..``msg9``)."""
        if key not in _CUSTOMER_KEYS:
            raise InvalidParameter("key must be CustomerSn or msg0..msg9")
        return await self._write(
            "set_customer_msg",
            {"key": key, "val": _text("value", value, _MAX_CUSTOMER_TEXT)},
        )

    async def get_customer_message(self) -> Any:
        """Read the customer SN and messages (the reply shape is undocumented)."""
        return (await self._encrypted_read("get_customer_msg")).get("Msg")

    async def pre_power_on(self) -> PrePowerOnStatus:
        """Preheat before ``power_on`` (API 2.0.4, mining off); poll until complete."""
        result = await self._write("pre_power_on")
        return parse.pre_power_on_from(result.message)

    # --- two-phase transfers (Manual §3.7, §3.12) ---------------------------

    async def _transfer(self, command: str, *, upload: bytes | None) -> bytes:
        """Run ``download_logs`` or ``update_firmware`` on one connection."""
        async with self._session.lock:
            token = await self._token()
            reader, writer = await self._open()
            try:
                writer.write(self._envelope(token, command, {}))
                await writer.drain()
                header, rest = await self._read_header(reader, command)
                reply = self._open_reply(header, token, command)
                if upload is not None:
                    await self._upload(reader, writer, upload)
                    return b""
                return await self._read_log(reader, reply, rest)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as err:
                raise NoReply(command, "transfer interrupted") from err
            finally:
                self._session.last_used = self._clock()
                writer.close()

    async def _upload(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, data: bytes
    ) -> None:
        """Send the size and the image, then wait until the miner has taken it all.

        The miner does not reply; it closes the connection to reboot. A miner that
        keeps the connection open past the timeout has received the image as well.
        """
        writer.write(struct.pack("<I", len(data)) + data)
        await writer.drain()
        writer.write_eof()
        with suppress(TimeoutError):
            await self._read_to_eof(reader)

    async def _read_header(
        self, reader: asyncio.StreamReader, command: str
    ) -> tuple[bytes, bytes]:
        """Read the JSON header; binary data may follow in the same packet."""
        buffer = bytearray()
        async with asyncio.timeout(self.read_timeout):
            while (end := _json_object_end(buffer)) is None:
                chunk = await reader.read(65536)
                if not chunk:
                    raise NoReply(command, "the miner closed before the header")
                buffer += chunk
        return bytes(buffer[:end]), bytes(buffer[end:])

    async def _read_log(
        self, reader: asyncio.StreamReader, reply: parse.Reply, rest: bytes
    ) -> bytes:
        message = parse.message_object(reply, "download_logs")
        length = as_int(message.get("logfilelen"))
        if length is None or length < 0:
            raise ParseError("download_logs: the header has no log length")
        rest = rest[:length]
        async with asyncio.timeout(self.read_timeout):
            return rest + await reader.readexactly(length - len(rest))
