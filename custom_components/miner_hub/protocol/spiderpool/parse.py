"""Parsing of Spiderpool records into typed models, in fixed units.

Hashrates arrive as H/s in decimal strings (TH/s here), money as decimal strings
(Decimal here), times as Unix seconds or milliseconds (aware UTC datetimes here).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from ..fields import Fields, as_float
from .models import (
    DayProfit,
    HashrateRecord,
    HashrateSeries,
    Payment,
    ProfitInfo,
    SubaccountInfo,
    Worker,
    WorkerStatus,
)

_HS_TO_THS: Final = 1e-12


def ths(value: Any) -> float | None:
    """TH/s from H/s."""
    number = as_float(value)
    return None if number is None else number * _HS_TO_THS


def decimal(value: Any) -> Decimal | None:
    """An exact amount; None for an empty or non-finite value."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def from_ms(value: Any) -> datetime | None:
    """A UTC time from Unix milliseconds."""
    number = as_float(value)
    return None if number is None else from_s(number / 1000)


def from_s(value: Any) -> datetime | None:
    """A UTC time from Unix seconds; None when not a time a datetime can hold."""
    number = as_float(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number, UTC)
    except OverflowError, OSError, ValueError:
        return None


def _status(value: Any) -> WorkerStatus | None:
    text = str(value).lower() if value is not None else ""
    if text == "online":  # the sp/worker/list spelling
        return WorkerStatus.ACTIVE
    if text == "offline":
        return WorkerStatus.INACTIVE
    try:
        return WorkerStatus(text)
    except ValueError:
        return None


def worker_from(record: Mapping[str, Any]) -> Worker:
    """A worker from the documented detail or from the sp worker list."""
    fields = Fields(record)
    return Worker(
        name=fields.text("workerName") or "",
        hashrate_ths=ths(fields.raw("realtimeHashrate", "hashRate")),
        hashrate_24h_ths=ths(fields.raw("avgHashrate1440", "hashRate24h")),
        reject_rate=fields.number("avgRejectrate1440", "rejectRate"),
        status=_status(fields.raw("status")),
        last_share=from_s(fields.raw("lastShareTime")),
    )


def series_from(data: Mapping[str, Any]) -> HashrateSeries:
    """A hashrate chart."""
    values = data.get("hashrates")
    return HashrateSeries(
        start=from_ms(data.get("startTime")),
        interval_s=Fields(data).integer("timeInterval"),
        values_ths=tuple(ths(v) for v in values) if isinstance(values, list) else (),
    )


def subaccount_info_from(
    row: Mapping[str, Any], coin: str, subaccount: str
) -> SubaccountInfo:
    """One row of the documented ``getSubaccountInfo``."""
    fields = Fields(row)
    return SubaccountInfo(
        coin=fields.text("coin") or coin,
        subaccount=subaccount,
        wallet_address=fields.text("walletAddress"),
        hashrate_ths=ths(fields.raw("realtimeHashrate")),
        hashrate_24h_ths=ths(fields.raw("avgHashrate1440")),
        active_workers=fields.integer("activeWorkerNum"),
        inactive_workers=fields.integer("inactiveWorkerNum"),
    )


def live_hashrates_from(
    real: Any, full: Any, coin: str, subaccount: str
) -> SubaccountInfo:
    """The live-proven hashrate endpoints: hashrates, no worker counts or wallet."""
    return SubaccountInfo(
        coin=coin,
        subaccount=subaccount,
        wallet_address=None,
        hashrate_ths=ths(real.get("hashRate")) if isinstance(real, dict) else None,
        hashrate_24h_ths=ths(full.get("hashRateDay"))
        if isinstance(full, dict)
        else None,
        active_workers=None,
        inactive_workers=None,
    )


def profit_info_from(data: Mapping[str, Any]) -> ProfitInfo:
    """``getSubaccountProfitInfo``."""
    return ProfitInfo(
        yesterday=decimal(data.get("yesterdayProfit")),
        unpaid=decimal(data.get("unpaidProfit")),
        total=decimal(data.get("totalProfit")),
        today_estimate=decimal(data.get("dayEstimateProfit")),
    )


def payment_from(record: Mapping[str, Any]) -> Payment | None:
    """One payout; None when it has no time."""
    when = from_ms(record.get("paymentDate"))
    if when is None:
        return None
    fields = Fields(record)
    return Payment(
        time=when,
        address=fields.text("paymentAddress"),
        amount=decimal(record.get("paymentMoney")),
        tx_id=fields.text("txId"),
    )


def hashrate_record_from(record: Mapping[str, Any]) -> HashrateRecord:
    """One entry of ``getHashrate``."""
    return HashrateRecord(
        time=from_s(record.get("timestamp")),
        accepted_ths=ths(record.get("shareAcceptHashRate")),
        rejected_ths=ths(record.get("shareRejectHashRate")),
        reject_rate=as_float(record.get("rejectRate")),
    )


def day_profit_from(record: Mapping[str, Any]) -> DayProfit | None:
    """One settled day; None when it has no date."""
    day = from_ms(record.get("dayDate"))
    if day is None:
        return None
    return DayProfit(
        day=day,
        profit=decimal(record.get("dayProfit")),
        avg_hashrate_ths=ths(record.get("avgHashrate")),
    )
