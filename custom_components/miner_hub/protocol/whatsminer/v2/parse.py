"""Parsing of Whatsminer API v2 replies.

Real firmware emits a few JSON defects (reference ``whatsminer.md`` §6); they are
repaired here, in this order, before decoding. Anything that still cannot be read
raises :class:`ParseError` and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import json
import re
from typing import Any, Final

from ...errors import (
    AuthFailed,
    CommandRejected,
    DeviceError,
    ParseError,
    RateLimited,
    ServiceNotRunning,
    UnsupportedCommand,
    WriteApiDisabled,
)
from ...fields import Fields, as_int, as_str, scaled
from ...models import MinerError, PrePowerOnStatus
from .hashrates import factory_ths, hashrate_factor, hashrates
from .models import (
    TokenChallenge,
    V2DeviceDetails,
    V2Hashboard,
    V2NetworkInfo,
    V2Pool,
    V2PowerSupply,
    V2Readings,
    V2Status,
    V2Summary,
    V2Version,
)

type Reply = dict[str, Any]

BTMINER_DOWN: Final = "Socket connect failed"
WRITE_API_DISABLED: Final = "can't access write cmd"
TOKEN_LIMIT_MESSAGE: Final = "over max connect"  # noqa: S105 (a reply text)

CODE_INVALID_COMMAND: Final = 14
CODE_INVALID_JSON: Final = 23
CODE_PERMISSION_DENIED: Final = 45
CODE_COMMAND_ERROR: Final = 132
CODE_TOKEN_ERROR: Final = 135
CODE_TOKEN_LIMIT: Final = 136

_TRAILING_COMMA = re.compile(r",\s*([}\]])")
_MISSING_COMMA_TEMP0 = re.compile(r'""temp0"')
# 2.0.4 writes the error map as a list: "error_code":["329":"2022-01-17 11:28:11"]
_BRACKET_ERROR_MAP = re.compile(
    r'("error_code"\s*:\s*)\[(\s*"[^"\[\]{}]*"\s*:[^\[\]{}]*)\]'
)


class StaleToken(DeviceError):
    """Code 135: the miner rejected the sign before running the command."""


def repair(raw: bytes) -> str:
    """Undo the firmware's JSON defects that are safe to repair."""
    text = raw.decode("utf-8", errors="replace").replace("\x00", "").strip()
    text = _TRAILING_COMMA.sub(r"\1", text)
    text = _MISSING_COMMA_TEMP0.sub('","temp0"', text)
    return _BRACKET_ERROR_MAP.sub(r"\1{\2}", text)


def decode(raw: bytes) -> Reply:
    """Repair and decode one reply; raise ParseError if it is not a JSON object."""
    if not raw.strip(b"\x00 \r\n\t"):
        raise ParseError("empty reply")
    text = repair(raw)
    if text.startswith(BTMINER_DOWN):
        raise ServiceNotRunning("btminer is not running (the miner refused the API)")
    try:
        # strict=False accepts the raw newlines firmware puts inside strings.
        reply = json.loads(text, strict=False)
    except (ValueError, RecursionError) as err:
        raise ParseError(f"invalid JSON reply ({len(raw)} bytes)") from err
    if not isinstance(reply, dict):
        raise ParseError("reply is not a JSON object")
    return reply


def _status(reply: Reply) -> tuple[str | None, int | None, Any]:
    """Status letter, code and message of either envelope family."""
    status = reply.get("STATUS")
    code = reply.get("Code")
    message = reply.get("Msg")
    if isinstance(status, list) and status and isinstance(status[0], dict):
        entry = status[0]
        status = entry.get("STATUS")
        code = entry.get("Code", code)
        message = entry.get("Msg", message)
    return (status if isinstance(status, str) else None), as_int(code), message


