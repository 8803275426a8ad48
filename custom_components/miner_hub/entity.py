"""Base entity of every miner entity."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import MinerCoordinator, MinerHubConfigEntry
from .protocol.models import Capability


class ControlDescription(Protocol):
    """An entity description of a control: it needs a capability of the miner."""

    @property
    def capability(self) -> Capability:
        """What the miner must support for the entity to exist."""
        ...


def miner_coordinator(entry: MinerHubConfigEntry) -> MinerCoordinator | None:
    """The entry's miner coordinator; None for a pool account."""
    coordinator = entry.runtime_data
    return coordinator if isinstance(coordinator, MinerCoordinator) else None


def supported[D: ControlDescription](
    coordinator: MinerCoordinator, descriptions: Iterable[D]
) -> list[D]:
    """The descriptions of the controls this miner supports."""
    capabilities = coordinator.miner.capabilities
    return [item for item in descriptions if item.capability in capabilities]


class MinerEntity(CoordinatorEntity[MinerCoordinator]):
    """An entity of one miner's device, named by its translation key."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: MinerCoordinator, description: EntityDescription
    ) -> None:
        """Attach the entity to the miner's device; unique IDs start with its MAC."""
        super().__init__(coordinator)
        self.entity_description = description
        info = coordinator.info
        self._attr_unique_id = f"{info.mac}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, info.mac)},
            connections={(CONNECTION_NETWORK_MAC, info.mac)},
            manufacturer=info.manufacturer,
            model=info.model,
            name=coordinator.config_entry.title,
            sw_version=info.firmware_version,
            hw_version=info.hardware_version,
            serial_number=info.serial_number,
            configuration_url=coordinator.miner.web_url,
        )
