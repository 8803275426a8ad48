"""Async client for the DragonMint / Halong T1 HTTP firmware API (and Innosilicon).

HTTP Basic on every call (the vendor's recommendation: no token to renew, no
clock or reboot problems). Writes are form-encoded: the firmware reads only
form fields, and a JSON ``updatePools`` silently saves an empty pool list.
The replies are decoded in ``parse.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
import json
import logging
import re
from typing import Any, Final

import aiohttp
from yarl import URL

from ..errors import (
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NoReply,
    ParseError,
    RequestTimeout,
)
from ..fields import Fields, as_str
from ..models import AutoTuneMode
from ..validation import ipv4_address
from .models import (
    DragonMintAutoTune,
    DragonMintAutoTuneStatus,
    DragonMintLatestFirmware,
    DragonMintNetwork,
    DragonMintOverview,
    DragonMintSavedPool,
    DragonMintSummary,
)
from .parse import (
    autotune_from,
    network_from,
    overview_from,
    raise_for_http,
    reply_error,
    summary_from,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 80
DEFAULT_USERNAME: Final = "admin"
# The backend asks cgminer without a timeout; it can be slow while cgminer restarts.
DEFAULT_TIMEOUT: Final = 30.0
type Form = Iterable[tuple[str, str]]

_MISSING_CONFIGURATION: Final = "missing configuration"
_INNOSILICON_LEVELS: Final = frozenset("01234")
_TITLE = re.compile(r"<title>([^<]*)</title>", re.IGNORECASE)


def _validated_mode(mode: str) -> str:
    try:
        return AutoTuneMode(mode).value
    except ValueError as err:
        choices = ", ".join(AutoTuneMode)
        raise InvalidParameter(f"autotune mode must be one of {choices}") from err


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
        if (error := reply_error(reply, action)) is not None:
            raise error
        return reply

    async def _json(
        self, path: str, form: Form | None, *, write: bool
    ) -> dict[str, Any]:
        _LOGGER.debug("%s: %s", self, path)
        status, body = await self._request(path, form, write=write)
        raise_for_http(status, path)
        try:
            reply = json.loads(body)
        except ValueError as err:
            raise ParseError(f"{path}: the reply is not JSON") from err
        if not isinstance(reply, dict):
            raise ParseError(f"{path}: the reply is not a JSON object")
        return reply

    # --- reads --------------------------------------------------------------

    async def summary(self) -> DragonMintSummary:
        """Chains, pools and fan duty (ServiceNotRunning while cgminer restarts)."""
        return summary_from(await self._call("summary"))

    async def overview(self) -> DragonMintOverview:
        """Type, firmware, MAC, network and uptime."""
        return overview_from(await self._call("overview"))

    async def pools(self) -> tuple[DragonMintSavedPool, ...]:
        """The saved pool configuration (independent of cgminer running)."""
        try:
            reply = await self._call("pools")
        except CommandRejected as err:
            if err.device_message == _MISSING_CONFIGURATION:
                return ()
            raise
        pools = reply.get("pools")
        return tuple(
            DragonMintSavedPool(
                str(pool.get("url", "")),
                str(pool.get("user", "")),
                str(pool.get("pass", "")),
            )
            for pool in (pools if isinstance(pools, list) else ())
            if isinstance(pool, dict)
        )

    async def network(self) -> DragonMintNetwork:
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

    async def get_autotune(self) -> DragonMintAutoTune:
        """The auto-tune profile."""
        return autotune_from(await self._call("getAutoTune"))

    async def get_autotune_status(self) -> DragonMintAutoTuneStatus:
        """Whether cgminer runs and tunes, and in which mode."""
        reply = await self._call("getAutoTuneStatus")
        fields = Fields(reply)
        return DragonMintAutoTuneStatus(
            running=bool(fields.flag("isRunning")),
            tuning=bool(fields.flag("isTuning")),
            mode=fields.text("mode"),
            level=fields.text("level"),
        )

    async def get_debug_stats(self) -> dict[str, Any]:
        """Per-board and per-chip cgminer stats (shape varies by firmware)."""
        reply = await self._call("getDebugStats")
        return {key: value for key, value in reply.items() if key != "success"}

    async def get_latest_firmware_version(self) -> DragonMintLatestFirmware:
        """The newest firmware the vendor offers for this miner."""
        fields = Fields(await self._call("getLatestFirmwareVersion"))
        return DragonMintLatestFirmware(
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
                raise_for_http(response.status, "/stream/logs")
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
                ("ipaddress", ipv4_address("ip", ip)),
                ("netmask", ipv4_address("netmask", netmask)),
                ("gateway", ipv4_address("gateway", gateway)),
                ("dns[]", ipv4_address("dns", dns[0])),
                ("dns[]", ipv4_address("dns", dns[1])),
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
        raise_for_http(status, "/upgrade/download")
