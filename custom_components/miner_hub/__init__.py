"""The Miner Hub integration: Bitcoin miners and pool accounts in Home Assistant."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN, ISSUE_WRITE_API_DISABLED
from .coordinator import MinerCoordinator, MinerHubConfigEntry, create_miner
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, once for every miner."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> bool:
    """Connect to the miner, read it once, then set up its entities."""
    coordinator = MinerCoordinator(hass, entry, create_miner(hass, entry.data))
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> bool:
    """Unload the entities; the miner keeps running as it is."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> None:
    """Forget the entry's repair issue."""
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_WRITE_API_DISABLED}_{entry.entry_id}")
