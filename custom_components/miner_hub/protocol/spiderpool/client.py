"""Async client for the Spiderpool mining-pool REST API v2 (RSA-signed requests).

Every request is a POST of ``{"dataJson", "accessKey", "timestamp", "sign"}``:
``sign`` is base64 of the RSA PKCS#1 v1.5 / MD5 signature of the UTF-8 bytes of
``dataJson + "|" + timestamp``, computed over exactly the string that is sent.
Calls to one account are spaced at least a second apart; a rate-limit answer
makes the client wait before it calls again. The spacing is kept in the gate,
so every client of one account shares it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import json
import logging
import time
from typing import Any, Final

import aiohttp
from Crypto.PublicKey import RSA
from yarl import URL

from ..errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NotFound,
    ParseError,
    RateLimited,
    RequestTimeout,
    ServiceNotRunning,
    Unreachable,
    UnsupportedCommand,
)
from ..fields import Fields, as_float
from ..gate import Gate
from . import models
from .crypto import load_private_key, sign
from .parse import (
    day_profit_from,
    decimal,
    hashrate_record_from,
    live_hashrates_from,
    payment_from,
    profit_info_from,
    series_from,
    subaccount_info_from,
    worker_from,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.spiderpool.com"
DEFAULT_TIMEOUT: Final = 20.0
# No documented limit; live clients wait a second between calls.
MIN_CALL_INTERVAL: Final = 1.0
DEFAULT_RATE_LIMIT_BACKOFF: Final = 60.0
_PAGE_SIZE: Final = 10
_MAX_PAGES: Final = 200
# Codes that mean "your request is wrong", not "who are you".
_PARAMETER_CODES: Final = frozenset({"INVALID_PARAM", "SUBACCOUNT_EXIST"})
_SUBACCOUNT_MISSING: Final = "The subaccount does not exist"
_SERVER_ERROR: Final = "500"
_RATE_LIMIT_HINTS: Final = ("TOO_MANY", "RATE_LIMIT", "LIMIT")


@dataclass(slots=True)
class AccountPace:
    """The spacing of one account's calls, shared through the gate."""

    last_call: float = float("-inf")
    backoff_until: float = float("-inf")


def _wall_clock() -> float:
    return time.time()  # looked up at each call: a patched time.time is seen


def _monotonic_clock() -> float:
    return time.monotonic()


