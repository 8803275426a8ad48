"""What a governed change does to a miner, and whether the miner is already so.

A change is stored as plain JSON (it may be held across a restart); these
functions turn it into the protocol call that applies it, and compare it with
what the last poll read.
"""

from __future__ import annotations

from typing import Any

from .governor import Change, ChangeKind
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
