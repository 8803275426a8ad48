"""Automation triggers of Miner Hub: a miner answers again.

Automations that set a miner's state at fixed times (time-of-use schedules)
would otherwise miss a transition that fell into a power cut or a reboot: this
trigger lets them apply the state that is due as soon as the miner is back.
"""

from __future__ import annotations

import asyncio
from typing import Any, override

from homeassistant.components.binary_sensor.const import (
    DOMAIN as BINARY_SENSOR_DOMAIN,
    BinarySensorDeviceClass,
)
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import CALLBACK_TYPE, Context, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.automation import DomainSpec
from homeassistant.helpers.trigger import (
    EntityTransitionTriggerBase,
    Trigger,
    TriggerActionRunner,
    TriggerNotTriggeredReporter,
)

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

    @override
    async def async_attach_runner(
        self,
        run_action: TriggerActionRunner,
        did_not_trigger: TriggerNotTriggeredReporter | None = None,
    ) -> CALLBACK_TYPE:
        """Run the action once the poll has updated all the miner's entities.

        The Mining binary sensor is written first; an action started at once
        would still see the miner's switch and numbers unavailable.
        """
        hass = self._hass

        @callback
        def run_after_the_update(
            extra_trigger_payload: dict[str, Any],
            description: str,
            context: Context | None = None,
        ) -> asyncio.Task[Any]:
            async def run() -> Any:
                return await run_action(extra_trigger_payload, description, context)

            # Not eager: the task starts after the entities' update loop.
            return hass.async_create_task(run(), eager_start=False)

        return await super().async_attach_runner(run_after_the_update, did_not_trigger)


TRIGGERS: dict[str, type[Trigger]] = {"came_online": MinerCameOnlineTrigger}


async def async_get_triggers(hass: HomeAssistant) -> dict[str, type[Trigger]]:
    """Miner Hub's triggers."""
    return TRIGGERS
