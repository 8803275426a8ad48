"""Typed replies of the Whatsminer API v3 (TCP 4433), with explicit units.

API v3 reports hashrates in TH/s (v2 used MH/s), power in W, temperatures in °C,
fan speeds in RPM and durations in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...models import MinerError


@dataclass(frozen=True, slots=True)
class V3DeviceInfo:
    """``get.device.info``: the sections a miner reports (missing ones are None)."""

    mac: str | None
    hostname: str | None
    ip: str | None
    model: str | None  # miner.type, e.g. "M60S_VK40"
    working: bool | None  # miner.working: btminer hashes
    serial_number: str | None
    firmware_version: str | None
    api_version: str | None
    platform: str | None
    api_switch: bool | None  # system.apiswitch: the write API is on
    psu_model: str | None
    psu_serial_number: str | None
    psu_fan_speed_rpm: int | None
    salt: str | None
    errors: tuple[MinerError, ...]


@dataclass(frozen=True, slots=True)
class V3Summary:
    """``get.miner.status`` ``summary``."""

    elapsed_s: int | None
    uptime_s: int | None  # bootup-time
    hashrate_ths: float | None  # hash-average
    hashrate_1m_ths: float | None
    hashrate_15m_ths: float | None
    hashrate_realtime_ths: float | None
    factory_hashrate_ths: float | None
    power_w: float | None  # power-realtime
    power_5m_w: float | None
    power_limit_w: float | None
    power_rate_j_per_th: float | None
    environment_temperature_c: float | None
    board_temperatures_c: tuple[float, ...]
    chip_temp_min_c: float | None
    chip_temp_avg_c: float | None
    chip_temp_max_c: float | None
    fan_speed_in_rpm: int | None
    fan_speed_out_rpm: int | None
    frequency_avg_mhz: float | None
    upfreq_finished: bool | None


@dataclass(frozen=True, slots=True)
class V3Pool:
    """``get.miner.status`` ``pools`` (v3 has no share counters)."""

    url: str | None
    account: str | None
    alive: bool | None
    active: bool | None
    priority: int | None


@dataclass(frozen=True, slots=True)
class V3Hashboard:
    """``get.miner.status`` ``edevs``."""

    index: int | None
    alive: bool | None
    frequency_mhz: float | None
    effective_chips: int | None
    hashrate_ths: float | None  # hash-average
    hashrate_realtime_ths: float | None
    factory_hashrate_ths: float | None
    chip_temp_min_c: float | None
    chip_temp_avg_c: float | None
    chip_temp_max_c: float | None


@dataclass(frozen=True, slots=True)
class V3Status:
    """The sections of one ``get.miner.status`` request."""

    summary: V3Summary | None
    pools: tuple[V3Pool, ...] | None
    hashboards: tuple[V3Hashboard, ...] | None


@dataclass(frozen=True, slots=True)
class V3Settings:
    """``get.miner.setting``: what the miner is set to (v2 cannot read these)."""

    power_percent: int | None
    power_limit_w: int | None
    power_mode: str | None
    target_frequency_percent: int | None
    upfreq_speed: int | None
    fast_boot: bool | None
    heat_mode: str | None
