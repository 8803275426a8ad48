"""Typed replies of the Spiderpool REST API v2, with explicit units.

Hashrates are TH/s (the API sends H/s as decimal strings), money is Decimal in
coin units (BTC for ``btc``), times are aware UTC datetimes. ``None`` means the
pool did not report the value (an empty string or null is not a zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class WorkerStatus(StrEnum):
    """Worker states of the documented worker detail (``lost`` = gone quiet)."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class SubaccountInfo:
    """``getSubaccountInfo``: one sub-account's totals."""

    coin: str
    subaccount: str
    wallet_address: str | None
    hashrate_ths: float | None  # realtime
    hashrate_24h_ths: float | None
    active_workers: int | None
    inactive_workers: int | None


@dataclass(frozen=True, slots=True)
class ProfitInfo:
    """``getSubaccountProfitInfo`` (there is no "today" profit, only an estimate)."""

    yesterday: Decimal | None
    unpaid: Decimal | None
    total: Decimal | None
    today_estimate: Decimal | None


@dataclass(frozen=True, slots=True)
class Worker:
    """One worker of a sub-account."""

    name: str
    hashrate_ths: float | None
    hashrate_24h_ths: float | None
    reject_rate: float | None  # ratio 0..1
    status: WorkerStatus | None
    last_share: datetime | None

    @property
    def online(self) -> bool:
        """Whether the worker is hashing now."""
        return self.status is WorkerStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class Payment:
    """One payout."""

    time: datetime
    address: str | None
    amount: Decimal | None
    tx_id: str | None


@dataclass(frozen=True, slots=True)
class DayProfit:
    """One settled day of ``getSubaccountProfitDetailInfo`` (UTC day start)."""

    day: datetime
    profit: Decimal | None  # in the coin
    avg_hashrate_ths: float | None  # the hashrate that earned it

    @property
    def hashprice(self) -> Decimal | None:
        """What one TH/s earned that day (coin per TH/s per day)."""
        if self.profit is None or not self.avg_hashrate_ths:
            return None
        return self.profit / Decimal(str(self.avg_hashrate_ths))


@dataclass(frozen=True, slots=True)
class HashrateSeries:
    """A hashrate chart: values every ``interval_s`` seconds from ``start``."""

    start: datetime | None
    interval_s: int | None
    values_ths: tuple[float | None, ...]


@dataclass(frozen=True, slots=True)
class HashrateRecord:
    """One entry of ``getHashrate`` (accepted and rejected share rates)."""

    time: datetime | None
    accepted_ths: float | None
    rejected_ths: float | None
    reject_rate: float | None
