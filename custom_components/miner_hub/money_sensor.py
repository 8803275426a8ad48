"""A linked miner's pool view and money: hashrate the pool sees, earnings, costs.

The sensor platform adds these to a miner once it is linked to a pool worker
(``pool_link``): the pool's hashrate and the earnings at once, and the figures
that need a price once the account's options name that price. Added, they
stay: while the link or an input is missing they are unknown, and the figures
follow the miner's polls (the pool's data and the prices as they are then).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, override

from homeassistant.components.sensor import SensorEntity, SensorStateClass
from homeassistant.core import callback
from homeassistant.helpers.restore_state import RestoredExtraData, RestoreEntity

from .const import CONF_BITCOIN_PRICE, CONF_ELECTRICITY_PRICE
from .coordinator import MinerCoordinator
from .entity import MinerEntity, Reported
from .money import (
    MoneyInputs,
    break_even_price,
    earnings,
    electricity_cost,
    mining_efficiency,
    profit,
)
from .pool_link import LinkState, PoolLink, resolve_link
from .sensor_entity import (
    HASHRATE,
    MONEY,
    MinerHubSensor,
    MinerHubSensorEntityDescription,
)


@dataclass(frozen=True, slots=True)
class MinerMoney:
    """A miner's link and the inputs of its money figures."""

    link: PoolLink
    inputs: MoneyInputs


@dataclass(frozen=True, kw_only=True)
class MoneySensorEntityDescription(MinerHubSensorEntityDescription[MinerMoney]):
    """A money sensor: what it needs to exist.

    ``prices``: the account options it is made of; ``needs_power``: made of the
    miner's power, which a DragonMint never reports. ``{coin}`` in the unit is
    the account's coin, ``{currency}`` Home Assistant's currency.
    """

    prices: frozenset[str] = frozenset()
    needs_power: bool = False


def _pool_hashrate(money: MinerMoney) -> float | None:
    worker = money.link.worker
    return None if worker is None else worker.hashrate_24h_ths


def _pool_attributes(money: MinerMoney) -> dict[str, Any] | None:
    """The worker, what the pool sees now, and its 24 hours beside the miner's."""
    link, worker = money.link, money.link.worker
    if worker is None or link.claim is None or link.account is None:
        return None
    day, miner = worker.hashrate_24h_ths, money.inputs.hashrate_ths
    return {
        "worker": link.claim.user,
        "account": link.account.config_entry.title,
        "realtime_hashrate": worker.hashrate_ths,
        # The pool's 24 hours per the miner's hashrate now: about 100 for a
        # miner that hashed steadily all day and whose shares all count.
        "ratio": round(100 * day / miner, 1) if day is not None and miner else None,
    }


def _figure(key: str, value_fn: Any, **options: Any) -> MoneySensorEntityDescription:
    return MoneySensorEntityDescription(
        key=key, translation_key=key, value_fn=value_fn, **options
    )


IN_COIN: Final = {**MONEY, "native_unit_of_measurement": "{coin}"}
IN_CURRENCY: Final = {
    **MONEY,
    "native_unit_of_measurement": "{currency}",
    "suggested_display_precision": 2,
}


# Amounts per day are not totals: no state class (MONETARY allows TOTAL or none).
MONEY_SENSORS: Final = (
    _figure(
        "pool_hashrate",
        _pool_hashrate,
        attributes_fn=_pool_attributes,
        **HASHRATE,
    ),
    _figure("earnings", lambda money: earnings(money.inputs), **IN_COIN),
    _figure(
        "electricity_cost",
        lambda money: electricity_cost(money.inputs),
        prices=frozenset({CONF_ELECTRICITY_PRICE}),
        needs_power=True,
        **IN_CURRENCY,
    ),
    _figure(
        "profit",
        lambda money: profit(money.inputs),
        prices=frozenset({CONF_ELECTRICITY_PRICE, CONF_BITCOIN_PRICE}),
        needs_power=True,
        **IN_CURRENCY,
    ),
    # A price per kWh, like the price sensors it is compared with: no
    # monetary class (its unit is no currency), a measurement with statistics.
    _figure(
        "break_even_price",
        lambda money: break_even_price(money.inputs),
        native_unit_of_measurement="{currency}/kWh",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=3,
        prices=frozenset({CONF_BITCOIN_PRICE}),
        needs_power=True,
    ),
)


