"""Repairs a user confirms: sensors that repeat what a control of the miner shows.

Miners added before version 0.2 have a Power mode and a Power limit sensor
beside the select and the number that show the same value (every change shows
twice in the activity log). New installs get only the controls; an existing
sensor stays, because automations and dashboards may use its entity ID. A
repair issue offers to remove them, saying what to use instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir

from .const import DOMAIN, ISSUE_DUPLICATE_SENSORS


def duplicate_sensors_issue_id(entry: ConfigEntry[Any]) -> str:
    """The repair issue of one miner's duplicate sensors."""
    return f"{ISSUE_DUPLICATE_SENSORS}_{entry.entry_id}"


@callback
def async_offer_removal(
    hass: HomeAssistant, entry: ConfigEntry[Any], entity_ids: Sequence[str]
) -> None:
    """Raise the repair issue for these sensors (none: clear it)."""
    issue_id = duplicate_sensors_issue_id(entry)
    if not entity_ids:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_DUPLICATE_SENSORS,
        translation_placeholders={
            "name": entry.title,
            "entities": ", ".join(sorted(entity_ids)),
        },
        data={"entity_ids": ",".join(entity_ids)},  # issue data is flat
    )


class RemoveDuplicateSensorsFlow(RepairsFlow):
    """Asks once, then removes the sensors from the entity registry."""

    def __init__(self, entity_ids: Sequence[str], placeholders: dict[str, str]) -> None:
        """The sensors to remove, and what the confirmation names."""
        self._entity_ids = entity_ids
        self._placeholders = placeholders

    async def async_step_init(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Straight to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, str] | None = None
    ) -> RepairsFlowResult:
        """Remove on confirmation; the issue is cleared with the flow's end."""
        if user_input is None:
            return self.async_show_form(
                step_id="confirm", description_placeholders=self._placeholders
            )
        registry = er.async_get(self.hass)
        for entity_id in self._entity_ids:
            if registry.async_get(entity_id) is not None:
                registry.async_remove(entity_id)
        return self.async_create_entry(data={})


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow of a duplicate-sensors issue."""
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    placeholders = {} if issue is None else dict(issue.translation_placeholders or {})
    entity_ids = str((data or {}).get("entity_ids") or "")
    return RemoveDuplicateSensorsFlow(
        entity_ids.split(",") if entity_ids else [], placeholders
    )
