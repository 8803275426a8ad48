"""Governed changes: what can be asked of a miner, and what each one does.

``MinerRequests`` are the requests (the coordinator's command methods): each
becomes a ``Change`` for the governor. A change is stored as plain JSON (it may
be held across a restart); ``async_send`` turns it into the protocol call that
applies it, and ``is_current`` compares it with what the last poll read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeassistant.exceptions import HomeAssistantError

from .governor import Change, ChangeKind, Origin, Verdict
from .helpers import translated
from .power import FullPower
from .protocol.miner import Miner
from .protocol.models import (
    AutoTuneMode,
    FirmwareRelease,
    MinerStatus,
    PoolConfig,
    PowerMode,
    PowerPercentMode,
)


def pools_value(pools: list[PoolConfig]) -> list[dict[str, str]]:
    """Pools as a change stores them."""
    return [{"url": p.url, "worker": p.worker, "password": p.password} for p in pools]


def percent_value(percent: int, mode: PowerPercentMode) -> dict[str, Any]:
    """A power percent as a change stores it."""
    return {"percent": percent, "mode": mode.value}


def firmware_value(release: FirmwareRelease) -> dict[str, Any]:
    """A firmware release as a change stores it."""
    return {"version": release.version, "url": release.url, "notes": release.notes}


async def async_send(miner: Miner, change: Change) -> None:
    """Apply ``change`` to the miner (protocol errors are the caller's)."""
    value = change.value
    match change.kind:
        case ChangeKind.MINING:
            await miner.set_mining(bool(value))
        case ChangeKind.POWER_PERCENT:
            mode = PowerPercentMode(value["mode"])
            await miner.set_power_percent(int(value["percent"]), mode)
        case ChangeKind.POWER_LIMIT:
            await miner.set_power_limit(int(value))
        case ChangeKind.POWER_MODE:
            await miner.set_power_mode(PowerMode(value))
        case ChangeKind.AUTOTUNE_MODE:
            await miner.set_autotune_mode(AutoTuneMode(value))
        case ChangeKind.POOLS:
            await miner.set_pools([PoolConfig(**pool) for pool in value])
        case ChangeKind.RESTART_MINING:
            await miner.restart_mining()
        case ChangeKind.REBOOT:
            await miner.reboot()
        case ChangeKind.POWER_OFF:
            await miner.power_off()
        case ChangeKind.FIRMWARE:
            await miner.install_firmware(FirmwareRelease(**value))


def is_current(change: Change, status: MinerStatus) -> bool:
    """Whether the last poll shows the miner already as ``change`` would set it.

    Only what the miner reports counts: a power percent API v2 cannot report,
    and pools (their passwords cannot be read back), are never taken as set;
    restarts, reboots, power off and firmware always act.
    """
    value = change.value
    match change.kind:
        case ChangeKind.MINING:
            return status.mining is bool(value)
        case ChangeKind.POWER_PERCENT:
            return bool(status.power_percent == value["percent"])
        case ChangeKind.POWER_LIMIT:
            return bool(status.power_limit_w == value)
        case ChangeKind.POWER_MODE:
            return status.power_mode is not None and status.power_mode.value == value
        case ChangeKind.AUTOTUNE_MODE:
            mode = status.autotune_mode
            return mode is not None and mode.value == value
    return False


class MinerRequests:
    """The changes a miner can be asked for; each goes to ``_async_govern``."""

    full_power: FullPower

    async def _async_govern(
        self,
        kind: ChangeKind,
        value: Any,
        force: bool,
        origin: Origin = Origin.ANYONE,
    ) -> Verdict:
        """Hand the change to the governor (the coordinator does)."""
        raise NotImplementedError

    def _is_mining(self) -> bool | None:
        """Whether the last poll found the miner mining."""
        raise NotImplementedError

    def _runs_at(self, percent: int) -> bool:
        """Whether it mines at ``percent`` (as reported or accepted), nothing held."""
        raise NotImplementedError

    async def async_set_power_target(
        self, watts: float, *, force: bool = False, origin: Origin = Origin.ANYONE
    ) -> Verdict:
        """Draw about ``watts``: the percent of the learned full power."""
        if self.full_power.watts is None:
            raise translated(HomeAssistantError, "full_power_unknown")
        percent = self.full_power.percent_for(watts)
        return await self.async_set_power_percent(percent, force=force, origin=origin)

    async def async_run_at(
        self,
        percent: int | None,
        *,
        force: bool = False,
        origin: Origin = Origin.ANYONE,
    ) -> list[Verdict]:
        """Mine at ``percent`` (resuming if paused), or pause (``None``).

        A pause the governor holds leaves the miner at its floor meanwhile.
        Nothing is sent when the miner already runs so and nothing waits: API v2
        cannot report its percent, so the governor would send it again.
        """
        if percent is not None and self._runs_at(percent):
            return []
        verdicts: list[Verdict] = []
        if percent is None:
            verdicts.append(
                await self.async_set_mining(False, force=force, origin=origin)
            )
            if verdicts[0] is not Verdict.HELD:
                return verdicts
            percent = self.full_power.floor_percent
        elif self._is_mining() is not True:
            verdicts.append(
                await self.async_set_mining(True, force=force, origin=origin)
            )
        verdicts.append(
            await self.async_set_power_percent(percent, force=force, origin=origin)
        )
        return verdicts

    async def async_set_mining(
        self, mining: bool, *, force: bool = False, origin: Origin = Origin.ANYONE
    ) -> Verdict:
        """Start or stop mining."""
        return await self._async_govern(ChangeKind.MINING, mining, force, origin)

    async def async_set_power_percent(
        self,
        percent: int,
        mode: PowerPercentMode = PowerPercentMode.NORMAL,
        *,
        force: bool = False,
        origin: Origin = Origin.ANYONE,
    ) -> Verdict:
        """Run at a percentage of full power; remembered once accepted."""
        value = percent_value(percent, mode)
        return await self._async_govern(ChangeKind.POWER_PERCENT, value, force, origin)

    async def async_set_power_limit(
        self, watts: int, *, force: bool = False
    ) -> Verdict:
        """Set the upper power limit (mining restarts)."""
        return await self._async_govern(ChangeKind.POWER_LIMIT, watts, force)

    async def async_set_power_mode(
        self, mode: PowerMode, *, force: bool = False
    ) -> Verdict:
        """Switch the power mode (mining restarts)."""
        return await self._async_govern(ChangeKind.POWER_MODE, mode.value, force)

    async def async_set_autotune_mode(
        self, mode: AutoTuneMode, *, force: bool = False
    ) -> Verdict:
        """Choose the auto-tune profile (cgminer restarts)."""
        return await self._async_govern(ChangeKind.AUTOTUNE_MODE, mode.value, force)

    async def async_set_pools(
        self, pools: Sequence[PoolConfig], *, force: bool = False
    ) -> Verdict:
        """Configure the pools, in priority order (mining restarts)."""
        value = pools_value(list(pools))
        return await self._async_govern(ChangeKind.POOLS, value, force)

    async def async_reboot(self, *, force: bool = False) -> Verdict:
        """Restart the whole miner."""
        return await self._async_govern(ChangeKind.REBOOT, None, force)

    async def async_restart_mining(self, *, force: bool = False) -> Verdict:
        """Restart the mining service."""
        return await self._async_govern(ChangeKind.RESTART_MINING, None, force)

    async def async_power_off(self, *, force: bool = False) -> Verdict:
        """Power off for good (only a power cycle brings the miner back)."""
        return await self._async_govern(ChangeKind.POWER_OFF, None, force)

    async def async_install_firmware(
        self, release: FirmwareRelease, *, force: bool = False
    ) -> Verdict:
        """Make the miner fetch and install a firmware; it reboots afterwards."""
        value = firmware_value(release)
        return await self._async_govern(ChangeKind.FIRMWARE, value, force)
