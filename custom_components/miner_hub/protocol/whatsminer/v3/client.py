"""Async client for the Whatsminer API v3 (TCP port 4433, firmware from late 2024 on).

Every message is a 4-byte little-endian length followed by UTF-8 JSON, both
ways. Writes carry ``ts``, ``account`` and ``token`` = the first 8 characters of
base64(SHA-256(cmd + password + salt + ts)); the parameters of ``set.miner.pools``
and ``set.user.change_passwd`` are AES-256-ECB encrypted with that digest.
Never two requests at once to one miner. A connection carries one request,
except that the reads of one ``batch()`` share a connection the miner keeps open
(writes always open their own, so a failed one is never ambiguous about reuse).
Writes are signed with the miner's clock (the ``when`` of its last reply), so a
Home Assistant clock that is off does not make the miner refuse them.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
import hashlib
import json
import logging
import struct
import time
from typing import Any, Final

from Crypto.Cipher import AES
from Crypto.Util.Padding import pad

from ..errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    ConnectTimeout,
    InvalidParameter,
    NoReply,
    ParseError,
    RequestTimeout,
    Unreachable,
    UnsupportedCommand,
)
from ..fields import Fields, as_str
from ..models import MinerError, PowerMode, PowerPercentMode
from ..pacing import take_turn
from .v2 import session_for
from .v3_models import (
    DeviceInfo,
    Hashboard,
    MinerSettings,
    MinerStatus,
    Pool,
    Summary,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4433
DEFAULT_ACCOUNT: Final = "super"
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 10.0
MAX_FRAME: Final = 1 << 20  # mdk's limit; the firmware's own is unknown
_HEADER = struct.Struct("<I")
_ENCRYPTED_PARAMS: Final = frozenset({"set.miner.pools", "set.user.change_passwd"})
_NO_REPLY_COMMANDS: Final = frozenset({"set.system.reboot"})
CODE_OK: Final = 0
CODE_FAIL: Final = -1
CODE_INVALID_COMMAND: Final = -2
CODE_PARAM_NULL: Final = -3
CODE_NO_PERMISSION: Final = -4
STATUS_SECTIONS: Final = ("summary", "pools", "edevs")


def token(cmd: str, password: str, salt: str, ts: int) -> tuple[str, bytes]:
    """The 8-character token and the SHA-256 digest (the AES key) of a command."""
    digest = hashlib.sha256(f"{cmd}{password}{salt}{ts}".encode()).digest()
    return base64.b64encode(digest).decode("ascii")[:8], digest


def encrypt_param(digest: bytes, param: Any) -> str:
    """base64(AES-256-ECB(PKCS#7(compact JSON))) with the command's digest."""
    plaintext = json.dumps(param, separators=(",", ":")).encode()
    cipher = AES.new(digest, AES.MODE_ECB)
    return base64.b64encode(cipher.encrypt(pad(plaintext, 16))).decode("ascii")


def _errors(value: Any) -> tuple[MinerError, ...]:
    """``[{"<code>": "<time>", "reason": "..."}]``."""
    errors: list[MinerError] = []
    for entry in value if isinstance(value, list) else ():
        if not isinstance(entry, dict):
            continue
        reason = as_str(entry.get("reason"))
        for key, since in entry.items():
            if (
                key != "reason"
                and (code := Fields({"c": key}).integer("c")) is not None
            ):
                errors.append(MinerError(code, as_str(since), reason))
    return tuple(errors)


def device_info_from(msg: Mapping[str, Any]) -> DeviceInfo:
    """Build DeviceInfo from the sections present in ``get.device.info``."""

    def section(name: str) -> Fields:
        value = msg.get(name)
        return Fields(value if isinstance(value, dict) else {})

    miner, system, power = section("miner"), section("system"), section("power")
    network = section("network")
    return DeviceInfo(
        mac=network.text("mac"),
        hostname=network.text("hostname"),
        ip=network.text("ip"),
        model=miner.text("type"),
        working=miner.flag("working"),
        serial_number=miner.text("miner-sn"),
        firmware_version=system.text("fwversion"),
        api_version=system.text("api"),
        platform=system.text("platform"),
        api_switch=system.flag("apiswitch"),
        psu_model=power.text("model"),
        psu_serial_number=power.text("sn"),
        psu_fan_speed_rpm=power.integer("fanspeed"),
        salt=as_str(msg.get("salt")),
        errors=_errors(msg.get("error-code")),
    )


def summary_from(record: Mapping[str, Any]) -> Summary:
    """Build Summary (hashrates are TH/s in v3)."""
    fields = Fields(record)
    boards = record.get("board-temperature")
    return Summary(
        elapsed_s=fields.integer("elapsed"),
        uptime_s=fields.integer("bootup-time"),
        hashrate_ths=fields.number("hash-average"),
        hashrate_1m_ths=fields.number("hash-1min"),
        hashrate_15m_ths=fields.number("hash-15min"),
        hashrate_realtime_ths=fields.number("hash-realtime"),
        factory_hashrate_ths=fields.number("factory-hash"),
        power_w=fields.number("power-realtime"),
        power_5m_w=fields.number("power-5min"),
        power_limit_w=fields.number("power-limit"),
        power_rate_j_per_th=fields.number("power-rate"),
        environment_temperature_c=fields.number("environment-temperature"),
        board_temperatures_c=tuple(
            t
            for v in (boards if isinstance(boards, list) else ())
            if (t := Fields({"t": v}).number("t")) is not None
        ),
        chip_temp_min_c=fields.number("chip-temp-min"),
        chip_temp_avg_c=fields.number("chip-temp-avg"),
        chip_temp_max_c=fields.number("chip-temp-max"),
        fan_speed_in_rpm=fields.integer("fan-speed-in"),
        fan_speed_out_rpm=fields.integer("fan-speed-out"),
        frequency_avg_mhz=fields.number("freq-avg"),
        upfreq_finished=fields.flag("up-freq-finish"),
    )


def _alive(value: str | None) -> bool | None:
    return None if value is None else value.lower() == "alive"


def status_from(msg: Mapping[str, Any]) -> MinerStatus:
    """Build MinerStatus from the sections of ``get.miner.status``."""
    summary = msg.get("summary")
    pools = msg.get("pools")
    edevs = msg.get("edevs")
    return MinerStatus(
        summary=summary_from(summary) if isinstance(summary, dict) else None,
        pools=None
        if not isinstance(pools, list)
        else tuple(
            Pool(
                url=(f := Fields(p)).text("url"),
                account=f.text("account"),
                alive=_alive(f.text("status")),
                active=f.flag("stratum-active"),
                priority=f.integer("pool-priority"),
            )
            for p in pools
            if isinstance(p, dict)
        ),
        hashboards=None
        if not isinstance(edevs, list)
        else tuple(
            Hashboard(
                index=(f := Fields(e)).integer("id"),
                alive=_alive(f.text("status")),
                frequency_mhz=f.number("freq"),
                effective_chips=f.integer("effective-chips"),
                hashrate_ths=f.number("hash-average"),
                hashrate_realtime_ths=f.number("hash-realtime"),
                factory_hashrate_ths=f.number("factory-hash"),
                chip_temp_min_c=f.number("chip-temp-min"),
                chip_temp_avg_c=f.number("chip-temp-avg"),
                chip_temp_max_c=f.number("chip-temp-max"),
            )
            for e in edevs
            if isinstance(e, dict)
        ),
    )


def settings_from(msg: Mapping[str, Any]) -> MinerSettings:
    """Build MinerSettings from ``get.miner.setting``."""
    fields = Fields(msg)
    return MinerSettings(
        power_percent=fields.integer("power-percent"),
        power_limit_w=fields.integer("power-limit"),
        power_mode=fields.text("power-mode"),
        target_frequency_percent=fields.integer("target-freq"),
        upfreq_speed=fields.integer("upfreq-speed"),
        fast_boot=fields.flag("fast-boot"),
        heat_mode=fields.text("heat-mode"),
    )


def _raise_for_code(reply: Mapping[str, Any], cmd: str) -> None:
    code = Fields(reply).integer("code")
    if code == CODE_OK:
        return
    message = str(reply.get("msg") or "error")
    if code == CODE_NO_PERMISSION:
        raise AuthFailed(
            "the miner refused the credentials (no permission)", command=cmd
        )
    if code == CODE_INVALID_COMMAND:
        raise UnsupportedCommand(message, command=cmd, code=code)
    if code is None:
        raise ParseError(f"{cmd}: the reply has no code")
    raise CommandRejected(message, command=cmd, code=code)


class WhatsminerV3Client:
    """Client for one Whatsminer miner's API v3."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Create a client; nothing is sent until a method is called."""
        self.host = host
        self.port = port
        self._password = password
        self.account = account
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._clock = clock
        self._clock_offset = 0.0  # miner clock - our clock, from the last reply
        self._salt: str | None = None
        self._batch_depth = 0  # batch() may nest: the outermost closes
        self._reuse = True  # until the miner ignores a request on a kept connection
        # A connection the miner kept open after its reply, reused in a batch.
        self._open: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    def __repr__(self) -> str:
        """Name the miner, never the password."""
        return f"WhatsminerV3Client(host={self.host!r}, port={self.port})"

    # --- transport ----------------------------------------------------------

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Reads inside share one connection, where the miner keeps it open."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth:
                self._close_open()

    def _close_open(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(self.host, self.port)
        except TimeoutError as err:
            raise ConnectTimeout(f"{self.host}:{self.port}: connect timed out") from err
        except OSError as err:
            reason = err.strerror or err
            raise Unreachable(f"{self.host}:{self.port}: {reason}") from err

    async def _exchange(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """Send one frame on a new connection; the reply, or None if none came.

        ConnectionFailed means nothing was sent; TimeoutError, OSError and
        IncompleteReadError mean the request may have reached the miner.
        """
        self._close_open()
        reader, writer = await self._connect()
        try:
            reply = await self._send(reader, writer, request)
        except BaseException:
            writer.close()
            raise
        self._keep_or_close(reader, writer, reply)
        return reply

    def _keep_or_close(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reply: dict[str, Any] | None,
    ) -> None:
        kept_open = reply is not None and not reader.at_eof()
        if self._batch_depth and self._reuse and kept_open:
            self._open = (reader, writer)
        else:
            writer.close()

    async def _exchange_read(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """A read: on the connection kept open in a batch, else on a new one."""
        if (kept := self._open) is not None:
            self._open = None
            if (reply := await self._on_kept(kept, request)) is not None:
                return reply
        return await self._exchange(request)

    async def _on_kept(
        self,
        kept: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        request: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """The reply on the kept connection; None if it is no longer usable.

        The read is then sent again on a new connection: reads are safe to repeat.
        """
        reader, writer = kept
        try:
            reply = await self._send(reader, writer, request)
        except TimeoutError:
            self._reuse = False  # the miner ignores a second request on a connection
            reply = None
        except OSError, asyncio.IncompleteReadError, ParseError:
            reply = None  # closed since its last reply, or out of step
        if reply is None or reply.get("desc", request["cmd"]) != request["cmd"]:
            writer.close()
            return None
        self._keep_or_close(reader, writer, reply)
        return reply

    async def _send(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        payload = json.dumps(request, separators=(",", ":")).encode()
        writer.write(_HEADER.pack(len(payload)) + payload)
        await writer.drain()
        async with asyncio.timeout(self.read_timeout):
            reply = await self._read_frame(reader)
        if reply is not None and type(when := reply.get("when")) is int and when > 0:
            self._clock_offset = when - self._clock()
        return reply

    async def _read_frame(self, reader: asyncio.StreamReader) -> dict[str, Any] | None:
        try:
            header = await reader.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError as err:
            if not err.partial:
                return None  # closed without a reply
            raise
        (length,) = _HEADER.unpack(header)
        if not 0 < length <= MAX_FRAME:
            raise ParseError(f"reply frame length {length} is out of range")
        body = await reader.readexactly(length)
        await take_turn()
        try:
            reply = json.loads(body)
        except ValueError as err:
            raise ParseError("the reply frame is not JSON") from err
        if not isinstance(reply, dict):
            raise ParseError("the reply frame is not a JSON object")
        return reply

    async def _read(self, cmd: str, param: Any = None) -> Any:
        """A read (no token): the reply's ``msg``."""
        _LOGGER.debug("%s: read %s", self, cmd)
        async with session_for(self.host, self.port).lock:
            try:
                reply = await self._exchange_read({"cmd": cmd, "param": param})
            except (TimeoutError, asyncio.IncompleteReadError) as err:
                raise RequestTimeout(f"{cmd}: no reply in time") from err
            except OSError as err:
                raise ConnectionFailed(f"{cmd}: connection lost") from err
        if reply is None:
            raise ConnectionFailed(f"{cmd}: the miner closed without replying")
        _raise_for_code(reply, cmd)
        return reply.get("msg")

    def forget_salt(self) -> None:
        """Drop the cached salt (the next write asks the miner for it again)."""
        self._salt = None

    async def _salt_value(self, refresh: bool = False) -> str:
        if self._salt is None or refresh:
            msg = await self._read("get.device.info", "salt")
            salt = as_str(msg.get("salt")) if isinstance(msg, dict) else None
            if salt is None:
                raise ParseError("get.device.info: no salt")
            self._salt = salt
        return self._salt

    def _signed(self, cmd: str, param: Any, salt: str) -> dict[str, Any]:
        if self._password is None:
            raise AuthFailed("no password configured", command=cmd)
        ts = round(self._clock() + self._clock_offset)
        sign, digest = token(cmd, self._password, salt, ts)
        if cmd in _ENCRYPTED_PARAMS:
            param = encrypt_param(digest, param)
        return {
            "cmd": cmd,
            "param": param,
            "ts": ts,
            "token": sign,
            "account": self.account,
        }

    async def _write(self, cmd: str, param: Any = None) -> bool:
        """Send a write; True when the miner confirmed it, False for no reply.

        A -4 first refreshes the cached salt (the password may have changed it)
        and tries once more: a rejected token means nothing was done.
        """
        _LOGGER.debug("%s: write %s", self, cmd)
        for attempt in (1, 2):
            salt = await self._salt_value(refresh=attempt == 2)
            request = self._signed(cmd, param, salt)
            async with session_for(self.host, self.port).lock:
                try:
                    reply = await self._exchange(request)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as err:
                    raise NoReply(cmd) from err
                except ParseError as err:  # sent, answered unreadably: as for v2
                    raise NoReply(cmd, "unreadable reply") from err
            if reply is None:
                if cmd in _NO_REPLY_COMMANDS:
                    return False
                raise NoReply(cmd)
            try:
                _raise_for_code(reply, cmd)
            except AuthFailed:
                if attempt == 2:
                    raise
                continue
            return True
        raise AssertionError("unreachable")  # pragma: no cover

    # --- reads --------------------------------------------------------------

    async def get_device_info(self, section: str | None = None) -> DeviceInfo:
        """``get.device.info``: every section, or one (miner, system, power...)."""
        msg = await self._read("get.device.info", section)
        if not isinstance(msg, dict):
            raise ParseError("get.device.info: no msg object")
        info = device_info_from(msg)
        if info.salt is not None:
            self._salt = info.salt
        return info

    async def get_miner_status(
        self, sections: Sequence[str] = STATUS_SECTIONS
    ) -> MinerStatus:
        """``get.miner.status`` for the sections joined with ``+`` (one request)."""
        if not sections or set(sections) - set(STATUS_SECTIONS):
            raise InvalidParameter(f"sections must be among {STATUS_SECTIONS}")
        msg = await self._read("get.miner.status", "+".join(sections))
        if not isinstance(msg, dict):
            raise ParseError("get.miner.status: no msg object")
        return status_from(msg)

    async def get_miner_settings(self) -> MinerSettings:
        """``get.miner.setting``: power percent, limit and mode as set."""
        msg = await self._read("get.miner.setting")
        if not isinstance(msg, dict):
            raise ParseError("get.miner.setting: no msg object")
        return settings_from(msg)

    async def get_history(self, start: int, stop: int) -> list[tuple[int, ...]]:
        """``get.miner.history``: ``ts,v1,v2,...`` records between two unix times."""
        msg = await self._read(
            "get.miner.history", {"start": str(start), "stop": str(stop)}
        )
        data = msg.get("Data") if isinstance(msg, dict) else None
        records: list[tuple[int, ...]] = []
        for item in str(data or "").split():
            try:
                records.append(tuple(int(float(part)) for part in item.split(",")))
            except ValueError:
                continue
        return records

    # --- writes -------------------------------------------------------------

    async def set_service(self, action: str) -> bool:
        """``set.miner.service``: start, stop or restart mining."""
        if action not in ("start", "stop", "restart"):
            raise InvalidParameter("action must be start, stop or restart")
        return await self._write("set.miner.service", action)

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> bool:
        """``set.miner.power_percent``; the firmware reads the percent as a string."""
        if (
            isinstance(percent, bool)
            or not isinstance(percent, int)
            or not 0 <= percent <= 100
        ):
            raise InvalidParameter("percent must be an integer from 0 to 100")
        return await self._write(
            "set.miner.power_percent",
            {"percent": str(percent), "mode": PowerPercentMode(mode).value},
        )

    async def set_power_limit(self, watts: int) -> bool:
        """``set.miner.power_limit`` (a bare integer, W); mining restarts."""
        if (
            isinstance(watts, bool)
            or not isinstance(watts, int)
            or not 0 <= watts <= 99999
        ):
            raise InvalidParameter("power_limit must be an integer from 0 to 99999")
        return await self._write("set.miner.power_limit", watts)

    async def set_power_mode(self, mode: PowerMode) -> bool:
        """``set.miner.power_mode``: low, normal or high; mining restarts."""
        return await self._write("set.miner.power_mode", PowerMode(mode).value)

    async def reboot(self) -> bool:
        """``set.system.reboot`` (the miner usually closes without a reply)."""
        return await self._write("set.system.reboot")

    async def set_led(self, pattern: str | Iterable[Mapping[str, Any]]) -> bool:
        """``set.system.led``: "auto", or a list of {color, period, duration, start}."""
        if isinstance(pattern, str):
            if pattern != "auto":
                raise InvalidParameter('the LED pattern is "auto" or a list of steps')
            return await self._write("set.system.led", "auto")
        steps = [dict(step) for step in pattern]
        if not steps or any(
            step.get("color") not in ("red", "green") for step in steps
        ):
            raise InvalidParameter("each LED step needs a color: red or green")
        return await self._write("set.system.led", steps)

    async def set_pools(self, pools: Iterable[tuple[str, str, str]]) -> bool:
        """``set.miner.pools`` (encrypted): up to three (url, worker, password)."""
        entries = [{"pool": u, "worker": w, "passwd": p} for u, w, p in pools]
        if not 1 <= len(entries) <= 3 or not all(e["pool"] for e in entries):
            raise InvalidParameter(
                "between one and three pools with a url are required"
            )
        return await self._write("set.miner.pools", entries)

    async def change_password(self, new_password: str) -> bool:
        """``set.user.change_passwd`` (encrypted) for this client's account."""
        if not new_password or len(new_password) > 64:
            raise InvalidParameter("the new password must be 1-64 characters")
        old = self._password or ""
        done = await self._write(
            "set.user.change_passwd",
            {"account": self.account, "new": new_password, "old": old},
        )
        self._password, self._salt = new_password, None
        return done

    async def set_hostname(self, hostname: str) -> bool:
        """``set.system.hostname``."""
        if not hostname or len(hostname) > 63:
            raise InvalidParameter("hostname must be 1-63 characters")
        return await self._write("set.system.hostname", {"hostname": hostname})

    async def set_timezone(self, timezone: str, zonename: str) -> bool:
        """``set.system.timezone``, e.g. ("CST-8", "Asia/Shanghai")."""
        if not timezone or not zonename:
            raise InvalidParameter("timezone and zonename are required")
        return await self._write(
            "set.system.timezone", {"timezone": timezone, "zonename": zonename}
        )

    async def set_network_dhcp(self) -> bool:
        """``set.system.net_config`` "dhcp"; the miner restarts its network."""
        return await self._write("set.system.net_config", "dhcp")

    async def set_fast_boot(self, enabled: bool) -> bool:
        """``set.miner.fastboot`` enable / disable."""
        return await self._write(
            "set.miner.fastboot", "enable" if enabled else "disable"
        )

    async def set_heat_mode(self, mode: str) -> bool:
        """``set.miner.heat_mode``: heating, normal or anti-icing."""
        if mode not in ("heating", "normal", "anti-icing"):
            raise InvalidParameter("mode must be heating, normal or anti-icing")
        return await self._write("set.miner.heat_mode", mode)

    async def factory_reset(self) -> bool:
        """``set.system.factory_reset``: the API switch turns off."""
        return await self._write("set.system.factory_reset")
