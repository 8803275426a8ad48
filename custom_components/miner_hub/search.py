"""The config flow's search for miners: a network, a scan, then a miner to add.

The user names a network (Home Assistant's own by default); the protocol
library's ``NetworkSearch`` asks every address of it. The miners found that no
entry holds yet are offered; the one picked continues with its kind's own step
(``whatsminer`` or ``dragonmint``), its address filled in, so only the password
is left to type. Nothing found: a menu says so and offers the manual choices.

Why a search rather than discovery: the miners announce nothing, and their MACs
are locally administered (no vendor OUI a DHCP matcher could use).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Interface, IPv4Network
from types import MappingProxyType
from typing import Any, Final

from homeassistant.components.network import async_get_adapters
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import SelectOptionDict

from .const import (
    CONF_V3_PORT,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
    LOGGER,
)
from .forms import (
    CONF_DEVICE,
    CONF_NETWORK,
    SEARCH_SCHEMA,
    SECTION_ADVANCED,
    found_schema,
)
from .protocol.search import (
    MAX_SEARCH_ADDRESSES,
    FoundMiner,
    MinerFamily,
    NetworkSearch,
    NetworkTooLarge,
    SearchPorts,
    search_network,
)

STEP_SEARCH: Final = "search"
# Where the search asks (tests point it at emulators on other ports).
SEARCH_PORTS: Final = SearchPorts()
_DEFAULT_PREFIX: Final = 24  # Home Assistant's network, when it is too large


async def async_default_network(hass: HomeAssistant) -> str | None:
    """Home Assistant's own IPv4 network, from the network integration.

    The first enabled adapter's first address that is neither loopback nor
    link-local; its /24 where the network is larger than a search may be.
    """
    for adapter in await async_get_adapters(hass):
        if not adapter["enabled"]:
            continue
        for address in adapter["ipv4"]:
            interface = IPv4Interface(
                f"{address['address']}/{address['network_prefix']}"
            )
            if interface.is_loopback or interface.is_link_local:
                continue
            if interface.network.num_addresses > MAX_SEARCH_ADDRESSES:
                interface = IPv4Interface(f"{interface.ip}/{_DEFAULT_PREFIX}")
            return str(interface.network)
    return None


def label(found: FoundMiner) -> str:
    """What the list shows: model, hostname, address and MAC, where known."""
    name = " ".join(part for part in (found.brand, found.model) if part)
    parts = (name, found.hostname, found.host, found.mac and found.mac.upper())
    return " · ".join(part for part in parts if part)


def is_configured(found: FoundMiner, entries: Iterable[ConfigEntry]) -> bool:
    """Whether an entry holds the miner: its MAC, else (MAC unknown) its address.

    A miner whose MAC no entry has is new, also at an address an entry names
    (that entry's miner moved away).
    """
    miners = [entry for entry in entries if entry.data.get(CONF_HOST)]
    if found.mac is not None:
        return any(entry.unique_id == found.mac for entry in miners)
    return any(entry.data[CONF_HOST] == found.host for entry in miners)


def prefill(found: FoundMiner, ports: SearchPorts) -> dict[str, Any]:
    """The kind's form as the miner was found: address, ports where not default."""
    values: dict[str, Any] = {CONF_HOST: found.host}
    defaults = SearchPorts()
    if found.family is MinerFamily.DRAGONMINT:
        if ports.web != defaults.web:
            values[CONF_PORT] = ports.web
        return values
    if ports.whatsminer_v2 != defaults.whatsminer_v2:
        values[CONF_PORT] = ports.whatsminer_v2
    if ports.whatsminer_v3 != defaults.whatsminer_v3:
        values[SECTION_ADVANCED] = {CONF_V3_PORT: ports.whatsminer_v3}
    return values


class SearchFlow(ConfigFlow):
    """The search steps of Miner Hub's config flow (its base class).

    ``found_values`` prefill the kind's form once a miner found is picked.
    """

    found_values: Mapping[str, Any] = MappingProxyType({})
    _network: IPv4Network  # set by the search step, before any other
    _search: asyncio.Task[list[FoundMiner]] | None = None
    _found: tuple[FoundMiner, ...] = ()

    async def async_step_search(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask which network to search (Home Assistant's own by default)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._network = search_network(user_input[CONF_NETWORK])
            except NetworkTooLarge:
                errors[CONF_NETWORK] = "network_too_large"
            except ValueError:
                errors[CONF_NETWORK] = "invalid_network"
            else:
                self._search = None
                return await self.async_step_search_scan()
        elif default := await async_default_network(self.hass):
            user_input = {CONF_NETWORK: default}
        return self.async_show_form(
            step_id=STEP_SEARCH,
            data_schema=self.add_suggested_values_to_schema(SEARCH_SCHEMA, user_input),
            errors=errors,
            description_placeholders={"max": str(MAX_SEARCH_ADDRESSES)},
        )

    async def async_step_search_scan(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Search in the background; then the miners found, or a menu."""
        network = self._network
        if self._search is None:
            search = NetworkSearch(
                async_get_clientsession(self.hass), ports=SEARCH_PORTS
            )
            self._search = self.hass.async_create_task(search.run(network))
        if not self._search.done():
            return self.async_show_progress(
                step_id="search_scan",
                progress_action="scan",
                progress_task=self._search,
                description_placeholders={"network": str(network)},
            )
        try:
            found = self._search.result()
        except Exception:
            LOGGER.exception("The search of %s failed", network)
            # A progress ends with its "done": the next step aborts.
            return self.async_show_progress_done(next_step_id="search_failed")
        entries = self._async_current_entries(include_ignore=False)
        self._found = tuple(
            miner for miner in found if not is_configured(miner, entries)
        )
        LOGGER.debug("Found in %s: %s (new: %s)", network, found, self._found)
        next_step = "search_pick" if self._found else "search_none"
        return self.async_show_progress_done(next_step_id=next_step)

    async def async_step_search_pick(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Offer the miners found; the one picked continues with its kind's step."""
        if user_input is not None:
            found = next(m for m in self._found if m.host == user_input[CONF_DEVICE])
            self.found_values = prefill(found, SEARCH_PORTS)
            # The kind is the step's name, as for the menu's choices.
            step = getattr(self, f"async_step_{found.family}")
            result: ConfigFlowResult = await step()
            return result
        options = [SelectOptionDict(value=m.host, label=label(m)) for m in self._found]
        return self.async_show_form(
            step_id="search_pick",
            data_schema=found_schema(options),
            description_placeholders={
                "network": str(self._network),
                "count": str(len(self._found)),
            },
        )

    async def async_step_search_failed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The search stopped on an unexpected error (logged)."""
        return self.async_abort(reason="search_failed")

    async def async_step_search_none(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Nothing new found: say so, and offer another search or the manual steps."""
        return self.async_show_menu(
            step_id="search_none",
            menu_options=[
                STEP_SEARCH,
                KIND_WHATSMINER,
                KIND_DRAGONMINT,
                KIND_SPIDERPOOL,
            ],
            description_placeholders={"network": str(self._network)},
        )
