"""Numbers of a miner: power percentage, power target and power limit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import override

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
    RestoreNumber,
)
from homeassistant.const import EntityCategory, UnitOfPower, UnitOfRatio
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .coordinator import MinerCoordinator
from .entity import MinerEntity, MinerSettingEntityDescription, async_add_controls
from .protocol.models import Capability

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class MinerNumberEntityDescription(
    MinerSettingEntityDescription[int], NumberEntityDescription
):
    """A number of a miner: its value and, where the firmware decides, its range."""

    value_fn: Callable[[MinerCoordinator], float | None]
    range_fn: Callable[[MinerCoordinator], tuple[int, int]] | None = None


POWER_PERCENT = MinerNumberEntityDescription(
    key="power_percent",
    translation_key="power_percent",
    capability=Capability.POWER_PERCENT,
    native_min_value=0,
    native_max_value=100,
    native_step=1,
    native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
    mode=NumberMode.SLIDER,
    # API v3 reports it (get.miner.setting); v2 firmware does not.
    value_fn=lambda coordinator: coordinator.power_percent,
    set_fn=lambda coordinator, percent: coordinator.async_set_power_percent(percent),
)
POWER_TARGET = MinerNumberEntityDescription(
    key="power_target",
    translation_key="power_target",
    capability=Capability.POWER_PERCENT,
    device_class=NumberDeviceClass.POWER,
    native_step=10,
    native_unit_of_measurement=UnitOfPower.WATT,
    mode=NumberMode.BOX,
    # Power percent of the full power learned from the miner's reports (power.py).
    value_fn=lambda coordinator: coordinator.power_target_w,
    set_fn=lambda coordinator, watts: coordinator.async_set_power_target(watts),
)
NUMBERS: tuple[MinerNumberEntityDescription, ...] = (
    POWER_PERCENT,
    POWER_TARGET,
    MinerNumberEntityDescription(
        key="power_limit",
        translation_key="power_limit",
        capability=Capability.POWER_LIMIT,
        device_class=NumberDeviceClass.POWER,
        entity_category=EntityCategory.CONFIG,
        native_step=1,
        native_unit_of_measurement=UnitOfPower.WATT,
        mode=NumberMode.BOX,
        value_fn=lambda coordinator: coordinator.data.status.power_limit_w,
        range_fn=lambda coordinator: coordinator.miner.power_limit_range_w,
        set_fn=lambda coordinator, watts: coordinator.async_set_power_limit(watts),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers the miner supports."""

    def number(
        coordinator: MinerCoordinator, description: MinerNumberEntityDescription
    ) -> MinerNumber:
        if description is POWER_PERCENT:
            return MinerPowerPercentNumber(coordinator, description)
        if description is POWER_TARGET:
            return MinerPowerTargetNumber(coordinator, description)
        return MinerNumber(coordinator, description)

    async_add_controls(entry, async_add_entities, NUMBERS, number)


class MinerNumber(MinerEntity, NumberEntity):
    """A number whose state is what the miner last reported."""

    entity_description: MinerNumberEntityDescription

    def __init__(
        self, coordinator: MinerCoordinator, description: MinerNumberEntityDescription
    ) -> None:
        """Take the range from the miner where it depends on the firmware."""
        super().__init__(coordinator, description)
        if description.range_fn is not None:
            low, high = description.range_fn(coordinator)
            self._attr_native_min_value = low
            self._attr_native_max_value = high

    @property
    @override
    def native_value(self) -> float | None:
        """The value the miner reported in the last poll."""
        return self.entity_description.value_fn(self.coordinator)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Send the value; the refresh after the command shows the result."""
        await self.entity_description.set_fn(self.coordinator, round(value))


class MinerPowerPercentNumber(MinerNumber, RestoreNumber):
    """The power percent the miner runs at.

    API v2 firmware does not report it, and forgets it at boot (100 %): the
    coordinator keeps the last value the miner accepted since it booted, whoever
    set it (this entity, an action, Assist). Across restarts of Home Assistant
    this entity's restore state keeps that value; it is given back to the
    coordinator unless the miner booted after it was set (known at its first
    poll when it was off at setup).
    """

    _restored: tuple[int, datetime] | None = None  # (percent, set at)

    @override
    async def async_added_to_hass(self) -> None:
        """Give the coordinator the value accepted before the restart."""
        await super().async_added_to_hass()
        if self.coordinator.accepted_power_percent is not None:
            return
        last = await self.async_get_last_number_data()
        last_state = await self.async_get_last_state()
        if last is None or last.native_value is None or last_state is None:
            return
        self._restored = (round(last.native_value), last_state.last_changed)
        self._give_back_restored()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        self._give_back_restored()
        super()._handle_coordinator_update()

    def _give_back_restored(self) -> None:
        if self._restored is None or (data := self.coordinator.polled) is None:
            return  # nothing to give back, or not polled yet
        (percent, set_at), self._restored = self._restored, None
        if self.coordinator.accepted_power_percent is not None:
            return  # accepted since
        if data.booted_at is not None and data.booted_at > set_at:
            return  # set before the miner booted: the firmware runs at 100 %
        self.coordinator.accepted_power_percent = percent


class MinerPowerTargetNumber(MinerNumber):
    """The power to run at, in W, between the floor and full power.

    Both ends come from the full power learned from the miner's reports; until
    it is known (a few minutes after setup) the entity is unavailable.
    """

    @property
    @override
    def available(self) -> bool:
        return super().available and self.coordinator.full_power.watts is not None

    @property
    @override
    def native_min_value(self) -> float:
        return round(self.coordinator.full_power.floor_w or 0)

    @property
    @override
    def native_max_value(self) -> float:
        return round(self.coordinator.full_power.watts or 0)