def raise_for_status(reply: Reply, command: str, *, encrypted: bool = False) -> None:
    """Map an error reply to the protocol's typed errors."""
    status, code, message = _status(reply)
    if message == TOKEN_LIMIT_MESSAGE or code == CODE_TOKEN_LIMIT:
        raise RateLimited(
            "the miner has issued too many tokens", command=command, code=code
        )
    if status not in ("E", "F"):
        return
    text = str(message) if message is not None else "error"
    error: type[DeviceError] = CommandRejected
    if message == WRITE_API_DISABLED or code == CODE_PERMISSION_DENIED:
        error = WriteApiDisabled
    elif code == CODE_INVALID_JSON and encrypted:
        # A wrong password yields a wrong AES key: the miner cannot decrypt.
        error, text = AuthFailed, "the miner rejected the password"
    elif code == CODE_INVALID_COMMAND:
        error = UnsupportedCommand
    elif code == CODE_TOKEN_ERROR:
        error = StaleToken
    raise error(text, command=command, code=code)


def message_object(reply: Reply, command: str) -> Mapping[str, Any]:
    """The ``Msg`` object of a flat reply."""
    message = reply.get("Msg")
    if not isinstance(message, dict):
        raise ParseError(f"{command}: reply has no Msg object")
    return message


def records(reply: Reply, key: str, command: str) -> list[Mapping[str, Any]]:
    """The data list of a cgminer-family reply (``SUMMARY``, ``POOLS``, ...).

    v2-compat firmware (2024-11 and later) wraps the data in a flat ``Msg`` instead.
    """
    data = reply.get(key)
    if data is None:
        data = reply.get("Msg")
        if isinstance(data, dict) and key in data:
            data = data[key]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ParseError(f"{command}: reply has no {key} list")
    return data


def _summary_errors(fields: Fields) -> tuple[MinerError, ...]:
    """Older firmware lists errors in ``Error Code Count`` / ``Error Code N``."""
    count = fields.integer("Error Code Count") or 0
    codes = (fields.integer(f"Error Code {index}") for index in range(count))
    return tuple(MinerError(code) for code in codes if code is not None)


def summary_from(record: Mapping[str, Any]) -> V2Summary:
    """Build a Summary from ``SUMMARY[0]`` (or the v2-compat ``Msg``)."""
    fields = Fields(record)
    power = fields.number("Power")
    power_rate = fields.number("Power Rate")
    expected = factory_ths(fields)
    if expected is None and power and power_rate:
        expected = power / power_rate
    factor = hashrate_factor(fields, expected)
    return V2Summary(
        **hashrates(fields, factor),
        elapsed_s=fields.integer("Elapsed"),
        target_hashrate_ths=scaled(fields.number("Target MHS"), factor),
        factory_hashrate_ths=factory_ths(fields),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
        temperature_c=fields.number("Temperature"),
        environment_temperature_c=fields.number("Env Temp"),
        chip_temp_min_c=fields.number("Chip Temp Min"),
        chip_temp_max_c=fields.number("Chip Temp Max"),
        chip_temp_avg_c=fields.number("Chip Temp Avg"),
        frequency_avg_mhz=fields.number("freq_avg"),
        target_frequency_mhz=fields.number("Target Freq"),
        fan_speed_in_rpm=fields.integer("Fan Speed In"),
        fan_speed_out_rpm=fields.integer("Fan Speed Out"),
        power_w=power,
        power_rate_j_per_th=power_rate,
        power_limit_w=fields.number("Power Limit"),
        power_mode=fields.text("Power Mode"),
        uptime_s=fields.integer("Uptime"),
        hash_stable=fields.flag("Hash Stable"),
        pool_rejected_pct=fields.number("Pool Rejected%"),
        pool_stale_pct=fields.number("Pool Stale%"),
        fast_boot=fields.flag("Btminer Fast Boot"),
        mac=fields.text("MAC"),
        firmware_version=fields.text("Firmware Version"),
        errors=_summary_errors(fields),
    )


