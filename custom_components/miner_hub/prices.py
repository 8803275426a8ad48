"""The price entities a pool account's options name, read for its miners' figures.

A price that cannot be used (no such entity, unavailable, not a number, a
wrong unit) is None: the figures made of it are unknown. Each such problem is
logged once, with the entity and the reason, until the price is good again: a
warning for a mistake (not a number, a wrong unit), information for a price
missing for a while (at start the price's integration may come later).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import Any

from homeassistant.const import ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant

from .const import CONF_BITCOIN_PRICE, CONF_ELECTRICITY_PRICE, LOGGER
from .money import (
    PriceError,
    PriceUnavailable,
    bitcoin_price,
    electricity_price_per_kwh,
)

type PriceParser = Callable[[str, str | None, str], float]
PARSERS: dict[str, PriceParser] = {
    CONF_ELECTRICITY_PRICE: electricity_price_per_kwh,
    CONF_BITCOIN_PRICE: bitcoin_price,
}


class AccountPrices:
    """The electricity and bitcoin prices of one pool account's options."""

    def __init__(
        self, hass: HomeAssistant, name: str, options: Mapping[str, Any]
    ) -> None:
        """The entities the options name (either may be missing)."""
        self._hass = hass
        self._name = name
        self.entity_ids: dict[str, str] = {
            option: entity_id
            for option in PARSERS
            if (entity_id := options.get(option))
        }
        self._logged: dict[str, str] = {}  # option → the problem logged last

    def has(self, option: str) -> bool:
        """Whether the options name an entity for this price."""
        return option in self.entity_ids

    def read(self, option: str) -> float | None:
        """The price now; None when it cannot be used (logged once)."""
        if (entity_id := self.entity_ids.get(option)) is None:
            return None
        try:
            value = parse_price(self._hass, option, entity_id)
        except PriceError as err:
            if self._logged.get(option) != str(err):
                self._logged[option] = str(err)
                # A price missing for a while (at start, say) is no mistake.
                level = (
                    logging.INFO
                    if isinstance(err, PriceUnavailable)
                    else logging.WARNING
                )
                LOGGER.log(
                    level,
                    "%s: the %s %s cannot be used (%s); the figures made of it "
                    "are unknown until it can",
                    self._name,
                    option.replace("_", " "),
                    entity_id,
                    err,
                )
            return None
        if self._logged.pop(option, None) is not None:
            LOGGER.info("%s: the %s %s is usable again", self._name, option, entity_id)
        return value


def parse_price(hass: HomeAssistant, option: str, entity_id: str) -> float:
    """The price an entity shows now (PriceError: why it cannot be used)."""
    state = hass.states.get(entity_id)
    if state is None:
        raise PriceUnavailable("there is no such entity")
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT)
    return PARSERS[option](state.state, unit, hass.config.currency)


def price_errors(hass: HomeAssistant, options: Mapping[str, Any]) -> dict[str, str]:
    """The options form's errors: price entities that show no usable price.

    One without a price just now (unavailable) is accepted: it may come back.
    """
    errors: dict[str, str] = {}
    for option in PARSERS:
        if not (entity_id := options.get(option)):
            continue
        try:
            parse_price(hass, option, entity_id)
        except PriceUnavailable:
            continue
        except PriceError:
            errors[option] = f"invalid_{option}"
    return errors
