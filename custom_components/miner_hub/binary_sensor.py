"""Binary sensors of a miner: mining and a stable hashrate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import MinerData, MinerHubConfigEntry
from .entity import MinerEntity, miner_coordinator
from .pool import async_setup_pool_binary_sensors

# The coordinator fetches the data; entities only read it.
PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class MinerBinarySensorEntityDescription(BinarySensorEntityDescription):
    """A binary sensor of a miner."""

    value_fn: Callable[[MinerData], bool | None]
    # Whether the miner reports the value: the entity is created once it does.
    exists_fn: Callable[[MinerData], bool] = lambda data: True


BINARY_SENSORS: tuple[MinerBinarySensorEntityDescription, ...] = (
    MinerBinarySensorEntityDescription(
        key="mining",
        translation_key="mining",
        device_class=BinarySensorDeviceClass.RUNNING,
        value_fn=lambda data: data.status.mining,
    ),
    MinerBinarySensorEntityDescription(
        key="hash_stable",
        translation_key="hash_stable",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.status.hash_stable,
        exists_fn=lambda data: data.status.hash_stable is not None,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the binary sensors of the values the miner reports (now or later)."""
    if (coordinator := miner_coordinator(entry)) is None:
        async_setup_pool_binary_sensors(entry, async_add_entities)  # a pool account
        return
    added: set[str] = set()

    @callback
    def add_reported_binary_sensors() -> None:
        if not coordinator.last_update_success:
            return
        new = [
            description
            for description in BINARY_SENSORS
            if description.key not in added and description.exists_fn(coordinator.data)
        ]
        if new:
            added.update(description.key for description in new)
            async_add_entities(
                MinerBinarySensorEntity(coordinator, description) for description in new
            )

    add_reported_binary_sensors()
    entry.async_on_unload(coordinator.async_add_listener(add_reported_binary_sensors))


class MinerBinarySensorEntity(MinerEntity, BinarySensorEntity):
    """A binary sensor of a miner."""

    entity_description: MinerBinarySensorEntityDescription

    @property
    @override
    def is_on(self) -> bool | None:
        """The value of the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)
