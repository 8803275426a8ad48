"""Switches of a miner: mining on and off."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, override

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .const import DOMAIN
from .coordinator import MinerData
from .entity import MinerEntity, MinerSettingEntityDescription, async_add_controls
from .protocol.models import Capability

PARALLEL_UPDATES = 1
# Entity option (Miner Hub's): the voice alias the switch was given.
ASSIST_ALIAS = "assist_alias"


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
    """A switch whose state is what the miner last reported (never optimistic).

    Named "Mining", so it can be found among the miner's controls. Mining is
    what a miner is for: the switch also answers to the miner's name in Assist
    ("turn off the garage-m30"), through a voice alias that follows the
    device's name (``AssistAlias``).
    """

    entity_description: MinerSwitchEntityDescription

    @override
    async def async_added_to_hass(self) -> None:
        """Give the switch the miner's name as a voice alias, and keep it so."""
        await super().async_added_to_hass()
        alias = AssistAlias(self.hass, self.entity_id)
        alias.async_follow_device()
        self.async_on_remove(alias.async_listen())

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


class AssistAlias:
    """A voice alias of an entity: its device's name, following renames.

    Added once (entity options record it); a user who removes it keeps it
    removed, and one who renames the device gets the alias renamed with it.
    """

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """The alias of ``entity_id``."""
        self._hass = hass
        self._entity_id = entity_id

    @callback
    def async_listen(self) -> CALLBACK_TYPE:
        """Follow the device's renames; the returned callback stops."""
        return self._hass.bus.async_listen(
            dr.EVENT_DEVICE_REGISTRY_UPDATED, self._async_device_updated
        )

    @callback
    def _async_device_updated(
        self, event: Event[dr.EventDeviceRegistryUpdatedData]
    ) -> None:
        entry = er.async_get(self._hass).async_get(self._entity_id)
        if entry is not None and event.data.get("device_id") == entry.device_id:
            self.async_follow_device()

    @callback
    def async_follow_device(self) -> None:
        """Add the alias, or rename it after the device (if it is still there)."""
        entities = er.async_get(self._hass)
        entry = entities.async_get(self._entity_id)
        if entry is None or entry.device_id is None:
            return
        device = dr.async_get(self._hass).async_get(entry.device_id)
        if device is None or not (name := device.name_by_user or device.name):
            return
        ours: Mapping[str, Any] = entry.options.get(DOMAIN) or {}
        given = ours.get(ASSIST_ALIAS)
        if given == name:
            return
        aliases = list(entry.aliases)
        if given is None:
            aliases.append(name)  # the first time
        elif given in aliases:
            aliases[aliases.index(given)] = name  # renamed with the device
        entities.async_update_entity(self._entity_id, aliases=aliases)
        entities.async_update_entity_options(
            self._entity_id,
            DOMAIN,
            {**ours, ASSIST_ALIAS: name},
        )
