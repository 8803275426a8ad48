"""Parsing of Whatsminer API v3 replies (``msg`` objects) into typed models.

API v3 reports hashrates in TH/s, power in W, temperatures in °C: only the
shapes need care (numbers as strings, missing sections, codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...errors import AuthFailed, CommandRejected, ParseError, UnsupportedCommand
from ...fields import Fields, as_alive, as_str
from ...models import MinerError
from .models import V3DeviceInfo, V3Hashboard, V3Pool, V3Settings, V3Status, V3Summary

CODE_OK: Final = 0
CODE_FAIL: Final = -1
CODE_INVALID_COMMAND: Final = -2
CODE_PARAM_NULL: Final = -3
CODE_NO_PERMISSION: Final = -4


def _errors(value: Any) -> tuple[MinerError, ...]:
    """``[{"<code>": "<time>", "reason": "..."}]``."""
    errors: list[MinerError] = []
    for entry in value if isinstance(value, list) else ():
        if not isinstance(entry, dict):
            continue
        reason = as_str(entry.get("reason"))
        for key, since in entry.items():
            if (
                key != "reason"
                and (code := Fields({"c": key}).integer("c")) is not None
            ):
                errors.append(MinerError(code, as_str(since), reason))
    return tuple(errors)


def device_info_from(msg: Mapping[str, Any]) -> V3DeviceInfo:
    """Build DeviceInfo from the sections present in ``get.device.info``."""

    def section(name: str) -> Fields:
        value = msg.get(name)
        return Fields(value if isinstance(value, dict) else {})

    miner, system, power = section("miner"), section("system"), section("power")
    network = section("network")
    return V3DeviceInfo(
        mac=network.text("mac"),
        hostname=network.text("hostname"),
        ip=network.text("ip"),
        model=miner.text("type"),
        working=miner.flag("working"),
        serial_number=miner.text("miner-sn"),
        firmware_version=system.text("fwversion"),
        api_version=system.text("api"),
        platform=system.text("platform"),
        api_switch=system.flag("apiswitch"),
        psu_model=power.text("model"),
        psu_serial_number=power.text("sn"),
        psu_fan_speed_rpm=power.integer("fanspeed"),
        salt=as_str(msg.get("salt")),
        errors=_errors(msg.get("error-code")),
    )


def summary_from(record: Mapping[str, Any]) -> V3Summary:
    """Build Summary (hashrates are TH/s in v3)."""
    fields = Fields(record)
    boards = record.get("board-temperature")
    return V3Summary(
        elapsed_s=fields.integer("elapsed"),
        uptime_s=fields.integer("bootup-time"),
        hashrate_ths=fields.number("hash-average"),
        hashrate_1m_ths=fields.number("hash-1min"),
        hashrate_15m_ths=fields.number("hash-15min"),
        hashrate_realtime_ths=fields.number("hash-realtime"),
        factory_hashrate_ths=fields.number("factory-hash"),
        power_w=fields.number("power-realtime"),
        power_5m_w=fields.number("power-5min"),
        power_limit_w=fields.number("power-limit"),
        power_rate_j_per_th=fields.number("power-rate"),
        environment_temperature_c=fields.number("environment-temperature"),
        board_temperatures_c=tuple(
            t
            for v in (boards if isinstance(boards, list) else ())
            if (t := Fields({"t": v}).number("t")) is not None
        ),
        chip_temp_min_c=fields.number("chip-temp-min"),
        chip_temp_avg_c=fields.number("chip-temp-avg"),
        chip_temp_max_c=fields.number("chip-temp-max"),
        fan_speed_in_rpm=fields.integer("fan-speed-in"),
        fan_speed_out_rpm=fields.integer("fan-speed-out"),
        frequency_avg_mhz=fields.number("freq-avg"),
        upfreq_finished=fields.flag("up-freq-finish"),
    )


def status_from(msg: Mapping[str, Any]) -> V3Status:
    """Build MinerStatus from the sections of ``get.miner.status``."""
    summary = msg.get("summary")
    pools = msg.get("pools")
    edevs = msg.get("edevs")
    return V3Status(
        summary=summary_from(summary) if isinstance(summary, dict) else None,
        pools=None
        if not isinstance(pools, list)
        else tuple(
            V3Pool(
                url=(f := Fields(p)).text("url"),
                account=f.text("account"),
                alive=as_alive(f.text("status")),
                active=f.flag("stratum-active"),
                priority=f.integer("pool-priority"),
            )
            for p in pools
            if isinstance(p, dict)
        ),
        hashboards=None
        if not isinstance(edevs, list)
        else tuple(
            V3Hashboard(
                index=(f := Fields(e)).integer("id"),
                alive=as_alive(f.text("status")),
                frequency_mhz=f.number("freq"),
                effective_chips=f.integer("effective-chips"),
                hashrate_ths=f.number("hash-average"),
                hashrate_realtime_ths=f.number("hash-realtime"),
                factory_hashrate_ths=f.number("factory-hash"),
                chip_temp_min_c=f.number("chip-temp-min"),
                chip_temp_avg_c=f.number("chip-temp-avg"),
                chip_temp_max_c=f.number("chip-temp-max"),
            )
            for e in edevs
            if isinstance(e, dict)
        ),
    )


def settings_from(msg: Mapping[str, Any]) -> V3Settings:
    """Build MinerSettings from ``get.miner.setting``."""
    fields = Fields(msg)
    return V3Settings(
        power_percent=fields.integer("power-percent"),
        power_limit_w=fields.integer("power-limit"),
        power_mode=fields.text("power-mode"),
        target_frequency_percent=fields.integer("target-freq"),
        upfreq_speed=fields.integer("upfreq-speed"),
        fast_boot=fields.flag("fast-boot"),
        heat_mode=fields.text("heat-mode"),
    )


def raise_for_code(reply: Mapping[str, Any], cmd: str) -> None:
    """Map a reply's error code to the protocol's typed errors."""
    code = Fields(reply).integer("code")
    if code == CODE_OK:
        return
    message = str(reply.get("msg") or "error")
    if code == CODE_NO_PERMISSION:
        raise AuthFailed(
            "the miner refused the credentials (no permission)", command=cmd
        )
    if code == CODE_INVALID_COMMAND:
        raise UnsupportedCommand(message, command=cmd, code=code)
    if code is None:
        raise ParseError(f"{cmd}: the reply has no code")
    raise CommandRejected(message, command=cmd, code=code)
