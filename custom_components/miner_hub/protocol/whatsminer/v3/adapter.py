"""A Whatsminer on API v3, seen through the vendor-neutral Miner interface."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Final

from ... import models
from ...errors import AuthFailed, MinerHubError, ParseError, WriteApiDisabled
from ..common import (
    IDENTIFY_FLASH,
    MANUFACTURER,
    WhatsminerMiner,
    power_mode,
    recent,
)
from .client import WhatsminerV3Client
from .models import V3DeviceInfo, V3Hashboard, V3Pool, V3Settings, V3Status

# The LED pattern of "identify", as API v3 takes it: a list of steps.
_IDENTIFY: Final = [
    {
        "color": IDENTIFY_FLASH.color,
        "period": IDENTIFY_FLASH.period_ms,
        "duration": IDENTIFY_FLASH.on_ms,
        "start": 0,
    }
]


def _board(
    position: int, board: V3Hashboard, temperature: float | None
) -> models.HashboardStatus:
    return models.HashboardStatus(
        index=board.index if board.index is not None else position,
        hashrate_ths=recent(board.hashrate_realtime_ths, board.hashrate_ths),
        temperature_c=temperature,
        chip_temp_max_c=board.chip_temp_max_c,
        chip_temp_avg_c=board.chip_temp_avg_c,
        alive=board.alive,
    )


def _pool(position: int, pool: V3Pool) -> models.PoolStatus | None:
    if not pool.url:
        return None
    return models.PoolStatus(
        index=pool.priority if pool.priority is not None else position,
        url=pool.url,
        user=pool.account,
        active=bool(pool.active),
        alive=pool.alive,
        priority=pool.priority,
        accepted=None,  # v3 has no share counters
        rejected=None,
    )


def _status(
    info: V3DeviceInfo, status: V3Status, settings: V3Settings
) -> models.MinerStatus:
    summary = status.summary
    if summary is None:
        raise ParseError("get.miner.status: no summary")
    boards = status.hashboards or ()
    temperatures = summary.board_temperatures_c
    return models.MinerStatus(
        mining=info.working,
        hashrate_ths=recent(summary.hashrate_1m_ths, summary.hashrate_ths),
        factory_hashrate_ths=summary.factory_hashrate_ths,
        power_w=summary.power_w,
        power_limit_w=settings.power_limit_w or summary.power_limit_w,
        efficiency_j_per_th=summary.power_rate_j_per_th or None,
        temperature_c=max(temperatures, default=None),
        environment_temperature_c=summary.environment_temperature_c,
        chip_temp_max_c=summary.chip_temp_max_c,
        chip_temp_avg_c=summary.chip_temp_avg_c,
        fan_speed_in_rpm=summary.fan_speed_in_rpm,
        fan_speed_out_rpm=summary.fan_speed_out_rpm,
        power_mode=power_mode(settings.power_mode),
        uptime_s=summary.uptime_s,
        mining_elapsed_s=summary.elapsed_s,
        accepted_shares=None,
        rejected_shares=None,
        hash_stable=summary.upfreq_finished,
        pools=tuple(
            pool
            for position, raw in enumerate(status.pools or ())
            if (pool := _pool(position, raw)) is not None
        ),
        boards=tuple(
            _board(
                position,
                board,
                temperatures[position] if position < len(temperatures) else None,
            )
            for position, board in enumerate(boards)
        ),
        power_percent=settings.power_percent,
    )


class WhatsminerV3Miner(WhatsminerMiner[WhatsminerV3Client]):
    """A Whatsminer on API v3 (TCP 4433)."""

    async def read_info(self) -> models.MinerInfo:
        """``get.device.info``: every section (it also carries the salt)."""
        info = await self.client.get_device_info()
        mac = models.normalize_mac(info.mac or "")
        if mac is None:
            raise ParseError("the miner reports no MAC address")
        return models.MinerInfo(
            mac=mac,
            manufacturer=MANUFACTURER,
            model=info.model.replace("_", "") if info.model else None,
            firmware_version=info.firmware_version,
            api_version=info.api_version,
            hardware_version=info.platform,
            serial_number=info.serial_number,
            hostname=info.hostname,
        )

    async def read_status(self) -> models.MinerStatus:
        """Whether btminer works, status (joined), settings: three reads.

        One connection where the miner keeps it open, else three.
        """
        async with self.client.batch():
            info = await self.client.get_device_info("miner")
            status = await self.client.get_miner_status()
            settings = await self.client.get_miner_settings()
        return _status(info, status, settings)

    def reads(self) -> AbstractAsyncContextManager[None]:
        """One connection for the whole poll, where the miner keeps it open."""
        return self.client.batch()

    async def read_power_supply(self) -> models.PowerSupplyStatus | None:
        """``get.device.info`` power: model, serial and fan (no temperature)."""
        info = await self.client.get_device_info("power")
        return models.PowerSupplyStatus(
            temperature_c=None,
            fan_speed_rpm=info.psu_fan_speed_rpm,
            input_voltage_v=None,
            input_current_a=None,
            input_power_w=None,
            model=info.psu_model,
            serial_number=info.psu_serial_number,
        )

    async def read_errors(self) -> tuple[models.MinerError, ...]:
        """``get.device.info`` error-code (absent when there are none)."""
        return (await self.client.get_device_info("error-code")).errors

    async def check_access(self) -> models.WriteAccess:
        """The API switch is reported; the password only a write can prove.

        API v3 has no authenticated read, so the password is proven with
        ``set.system.led "auto"``: the firmware's own default LED state.
        """
        info = await self.client.get_device_info("system")
        if info.api_switch is False:
            return models.WriteAccess.DISABLED
        await self.client.set_led("auto")
        return models.WriteAccess.ENABLED

    async def _write(self, write: Awaitable[bool]) -> None:
        """Run a write; a refusal (-4) while the API switch is off is not the password.

        -4 (no permission) is the only refusal v3 has, so a write with the write
        API switched off presumably gets it too (the firmware's answer is not
        documented); ``system.apiswitch``, which reads report, tells them apart.
        """
        try:
            await write
        except AuthFailed as err:
            if await self._write_api_switched_off():
                raise WriteApiDisabled(
                    "the write API is switched off", command=err.command, code=err.code
                ) from err
            raise

    async def _write_api_switched_off(self) -> bool:
        """Whether the miner reports its write API off (False when unreadable)."""
        try:
            info = await self.client.get_device_info("system")
        except MinerHubError:
            return False
        return info.api_switch is False

    async def set_mining(self, mining: bool) -> None:
        """``set.miner.service`` start / stop."""
        await self._write(self.client.set_service("start" if mining else "stop"))

    async def set_power_percent(
        self,
        percent: int,
        mode: models.PowerPercentMode = models.PowerPercentMode.NORMAL,
    ) -> None:
        """``set.miner.power_percent`` (the state is read back from the settings)."""
        await self._write(self.client.set_power_percent(percent, mode))

    async def set_power_limit(self, watts: int) -> None:
        """``set.miner.power_limit``: mining restarts."""
        await self._write(self.client.set_power_limit(watts))

    async def set_power_mode(self, mode: models.PowerMode) -> None:
        """``set.miner.power_mode``: mining restarts."""
        await self._write(self.client.set_power_mode(mode))

    async def reboot(self) -> None:
        """``set.system.reboot`` (usually no reply)."""
        await self._write(self.client.reboot())

    async def restart_mining(self) -> None:
        """``set.miner.service`` restart."""
        await self._write(self.client.set_service("restart"))

    async def identify(self, on: bool) -> None:
        """Flash the red LED, or give the LED back to the firmware."""
        await self._write(self.client.set_led(_IDENTIFY if on else "auto"))

    async def set_pools(self, pools: Sequence[models.PoolConfig]) -> None:
        """``set.miner.pools`` with encrypted parameters."""
        await self._write(
            self.client.set_pools((p.url, p.worker, p.password) for p in pools)
        )

    def diagnostics(self) -> dict[str, Any]:
        """API generation and account; never the password or the salt."""
        return {
            "api": "whatsminer_v3",
            "port": self.client.port,
            "account": self.client.account,
        }
