"""The search for miners, over loopback: emulators at several 127.x.y.z addresses.

Each test searches a /29 (or /24) of loopback addresses of its own, chosen at
random, so that tests running side by side never find each other's emulators.
Every emulator of a kind listens on the same port, which the search is told.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack
from ipaddress import IPv4Network, ip_address
import random
import socket
import time
from typing import Any, Final, Self
from unittest.mock import patch

import aiohttp
from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import pytest_socket

from custom_components.miner_hub.const import (
    CONF_API,
    CONF_KIND,
    CONF_V3_PORT,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.forms import (
    CONF_DEVICE,
    CONF_NETWORK,
    SECTION_ADVANCED,
)
from custom_components.miner_hub.protocol.search import (
    FoundMiner,
    MinerFamily,
    NetworkSearch,
    NetworkTooLarge,
    SearchPorts,
    search_network,
)
from tests.conftest import MINER_PASSWORD
from tests.emulators import (
    INNO_ADMIN_PASSWORD,
    T1_ADMIN_PASSWORD,
    DragonMintEmulator,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)

V2_MAC: Final = "C6:07:20:00:1E:C2"
V3_MAC: Final = "CE:02:01:00:60:01"
T1_MAC: Final = "00:0A:35:12:34:56"
INNO_MAC: Final = "00:0A:35:AB:CD:EF"
OTHER_MAC: Final = "C6:07:20:00:AB:CD"
MENU: Final = ["search", KIND_WHATSMINER, KIND_DRAGONMINT, KIND_SPIDERPOOL]
# A /24 must be searched in this time, whatever answers or does not.
SEARCH_BUDGET_S: Final = 15.0


def _loopback_network(prefix: int) -> IPv4Network:
    """A network of loopback addresses nobody else uses (127.0.0.0/16 left alone)."""
    second, third = random.randint(1, 254), random.randint(0, 255)
    return next(IPv4Network(f"127.{second}.{third}.0/24").subnets(new_prefix=prefix))


# --- every connection the search opens -----------------------------------------


class Connects:
    """The (host, port) of every TCP connection attempt; optionally diverted."""

    def __init__(self) -> None:
        self.addresses: list[tuple[str, int]] = []
        self.divert_to: tuple[str, int] | None = None

    @property
    def hosts(self) -> set[str]:
        return {host for host, _port in self.addresses}


@pytest.fixture
def connects(socket_enabled: None, monkeypatch: pytest.MonkeyPatch) -> Connects:
    """Let tests reach every loopback address, and record what is connected to.

    The harness allows 127.0.0.1 only; asyncio and aiohttp both connect through
    ``socket.socket.connect``, so this sees the Whatsminer and the web probes.
    """
    pytest_socket.socket_allow_hosts(["127.0.0.0/8"], allow_unix_socket=True)
    guarded = socket.socket.connect
    record = Connects()

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family == socket.AF_INET:
            record.addresses.append(address)
            address = record.divert_to or address
        guarded(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return record


# --- emulated miners on one network -----------------------------------------------


class Lan:
    """Emulated miners at addresses of ``network``; each API on one port."""

    def __init__(self, network: IPv4Network) -> None:
        self.network = network
        self._stack = AsyncExitStack()
        # Three distinct ports free at these addresses (the sockets close again).
        with ExitStack() as held:
            sockets = [
                held.enter_context(socket.create_server((self.host(1), 0)))
                for _ in range(3)
            ]
            self.ports = SearchPorts(*(sock.getsockname()[1] for sock in sockets))

    def host(self, index: int) -> str:
        """The address ``index`` steps from the network's (also beyond it)."""
        return str(self.network.network_address + index)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._stack.aclose()

    async def whatsminer_v2(
        self, index: int, mac: str = V2_MAC, hostname: str = "garage-m30"
    ) -> WhatsminerV2Emulator:
        emulator = WhatsminerV2Emulator(
            password=MINER_PASSWORD,
            host=self.host(index),
            port=self.ports.whatsminer_v2,
            mac=mac,
            hostname=hostname,
        )
        return await self._stack.enter_async_context(emulator)

    async def whatsminer_v3(
        self, index: int, mac: str = V3_MAC, hostname: str = "shed-m60"
    ) -> WhatsminerV3Emulator:
        emulator = WhatsminerV3Emulator(
            password=MINER_PASSWORD,
            host=self.host(index),
            port=self.ports.whatsminer_v3,
            v2_port=self.ports.whatsminer_v2,
            mac=mac,
            hostname=hostname,
        )
        return await self._stack.enter_async_context(emulator)

    async def dragonmint(
        self, index: int, mac: str = T1_MAC, *, innosilicon: bool = False
    ) -> DragonMintEmulator:
        emulator = DragonMintEmulator(
            host=self.host(index),
            port=self.ports.web,
            innosilicon=innosilicon,
            mac=mac,
            noise=False,
        )
        return await self._stack.enter_async_context(emulator)

    async def web_page(self, index: int, title: str) -> None:
        """Another device's web interface (a router, a printer)."""
        app = web.Application()

        async def page(_request: web.Request) -> web.Response:
            return web.Response(
                text=f"<html><head><title>{title}</title></head></html>",
                content_type="text/html",
            )

        app.router.add_get("/", page)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, self.host(index), self.ports.web).start()

    def silent(self, index: int) -> None:
        """A device that accepts connections on every port asked and never answers."""
        for port in (
            self.ports.whatsminer_v2,
            self.ports.whatsminer_v3,
            self.ports.web,
        ):
            self._stack.enter_context(socket.create_server((self.host(index), port)))