def pool_from(record: Mapping[str, Any]) -> V2Pool:
    """Build a Pool from one ``POOLS`` entry."""
    fields = Fields(record)
    return V2Pool(
        index=fields.integer("POOL"),
        url=fields.text("URL"),
        user=fields.text("User"),
        status=fields.text("Status"),
        priority=fields.integer("Priority"),
        stratum_active=fields.flag("Stratum Active"),
        stratum_difficulty=fields.number("Stratum Difficulty"),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
        stale=fields.integer("Stale"),
        rejected_pct=fields.number("Pool Rejected%"),
        stale_pct=fields.number("Pool Stale%"),
        last_share_time=fields.integer("Last Share Time"),
        block_height=fields.integer("Current Block Height"),
    )


def hashboard_from(record: Mapping[str, Any]) -> V2Hashboard:
    """Build a Hashboard from one ``DEVS`` entry."""
    fields = Fields(record)
    factory = factory_ths(fields)
    factor = hashrate_factor(fields, factory)
    return V2Hashboard(
        **hashrates(fields, factor),
        slot=fields.integer("Slot", "ASC"),
        enabled=fields.flag("Enabled"),
        status=fields.text("Status"),
        temperature_c=fields.number("Temperature"),
        chip_frequency_mhz=fields.number("Chip Frequency"),
        factory_hashrate_ths=factory,
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
        effective_chips=fields.integer("Effective Chips"),
        upfreq_complete=fields.flag("Upfreq Complete"),
        chip_temp_min_c=fields.number("Chip Temp Min"),
        chip_temp_max_c=fields.number("Chip Temp Max"),
        chip_temp_avg_c=fields.number("Chip Temp Avg"),
        pcb_serial=fields.text("PCB SN"),
        chip_data=fields.text("Chip Data"),
    )


def device_details_from(record: Mapping[str, Any]) -> V2DeviceDetails:
    """Build DeviceDetails from one ``DEVDETAILS`` entry."""
    fields = Fields(record)
    return V2DeviceDetails(
        index=fields.integer("DEVDETAILS", "ID"),
        name=fields.text("Name"),
        driver=fields.text("Driver"),
        model=fields.text("Model"),
    )


def power_supply_from(message: Mapping[str, Any]) -> V2PowerSupply:
    """Build PowerSupply from ``get_psu`` (``iin`` in mA, ``vin`` in 10 mV)."""
    fields = Fields(message)
    current_ma = fields.number("iin")
    voltage_10mv = fields.number("vin")
    return V2PowerSupply(
        name=fields.text("name"),
        model=fields.text("model"),
        hardware_version=fields.text("hw_version"),
        software_version=fields.text("sw_version"),
        serial_number=fields.text("serial_no"),
        vendor=fields.text("vendor", "vender"),
        version=fields.text("version"),
        input_current_a=None if current_ma is None else current_ma / 1000,
        input_voltage_v=None if voltage_10mv is None else voltage_10mv / 100,
        input_power_w=fields.number("pin"),
        fan_speed_rpm=fields.integer("fan_speed"),
        temperature_c=fields.number("temp0"),
    )


def version_from(message: Mapping[str, Any]) -> V2Version:
    """Build Version from ``get_version`` (old daemons prefix ``whatsminer v``)."""
    fields = Fields(message)
    api_version = fields.text("api_ver")
    if api_version is not None:
        api_version = api_version.removeprefix("whatsminer v").strip()
    return V2Version(
        api_version=api_version,
        firmware_version=fields.text("fw_ver"),
        platform=fields.text("platform"),
        chip=fields.text("chip"),
        miner_type=fields.text("miner_type"),
    )


def status_from(reply: Reply) -> V2Status:
    """Build MinerStatus from ``status`` in its bare (old) or flat (new) shape."""
    message = reply.get("Msg")
    fields = Fields(message if isinstance(message, dict) else reply)
    return V2Status(
        mining_off=fields.flag("btmineroff", "mineroff"),
        mining_off_reason=fields.text("mineroff_reason"),
        firmware_version=fields.text("Firmware Version", "FirmwareVersion"),
        power_mode=fields.text("power_mode"),
        power_limit_w=fields.integer("power_limit_set"),
        hash_percent=fields.integer("hash_percent"),
    )


