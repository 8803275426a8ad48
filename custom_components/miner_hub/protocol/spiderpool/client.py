"""Async client for the Spiderpool mining-pool REST API v2 (RSA-signed requests).

Every request is a POST of ``{"dataJson", "accessKey", "timestamp", "sign"}``:
``sign`` is base64 of the RSA PKCS#1 v1.5 / MD5 signature of the UTF-8 bytes of
``dataJson + "|" + timestamp``, computed over exactly the string that is sent.
Calls to one account are spaced at least a second apart; a rate-limit answer
makes the client wait before it calls again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
import json
import logging
import re
import time
from typing import Any, Final
import weakref

import aiohttp
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15
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
from .models import (
    HashrateRecord,
    HashrateSeries,
    Payment,
    ProfitInfo,
    SubaccountInfo,
    Worker,
    WorkerStatus,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL: Final = "https://api.spiderpool.com"
DEFAULT_TIMEOUT: Final = 20.0
# No documented limit; live clients wait a second between calls.
MIN_CALL_INTERVAL: Final = 1.0
DEFAULT_RATE_LIMIT_BACKOFF: Final = 60.0
_PAGE_SIZE: Final = 10
_MAX_PAGES: Final = 200
_HS_TO_THS: Final = 1e-12
# Codes that mean "your request is wrong", not "who are you".
_PARAMETER_CODES: Final = frozenset({"INVALID_PARAM", "SUBACCOUNT_EXIST"})
_SUBACCOUNT_MISSING: Final = "The subaccount does not exist"
_SERVER_ERROR: Final = "500"
_RATE_LIMIT_HINTS: Final = ("TOO_MANY", "RATE_LIMIT", "LIMIT")
_PEM_ARMOUR = re.compile(r"-----(BEGIN|END)[^-]*-----")


class InvalidPrivateKey(InvalidParameter):
    """The private key is not an RSA private key in a form we read."""


def _wall_clock() -> float:
    return time.time()  # looked up at each call: a patched time.time is seen


def _monotonic_clock() -> float:
    return time.monotonic()


def load_private_key(text: str) -> RSA.RsaKey:
    """Read the console's bare base64 PKCS#8 key, or a PEM; reject anything else."""
    body = re.sub(r"\s+", "", _PEM_ARMOUR.sub("", text or ""))
    try:
        key = RSA.import_key(base64.b64decode(body, validate=True))
    except (binascii.Error, ValueError, IndexError, TypeError) as err:
        raise InvalidPrivateKey("the private key is not a valid RSA key") from err
    if not key.has_private():
        raise InvalidPrivateKey("this is a public key; the private key is needed")
    return key


def sign(key: RSA.RsaKey, data_json: str, timestamp_ms: int) -> str:
    """base64(RSA PKCS#1 v1.5 (MD5) over ``dataJson|timestamp``)."""
    digest = MD5.new(f"{data_json}|{timestamp_ms}".encode())  # noqa: S303 (the API's scheme)
    return base64.b64encode(pkcs1_15.new(key).sign(digest)).decode("ascii")


def _ths(value: Any) -> float | None:
    number = as_float(value)
    return None if number is None else number * _HS_TO_THS


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _from_ms(value: Any) -> datetime | None:
    number = as_float(value)
    return None if number is None else _from_s(number / 1000)


def _from_s(value: Any) -> datetime | None:
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
        hashrate_ths=_ths(fields.raw("realtimeHashrate", "hashRate")),
        hashrate_24h_ths=_ths(fields.raw("avgHashrate1440", "hashRate24h")),
        reject_rate=fields.number("avgRejectrate1440", "rejectRate"),
        status=_status(fields.raw("status")),
        last_share=_from_s(fields.raw("lastShareTime")),
    )


def _series(data: Mapping[str, Any]) -> HashrateSeries:
    values = data.get("hashrates")
    return HashrateSeries(
        start=_from_ms(data.get("startTime")),
        interval_s=Fields(data).integer("timeInterval"),
        values_ths=tuple(_ths(v) for v in values) if isinstance(values, list) else (),
    )


