"""A miner linked to its pool worker: the pool's view, money figures, the warning.

Real TCP to the Whatsminer emulator and signed HTTP to the Spiderpool emulator;
prices are test entities. Time is frozen and moved by the tests (miners poll
every 30 s, the pool every 5 minutes).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import (
    CONF_BITCOIN_PRICE,
    CONF_ELECTRICITY_PRICE,
    CONF_SUBACCOUNT,
    DOMAIN,
)
from tests.conftest import (
    DRAGONMINT_MAC,
    MINER_PASSWORD,
    POOL_SUBACCOUNT,
    dragonmint_config_entry,
    dragonmint_entry_data,
    miner_entry,
    poll,
    setup_integration,
    spiderpool_entry_data,
)
from tests.emulators import (
    DragonMintEmulator,
    SpiderpoolEmulator,
    WhatsminerV2Emulator,
)
from tests.emulators.spiderpool import (
    SpiderpoolDayProfit,
    SpiderpoolSubaccount,
    SpiderpoolWorker,
)

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
pytestmark = [
    pytest.mark.freeze_time(NOW.isoformat()),
    pytest.mark.usefixtures("pool_clock"),
]

STRATUM = "stratum+tcp://btc.spiderpool.com:443"  # not compared: undocumented
WORKER = "garage-m30"
USER = f"{POOL_SUBACCOUNT}.{WORKER}"
ELECTRICITY = "sensor.electricity_price"
BITCOIN = "sensor.bitcoin_price"
PRICES = {CONF_ELECTRICITY_PRICE: ELECTRICITY, CONF_BITCOIN_PRICE: BITCOIN}
MONEY_KEYS = (
    "pool_hashrate",
    "earnings",
    "electricity_cost",
    "profit",
    "break_even_price",
)
POOL_POLL = 300.0  # seconds
# What the emulated M30S+ reports at 100 %: 84.73 TH/s at 3380 W (39.891 J/TH).
MINER_THS = 84.7306135
MINER_W = 3380.0


def _mine_to(emulator: WhatsminerV2Emulator, user: str) -> None:
    """The miner's only pool: the active one while it mines."""
    emulator.state.pools = [(STRATUM, user, "x")]


def _list_worker(
    sub: SpiderpoolSubaccount,
    name: str = WORKER,
    *,
    realtime_ths: float = 85.0,
    day_ths: float = 84.0,
) -> SpiderpoolWorker:
    worker = SpiderpoolWorker(
        name=name,
        hashrate=str(int(realtime_ths * 1e12)),
        hashrate_24h=str(int(day_ths * 1e12)),
        last_share_ms=int(NOW.timestamp() * 1000) - 5_000,
    )
    sub.workers.append(worker)
    return worker


def _settle_yesterday(sub: SpiderpoolSubaccount) -> None:
    """0.00004 BTC for 80 TH/s: a hashprice of 0.0000005 BTC per TH/s per day."""
    yesterday = NOW.replace(hour=0) - timedelta(days=1)
    sub.day_profits[:] = [
        SpiderpoolDayProfit(
            day_ms=int(yesterday.timestamp() * 1000),
            profit=Decimal("0.00004"),
            avg_hashrate="80000000000000",
        )
    ]


def _set_prices(
    hass: HomeAssistant, electricity: str = "0.25", bitcoin: str = "80000"
) -> None:
    hass.states.async_set(ELECTRICITY, electricity, {"unit_of_measurement": "EUR/kWh"})
    hass.states.async_set(BITCOIN, bitcoin, {"unit_of_measurement": "EUR"})


async def _add_pool(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    subaccount: str = POOL_SUBACCOUNT,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"{subaccount} (BTC)",
        unique_id=f"btc_{subaccount}",
        data={**spiderpool_entry_data(spiderpool), CONF_SUBACCOUNT: subaccount},
        options=PRICES if options is None else options,
    )
    return await setup_integration(hass, entry)


def _entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> str | None:
    """A sensor of a miner's entry by its key (unique ID ``<mac>_<key>``)."""
    registry = er.async_get(hass)
    return next(
        (
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if e.domain == "sensor"
            and e.unique_id.endswith(f"_{key}")
            and not e.unique_id.endswith(f"board_{key}")
        ),
        None,
    )


