"""Numbers of a miner: power percentage and power limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from homeassistant.helpers.dispatcher import (
    async_dispatcher_connect,
    async_dispatcher_send,
)
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.signal_type import SignalTypeFormat

from .const import DOMAIN
from .coordinator import MinerCoordinator, MinerData, MinerHubConfigEntry
from .entity import MinerEntity, miner_coordinator, supported
from .protocol.miner import Miner
from .protocol.models import Capability, PowerPercentMode

PARALLEL_UPDATES = 1

# Formatted with the entry ID and the number's key; sent when the miner accepted
# a value it does not report back, whoever sent it (the number entity or an action).
SIGNAL_VALUE_ACCEPTED: SignalTypeFormat[int] = SignalTypeFormat(
    f"{DOMAIN}_value_accepted_{{}}_{{}}"
)


@callback
def async_value_accepted(coordinator: MinerCoordinator, key: str, value: int) -> None:
    """Tell a miner's number entity ``key`` which value the miner accepted."""
    async_dispatcher_send(
        coordinator.hass,
        SIGNAL_VALUE_ACCEPTED.format(coordinator.config_entry.entry_id, key),
        value,
    )


@dataclass(frozen=True, kw_only=True)
class MinerNumberEntityDescription(NumberEntityDescription):
    """A number of a miner.

    ``value_fn`` gives the value the miner reports. With ``remember_accepted``
    some miners do not report it (it is then None) and the entity shows the last
    value the miner accepted, kept across restarts.
    """

    capability: Capability
    set_fn: Callable[[Miner, int], Awaitable[None]]
    value_fn: Callable[[MinerData], float | None]
    remember_accepted: bool = False
    range_fn: Callable[[Miner], tuple[int, int]] | None = None


NUMBERS: tuple[MinerNumberEntityDescription, ...] = (
    MinerNumberEntityDescription(
        key="power_percent",
        translation_key="power_percent",
        capability=Capability.POWER_PERCENT,
        native_min_value=0,
        native_max_value=100,
        native_step=1,
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
        mode=NumberMode.SLIDER,
        # API v3 reports it (get.miner.setting); v2 firmware does not.
        value_fn=lambda data: data.status.power_percent,
        remember_accepted=True,
        set_fn=lambda miner, percent: miner.set_power_percent(
            percent, PowerPercentMode.NORMAL
        ),
    ),
    MinerNumberEntityDescription(
        key="power_limit",
        translation_key="power_limit",
        capability=Capability.POWER_LIMIT,
        device_class=NumberDeviceClass.POWER,
        entity_category=EntityCategory.CONFIG,
        native_step=1,
        native_unit_of_measurement=UnitOfPower.WATT,
        mode=NumberMode.BOX,
        value_fn=lambda data: data.status.power_limit_w,
        range_fn=lambda miner: miner.power_limit_range_w,
        set_fn=lambda miner, watts: miner.set_power_limit(watts),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the numbers the miner supports."""
    if (coordinator := miner_coordinator(entry)) is None:
        return  # pool accounts have no controls
    async_add_entities(
        (MinerAcceptedNumber if description.remember_accepted else MinerNumber)(
            coordinator, description
        )
        for description in supported(coordinator, NUMBERS)
    )


class MinerNumber(MinerEntity, NumberEntity):
    """A number whose state is what the miner last reported."""

    entity_description: MinerNumberEntityDescription

    def __init__(
        self, coordinator: MinerCoordinator, description: MinerNumberEntityDescription
    ) -> None:
        """Take the range from the miner where it depends on the firmware."""
        super().__init__(coordinator, description)
        if description.range_fn is not None:
            low, high = description.range_fn(coordinator.miner)
            self._attr_native_min_value = low
            self._attr_native_max_value = high

    @property
    @override
    def native_value(self) -> float | None:
        """The value the miner reported in the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    async def async_set_native_value(self, value: float) -> None:
        """Send the value; the refresh after the command shows the result."""
        await self._async_send(round(value))

    async def _async_send(self, value: int) -> None:
        await self.coordinator.async_command(self.entity_description.set_fn, value)


class MinerAcceptedNumber(MinerNumber, RestoreNumber):
    """A number the miner may not report: then the last value it accepted.

    Unknown until the miner accepts a value; restored across restarts. Actions
    that send the value update it too (``async_value_accepted``).
    """

    @property
    @override
    def native_value(self) -> float | None:
        """The reported value, else the last value the miner accepted."""
        reported = super().native_value
        return self._attr_native_value if reported is None else reported

    @override
    async def async_added_to_hass(self) -> None:
        """Restore the last accepted value and listen for new ones."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_number_data()) is not None:
            self._attr_native_value = last.native_value
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                SIGNAL_VALUE_ACCEPTED.format(
                    self.coordinator.config_entry.entry_id,
                    self.entity_description.key,
                ),
                self._async_accepted,
            )
        )

    @override
    async def _async_send(self, value: int) -> None:
        await super()._async_send(value)
        async_value_accepted(self.coordinator, self.entity_description.key, value)

    @callback
    def _async_accepted(self, value: int) -> None:
        self._attr_native_value = value
        self.async_write_ha_state()
