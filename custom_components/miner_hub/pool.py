"""Entities of a Spiderpool account: the account (a service) and its workers.

The account device carries the account's hashrate, worker counts and earnings.
Every worker the pool lists gets a device of its own, linked to the account
device through ``via_device_id``: its entities are added when the pool first
lists it (dynamic devices), and the device is removed from the registry once
the pool has not listed it for ``WORKER_GONE_AFTER`` (stale devices).

The sensor and binary sensor platforms call into this module for pool entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, cast, override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfRatio
from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .coordinator import MinerHubConfigEntry
from .pool_coordinator import PoolCoordinator, PoolData, worker_identifier
from .protocol.spiderpool.models import ProfitInfo, Worker

MANUFACTURER = "Spiderpool"
ACCOUNT_MODEL = "Mining pool account"
WORKER_MODEL = "Mining pool worker"
CONSOLE_URL = "https://www.spiderpool.com"
UNIT_HASHRATE = "TH/s"
# Money in coin units: a satoshi is 1e-8 BTC.
MONEY_PRECISION = 8
_PERCENT_PER_RATIO = 100


@dataclass(frozen=True, kw_only=True)
class PoolSensorEntityDescription(SensorEntityDescription):
    """A sensor of the account; a MONETARY one is in the account's coin."""

    value_fn: Callable[[PoolData], StateType | datetime | Decimal]
    attributes_fn: Callable[[PoolData], dict[str, Any] | None] | None = None


@dataclass(frozen=True, kw_only=True)
class WorkerSensorEntityDescription(SensorEntityDescription):
    """A sensor of one worker."""

    value_fn: Callable[[Worker], StateType | datetime]


@dataclass(frozen=True, kw_only=True)
class WorkerBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of one worker."""

    value_fn: Callable[[Worker], bool | None]


def _money(
    key: str,
    value_fn: Callable[[PoolData], Decimal | None],
    state_class: SensorStateClass | None = None,
    attributes_fn: Callable[[PoolData], dict[str, Any] | None] | None = None,
) -> PoolSensorEntityDescription:
    """An amount in the account's coin (the unit is set per account)."""
    return PoolSensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.MONETARY,
        state_class=state_class,
        suggested_display_precision=MONEY_PRECISION,
        value_fn=value_fn,
        attributes_fn=attributes_fn,
    )


def _profit(
    read: Callable[[ProfitInfo], Decimal | None],
) -> Callable[[PoolData], Decimal | None]:
    """An amount of the profit summary, None until the pool has sent one."""
    return lambda data: None if data.profit is None else read(data.profit)


def _last_payment_attributes(data: PoolData) -> dict[str, Any] | None:
    payment = data.last_payment
    if payment is None:
        return None
    return {"time": payment.time, "transaction_id": payment.tx_id}


ACCOUNT_SENSORS: tuple[PoolSensorEntityDescription, ...] = (
    PoolSensorEntityDescription(
        key="hashrate",
        translation_key="hashrate",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda data: data.info.hashrate_ths,
    ),
    PoolSensorEntityDescription(
        key="hashrate_24h",
        translation_key="hashrate_24h",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda data: data.info.hashrate_24h_ths,
    ),
    PoolSensorEntityDescription(
        key="active_workers",
        translation_key="active_workers",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.info.active_workers,
    ),
    PoolSensorEntityDescription(
        key="inactive_workers",
        translation_key="inactive_workers",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.info.inactive_workers,
    ),
    # Yesterday's profit and today's estimate are amounts of one day, not
    # totals: no state class (MONETARY allows only TOTAL or none).
    _money("yesterday_profit", _profit(lambda profit: profit.yesterday)),
    _money("today_estimated_profit", _profit(lambda profit: profit.today_estimate)),
    # The unpaid balance grows and drops at each payout: a total.
    _money(
        "unpaid_profit",
        _profit(lambda profit: profit.unpaid),
        SensorStateClass.TOTAL,
    ),
    _money(
        "total_profit",
        _profit(lambda profit: profit.total),
        SensorStateClass.TOTAL,
    ),
    _money("minimum_payment", lambda data: data.minimum_payment),
    _money(
        "last_payment",
        lambda data: None if data.last_payment is None else data.last_payment.amount,
        attributes_fn=_last_payment_attributes,
    ),
)

