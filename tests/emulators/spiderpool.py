"""Emulator of the Spiderpool mining-pool REST API v2 (signed JSON envelopes over HTTP).

Written from the vendor document ``spiderpool-miningpool-api.md`` ("doc") and the
reference notes ``spiderpool.md`` ("ref §N"), both kept with the project outside
this repository, not from Miner Hub's client. Comments mark where a behaviour comes from:

``[doc]``
    the vendor document;
``[live]``
    a capture from the live API or a public client that calls it (ref §3, §4.2);
``[guess]``
    nothing settles it. Every guess that a client could depend on (the error codes of
    authentication failures, rate limiting, HTTP statuses) is configurable through
    ``SpiderpoolFaults``.

Request pipeline, in this order (ref §2, §9):

1. Spring routing: an unknown path answers the Spring Boot 404 JSON, a method other
   than POST the Spring 405, a body that is not JSON (or not ``application/json``)
   the Spring 400 (415); these carry no ``code``.
2. The envelope ``{"dataJson": str, "accessKey": str, "timestamp": ms, "sign": str}``;
   anything missing or of the wrong type answers ``INVALID_PARAM`` "Parameter error".
3. The access key (``unknown_key``), then the per-key rate limit (``rate_limited``).
4. The RSA PKCS#1 v1.5 + MD5 signature over the UTF-8 bytes of the *raw*
   ``dataJson`` string as received, ``"|"`` and the decimal timestamp, verified with
   the account's public key **before** ``dataJson`` is parsed (``bad_signature``).
5. The timestamp window, default ±300 s of the emulator clock (``stale``/``future``),
   then replay of an identical ``(accessKey, sign)`` within that window (``replay``),
   then the account's API permission (``permission_denied``).
6. ``dataJson`` is parsed (numbers with a fraction as ``Decimal``, as Java's
   BigDecimal would); the endpoint runs.

Success envelopes (ref §3.1): ``/v2/subaccount/*`` and ``/v2/worker/*`` answer
``{"code":"SUCCESS","msg":…,"showErrorCode":null,"data":…}`` [doc, live];
``/v2/sp/*`` answers ``{"code":200,"msg":"Success","t":<ms>,"success":true,"data":…}``
[doc, live]. With ``envelope="code200"`` the first family answers the second shape too
(the ``/v2/worker/*`` shape is unverified). Errors keep the family's shape with the
error ``code`` and ``data: null`` (``success: false`` in the code-200 shape [guess]).

Data (ref §5): hashrates are H/s decimal strings without a unit; money is a JSON
number in coin units written as a plain decimal (BigDecimal); seconds or milliseconds
per field as ref §5 tabulates. Workers carry the documented ``active``/``inactive``/
``lost`` status, shown as ``online``/``offline`` by ``/v2/sp/hashrate/worker/list``.

Time is the emulator clock (``now()`` plus ``advance()``): timestamp freshness,
replays, the rate limit and generated series use it. Only ``latency`` is real time.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Coroutine
import contextlib
from dataclasses import dataclass, field
import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
import functools
import json
import logging
import math
import random
import re
import socket
import struct
import time
from typing import Any, Final, Literal

from aiohttp import web
from Crypto.Hash import MD5
from Crypto.PublicKey import RSA
from Crypto.PublicKey.RSA import RsaKey
from Crypto.Signature import pkcs1_15

from ._listener import SwitchableListener, cancel_all, reset_socket

_LOGGER = logging.getLogger(__name__)

# ------------------------------------------------------------------- constants

Envelope = Literal["success", "code200"]
WorkerStatus = Literal["active", "inactive", "lost"]
Verdict = Literal[
    "pending",  # still being processed (or the emulator failed)
    "ok",  # authenticated; the endpoint answered (possibly with a parameter error)
    "malformed",  # envelope field missing or of the wrong type; dataJson not an object
    "unknown_key",
    "rate_limited",
    "bad_signature",
    "stale",
    "future",
    "replay",
    "permission_denied",
    "not_found",  # Spring 404 (also disabled paths)
    "method_not_allowed",  # Spring 405
    "unsupported_media_type",  # Spring 415
    "bad_request",  # Spring 400: the body is not JSON
    "stalled",  # fault: never answered
    "dropped",  # fault: connection cut
    "http_500",  # fault
    "non_json",  # fault
    "string_200",  # fault
]
_Family = Literal["success", "sp"]

SUCCESS_MSG: Final = "Operation is successful"  # [live] createSubaccount
SP_MSG: Final = "Success"  # [doc, live]
DEFAULT_PAGE_SIZE: Final = 10  # [doc] pageSize default; [live] worker/list pageSize 10
TIMESTAMP_TOLERANCE: Final = 300.0  # [guess] ref §9 suggests ±300 s
SUPPORTED_COINS: Final = ("btc", "fb", "eth")  # [doc] the examples; full list unknown
HASHES_PER_SHARE: Final = 2**32  # difficulty-1 share
MAX_BODY_BYTES: Final = 1024 * 1024
MAX_SERIES_POINTS: Final = 1000  # [guess] cap of getHashrate / chart answers
SUBACCOUNT_NAME_RE: Final = re.compile(r"[A-Za-z0-9]{6,20}")  # [doc] 6-20 alphanumeric
_BTC_ADDRESS_RE: Final = re.compile(
    r"(bc1|tb1)[02-9ac-hj-np-z]{8,87}|[13mn2][1-9A-HJ-NP-Za-km-z]{25,34}"
)
_ETH_ADDRESS_RE: Final = re.compile(r"0x[0-9a-fA-F]{40}")
_BECH32: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_TX_HASH_RE: Final = re.compile(r"[0-9a-fA-F]{64}")
_DIGITS_RE: Final = re.compile(r"-?\d+")
_SATOSHI: Final = Decimal("0.00000001")

# The demonstration key pair of the vendor document's Python example (ref §2.5):
# public, never valid for a real account. Register it with
# ``emu.add_account(VENDOR_DEMO_ACCESS_KEY, VENDOR_DEMO_PUBLIC_KEY_PEM)``.
VENDOR_DEMO_ACCESS_KEY: Final = "5A842DAA0B8A4746B362FBF382A04CD9"
VENDOR_DEMO_PRIVATE_KEY_B64: Final = (
    "MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAJpigNWb2r6fbue9CfnaRyundft0WS4e"
    "/hhtdCef74UdH9stDtRidv24hieP7uXdq8KHVmzqAqiNVAHsg4WttwO9Fyz0YPuJZ/mXLqI0S4SOzGZ7"
    "hqErDOOF1Z9WE/ykapGAT/SBc5q0lLN6Z3iz7AygZYy4UxrH3cR2BsrUEyGnAgMBAAECgYBNTxpY3Uzy"
    "u//bh+xg849EKv2Hx8GIuPhg3x6VYR+eNvFm3e9ZJ12SvD5hvU/SR+jk5sS+kYh3Qx5YQEm0PUMxjyRk"
    "BpZUVitkBpRvBaQKfRvS9D65rUlUYhgHnyhwdvmIvJYob9dB+HkOgZMqEwWrWqe4B8E4i8ei9fwLkVSn"
    "0QJBAPHUljaXd4gvtkJVExlKB4u7irTEVjwTi9Nbh2pUWk3jgb1/Ua0kbNtQ0vEiBtQ6ROOSqbPoBCiH"
    "5YwR0KKjw2UCQQCjbj9Z98wUEXIao2EQ11U4T281B9vqUSYPBR4u7UVEDkeEyxL0gzXmqJc8pAmgCygS"
    "i0Ggg5xxD5TjoW+4xg4bAkEAjeE9qBXBiWMEuXIUXHf0aWTEgj3WojSNiplen2GSAbSCv9zc3IpMW3fV"
    "6qcd/pGZLTM04Vo0Zlskr8Mb9u/BiQJAcR60Nt+voAxbQFjprLB/ShShUsF31H4Kq8bNF4ofsXV4x0+Q"
    "dTIEsvzqgYzBJMfUGtHMwP+X3yH72ns5S1m7FQJAKCWFdZzN9D+2HX7yZsc4/Q7l+J//LpZJjLsVhcDh"
    "3RGRU3QX6SzCWlLwOq4FX+nUYej2B3rr0ymr+tiy/k7fbQ=="
)
VENDOR_DEMO_PUBLIC_KEY_PEM: Final = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCaYoDVm9q+n27nvQn52kcrp3X7\n"
    "dFkuHv4YbXQnn++FHR/bLQ7UYnb9uIYnj+7l3avCh1Zs6gKojVQB7IOFrbcDvRcs\n"
    "9GD7iWf5ly6iNEuEjsxme4ahKwzjhdWfVhP8pGqRgE/0gXOatJSzemd4s+wMoGWM\n"
    "uFMax93EdgbK1BMhpwIDAQAB\n"
    "-----END PUBLIC KEY-----"
)

# Paths in the vendor document that no live client is known to call (ref §4.1
# "Live: no"); ``SpiderpoolFaults.documented_only_endpoints = False`` makes them 404.
DOCUMENTED_ONLY_PATHS: Final = frozenset(
    {
        "/v2/subaccount/modifyWalletAddress",
        "/v2/subaccount/subAccountObserverLink",
        "/v2/subaccount/getSubaccountProfitDetailInfo",
        "/v2/subaccount/getSubaccountHashrateDetailInfo",
        "/v2/sp/subaccount/getHourProfitDetailInfo",
        "/v2/subaccount/getSubaccountInfo",
        "/v2/worker/getSubaccountWorkerDetailInfo",
        "/v2/worker/getSubaccountWorkerHashrateDetailInfo",
        "/v2/subaccount/updateUserMinimumPayment",
        "/v2/subaccount/getUserMinimumPayment",
        "/v2/subaccount/getHashrate",
        "/v2/sp/txPriorityChain/getChainingFee",
        "/v2/sp/txPriorityChain/submit",
        "/v2/sp/txPriorityChain/queryOrderPage",
        "/v2/sp/txPriorityChain/orderDetail",
        "/v2/sp/txPriorityChain/accountInfo",
    }
)

NON_JSON_PAGE: Final = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_SPRING_REASONS: Final = {
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
}


# ------------------------------------------------------------------- data model


@dataclass
class SpiderpoolWorker:
    """One mining machine of a sub-account.

    Hashrates are H/s decimal strings served as they are, so ``""`` and ``None``
    reach the client unchanged (ref §5: "treat "", null and missing as unknown").
    """

    name: str
    hashrate: str | None = "0"  # realtime
    hashrate_24h: str | None = "0"  # avgHashrate1440
    reject_rate: float = 0.0  # 24 h ratio (avgRejectrate1440)
    last_share_ms: int | None = None  # epoch ms; served in seconds [doc]
    status: WorkerStatus = "active"  # [doc] active / inactive / lost

    @property
    def online(self) -> bool:
        """``status == "active"`` (worker/list shows it as ``"online"`` [live])."""
        return self.status == "active"

    @online.setter
    def online(self, value: bool) -> None:
        self.status = "active" if value else "inactive"


@dataclass
class SpiderpoolPayment:
    """One payout (``getSubaccountPaymentRecord``)."""

    date_ms: int
    amount: Decimal  # coin units
    tx_id: str
    address: str


@dataclass
class SpiderpoolDayProfit:
    """One settled day (``getSubaccountProfitDetailInfo``, ``getDayProfitDetailInfo``)."""

    day_ms: int  # UTC day start, ms
    profit: Decimal
    avg_hashrate: str  # H/s decimal string
    pps_share: Decimal = Decimal("0.96")  # ppsDayProfit / dayProfit [guess]


@dataclass
class SpiderpoolOrder:
    """A priority on-chain order (``/v2/sp/txPriorityChain/*``)."""

    coin: str
    tx_hash: str
    email: str
    tx_size: int
    total_fee: Decimal
    theoretical_fee: Decimal
    created_ms: int
    status: int = 3  # [doc] 3 paid, 4 accelerating, 5 on chain
    block_height: int | None = None
    block_time: int | None = None


@dataclass
class SpiderpoolSubaccount:
    """A sub-account of one coin: workers, earnings, payouts.

    ``overrides`` maps an endpoint path to fields merged into its ``data`` (into every
    row when ``data`` is a list, into every record of ``worker/list``), e.g.
    ``{"/v2/subaccount/getSubaccountInfo": {"realtimeHashrate": ""}}``.
    """

    coin: str
    name: str
    wallet_address: str
    workers: list[SpiderpoolWorker] = field(default_factory=list)
    yesterday_profit: Decimal = Decimal(0)
    unpaid_profit: Decimal = Decimal(0)
    total_profit: Decimal = Decimal(0)
    day_estimate_profit: Decimal | None = Decimal(0)  # None: key absent (fb [doc])
    minimum_payment: Decimal = Decimal("0.001")  # [doc] example
    stale_rate: float = 0.0  # ratio, realHashRate / fullHashRate
    difficulty: str = "126271255279666"  # [guess] getDayProfitDetailInfo "difficult"
    payments: list[SpiderpoolPayment] = field(default_factory=list)
    day_profits: list[SpiderpoolDayProfit] = field(default_factory=list)
    observer_sign: str | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def worker(self, name: str) -> SpiderpoolWorker | None:
        return next((w for w in self.workers if w.name == name), None)

    @property
    def realtime_hashrate(self) -> int:
        """Sum of the workers' realtime hashrates, H/s (unparsable ones count 0)."""
        return sum(_hashrate(w.hashrate) for w in self.workers)

    @property
    def hashrate_24h(self) -> int:
        return sum(_hashrate(w.hashrate_24h) for w in self.workers)

    @property
    def reject_rate(self) -> float:
        """Reject ratio weighted by the workers' 24 h hashrates."""
        total = self.hashrate_24h
        if not total:
            return 0.0
        weighted = sum(_hashrate(w.hashrate_24h) * w.reject_rate for w in self.workers)
        return weighted / total


@dataclass
class SpiderpoolAccount:
    """An API account: one access key, its public key and its sub-accounts."""

    access_key: str
    public_key: RsaKey
    private_key: RsaKey | None = None  # known when the emulator generated the pair
    subaccounts: list[SpiderpoolSubaccount] = field(default_factory=list)
    api_enabled: bool = True  # third-party API permission [doc]
    priority_balances: dict[str, Decimal] = field(
        default_factory=lambda: {"BTC": Decimal("0.01")}
    )
    priority_consumed: dict[str, Decimal] = field(default_factory=dict)
    orders: list[SpiderpoolOrder] = field(default_factory=list)

    def subaccount(self, name: str, coin: str = "btc") -> SpiderpoolSubaccount | None:
        return next(
            (s for s in self.subaccounts if s.name == name and s.coin == coin), None
        )

    @property
    def private_key_b64(self) -> str:
        """Bare base64 PKCS#8 DER, as the Spiderpool console issues it (ref §2.3)."""
        if self.private_key is None:
            raise ValueError("the private key of this account is not known")
        der: bytes = self.private_key.export_key(format="DER", pkcs=8)
        return base64.b64encode(der).decode("ascii")

    @property
    def private_key_pem(self) -> str:
        """``-----BEGIN PRIVATE KEY-----`` (PKCS#8) armour of the same key."""
        if self.private_key is None:
            raise ValueError("the private key of this account is not known")
        pem: bytes = self.private_key.export_key(format="PEM", pkcs=8)
        return pem.decode("ascii")


@dataclass
class SpiderpoolState:
    """Everything the pool knows; tests may read and change any field."""

    accounts: dict[str, SpiderpoolAccount] = field(default_factory=dict)

    def subaccount_exists(self, name: str) -> bool:
        return any(
            sub.name.lower() == name.lower()
            for account in self.accounts.values()
            for sub in account.subaccounts
        )


@dataclass
class SpiderpoolErrorReply:
    """The ``code``/``msg`` and HTTP status answered for one kind of failure."""

    code: str
    msg: str
    status: int = 200


def default_error_replies() -> dict[str, SpiderpoolErrorReply]:
    """Replies to envelope and authentication failures, keyed by verdict.

    Only ``malformed`` is observed [live]; the others are undocumented (ref §3.2,
    §8), so the codes are guesses (mdk's ``SIGN_INVALID`` / ``PERMISSION_DENIED``
    among them) and the HTTP status is 200, as Spiderpool answers problems "with a
    code in the body rather than an HTTP status" (ref §3.2). Rate limiting answers
    HTTP 429 so that it can be recognised at all.
    """
    return {
        "malformed": SpiderpoolErrorReply("INVALID_PARAM", "Parameter error"),
        "unknown_key": SpiderpoolErrorReply(
            "ACCESS_KEY_INVALID", "The accessKey does not exist"
        ),
        "bad_signature": SpiderpoolErrorReply(
            "SIGN_INVALID", "Signature verification failed"
        ),
        "stale": SpiderpoolErrorReply(
            "TIMESTAMP_INVALID", "The request timestamp is out of range"
        ),
        "future": SpiderpoolErrorReply(
            "TIMESTAMP_INVALID", "The request timestamp is out of range"
        ),
        "replay": SpiderpoolErrorReply("REPEAT_REQUEST", "Repeated request"),
        "permission_denied": SpiderpoolErrorReply(
            "PERMISSION_DENIED", "API permission is not enabled"
        ),
        "rate_limited": SpiderpoolErrorReply(
            "TOO_MANY_REQUESTS", "Too many requests", 429
        ),
    }


@dataclass
class SpiderpoolFaults:
    """Switchable faults and server settings; change them any time.

    Assigning ``offline`` takes effect at once: the listening socket closes and open
    connections are cut (RST); clearing it listens again on the same port.
    """

    offline: bool = False
    stall: bool = False  # read and record each request, never answer
    latency: float = 0.0  # real seconds before every answer
    drop_requests: int = 0  # cut the next N requests without an answer
    http_500: bool = False  # {"code":"500","msg":"Internal Server Error"} [live body]
    http_500_status: int = 500  # its HTTP status [guess]; 200 = in-body error only
    non_json: bool = False  # an HTML error page from the front proxy [guess]
    non_json_status: int = 502
    string_200_error: bool = False  # an error whose code is the string "200" [live]
    rate_limit: bool = False  # answer the rate-limit reply to every known key
    rate_limit_per_second: float | None = None  # token bucket per access key
    rate_limit_burst: int = 1  # bucket size
    retry_after: bool = True  # send Retry-After (whole seconds) when rate-limiting
    timestamp_tolerance: float = TIMESTAMP_TOLERANCE  # ± seconds around the clock
    replay_protection: bool = True
    envelope: Envelope = "success"  # "code200": code-200 shape on every path
    success_msg: str | None = SUCCESS_MSG  # msg of the SUCCESS shape (may be null)
    unsupported_coin_status: int = 500  # [live] hashrial saw HTTP 500
    require_json_content_type: bool = True  # Spring @RequestBody: else 415 [guess]
    documented_only_endpoints: bool = True  # False: DOCUMENTED_ONLY_PATHS are 404
    disabled_paths: set[str] = field(default_factory=set)  # answer 404
    max_page_size: int | None = None  # cap on pageSize/pageNum pages [guess: none]
    payments_oldest_first: bool = False  # order of payment records [guess: newest]
    bigdecimal_exponents: bool = False  # money as Java BigDecimal.toString (5E-8)
    minimum_payment_range: tuple[Decimal, Decimal] = (
        Decimal("0.0001"),
        Decimal(100),
    )  # accepted minimumPay [guess]
    errors: dict[str, SpiderpoolErrorReply] = field(
        default_factory=default_error_replies
    )
    _observer: Callable[[str], None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        observer = self.__dict__.get("_observer")
        if observer is not None and name == "offline":
            observer(name)


@dataclass
class SpiderpoolRequest:
    """One request as recorded in ``SpiderpoolEmulator.received``."""

    method: str
    path: str
    at: float  # emulator clock, seconds
    body: str = ""  # raw body text
    envelope: dict[str, Any] | None = None  # the parsed outer JSON object
    access_key: str | None = None
    timestamp: int | None = None  # ms
    sign: str | None = None
    data_json: str | None = None  # dataJson exactly as received
    data: Any = None  # parsed dataJson; only set once the signature verified
    verdict: Verdict = "pending"
    code: str | int | None = None  # "code" answered (Spring errors: their status)
    status: int | None = None  # HTTP status answered (None: no answer)


# ------------------------------------------------------------------- helpers


def _hashrate(value: str | None) -> int:
    if not value:
        return 0
    try:
        return int(Decimal(value))
    except InvalidOperation, ValueError, OverflowError:
        return 0


def _ratio_text(value: float) -> str:
    """A ratio as a plain decimal string: ``"0"``, ``"0.0012"``."""
    text = format(Decimal(str(round(value, 6))).normalize(), "f")
    return "0" if text in {"0", "-0"} else text


def _btc(value: float) -> Decimal:
    return Decimal(str(value)).quantize(_SATOSHI, rounding=ROUND_HALF_EVEN)


def daily_profit(hashrate: float, coin: str = "btc") -> Decimal:
    """Coin per day for a hashrate in H/s (3.15 BTC per block, difficulty 126 T)."""
    if coin == "eth":
        return _btc(hashrate / 1e12 * 0.0005)
    return _btc(hashrate * 86400 * 3.15 / (126e12 * HASHES_PER_SHARE))


def dumps(obj: Any, *, exponents: bool = False) -> str:
    """Compact JSON as Jackson writes it; ``Decimal`` as a plain JSON number.

    ``exponents`` writes Decimals as Java's ``BigDecimal.toString()`` (``5E-8``).
    """
    if isinstance(obj, Decimal):
        return str(obj) if exponents else format(obj, "f")
    if obj is None or isinstance(obj, bool | int | float | str):
        return json.dumps(obj, ensure_ascii=False)
    if isinstance(obj, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{dumps(v, exponents=exponents)}"
            for k, v in obj.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(dumps(v, exponents=exponents) for v in obj) + "]"
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def load_rsa_key(key: RsaKey | str | bytes) -> RsaKey:
    """An RSA key from an ``RsaKey``, PEM text, DER bytes or bare base64 DER."""
    if isinstance(key, RsaKey):
        return key
    if isinstance(key, str):
        key = key.encode("ascii") if "-----BEGIN" in key else _b64(key)
    imported: RsaKey = RSA.import_key(key)
    return imported


def _b64(text: str) -> bytes:
    return base64.b64decode("".join(text.split()))


@functools.lru_cache(maxsize=64)
def generate_key_pair(seed: int) -> RsaKey:
    """A throwaway RSA-1024 private key, the same for the same seed (ref §2.3)."""
    # 1024 bits: the size of the console-issued keys (ref §2.3), on purpose.
    key: RsaKey = RSA.generate(1024, randfunc=random.Random(seed).randbytes)  # noqa: S505
    return key


def fake_address(rng: random.Random, coin: str) -> str:
    """A wallet address of the coin's shape (not a valid checksum)."""
    if coin == "eth":
        return "0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40))
    return "bc1q" + "".join(rng.choice(_BECH32) for _ in range(38))


def valid_address(coin: str, address: str) -> bool:
    """Format check of a wallet address [guess: the real rules are the chain's]."""
    if coin == "eth":
        return bool(_ETH_ADDRESS_RE.fullmatch(address))
    return bool(_BTC_ADDRESS_RE.fullmatch(address))


def _day_start(seconds: float) -> int:
    return int(seconds // 86400 * 86400)


def default_subaccount(
    name: str = "homeminer",
    coin: str = "btc",
    workers: int = 12,
    *,
    seed: int = 0,
    now: float | None = None,
) -> SpiderpoolSubaccount:
    """A generated sub-account with history.

    ``workers`` machines of about 100 TH/s, 35 settled days, 15 payouts every two
    days (the newest two days ago) and an unpaid balance below the minimum payment.
    With five workers or more the second-to-last is ``inactive`` (off for 14 h) and
    the last ``lost`` (no share for three days); the others are ``active``.
    """
    rng = random.Random(f"{seed}:{coin}:{name}")
    now = time.time() if now is None else now
    now_ms = int(now * 1000)
    address = fake_address(rng, coin)
    machines: list[SpiderpoolWorker] = []
    for index in range(workers):
        nominal = rng.uniform(95e12, 120e12) if coin != "eth" else rng.uniform(4e8, 6e8)
        status: WorkerStatus = "active"
        if workers >= 5 and index == workers - 1:
            status = "lost"
        elif workers >= 5 and index == workers - 2:
            status = "inactive"
        worker = SpiderpoolWorker(
            name=f"s21-{index + 1:02d}",
            reject_rate=round(rng.uniform(0.0005, 0.003), 5),
            status=status,
        )
        if status == "active":
            worker.hashrate = str(int(nominal * rng.uniform(0.93, 1.07)))
            worker.hashrate_24h = str(int(nominal * rng.uniform(0.98, 1.02)))
            worker.last_share_ms = now_ms - rng.randint(1_000, 60_000)
        elif status == "inactive":
            worker.hashrate_24h = str(int(nominal * 10 / 24))
            worker.last_share_ms = now_ms - 14 * 3_600_000 - rng.randint(0, 600_000)
        else:
            worker.reject_rate = 0.0
            worker.last_share_ms = now_ms - 3 * 86_400_000 - rng.randint(0, 3_600_000)
        machines.append(worker)
    sub = SpiderpoolSubaccount(
        coin=coin, name=name, wallet_address=address, workers=machines
    )
    sub.stale_rate = round(rng.uniform(0.0002, 0.001), 5)
    average = sub.hashrate_24h or int(rng.uniform(95e12, 120e12))
    today = _day_start(now)
    for day in range(1, 36):
        hashrate = average * rng.uniform(0.95, 1.05)
        sub.day_profits.append(
            SpiderpoolDayProfit(
                day_ms=(today - day * 86400) * 1000,
                profit=daily_profit(hashrate, coin),
                avg_hashrate=str(int(hashrate)),
            )
        )
    sub.yesterday_profit = sub.day_profits[0].profit
    elapsed = (now - today) / 86400
    sub.day_estimate_profit = (
        None if coin == "fb" else _btc(float(daily_profit(average, coin)) * elapsed)
    )
    for number in range(15):
        when = (today - (2 + 2 * number) * 86400 + 7200) * 1000  # 02:00 UTC
        amount = _btc(float(sub.minimum_payment) * rng.uniform(1.0, 1.18))
        tx_id = "".join(rng.choice("0123456789abcdef") for _ in range(64))
        sub.payments.append(SpiderpoolPayment(when, amount, tx_id, address))
    sub.unpaid_profit = _btc(float(sub.minimum_payment) * rng.uniform(0.1, 0.9))
    sub.total_profit = sum((p.amount for p in sub.payments), sub.unpaid_profit)
    return sub


class _ApiError(Exception):
    """An error answered in the endpoint family's envelope."""

    def __init__(self, code: str, msg: str, status: int = 200) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status


def _param_error() -> _ApiError:
    return _ApiError("INVALID_PARAM", "Parameter error")  # [live]


class _Dropped(Exception):
    """The request was cut on purpose (fault); nothing is answered."""


class _Rejected(Exception):
    """An envelope or authentication failure, answered from ``faults.errors``."""

    def __init__(self, verdict: Verdict, retry_after: float | None = None) -> None:
        super().__init__(verdict)
        self.verdict: Verdict = verdict
        self.retry_after = retry_after


class _SpringError(Exception):
    """A failure before any controller runs: Spring Boot's error JSON."""

    def __init__(
        self, status: int, verdict: Verdict, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status = status
        self.verdict: Verdict = verdict
        self.headers = headers or {}


class _Params:
    """The parsed ``dataJson``, read the way a Spring/Jackson bean would be."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                raise _param_error()
            return None
        if not isinstance(value, str):
            raise _param_error()
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name)
        assert value is not None
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise _param_error()
        if isinstance(value, int):
            return value
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        if isinstance(value, str) and _DIGITS_RE.fullmatch(value.strip()):
            return int(value)
        raise _param_error()

    def required_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise _param_error()
        return value

    def decimal(self, name: str) -> Decimal:
        value = self.data.get(name)
        if isinstance(value, bool) or value is None:
            raise _param_error()
        if isinstance(value, int | Decimal):
            return Decimal(value)
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except InvalidOperation:
                raise _param_error() from None
            if number.is_finite():
                return number
        raise _param_error()

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise _param_error()


@dataclass(frozen=True)
class _Route:
    family: _Family
    handler: Callable[[SpiderpoolAccount, _Params], Any]


# ----------------------------------------------------------------- the emulator


class SpiderpoolEmulator:
    """The Spiderpool API v2 on ``http://host:port`` (plain HTTP).

    Public surface: ``state`` (accounts), ``account``/``subaccount``/``workers`` (the
    default account, sub-account and its workers), ``access_key``,
    ``private_key_b64``, ``private_key_pem``, ``public_key``, ``add_account()``,
    ``add_subaccount()``, ``faults``, ``received``, ``url``/``host``/``port``,
    ``time()``/``time_ms()``/``advance()``. ``now`` may be replaced (a callable
    returning epoch seconds); the emulator clock is ``now()`` plus ``advance()``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        workers: int = 12,
        coin: str = "btc",
        subaccount: str = "homeminer",
        envelope: Envelope = "success",
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.rng = random.Random(seed)
        self.now: Callable[[], float] = lambda: time.time()  # noqa: PLW0108
        self._clock_offset = 0.0
        self.state = SpiderpoolState()
        self._faults = SpiderpoolFaults(envelope=envelope)
        self._faults._observer = self._on_fault_change
        self.received: list[SpiderpoolRequest] = []
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._seen: dict[tuple[str, str], float] = {}  # (key, sign) -> forget at
        self._key_seeds = iter(range(seed * 1000 + 1, seed * 1000 + 1000))
        self.account = self.add_account(
            f"{self.rng.getrandbits(128):032X}", key_seed=seed
        )
        self.add_subaccount(subaccount, coin=coin, workers=workers)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener = SwitchableListener(host, port, self._accepted)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: web.Server | None = None
        self._retry: asyncio.Task[None] | None = None
        self._started = self._stopping = False
        self._routes: dict[str, _Route] = {}
        success: list[tuple[str, Callable[[SpiderpoolAccount, _Params], Any]]] = [
            ("/v2/subaccount/createSubaccount", self._create_subaccount),
            ("/v2/subaccount/modifyWalletAddress", self._modify_wallet_address),
            ("/v2/subaccount/subAccountObserverLink", self._observer_link),
            ("/v2/subaccount/getSubaccountProfitDetailInfo", self._profit_detail),
            ("/v2/subaccount/getSubaccountPaymentRecord", self._payment_record),
            ("/v2/subaccount/getSubaccountHashrateDetailInfo", self._hashrate_detail),
            ("/v2/subaccount/getSubaccountProfitInfo", self._profit_info),
            ("/v2/subaccount/getSubaccountInfo", self._subaccount_info),
            ("/v2/worker/getSubaccountWorkerDetailInfo", self._worker_detail),
            (
                "/v2/worker/getSubaccountWorkerHashrateDetailInfo",
                self._worker_hashrate_detail,
            ),
            ("/v2/subaccount/updateUserMinimumPayment", self._update_minimum_payment),
            ("/v2/subaccount/getUserMinimumPayment", self._get_minimum_payment),
            ("/v2/subaccount/getHashrate", self._get_hashrate),
        ]
        sp: list[tuple[str, Callable[[SpiderpoolAccount, _Params], Any]]] = [
            ("/v2/sp/subaccount/getDayProfitDetailInfo", self._day_profit),
            ("/v2/sp/subaccount/getHourProfitDetailInfo", self._hour_profit),
            ("/v2/sp/hashrate/subaccount/realHashRate", self._real_hashrate),
            ("/v2/sp/hashrate/subaccount/fullHashRate", self._full_hashrate),
            ("/v2/sp/hashrate/subaccount/timeRangeHashRateChart", self._range_chart),
            ("/v2/sp/hashrate/worker/list", self._worker_list),
            ("/v2/sp/subaccount/list", self._subaccount_list),
            ("/v2/sp/txPriorityChain/getChainingFee", self._chaining_fee),
            ("/v2/sp/txPriorityChain/submit", self._priority_submit),
            ("/v2/sp/txPriorityChain/queryOrderPage", self._order_page),
            ("/v2/sp/txPriorityChain/orderDetail", self._order_detail),
            ("/v2/sp/txPriorityChain/accountInfo", self._priority_account),
        ]
        for path, handler in success:
            self._routes[path] = _Route("success", handler)
        for path, handler in sp:
            self._routes[path] = _Route("sp", handler)

    # ------------------------------------------------------------ public API

    @property
    def paths(self) -> list[str]:
        """Every path the emulator serves."""
        return list(self._routes)

    @property
    def faults(self) -> SpiderpoolFaults:
        return self._faults

    @faults.setter
    def faults(self, faults: SpiderpoolFaults) -> None:
        self._faults._observer = None
        self._faults = faults
        faults._observer = self._on_fault_change
        self._on_fault_change("offline")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def access_key(self) -> str:
        return self.account.access_key

    @property
    def private_key_b64(self) -> str:
        return self.account.private_key_b64

    @property
    def private_key_pem(self) -> str:
        return self.account.private_key_pem

    @property
    def public_key(self) -> RsaKey:
        return self.account.public_key

    @property
    def subaccount(self) -> SpiderpoolSubaccount:
        """The default sub-account (the first one of the default account)."""
        return self.account.subaccounts[0]

    @property
    def workers(self) -> list[SpiderpoolWorker]:
        return self.subaccount.workers

    def add_account(
        self,
        access_key: str | None = None,
        public_key: RsaKey | str | bytes | None = None,
        *,
        key_seed: int | None = None,
        api_enabled: bool = True,
    ) -> SpiderpoolAccount:
        """Register an access key with a public key (PEM, DER, base64 or ``RsaKey``).

        Without ``public_key`` a throwaway RSA-1024 pair is generated (from
        ``key_seed``, else the next seed of this emulator) and kept on the account.
        A private key given as ``public_key`` is kept too.
        """
        private: RsaKey | None
        if public_key is None:
            private = generate_key_pair(
                next(self._key_seeds) if key_seed is None else key_seed
            )
            public: RsaKey = private.public_key()
        else:
            loaded = load_rsa_key(public_key)
            private = loaded if loaded.has_private() else None
            public = loaded.public_key()
        if access_key is None:
            access_key = f"{self.rng.getrandbits(128):032X}"
        account = SpiderpoolAccount(
            access_key, public, private, api_enabled=api_enabled
        )
        self.state.accounts[access_key] = account
        return account

    def add_subaccount(
        self,
        name: str,
        *,
        coin: str = "btc",
        workers: int = 12,
        account: SpiderpoolAccount | None = None,
    ) -> SpiderpoolSubaccount:
        """Add a generated sub-account (``default_subaccount``) to an account."""
        sub = default_subaccount(name, coin, workers, seed=self.seed, now=self.time())
        (account or self.account).subaccounts.append(sub)
        return sub

    def time(self) -> float:
        """The emulator clock, epoch seconds (``now()`` plus ``advance()``)."""
        return self.now() + self._clock_offset

    def time_ms(self) -> int:
        return int(self.time() * 1000)

    def advance(self, seconds: float) -> None:
        """Move the emulator clock forward without sleeping."""
        self._clock_offset += seconds

    def verdicts(self) -> list[Verdict]:
        return [request.verdict for request in self.received]

    async def start(self) -> None:
        if self._started:
            return
        self._loop = asyncio.get_running_loop()
        self._server = web.Server(
            self._handle, handler_cancellation=True, access_log=None
        )
        self._listener.open(self._loop)  # fixes the port even when starting offline
        self.port = self._listener.port
        self._started = True
        self._sync_listener()
        _LOGGER.info("Spiderpool emulator on %s", self.url)

    async def stop(self) -> None:
        """Close the listener and every connection; wait for every task."""
        if not self._started or self._stopping:
            return
        self._stopping = True
        self._listener.close()
        self._abort_connections()
        for _ in range(3):
            await asyncio.sleep(0)
        if self._server is not None:
            await self._server.shutdown(0.1)
        await cancel_all(self._tasks)
        self._retry = None
        await asyncio.sleep(0)
        self._server = None
        self._started = self._stopping = False

    async def __aenter__(self) -> SpiderpoolEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ------------------------------------------------------------- listener

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _on_fault_change(self, _name: str) -> None:
        if self._faults.offline:
            self._abort_connections()
        self._sync_listener()

    def _sync_listener(self) -> None:
        if not self._started or self._stopping:
            return
        assert self._loop is not None
        switched = self._listener.switch(self._loop, not self._faults.offline)
        if not switched and (self._retry is None or self._retry.done()):
            self._retry = self._spawn(self._retry_listen())
        self.port = self._listener.port

    async def _retry_listen(self) -> None:
        while not self._faults.offline and not self._listener.listening:
            await asyncio.sleep(0.05)
            self._sync_listener()

    def _accepted(self, conn: socket.socket, _peer: str) -> None:
        if self._stopping or self._faults.offline:
            reset_socket(conn)
            return
        self._spawn(self._connect(conn))

    async def _connect(self, conn: socket.socket) -> None:
        assert self._loop is not None
        assert self._server is not None
        try:
            await self._loop.connect_accepted_socket(self._server, sock=conn)
        except OSError:
            conn.close()

    def _abort_connections(self) -> None:
        """Cut every open connection with RST."""
        if self._server is None:
            return
        for handler in self._server.connections:
            transport = handler.transport
            if transport is None:
                continue
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
            transport.abort()

    # ------------------------------------------------------------- requests

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        record = SpiderpoolRequest(request.method, request.path, self.time())
        self.received.append(record)
        try:
            response = await self._serve(request, record)
        except _Dropped:
            await _hold()
            raise  # unreachable: _hold() only ends by cancellation
        except ConnectionError, asyncio.CancelledError:
            raise
        except Exception:
            _LOGGER.exception("Emulator error on %s %s", request.method, request.path)
            response = self._json(
                {"code": "500", "msg": "Internal Server Error", "data": None}, 500
            )
            record.code = "500"
        record.status = response.status
        return response

    async def _serve(
        self, request: web.BaseRequest, record: SpiderpoolRequest
    ) -> web.Response:
        faults = self._faults
        raw = await _read_body(request)
        record.body = raw.decode("utf-8", "replace") if raw is not None else ""
        await self._apply_faults(request, record)
        broken = self._broken_reply(record)
        if broken is not None:
            return broken
        try:
            route, envelope = self._route(request, raw)
        except _SpringError as error:
            record.verdict = error.verdict
            return self._spring(error.status, request.path, record, error.headers)
        try:
            account = self._authenticate(envelope, record)
            data = self._parse_data(record)
        except _Rejected as rejected:
            record.verdict = rejected.verdict
            verdict = rejected.verdict
            reply = faults.errors.get(verdict) or default_error_replies()[verdict]
            response = self._error(
                route.family, _ApiError(reply.code, reply.msg, reply.status), record
            )
            if rejected.retry_after is not None and faults.retry_after:
                retry = max(1, math.ceil(rejected.retry_after))
                response.headers["Retry-After"] = str(retry)
            return response
        if faults.string_200_error:
            record.verdict = "string_200"
            return self._error(route.family, _ApiError("200", "System busy"), record)
        record.verdict = "ok"
        try:
            result = route.handler(account, _Params(data))
        except _ApiError as error:
            return self._error(route.family, error, record)
        return self._success(route.family, result, record)

    def _broken_reply(self, record: SpiderpoolRequest) -> web.Response | None:
        """The answer of a broken server (``non_json`` / ``http_500`` faults)."""
        faults = self._faults
        if faults.non_json:
            record.verdict = "non_json"
            return web.Response(
                status=faults.non_json_status,
                text=NON_JSON_PAGE,
                content_type="text/html",
            )
        if faults.http_500:
            record.verdict, record.code = "http_500", "500"
            body = {
                "code": "500",
                "msg": "Internal Server Error",
                "showErrorCode": None,
                "data": None,
            }
            return self._json(body, faults.http_500_status)
        return None

    def _route(self, request: web.BaseRequest, raw: bytes | None) -> tuple[_Route, Any]:
        """Spring's dispatch and ``@RequestBody`` reading: the route and the body."""
        path = request.path
        route = self._routes.get(path)
        if route is None or not self._path_enabled(path):
            raise _SpringError(404, "not_found")
        if request.method != "POST":
            raise _SpringError(405, "method_not_allowed", {"Allow": "POST"})
        if self._faults.require_json_content_type and request.content_type not in {
            "application/json",
            "application/x-json",
        }:
            raise _SpringError(415, "unsupported_media_type")
        if raw is None:
            raise _SpringError(400, "bad_request")
        try:
            return route, json.loads(raw.decode("utf-8"), parse_float=Decimal)
        except ValueError:
            raise _SpringError(400, "bad_request") from None

    def _authenticate(
        self, envelope: Any, record: SpiderpoolRequest
    ) -> SpiderpoolAccount:
        """The envelope and authentication checks in order; raises ``_Rejected``."""
        if not isinstance(envelope, dict):
            raise _Rejected("malformed")
        record.envelope = envelope
        data_json, access_key = envelope.get("dataJson"), envelope.get("accessKey")
        sign, timestamp = envelope.get("sign"), _timestamp(envelope.get("timestamp"))
        record.data_json = data_json if isinstance(data_json, str) else None
        record.access_key = access_key if isinstance(access_key, str) else None
        record.sign = sign if isinstance(sign, str) else None
        record.timestamp = timestamp
        if (
            record.data_json is None
            or not record.access_key
            or not record.sign
            or timestamp is None
        ):
            raise _Rejected("malformed")
        account = self.state.accounts.get(record.access_key)
        if account is None:
            raise _Rejected("unknown_key")
        wait = self._rate_limited(record.access_key)
        if wait is not None:
            raise _Rejected("rate_limited", wait)
        if not _verify(account.public_key, record.data_json, timestamp, record.sign):
            raise _Rejected("bad_signature")
        window_ms = self._faults.timestamp_tolerance * 1000
        skew_ms = timestamp - self.time_ms()
        if skew_ms < -window_ms:
            raise _Rejected("stale")
        if skew_ms > window_ms:
            raise _Rejected("future")
        if self._faults.replay_protection and self._replayed(
            record.access_key, record.sign, timestamp + window_ms
        ):
            raise _Rejected("replay")
        if not account.api_enabled:
            raise _Rejected("permission_denied")
        return account

    @staticmethod
    def _parse_data(record: SpiderpoolRequest) -> dict[str, Any]:
        """``dataJson`` as an object; only called once the signature verified."""
        assert record.data_json is not None
        text = record.data_json.strip()
        try:
            data = json.loads(text, parse_float=Decimal) if text else {}
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise _Rejected("malformed")
        record.data = data
        return data

    async def _apply_faults(
        self, request: web.BaseRequest, record: SpiderpoolRequest
    ) -> None:
        faults = self._faults
        if faults.stall:
            record.verdict = "stalled"
            await _hold()
        if faults.drop_requests > 0:
            faults.drop_requests -= 1
            record.verdict = "dropped"
            if request.transport is not None:
                request.transport.abort()
            raise _Dropped
        if faults.latency > 0:
            await asyncio.sleep(faults.latency)

    def _path_enabled(self, path: str) -> bool:
        if path in self._faults.disabled_paths:
            return False
        return self._faults.documented_only_endpoints or (
            path not in DOCUMENTED_ONLY_PATHS
        )

    def _rate_limited(self, access_key: str) -> float | None:
        """Seconds until a request is allowed, or None if this one is."""
        faults = self._faults
        if faults.rate_limit:
            return 1.0
        rate = faults.rate_limit_per_second
        if rate is None or rate <= 0:
            return None
        burst = max(1, faults.rate_limit_burst)
        now = self.time()
        tokens, last = self._buckets.get(access_key, (float(burst), now))
        tokens = min(float(burst), tokens + max(0.0, now - last) * rate)
        if tokens >= 1.0:
            self._buckets[access_key] = (tokens - 1.0, now)
            return None
        self._buckets[access_key] = (tokens, now)
        return (1.0 - tokens) / rate

    def _replayed(self, access_key: str, sign: str, forget_at: float) -> bool:
        now_ms = self.time_ms()
        for key in [key for key, until in self._seen.items() if until < now_ms]:
            del self._seen[key]
        if (access_key, sign) in self._seen:
            return True
        self._seen[access_key, sign] = forget_at
        return False

    # ------------------------------------------------------------ responses

    def _code200(self, family: _Family) -> bool:
        return family == "sp" or self._faults.envelope == "code200"

    def _success(
        self, family: _Family, data: Any, record: SpiderpoolRequest
    ) -> web.Response:
        overrides = self._overrides(record)
        if overrides:
            data = _merge(data, overrides)
        if self._code200(family):
            body: dict[str, Any] = {
                "code": 200,
                "msg": SP_MSG,
                "t": self.time_ms(),
                "success": True,
                "data": data,
            }
        else:
            body = {
                "code": "SUCCESS",
                "msg": self._faults.success_msg,
                "showErrorCode": None,
                "data": data,
            }
        record.code = body["code"]
        return self._json(body)

    def _overrides(self, record: SpiderpoolRequest) -> dict[str, Any]:
        if not isinstance(record.data, dict):
            return {}
        account = self.state.accounts.get(record.access_key or "")
        coin, name = record.data.get("coin"), record.data.get("subaccount")
        if account is None or not isinstance(coin, str) or not isinstance(name, str):
            return {}
        sub = account.subaccount(name, coin)
        return sub.overrides.get(record.path, {}) if sub is not None else {}

    def _error(
        self, family: _Family, error: _ApiError, record: SpiderpoolRequest
    ) -> web.Response:
        if self._code200(family):
            body: dict[str, Any] = {
                "code": error.code,
                "msg": error.msg,
                "t": self.time_ms(),
                "success": False,
                "data": None,
            }
        else:
            body = {
                "code": error.code,
                "msg": error.msg,
                "showErrorCode": None,
                "data": None,
            }
        record.code = error.code
        return self._json(body, error.status)

    def _spring(
        self,
        status: int,
        path: str,
        record: SpiderpoolRequest,
        headers: dict[str, str],
    ) -> web.Response:
        """Spring Boot's default error JSON (ref §3.2: the live 404)."""
        record.code = status
        when = dt.datetime.fromtimestamp(self.time(), dt.UTC)
        body = {
            "timestamp": when.isoformat(timespec="milliseconds"),
            "status": status,
            "error": _SPRING_REASONS[status],
            "path": path,
        }
        response = self._json(body, status)
        response.headers.update(headers)
        return response

    def _json(self, body: Any, status: int = 200) -> web.Response:
        text = dumps(body, exponents=self._faults.bigdecimal_exponents)
        return web.Response(
            status=status, body=text.encode("utf-8"), content_type="application/json"
        )

    # ------------------------------------------------------- shared lookups

    def _coin(self, params: _Params, *, required: bool = True) -> str | None:
        coin = params.text("coin", required=required)
        if coin is not None and coin not in SUPPORTED_COINS:
            # [live] upper-case or unknown coin; hashrial saw HTTP 500
            raise _ApiError(
                "INVALID_PARAM",
                "Unsupported coin",
                self._faults.unsupported_coin_status,
            )
        return coin

    def _sub(self, account: SpiderpoolAccount, params: _Params) -> SpiderpoolSubaccount:
        coin = self._coin(params)
        name = params.required_text("subaccount")
        assert coin is not None
        sub = account.subaccount(name, coin)
        if sub is None:
            raise _ApiError("INVALID_PARAM", "The subaccount does not exist")  # [live]
        return sub

    def _page(self, params: _Params, number_key: str) -> tuple[int, int]:
        number = params.integer(number_key, 1) or 1
        size = params.integer("pageSize", DEFAULT_PAGE_SIZE) or DEFAULT_PAGE_SIZE
        number, size = max(1, number), max(1, size)  # [guess] MyBatis clamps
        cap = self._faults.max_page_size
        if cap is not None:
            size = min(size, cap)
        return number, size

    def _series(self, key: str, base: int, slot: int, spread: float = 0.04) -> int:
        """A deterministic sample around ``base`` for one time slot."""
        if base <= 0:
            return 0
        rng = random.Random(f"{self.seed}:{key}:{slot}")
        return int(base * (1 + rng.uniform(-spread, spread)))

    def _chart(self, key: str, base: int, mode: str) -> tuple[int, int, list[str]]:
        """(startTime ms, timeInterval s, hashrates) of a 24 h or 30 d chart."""
        interval, points = (3600, 24) if mode == "hourly" else (86400, 30)
        last = int(self.time() // interval) * interval - interval  # last full slot
        first = last - (points - 1) * interval
        values = [
            str(self._series(key, base, slot // interval))
            for slot in range(first, last + 1, interval)
        ]
        return first * 1000, interval, values

    # ------------------------------------------------------ /v2/subaccount

    def _create_subaccount(self, account: SpiderpoolAccount, params: _Params) -> Any:
        coin = self._coin(params)
        name = params.required_text("subaccount")
        wallet = params.text("walletAddress", required=False)
        assert coin is not None
        if not SUBACCOUNT_NAME_RE.fullmatch(name):
            raise _ApiError("INVALID_SUBACCOUNT", "Invalid subaccount name")  # [doc]
        if self.state.subaccount_exists(name):
            raise _ApiError("SUBACCOUNT_EXIST", "Account has been in existence")
        if wallet is not None and not valid_address(coin, wallet):
            raise _ApiError("IVAILD_WALLETADDRESS", "Invalid wallet address")  # [doc]
        sub = SpiderpoolSubaccount(coin=coin, name=name, wallet_address=wallet or "")
        if coin == "fb":
            sub.day_estimate_profit = None
        account.subaccounts.append(sub)
        return None

    def _modify_wallet_address(
        self, account: SpiderpoolAccount, params: _Params
    ) -> Any:
        sub = self._sub(account, params)
        wallet = params.required_text("newWalletAddress")
        if not valid_address(sub.coin, wallet):
            raise _ApiError("IVAILD_WALLETADDRESS", "Invalid wallet address")
        sub.wallet_address = wallet
        return None

    def _observer_link(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        kind = params.required_text("type")
        if kind not in {"newSign", "resetSign", "deleteSign"}:
            raise _param_error()
        if kind == "deleteSign":
            sub.observer_sign = None
            return None  # [guess]
        if kind == "resetSign" or sub.observer_sign is None:
            sub.observer_sign = "v" + f"{self.rng.getrandbits(256):064x}"
        return {"subaccount": sub.name, "sign": sub.observer_sign, "coin": sub.coin}

    def _profit_detail(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        start = params.integer("startTimestamp", 0) or 0  # seconds [doc]
        end = params.integer("endTimestamp", int(self.time()))
        biz = params.text("bizType", required=False)
        if biz not in {None, "alone_mining", "join_mining"}:
            raise _param_error()
        number, size = self._page(params, "pageNumber")
        days = [
            day
            for day in sorted(sub.day_profits, key=lambda d: -d.day_ms)
            if start * 1000 <= day.day_ms <= (end or 0) * 1000
        ]
        page = days[(number - 1) * size : number * size]
        return {
            "total": len(days),
            "dayProfitList": [
                {
                    "dayDate": day.day_ms,
                    "avgHashrate": day.avg_hashrate,
                    "dayProfit": day.profit,
                }
                for day in page
            ],
        }

    def _payment_record(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        start = params.integer("startTimestamp", 0) or 0  # ms [doc]
        end = params.integer("endTimestamp", self.time_ms())
        number, size = self._page(params, "pageNumber")
        payments = sorted(
            (p for p in sub.payments if start <= p.date_ms <= (end or 0)),
            key=lambda p: p.date_ms,
            reverse=not self._faults.payments_oldest_first,
        )
        page = payments[(number - 1) * size : number * size]
        return {
            "list": [
                {
                    "paymentDate": p.date_ms,
                    "paymentAddress": p.address,
                    "paymentMoney": p.amount,
                    "txId": p.tx_id,
                }
                for p in page
            ],
            "total": len(payments),
        }

    def _hashrate_detail(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        mode = params.text("mode", required=False) or "hourly"
        if mode not in {"hourly", "daily"}:
            raise _param_error()
        start, interval, values = self._chart(
            f"{sub.coin}:{sub.name}", sub.hashrate_24h, mode
        )
        return {
            "coin": sub.coin,
            "subaccount": sub.name,
            "startTime": start,
            "timeInterval": interval,  # [doc] 3600; 86400 for daily [guess]
            "hashrates": values,
        }

    def _profit_info(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        biz = params.text("bizType", required=False)
        if biz not in {None, "alone_mining", "join_mining"}:
            raise _param_error()
        data: dict[str, Any] = {
            "yesterdayProfit": sub.yesterday_profit,
            "unpaidProfit": sub.unpaid_profit,
            "totalProfit": sub.total_profit,
        }
        if sub.day_estimate_profit is not None:
            data["dayEstimateProfit"] = sub.day_estimate_profit
        return data

    def _subaccount_info(self, account: SpiderpoolAccount, params: _Params) -> Any:
        coin = self._coin(params, required=False)
        name = params.text("subaccount", required=False)
        params.boolean("isGetSubaccountDetailInfo")  # accepted; effect unknown
        subs = [
            sub
            for sub in account.subaccounts
            if (coin is None or sub.coin == coin) and (name is None or sub.name == name)
        ]
        if name is not None and not subs:
            raise _ApiError("INVALID_PARAM", "The subaccount does not exist")
        return [
            {
                "coin": sub.coin,
                "subaccount": sub.name,
                "walletAddress": sub.wallet_address,
                "realtimeHashrate": str(sub.realtime_hashrate),
                "avgHashrate1440": str(sub.hashrate_24h),
                "activeWorkerNum": sum(w.status == "active" for w in sub.workers),
                # [guess] lost workers count as inactive
                "inactiveWorkerNum": sum(w.status != "active" for w in sub.workers),
            }
            for sub in subs
        ]

    def _worker_detail(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        return [  # [doc] no pagination
            {
                "workerName": w.name,
                "realtimeHashrate": w.hashrate,
                "avgHashrate1440": w.hashrate_24h,
                "avgRejectrate1440": w.reject_rate,
                "status": w.status,
                "lastShareTime": (
                    None if w.last_share_ms is None else w.last_share_ms // 1000
                ),
            }
            for w in sub.workers
        ]

    def _worker_hashrate_detail(
        self, account: SpiderpoolAccount, params: _Params
    ) -> Any:
        sub = self._sub(account, params)
        name = params.required_text("worker")
        mode = params.text("mode", required=False) or "hourly"
        if mode not in {"hourly", "daily"} or (mode == "daily" and sub.coin != "btc"):
            raise _param_error()  # [doc] daily is BTC only
        worker = sub.worker(name)
        if worker is None:
            raise _ApiError("INVALID_PARAM", "The worker does not exist")  # [guess]
        start, interval, values = self._chart(
            f"{sub.coin}:{sub.name}:{worker.name}", _hashrate(worker.hashrate_24h), mode
        )
        return {"startTime": start, "timeInterval": interval, "hashrates": values}

    def _update_minimum_payment(
        self, account: SpiderpoolAccount, params: _Params
    ) -> Any:
        sub = self._sub(account, params)
        amount = params.decimal("minimumPay")
        low, high = self._faults.minimum_payment_range
        if not low <= amount <= high:
            raise _param_error()
        sub.minimum_payment = amount
        return None

    def _get_minimum_payment(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        return {"minimumPayment": sub.minimum_payment}

    def _get_hashrate(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        mode = params.required_text("mode")
        if mode not in {"day", "hour"}:
            raise _param_error()
        start = params.required_integer("startTimestamp")  # seconds [guess]
        now = int(self.time())
        end = min(params.integer("endTimestamp", now) or 0, now)
        interval = 86400 if mode == "day" else 3600
        first = max(-(-start // interval), end // interval - MAX_SERIES_POINTS)
        first *= interval
        rows: list[dict[str, Any]] = []
        base = sub.hashrate_24h
        reject = sub.reject_rate
        for slot in range(first, end - interval + 1, interval):  # complete slots
            accepted = self._series(f"{sub.coin}:{sub.name}", base, slot // interval)
            accept_diff = accepted * interval // HASHES_PER_SHARE
            reject_diff = int(accept_diff * reject)
            rows.append(
                {
                    "coin": sub.coin,
                    "userName": sub.name,
                    "timestamp": slot,
                    "shareAcceptDiff": accept_diff,
                    "shareRejectDiff": reject_diff,
                    "shareAcceptHashRate": accept_diff * HASHES_PER_SHARE / interval,
                    "shareRejectHashRate": reject_diff * HASHES_PER_SHARE / interval,
                    # [doc] example: equal diffs give 1, so reject / accept
                    "rejectRate": (
                        round(reject_diff / accept_diff, 6) if accept_diff else 0
                    ),
                }
            )
        return rows[-MAX_SERIES_POINTS:]

    # -------------------------------------------------------------- /v2/sp

    def _day_profit(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        day = _day_start(params.required_integer("timeStamp"))  # seconds [doc]
        biz = params.text("bizType", required=False)
        if biz not in {None, "alone_mining", "join_mining"}:
            raise _param_error()
        entry = next((d for d in sub.day_profits if d.day_ms == day * 1000), None)
        if entry is None:
            return None  # [guess] no settled day
        pps = _btc(float(entry.profit * entry.pps_share))
        data: dict[str, Any] = {
            "day": day,
            "coin": sub.coin,
            "userName": sub.name,
            "subaccount": sub.name,  # read by the Java test client [live]
            "withdrawAddress": sub.wallet_address,
            "avgShareAccept": float(_hashrate(entry.avg_hashrate)),
            "dayProfit": entry.profit,
            "ppsDayProfit": pps,
            "pplnsDayProfit": entry.profit - pps,
        }
        if sub.coin != "fb":
            data["difficult"] = sub.difficulty  # [doc] fb does not support it
        return data

    def _hour_profit(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        hour = params.required_integer("timeStamp") // 3600 * 3600
        if hour + 3600 > self.time():
            return None  # [guess] not settled yet
        entry = next(
            (d for d in sub.day_profits if d.day_ms == _day_start(hour) * 1000), None
        )
        daily = (
            float(entry.profit * entry.pps_share)
            if entry is not None
            else float(daily_profit(sub.hashrate_24h, sub.coin))
        )
        factor = self._series(f"{sub.coin}:{sub.name}:hour", 1_000_000, hour // 3600)
        return {
            "day": hour,
            "coin": sub.coin,
            "userName": sub.name,
            "ppsDayProfit": Decimal(str(round(daily / 24 * factor / 1e6, 14))),
        }

    def _real_hashrate(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        now = int(self.time())
        shares = [w.last_share_ms for w in sub.workers if w.last_share_ms is not None]
        return {  # [live] hashrial capture
            "subaccount": sub.name,
            "hashRate": str(sub.realtime_hashrate),
            "staleRate": _ratio_text(sub.stale_rate),
            "rejectRate": _ratio_text(sub.reject_rate),
            "secondTimestamp": now,
            # [live] a sub-account without shares reported the current time
            "lastShareTime": max(shares) // 1000 if shares else now,
        }

    def _full_hashrate(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        key = f"{sub.coin}:{sub.name}:full"
        slot = int(self.time() // 600)
        return {  # [live] field names (mdk); rates as strings [guess]
            "hashRate10": str(self._series(key, sub.realtime_hashrate, slot, 0.01)),
            "hashRateHour": str(
                self._series(key, sub.realtime_hashrate, slot // 6, 0.02)
            ),
            "hashRateDay": str(sub.hashrate_24h),
            "staleRateHour": _ratio_text(sub.stale_rate),
            "staleRateDay": _ratio_text(sub.stale_rate),
        }

    def _range_chart(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        level = params.text("timeLevel", required=False) or "hour"
        if level not in {"hour", "day"}:
            raise _param_error()
        start = params.required_integer("startTimestamp")  # ms [live: mdk]
        end = min(params.required_integer("endTimestamp"), self.time_ms())
        interval = 3_600_000 if level == "hour" else 86_400_000
        first = max(-(-start // interval), end // interval - MAX_SERIES_POINTS)
        first *= interval
        points = [  # record shape [guess]
            {
                "timestamp": slot,
                "hashRate": str(
                    self._series(
                        f"{sub.coin}:{sub.name}", sub.hashrate_24h, slot // 1000
                    )
                ),
            }
            for slot in range(first, end - interval + 1, interval)
        ]
        return points[-MAX_SERIES_POINTS:]

    def _worker_list(self, account: SpiderpoolAccount, params: _Params) -> Any:
        sub = self._sub(account, params)
        number, size = self._page(params, "pageNum")  # [live] pageNum, not pageNumber
        workers = sub.workers
        page = workers[(number - 1) * size : number * size]
        records = [
            {
                "workerName": w.name,  # [live: hashrial] workerName, hashRate, status
                "hashRate": w.hashrate,
                "hashRate24h": w.hashrate_24h,  # [guess]
                "rejectRate": _ratio_text(w.reject_rate),  # [guess]
                "status": "online" if w.online else "offline",  # [live] "online"
                "lastShareTime": (  # [guess]
                    None if w.last_share_ms is None else w.last_share_ms // 1000
                ),
            }
            for w in page
        ]
        return {  # [live] MyBatis-style page
            "total": len(workers),
            "pageNum": number,
            "pageSize": size,
            "pages": math.ceil(len(workers) / size),
            "records": records,
        }

    def _subaccount_list(self, account: SpiderpoolAccount, params: _Params) -> Any:
        coin = self._coin(params, required=False)
        return [  # [live]
            {
                "subaccount": sub.name,
                "coin": sub.coin,
                "withdrawAddress": sub.wallet_address,
            }
            for sub in account.subaccounts
            if coin is None or sub.coin == coin
        ]

    # ------------------------------------------------- /v2/sp/txPriorityChain

    def _priority_params(self, params: _Params) -> tuple[str, str, str]:
        tx_hash = params.required_text("txHash")
        email = params.required_text("informEmail")
        coin = params.required_text("coin")
        if coin not in {"btc", "fb"} or not _TX_HASH_RE.fullmatch(tx_hash):
            raise _param_error()
        return coin, tx_hash, email

    def _quote(self, tx_hash: str) -> tuple[int, Decimal, Decimal]:
        size = 110 + int(tx_hash[:4], 16) % 300
        theoretical = _btc(size * 32 / 1e8)
        return size, _btc(float(theoretical) * 2.7), theoretical

    def _chaining_fee(self, account: SpiderpoolAccount, params: _Params) -> Any:
        coin, tx_hash, email = self._priority_params(params)
        size, fee, theoretical = self._quote(tx_hash)
        return {
            "coin": coin,
            "curTxSize": size,
            "unconfirmedPreTxSize": size,
            "unit": coin,
            "totalFee": fee,
            "theoreticalPayAmount": theoretical,
            "txHash": tx_hash,
            "informEmail": email,
            "timeout": 6000,
        }

    def _priority_submit(self, account: SpiderpoolAccount, params: _Params) -> Any:
        coin, tx_hash, email = self._priority_params(params)
        size = params.required_integer("curTxSize")
        fee = params.decimal("totalFee")
        currency = coin.upper()
        balance = account.priority_balances.get(currency, Decimal(0))
        if fee <= 0 or fee > balance:
            raise _ApiError("INVALID_PARAM", "Insufficient balance")  # [guess]
        account.priority_balances[currency] = balance - fee
        account.priority_consumed[currency] = (
            account.priority_consumed.get(currency, Decimal(0)) + fee
        )
        order = SpiderpoolOrder(
            coin, tx_hash, email, size, fee, self._quote(tx_hash)[2], self.time_ms()
        )
        account.orders.append(order)
        return {
            "coin": coin,
            "txHash": tx_hash,
            "curTxSize": size,
            "unconfirmedPreTxSize": size,
            "currency": coin,
            "totalFee": fee,
            "theoreticalPayAmount": order.theoretical_fee,
            "informEmail": email,
            "status": order.status,
            "createTime": order.created_ms,
        }

    @staticmethod
    def _order(order: SpiderpoolOrder) -> dict[str, Any]:
        return {
            "coin": order.coin.upper(),  # [doc] upper-case in lists and details
            "txHash": order.tx_hash,
            "curTxSize": order.tx_size,
            "unconfirmedPreTxSize": order.tx_size,
            "currency": order.coin.upper(),
            "totalFee": order.total_fee,
            "theoreticalPayAmount": order.theoretical_fee,
            "informEmail": order.email,
            "status": order.status,
            "blockHeight": order.block_height,
            "blockTime": order.block_time,
            "createTime": order.created_ms,
        }

    def _order_page(self, account: SpiderpoolAccount, params: _Params) -> Any:
        params.required_integer("pageNumber")  # [doc] both required
        params.required_integer("pageSize")
        number, size = self._page(params, "pageNumber")
        orders = sorted(account.orders, key=lambda o: -o.created_ms)
        page = orders[(number - 1) * size : number * size]
        return {"total": len(orders), "list": [self._order(o) for o in page]}

    def _order_detail(self, account: SpiderpoolAccount, params: _Params) -> Any:
        tx_hash = params.required_text("txHash")
        order = next((o for o in account.orders if o.tx_hash == tx_hash), None)
        if order is None:
            raise _param_error()  # [guess]
        return self._order(order)

    def _priority_account(self, account: SpiderpoolAccount, _params: _Params) -> Any:
        return [
            {
                "currency": currency,
                "availableBalance": balance,
                "totalConsumeAmount": account.priority_consumed.get(
                    currency, Decimal(0)
                ),
            }
            for currency, balance in account.priority_balances.items()
        ]


# ------------------------------------------------------------ module helpers


def _timestamp(value: Any) -> int | None:
    """The envelope ``timestamp`` in ms, or None when it is malformed.

    A JSON integer, or a string of digits as the vendor's Python example sends
    (accepted [guess]; the signed text is then the integer's decimal form).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def signed_message(data_json: str, timestamp: int) -> bytes:
    """The bytes the client signs: UTF-8 of ``dataJson + "|" + timestamp`` (ref §2.2)."""
    return f"{data_json}|{timestamp}".encode()


def _verify(public_key: RsaKey, data_json: str, timestamp: int, sign: str) -> bool:
    """RSA PKCS#1 v1.5 with MD5 over the raw ``dataJson`` string as received."""
    try:
        signature = base64.b64decode(sign, validate=True)
        message = signed_message(data_json, timestamp)
        digest = MD5.new(message)  # noqa: S303 - the protocol's hash (ref §2.2)
        pkcs1_15.new(public_key).verify(digest, signature)
    except ValueError, TypeError:  # binascii.Error, UnicodeEncodeError included
        return False
    return True


def _merge(data: Any, overrides: dict[str, Any]) -> Any:
    """Overrides into ``data``: its rows if a list, its ``records`` if paged."""
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        return data | {"records": _merge(data["records"], overrides)}
    if isinstance(data, dict):
        return data | overrides
    if isinstance(data, list):
        return [row | overrides if isinstance(row, dict) else row for row in data]
    return data


async def _read_body(request: web.BaseRequest) -> bytes | None:
    """The body, or None when it is larger than ``MAX_BODY_BYTES``."""
    data = bytearray()
    while chunk := await request.content.read(65536):
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            return None
    return bytes(data)


async def _hold() -> None:
    """Never answer; ends only when the connection is cut (or by stop())."""
    await asyncio.Event().wait()
