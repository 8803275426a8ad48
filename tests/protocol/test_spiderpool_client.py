"""The Spiderpool client against the emulator: signing, envelopes, errors, pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import json

import aiohttp
import pytest

from custom_components.miner_hub.protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    NotFound,
    RateLimited,
    RequestTimeout,
    ServiceNotRunning,
)
from custom_components.miner_hub.protocol.gate import Gate
from custom_components.miner_hub.protocol.spiderpool.client import SpiderpoolClient
from custom_components.miner_hub.protocol.spiderpool.crypto import (
    InvalidPrivateKey,
    load_private_key,
    sign,
)
from custom_components.miner_hub.protocol.spiderpool.models import WorkerStatus
from custom_components.miner_hub.protocol.spiderpool.parse import day_profit_from
from tests.emulators import (
    VENDOR_DEMO_PRIVATE_KEY_B64,
    VENDOR_DEMO_PUBLIC_KEY_PEM,
    SpiderpoolEmulator,
)

COIN, SUBACCOUNT = "btc", "homeminer"


@pytest.fixture
async def pool(socket_enabled: None) -> AsyncIterator[SpiderpoolEmulator]:
    async with SpiderpoolEmulator(workers=12) as emulator:
        yield emulator


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def make_client(
    session: aiohttp.ClientSession,
    pool: SpiderpoolEmulator,
    *,
    key: str | None = None,
    access_key: str | None = None,
    min_interval: float = 0.0,
    gate: Gate | None = None,
) -> SpiderpoolClient:
    """A client of the account; clients given the same gate share its spacing."""
    return SpiderpoolClient(
        session,
        access_key or pool.access_key,
        key or pool.private_key_b64,
        base_url=pool.url,
        min_interval=min_interval,
        request_timeout=2,
        clock=pool.time,  # the emulator's clock: its freshness window
        gate=gate,
    )


@pytest.fixture
def client(
    session: aiohttp.ClientSession, pool: SpiderpoolEmulator
) -> SpiderpoolClient:
    return make_client(session, pool)


# --- signing ---------------------------------------------------------------


def test_vendor_signing_vector() -> None:
    """The reference vector, byte for byte, and its negative case."""
    key = load_private_key(VENDOR_DEMO_PRIVATE_KEY_B64)
    assert sign(key, '{"coin":"btc","subaccount":"test001"}', 1628381288000) == (
        "B7NAp3oHOGUy8SHyah55CAO/NTUCn3JGBpy3qy/nDPp8N/laEXAUlT3Jk56+4JQzH68ElYMG6muR"
        "9u/EcSgxbdyWNpitqe4hDv0BLXWIJsjxiNLwTgz5Am42oFaeFo8vGsR0/g1U5tOqj/H8bH1zf4xW"
        "Y3N14y9F6juT7SQcUis="
    )
    assert sign(key, '{"coin": "btc", "subaccount": "test001"}', 1628381288000) == (
        "cqNWvmSjzaZVvWMHHH6uG/W6+ib3WX7MPj4Xdl4pbB1ONfiA2n/ClS0QTw7lpOywzaunqMvQiwMs"
        "VRAH61wu35uyrkz+lIvN3izEE4++mfXKo9QYmp0oGyHgBxJjufMUlwlJr9aDLbvZPKRzHAQ6v31Z"
        "+ZxgBMia37ssoh/dIO0="
    )


async def test_envelope_signs_the_exact_string_sent(
    session: aiohttp.ClientSession,
) -> None:
    client = SpiderpoolClient(
        session, " ABCD ", VENDOR_DEMO_PRIVATE_KEY_B64, clock=lambda: 1628381288.0
    )
    body = client.envelope({"coin": "btc", "subaccount": "test001"})
    assert body == {
        "dataJson": '{"coin":"btc","subaccount":"test001"}',
        "accessKey": "ABCD",
        "timestamp": 1628381288000,
        "sign": sign(
            load_private_key(VENDOR_DEMO_PRIVATE_KEY_B64),
            '{"coin":"btc","subaccount":"test001"}',
            1628381288000,
        ),
    }
    assert "MIIC" not in repr(client)


def test_private_key_forms(pool: SpiderpoolEmulator) -> None:
    bare = load_private_key(pool.private_key_b64)
    pem = load_private_key(pool.private_key_pem)
    wrapped = "\n".join(
        pool.private_key_b64[i : i + 64]
        for i in range(0, len(pool.private_key_b64), 64)
    )
    assert bare == pem == load_private_key(wrapped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not a valid RSA key"),
        ("not a key at all", "not a valid RSA key"),
        ("QUJDRA==", "not a valid RSA key"),
        (VENDOR_DEMO_PUBLIC_KEY_PEM, "public key"),
    ],
)
def test_invalid_private_keys_are_rejected_early(text: str, message: str) -> None:
    with pytest.raises(InvalidPrivateKey, match=message):
        load_private_key(text)


# --- reads -------------------------------------------------------------------


async def test_subaccount_info(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    info = await client.get_subaccount_info(COIN, SUBACCOUNT)
    workers = pool.subaccount.workers
    active = sum(1 for worker in workers if worker.status == "active")
    assert info.active_workers == active
    assert info.inactive_workers == len(workers) - active
    total_hs = sum(Decimal(worker.hashrate or 0) for worker in workers)
    assert info.hashrate_ths == pytest.approx(float(total_hs) / 1e12, rel=0.01)
    assert info.hashrate_24h_ths is not None
    assert info.wallet_address == pool.subaccount.wallet_address
    request = pool.received[-1]
    assert request.verdict == "ok"
    assert request.data == {"coin": COIN, "subaccount": SUBACCOUNT}


async def test_profit_info(client: SpiderpoolClient, pool: SpiderpoolEmulator) -> None:
    profit = await client.get_profit_info(COIN, SUBACCOUNT)
    assert profit.unpaid == pool.subaccount.unpaid_profit
    assert profit.total is not None
    assert profit.total > 0
    assert profit.yesterday is not None
    assert profit.today_estimate is not None


async def test_workers(client: SpiderpoolClient, pool: SpiderpoolEmulator) -> None:
    workers = await client.get_workers(COIN, SUBACCOUNT)
    assert len(workers) == 12
    assert [w.name for w in workers] == [w.name for w in pool.subaccount.workers]
    statuses = {w.status for w in workers}
    assert statuses <= set(WorkerStatus)
    online = [w for w in workers if w.online]
    assert online
    assert all(w.hashrate_ths and w.hashrate_ths > 1 for w in online)
    assert all(w.last_share is None or w.last_share.tzinfo is UTC for w in workers)


async def test_workers_from_the_paged_list_when_the_documented_path_is_missing(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.faults.documented_only_endpoints = False
    workers = await client.get_workers(COIN, SUBACCOUNT)
    assert len(workers) == 12
    pages = [r.data for r in pool.received if r.path.endswith("/worker/list")]
    assert [page["pageNum"] for page in pages] == [1, 2]


async def test_payments_drain_every_page(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.faults.payments_oldest_first = True
    until = datetime.fromtimestamp(pool.time(), UTC)
    payments = await client.get_payments(
        COIN, SUBACCOUNT, until - timedelta(days=90), until
    )
    assert len(payments) == len(pool.subaccount.payments) > 10
    assert [p.time for p in payments] == sorted(
        (p.time for p in payments), reverse=True
    )
    assert all(p.amount is not None and p.amount > 0 for p in payments)
    assert len([r for r in pool.received if "PaymentRecord" in r.path]) == 2


async def test_day_profits_every_page_newest_first(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    """Settled days (start and end in seconds, as documented), with their hashprice."""
    until = datetime.fromtimestamp(pool.time(), UTC)
    since = until - timedelta(days=30)
    days = await client.get_day_profits(COIN, SUBACCOUNT, since, until)
    in_window = [
        d for d in pool.subaccount.day_profits if d.day_ms >= since.timestamp() * 1000
    ]
    assert len(days) == len(in_window) == 29  # three pages of ten
    assert [day.day for day in days] == sorted((d.day for d in days), reverse=True)
    newest, emulated = days[0], pool.subaccount.day_profits[0]
    assert newest.day == datetime.fromtimestamp(emulated.day_ms / 1000, UTC)
    assert newest.profit == emulated.profit
    assert newest.avg_hashrate_ths == pytest.approx(int(emulated.avg_hashrate) / 1e12)
    assert newest.hashprice == newest.profit / Decimal(str(newest.avg_hashrate_ths))
    requests = [r for r in pool.received if "ProfitDetailInfo" in r.path]
    assert [r.data["pageNumber"] for r in requests] == [1, 2, 3]
    assert requests[0].data["endTimestamp"] == int(until.timestamp())


async def test_day_profits_where_the_pool_does_not_offer_them(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    """A documented endpoint no live client calls: none, as for minimum payment."""
    pool.faults.documented_only_endpoints = False
    until = datetime.fromtimestamp(pool.time(), UTC)
    assert await client.get_day_profits(COIN, SUBACCOUNT, until, until) == ()


def test_a_day_without_a_date_is_skipped() -> None:
    assert day_profit_from({"dayProfit": 0.0001, "avgHashrate": "1"}) is None
    day = day_profit_from({"dayDate": 1_790_000_000_000, "dayProfit": None})
    assert day is not None
    assert day.hashprice is None


async def test_charts_and_minimum_payment(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    series = await client.get_hashrate_detail(COIN, SUBACCOUNT)
    assert series.interval_s == 3600
    assert len(series.values_ths) == 24
    worker = pool.subaccount.workers[0].name
    detail = await client.get_worker_hashrate_detail(COIN, SUBACCOUNT, worker, "daily")
    assert detail.values_ths
    assert await client.get_minimum_payment(COIN, SUBACCOUNT) == Decimal("0.001")
    since = datetime.fromtimestamp(pool.time(), UTC) - timedelta(days=2)
    records = await client.get_hashrate(COIN, SUBACCOUNT, "hour", since)
    assert records
    assert all(record.time is not None for record in records)
    with pytest.raises(InvalidParameter):
        await client.get_hashrate(COIN, SUBACCOUNT, "week", since)


async def test_both_success_envelopes(
    session: aiohttp.ClientSession, socket_enabled: None
) -> None:
    async with SpiderpoolEmulator(workers=3, envelope="code200") as pool:
        client = make_client(session, pool)
        assert (await client.get_profit_info(COIN, SUBACCOUNT)).total is not None
        assert json.loads(pool.received[-1].body)["timestamp"] > 0


# --- writes ------------------------------------------------------------------


async def test_writes(client: SpiderpoolClient, pool: SpiderpoolEmulator) -> None:
    await client.update_minimum_payment(COIN, SUBACCOUNT, Decimal("0.005"))
    assert pool.received[-1].data_json == (
        '{"coin":"btc","subaccount":"homeminer","minimumPay":0.005}'
    )
    assert pool.subaccount.minimum_payment == Decimal("0.005")
    await client.modify_wallet_address(COIN, SUBACCOUNT, " bc1qnewaddress ")
    assert pool.subaccount.wallet_address == "bc1qnewaddress"
    with pytest.raises(InvalidParameter):
        await client.update_minimum_payment(COIN, SUBACCOUNT, Decimal(0))
    with pytest.raises(InvalidParameter):
        await client.modify_wallet_address(COIN, SUBACCOUNT, "  ")


# --- errors ------------------------------------------------------------------


async def test_unknown_access_key_is_an_auth_failure(
    session: aiohttp.ClientSession, pool: SpiderpoolEmulator
) -> None:
    client = make_client(session, pool, access_key="0" * 32)
    with pytest.raises(AuthFailed, match="rejected the request"):
        await client.get_profit_info(COIN, SUBACCOUNT)
    assert client.last_error_code is not None
    assert pool.received[-1].verdict == "unknown_key"


async def test_bad_signature_is_an_auth_failure(
    session: aiohttp.ClientSession, pool: SpiderpoolEmulator
) -> None:
    client = make_client(session, pool, key=VENDOR_DEMO_PRIVATE_KEY_B64)
    with pytest.raises(AuthFailed):
        await client.get_profit_info(COIN, SUBACCOUNT)
    assert pool.received[-1].verdict == "bad_signature"


async def test_stale_timestamp_is_an_auth_failure(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.advance(3600)  # the pool's clock runs ahead of ours by an hour
    client._clock = lambda: pool.time() - 3600
    with pytest.raises(AuthFailed):
        await client.get_profit_info(COIN, SUBACCOUNT)
    assert pool.received[-1].verdict == "stale"


async def test_unknown_subaccount_and_coin(client: SpiderpoolClient) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        await client.get_profit_info(COIN, "nosuchaccount")
    with pytest.raises(CommandRejected, match="Unsupported coin"):
        await client.get_profit_info("BTC", SUBACCOUNT)


async def test_server_errors_are_temporary(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.faults.http_500 = True
    with pytest.raises(ServiceNotRunning, match="Internal Server Error"):
        await client.get_profit_info(COIN, SUBACCOUNT)
    pool.faults.http_500 = False
    pool.faults.non_json = True
    with pytest.raises(ServiceNotRunning, match="HTTP 502"):
        await client.get_profit_info(COIN, SUBACCOUNT)
    pool.faults.non_json = False
    pool.faults.string_200_error = True
    with pytest.raises(AuthFailed):  # a string "200" is no success
        await client.get_profit_info(COIN, SUBACCOUNT)


async def test_rate_limit_backs_off(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.faults.rate_limit = True
    with pytest.raises(RateLimited) as caught:
        await client.get_profit_info(COIN, SUBACCOUNT)
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0
    sent = len(pool.received)
    with pytest.raises(RateLimited, match="retrying in"):
        await client.get_profit_info(COIN, SUBACCOUNT)
    assert len(pool.received) == sent  # nothing sent while backing off


async def test_calls_to_one_account_are_spaced(
    session: aiohttp.ClientSession, pool: SpiderpoolEmulator, gate: Gate
) -> None:
    first = make_client(session, pool, min_interval=0.3, gate=gate)
    second = make_client(session, pool, min_interval=0.3, gate=gate)
    loop_time = __import__("asyncio").get_running_loop().time
    started = loop_time()
    await first.get_minimum_payment(COIN, SUBACCOUNT)
    await second.get_minimum_payment(COIN, SUBACCOUNT)
    await first.get_minimum_payment(COIN, SUBACCOUNT)
    assert loop_time() - started >= 0.6


async def test_transport_failures(
    client: SpiderpoolClient, pool: SpiderpoolEmulator
) -> None:
    pool.faults.stall = True
    client.request_timeout = 0.2
    with pytest.raises(RequestTimeout):
        await client.get_profit_info(COIN, SUBACCOUNT)
    pool.faults.stall = False
    pool.faults.offline = True
    with pytest.raises(ConnectionFailed):
        await client.get_profit_info(COIN, SUBACCOUNT)
