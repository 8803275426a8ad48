"""Binary sensors: a miner mining and hashing steadily, a pool worker online."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .coordinator import MinerCoordinator, MinerData
from .entity import (
    MinerEntity,
    PoolWorkerEntity,
    Reported,
    async_add_reported_entities,
    async_add_worker_entities,
)
from .pool_coordinator import PoolCoordinator
from .protocol.spiderpool.models import Worker

# The coordinator fetches the data; entities only read it.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MinerHubBinarySensorEntityDescription[S](BinarySensorEntityDescription):
    """A binary sensor of ``S``: a miner's data or a pool worker.

    A miner's binary sensor exists once ``exists_fn`` is true.
    """

    value_fn: Callable[[S], bool | None]
    exists_fn: Callable[[S], bool] = lambda source: True


BINARY_SENSORS: tuple[MinerHubBinarySensorEntityDescription[MinerData], ...] = (
    MinerHubBinarySensorEntityDescription(
        key="mining",
        translation_key="mining",
        device_class=BinarySensorDeviceClass.RUNNING,
        value_fn=lambda data: data.status.mining,
    ),
    MinerHubBinarySensorEntityDescription(
        key="hash_stable",
        translation_key="hash_stable",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.status.hash_stable,
        exists_fn=lambda data: data.status.hash_stable is not None,
    ),
)

WORKER_BINARY_SENSORS: tuple[MinerHubBinarySensorEntityDescription[Worker], ...] = (
    MinerHubBinarySensorEntityDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        value_fn=lambda worker: None if worker.status is None else worker.online,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Every pool worker's binary sensors, or a miner's (as it reports them)."""
    coordinator = entry.runtime_data
    if isinstance(coordinator, PoolCoordinator):
        async_add_worker_entities(
            coordinator,
            WORKER_BINARY_SENSORS,
            WorkerBinarySensorEntity,
            async_add_entities,
        )
    else:
        async_add_reported_entities(
            coordinator,
            Platform.BINARY_SENSOR,
            async_add_entities,
            partial(_new_binary_sensors, coordinator),
        )


def _new_binary_sensors(
    coordinator: MinerCoordinator, added: set[str], reported: Reported
) -> list[MinerBinarySensorEntity]:
    """Binary sensors of the values the miner reports that have none yet."""
    return [
        MinerBinarySensorEntity(coordinator, description)
        for description in BINARY_SENSORS
        if reported.new(added, description.key, description.exists_fn)
    ]


class MinerBinarySensorEntity(MinerEntity, BinarySensorEntity):
    """A binary sensor of a miner."""

    entity_description: MinerHubBinarySensorEntityDescription[MinerData]

    @property
    @override
    def is_on(self) -> bool | None:
        """The value of the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)


class WorkerBinarySensorEntity(PoolWorkerEntity, BinarySensorEntity):
    """A binary sensor of one worker."""

    entity_description: MinerHubBinarySensorEntityDescription[Worker]

    @property
    @override
    def is_on(self) -> bool | None:
        """The worker's state of the last poll."""
        worker = self._worker
        return None if worker is None else self.entity_description.value_fn(worker)