@pytest.fixture
def network() -> IPv4Network:
    """A /29 of this test's own: host addresses .1 to .6."""
    return _loopback_network(29)


@pytest.fixture
async def lan(network: IPv4Network, connects: Connects) -> AsyncIterator[Lan]:
    """Miners the test starts on ``network``; the flow's search asks their ports."""
    async with Lan(network) as lan:
        with patch("custom_components.miner_hub.search.SEARCH_PORTS", lan.ports):
            yield lan


@pytest.fixture
async def miners(lan: Lan) -> Lan:
    """Whatsminers on API v2 (.2) and v3 (.3), a DragonMint (.4), an Innosilicon (.5)."""
    await lan.whatsminer_v2(2)
    await lan.whatsminer_v3(3)
    await lan.dragonmint(4)
    await lan.dragonmint(5, INNO_MAC, innosilicon=True)
    return lan


def _labels(lan: Lan) -> dict[str, str]:
    """The list's entries for the ``miners`` fixture, by address."""
    return {
        lan.host(2): f"Whatsminer M30S+VE40 · garage-m30 · {lan.host(2)} · {V2_MAC}",
        lan.host(3): f"Whatsminer M60SVK40 · shed-m60 · {lan.host(3)} · {V3_MAC}",
        lan.host(4): f"DragonMint · {lan.host(4)}",
        lan.host(5): f"Innosilicon · {lan.host(5)}",
    }


# --- the flow ----------------------------------------------------------------------


async def _search_form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "search"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "search"
    return result


async def _search(hass: HomeAssistant, network: IPv4Network | str) -> ConfigFlowResult:
    """Search ``network`` from the menu; the step after the progress."""
    result = await _search_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: str(network)}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    assert result["step_id"] == "search_scan"
    assert result["progress_action"] == "scan"
    assert result["description_placeholders"] == {"network": str(network)}
    await hass.async_block_till_done()
    return await hass.config_entries.flow.async_configure(result["flow_id"])


def _options(result: ConfigFlowResult) -> dict[str, str]:
    """The miners offered: label by address."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "search_pick"
    selector = result["data_schema"].schema[CONF_DEVICE]
    return {option["value"]: option["label"] for option in selector.config["options"]}


def _suggested(result: ConfigFlowResult) -> dict[str, Any]:
    """A form's suggested values, a section's as a nested dict."""

    def values(schema: probatio.Schema) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for key, value in schema.schema.items():
            if isinstance(value, section):
                if nested := values(value.schema):
                    found[str(key)] = nested
            elif key.description and "suggested_value" in key.description:
                found[str(key)] = key.description["suggested_value"]
        return found

    return values(result["data_schema"])


def _adapter(
    address: str, prefix: int, *, enabled: bool = True, default: bool = False
) -> dict[str, Any]:
    return {
        "name": "eth0",
        "index": 0,
        "enabled": enabled,
        "auto": True,
        "default": default,
        "ipv4": [{"address": address, "network_prefix": prefix}],
        "ipv6": [],
    }


@pytest.fixture
def adapters() -> Iterator[list[dict[str, Any]]]:
    """The network integration's adapters, as a test sets them."""
    configured: list[dict[str, Any]] = []
    with patch(
        "custom_components.miner_hub.search.async_get_adapters",
        return_value=configured,
    ):
        yield configured