class SpiderpoolClient:
    """Client for one Spiderpool account (access key and private key)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        access_key: str,
        private_key: str | RSA.RsaKey,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
        min_interval: float | None = None,
        clock: Callable[[], float] | None = None,
        monotonic: Callable[[], float] | None = None,
        gate: Gate | None = None,
    ) -> None:
        """Parse the key once; nothing is sent until a method is called."""
        self._session = session
        self.access_key = access_key.strip()
        self._key = (
            private_key
            if isinstance(private_key, RSA.RsaKey)
            else load_private_key(private_key)
        )
        self._base = URL(base_url)
        self.request_timeout = request_timeout
        self.min_interval = MIN_CALL_INTERVAL if min_interval is None else min_interval
        self._clock = clock or _wall_clock
        self._monotonic = monotonic or _monotonic_clock
        self._missing_paths: set[str] = set()  # documented, but 404 here
        self.last_error_code: str | None = None  # for diagnostics
        gate = gate or Gate()
        self._lock = gate.lock(("spiderpool", self.access_key))
        self._pace = gate.state(AccountPace, ("spiderpool", self.access_key))

    def __repr__(self) -> str:
        """Name the service, never the keys."""
        return f"SpiderpoolClient({str(self._base)!r})"

    @property
    def base_url(self) -> str:
        """The API's address."""
        return str(self._base)

    # --- transport ----------------------------------------------------------

    def envelope(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The signed request body for ``params``."""
        data_json = json.dumps(params, separators=(",", ":"), ensure_ascii=False)
        timestamp = int(self._clock() * 1000)
        return {
            "dataJson": data_json,
            "accessKey": self.access_key,
            "timestamp": timestamp,
            "sign": sign(self._key, data_json, timestamp),
        }

    async def _call(self, path: str, params: Mapping[str, Any]) -> Any:
        """POST a signed request; return ``data`` of a success reply."""
        if path in self._missing_paths:
            raise UnsupportedCommand(f"{path}: not offered by the pool", command=path)
        pace = self._pace
        async with self._lock:
            now = self._monotonic()
            if now < pace.backoff_until:
                wait = pace.backoff_until - now
                raise RateLimited(
                    f"rate limited; retrying in {int(wait)} s",
                    command=path,
                    retry_after=wait,
                )
            if (delay := pace.last_call + self.min_interval - now) > 0:
                await asyncio.sleep(delay)
            try:
                status, headers, body = await self._post(path, params)
            finally:
                pace.last_call = self._monotonic()
            try:
                return self._data(path, status, body)
            except RateLimited as err:
                retry = _retry_after(headers) or DEFAULT_RATE_LIMIT_BACKOFF
                err.retry_after = retry
                pace.backoff_until = self._monotonic() + retry
                raise

    async def _post(
        self, path: str, params: Mapping[str, Any]
    ) -> tuple[int, Mapping[str, str], bytes]:
        _LOGGER.debug("%s: %s", self, path)
        url = self._base.join(URL(path))
        try:
            async with (
                asyncio.timeout(self.request_timeout),
                self._session.post(url, json=self.envelope(params)) as response,
            ):
                return response.status, response.headers, await response.read()
        except TimeoutError as err:
            raise RequestTimeout(f"{path}: no reply in time") from err
        except aiohttp.ClientConnectorError as err:
            raise Unreachable(f"{path}: {err}") from err  # nothing was sent
        except (aiohttp.ClientError, OSError) as err:
            raise ConnectionFailed(f"{path}: {err}") from err

    def _data(self, path: str, status: int, body: bytes) -> Any:
        """Apply the reply rules: parse first, then classify by code and status."""
        try:
            reply = json.loads(body)
        except ValueError:
            reply = None
        if isinstance(reply, dict) and "code" in reply:
            return self._envelope_data(path, status, reply)
        if status == 429:
            raise RateLimited("the pool asks to slow down", command=path)
        if status >= 500 or reply is None:
            self.last_error_code = f"HTTP {status}"
            raise ServiceNotRunning(f"{path}: the pool's server failed (HTTP {status})")
        if isinstance(reply, dict) and reply.get("status") == 404:
            self._missing_paths.add(path)  # remembered: the fallback is used at once
            raise UnsupportedCommand(f"{path}: not offered by the pool", command=path)
        raise ParseError(f"{path}: unexpected reply (HTTP {status})")

    def _envelope_data(self, path: str, status: int, reply: dict[str, Any]) -> Any:
        code = reply.get("code")
        if code == "SUCCESS" or (
            code == 200 and not isinstance(code, bool) and reply.get("success") is True
        ):
            self.last_error_code = None
            return reply.get("data")
        code_text = str(code)
        message = str(reply.get("msg") or code_text)
        self.last_error_code = code_text
        if status == 429 or any(
            hint in code_text.upper() for hint in _RATE_LIMIT_HINTS
        ):
            raise RateLimited(message, command=path)
        if code_text == _SERVER_ERROR or (
            status >= 500 and code_text not in _PARAMETER_CODES
        ):
            raise ServiceNotRunning(f"{path}: {message}")
        if code_text in _PARAMETER_CODES:
            if message == _SUBACCOUNT_MISSING:
                raise NotFound(message, command=path, code=None)
            raise CommandRejected(message, command=path)
        # The codes for a bad signature, an unknown key or a stale timestamp are
        # undocumented: anything else is treated as rejected credentials.
        raise AuthFailed(
            f"the pool rejected the request ({code_text}: {message})", command=path
        )

    async def _pages(
        self, path: str, params: Mapping[str, Any], *, list_key: str, page_key: str
    ) -> list[Mapping[str, Any]]:
        """Every record of a paginated list (``pageNumber`` or ``pageNum``)."""
        records: list[Mapping[str, Any]] = []
        for page in range(1, _MAX_PAGES + 1):
            data = await self._call(
                path, {**params, page_key: page, "pageSize": _PAGE_SIZE}
            )
            if not isinstance(data, dict):
                raise ParseError(f"{path}: page {page} has no data")
            batch = [r for r in data.get(list_key) or () if isinstance(r, dict)]
            records += batch
            total = Fields(data).integer("total")
            pages = Fields(data).integer("pages")
            if not batch or (total is not None and len(records) >= total):
                break
            if pages is not None and page >= pages:
                break
        return records

    # --- reads --------------------------------------------------------------

    async def get_subaccount_info(
        self, coin: str, subaccount: str
    ) -> models.SubaccountInfo:
        """Hashrate now and over 24 h, worker counts, wallet.

        ``getSubaccountInfo`` is documented but not seen live; where it is
        missing, the live-proven hashrate endpoints give the hashrates (and no
        worker counts or wallet).
        """
        params = {"coin": coin, "subaccount": subaccount}
        try:
            data = await self._call("/v2/subaccount/getSubaccountInfo", params)
        except UnsupportedCommand:
            return await self._live_hashrates(coin, subaccount)
        rows = data if isinstance(data, list) else [data]
        for row in rows:
            if isinstance(row, dict) and row.get("subaccount") in (subaccount, None):
                return subaccount_info_from(row, coin, subaccount)
        raise NotFound(_SUBACCOUNT_MISSING, command="getSubaccountInfo")

    async def _live_hashrates(
        self, coin: str, subaccount: str
    ) -> models.SubaccountInfo:
        params = {"coin": coin, "subaccount": subaccount}
        real = await self._call("/v2/sp/hashrate/subaccount/realHashRate", params)
        full = await self._call("/v2/sp/hashrate/subaccount/fullHashRate", params)
        return live_hashrates_from(real, full, coin, subaccount)

    async def get_profit_info(self, coin: str, subaccount: str) -> models.ProfitInfo:
        """Yesterday's, unpaid and total profit, and today's estimate."""
        data = await self._call(
            "/v2/subaccount/getSubaccountProfitInfo",
            {"coin": coin, "subaccount": subaccount},
        )
        if not isinstance(data, dict):
            raise ParseError("getSubaccountProfitInfo: no data")
        return profit_info_from(data)

    async def get_workers(
        self, coin: str, subaccount: str
    ) -> tuple[models.Worker, ...]:
        """Every worker (documented detail; the paged sp list where it is missing)."""
        params = {"coin": coin, "subaccount": subaccount}
        try:
            data = await self._call("/v2/worker/getSubaccountWorkerDetailInfo", params)
        except UnsupportedCommand:
            # Documented, but not seen live: fall back to the live-proven list.
            records = await self._pages(
                "/v2/sp/hashrate/worker/list",
                params,
                list_key="records",
                page_key="pageNum",
            )
        else:
            records = [r for r in data or () if isinstance(r, dict)]
        return tuple(worker for r in records if (worker := worker_from(r)).name)

    async def get_hashrate_detail(
        self, coin: str, subaccount: str, mode: str = "hourly"
    ) -> models.HashrateSeries:
        """The 24-hour (``hourly``) or 30-day (``daily``) chart."""
        data = await self._call(
            "/v2/subaccount/getSubaccountHashrateDetailInfo",
            {"coin": coin, "subaccount": subaccount, "mode": mode},
        )
        return series_from(data if isinstance(data, dict) else {})

    async def get_worker_hashrate_detail(
        self, coin: str, subaccount: str, worker: str, mode: str = "hourly"
    ) -> models.HashrateSeries:
        """One worker's chart."""
        data = await self._call(
            "/v2/worker/getSubaccountWorkerHashrateDetailInfo",
            {"coin": coin, "subaccount": subaccount, "worker": worker, "mode": mode},
        )
        return series_from(data if isinstance(data, dict) else {})

    async def get_payments(
        self, coin: str, subaccount: str, since: datetime, until: datetime
    ) -> tuple[models.Payment, ...]:
        """Payouts in a time window, newest first, from every page."""
        records = await self._pages(
            "/v2/subaccount/getSubaccountPaymentRecord",
            {
                "coin": coin,
                "subaccount": subaccount,
                "startTimestamp": int(since.timestamp() * 1000),
                "endTimestamp": int(until.timestamp() * 1000),
            },
            list_key="list",
            page_key="pageNumber",
        )
        payments = [
            payment for r in records if (payment := payment_from(r)) is not None
        ]
        # The server's ordering is undocumented.
        return tuple(sorted(payments, key=lambda payment: payment.time, reverse=True))

    async def get_day_profits(
        self, coin: str, subaccount: str, since: datetime, until: datetime
    ) -> tuple[models.DayProfit, ...]:
        """Settled days in a time window (seconds, as documented), newest first.

        Empty where the pool does not offer them (no live client calls it).
        """
        try:
            records = await self._pages(
                "/v2/subaccount/getSubaccountProfitDetailInfo",
                {
                    "coin": coin,
                    "subaccount": subaccount,
                    "startTimestamp": int(since.timestamp()),
                    "endTimestamp": int(until.timestamp()),
                },
                list_key="dayProfitList",
                page_key="pageNumber",
            )
        except UnsupportedCommand:
            return ()
        days = [day for r in records if (day := day_profit_from(r)) is not None]
        return tuple(sorted(days, key=lambda day: day.day, reverse=True))

    async def get_minimum_payment(self, coin: str, subaccount: str) -> Decimal | None:
        """The payout threshold; None where the pool does not offer it."""
        try:
            data = await self._call(
                "/v2/subaccount/getUserMinimumPayment",
                {"coin": coin, "subaccount": subaccount},
            )
        except UnsupportedCommand:
            return None
        return decimal(data.get("minimumPayment")) if isinstance(data, dict) else None

    async def get_hashrate(
        self, coin: str, subaccount: str, mode: str, since: datetime
    ) -> tuple[models.HashrateRecord, ...]:
        """Accepted and rejected share rates per ``day`` or ``hour``."""
        if mode not in ("day", "hour"):
            raise InvalidParameter("mode must be day or hour")
        data = await self._call(
            "/v2/subaccount/getHashrate",
            {
                "coin": coin,
                "subaccount": subaccount,
                "mode": mode,
                # The unit is undocumented; replies carry seconds, so send seconds.
                "startTimestamp": int(since.timestamp()),
            },
        )
        return tuple(hashrate_record_from(r) for r in data or () if isinstance(r, dict))

    # --- writes -------------------------------------------------------------

    async def update_minimum_payment(
        self, coin: str, subaccount: str, amount: Decimal
    ) -> None:
        """Set the payout threshold."""
        if not amount.is_finite() or amount <= 0:
            raise InvalidParameter("the minimum payment must be a positive amount")
        await self._call(
            "/v2/subaccount/updateUserMinimumPayment",
            # A JSON number; Python prints the shortest form (0.005, not 0.00499...).
            {"coin": coin, "subaccount": subaccount, "minimumPay": float(amount)},
        )

    async def modify_wallet_address(
        self, coin: str, subaccount: str, address: str
    ) -> None:
        """Change the payout address."""
        if not address or not address.strip():
            raise InvalidParameter("the wallet address must not be empty")
        await self._call(
            "/v2/subaccount/modifyWalletAddress",
            {
                "coin": coin,
                "subaccount": subaccount,
                "newWalletAddress": address.strip(),
            },
        )


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = as_float(headers.get("Retry-After"))
    return value if value is not None and value > 0 else None
