"""Selects of a miner: the power mode, the auto-tune profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .coordinator import MinerData
from .entity import MinerEntity, MinerSettingEntityDescription, async_add_controls
from .protocol.models import AutoTuneMode, Capability, PowerMode

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class MinerSelectEntityDescription(
    MinerSettingEntityDescription[str], SelectEntityDescription
):
    """A select of a miner."""

    value_fn: Callable[[MinerData], str | None]


SELECTS: tuple[MinerSelectEntityDescription, ...] = (
    MinerSelectEntityDescription(
        key="power_mode",
        translation_key="power_mode",
        capability=Capability.POWER_MODE,
        options=[mode.value for mode in PowerMode],
        value_fn=lambda data: (
            None if (mode := data.status.power_mode) is None else mode.value
        ),
        set_fn=lambda coordinator, option: coordinator.async_set_power_mode(
            PowerMode(option)
        ),
    ),
    MinerSelectEntityDescription(
        # A setting rather than an operating lever: a new profile restarts
        # cgminer and retunes the chips, so it is set once, not per tariff.
        key="autotune_mode",
        translation_key="autotune_mode",
        entity_category=EntityCategory.CONFIG,
        capability=Capability.AUTOTUNE,
        options=[mode.value for mode in AutoTuneMode],
        value_fn=lambda data: (
            None if (mode := data.status.autotune_mode) is None else mode.value
        ),
        set_fn=lambda coordinator, option: coordinator.async_set_autotune_mode(
            AutoTuneMode(option)
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the selects the miner supports."""
    async_add_controls(entry, async_add_entities, SELECTS, MinerSelect)


class MinerSelect(MinerEntity, SelectEntity):
    """A select whose option is what the miner last reported."""

    entity_description: MinerSelectEntityDescription

    @property
    @override
    def current_option(self) -> str | None:
        """Option from the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)

    @override
    async def async_select_option(self, option: str) -> None:
        """Send the option; the refresh after the command shows the result."""
        await self.entity_description.set_fn(self.coordinator, option)