WORKER_SENSORS: tuple[WorkerSensorEntityDescription, ...] = (
    WorkerSensorEntityDescription(
        key="hashrate",
        translation_key="hashrate",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda worker: worker.hashrate_ths,
    ),
    WorkerSensorEntityDescription(
        key="hashrate_24h",
        translation_key="hashrate_24h",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda worker: worker.hashrate_24h_ths,
    ),
    WorkerSensorEntityDescription(
        key="reject_rate",
        translation_key="reject_rate",
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda worker: (
            None
            if worker.reject_rate is None
            # Rounded: the ratio times 100 would carry float noise into the state.
            else round(worker.reject_rate * _PERCENT_PER_RATIO, 6)
        ),
    ),
    WorkerSensorEntityDescription(
        key="last_share",
        translation_key="last_share",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda worker: worker.last_share,
    ),
)

WORKER_BINARY_SENSORS: tuple[WorkerBinarySensorEntityDescription, ...] = (
    WorkerBinarySensorEntityDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda worker: None if worker.status is None else worker.online,
    ),
)


# --- devices ----------------------------------------------------------------


def pool_coordinator(entry: MinerHubConfigEntry) -> PoolCoordinator:
    """The coordinator of a pool entry (the platforms checked it is no miner)."""
    return cast(PoolCoordinator, entry.runtime_data)


def _unique_id_base(entry: MinerHubConfigEntry) -> str:
    return entry.unique_id or entry.entry_id


def account_device_info(entry: MinerHubConfigEntry) -> DeviceInfo:
    """The account's device: a service, named like the entry."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=MANUFACTURER,
        model=ACCOUNT_MODEL,
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=CONSOLE_URL,
    )


@callback
def _async_account_device_id(entry: MinerHubConfigEntry) -> str:
    """Register the account device (workers link to it by its ID)."""
    registry = dr.async_get(pool_coordinator(entry).hass)
    return registry.async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    ).id


@callback
def _async_remember_registered_workers(
    entry: MinerHubConfigEntry, coordinator: PoolCoordinator
) -> None:
    """Start the clock for workers that have a device but are no longer listed.

    The coordinator only knows the workers it has listed since Home Assistant
    started; a worker that left while Home Assistant was stopped is counted as
    last seen now, so its device is removed a day later if it does not return.
    """
    prefix = worker_identifier(coordinator, "")
    registry = dr.async_get(coordinator.hass)
    coordinator.remember_workers(
        (
            identifier.removeprefix(prefix)
            for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
            for domain, identifier in device.identifiers
            if domain == DOMAIN and identifier.startswith(prefix)
        ),
        dt_util.utcnow(),
    )


@callback
def _async_remove_gone_workers(
    entry: MinerHubConfigEntry, coordinator: PoolCoordinator
) -> None:
    """Remove the devices (and entities) of workers gone for good."""
    registry = dr.async_get(coordinator.hass)
    # Forgotten: the pool may list a worker of that name again later.
    for name in coordinator.pop_gone_workers(dt_util.utcnow()):
        device = registry.async_get_device_by_identifier(
            (DOMAIN, worker_identifier(coordinator, name)), entry.entry_id
        )
        if device is not None:
            LOGGER.debug("%s: removing worker %s, gone for good", entry.title, name)
            registry.async_remove_device(device.id)


# --- entities -----------------------------------------------------------------


class PoolEntity(CoordinatorEntity[PoolCoordinator]):
    """An entity of a pool account or of one of its workers."""

    _attr_has_entity_name = True


class PoolAccountEntity(PoolEntity):
    """An entity of the account device."""

    def __init__(
        self, coordinator: PoolCoordinator, description: EntityDescription
    ) -> None:
        """Attach to the account device; unique IDs start with the entry's."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self._attr_unique_id = f"{_unique_id_base(entry)}_{description.key}"
        self._attr_device_info = account_device_info(entry)


