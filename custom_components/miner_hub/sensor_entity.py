"""The sensor entities of Miner Hub, and the vocabulary of their descriptions.

A sensor reads one source: a miner's data, one of its boards, its command
governor, a pool account's data or a pool worker. Its description says how to
get the value from the source; shapes carry the units, classes and precision
sensors of one kind share. The descriptions themselves are in ``sensor.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    REVOLUTIONS_PER_MINUTE,
    EntityCategory,
    UnitOfPower,
    UnitOfTemperature,
)
from homeassistant.helpers.typing import StateType

from .const import UNIT_HASHRATE
from .coordinator import MinerData
from .entity import MinerBoardEntity, MinerEntity, PoolAccountEntity, PoolWorkerEntity
from .governor import CommandGovernor
from .pool_coordinator import PoolCoordinator, PoolData
from .protocol.models import Capability, HashboardStatus
from .protocol.spiderpool.models import Worker

type SensorValue = StateType | datetime | Decimal


@dataclass(frozen=True, kw_only=True)
class MinerHubSensorEntityDescription[S](SensorEntityDescription):
    """A sensor of ``S``: a miner's data, a board, an account's data or a worker.

    ``kinds``: the miner kinds (config entry kinds) that get a board sensor;
    None: every kind. ``shown_by``: the capability of a control that shows the
    same value (a select, a number): a miner with it gets no such sensor, one
    name for one idea (unless it had the sensor before: its ID stays).
    """

    value_fn: Callable[[S], SensorValue]
    exists_fn: Callable[[S], bool] | None = None
    attributes_fn: Callable[[S], dict[str, Any] | None] | None = None
    kinds: frozenset[str] | None = None
    shown_by: Capability | None = None

    def reported(self, source: S) -> bool:
        """Whether the source reports the value (the sensor is created then)."""
        if self.exists_fn is not None:
            return self.exists_fn(source)
        return self.value_fn(source) is not None


# The units, classes and precision sensors of one kind share.
type Shape = Mapping[str, Any]
HASHRATE: Final[Shape] = {
    "native_unit_of_measurement": UNIT_HASHRATE,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 2,
}
TEMPERATURE: Final[Shape] = {
    "device_class": SensorDeviceClass.TEMPERATURE,
    "native_unit_of_measurement": UnitOfTemperature.CELSIUS,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 1,
}
POWER: Final[Shape] = {
    "device_class": SensorDeviceClass.POWER,
    "native_unit_of_measurement": UnitOfPower.WATT,
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 0,
}
WHOLE: Final[Shape] = {
    "state_class": SensorStateClass.MEASUREMENT,
    "suggested_display_precision": 0,
}
RPM: Final[Shape] = {**WHOLE, "native_unit_of_measurement": REVOLUTIONS_PER_MINUTE}
COUNT: Final[Shape] = {  # grows until the miner restarts it
    "state_class": SensorStateClass.TOTAL_INCREASING,
    "entity_category": EntityCategory.DIAGNOSTIC,
}
MONEY: Final[Shape] = {  # in the account's coin (the unit is set per account)
    "device_class": SensorDeviceClass.MONETARY,
    "suggested_display_precision": 8,  # a satoshi is 1e-8 BTC
}
DIAGNOSTIC: Final = EntityCategory.DIAGNOSTIC


class MinerHubSensor[S](SensorEntity):
    """A sensor whose value and attributes come from its description's source."""

    entity_description: MinerHubSensorEntityDescription[S]

    def _source(self) -> S | None:
        """What the description reads; None while it is not reported."""
        raise NotImplementedError

    @property
    @override
    def native_value(self) -> SensorValue:
        """The value of the last poll."""
        source = self._source()
        return None if source is None else self.entity_description.value_fn(source)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the value, where the sensor has any (errors, a payment)."""
        attributes_fn = self.entity_description.attributes_fn
        if attributes_fn is None or (source := self._source()) is None:
            return None
        return attributes_fn(source)


class MinerSensorEntity(MinerEntity, MinerHubSensor[MinerData]):
    """A sensor of the whole miner."""

    def _source(self) -> MinerData:
        return self.coordinator.data


class MinerGovernorSensorEntity(MinerEntity, MinerHubSensor[CommandGovernor]):
    """A sensor of the miner's command governor (held and counted changes).

    Written when the governor changes, not only at each poll.
    """

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.governor.async_add_listener(self.async_write_ha_state)
        )

    def _source(self) -> CommandGovernor:
        return self.coordinator.governor


class MinerBoardSensorEntity(MinerBoardEntity, MinerHubSensor[HashboardStatus]):
    """A sensor of one hashboard; unknown while the miner does not list it."""

    def _source(self) -> HashboardStatus | None:
        return self.board


class PoolSensorEntity(PoolAccountEntity, MinerHubSensor[PoolData]):
    """A sensor of the account; a MONETARY one is in the account's coin."""

    def __init__(
        self,
        coordinator: PoolCoordinator,
        description: MinerHubSensorEntityDescription[PoolData],
    ) -> None:
        """Amounts are in the account's coin (BTC for a bitcoin account).

        A unit with ``{coin}`` in it (the hashprice's) gets the coin too.
        """
        super().__init__(coordinator, description)
        coin = coordinator.coin.upper()
        if description.device_class is SensorDeviceClass.MONETARY:
            self._attr_native_unit_of_measurement = coin
        elif (unit := description.native_unit_of_measurement) and "{coin}" in unit:
            self._attr_native_unit_of_measurement = unit.format(coin=coin)

    def _source(self) -> PoolData:
        return self.coordinator.data


class WorkerSensorEntity(PoolWorkerEntity, MinerHubSensor[Worker]):
    """A sensor of one worker."""

    def _source(self) -> Worker | None:
        return self._worker
