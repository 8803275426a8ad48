"""Typed replies of the DragonMint / Innosilicon firmware API, with explicit units.

Hashrates are TH/s: from ``Hash Rate H`` (H/s, Innosilicon) when present, else
from the ``MHS *`` fields (MH/s). The key ``Hash Rate`` alone is never read: it
is MH/s on DragonMint but a display-scaled number on Innosilicon.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import CgminerPool


@dataclass(frozen=True, slots=True)
class DragonMintChain:
    """One hashboard (``DEVS[i]``)."""

    index: int
    status: str | None  # "Alive" / "Dead"
    temperature_c: float | None
    hashrate_ths: float | None  # the window that suits Device Elapsed (parse)
    hashrate_average_ths: float | None  # since cgminer started
    accepted: int | None
    rejected: int | None
    hardware_errors: int | None
    elapsed_s: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DragonMintPool(CgminerPool):
    """One live pool of cgminer (``POOLS[i]``); ``index`` is always known."""


@dataclass(frozen=True, slots=True)
class DragonMintSummary:
    """``/api/summary``: chains, pools and fan duty."""

    chains: tuple[DragonMintChain, ...]
    pools: tuple[DragonMintPool, ...]
    fan_duty_pct: int | None
    tuning: bool | None


@dataclass(frozen=True, slots=True)
class DragonMintNetwork:
    """``/api/network`` and ``overview.network``."""

    dhcp: bool
    ip: str | None
    netmask: str | None
    gateway: str | None
    dns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DragonMintOverview:
    """``/api/overview``: type, versions, MAC, uptime."""

    type: str | None
    mac: str | None
    firmware_version: str | None  # platform_v, e.g. t1_20180515_060842
    hardware_version: str | None  # controller board, e.g. g19
    build_date: str | None
    uptime_s: int | None  # parsed from the ``uptime`` line in hardware.status
    network: DragonMintNetwork | None


@dataclass(frozen=True, slots=True)
class DragonMintSavedPool:
    """A pool of the saved configuration (``/api/pools``)."""

    url: str
    user: str
    password: str


@dataclass(frozen=True, slots=True)
class DragonMintAutoTune:
    """``/api/getAutoTune`` (a string on T1, an object on Innosilicon)."""

    mode: str | None
    level: str | None


@dataclass(frozen=True, slots=True)
class DragonMintAutoTuneStatus:
    """``/api/getAutoTuneStatus``."""

    running: bool
    tuning: bool
    mode: str | None
    level: str | None


@dataclass(frozen=True, slots=True)
class DragonMintLatestFirmware:
    """``/api/getLatestFirmwareVersion``."""

    version: str | None
    version_date: str | None
    url: str | None
    info: str | None
    current_version: str | None
    current_version_date: str | None
    is_updated: bool | None
