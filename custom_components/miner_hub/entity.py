"""Base entity of every miner entity."""

from __future__ import annotations

from homeassistant.helpers.device_registry import CONNECTION_NETWORK_MAC, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import MinerCoordinator


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
            configuration_url=f"http://{coordinator.miner.host}",
        )
