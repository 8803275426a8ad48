"""Typed replies of the Whatsminer API v2, with explicit units.

Every field is optional (``None`` when the firmware does not report it): Manual 2.2
prints a subset of the 2.0.4 fields and v2-compat firmware drops more of them.
Hashrates are converted to TH/s here; no caller ever sees MH/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
import re
from typing import Any

from ...models import CgminerPool, MinerError

_FIRMWARE_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


class HeatMode(StrEnum):
    """Hydro miners' heat modes (Manual 2.2 §3.30)."""

    ANTI_ICING = "anti-icing"
    HEATING = "heating"


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Hashrates:
    """The hashrates cgminer reports for a miner or one board, in TH/s."""

    hashrate_ths: float | None  # ``MHS av``: since mining (re)started
    hashrate_5s_ths: float | None
    hashrate_1m_ths: float | None
    hashrate_5m_ths: float | None
    hashrate_15m_ths: float | None
    hashrate_realtime_ths: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Summary(V2Hashrates):
    """``summary``: totals of the miner."""

    elapsed_s: int | None
    target_hashrate_ths: float | None
    factory_hashrate_ths: float | None
    accepted: int | None
    rejected: int | None
    temperature_c: float | None
    environment_temperature_c: float | None
    chip_temp_min_c: float | None
    chip_temp_max_c: float | None
    chip_temp_avg_c: float | None
    frequency_avg_mhz: float | None
    target_frequency_mhz: float | None
    fan_speed_in_rpm: int | None
    fan_speed_out_rpm: int | None
    power_w: float | None
    power_rate_j_per_th: float | None
    power_limit_w: float | None
    power_mode: str | None
    uptime_s: int | None
    hash_stable: bool | None
    pool_rejected_pct: float | None
    pool_stale_pct: float | None
    fast_boot: bool | None
    mac: str | None
    firmware_version: str | None
    errors: tuple[MinerError, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Pool(CgminerPool):
    """One entry of ``pools``."""

    stratum_difficulty: float | None
    stale: int | None
    rejected_pct: float | None
    stale_pct: float | None
    last_share_time: int | None
    block_height: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class V2Hashboard(V2Hashrates):
    """One entry of ``edevs`` / ``devs``."""

    slot: int | None
    enabled: bool | None
    status: str | None
    temperature_c: float | None
    chip_frequency_mhz: float | None
    factory_hashrate_ths: float | None
    accepted: int | None
    rejected: int | None
    effective_chips: int | None
    upfreq_complete: bool | None
    chip_temp_min_c: float | None
    chip_temp_max_c: float | None
    chip_temp_avg_c: float | None
    pcb_serial: str | None
    chip_data: str | None


@dataclass(frozen=True, slots=True)
class V2DeviceDetails:
    """One entry of ``devdetails``."""

    index: int | None
    name: str | None
    driver: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class V2PowerSupply:
    """``get_psu``; currents and voltages converted from 1 mA / 10 mV units."""

    name: str | None
    model: str | None
    hardware_version: str | None
    software_version: str | None
    serial_number: str | None
    vendor: str | None
    version: str | None
    input_current_a: float | None
    input_voltage_v: float | None
    input_power_w: float | None
    fan_speed_rpm: int | None
    temperature_c: float | None


@dataclass(frozen=True, slots=True)
class V2Version:
    """``get_version``."""

    api_version: str | None
    firmware_version: str | None
    platform: str | None
    chip: str | None
    miner_type: str | None

    @property
    def firmware_date(self) -> date | None:
        """The build date at the start of ``fw_ver`` (``20230803.11.REL``)."""
        match = _FIRMWARE_DATE.match(self.firmware_version or "")
        if match is None:
            return None
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class V2Status:
    """``status``: whether btminer runs, and the configured power settings."""

    mining_off: bool | None
    mining_off_reason: str | None
    firmware_version: str | None
    power_mode: str | None
    power_limit_w: int | None  # None: the firmware default ("" on the wire)
    hash_percent: int | None


@dataclass(frozen=True, slots=True)
class V2NetworkInfo:
    """``get_miner_info``: only the selected fields are filled."""

    ip: str | None
    proto: str | None
    netmask: str | None
    gateway: str | None
    dns: str | None
    hostname: str | None
    mac: str | None
    led_status: str | None
    miner_serial: str | None
    psu_serial: str | None


@dataclass(frozen=True, slots=True)
class TokenChallenge:
    """``get_token``: the inputs of the sign (the sign itself stays in the client)."""

    time: str
    salt: str
    newsalt: str
    timeout_s: int | None  # Manual 2.2 idle expiry; None: the fixed 30 minutes


@dataclass(frozen=True, slots=True)
class WriteResult:
    """The outcome of a write.

    ``replied`` is False for commands that restart the miner and close without
    replying: the command was sent, its effect must be confirmed by polling.
    """

    command: str
    replied: bool
    message: Any = None


@dataclass(frozen=True, slots=True)
class V2Readings:
    """The cgminer-family reads of one joined request (``summary+pools+edevs``)."""

    summary: V2Summary | None = None
    pools: tuple[V2Pool, ...] | None = None
    hashboards: tuple[V2Hashboard, ...] | None = None
    device_details: tuple[V2DeviceDetails, ...] | None = None