async def test_the_menu_offers_a_search_first(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == MENU


@pytest.mark.parametrize(
    ("configured", "default"),
    [
        pytest.param(
            [_adapter("192.168.1.37", 24)], "192.168.1.0/24", id="home_network"
        ),
        pytest.param(
            [
                _adapter("10.0.0.9", 24, enabled=False),
                {
                    **_adapter("127.0.0.1", 8),
                    "ipv4": [
                        {"address": "127.0.0.1", "network_prefix": 8},
                        {"address": "169.254.10.2", "network_prefix": 16},
                        {"address": "192.168.20.7", "network_prefix": 23},
                    ],
                },
            ],
            "192.168.20.0/23",
            id="first_usable_address_of_an_enabled_adapter",
        ),
        pytest.param([_adapter("10.1.2.3", 16)], "10.1.2.0/24", id="too_large_its_24"),
        pytest.param([], None, id="no_adapter"),
        pytest.param(
            [{**_adapter("192.168.1.2", 24), "ipv4": []}], None, id="ipv6_only"
        ),
    ],
)
async def test_the_network_defaults_to_home_assistants(
    hass: HomeAssistant,
    adapters: list[dict[str, Any]],
    configured: list[dict[str, Any]],
    default: str | None,
) -> None:
    adapters.extend(configured)
    result = await _search_form(hass)
    assert result["errors"] == {}
    assert result["description_placeholders"] == {"max": "1024"}
    assert _suggested(result) == ({CONF_NETWORK: default} if default else {})


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "invalid_network"),
        ("my network", "invalid_network"),
        ("192.168.1.0/33", "invalid_network"),
        ("192.168.1.300/24", "invalid_network"),
        ("fd00::/120", "invalid_network"),
        ("192.168.0.0/21", "network_too_large"),
        ("10.0.0.0/8", "network_too_large"),
    ],
)
async def test_a_network_that_cannot_be_searched(
    hass: HomeAssistant, connects: Connects, text: str, error: str
) -> None:
    """The form says why, keeps what was typed, and nothing is sent."""
    result = await _search_form(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: text}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "search"
    assert result["errors"] == {CONF_NETWORK: error}
    assert _suggested(result) == {CONF_NETWORK: text}
    assert connects.addresses == []


def test_networks_a_search_takes() -> None:
    assert search_network(" 192.168.1.0/24 ") == IPv4Network("192.168.1.0/24")
    # Host bits are fine: Home Assistant's own address with its prefix.
    assert search_network("192.168.1.37/24") == IPv4Network("192.168.1.0/24")
    assert search_network("192.168.1.50") == IPv4Network("192.168.1.50/32")
    assert search_network("192.168.0.0/22").num_addresses == 1024
    with pytest.raises(NetworkTooLarge):
        search_network("192.168.0.0/21")


async def test_miners_found_are_listed(hass: HomeAssistant, miners: Lan) -> None:
    """Model, host name, address and MAC, where the miner tells them; one per address."""
    result = await _search(hass, miners.network)
    assert _options(result) == _labels(miners)
    assert result["description_placeholders"] == {
        "network": str(miners.network),
        "count": "4",
    }


async def test_a_configured_miner_is_not_offered(
    hass: HomeAssistant, miners: Lan
) -> None:
    """Known by its MAC (also at another address), else by its address."""
    # The v2 miner, added when it had another address.
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=V2_MAC.lower(),
        data={CONF_KIND: KIND_WHATSMINER, CONF_HOST: "192.0.2.10", CONF_PORT: 4028},
    ).add_to_hass(hass)
    # The T1 (its MAC is unknown before it is added): its address is known.
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=T1_MAC.lower(),
        data={CONF_KIND: KIND_DRAGONMINT, CONF_HOST: miners.host(4), CONF_PORT: 80},
    ).add_to_hass(hass)
    # A miner that moved away from the v3 miner's address: the v3 one is new.
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=OTHER_MAC.lower(),
        data={CONF_KIND: KIND_WHATSMINER, CONF_HOST: miners.host(3), CONF_PORT: 4028},
    ).add_to_hass(hass)
    # A pool account has no address.
    MockConfigEntry(
        domain=DOMAIN, unique_id="btc_homeminer", data={CONF_KIND: KIND_SPIDERPOOL}
    ).add_to_hass(hass)

    result = await _search(hass, miners.network)

    labels = _labels(miners)
    assert _options(result) == {
        host: labels[host] for host in (miners.host(3), miners.host(5))
    }


