"""The repair that removes the sensors an earlier version made beside the controls."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.repairs import duplicate_sensors_issue_id
from tests.conftest import MINER_MAC, setup_integration

POWER_MODE = "sensor.garage_m30_power_mode"
POWER_LIMIT = "sensor.garage_m30_power_limit"


def _registered_by_an_earlier_version(hass: HomeAssistant) -> None:
    """The two sensors, as version 0.1 registered them."""
    registry = er.async_get(hass)
    for key in ("power_mode", "power_limit"):
        registry.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{MINER_MAC.lower()}_{key}",
            suggested_object_id=f"garage_m30_{key}",
        )


async def test_earlier_sensors_stay_and_a_repair_offers_their_removal(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Kept (their IDs may be in use) until the user confirms the repair."""
    _registered_by_an_earlier_version(hass)
    entry = await setup_integration(hass, mock_config_entry)
    assert hass.states.get(POWER_MODE).state == "normal"  # type: ignore[union-attr]
    issue = ir.async_get(hass).async_get_issue(
        DOMAIN, duplicate_sensors_issue_id(entry)
    )
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders == {
        "name": "garage-m30",
        "entities": f"{POWER_LIMIT}, {POWER_MODE}",
    }

    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue.issue_id}
    )
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    assert (
        flow["description_placeholders"]["entities"] == f"{POWER_LIMIT}, {POWER_MODE}"
    )
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert (await response.json())["type"] == "create_entry"
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    assert registry.async_get(POWER_MODE) is None
    assert registry.async_get(POWER_LIMIT) is None
    assert hass.states.get(POWER_MODE) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id) is None

    # Not created again at the next start, and no issue.
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert registry.async_get(POWER_MODE) is None
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue.issue_id) is None


async def test_no_repair_on_a_new_install(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    entry = await setup_integration(hass, mock_config_entry)
    assert hass.states.get(POWER_MODE) is None
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, duplicate_sensors_issue_id(entry))
        is None
    )
