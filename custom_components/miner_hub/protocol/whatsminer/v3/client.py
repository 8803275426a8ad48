"""Async client for the Whatsminer API v3 (TCP port 4433, firmware from late 2024 on).

Reads need no credentials; writes are signed (``transport.py``). Every value is
checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
import logging
from typing import Any, Final, Unpack

from ...errors import InvalidParameter, ParseError
from ...gate import Gate
from ...models import PowerMode, PowerPercentMode
from ...tcp import TcpClient, TcpOptions
from ...validation import int_in_range
from .models import V3DeviceInfo, V3Settings, V3Status
from .parse import device_info_from, settings_from, status_from
from .system import V3System
from .transport import DEFAULT_ACCOUNT, DEFAULT_PORT, V3Transport

_LOGGER = logging.getLogger(__name__)

STATUS_SECTIONS: Final = ("summary", "pools", "edevs")


class WhatsminerV3Client(TcpClient[V3Transport]):
    """Client for one Whatsminer miner's API v3.

    Pass the ``gate`` every client of your miners shares (see ``gate.py``): it
    keeps requests to one miner one at a time.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        account: str = DEFAULT_ACCOUNT,
        *,
        gate: Gate | None = None,
        **options: Unpack[TcpOptions],
    ) -> None:
        """Create a client; nothing is sent until a method is called."""
        self.transport = V3Transport(
            host, port, password, account, gate or Gate(), **options
        )
        self.system = V3System(self.transport)

    @property
    def account(self) -> str:
        """The account writes are signed for."""
        return self.transport.account

    def batch(self) -> AbstractAsyncContextManager[None]:
        """Reads inside share one connection, where the miner keeps it open."""
        return self.transport.batch()

    def forget_salt(self) -> None:
        """Drop the cached salt (the next write asks the miner for it again)."""
        self.transport.forget_salt()

    # --- reads --------------------------------------------------------------

    async def get_device_info(self, section: str | None = None) -> V3DeviceInfo:
        """``get.device.info``: every section, or one (miner, system, power...)."""
        msg = await self.transport.read("get.device.info", section)
        if not isinstance(msg, dict):
            raise ParseError("get.device.info: no msg object")
        info = device_info_from(msg)
        if info.salt is not None:
            self.transport.salt = info.salt
        return info

    async def get_miner_status(
        self, sections: Sequence[str] = STATUS_SECTIONS
    ) -> V3Status:
        """``get.miner.status`` for the sections joined with ``+`` (one request)."""
        if not sections or set(sections) - set(STATUS_SECTIONS):
            raise InvalidParameter(f"sections must be among {STATUS_SECTIONS}")
        msg = await self.transport.read("get.miner.status", "+".join(sections))
        if not isinstance(msg, dict):
            raise ParseError("get.miner.status: no msg object")
        return status_from(msg)

    async def get_miner_settings(self) -> V3Settings:
        """``get.miner.setting``: power percent, limit and mode as set."""
        msg = await self.transport.read("get.miner.setting")
        if not isinstance(msg, dict):
            raise ParseError("get.miner.setting: no msg object")
        return settings_from(msg)

    async def get_history(self, start: int, stop: int) -> list[tuple[int, ...]]:
        """``get.miner.history``: ``ts,v1,v2,...`` records between two unix times."""
        msg = await self.transport.read(
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
        return await self.transport.write("set.miner.service", action)

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> bool:
        """``set.miner.power_percent``; the firmware reads the percent as a string."""
        percent = int_in_range("percent", percent, 0, 100)
        return await self.transport.write(
            "set.miner.power_percent",
            {"percent": str(percent), "mode": PowerPercentMode(mode).value},
        )

    async def set_power_limit(self, watts: int) -> bool:
        """``set.miner.power_limit`` (a bare integer, W); mining restarts."""
        watts = int_in_range("power_limit", watts, 0, 99999)
        return await self.transport.write("set.miner.power_limit", watts)

    async def set_power_mode(self, mode: PowerMode) -> bool:
        """``set.miner.power_mode``: low, normal or high; mining restarts."""
        return await self.transport.write("set.miner.power_mode", PowerMode(mode).value)

    async def reboot(self) -> bool:
        """``set.system.reboot`` (the miner usually closes without a reply)."""
        return await self.transport.write("set.system.reboot")

    async def set_led(self, pattern: str | Iterable[Mapping[str, Any]]) -> bool:
        """``set.system.led``: "auto", or a list of {color, period, duration, start}."""
        if isinstance(pattern, str):
            if pattern != "auto":
                raise InvalidParameter('the LED pattern is "auto" or a list of steps')
            return await self.transport.write("set.system.led", "auto")
        steps = [dict(step) for step in pattern]
        if not steps or any(
            step.get("color") not in ("red", "green") for step in steps
        ):
            raise InvalidParameter("each LED step needs a color: red or green")
        return await self.transport.write("set.system.led", steps)

    async def set_pools(self, pools: Iterable[tuple[str, str, str]]) -> bool:
        """``set.miner.pools`` (encrypted): up to three (url, worker, password)."""
        entries = [{"pool": u, "worker": w, "passwd": p} for u, w, p in pools]
        if not 1 <= len(entries) <= 3 or not all(e["pool"] for e in entries):
            raise InvalidParameter(
                "between one and three pools with a url are required"
            )
        return await self.transport.write("set.miner.pools", entries)

    async def set_fast_boot(self, enabled: bool) -> bool:
        """``set.miner.fastboot`` enable / disable."""
        return await self.transport.write(
            "set.miner.fastboot", "enable" if enabled else "disable"
        )

    async def set_heat_mode(self, mode: str) -> bool:
        """``set.miner.heat_mode``: heating, normal or anti-icing."""
        if mode not in ("heating", "normal", "anti-icing"):
            raise InvalidParameter("mode must be heating, normal or anti-icing")
        return await self.transport.write("set.miner.heat_mode", mode)
