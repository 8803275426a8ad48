"""Automation triggers of Miner Hub: a miner answers again.

Automations that set a miner's state at fixed times (time-of-use schedules)
would otherwise miss a transition that fell into a power cut or a reboot: this
trigger lets them apply the state that is due as soon as the miner is back.
"""

from __future__ import annotations

from typing import override

from homeassistant.components.binary_sensor.const import (
    DOMAIN as BINARY_SENSOR_DOMAIN,
    BinarySensorDeviceClass,
)
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.automation import DomainSpec
from homeassistant.helpers.trigger import EntityTransitionTriggerBase, Trigger

from .const import DOMAIN

# The one entity every miner has, and that follows its reachability.
MINING_KEY = "mining"


class MinerCameOnlineTrigger(EntityTransitionTriggerBase):
    """A miner's Mining binary sensor leaves ``unavailable``.

    That happens at the first good poll after the miner was unreachable, and
    when the integration sets up after a Home Assistant restart.
    """

    # Class attributes in Home Assistant's trigger bases, never mutated.
    _domain_specs = {  # noqa: RUF012
        BINARY_SENSOR_DOMAIN: DomainSpec(device_class=BinarySensorDeviceClass.RUNNING)
    }
    _from_states = {STATE_UNAVAILABLE}  # noqa: RUF012
    _to_states = {STATE_ON, STATE_OFF}  # noqa: RUF012
    # Unavailable is the origin this trigger is about; unknown is not "offline".
    _excluded_from_states = frozenset({STATE_UNKNOWN})

    @override
    def entity_filter(self, entities: set[str]) -> set[str]:
        """Only the Mining binary sensors of Miner Hub miners."""
        registry = er.async_get(self._hass)
        return {
            entity_id
            for entity_id in super().entity_filter(entities)
            if (entry := registry.async_get(entity_id)) is not None
            and entry.platform == DOMAIN
            and entry.translation_key == MINING_KEY
        }


TRIGGERS: dict[str, type[Trigger]] = {"came_online": MinerCameOnlineTrigger}


async def async_get_triggers(hass: HomeAssistant) -> dict[str, type[Trigger]]:
    """Miner Hub's triggers."""
    return TRIGGERS
