"""What a miner earns and costs: the figures, and the prices they are made of.

Pure arithmetic over what the miner reports (hashrate, power), what its pool
account paid per TH/s on the last settled day (the hashprice) and two prices
the user names in the account's options: electricity per kWh, and one bitcoin,
both in Home Assistant's currency. A figure whose inputs are not all known is
None (shown as unknown), never a guess.

A price entity is read as the energy dashboard reads one: a number, with a unit
``<currency>/kWh`` (or per MWh / Wh). Its currency must be Home Assistant's,
written as the code or its usual symbol; a bitcoin price may carry no unit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
import math
from typing import Final

HOURS_PER_DAY: Final = 24
WATTS_PER_KW: Final = 1000
# Per kWh: what one unit of energy in a price's unit is worth in kWh.
ENERGY_UNITS_IN_KWH: Final[Mapping[str, float]] = {"kWh": 1, "MWh": 1000, "Wh": 0.001}
# The usual symbols of currencies, as price sensors write them.
CURRENCY_SYMBOLS: Final[Mapping[str, frozenset[str]]] = {
    "EUR": frozenset({"€"}),
    "USD": frozenset({"$", "US$"}),
    "GBP": frozenset({"£"}),
    "JPY": frozenset({"¥", "円"}),
    "CNY": frozenset({"¥", "元"}),
    "CHF": frozenset({"Fr.", "CHF"}),
    "SEK": frozenset({"kr"}),
    "NOK": frozenset({"kr"}),
    "DKK": frozenset({"kr"}),
    "PLN": frozenset({"zł"}),
    "CZK": frozenset({"Kč"}),
    "INR": frozenset({"₹"}),
    "RUB": frozenset({"₽"}),
    "KRW": frozenset({"₩"}),
    "BRL": frozenset({"R$"}),
    "AUD": frozenset({"$", "A$"}),
    "CAD": frozenset({"$", "C$"}),
    "NZD": frozenset({"$", "NZ$"}),
}
# Rounding of the states: a satoshi, and a hundredth of a cent.
COIN_DIGITS: Final = 8
CURRENCY_DIGITS: Final = 4


class PriceError(ValueError):
    """A price entity's state cannot be used; the message says why."""


class PriceUnavailable(PriceError):
    """A price entity has no price now (missing, unavailable, unknown)."""


def is_currency(unit: str, currency: str) -> bool:
    """Whether ``unit`` names ``currency`` (its code in any case, or a symbol)."""
    unit = unit.strip()
    return unit.upper() == currency.upper() or unit in CURRENCY_SYMBOLS.get(
        currency.upper(), frozenset()
    )


def _number(state: str) -> float:
    if state in ("unavailable", "unknown"):
        raise PriceUnavailable(f"it is {state}")
    try:
        value = float(state)
    except ValueError:
        raise PriceError(f"its state {state!r} is not a number") from None
    if not math.isfinite(value):
        raise PriceError(f"its state {state!r} is not a number")
    return value


def electricity_price_per_kwh(state: str, unit: str | None, currency: str) -> float:
    """A price per kWh in ``currency`` from a state and its unit."""
    value = _number(state)
    money, _, energy = (unit or "").rpartition("/")
    if energy not in ENERGY_UNITS_IN_KWH or not is_currency(money, currency):
        raise PriceError(f"its unit {unit!r} is not {currency}/kWh, /MWh or /Wh")
    return value / ENERGY_UNITS_IN_KWH[energy]


def bitcoin_price(state: str, unit: str | None, currency: str) -> float:
    """The price of one bitcoin in ``currency`` from a state and its unit."""
    value = _number(state)
    if unit and not is_currency(unit, currency):
        raise PriceError(f"its unit {unit!r} is not {currency}")
    if value <= 0:
        raise PriceError(f"a bitcoin price of {state} is no price")
    return value


@dataclass(frozen=True, slots=True)
class MoneyInputs:
    """Everything a miner's money figures are made of; None: not known.

    ``mining_efficiency`` is the J/TH the miner last mined at: while it does
    not mine, its break-even price is still that of its mining.
    """

    hashrate_ths: float | None
    power_w: float | None
    mining_efficiency: float | None
    hashprice: Decimal | None  # BTC per TH/s per day, the last settled day
    electricity_price: float | None  # currency per kWh
    bitcoin_price: float | None  # currency per BTC


def earnings(inputs: MoneyInputs) -> float | None:
    """BTC per day: the miner's hashrate at the last settled day's hashprice."""
    if inputs.hashrate_ths is None or inputs.hashprice is None:
        return None
    return round(inputs.hashrate_ths * float(inputs.hashprice), COIN_DIGITS)


def electricity_cost(inputs: MoneyInputs) -> float | None:
    """Currency per day: the miner's power for a day at the electricity price."""
    if inputs.power_w is None or inputs.electricity_price is None:
        return None
    kwh_per_day = inputs.power_w * HOURS_PER_DAY / WATTS_PER_KW
    return round(kwh_per_day * inputs.electricity_price, CURRENCY_DIGITS)


def profit(inputs: MoneyInputs) -> float | None:
    """Currency per day: earnings at the bitcoin price, less the electricity."""
    earned, cost = earnings(inputs), electricity_cost(inputs)
    if earned is None or cost is None or inputs.bitcoin_price is None:
        return None
    return round(earned * inputs.bitcoin_price - cost, CURRENCY_DIGITS)


def break_even_price(inputs: MoneyInputs) -> float | None:
    """Currency per kWh: the electricity price at which the profit is zero.

    Earnings per kWh: a TH/s earns the hashprice a day and draws the
    efficiency (J/TH = W per TH/s) for a day, so the miner's own hashrate and
    power cancel out and only how efficiently it mines counts.
    """
    efficiency = inputs.mining_efficiency
    if not efficiency or inputs.hashprice is None or inputs.bitcoin_price is None:
        return None
    kwh_per_ths_day = efficiency * HOURS_PER_DAY / WATTS_PER_KW
    earned = float(inputs.hashprice) * inputs.bitcoin_price
    return round(earned / kwh_per_ths_day, CURRENCY_DIGITS)


def mining_efficiency(
    hashrate_ths: float | None, power_w: float | None
) -> float | None:
    """J/TH while the miner hashes; None while it does not."""
    if not hashrate_ths or hashrate_ths <= 0 or not power_w or power_w <= 0:
        return None
    return power_w / hashrate_ths
