"""The money arithmetic and the reading of price states, by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from custom_components.miner_hub.money import (
    MoneyInputs,
    PriceError,
    PriceUnavailable,
    bitcoin_price,
    break_even_price,
    earnings,
    electricity_cost,
    electricity_price_per_kwh,
    mining_efficiency,
    profit,
)

# A 100 TH/s miner drawing 3000 W (30 J/TH); a TH/s earned 0.0000005 BTC a day;
# electricity at 0.25 a kWh, a bitcoin at 80,000.
INPUTS = MoneyInputs(
    hashrate_ths=100.0,
    power_w=3000.0,
    mining_efficiency=30.0,
    hashprice=Decimal("0.0000005"),
    electricity_price=0.25,
    bitcoin_price=80_000.0,
)


def test_figures() -> None:
    """100 x 5e-7 = 5e-5 BTC; 72 kWh x 0.25 = 18; 5e-5 x 80,000 - 18 = -14."""
    assert earnings(INPUTS) == 0.00005
    assert electricity_cost(INPUTS) == 18.0
    assert profit(INPUTS) == -14.0
    # 4 a day for 72 kWh: 0.0556 a kWh.
    assert break_even_price(INPUTS) == 0.0556


def test_profit_is_zero_at_the_break_even_price() -> None:
    at_break_even = replace(INPUTS, electricity_price=4 / 72)
    assert profit(at_break_even) == 0.0


@pytest.mark.parametrize(
    "missing",
    [
        "hashrate_ths",
        "power_w",
        "mining_efficiency",
        "hashprice",
        "electricity_price",
        "bitcoin_price",
    ],
)
def test_a_missing_input_gives_no_figure_made_of_it(missing: str) -> None:
    inputs = replace(INPUTS, **{missing: None})
    figures = {
        "earnings": earnings(inputs),
        "electricity_cost": electricity_cost(inputs),
        "profit": profit(inputs),
        "break_even_price": break_even_price(inputs),
    }
    uses = {
        "hashrate_ths": {"earnings", "profit"},
        "power_w": {"electricity_cost", "profit"},
        "mining_efficiency": {"break_even_price"},
        "hashprice": {"earnings", "profit", "break_even_price"},
        "electricity_price": {"electricity_cost", "profit"},
        "bitcoin_price": {"profit", "break_even_price"},
    }[missing]
    assert {name for name, value in figures.items() if value is None} == uses


def test_a_paused_miner_earns_nothing_and_keeps_its_break_even_price() -> None:
    paused = replace(INPUTS, hashrate_ths=0.0, power_w=12.0)
    assert earnings(paused) == 0.0
    assert electricity_cost(paused) == 0.072  # 0.288 kWh
    assert profit(paused) == -0.072
    assert break_even_price(paused) == 0.0556


@pytest.mark.parametrize(
    ("hashrate", "power", "efficiency"),
    [(100.0, 3000.0, 30.0), (0.0, 15.0, None), (None, 3000.0, None), (90.0, 0, None)],
)
def test_mining_efficiency(
    hashrate: float | None, power: float | None, efficiency: float | None
) -> None:
    assert mining_efficiency(hashrate, power) == efficiency


@pytest.mark.parametrize(
    ("state", "unit", "per_kwh"),
    [
        ("0.25", "EUR/kWh", 0.25),
        ("0.25", "eur/kWh", 0.25),
        ("0.25", "€/kWh", 0.25),
        ("250", "EUR/MWh", 0.25),
        ("0.00025", "€/Wh", 0.25),
        ("-0.01", "EUR/kWh", -0.01),  # negative spot prices exist
    ],
)
def test_electricity_price(state: str, unit: str, per_kwh: float) -> None:
    assert electricity_price_per_kwh(state, unit, "EUR") == pytest.approx(per_kwh)


@pytest.mark.parametrize(
    ("state", "unit", "problem"),
    [
        ("0.25", None, "is not EUR/kWh"),
        ("0.25", "kWh", "is not EUR/kWh"),
        ("25", "ct/kWh", "is not EUR/kWh"),
        ("0.25", "USD/kWh", "is not EUR/kWh"),
        ("0.25", "EUR/m³", "is not EUR/kWh"),
        ("cheap", "EUR/kWh", "is not a number"),
        ("nan", "EUR/kWh", "is not a number"),
    ],
)
def test_electricity_price_refused(state: str, unit: str | None, problem: str) -> None:
    with pytest.raises(PriceError, match=problem):
        electricity_price_per_kwh(state, unit, "EUR")


@pytest.mark.parametrize(
    ("state", "unit"), [("80000", "EUR"), ("80000", "€"), ("80000", None)]
)
def test_bitcoin_price(state: str, unit: str | None) -> None:
    assert bitcoin_price(state, unit, "EUR") == 80_000.0


@pytest.mark.parametrize(
    ("state", "unit", "problem"),
    [
        ("80000", "USD", "is not EUR"),
        ("80000", "BTC", "is not EUR"),
        ("0", "EUR", "no price"),
        ("-1", "EUR", "no price"),
        ("a lot", "EUR", "is not a number"),
    ],
)
def test_bitcoin_price_refused(state: str, unit: str, problem: str) -> None:
    with pytest.raises(PriceError, match=problem):
        bitcoin_price(state, unit, "EUR")


@pytest.mark.parametrize("state", ["unavailable", "unknown"])
def test_no_price_just_now(state: str) -> None:
    """Told apart from a mistake: logged as information, not as a warning."""
    with pytest.raises(PriceUnavailable):
        bitcoin_price(state, "EUR", "EUR")
