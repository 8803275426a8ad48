"""The Miner Hub integration: Bitcoin miners and pool accounts in Home Assistant."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    issue_registry as ir,
)
from homeassistant.helpers.storage import Store
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_KIND,
    DOMAIN,
    ISSUE_POOL_UNSEEN,
    ISSUE_WRITE_API_DISABLED,
    KIND_SPIDERPOOL,
    full_power_store_key,
)
from .coordinator import MinerCoordinator
from .governor import STORE_VERSION, store_key
from .helpers import create_miner, create_pool_client
from .pool_coordinator import PoolCoordinator
from .pool_link import PoolWatch
from .profile import async_remove_profile
from .services import async_setup_services

type MinerHubConfigEntry = ConfigEntry[MinerCoordinator | PoolCoordinator]

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.CLIMATE,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]
POOL_PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


def _is_pool(entry: MinerHubConfigEntry) -> bool:
    return entry.data.get(CONF_KIND) == KIND_SPIDERPOOL


def _platforms(entry: MinerHubConfigEntry) -> list[Platform]:
    return POOL_PLATFORMS if _is_pool(entry) else PLATFORMS


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions, once for every miner and account."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> bool:
    """Connect to the miner or account, read it once, then set up its entities.

    A miner that does not answer, but answered an earlier setup, is set up from
    its profile (``profile.py``): its entities are unavailable until it answers.
    """
    coordinator: MinerCoordinator | PoolCoordinator
    if _is_pool(entry):
        coordinator = PoolCoordinator(hass, entry, create_pool_client(hass, entry.data))
    else:
        coordinator = MinerCoordinator(hass, entry, create_miner(hass, entry.data))
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, _platforms(entry))
    if isinstance(coordinator, MinerCoordinator):
        # Whether its pool sees it, after each poll (a repair issue if not).
        watch = PoolWatch(hass, coordinator)
        entry.async_on_unload(coordinator.async_add_listener(watch.async_check))
        # Its entities exist: the profile is kept from now on.
        coordinator.profile.async_start_saving()
    return True


async def async_unload_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> bool:
    """Unload the entities; the miner keeps running as it is."""
    return await hass.config_entries.async_unload_platforms(entry, _platforms(entry))


async def async_remove_entry(hass: HomeAssistant, entry: MinerHubConfigEntry) -> None:
    """Forget the entry's repair issues, held changes, learned full power, profile."""
    for issue in (ISSUE_WRITE_API_DISABLED, ISSUE_POOL_UNSEEN):
        ir.async_delete_issue(hass, DOMAIN, f"{issue}_{entry.entry_id}")
    for key in (store_key(entry.entry_id), full_power_store_key(entry.entry_id)):
        await Store[dict[str, Any]](hass, STORE_VERSION, key).async_remove()
    await async_remove_profile(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: MinerHubConfigEntry, device: dr.DeviceEntry
) -> bool:
    """A pool worker the pool no longer lists may be removed by hand."""
    coordinator = entry.runtime_data
    if not isinstance(coordinator, PoolCoordinator):
        return False
    listed = {
        (DOMAIN, coordinator.worker_identifier(name))
        for name in coordinator.data.workers
    }
    return (
        not device.identifiers & listed
        and (DOMAIN, entry.entry_id) not in device.identifiers
    )
