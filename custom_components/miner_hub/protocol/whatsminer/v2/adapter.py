"""A Whatsminer on API v2, seen through the vendor-neutral Miner interface."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from ...errors import (
    ParseError,
    ServiceNotRunning,
    UnsupportedCommand,
    WriteApiDisabled,
)
from ...fields import as_alive
from ...models import (
    Capability,
    HashboardStatus,
    MinerError,
    MinerInfo,
    MinerStatus,
    PoolConfig,
    PoolStatus,
    PowerMode,
    PowerPercentMode,
    PowerSupplyStatus,
    PrePowerOnStatus,
    WriteAccess,
    normalize_mac,
)
from ..common import (
    CONTROLS,
    IDENTIFY_FLASH,
    MANUFACTURER,
    WhatsminerMiner,
    power_mode,
    recent,
)
from .client import WhatsminerV2Client
from .models import V2Hashboard, V2NetworkInfo, V2Pool, V2Readings, V2Status, V2Summary


def _efficiency(summary: V2Summary) -> float | None:
    if summary.power_rate_j_per_th is not None:
        return summary.power_rate_j_per_th
    if summary.power_w is not None and summary.hashrate_ths:
        return summary.power_w / summary.hashrate_ths
    return None


def _shares(summary: V2Summary, pools: tuple[V2Pool, ...], field: str) -> int | None:
    value: int | None = getattr(summary, field)
    if value is not None:
        return value
    counts = [count for pool in pools if (count := getattr(pool, field)) is not None]
    return sum(counts) if counts else None


def _board_status(index: int, board: V2Hashboard) -> HashboardStatus:
    return HashboardStatus(
        index=board.slot if board.slot is not None else index,
        hashrate_ths=recent(
            board.hashrate_5m_ths, board.hashrate_1m_ths, board.hashrate_ths
        ),
        temperature_c=board.temperature_c,
        chip_temp_max_c=board.chip_temp_max_c,
        chip_temp_avg_c=board.chip_temp_avg_c,
        alive=as_alive(board.status),
    )


def _idle_status(status: V2Status) -> MinerStatus:
    """A miner whose btminer is stopped: no hashrate, nothing else known."""
    return MinerStatus(
        mining=False,
        hashrate_ths=0.0,
        factory_hashrate_ths=None,
        power_w=None,
        power_limit_w=status.power_limit_w,
        efficiency_j_per_th=None,
        temperature_c=None,
        environment_temperature_c=None,
        chip_temp_max_c=None,
        chip_temp_avg_c=None,
        fan_speed_in_rpm=None,
        fan_speed_out_rpm=None,
        power_mode=power_mode(status.power_mode),
        uptime_s=None,
        mining_elapsed_s=None,
        accepted_shares=None,
        rejected_shares=None,
        hash_stable=None,
        pools=(),
        boards=(),
    )


def _miner_status(status: V2Status, readings: V2Readings) -> MinerStatus:
    summary = readings.summary
    if summary is None:  # pragma: no cover - read() always returns a summary
        raise ParseError("summary: no data")
    pools = readings.pools or ()
    hashrate = recent(
        summary.hashrate_5m_ths, summary.hashrate_1m_ths, summary.hashrate_ths
    )
    mining = not status.mining_off if status.mining_off is not None else bool(hashrate)
    return MinerStatus(
        mining=mining,
        hashrate_ths=hashrate,
        factory_hashrate_ths=summary.factory_hashrate_ths,
        power_w=summary.power_w,
        power_limit_w=summary.power_limit_w
        if summary.power_limit_w is not None
        else status.power_limit_w,
        efficiency_j_per_th=_efficiency(summary),
        temperature_c=summary.temperature_c,
        environment_temperature_c=summary.environment_temperature_c,
        chip_temp_max_c=summary.chip_temp_max_c,
        chip_temp_avg_c=summary.chip_temp_avg_c,
        fan_speed_in_rpm=summary.fan_speed_in_rpm,
        fan_speed_out_rpm=summary.fan_speed_out_rpm,
        power_mode=power_mode(status.power_mode, summary.power_mode),
        uptime_s=summary.uptime_s,
        mining_elapsed_s=summary.elapsed_s,
        accepted_shares=_shares(summary, pools, "accepted"),
        rejected_shares=_shares(summary, pools, "rejected"),
        hash_stable=summary.hash_stable,
        pools=tuple(
            pool
            for index, raw_pool in enumerate(pools)
            if (pool := PoolStatus.from_cgminer(index, raw_pool)) is not None
        ),
        boards=tuple(
            _board_status(index, board)
            for index, board in enumerate(readings.hashboards or ())
        ),
    )


class WhatsminerV2Miner(WhatsminerMiner[WhatsminerV2Client]):
    """A Whatsminer on API v2 (TCP 4028)."""

    capabilities = CONTROLS | {Capability.PRE_POWER_ON}

    def __init__(self, client: WhatsminerV2Client) -> None:
        """Talk to the miner through ``client``."""
        super().__init__(client)
        self._fast_power_percent_only = False

    async def read_info(self) -> MinerInfo:
        """``get_version`` and ``get_miner_info`` (``devdetails`` for old firmware)."""
        version = await self.client.get_version()
        try:
            network = await self.client.get_miner_info()
        except UnsupportedCommand:
            network = V2NetworkInfo(*(None,) * len(fields(V2NetworkInfo)))
        mac = normalize_mac(network.mac or "")
        if mac is None:  # many firmwares also put the MAC in summary
            mac = normalize_mac((await self.client.summary()).mac or "")
        if mac is None:
            raise ParseError("the miner reports no MAC address")
        model = version.miner_type
        if model is None:
            details = await self.client.devdetails()
            model = next((detail.model for detail in details if detail.model), None)
        return MinerInfo(
            mac=mac,
            manufacturer=MANUFACTURER,
            model=model,
            firmware_version=version.firmware_version,
            api_version=version.api_version,
            hardware_version=version.platform,
            serial_number=network.miner_serial,
            hostname=network.hostname,
        )

    async def read_status(self) -> MinerStatus:
        """``status``, then ``summary+pools+edevs`` joined: two connections."""
        status = await self.client.status()
        try:
            readings = await self.client.read("summary", "pools", "edevs")
        except ServiceNotRunning:
            if status.mining_off:
                return _idle_status(status)
            raise
        return _miner_status(status, readings)

    async def read_power_supply(self) -> PowerSupplyStatus | None:
        """``get_psu``; None on firmware without it."""
        try:
            psu = await self.client.get_psu()
        except UnsupportedCommand:
            return None
        return PowerSupplyStatus(
            temperature_c=psu.temperature_c,
            fan_speed_rpm=psu.fan_speed_rpm,
            input_voltage_v=psu.input_voltage_v,
            input_current_a=psu.input_current_a,
            input_power_w=psu.input_power_w,
            model=psu.model,
            serial_number=psu.serial_number,
        )

    async def read_errors(self) -> tuple[MinerError, ...]:
        """``get_error_code``; older firmware lists errors in ``summary``."""
        try:
            return await self.client.get_error_code()
        except UnsupportedCommand:
            return (await self.client.summary()).errors

    async def check_access(self) -> WriteAccess:
        """An encrypted read proves the password; a harmless write probe the API.

        Firmware that gates every encrypted request behind the API switch cannot
        prove the password: reads still work, so report the switch.
        """
        try:
            await self.client.check_password()
        except WriteApiDisabled:
            return WriteAccess.DISABLED
        writable = await self.client.check_write_api()
        if writable is None:
            return WriteAccess.UNKNOWN
        return WriteAccess.ENABLED if writable else WriteAccess.DISABLED

    async def set_mining(self, mining: bool) -> None:
        """``power_on``, or ``power_off`` with the reply sent first."""
        if mining:
            await self.client.power_on()
        else:
            await self.client.power_off(respond_before=True)

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> None:
        """``set_power_pct_v2``; firmware without it (code 14) gets the fast one."""
        if mode is PowerPercentMode.NORMAL and not self._fast_power_percent_only:
            try:
                await self.client.set_power_percent(percent, PowerPercentMode.NORMAL)
            except UnsupportedCommand:
                self._fast_power_percent_only = True
            else:
                return
        await self.client.set_power_percent(percent, PowerPercentMode.FAST)

    async def set_power_limit(self, watts: int) -> None:
        """``adjust_power_limit``: mining restarts."""
        await self.client.set_power_limit(watts)

    async def set_power_mode(self, mode: PowerMode) -> None:
        """``set_low_power`` / ``set_normal_power`` / ``set_high_power``."""
        await self.client.set_power_mode(mode)

    async def reboot(self) -> None:
        """``reboot``."""
        await self.client.reboot()

    async def restart_mining(self) -> None:
        """``restart_btminer``."""
        await self.client.restart_btminer()

    async def identify(self, on: bool) -> None:
        """Flash the red LED, or give the LEDs back to the firmware."""
        if on:
            await self.client.set_led(
                IDENTIFY_FLASH.color,
                period_ms=IDENTIFY_FLASH.period_ms,
                duration_ms=IDENTIFY_FLASH.on_ms,
            )
        else:
            await self.client.set_led_auto()

    async def set_pools(self, pools: Sequence[PoolConfig]) -> None:
        """``update_pools`` with up to three pools."""
        await self.client.update_pools(
            (pool.url, pool.worker, pool.password) for pool in pools
        )

    async def pre_power_on(self) -> PrePowerOnStatus:
        """``pre_power_on`` (API 2.0.4)."""
        return await self.client.pre_power_on()

    def diagnostics(self) -> dict[str, Any]:
        """API generation and token state; never the token itself."""
        token_age = self.client.token_age
        return {
            "api": "whatsminer_v2",
            "port": self.client.port,
            "token_age_s": None if token_age is None else round(token_age),
            "join_limit": self.client.join_limit,
            "power_percent_fast_only": self._fast_power_percent_only,
        }