def new_money_sensors(
    coordinator: MinerCoordinator, added: set[str], reported: Reported
) -> list[SensorEntity]:
    """Money sensors a linked miner has not got yet (with their inputs there).

    Set up from its profile (the miner is off, its link unknown): those it had.
    """
    if all(description.key in added for description in MONEY_SENSORS):
        return []
    if reported.data is None:
        coin = coordinator.profile.coin
        return [] if coin is None else _new(coordinator, added, reported.keys, coin)
    link = resolve_link(coordinator.hass, coordinator)
    if link.state is not LinkState.LINKED or (account := link.account) is None:
        return []
    reports_power = reported.data.status.power_w is not None
    keys = {
        description.key
        for description in MONEY_SENSORS
        if (reports_power or not description.needs_power)
        and all(account.prices.has(price) for price in description.prices)
    }
    if new := _new(coordinator, added, keys, account.coin):
        coordinator.profile.record_coin(account.coin)
    return new


def _new(
    coordinator: MinerCoordinator, added: set[str], keys: Collection[str], coin: str
) -> list[SensorEntity]:
    new: list[SensorEntity] = []
    for description in MONEY_SENSORS:
        if description.key in keys and description.key not in added:
            added.add(description.key)
            new.append(MinerMoneySensorEntity(coordinator, description, coin))
    return new


class MinerMoneySensorEntity(MinerEntity, MinerHubSensor[MinerMoney], RestoreEntity):
    """A money figure of a miner; unknown while it has no link or an input.

    Remembers the efficiency (J/TH) the miner last mined at, also across
    restarts: a paused miner's break-even price is that of its mining.
    """

    entity_description: MoneySensorEntityDescription

    def __init__(
        self,
        coordinator: MinerCoordinator,
        description: MoneySensorEntityDescription,
        coin: str,
    ) -> None:
        """The units name the account's coin and Home Assistant's currency."""
        super().__init__(coordinator, description)
        self._coin = coin.upper()
        self._mining_efficiency: float | None = None
        self._money: MinerMoney | None = None

    @property
    @override
    def native_unit_of_measurement(self) -> str | None:
        """The description's unit with the coin and the currency filled in."""
        unit = self.entity_description.native_unit_of_measurement
        if unit is None:
            return None
        return unit.format(coin=self._coin, currency=self.hass.config.currency)

    @override
    async def async_added_to_hass(self) -> None:
        """Take up the efficiency of before a restart; work out the figures."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_extra_data()) is not None:
            efficiency = last.as_dict().get("mining_efficiency")
            if isinstance(efficiency, float):
                self._mining_efficiency = efficiency
        self._update_money()

    @property
    @override
    def extra_restore_state_data(self) -> RestoredExtraData:
        """The efficiency the miner last mined at."""
        return RestoredExtraData({"mining_efficiency": self._mining_efficiency})

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._update_money()
        super()._handle_coordinator_update()

    def _update_money(self) -> None:
        if (data := self.coordinator.polled) is None:
            return  # set up from its profile: nothing polled yet
        status = data.status
        efficiency = mining_efficiency(status.hashrate_ths, status.power_w)
        if efficiency is not None:
            self._mining_efficiency = efficiency
        link = resolve_link(self.hass, self.coordinator)
        account = link.account if link.state is LinkState.LINKED else None
        last_day = None if account is None else account.data.last_day
        self._money = MinerMoney(
            link,
            MoneyInputs(
                hashrate_ths=status.hashrate_ths,
                power_w=status.power_w,
                mining_efficiency=self._mining_efficiency,
                hashprice=None if last_day is None else last_day.hashprice,
                electricity_price=None
                if account is None
                else account.prices.read(CONF_ELECTRICITY_PRICE),
                bitcoin_price=None
                if account is None
                else account.prices.read(CONF_BITCOIN_PRICE),
            ),
        )

    def _source(self) -> MinerMoney | None:
        return self._money