class PoolWorkerEntity(PoolEntity):
    """An entity of one worker's device, available while the pool lists it."""

    def __init__(
        self,
        coordinator: PoolCoordinator,
        description: EntityDescription,
        worker: str,
        account_device_id: str,
        forget: Callable[[], None],
    ) -> None:
        """Attach to the worker's device, linked to the account device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.worker = worker
        self._forget = forget
        self._attr_unique_id = f"{_unique_id_base(entry)}_{worker}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, worker_identifier(coordinator, worker))},
            name=worker,
            model=WORKER_MODEL,
            via_device_id=account_device_id,
        )

    @property
    def _worker(self) -> Worker | None:
        return self.coordinator.data.workers.get(self.worker)

    @property
    @override
    def available(self) -> bool:
        """Unavailable while the pool does not list the worker."""
        return super().available and self._worker is not None

    @override
    async def async_removed_from_registry(self) -> None:
        """Removed with its device (or by the user): added again if listed again."""
        self._forget()


class PoolSensorEntity(PoolAccountEntity, SensorEntity):
    """A sensor of the account."""

    entity_description: PoolSensorEntityDescription

    def __init__(
        self, coordinator: PoolCoordinator, description: PoolSensorEntityDescription
    ) -> None:
        """Amounts are in the account's coin (BTC for a bitcoin account)."""
        super().__init__(coordinator, description)
        if description.device_class is SensorDeviceClass.MONETARY:
            self._attr_native_unit_of_measurement = coordinator.coin.upper()

    @property
    @override
    def native_value(self) -> StateType | datetime | Decimal:
        """The value of the last poll; unknown where the pool reports none."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the value (the last payment's time and transaction)."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.coordinator.data)


class WorkerSensorEntity(PoolWorkerEntity, SensorEntity):
    """A sensor of one worker."""

    entity_description: WorkerSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType | datetime:
        """The worker's value of the last poll."""
        worker = self._worker
        return None if worker is None else self.entity_description.value_fn(worker)


class WorkerBinarySensorEntity(PoolWorkerEntity, BinarySensorEntity):
    """A binary sensor of one worker."""

    entity_description: WorkerBinarySensorEntityDescription

    @property
    @override
    def is_on(self) -> bool | None:
        """The worker's state of the last poll."""
        worker = self._worker
        return None if worker is None else self.entity_description.value_fn(worker)


type _WorkerEntityFactory[D: EntityDescription] = Callable[
    [PoolCoordinator, D, str, str, Callable[[], None]], PoolWorkerEntity
]


@callback
def _async_add_worker_entities[D: EntityDescription](
    entry: MinerHubConfigEntry,
    descriptions: Sequence[D],
    factory: _WorkerEntityFactory[D],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entities of every listed worker, now and whenever one appears.

    Each poll also removes the devices of workers gone for good; their entities
    leave the registry with them and are added again if the pool lists the
    worker again.
    """
    coordinator = pool_coordinator(entry)
    account_device_id = _async_account_device_id(entry)
    _async_remember_registered_workers(entry, coordinator)
    added: set[tuple[str, str]] = set()  # (worker, description key)

    @callback
    def async_update_workers() -> None:
        if not coordinator.last_update_success:
            return
        _async_remove_gone_workers(entry, coordinator)
        new: list[PoolWorkerEntity] = []
        for worker in coordinator.data.workers:
            for description in descriptions:
                if (ids := (worker, description.key)) in added:
                    continue
                added.add(ids)
                new.append(
                    factory(
                        coordinator,
                        description,
                        worker,
                        account_device_id,
                        partial(added.discard, ids),
                    )
                )
        if new:
            async_add_entities(new)

    async_update_workers()
    entry.async_on_unload(coordinator.async_add_listener(async_update_workers))


# --- platform setup -------------------------------------------------------------


@callback
def async_setup_pool_sensors(
    entry: MinerHubConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The account's sensors and those of every worker, present and future."""
    coordinator = pool_coordinator(entry)
    async_add_entities(
        PoolSensorEntity(coordinator, description) for description in ACCOUNT_SENSORS
    )
    _async_add_worker_entities(
        entry, WORKER_SENSORS, WorkerSensorEntity, async_add_entities
    )


@callback
def async_setup_pool_binary_sensors(
    entry: MinerHubConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The ``online`` binary sensor of every worker, present and future."""
    _async_add_worker_entities(
        entry, WORKER_BINARY_SENSORS, WorkerBinarySensorEntity, async_add_entities
    )