def network_info_from(message: Mapping[str, Any]) -> V2NetworkInfo:
    """Build NetworkInfo from ``get_miner_info``."""
    fields = Fields(message)
    return V2NetworkInfo(
        ip=fields.text("ip"),
        proto=fields.text("proto"),
        netmask=fields.text("netmask"),
        gateway=fields.text("gateway"),
        dns=fields.text("dns"),
        hostname=fields.text("hostname"),
        mac=fields.text("mac"),
        led_status=fields.text("ledstat"),
        miner_serial=fields.text("minersn"),
        psu_serial=fields.text("powersn"),
    )


def error_codes_from(message: Mapping[str, Any]) -> tuple[MinerError, ...]:
    """Normalise every ``get_error_code`` format to MinerError entries."""
    entries = message.get("error_code")
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise ParseError("get_error_code: reply has no error_code list")
    errors: list[MinerError] = []
    for entry in entries:
        if isinstance(entry, dict):
            errors.extend(_error_entry(entry))
        elif (code := as_int(entry)) is not None:
            errors.append(MinerError(code))
    return tuple(errors)


def _error_entry(entry: Mapping[str, Any]) -> list[MinerError]:
    reason = as_str(entry.get("reason"))
    return [
        MinerError(code, as_str(since), reason)
        for key, since in entry.items()
        if key != "reason" and (code := as_int(key)) is not None
    ]


def token_challenge_from(message: Mapping[str, Any]) -> TokenChallenge:
    """Build TokenChallenge; the reply code varies (133/134/131) and is not checked."""
    fields = Fields(message)
    time, salt, newsalt = (
        fields.text("time"),
        fields.text("salt"),
        fields.text("newsalt"),
    )
    if not (time and salt and newsalt):
        raise ParseError("get_token: reply lacks time, salt or newsalt")
    return TokenChallenge(time, salt, newsalt, fields.integer("timeout"))


def pre_power_on_from(message: Any) -> PrePowerOnStatus:
    """Build PrePowerOnStatus from ``{"complete": "true", "msg": ...}``."""
    if not isinstance(message, dict):
        return PrePowerOnStatus(complete=False, message=as_str(message))
    fields = Fields(message)
    return PrePowerOnStatus(
        complete=bool(fields.flag("complete")), message=fields.text("msg")
    )


CGMINER_READS: Final[dict[str, tuple[str, str]]] = {
    # command: (data key, Readings field)
    "summary": ("SUMMARY", "summary"),
    "pools": ("POOLS", "pools"),
    "edevs": ("DEVS", "hashboards"),
    "devs": ("DEVS", "hashboards"),
    "devdetails": ("DEVDETAILS", "device_details"),
}
_BUILDERS: Final[dict[str, Callable[[Mapping[str, Any]], Any]]] = {
    "summary": summary_from,
    "pools": pool_from,
    "hashboards": hashboard_from,
    "device_details": device_details_from,
}


def readings_from(replies: Mapping[str, Reply]) -> V2Readings:
    """Build Readings from one reply per cgminer-family command."""
    values: dict[str, Any] = {}
    for command, reply in replies.items():
        key, field = CGMINER_READS[command]
        raise_for_status(reply, command)
        built = tuple(
            _BUILDERS[field](record) for record in records(reply, key, command)
        )
        if field == "summary":
            if not built:
                raise ParseError("summary: reply has an empty SUMMARY list")
            values[field] = built[0]
        else:
            values[field] = built
    return V2Readings(**values)


def split_joined(reply: Reply, commands: list[str]) -> dict[str, Reply]:
    """Split a joined reply ``{"summary": [<reply>], "pools": [<reply>]}``."""
    parts: dict[str, Reply] = {}
    for command in commands:
        part = reply.get(command)
        if isinstance(part, list) and part and isinstance(part[0], dict):
            part = part[0]
        if not isinstance(part, dict):
            raise ParseError(f"joined reply lacks {command}")
        parts[command] = part
    return parts
