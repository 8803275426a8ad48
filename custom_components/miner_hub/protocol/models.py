"""Vendor-neutral models: what every supported miner reports, in fixed units.

Hashrates are TH/s, power W, temperatures °C, fan speeds RPM, durations seconds.
``None`` means the miner does not report the value (never a made-up zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import re

from .fields import as_alive
from .validation import check_pool


class Capability(StrEnum):
    """Controls a miner may support; entities exist only for supported ones."""

    MINING_SWITCH = "mining_switch"
    POWER_PERCENT = "power_percent"
    POWER_LIMIT = "power_limit"
    POWER_MODE = "power_mode"
    REBOOT = "reboot"
    RESTART_MINING = "restart_mining"
    IDENTIFY = "identify"
    POOLS = "pools"
    PRE_POWER_ON = "pre_power_on"
    AUTOTUNE = "autotune"
    POWER_OFF = "power_off"  # no remote power on: the miner needs a power cycle
    FIRMWARE_UPDATE = "firmware_update"


class PowerMode(StrEnum):
    """Power modes (Whatsminer ``set_low_power`` / ``normal`` / ``high``)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class PowerPercentMode(StrEnum):
    """How a power percentage is reached."""

    FAST = "fast"  # within a second, temporary, larger hash loss
    NORMAL = "normal"  # over minutes, for frequent changes


class AutoTuneMode(StrEnum):
    """cgminer's embedded auto-tune profiles (DragonMint / Innosilicon)."""

    EFFICIENT = "efficient"
    BALANCED = "balanced"
    FACTORY = "factory"
    PERFORMANCE = "performance"


class WriteAccess(StrEnum):
    """Whether the miner accepts write commands."""

    ENABLED = "enabled"
    DISABLED = "disabled"  # switched off on the miner (Whatsminer API switch)
    UNKNOWN = "unknown"  # the firmware offers no harmless way to tell


_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def normalize_mac(mac: str) -> str | None:
    """``C6-07-20-00-1E-C2`` → ``c6:07:20:00:1e:c2``; None if it is no MAC."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12:
        return None
    normalized = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    return normalized if _MAC.match(normalized) else None


@dataclass(frozen=True, slots=True)
class MinerError:
    """One active error of the miner."""

    code: int
    since: str | None = None  # the miner's local time, as it reports it
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class MinerInfo:
    """Identity and static facts of a miner."""

    mac: str  # normalized, see normalize_mac
    manufacturer: str
    model: str | None
    firmware_version: str | None
    api_version: str | None
    hardware_version: str | None
    serial_number: str | None
    hostname: str | None


@dataclass(frozen=True, slots=True)
class HashboardStatus:
    """One hashboard."""

    index: int
    hashrate_ths: float | None
    temperature_c: float | None
    chip_temp_max_c: float | None
    chip_temp_avg_c: float | None
    alive: bool | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CgminerPool:
    """A pool as cgminer reports it (Whatsminer API v2 and DragonMint build on it)."""

    index: int | None  # POOL
    url: str | None  # empty for an unused slot
    user: str | None  # the worker
    status: str | None  # Alive / Dead
    priority: int | None
    stratum_active: bool | None  # the pool the miner hashes for now
    accepted: int | None
    rejected: int | None


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """One configured pool."""

    index: int
    url: str
    user: str | None
    active: bool  # the pool the miner is hashing for now
    alive: bool | None
    priority: int | None
    accepted: int | None
    rejected: int | None

    @classmethod
    def from_cgminer(cls, position: int, pool: CgminerPool) -> PoolStatus | None:
        """A pool cgminer lists at ``position``; None for an unused slot."""
        if not pool.url:
            return None
        return cls(
            index=position if pool.index is None else pool.index,
            url=pool.url,
            user=pool.user,
            active=bool(pool.stratum_active),
            alive=as_alive(pool.status),
            priority=pool.priority,
            accepted=pool.accepted,
            rejected=pool.rejected,
        )


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """A pool to configure."""

    url: str
    worker: str
    password: str = "x"  # noqa: S105 (pools take any password; "x" is usual)

    def __post_init__(self) -> None:
        """Refuse a pool no miner could use (InvalidPool says which field)."""
        check_pool(self.url, self.worker, self.password)


@dataclass(frozen=True, slots=True)
class PowerSupplyStatus:
    """The power supply, where the miner reports it."""

    temperature_c: float | None
    fan_speed_rpm: int | None
    input_voltage_v: float | None
    input_current_a: float | None
    input_power_w: float | None
    model: str | None
    serial_number: str | None


@dataclass(frozen=True, slots=True)
class FirmwareRelease:
    """A firmware the vendor offers for a miner."""

    version: str
    url: str | None
    notes: str | None = None


@dataclass(frozen=True, slots=True)
class MinerStatus:
    """Everything a poll reads."""

    mining: bool | None  # None: unknown (the mining process is restarting)
    hashrate_ths: float | None
    factory_hashrate_ths: float | None
    power_w: float | None
    power_limit_w: float | None
    efficiency_j_per_th: float | None
    temperature_c: float | None
    environment_temperature_c: float | None
    chip_temp_max_c: float | None
    chip_temp_avg_c: float | None
    fan_speed_in_rpm: int | None
    fan_speed_out_rpm: int | None
    power_mode: PowerMode | None
    uptime_s: int | None  # since the control board booted
    mining_elapsed_s: int | None  # since mining (re)started
    accepted_shares: int | None
    rejected_shares: int | None
    hash_stable: bool | None
    pools: tuple[PoolStatus, ...]
    boards: tuple[HashboardStatus, ...]
    fan_duty_pct: int | None = None
    hardware_errors: int | None = None
    autotune_mode: AutoTuneMode | None = None
    power_percent: int | None = None  # None: the firmware cannot report it (v2)

    @property
    def active_pool(self) -> PoolStatus | None:
        """The pool in use: the active one, else the best alive one."""
        for pool in self.pools:
            if pool.active:
                return pool
        alive = [pool for pool in self.pools if pool.alive]
        return min(alive, key=lambda pool: pool.priority or 0, default=None)


@dataclass(frozen=True, slots=True)
class PrePowerOnStatus:
    """Progress of pre-heating before mining starts."""

    complete: bool
    message: str | None