async def test_a_whatsminer_picked_is_added(hass: HomeAssistant, miners: Lan) -> None:
    """Its form comes with the address and the search's ports: only the password."""
    result = await _search(hass, miners.network)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE: miners.host(2)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_WHATSMINER
    assert result["errors"] == {}
    prefilled = {
        CONF_HOST: miners.host(2),
        CONF_PORT: miners.ports.whatsminer_v2,
        SECTION_ADVANCED: {CONF_V3_PORT: miners.ports.whatsminer_v3},
    }
    assert _suggested(result) == prefilled

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**prefilled, CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "garage-m30"
    assert result["data"] == {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: miners.host(2),
        CONF_PORT: miners.ports.whatsminer_v2,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v2",
        # Not 4433: the search's port is the one this miner's form had.
        CONF_V3_PORT: miners.ports.whatsminer_v3,
    }
    assert result["result"].unique_id == V2_MAC.lower()
    await hass.async_block_till_done()


async def test_a_whatsminer_on_api_v3_picked_is_added(
    hass: HomeAssistant, miners: Lan
) -> None:
    result = await _search(hass, miners.network)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE: miners.host(3)}
    )
    assert result["step_id"] == KIND_WHATSMINER
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**_suggested(result), CONF_PASSWORD: MINER_PASSWORD}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "shed-m60"
    assert result["data"] == {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: miners.host(3),
        CONF_PORT: miners.ports.whatsminer_v2,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v3",
        CONF_V3_PORT: miners.ports.whatsminer_v3,
    }
    assert result["result"].unique_id == V3_MAC.lower()
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("index", "password", "mac", "title"),
    [
        (4, T1_ADMIN_PASSWORD, T1_MAC, "DragonMint T1 123456"),
        (5, INNO_ADMIN_PASSWORD, INNO_MAC, "T1 ABCDEF"),
    ],
)
async def test_a_dragonmint_picked_is_added(
    hass: HomeAssistant,
    miners: Lan,
    *,
    index: int,
    password: str,
    mac: str,
    title: str,
) -> None:
    result = await _search(hass, miners.network)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DEVICE: miners.host(index)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == KIND_DRAGONMINT
    prefilled = {CONF_HOST: miners.host(index), CONF_PORT: miners.ports.web}
    assert _suggested(result) == prefilled

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**prefilled, CONF_USERNAME: "admin", CONF_PASSWORD: password},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["data"] == {
        CONF_KIND: KIND_DRAGONMINT,
        CONF_HOST: miners.host(index),
        CONF_PORT: miners.ports.web,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: password,
    }
    assert result["result"].unique_id == mac.lower()
    await hass.async_block_till_done()


def test_the_vendors_ports_are_not_filled_in() -> None:
    """Where the miner was found on the vendor's port, the form's default stays."""
    from custom_components.miner_hub.search import prefill

    whatsminer = FoundMiner(MinerFamily.WHATSMINER, "192.168.1.50", "Whatsminer")
    dragonmint = FoundMiner(MinerFamily.DRAGONMINT, "192.168.1.60", "DragonMint")
    assert prefill(whatsminer, SearchPorts()) == {CONF_HOST: "192.168.1.50"}
    assert prefill(dragonmint, SearchPorts()) == {CONF_HOST: "192.168.1.60"}


@pytest.mark.parametrize("configured", [False, True], ids=["empty", "all_added"])
async def test_nothing_new_found(
    hass: HomeAssistant, lan: Lan, configured: bool
) -> None:
    """A menu says so, and offers another search and the manual steps."""
    if configured:
        await lan.whatsminer_v2(2)
        MockConfigEntry(
            domain=DOMAIN,
            unique_id=V2_MAC.lower(),
            data={CONF_KIND: KIND_WHATSMINER, CONF_HOST: lan.host(2), CONF_PORT: 1},
        ).add_to_hass(hass)

    result = await _search(hass, lan.network)

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "search_none"
    assert result["menu_options"] == MENU
    assert result["description_placeholders"] == {"network": str(lan.network)}
    # A manual step starts empty.
    manual = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": KIND_WHATSMINER}
    )
    assert manual["step_id"] == KIND_WHATSMINER
    assert _suggested(manual) == {}


async def test_search_again(hass: HomeAssistant, lan: Lan) -> None:
    """From the "nothing found" menu, another network: now a miner is there."""
    result = await _search(hass, lan.network)
    assert result["step_id"] == "search_none"
    await lan.whatsminer_v2(6)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "search"}
    )
    assert result["step_id"] == "search"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NETWORK: f"{lan.host(6)}/32"}
    )
    assert result["type"] is FlowResultType.SHOW_PROGRESS
    await hass.async_block_till_done()
    result = await hass.config_entries.flow.async_configure(result["flow_id"])
    assert list(_options(result)) == [lan.host(6)]


