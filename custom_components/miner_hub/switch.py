"""Switches of a miner: mining on and off."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .coordinator import MinerData
from .entity import MinerEntity, MinerSettingEntityDescription, async_add_controls
from .protocol.models import Capability

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class MinerSwitchEntityDescription(
    MinerSettingEntityDescription[bool], SwitchEntityDescription
):
    """A switch of a miner."""

    value_fn: Callable[[MinerData], bool | None]


SWITCHES: tuple[MinerSwitchEntityDescription, ...] = (
    MinerSwitchEntityDescription(
        key="mining",
        translation_key="mining",
        capability=Capability.MINING_SWITCH,
        value_fn=lambda data: data.status.mining,
        set_fn=lambda coordinator, on: coordinator.async_set_mining(on),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the switches the miner supports."""
    async_add_controls(entry, async_add_entities, SWITCHES, MinerSwitch)


class MinerSwitch(MinerEntity, SwitchEntity):
    """A switch whose state is what the miner last reported (never optimistic)."""

    entity_description: MinerSwitchEntityDescription
    # Mining is what a miner is for: the switch carries the device's name, so
    # Assist's "turn off the garage-m30" (and "… garage-m30 mining") reach it.
    _attr_name = None

    @property
    @override
    def is_on(self) -> bool | None:
        """State from the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on; the refresh after the command shows the result."""
        await self.entity_description.set_fn(self.coordinator, True)

    @override
    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off; the refresh after the command shows the result."""
        await self.entity_description.set_fn(self.coordinator, False)