def _state(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> State:
    entity_id = _entity_id(hass, entry, key)
    assert entity_id is not None, f"no {key} sensor"
    state = hass.states.get(entity_id)
    assert state is not None
    return state


def _figures(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str | None]:
    """The money sensors' states; None for those the miner has not got."""
    return {
        key: None
        if (entity_id := _entity_id(hass, entry, key)) is None
        else hass.states.get(entity_id).state  # type: ignore[union-attr]
        for key in MONEY_KEYS
    }


@pytest.fixture
def linked(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
) -> None:
    """The miner mines to homeminer.garage-m30, which the pool lists; prices set."""
    _mine_to(whatsminer, USER)
    _list_worker(spiderpool.subaccount)
    _settle_yesterday(spiderpool.subaccount)
    _set_prices(hass)


# --- the figures -------------------------------------------------------------------


@pytest.mark.usefixtures("linked")
async def test_figures_of_a_linked_miner(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Every figure by hand from the emulators' values and the prices."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    assert float(_state(hass, miner, "hashrate").state) == MINER_THS
    assert float(_state(hass, miner, "power").state) == MINER_W

    pool_hashrate = _state(hass, miner, "pool_hashrate")
    assert pool_hashrate.state == "84.0"  # the worker's 24 hours
    assert pool_hashrate.attributes["unit_of_measurement"] == "TH/s"
    assert pool_hashrate.attributes["worker"] == USER
    assert pool_hashrate.attributes["account"] == "homeminer (BTC)"
    assert pool_hashrate.attributes["realtime_hashrate"] == 85.0
    assert pool_hashrate.attributes["ratio"] == 99.1  # 84 / 84.73

    # 84.7306 TH/s x 0.0000005 BTC per TH/s and day = 0.0000423653 BTC.
    earnings = _state(hass, miner, "earnings")
    assert earnings.state == "4.237e-05"
    assert earnings.attributes["unit_of_measurement"] == "BTC"
    assert earnings.attributes["device_class"] == "monetary"
    assert "state_class" not in earnings.attributes
    # 3380 W for 24 h = 81.12 kWh, at 0.25 EUR = 20.28 EUR.
    cost = _state(hass, miner, "electricity_cost")
    assert cost.state == "20.28"
    assert cost.attributes["unit_of_measurement"] == "EUR"
    assert cost.attributes["device_class"] == "monetary"
    # 0.00004237 BTC x 80,000 EUR = 3.3896 EUR, less 20.28 EUR.
    assert _state(hass, miner, "profit").state == "-16.8904"
    # A TH/s earns 0.04 EUR a day and draws 39.891 W: 0.95739 kWh; 0.04 / 0.95739.
    break_even = _state(hass, miner, "break_even_price")
    assert break_even.state == "0.0418"
    assert break_even.attributes["unit_of_measurement"] == "EUR/kWh"
    assert break_even.attributes["state_class"] == "measurement"
    assert "device_class" not in break_even.attributes


@pytest.mark.usefixtures("linked", "entity_registry_enabled_by_default")
async def test_money_entities(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Names, units, classes, icons and unique IDs of the five sensors."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    for key in MONEY_KEYS:
        entity_id = _entity_id(hass, miner, key)
        assert entity_id is not None
        assert entity_registry.async_get(entity_id) == snapshot(name=f"{key}-entry")
        assert hass.states.get(entity_id) == snapshot(name=f"{key}-state")


@pytest.mark.usefixtures("linked")
async def test_figures_follow_the_prices(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A new price shows at the miner's next poll; MWh and symbols are converted."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    hass.states.async_set(ELECTRICITY, "100", {"unit_of_measurement": "€/MWh"})
    hass.states.async_set(BITCOIN, "100000", {"unit_of_measurement": "€"})
    await poll(hass, freezer)
    # 81.12 kWh x 0.1 = 8.112; 0.00004237 x 100,000 = 4.237; 0.05 / 0.95739.
    assert _figures(hass, miner) == {
        "pool_hashrate": "84.0",
        "earnings": "4.237e-05",
        "electricity_cost": "8.112",
        "profit": "-3.875",
        "break_even_price": "0.0522",
    }


@pytest.mark.usefixtures("linked")
async def test_a_paused_miner_keeps_its_break_even_price(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Paused, it earns nothing; its break-even price is that of its mining.

    A price automation needs it to know when to resume.
    """
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    whatsminer.state.mining = False
    await poll(hass, freezer)
    figures = _figures(hass, miner)
    assert figures["earnings"] == "0.0"
    assert figures["break_even_price"] == "0.0418"
    idle_w = float(_state(hass, miner, "power").state)
    assert figures["electricity_cost"] == str(round(idle_w * 24 / 1000 * 0.25, 4))


async def test_break_even_price_after_a_restart_while_paused(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The efficiency it last mined at is restored with the sensor."""
    _mine_to(whatsminer, USER)
    _list_worker(spiderpool.subaccount)
    _settle_yesterday(spiderpool.subaccount)
    _set_prices(hass)
    whatsminer.state.mining = False
    restored = State("sensor.garage_m30_break_even_electricity_price", "0.0418")
    mock_restore_cache_with_extra_data(
        hass, [(restored, {"mining_efficiency": 39.891})]
    )
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    assert _entity_id(hass, miner, "break_even_price") == restored.entity_id
    # 0.04 EUR per TH/s and day / (39.891 W x 24 h) = 0.0418 EUR/kWh.
    assert _state(hass, miner, "break_even_price").state == "0.0418"
    assert _state(hass, miner, "earnings").state == "0.0"


@pytest.mark.usefixtures("linked")
async def test_sensors_with_the_prices_the_account_names(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """No prices: the pool's view and the earnings; each price adds its figures."""
    pool = await _add_pool(hass, spiderpool, options={})
    miner = await setup_integration(hass, mock_config_entry)
    assert _figures(hass, miner) == {
        "pool_hashrate": "84.0",
        "earnings": "4.237e-05",
        "electricity_cost": None,
        "profit": None,
        "break_even_price": None,
    }
    hass.config_entries.async_update_entry(pool, options={CONF_BITCOIN_PRICE: BITCOIN})
    await hass.config_entries.async_reload(pool.entry_id)
    await poll(hass, freezer)
    assert _figures(hass, miner)["break_even_price"] == "0.0418"
    assert _figures(hass, miner)["electricity_cost"] is None

    hass.config_entries.async_update_entry(pool, options=PRICES)
    await hass.config_entries.async_reload(pool.entry_id)
    await poll(hass, freezer)
    assert _figures(hass, miner)["profit"] == "-16.8904"

    # A price removed again: the figures stay, unknown.
    hass.config_entries.async_update_entry(pool, options={})
    await hass.config_entries.async_reload(pool.entry_id)
    await poll(hass, freezer)
    assert _figures(hass, miner)["profit"] == STATE_UNKNOWN
    assert _figures(hass, miner)["earnings"] == "4.237e-05"


@pytest.mark.usefixtures("linked")
async def test_an_unreachable_miner_has_no_figures(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Unavailable with the miner, back with its next good poll."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    await whatsminer.set_offline(True)
    await poll(hass, freezer)
    assert set(_figures(hass, miner).values()) == {STATE_UNAVAILABLE}
    await whatsminer.set_offline(False)
    await poll(hass, freezer)
    assert _figures(hass, miner)["profit"] == "-16.8904"


# --- bad prices -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "unit", "level", "reason"),
    [
        ("unavailable", "EUR/kWh", logging.INFO, "it is unavailable"),
        ("cheap", "EUR/kWh", logging.WARNING, "its state 'cheap' is not a number"),
        ("0.25", "°C", logging.WARNING, "its unit '°C' is not EUR/kWh, /MWh or /Wh"),
    ],
)
@pytest.mark.usefixtures("linked")
async def test_a_bad_electricity_price(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    *,
    state: str,
    unit: str,
    level: int,
    reason: str,
) -> None:
    """Unknown cost and profit, no crash, one clear log line; good again, shown."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    hass.states.async_set(ELECTRICITY, state, {"unit_of_measurement": unit})
    for _ in range(3):
        await poll(hass, freezer)
    figures = _figures(hass, miner)
    assert figures["electricity_cost"] == STATE_UNKNOWN
    assert figures["profit"] == STATE_UNKNOWN
    assert figures["earnings"] == "4.237e-05"  # made of no electricity price
    assert figures["break_even_price"] == "0.0418"
    lines = [r for r in caplog.records if ELECTRICITY in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].levelno == level
    assert lines[0].getMessage() == (
        f"homeminer (BTC): the electricity price {ELECTRICITY} cannot be used "
        f"({reason}); the figures made of it are unknown until it can"
    )

    _set_prices(hass)
    await poll(hass, freezer)
    assert _figures(hass, miner)["profit"] == "-16.8904"
    assert "is usable again" in caplog.records[-1].getMessage()


@pytest.mark.parametrize(
    ("state", "unit"),
    [("80000", "USD"), ("0", "EUR"), ("unknown", "EUR"), ("80000", "BTC")],
)
@pytest.mark.usefixtures("linked")
async def test_a_bad_bitcoin_price(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
    *,
    state: str,
    unit: str,
) -> None:
    """A price in another currency is no price here: profit and break-even unknown."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    hass.states.async_set(BITCOIN, state, {"unit_of_measurement": unit})
    await poll(hass, freezer)
    figures = _figures(hass, miner)
    assert figures["profit"] == figures["break_even_price"] == STATE_UNKNOWN
    assert figures["electricity_cost"] == "20.28"


@pytest.mark.usefixtures("linked")
async def test_a_price_entity_that_is_gone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    hass.states.async_remove(BITCOIN)
    await poll(hass, freezer)
    assert _figures(hass, miner)["break_even_price"] == STATE_UNKNOWN


# --- linking ------------------------------------------------------------------------


async def _link_state(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, miner: MockConfigEntry
) -> dict[str, Any]:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, miner)
    return diagnostics["pool_link"]


@pytest.mark.usefixtures("linked")
async def test_link_in_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The account's entry and the state; the worker's name is redacted."""
    pool = await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    assert await _link_state(hass, hass_client, miner) == {
        "state": "linked",
        "worker": "**REDACTED**",
        "account_entry_id": pool.entry_id,
        "pool_unseen": None,
    }


@pytest.mark.parametrize(
    ("user", "state"),
    [
        ("microbtinitial", "no_worker"),  # the factory pools: no sub-account
        ("otherpool.garage-m30", "unconfigured"),  # a sub-account we do not have
        (f"{POOL_SUBACCOUNT}.someone-else", "unlisted"),  # not a worker of it
        (f"{POOL_SUBACCOUNT}.", "no_worker"),
    ],
)
@pytest.mark.usefixtures("linked")
async def test_no_link(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
    *,
    user: str,
    state: str,
) -> None:
    """No link, no guess: no money sensors (the pool URL is not compared)."""
    _mine_to(whatsminer, user)
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    assert set(_figures(hass, miner).values()) == {None}
    assert (await _link_state(hass, hass_client, miner))["state"] == state


@pytest.mark.parametrize("listed_as", ["GARAGE-M30", f"{POOL_SUBACCOUNT}.{WORKER}"])
@pytest.mark.usefixtures("linked")
async def test_worker_names_as_pools_write_them(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
    listed_as: str,
) -> None:
    """Listed with the sub-account or in other case: the same worker."""
    spiderpool.subaccount.workers[-1].name = listed_as
    _mine_to(whatsminer, USER.upper())
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    assert _figures(hass, miner)["pool_hashrate"] == "84.0"


async def _second_miner(
    hass: HomeAssistant, emulator: WhatsminerV2Emulator
) -> MockConfigEntry:
    entry = miner_entry(emulator)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=emulator.state.hostname,
        unique_id=emulator.state.mac.lower(),
        data=entry.data,
    )
    return await setup_integration(hass, entry)


@pytest.mark.usefixtures("linked")
async def test_same_worker_name_on_two_subaccounts(
    hass: HomeAssistant,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """garage-m30 of homeminer and garage-m30 of cellar: each miner its own."""
    cellar = spiderpool.add_subaccount("cellar", workers=2)
    _list_worker(cellar, day_ths=42.0)
    _settle_yesterday(cellar)
    await _add_pool(hass, spiderpool)
    await _add_pool(hass, spiderpool, "cellar")
    first = await setup_integration(hass, mock_config_entry)
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname="cellar-m30", mac="C6:07:20:00:1E:D0"
    ) as other:
        _mine_to(other, f"cellar.{WORKER}")
        second = await _second_miner(hass, other)
        assert _state(hass, first, "pool_hashrate").state == "84.0"
        assert _state(hass, second, "pool_hashrate").state == "42.0"
        assert _state(hass, second, "pool_hashrate").attributes["account"] == (
            "cellar (BTC)"
        )


@pytest.mark.usefixtures("linked")
async def test_two_miners_on_one_worker(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The pool would show their sum for each: neither is linked."""
    await _add_pool(hass, spiderpool)
    first = await setup_integration(hass, mock_config_entry)
    assert (await _link_state(hass, hass_client, first))["state"] == "linked"
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname="twin-m30", mac="C6:07:20:00:1E:D1"
    ) as twin:
        _mine_to(twin, USER)
        second = await _second_miner(hass, twin)
        assert (await _link_state(hass, hass_client, first))["state"] == "shared"
        assert (await _link_state(hass, hass_client, second))["state"] == "shared"
        assert set(_figures(hass, second).values()) == {None}


@pytest.mark.usefixtures("linked")
async def test_a_renamed_worker(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    *,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Until the pool lists the new name the figures are unknown, then follow it."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    _mine_to(whatsminer, f"{POOL_SUBACCOUNT}.garage-m30-new")
    await poll(hass, freezer)
    assert (await _link_state(hass, hass_client, miner))["state"] == "unlisted"
    assert _figures(hass, miner)["pool_hashrate"] == STATE_UNKNOWN
    assert _figures(hass, miner)["earnings"] == STATE_UNKNOWN

    _list_worker(spiderpool.subaccount, "garage-m30-new", day_ths=3.5)
    await poll(hass, freezer, POOL_POLL)
    assert (await _link_state(hass, hass_client, miner))["state"] == "linked"
    assert _figures(hass, miner)["pool_hashrate"] == "3.5"
    attributes = _state(hass, miner, "pool_hashrate").attributes
    assert attributes["worker"] == f"{POOL_SUBACCOUNT}.garage-m30-new"


@pytest.mark.usefixtures("linked")
async def test_account_added_after_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The sensors appear at the miner's first poll after the account is loaded."""
    miner = await setup_integration(hass, mock_config_entry)
    assert set(_figures(hass, miner).values()) == {None}
    await _add_pool(hass, spiderpool)
    await poll(hass, freezer)
    assert _figures(hass, miner)["profit"] == "-16.8904"

    # The account removed: the link is gone, the figures unknown.
    pool = hass.config_entries.async_entries(DOMAIN)[-1]
    await hass.config_entries.async_remove(pool.entry_id)
    await poll(hass, freezer)
    assert set(_figures(hass, miner).values()) == {STATE_UNKNOWN}


# --- the pool does not see it ---------------------------------------------------------


def _issue(hass: HomeAssistant, miner: MockConfigEntry) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"pool_unseen_{miner.entry_id}")


async def _minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int
) -> None:
    """Let minutes pass, a poll of the miner (and the pool when due) each."""
    for _ in range(minutes * 2):
        await poll(hass, freezer, 30)


def _worker(spiderpool: SpiderpoolEmulator) -> SpiderpoolWorker:
    worker = spiderpool.subaccount.worker(WORKER)
    assert worker is not None
    return worker


async def _warned(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    miner: MockConfigEntry,
) -> MockConfigEntry:
    """The miner set up with its worker offline at the pool, warned an hour later."""
    worker = _worker(spiderpool)
    worker.online, worker.hashrate = False, "0"
    await _add_pool(hass, spiderpool)
    await setup_integration(hass, miner)
    await _minutes(hass, freezer, 61)
    assert _issue(hass, miner) is not None
    return miner


@pytest.mark.usefixtures("linked")
async def test_pool_shows_the_worker_offline(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Raised after an hour of mining unseen, with the worker and the account."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    worker = _worker(spiderpool)
    worker.online, worker.hashrate = False, "0"
    await _minutes(hass, freezer, 5)  # the pool's next poll shows it
    await _minutes(hass, freezer, 55)
    assert _issue(hass, miner) is None
    await _minutes(hass, freezer, 5)
    issue = _issue(hass, miner)
    assert issue is not None
    assert issue.translation_key == "pool_worker_offline"
    assert issue.severity is ir.IssueSeverity.WARNING
    assert not issue.is_fixable
    assert issue.translation_placeholders == {
        "name": "garage-m30",
        "account": "homeminer (BTC)",
        "worker": USER,
        "hashrate": "84.73",
        "pool_hashrate": "0.00",
    }

    # Shares arrive: cleared at the miner's poll after the pool's.
    worker.online, worker.hashrate = True, "84000000000000"
    await _minutes(hass, freezer, 5)
    assert _issue(hass, miner) is None


@pytest.mark.usefixtures("linked")
async def test_pool_sees_too_little(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Below half of the miner's hashrate for an hour; half is enough."""
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    _worker(spiderpool).hashrate = str(int(0.5 * MINER_THS * 1e12) + 10**9)
    await _minutes(hass, freezer, 90)
    assert _issue(hass, miner) is None
    _worker(spiderpool).hashrate = "30000000000000"
    await _minutes(hass, freezer, 70)
    issue = _issue(hass, miner)
    assert issue is not None
    assert issue.translation_key == "pool_worker_low"
    assert issue.translation_placeholders["pool_hashrate"] == "30.00"


@pytest.mark.usefixtures("linked")
async def test_pool_does_not_list_the_worker(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A worker name with a typo: the account never lists it."""
    _mine_to(whatsminer, f"{POOL_SUBACCOUNT}.garage-m03")
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    await _minutes(hass, freezer, 61)
    issue = _issue(hass, miner)
    assert issue is not None
    assert issue.translation_key == "pool_worker_missing"
    assert issue.translation_placeholders["worker"] == f"{POOL_SUBACCOUNT}.garage-m03"

    # The name corrected on the miner: cleared at once (the worker is listed).
    _mine_to(whatsminer, USER)
    await poll(hass, freezer)
    assert _issue(hass, miner) is None


@pytest.mark.usefixtures("linked")
async def test_pool_reporting_delay_after_mining_starts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The pool shows a resumed miner after 20 minutes: no warning."""
    whatsminer.state.mining = False
    worker = _worker(spiderpool)
    worker.online, worker.hashrate = False, "0"
    await _add_pool(hass, spiderpool)
    miner = await setup_integration(hass, mock_config_entry)
    await _minutes(hass, freezer, 120)  # paused: nothing, however long
    assert _issue(hass, miner) is None

    whatsminer.state.mining = True
    await _minutes(hass, freezer, 20)
    worker.online, worker.hashrate = True, "84000000000000"
    await _minutes(hass, freezer, 120)
    assert _issue(hass, miner) is None


@pytest.mark.usefixtures("linked")
async def test_a_pause_restarts_the_hour(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Paused: a raised warning clears; mining again, another full hour."""
    miner = await _warned(hass, freezer, spiderpool, mock_config_entry)
    whatsminer.state.mining = False
    await poll(hass, freezer)
    assert _issue(hass, miner) is None
    whatsminer.state.mining = True
    await _minutes(hass, freezer, 50)
    assert _issue(hass, miner) is None


@pytest.mark.usefixtures("linked")
async def test_unknown_pool_view_changes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """The pool's API down: a raised warning stays (the pool's view is unknown)."""
    miner = await _warned(hass, freezer, spiderpool, mock_config_entry)
    spiderpool.faults.offline = True
    await _minutes(hass, freezer, 10)
    assert _issue(hass, miner) is not None


@pytest.mark.usefixtures("linked")
async def test_no_warning_without_an_account(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """A worker of a sub-account Home Assistant does not have: nothing to judge."""
    miner = await setup_integration(hass, mock_config_entry)
    await _minutes(hass, freezer, 70)
    assert _issue(hass, miner) is None


@pytest.mark.usefixtures("linked")
async def test_warning_removed_with_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    miner = await _warned(hass, freezer, spiderpool, mock_config_entry)
    await hass.config_entries.async_remove(miner.entry_id)
    assert _issue(hass, miner) is None


async def test_a_dragonmint_gets_what_it_reports(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, socket_enabled: None
) -> None:
    """It reports no power: the pool's view and earnings, no cost figures."""
    _list_worker(spiderpool.subaccount, "t1")
    _settle_yesterday(spiderpool.subaccount)
    _set_prices(hass)
    await _add_pool(hass, spiderpool)
    emulator = DragonMintEmulator(mac=DRAGONMINT_MAC, noise=False)
    emulator.state.pools = [(STRATUM, f"{POOL_SUBACCOUNT}.t1", "x")]
    async with emulator:
        miner = await setup_integration(
            hass, dragonmint_config_entry(dragonmint_entry_data(emulator))
        )
        hashrate = float(_state(hass, miner, "hashrate").state)
        figures = _figures(hass, miner)
    assert figures == {
        "pool_hashrate": "84.0",
        "earnings": str(round(hashrate * 0.0000005, 8)),
        "electricity_cost": None,
        "profit": None,
        "break_even_price": None,
    }