async def test_a_failed_search_aborts(
    hass: HomeAssistant, lan: Lan, caplog: pytest.LogCaptureFixture
) -> None:
    async def fail(_search: NetworkSearch, _network: IPv4Network) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    with patch.object(NetworkSearch, "run", fail):
        result = await _search(hass, lan.network)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "search_failed"
    assert f"The search of {lan.network} failed" in caplog.text


async def test_the_search_stays_in_the_network(
    hass: HomeAssistant, lan: Lan, connects: Connects
) -> None:
    """Every host address is asked on each port, and nothing else is.

    Miners at the network's own address, its broadcast address and the next
    network's first address are never contacted.
    """
    inside = await lan.whatsminer_v2(2)
    outside = [
        await lan.whatsminer_v2(0, OTHER_MAC),
        await lan.whatsminer_v2(7, OTHER_MAC),
        await lan.whatsminer_v2(9, OTHER_MAC),
    ]

    result = await _search(hass, lan.network)

    assert list(_options(result)) == [lan.host(2)]
    hosts = {str(host) for host in lan.network.hosts()}
    assert connects.hosts == hosts
    ports = lan.ports
    assert {port for _host, port in connects.addresses} == {
        ports.whatsminer_v2,
        ports.whatsminer_v3,
        ports.web,
    }
    assert inside.connections_total > 0
    assert [emulator.connections_total for emulator in outside] == [0, 0, 0]


async def test_other_web_interfaces_are_not_miners(
    hass: HomeAssistant, lan: Lan
) -> None:
    await lan.web_page(2, "LuCI - Lua Configuration Interface")
    await lan.web_page(3, "Router")
    await lan.dragonmint(4)
    result = await _search(hass, lan.network)
    assert list(_options(result)) == [lan.host(4)]


# --- how long a search takes ----------------------------------------------------


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def test_a_24_with_miners_and_silent_devices(
    connects: Connects, session: aiohttp.ClientSession
) -> None:
    """Real timing, default timeouts: refusals, miners, devices that never answer.

    A device that accepts a connection and never answers costs a read timeout.
    """
    async with Lan(_loopback_network(24)) as lan:
        await lan.whatsminer_v2(10)
        await lan.whatsminer_v3(20)
        await lan.dragonmint(30)
        await lan.dragonmint(40, INNO_MAC, innosilicon=True)
        for index in (50, 51, 52, 53):
            lan.silent(index)

        started = time.monotonic()
        found = await NetworkSearch(session, ports=lan.ports).run(lan.network)
        elapsed = time.monotonic() - started

    assert found == [
        FoundMiner(
            MinerFamily.WHATSMINER,
            lan.host(10),
            "Whatsminer",
            "M30S+VE40",
            V2_MAC.lower(),
            "garage-m30",
            "v2",
        ),
        FoundMiner(
            MinerFamily.WHATSMINER,
            lan.host(20),
            "Whatsminer",
            "M60SVK40",
            V3_MAC.lower(),
            "shed-m60",
            "v3",
        ),
        FoundMiner(MinerFamily.DRAGONMINT, lan.host(30), "DragonMint"),
        FoundMiner(MinerFamily.DRAGONMINT, lan.host(40), "Innosilicon"),
    ]
    assert len(connects.hosts) == 254
    assert elapsed < SEARCH_BUDGET_S


async def test_a_24_where_nothing_answers(
    connects: Connects, session: aiohttp.ClientSession
) -> None:
    """Addresses with no device behind them: every connect hangs until its timeout.

    Every connection is diverted to a listener whose accept queue is full: the
    kernel drops the handshake, as an address without a device never answers.
    Real timing with the default timeouts and concurrency.
    """
    network = _loopback_network(24)
    with socket.socket() as black_hole:
        black_hole.bind((str(network.network_address + 1), 0))
        black_hole.listen(0)
        queued = [socket.socket() for _ in range(3)]
        for sock in queued:  # fill the accept queue
            sock.setblocking(False)
            sock.connect_ex(black_hole.getsockname())
        try:
            connects.divert_to = black_hole.getsockname()
            started = time.monotonic()
            found = await NetworkSearch(session).run(network)
            elapsed = time.monotonic() - started
        finally:
            for sock in queued:
                sock.close()

    assert found == []
    assert len(connects.addresses) == 3 * 254
    assert {ip_address(host) for host in connects.hosts} == set(network.hosts())
    # 762 connections, 128 at a time, one second each: about 6 s.
    assert 4.0 < elapsed < SEARCH_BUDGET_S
