"""Parsing of DragonMint / Innosilicon firmware replies into typed models.

Hashrates are TH/s: from ``Hash Rate H`` (H/s, Innosilicon) when present, else
from the ``MHS *`` window that suits the time since cgminer started (see
``_window_keys``). The key ``Hash Rate`` alone is never read: it is MH/s on
DragonMint but a display-scaled number on Innosilicon. Application errors arrive
as HTTP 200 with ``"success": false``.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any, Final

from ..errors import AuthFailed, CommandRejected, ParseError, ServiceNotRunning
from ..fields import Fields, as_bool, as_str, scaled
from .models import (
    DragonMintAutoTune,
    DragonMintChain,
    DragonMintNetwork,
    DragonMintOverview,
    DragonMintPool,
    DragonMintSummary,
)

_INVALID_REQUEST: Final = "invalid request"
# The MHS windows to try, by ``Device Elapsed`` (seconds since cgminer started).
# cgminer's windows are exponentially decaying averages that start from 0, so
# right after a (re)start the 5-minute one ramps up for many minutes. The
# firmware's backend picks the ``Hash Rate`` its web page shows by the same
# clock (dragonmint.md §5.2 "How Hash Rate is chosen", from dm-backend
# StatusController::getSummaryAction; the web UI's hash rate card sums the
# chains' ``Hash Rate H``, which the Innosilicon backend derives from it, inno-ui
# homePage.js): < 300 s MHS 5s, < 900 s MHS 1m, < 3600 s MHS 5m, then MHS 15m.
# We use its thresholds for the ramp but stay on MHS 5m from 900 s on, where the
# firmware moves to MHS 15m after an hour: once settled the sensor keeps one
# meaning and shows a dead chain within minutes. A missing window falls back to
# the next longer one, then to MHS av.
_EARLY_WINDOWS: Final = (
    (300, ("MHS 5s", "MHS 1m", "MHS 5m", "MHS av")),
    (900, ("MHS 1m", "MHS 5m", "MHS av")),
)
_SETTLED_WINDOWS: Final = ("MHS 5m", "MHS 1m", "MHS av")
_MHS_TO_THS: Final = 1e-6
_HS_TO_THS: Final = 1e-12
_UPTIME = re.compile(
    r"up\s+(?:(?P<days>\d+)\s+days?,?\s*)?"
    r"(?:(?P<hours>\d+):(?P<minutes>\d+)|(?P<only_minutes>\d+)\s+min)"
)


def reply_error(reply: Mapping[str, Any], action: str) -> Exception | None:
    """The typed error of a ``"success": false`` reply, or None on success."""
    if reply.get("success") is not False:
        return None
    message = reply.get("message")
    if reply.get("token") == "expired":
        return AuthFailed("the miner rejected the token", command=action)
    if message is None:
        return ServiceNotRunning(f"{action}: cgminer is not ready")
    if message == _INVALID_REQUEST:
        # A known route answers this only for missing or wrong credentials.
        return AuthFailed("the miner rejected the credentials", command=action)
    return CommandRejected(str(message), command=action)


def _index(reported: int | None, position: int) -> int:
    return position if reported is None else reported


def _window_keys(elapsed_s: int | None) -> tuple[str, ...]:
    """The ``MHS *`` keys to try, in order, ``elapsed_s`` after cgminer started."""
    if elapsed_s is not None and elapsed_s >= 0:
        for below, keys in _EARLY_WINDOWS:
            if elapsed_s < below:
                return keys
    return _SETTLED_WINDOWS


def chain_from(index: int, record: Mapping[str, Any]) -> DragonMintChain:
    """Build a Chain; see the module docstring for the hashrate fields."""
    fields = Fields(record)
    elapsed = fields.integer("Device Elapsed")
    if (hs := fields.number("Hash Rate H")) is not None:
        # Innosilicon: the backend already chose the window by Device Elapsed.
        recent: float | None = hs * _HS_TO_THS
    else:
        recent = scaled(fields.number(*_window_keys(elapsed)), _MHS_TO_THS)
    return DragonMintChain(
        index=_index(fields.integer("ID", "ASC"), index),
        status=fields.text("Status"),
        temperature_c=fields.number("Temperature", "TempMAX"),
        hashrate_ths=recent,
        hashrate_average_ths=scaled(fields.number("MHS av"), _MHS_TO_THS),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
        hardware_errors=fields.integer("Hardware Errors"),
        elapsed_s=elapsed,
    )


def pool_from(index: int, record: Mapping[str, Any]) -> DragonMintPool:
    """Build a Pool from a cgminer pool object."""
    fields = Fields(record)
    return DragonMintPool(
        index=_index(fields.integer("POOL"), index),
        url=fields.text("URL"),
        user=fields.text("User"),
        status=fields.text("Status"),
        priority=fields.integer("Priority"),
        stratum_active=fields.flag("Stratum Active"),
        accepted=fields.integer("Accepted"),
        rejected=fields.integer("Rejected"),
    )


def _records(reply: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    records = reply.get(key)
    if not isinstance(records, list):
        # The backend answers {"success": false} when DEVS/POOLS are not lists.
        raise ServiceNotRunning(f"summary: cgminer is not ready ({key})")
    return [record for record in records if isinstance(record, dict)]


def summary_from(reply: Mapping[str, Any]) -> DragonMintSummary:
    """Build a Summary from ``/api/summary``."""
    hardware = reply.get("HARDWARE")
    fan_duty = (
        Fields(hardware).integer("Fan duty") if isinstance(hardware, dict) else None
    )
    return DragonMintSummary(
        chains=tuple(chain_from(i, r) for i, r in enumerate(_records(reply, "DEVS"))),
        pools=tuple(pool_from(i, r) for i, r in enumerate(_records(reply, "POOLS"))),
        fan_duty_pct=fan_duty,
        tuning=as_bool(reply.get("tuning")),
    )


def _uptime(status: str | None) -> int | None:
    """Seconds from an ``uptime`` line: ``15:38:31 up 2 days, 3:04, load ...``."""
    match = _UPTIME.search(status or "")
    if match is None:
        return None
    days = int(match["days"] or 0)
    if match["only_minutes"] is not None:
        hours, minutes = 0, int(match["only_minutes"])
    else:
        hours, minutes = int(match["hours"]), int(match["minutes"])
    return ((days * 24 + hours) * 60 + minutes) * 60


def network_from(record: Mapping[str, Any]) -> DragonMintNetwork:
    """Build Network from ``/api/network`` or ``overview.network``."""
    fields = Fields(record)
    dns = tuple(server for key in ("dns1", "dns2") if (server := fields.text(key)))
    return DragonMintNetwork(
        dhcp=fields.text("dhcp") == "dhcp",
        ip=fields.text("ipaddress"),
        netmask=fields.text("netmask"),
        gateway=fields.text("gateway"),
        dns=dns,
    )


def overview_from(reply: Mapping[str, Any]) -> DragonMintOverview:
    """Build Overview from ``/api/overview``."""
    version = reply.get("version")
    hardware = reply.get("hardware")
    network = reply.get("network")
    versions = Fields(version if isinstance(version, dict) else {})
    status = Fields(hardware).text("status") if isinstance(hardware, dict) else None
    return DragonMintOverview(
        type=as_str(reply.get("type")),
        mac=versions.text("ethaddr"),
        firmware_version=versions.text("platform_v"),
        hardware_version=versions.text("hwver"),
        build_date=versions.text("build_date"),
        uptime_s=_uptime(status),
        network=network_from(network) if isinstance(network, dict) else None,
    )


def autotune_from(reply: Mapping[str, Any]) -> DragonMintAutoTune:
    """The mode is a string on T1 and ``{"mode", "level"}`` on Innosilicon."""
    mode = reply.get("autoTuneMode")
    if isinstance(mode, dict):
        fields = Fields(mode)
        return DragonMintAutoTune(mode=fields.text("mode"), level=fields.text("level"))
    return DragonMintAutoTune(mode=as_str(mode), level=None)


def raise_for_http(status: int, path: str) -> None:
    """Nginx answers 401 for non-admins on /stream and /upgrade, 5xx when PHP hangs."""
    if status == 401:
        raise AuthFailed("the miner requires the admin account", command=path)
    if status >= 500:
        raise ServiceNotRunning(
            f"{path}: the miner's web service failed (HTTP {status})"
        )
    if status != 200:
        raise ParseError(f"{path}: unexpected HTTP status {status}")
