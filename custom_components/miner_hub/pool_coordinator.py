"""Polling for one Spiderpool sub-account (a cloud service, polled gently)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_COIN,
    CONF_SUBACCOUNT,
    DOMAIN,
    LOGGER,
    PAYMENT_HISTORY,
    POOL_SLOW_INTERVAL,
    POOL_UPDATE_INTERVAL,
    SETTLED_DAY_AGE,
    SETTLED_DAYS,
    WORKER_GONE_AFTER,
)
from .coordinator_base import MinerHubCoordinator
from .helpers import pool_command_error, translated
from .prices import AccountPrices
from .protocol.errors import (
    AuthFailed,
    ConnectionFailed,
    MinerHubError,
    NotFound,
    RateLimited,
    ServiceNotRunning,
    Unreachable,
)
from .protocol.spiderpool.client import SpiderpoolClient
from .protocol.spiderpool.models import (
    DayProfit,
    Payment,
    ProfitInfo,
    SubaccountInfo,
    Worker,
)


@dataclass(frozen=True, slots=True)
class PoolData:
    """What the account and worker entities show."""

    info: SubaccountInfo
    workers: Mapping[str, Worker]
    profit: ProfitInfo | None
    minimum_payment: Decimal | None
    last_payment: Payment | None
    last_day: DayProfit | None  # the last settled day (earnings, hashrate)


def _with_worker_counts(
    info: SubaccountInfo, workers: tuple[Worker, ...]
) -> SubaccountInfo:
    """Worker counts the pool did not report, counted from the worker list.

    Only when every worker's status is known: an unknown status is no count.
    """
    if info.active_workers is not None and info.inactive_workers is not None:
        return info
    if any(worker.status is None for worker in workers):
        return info
    active = sum(1 for worker in workers if worker.online)
    return replace(
        info,
        active_workers=active if info.active_workers is None else info.active_workers,
        inactive_workers=len(workers) - active
        if info.inactive_workers is None
        else info.inactive_workers,
    )


class PoolCoordinator(MinerHubCoordinator[PoolData]):
    """Polls one sub-account: hashrate and workers every 5 minutes, money every 30."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], client: SpiderpoolClient
    ) -> None:
        """Poll at the pace the pool's data changes."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=POOL_UPDATE_INTERVAL,
        )
        self.client = client
        self.coin: str = entry.data[CONF_COIN]
        self.subaccount: str = entry.data[CONF_SUBACCOUNT]
        # The prices its linked miners' money figures use (the entry's options).
        self.prices = AccountPrices(hass, entry.title, entry.options)
        self._slow_reads_due: datetime | None = None
        self._profit: ProfitInfo | None = None
        self._minimum_payment: Decimal | None = None
        self._last_payment: Payment | None = None
        self._last_day: DayProfit | None = None
        self.last_seen: dict[str, datetime] = {}  # worker name → last listed

    async def _async_update_data(self) -> PoolData:
        try:
            return await self._poll_confirming_auth()
        except AuthFailed as err:
            raise translated(ConfigEntryAuthFailed, "pool_auth_failed") from err
        except RateLimited as err:
            # Never sooner than the normal interval, whatever the pool says.
            wait = max(err.retry_after or 0.0, POOL_UPDATE_INTERVAL.total_seconds())
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="rate_limited_pool",
                retry_after=wait,
            ) from err
        except NotFound as err:
            raise translated(
                UpdateFailed, "subaccount_not_found", subaccount=self.subaccount
            ) from err
        except MinerHubError as err:
            raise translated(UpdateFailed, "pool_error", error=str(err)) from err

    async def _poll_confirming_auth(self) -> PoolData:
        """Poll; an authentication failure is believed when it happens twice.

        The pool's authentication codes are undocumented (a clock hiccup may look
        the same), so a second, freshly signed request decides.
        """
        try:
            return await self._poll()
        except AuthFailed as err:
            LOGGER.debug("%s: rejected (%s), asking once more", self.name, err)
        return await self._poll()

    async def _poll(self) -> PoolData:
        info = await self.client.get_subaccount_info(self.coin, self.subaccount)
        workers = await self.client.get_workers(self.coin, self.subaccount)
        now = dt_util.utcnow()
        if self._slow_reads_due is None or now >= self._slow_reads_due:
            await self._slow_reads(now)
            self._slow_reads_due = now + POOL_SLOW_INTERVAL
        for worker in workers:
            self.last_seen[worker.name] = now
        return PoolData(
            info=_with_worker_counts(info, workers),
            workers={worker.name: worker for worker in workers},
            profit=self._profit,
            minimum_payment=self._minimum_payment,
            last_payment=self._last_payment,
            last_day=self._last_day,
        )

    async def _slow_reads(self, now: datetime) -> None:
        """Profit, minimum payment, the last payment and settled days change slowly."""
        self._profit = await self.client.get_profit_info(self.coin, self.subaccount)
        self._minimum_payment = await self.client.get_minimum_payment(
            self.coin, self.subaccount
        )
        # Only what is newer than the last payment we know (plus a day of slack).
        last = self._last_payment
        since = now - PAYMENT_HISTORY if last is None else last.time - timedelta(days=1)
        payments = await self.client.get_payments(
            self.coin, self.subaccount, since, now
        )
        if payments and (last is None or payments[0].time >= last.time):
            self._last_payment = payments[0]
        await self._read_settled_day(now)

    async def _read_settled_day(self, now: datetime) -> None:
        """The last settled day, read again only once the next one may be settled.

        The pool settles a day some hours after it ends (in an unknown time
        zone): a day two days old means the next one may be there.
        """
        last = self._last_day
        if last is not None and now < last.day + SETTLED_DAY_AGE:
            return
        days = await self.client.get_day_profits(
            self.coin, self.subaccount, now - SETTLED_DAYS, now
        )
        if days:
            self._last_day = days[0]

    def remember_workers(self, names: Iterable[str], now: datetime) -> None:
        """Workers known from an earlier run count as seen now, unless seen since."""
        for name in names:
            self.last_seen.setdefault(name, now)

    def pop_gone_workers(self, now: datetime) -> set[str]:
        """Workers unlisted for a day: gone for good (and forgotten here)."""
        gone = {
            n for n, seen in self.last_seen.items() if now - seen > WORKER_GONE_AFTER
        }
        for name in gone:
            del self.last_seen[name]
        return gone

    def worker_name(self, worker: str) -> str:
        """A worker's name with its sub-account, as miners write it in the pool user.

        Workers are often named after their miners: the sub-account keeps the
        worker's device (and its entity IDs) apart from the miner's.
        """
        if worker.casefold().startswith(f"{self.subaccount}.".casefold()):
            return worker
        return f"{self.subaccount}.{worker}"

    def worker_identifier(self, worker: str) -> str:
        """Device identifier of a worker: unique per account and coin."""
        return f"{self.coin}_{self.subaccount}_{worker}"

    # --- commands -----------------------------------------------------------

    async def async_set_minimum_payment(self, amount: Decimal) -> None:
        """Set the payout threshold of the sub-account."""
        await self._async_command(
            lambda: self.client.update_minimum_payment(
                self.coin, self.subaccount, amount
            )
        )

    def _command_failed(self, err: MinerHubError) -> HomeAssistantError:
        """Follow what a failed write tells about the account; the error to raise."""
        match err:
            case AuthFailed():
                self.config_entry.async_start_reauth(self.hass)
            case Unreachable() | ServiceNotRunning():
                pass  # not sent, or refused by the pool's server: nothing changed
            case ConnectionFailed():
                # Sent and not answered: the refresh shows whether it was applied.
                self._slow_reads_due = None
                self.hass.async_create_task(self.async_request_refresh())
        return pool_command_error(err)

    def _command_done(self) -> None:
        self._slow_reads_due = None  # show the change at the refresh