@dataclass(slots=True)
class _AccountPace:
    """Shared by every client of one access key: spacing and back-off."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_call: float = float("-inf")
    backoff_until: float = float("-inf")


_PACES: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, _AccountPace]
] = weakref.WeakKeyDictionary()


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

    def __repr__(self) -> str:
        """Name the service, never the keys."""
        return f"SpiderpoolClient({str(self._base)!r})"

    @property
    def base_url(self) -> str:
        """The API's address."""
        return str(self._base)

    def _pace(self) -> _AccountPace:
        paces = _PACES.setdefault(asyncio.get_running_loop(), {})
        return paces.setdefault(self.access_key, _AccountPace())

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
        pace = self._pace()
        async with pace.lock:
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

    async def get_subaccount_info(self, coin: str, subaccount: str) -> SubaccountInfo:
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
                fields = Fields(row)
                return SubaccountInfo(
                    coin=fields.text("coin") or coin,
                    subaccount=subaccount,
                    wallet_address=fields.text("walletAddress"),
                    hashrate_ths=_ths(fields.raw("realtimeHashrate")),
                    hashrate_24h_ths=_ths(fields.raw("avgHashrate1440")),
                    active_workers=fields.integer("activeWorkerNum"),
                    inactive_workers=fields.integer("inactiveWorkerNum"),
                )
        raise NotFound(_SUBACCOUNT_MISSING, command="getSubaccountInfo")

    async def _live_hashrates(self, coin: str, subaccount: str) -> SubaccountInfo:
        params = {"coin": coin, "subaccount": subaccount}
        real = await self._call("/v2/sp/hashrate/subaccount/realHashRate", params)
        full = await self._call("/v2/sp/hashrate/subaccount/fullHashRate", params)
        return SubaccountInfo(
            coin=coin,
            subaccount=subaccount,
            wallet_address=None,
            hashrate_ths=_ths(real.get("hashRate")) if isinstance(real, dict) else None,
            hashrate_24h_ths=_ths(full.get("hashRateDay"))
            if isinstance(full, dict)
            else None,
            active_workers=None,
            inactive_workers=None,
        )

    async def get_profit_info(self, coin: str, subaccount: str) -> ProfitInfo:
        """Yesterday's, unpaid and total profit, and today's estimate."""
        data = await self._call(
            "/v2/subaccount/getSubaccountProfitInfo",
            {"coin": coin, "subaccount": subaccount},
        )
        if not isinstance(data, dict):
            raise ParseError("getSubaccountProfitInfo: no data")
        return ProfitInfo(
            yesterday=_decimal(data.get("yesterdayProfit")),
            unpaid=_decimal(data.get("unpaidProfit")),
            total=_decimal(data.get("totalProfit")),
            today_estimate=_decimal(data.get("dayEstimateProfit")),
        )

    async def get_workers(self, coin: str, subaccount: str) -> tuple[Worker, ...]:
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
    ) -> HashrateSeries:
        """The 24-hour (``hourly``) or 30-day (``daily``) chart."""
        data = await self._call(
            "/v2/subaccount/getSubaccountHashrateDetailInfo",
            {"coin": coin, "subaccount": subaccount, "mode": mode},
        )
        return _series(data if isinstance(data, dict) else {})

    async def get_worker_hashrate_detail(
        self, coin: str, subaccount: str, worker: str, mode: str = "hourly"
    ) -> HashrateSeries:
        """One worker's chart."""
        data = await self._call(
            "/v2/worker/getSubaccountWorkerHashrateDetailInfo",
            {"coin": coin, "subaccount": subaccount, "worker": worker, "mode": mode},
        )
        return _series(data if isinstance(data, dict) else {})

    async def get_payments(
        self, coin: str, subaccount: str, since: datetime, until: datetime
    ) -> tuple[Payment, ...]:
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
            Payment(
                time=when,
                address=Fields(r).text("paymentAddress"),
                amount=_decimal(r.get("paymentMoney")),
                tx_id=Fields(r).text("txId"),
            )
            for r in records
            if (when := _from_ms(r.get("paymentDate"))) is not None
        ]
        # The server's ordering is undocumented.
        return tuple(sorted(payments, key=lambda payment: payment.time, reverse=True))

    async def get_minimum_payment(self, coin: str, subaccount: str) -> Decimal | None:
        """The payout threshold; None where the pool does not offer it."""
        try:
            data = await self._call(
                "/v2/subaccount/getUserMinimumPayment",
                {"coin": coin, "subaccount": subaccount},
            )
        except UnsupportedCommand:
            return None
        return _decimal(data.get("minimumPayment")) if isinstance(data, dict) else None

    async def get_hashrate(
        self, coin: str, subaccount: str, mode: str, since: datetime
    ) -> tuple[HashrateRecord, ...]:
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
        return tuple(
            HashrateRecord(
                time=_from_s(r.get("timestamp")),
                accepted_ths=_ths(r.get("shareAcceptHashRate")),
                rejected_ths=_ths(r.get("shareRejectHashRate")),
                reject_rate=as_float(r.get("rejectRate")),
            )
            for r in data or ()
            if isinstance(r, dict)
        )

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
