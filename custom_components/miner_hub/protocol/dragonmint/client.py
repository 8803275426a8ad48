"""Async client for the DragonMint / Halong T1 HTTP firmware API (and Innosilicon).

HTTP Basic on every call (the vendor's recommendation: no token to renew, no
clock or reboot problems). Writes are form-encoded: the firmware reads only
form fields, and a JSON ``updatePools`` silently saves an empty pool list.
Application errors arrive as HTTP 200 with ``"success": false``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
import ipaddress
import json
import logging
import re
from typing import Any, Final

import aiohttp
from yarl import URL

from ..errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NoReply,
    ParseError,
    RequestTimeout,
    ServiceNotRunning,
)
from ..fields import Fields, as_bool, as_str, scaled
from ..models import AutoTuneMode
from .models import (
    AutoTune,
    AutoTuneStatus,
    Chain,
    FirmwareRelease,
    Network,
    Overview,
    Pool,
    SavedPool,
    Summary,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 80
DEFAULT_USERNAME: Final = "admin"
# The backend asks cgminer without a timeout; it can be slow while cgminer restarts.
DEFAULT_TIMEOUT: Final = 30.0
type Form = Iterable[tuple[str, str]]

_INVALID_REQUEST: Final = "invalid request"
_MISSING_CONFIGURATION: Final = "missing configuration"
_MHS_TO_THS: Final = 1e-6
_HS_TO_THS: Final = 1e-12
_UPTIME = re.compile(
    r"up\s+(?:(?P<days>\d+)\s+days?,?\s*)?"
    r"(?:(?P<hours>\d+):(?P<minutes>\d+)|(?P<only_minutes>\d+)\s+min)"
)
_INNOSILICON_LEVELS: Final = frozenset("01234")
_TITLE = re.compile(r"<title>([^<]*)</title>", re.IGNORECASE)


def _reply_error(reply: Mapping[str, Any], action: str) -> Exception | None:
    """The typed error of a ``"success": false`` reply, or None on success."""
    if reply.get("success") is not False:
        return None
    message = reply.get("message")
    if reply.get("token") == "expired":
        return AuthFailed("the miner rejected the token", command=action)
    if message is None:
        return ServiceNotRunning(f"{action}: cgminer is not ready")
    if message == _INVALID_REQUEST:
        # A known route answers this only for missing or wrong credentials.
        return AuthFailed("the miner rejected the credentials", command=action)
    return CommandRejected(str(message), command=action)


def _index(reported: int | None, position: int) -> int:
    return position if reported is None else reported


def chain_from(index: int, record: Mapping[str, Any]) -> Chain:
    """Build a Chain; see the module docstring for the hashrate fields."""
    fields = Fields(record)
    if (hs := fields.number("Hash Rate H")) is not None:
        recent: float | None = hs * _HS_TO_THS
    else:
        recent = scaled(fields.number("MHS 5m", "MHS 1m", "MHS av"), _MHS_TO_THS)
    return Chain(
        index=_index(fields.integer("ID", "ASC"), index),
        status=fields.text("Status"),
        temperature_c=fields.number("Temperature", "TempMAX"),
        hashrate_ths=recent,
        hashrate_average_ths=scaled(fields.number("MHS av"), _MHS_TO_THS),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
        hardware_errors=fields.integer("Hardware Errors"),
        elapsed_s=fields.integer("Device Elapsed"),
    )


def pool_from(index: int, record: Mapping[str, Any]) -> Pool:
    """Build a Pool from a cgminer pool object."""
    fields = Fields(record)
    return Pool(
        index=_index(fields.integer("POOL"), index),
        url=fields.text("URL"),
        user=fields.text("User"),
        status=fields.text("Status"),
        priority=fields.integer("Priority"),
        stratum_active=fields.flag("Stratum Active"),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
    )


def _records(reply: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    records = reply.get(key)
    if not isinstance(records, list):
        # The backend answers {"success": false} when DEVS/POOLS are not lists.
        raise ServiceNotRunning(f"summary: cgminer is not ready ({key})")
    return [record for record in records if isinstance(record, dict)]


def summary_from(reply: Mapping[str, Any]) -> Summary:
    """Build a Summary from ``/api/summary``."""
    hardware = reply.get("HARDWARE")
    fan_duty = (
        Fields(hardware).integer("Fan duty") if isinstance(hardware, dict) else None
    )
    return Summary(
        chains=tuple(chain_from(i, r) for i, r in enumerate(_records(reply, "DEVS"))),
        pools=tuple(pool_from(i, r) for i, r in enumerate(_records(reply, "POOLS"))),
        fan_duty_pct=fan_duty,
        tuning=as_bool(reply.get("tuning")),
    )


def _uptime(status: str | None) -> int | None:
    """Seconds from an ``uptime`` line: ``15:38:31 up 2 days, 3:04, load ...``."""
    match = _UPTIME.search(status or "")
    if match is None:
        return None
    days = int(match["days"] or 0)
    if match["only_minutes"] is not None:
        hours, minutes = 0, int(match["only_minutes"])
    else:
        hours, minutes = int(match["hours"]), int(match["minutes"])
    return ((days * 24 + hours) * 60 + minutes) * 60


def network_from(record: Mapping[str, Any]) -> Network:
    """Build Network from ``/api/network`` or ``overview.network``."""
    fields = Fields(record)
    dns = tuple(server for key in ("dns1", "dns2") if (server := fields.text(key)))
    return Network(
        dhcp=fields.text("dhcp") == "dhcp",
        ip=fields.text("ipaddress"),
        netmask=fields.text("netmask"),
        gateway=fields.text("gateway"),
        dns=dns,
    )


def overview_from(reply: Mapping[str, Any]) -> Overview:
    """Build Overview from ``/api/overview``."""
    version = reply.get("version")
    hardware = reply.get("hardware")
    network = reply.get("network")
    versions = Fields(version if isinstance(version, dict) else {})
    status = Fields(hardware).text("status") if isinstance(hardware, dict) else None
    return Overview(
        type=as_str(reply.get("type")),
        mac=versions.text("ethaddr"),
        firmware_version=versions.text("platform_v"),
        hardware_version=versions.text("hwver"),
        build_date=versions.text("build_date"),
        uptime_s=_uptime(status),
        network=network_from(network) if isinstance(network, dict) else None,
    )


def autotune_from(reply: Mapping[str, Any]) -> AutoTune:
    """The mode is a string on T1 and ``{"mode", "level"}`` on Innosilicon."""
    mode = reply.get("autoTuneMode")
    if isinstance(mode, dict):
        fields = Fields(mode)
        return AutoTune(mode=fields.text("mode"), level=fields.text("level"))
    return AutoTune(mode=as_str(mode), level=None)


def _validated_mode(mode: str) -> str:
    try:
        return AutoTuneMode(mode).value
    except ValueError as err:
        choices = ", ".join(AutoTuneMode)
        raise InvalidParameter(f"autotune mode must be one of {choices}") from err


def _ip(name: str, value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as err:
        raise InvalidParameter(f"{name} must be an IPv4 address") from err


class DragonMintClient:
    """Client for one DragonMint / Innosilicon miner's web API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        port: int = DEFAULT_PORT,
        username: str = DEFAULT_USERNAME,
        password: str = "",
        *,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Use the given session (in Home Assistant: the shared one)."""
        self._session = session
        self.host = host
        self.port = port
        self.username = username
        self._headers = {"Authorization": aiohttp.encode_basic_auth(username, password)}
        self._base = URL.build(scheme="http", host=host, port=port)
        self.request_timeout = request_timeout

    def __repr__(self) -> str:
        """Name the miner, never the password."""
        return f"DragonMintClient(host={self.host!r}, port={self.port})"

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the miner's web server."""
        return str(self._base)

    # --- transport ----------------------------------------------------------

    async def _request(
        self, path: str, form: Form | None = None, *, write: bool = False
    ) -> tuple[int, bytes]:
        """POST to the miner; return the HTTP status and the body.

        A keep-alive connection the miner closed (after a reboot or a network
        restart) fails on reuse: a read is sent once more, a write is reported
        as sent with an unknown outcome, never repeated.
        """
        url = self._base.join(URL(path))
        for attempt in (1, 2):
            try:
                async with (
                    asyncio.timeout(self.request_timeout),
                    self._session.post(
                        url, data=list(form or ()), headers=self._headers
                    ) as response,
                ):
                    return response.status, await response.read()
            except aiohttp.ClientConnectorError as err:
                raise ConnectionFailed(f"{self.host}:{self.port}: {err}") from err
            except aiohttp.ServerDisconnectedError as err:
                if not write and attempt == 1:
                    continue
                raise self._lost(path, write, err) from err
            except (TimeoutError, aiohttp.ClientError, OSError) as err:
                raise self._lost(path, write, err) from err
        raise AssertionError("unreachable")  # pragma: no cover

    def _lost(self, path: str, write: bool, err: Exception) -> Exception:
        if write:
            return NoReply(path, "connection lost")
        if isinstance(err, TimeoutError):
            return RequestTimeout(f"{self.host}:{self.port}{path}: no reply in time")
        return ConnectionFailed(f"{self.host}:{self.port}{path}: {err}")

    async def _call(
        self, action: str, form: Form | None = None, *, write: bool = False
    ) -> dict[str, Any]:
        """POST ``/api/<action>`` and return the reply, raising its typed error."""
        reply = await self._json(f"/api/{action}", form, write=write)
        if (error := _reply_error(reply, action)) is not None:
            raise error
        return reply

    async def _json(
        self, path: str, form: Form | None, *, write: bool
    ) -> dict[str, Any]:
        _LOGGER.debug("%s: %s", self, path)
        status, body = await self._request(path, form, write=write)
        _raise_for_http(status, path)
        try:
            reply = json.loads(body)
        except ValueError as err:
            raise ParseError(f"{path}: the reply is not JSON") from err
        if not isinstance(reply, dict):
            raise ParseError(f"{path}: the reply is not a JSON object")
        return reply

    # --- reads --------------------------------------------------------------

    async def summary(self) -> Summary:
        """Chains, pools and fan duty (ServiceNotRunning while cgminer restarts)."""
        return summary_from(await self._call("summary"))

    async def overview(self) -> Overview:
        """Type, firmware, MAC, network and uptime."""
        return overview_from(await self._call("overview"))

    async def pools(self) -> tuple[SavedPool, ...]:
        """The saved pool configuration (independent of cgminer running)."""
        try:
            reply = await self._call("pools")
        except CommandRejected as err:
            if err.device_message == _MISSING_CONFIGURATION:
                return ()
            raise
        pools = reply.get("pools")
        return tuple(
            SavedPool(
                str(pool.get("url", "")),
                str(pool.get("user", "")),
                str(pool.get("pass", "")),
            )
            for pool in (pools if isinstance(pools, list) else ())
            if isinstance(pool, dict)
        )

    async def network(self) -> Network:
        """The network settings."""
        return network_from(await self._call("network"))

    async def type(self) -> str | None:
        """The miner type, e.g. ``T1``."""
        return as_str((await self._call("type")).get("type"))

    async def web_title(self) -> str | None:
        """``<title>`` of the web UI: ``DragonMint`` or ``AsicMiner`` (Innosilicon)."""
        url = self._base.join(URL("/"))
        try:
            async with (
                asyncio.timeout(self.request_timeout),
                self._session.get(url) as response,
            ):
                page = await response.text(errors="replace")
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            raise ConnectionFailed(f"{self.host}:{self.port}/: {err}") from err
        match = _TITLE.search(page)
        return match[1].strip() if match else None

    async def ping(self) -> None:
        """Whether the web API answers (used after reboots and upgrades)."""
        await self._call("ping")

    async def get_autotune(self) -> AutoTune:
        """The auto-tune profile."""
        return autotune_from(await self._call("getAutoTune"))

    async def get_autotune_status(self) -> AutoTuneStatus:
        """Whether cgminer runs and tunes, and in which mode."""
        reply = await self._call("getAutoTuneStatus")
        fields = Fields(reply)
        return AutoTuneStatus(
            running=bool(fields.flag("isRunning")),
            tuning=bool(fields.flag("isTuning")),
            mode=fields.text("mode"),
            level=fields.text("level"),
        )

    async def get_debug_stats(self) -> dict[str, Any]:
        """Per-board and per-chip cgminer stats (shape varies by firmware)."""
        reply = await self._call("getDebugStats")
        return {key: value for key, value in reply.items() if key != "success"}

    async def get_latest_firmware_version(self) -> FirmwareRelease:
        """The newest firmware the vendor offers for this miner."""
        fields = Fields(await self._call("getLatestFirmwareVersion"))
        return FirmwareRelease(
            version=fields.text("version"),
            version_date=fields.text("versionDate"),
            url=fields.text("url"),
            info=fields.text("info"),
            current_version=fields.text("currentVersion"),
            current_version_date=fields.text("currentVersionDate"),
            is_updated=fields.flag("isUpdated"),
        )

    async def stream_logs(self, *, line_timeout: float = 30.0) -> AsyncIterator[str]:
        """Follow the system journal, one line at a time, until the caller stops.

        The stream never ends on its own: break out of the loop to close it.
        """
        url = self._base.join(URL("/stream/logs"))
        try:
            async with self._session.get(
                url, headers=self._headers, timeout=None
            ) as response:
                _raise_for_http(response.status, "/stream/logs")
                while True:
                    async with asyncio.timeout(line_timeout):
                        line = await response.content.readline()
                    if not line:
                        return
                    yield line.decode("utf-8", errors="replace").rstrip("\r\n")
        except TimeoutError as err:
            raise RequestTimeout("/stream/logs: no line in time") from err
        except aiohttp.ClientError as err:
            raise ConnectionFailed(f"/stream/logs: {err}") from err

    # --- writes -------------------------------------------------------------

    async def update_pools(self, pools: Iterable[tuple[str, str, str]]) -> None:
        """Set up to three pools (url, user, password); cgminer restarts.

        The firmware silently drops a pool without url, user or password, so each
        must be present.
        """
        entries = list(pools)
        if not 1 <= len(entries) <= 3:
            raise InvalidParameter("between one and three pools are required")
        if not all(url and user and secret for url, user, secret in entries):
            raise InvalidParameter("every pool needs a url, a worker and a password")
        form: list[tuple[str, str]] = []
        for number, (url, user, secret) in enumerate(entries, start=1):
            form += [
                (f"Pool{number}", url),
                (f"UserName{number}", user),
                (f"Password{number}", secret),
            ]
        await self._call("updatePools", form, write=True)

    async def update_password(
        self,
        new_password: str,
        *,
        user: str = DEFAULT_USERNAME,
        current_admin_password: str,
    ) -> None:
        """Change the password of ``admin`` or ``guest`` (checked against admin's)."""
        if user not in ("admin", "guest"):
            raise InvalidParameter("user must be admin or guest")
        if not new_password:
            raise InvalidParameter("the new password must not be empty")
        await self._call(
            "updatePassword",
            [
                ("user", user),
                ("currentPassword", current_admin_password),
                ("newPassword", new_password),
            ],
            write=True,
        )
        if user == self.username:
            self._headers = {
                "Authorization": aiohttp.encode_basic_auth(self.username, new_password)
            }

    async def update_network_dhcp(self) -> None:
        """Use DHCP; networking restarts and the address may change."""
        await self._call("updateNetwork", [("dhcp", "dhcp")], write=True)

    async def update_network_static(
        self, ip: str, netmask: str, gateway: str, dns: tuple[str, str]
    ) -> None:
        """Use a static address with exactly two DNS servers."""
        if len(dns) != 2:
            raise InvalidParameter("exactly two dns servers are required")
        await self._call(
            "updateNetwork",
            [
                ("dhcp", "static"),
                ("ipaddress", _ip("ip", ip)),
                ("netmask", _ip("netmask", netmask)),
                ("gateway", _ip("gateway", gateway)),
                ("dns[]", _ip("dns", dns[0])),
                ("dns[]", _ip("dns", dns[1])),
            ],
            write=True,
        )

    async def set_autotune(self, mode: str, level: str | None = None) -> None:
        """Set the auto-tune profile (Innosilicon also takes a level 0-4)."""
        form = [("autotune", _validated_mode(mode))]
        if level is not None:
            if level not in _INNOSILICON_LEVELS:
                raise InvalidParameter("level must be 0 to 4")
            form.append(("level", level))
        await self._call("setAutoTune", form, write=True)

    async def reboot(self) -> None:
        """Reboot (the miner replies, then restarts after a few seconds)."""
        await self._call("reboot", write=True)

    async def poweroff(self) -> None:
        """Power off; the firmware cannot power the miner back on remotely."""
        await self._call("poweroff", write=True)

    async def restart_cgminer(self) -> None:
        """Restart the mining process."""
        await self._call("restartCgMiner", write=True)

    async def factory_reset(self) -> None:
        """Delete every setting (pools, users, network) and reboot."""
        await self._call("factoryReset", write=True)

    async def upgrade_download(self, url: str) -> None:
        """Make the miner download and install a firmware image (admin only).

        The reply carries nothing; progress shows as the miner going away and
        coming back with a new ``platform_v``.
        """
        if not url.startswith(("http://", "https://")):
            raise InvalidParameter("the firmware url must be http or https")
        status, _ = await self._request("/upgrade/download", [("url", url)], write=True)
        _raise_for_http(status, "/upgrade/download")


def _raise_for_http(status: int, path: str) -> None:
    """Nginx answers 401 for non-admins on /stream and /upgrade, 5xx when PHP hangs."""
    if status == 401:
        raise AuthFailed("the miner requires the admin account", command=path)
    if status >= 500:
        raise ServiceNotRunning(
            f"{path}: the miner's web service failed (HTTP {status})"
        )
    if status != 200:
        raise ParseError(f"{path}: unexpected HTTP status {status}")
