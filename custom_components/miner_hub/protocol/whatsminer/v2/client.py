"""Async client for the Whatsminer API v2 (TCP port 4028): its commands.

Reads are plaintext; writes and the reads of the writable API are encrypted with
a token (``transport.py``). Every value is checked before anything is sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
import logging
from typing import Any, Final, Unpack

from ...errors import (
    DeviceError,
    InvalidParameter,
    ParseError,
    UnsupportedCommand,
    WriteApiDisabled,
)
from ...gate import Gate
from ...models import MinerError, PowerMode, PowerPercentMode, PrePowerOnStatus
from ...tcp import TcpClient, TcpOptions
from ...validation import int_in_range, text_up_to
from . import models, parse
from .models import HeatMode, WriteResult
from .system import V2System
from .transport import DEFAULT_PORT, V2Transport

_LOGGER = logging.getLogger(__name__)

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
_MAX_JOIN: Final = len(parse.CGMINER_READS)


class _JoinRefused(Exception):
    """The firmware did not answer a joined read."""


def _in_range(name: str, value: int, low: int, high: int) -> str:
    """The value as the firmware reads it (text), when in range."""
    return str(int_in_range(name, value, low, high))


class WhatsminerV2Client(TcpClient[V2Transport]):
    """Client for one Whatsminer miner's API v2.

    Pass the ``gate`` every client of your miners shares (see ``gate.py``): it
    keeps requests to one miner one at a time and its write token reused.
    """

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        password: str | None = None,
        *,
        gate: Gate | None = None,
        **options: Unpack[TcpOptions],
    ) -> None:
        """Create a client; nothing is sent until a method is called."""
        self.transport = V2Transport(host, port, password, gate or Gate(), **options)
        self.system = V2System(self.transport)
        self._join_limit = _MAX_JOIN

    @property
    def join_limit(self) -> int:
        """How many cgminer reads the firmware accepted in one joined request."""
        return self._join_limit

    @property
    def token_age(self) -> float | None:
        """Seconds since the cached token was obtained (None: no token)."""
        return self.transport.token_age

    def forget_token(self) -> None:
        """Drop the cached token (the next write fetches a new one)."""
        self.transport.forget_token()

    # --- reads --------------------------------------------------------------

    async def _read_message(self, command: str, **params: str) -> Mapping[str, Any]:
        reply = await self.transport.read(command, **params)
        parse.raise_for_status(reply, command)
        return parse.message_object(reply, command)

    async def read(self, *commands: str) -> models.V2Readings:
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
            return {commands[0]: await self.transport.read(commands[0])}
        joined = "+".join(commands)
        reply = await self.transport.read(joined)
        try:
            parse.raise_for_status(reply, joined)
            return parse.split_joined(reply, commands)
        except (DeviceError, ParseError) as err:
            raise _JoinRefused from err

    async def summary(self) -> models.V2Summary:
        """``summary``: hashrate, power, temperatures and fans."""
        summary = (await self.read("summary")).summary
        if summary is None:
            raise ParseError("summary: no data")
        return summary

    async def pools(self) -> tuple[models.V2Pool, ...]:
        """``pools``: the configured pools and their share counters."""
        return (await self.read("pools")).pools or ()

    async def edevs(self) -> tuple[models.V2Hashboard, ...]:
        """``edevs``: one entry per hashboard."""
        return (await self.read("edevs")).hashboards or ()

    async def devs(self) -> tuple[models.V2Hashboard, ...]:
        """``devs`` (deprecated alias of ``edevs`` on newer firmware)."""
        return (await self.read("devs")).hashboards or ()

    async def devdetails(self) -> tuple[models.V2DeviceDetails, ...]:
        """``devdetails``: the model name per hashboard."""
        return (await self.read("devdetails")).device_details or ()

    async def get_psu(self) -> models.V2PowerSupply:
        """``get_psu``: the power supply."""
        return parse.power_supply_from(await self._read_message("get_psu"))

    async def get_version(self) -> models.V2Version:
        """``get_version``: API and firmware versions."""
        return parse.version_from(await self._read_message("get_version"))

    async def get_token(self) -> models.TokenChallenge:
        """``get_token`` (plaintext): the inputs of a write token."""
        reply = await self.transport.read("get_token")
        parse.raise_for_status(reply, "get_token")
        return parse.token_challenge_from(parse.message_object(reply, "get_token"))

    async def status(self) -> models.V2Status:
        """``status``: whether btminer is running, and the power settings."""
        reply = await self.transport.read("status")
        parse.raise_for_status(reply, "status")
        return parse.status_from(reply)

    async def get_miner_info(
        self, fields: Iterable[str] | None = None
    ) -> models.V2NetworkInfo:
        """``get_miner_info`` for the selected fields (default: all of them)."""
        selected = list(fields or MINER_INFO_FIELDS)
        if unknown := set(selected) - set(MINER_INFO_FIELDS):
            raise InvalidParameter(f"unknown miner info fields: {sorted(unknown)}")
        message = await self._read_message("get_miner_info", info=",".join(selected))
        return parse.network_info_from(message)

    async def get_error_code(self) -> tuple[MinerError, ...]:
        """``get_error_code``: the active error codes."""
        return parse.error_codes_from(await self._read_message("get_error_code"))

    # --- checks -----------------------------------------------------------

    async def check_write_api(self) -> bool | None:
        """Whether the miner accepts writes; None when the firmware cannot tell.

        Probes with ``get_customer_msg``, the one command of the writable API
        (Manual 2.2 §3.34) that changes nothing. Firmware older than Manual 2.2
        does not know it (code 14).
        """
        try:
            await self.transport.encrypted_read("get_customer_msg")
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
        reply = await self.transport.encrypted_read("get_version")
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
            params[f"pool{index}"] = text_up_to("pool url", url, 256)
            params[f"worker{index}"] = text_up_to("worker", worker, 256)
            params[f"passwd{index}"] = text_up_to("pool password", secret, 256)
        if not all(entry[0] for entry in entries):
            raise InvalidParameter("every pool needs a url")
        return await self.transport.write("update_pools", params)

    async def restart_btminer(self) -> WriteResult:
        """Restart the mining process (may not reply)."""
        return await self.transport.write("restart_btminer")

    async def power_off(self, *, respond_before: bool = True) -> WriteResult:
        """Stop mining and cut hashboard power; the control board stays up."""
        return await self.transport.write(
            "power_off", {"respbefore": "true" if respond_before else "false"}
        )

    async def power_on(self) -> WriteResult:
        """Start mining."""
        return await self.transport.write("power_on")

    async def set_led_auto(self) -> WriteResult:
        """Give the LEDs back to the firmware."""
        return await self.transport.write("set_led", {"param": "auto"})

    async def set_led(
        self, color: str, *, period_ms: int, duration_ms: int, start_ms: int = 0
    ) -> WriteResult:
        """Flash an LED: ``duration_ms`` on per ``period_ms``, from ``start_ms``."""
        if color not in ("red", "green"):
            raise InvalidParameter("color must be red or green")
        _in_range("period_ms", period_ms, 1, 3_600_000)
        _in_range("duration_ms", duration_ms, 0, period_ms)
        _in_range("start_ms", start_ms, 0, period_ms)
        return await self.transport.write(
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
        return await self.transport.write(f"set_{PowerMode(mode).value}_power")

    async def reboot(self) -> WriteResult:
        """Restart the control board (may not reply)."""
        return await self.transport.write("reboot")

    async def set_target_frequency(self, percent: int) -> WriteResult:
        """Adjust the frequency by -100..100 % of normal mode; btminer restarts."""
        return await self.transport.write(
            "set_target_freq", {"percent": _in_range("percent", percent, -100, 100)}
        )

    async def set_fast_boot(self, enabled: bool) -> WriteResult:
        """Enable or disable btminer fast boot (from the next start)."""
        action = "enable" if enabled else "disable"
        return await self.transport.write(f"{action}_btminer_fast_boot")

    async def set_web_pools(self, enabled: bool) -> WriteResult:
        """Allow or forbid pool changes from the miner's web page."""
        return await self.transport.write(
            f"{'enable' if enabled else 'disable'}_web_pools"
        )

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> WriteResult:
        """Run at a percentage of full power (normal mode adjusts over minutes)."""
        command = (
            "set_power_pct" if mode is PowerPercentMode.FAST else "set_power_pct_v2"
        )
        return await self.transport.write(
            command, {"percent": _in_range("percent", percent, 0, 100)}
        )

    async def set_power(self, power_w: int) -> WriteResult:
        """Set the power value (Manual 2.2 §3.23: unit undocumented, watts likely)."""
        return await self.transport.write(
            "set_power", {"power": _in_range("power", power_w, 0, 99999)}
        )

    async def restore_power_percent(self) -> WriteResult:
        """Undo ``set_power_pct`` / ``set_power_pct_v2``."""
        return await self.transport.write("restore_power_pct")

    async def set_temperature_offset(self, offset_c: int) -> WriteResult:
        """Lower the target board temperature by up to 30 °C (from the next start)."""
        return await self.transport.write(
            "set_temp_offset",
            {"temp_offset": _in_range("temp_offset", offset_c, -30, 0)},
        )

    async def set_power_limit(self, power_limit_w: int) -> WriteResult:
        """Set the upper power limit in W (99999 resets it); mining restarts."""
        return await self.transport.write(
            "adjust_power_limit",
            {"power_limit": _in_range("power_limit", power_limit_w, 0, 99999)},
        )

    async def set_upfreq_speed(self, speed: int) -> WriteResult:
        """Start-up ramp speed, 0 (normal) to 9 (fastest)."""
        return await self.transport.write(
            "adjust_upfreq_speed",
            {"upfreq_speed": _in_range("upfreq_speed", speed, 0, 9)},
        )

    async def set_poweroff_cool(self, enabled: bool) -> WriteResult:
        """Keep the fans cooling after mining stops (air-cooled)."""
        return await self.transport.write(
            "set_poweroff_cool", {"poweroff_cool": "1" if enabled else "0"}
        )

    async def set_fan_zero_speed(self, enabled: bool) -> WriteResult:
        """Allow the fans to stop completely (air-cooled)."""
        return await self.transport.write(
            "set_fan_zero_speed", {"fan_zero_speed": "1" if enabled else "0"}
        )

    async def set_heat_mode(self, mode: HeatMode) -> WriteResult:
        """Set the heat mode of hydro miners."""
        return await self.transport.write(
            "set_heat_mode", {"mode": HeatMode(mode).value}
        )

    async def set_btminer_init(self, enabled: bool) -> WriteResult:
        """Whether mining starts when the miner boots."""
        return await self.transport.write(
            f"{'enable' if enabled else 'disable'}_btminer_init"
        )

    async def pre_power_on(self) -> PrePowerOnStatus:
        """Preheat before ``power_on`` (API 2.0.4, mining off); poll until complete."""
        result = await self.transport.write("pre_power_on")
        return parse.pre_power_on_from(result.message)
