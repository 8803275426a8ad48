"""Shared test fixtures.

``custom_components`` is imported from this repository before the ``hass`` fixture
mounts the harness's own test config directory, so Home Assistant finds our
integration rather than an empty namespace package.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from functools import partial
import itertools
from pathlib import Path
import time
from typing import Any, Final, Literal, NamedTuple, Self
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.blueprint.models import DomainBlueprints
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

import custom_components.miner_hub  # noqa: F401
from custom_components.miner_hub.const import (
    CONF_ACCESS_KEY,
    CONF_API,
    CONF_API_URL,
    CONF_COIN,
    CONF_KIND,
    CONF_PRIVATE_KEY,
    CONF_SUBACCOUNT,
    CONF_V3_PORT,
    DOMAIN,
    ISSUE_WRITE_API_DISABLED,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
)
from custom_components.miner_hub.protocol.gate import Gate
from custom_components.miner_hub.protocol.spiderpool.client import SpiderpoolClient
from tests.emulators import (
    DragonMintEmulator,
    Faults,
    MinerState,
    SpiderpoolEmulator,
    V3Faults,
    V3MinerState,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
    derive_salt,
)

MINER_PASSWORD = "s3cret_1"
MINER_HOSTNAME = "garage-m30"
MINER_MAC = "C6:07:20:00:1E:C2"
MINER_UNIQUE_ID = "c6:07:20:00:1e:c2"
# Nothing listens on 127.0.0.1:1: API detection there finds no v3 at once.
CLOSED_PORT = 1


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/miner_hub in every test."""


@pytest.fixture(autouse=True)
def no_whatsminer_v3_port() -> Iterator[None]:
    """API detection probes a closed port for v3 unless a test names an emulator's.

    Without this, a test's detection would depend on whatever listens on 4433.
    """
    with patch(
        "custom_components.miner_hub.protocol.whatsminer.detect.V3_PORT", CLOSED_PORT
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Home Assistant's serializer, files in tests/snapshots/ (as in core).

    The harness defines this fixture too, but syrupy's own plugin overrides it.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture
def gate() -> Gate:
    """What a test's protocol clients share, as Home Assistant's clients do."""
    return Gate()


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, also those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
async def whatsminer(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """An emulated Whatsminer (API v2.2 firmware) on 127.0.0.1."""
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, hostname=MINER_HOSTNAME, mac=MINER_MAC
    ) as emulator:
        yield emulator


def whatsminer_config_entry(data: dict[str, Any]) -> MockConfigEntry:
    """A config entry of the conftest Whatsminer with ``data``, not yet added."""
    return MockConfigEntry(
        domain=DOMAIN, title=MINER_HOSTNAME, unique_id=MINER_UNIQUE_ID, data=data
    )


def whatsminer_entry_data(emulator: WhatsminerV2Emulator) -> dict[str, Any]:
    """Config entry data of an emulated Whatsminer."""
    return {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.port,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v2",
    }


@pytest.fixture
async def whatsminer_v3(socket_enabled: None) -> AsyncIterator[WhatsminerV3Emulator]:
    """The same miner on 2025 firmware: API v3 (full control) and a read-only v2."""
    async with WhatsminerV3Emulator(
        password=MINER_PASSWORD, hostname=MINER_HOSTNAME, mac=MINER_MAC
    ) as emulator:
        yield emulator


def whatsminer_v3_entry_data(emulator: WhatsminerV3Emulator) -> dict[str, Any]:
    """Config entry data of an emulated v3 Whatsminer, as detection stores it."""
    return {
        CONF_KIND: KIND_WHATSMINER,
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.v2.port,
        CONF_PASSWORD: MINER_PASSWORD,
        CONF_API: "v3",
        CONF_V3_PORT: emulator.port,
    }


@pytest.fixture
async def old_whatsminer(socket_enabled: None) -> AsyncIterator[WhatsminerV2Emulator]:
    """The same miner with 2022 firmware (API 2.0.4): no set_power_pct_v2."""
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD, profile="2.0.4", hostname=MINER_HOSTNAME, mac=MINER_MAC
    ) as emulator:
        yield emulator


DRAGONMINT_MAC = "00:0A:35:12:34:56"
DRAGONMINT_UNIQUE_ID = "00:0a:35:12:34:56"
DRAGONMINT_PASSWORD = "dragonadmin"
DRAGONMINT_TITLE = "DragonMint T1 123456"


@pytest.fixture
async def dragonmint(socket_enabled: None) -> AsyncIterator[DragonMintEmulator]:
    """An emulated DragonMint T1 on 127.0.0.1, with deterministic data."""
    async with DragonMintEmulator(mac=DRAGONMINT_MAC, noise=False) as emulator:
        emulator.faults.cgminer_restart_seconds = 30
        yield emulator


def dragonmint_config_entry(data: dict[str, Any]) -> MockConfigEntry:
    """A config entry of the conftest DragonMint with ``data``, not yet added."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=DRAGONMINT_TITLE,
        unique_id=DRAGONMINT_UNIQUE_ID,
        data=data,
    )


def dragonmint_entry_data(emulator: DragonMintEmulator) -> dict[str, Any]:
    """Config entry data of an emulated DragonMint."""
    return {
        CONF_KIND: KIND_DRAGONMINT,
        CONF_HOST: emulator.host,
        CONF_PORT: emulator.port,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: DRAGONMINT_PASSWORD,
    }


@pytest.fixture
def dragonmint_entry(dragonmint: DragonMintEmulator) -> MockConfigEntry:
    """A config entry of the emulated DragonMint, not yet added."""
    return dragonmint_config_entry(dragonmint_entry_data(dragonmint))


POOL_COIN = "btc"
POOL_SUBACCOUNT = "homeminer"
POOL_UNIQUE_ID = "btc_homeminer"
POOL_TITLE = "homeminer (BTC)"


@pytest.fixture
async def spiderpool(socket_enabled: None) -> AsyncIterator[SpiderpoolEmulator]:
    """An emulated Spiderpool API with one account of twelve workers."""
    async with SpiderpoolEmulator(workers=12, subaccount=POOL_SUBACCOUNT) as emulator:
        yield emulator


def spiderpool_entry_data(emulator: SpiderpoolEmulator) -> dict[str, Any]:
    """Config entry data of the emulated account (its API URL is not in the form)."""
    return {
        CONF_KIND: KIND_SPIDERPOOL,
        CONF_ACCESS_KEY: emulator.access_key,
        CONF_PRIVATE_KEY: emulator.private_key_b64,
        CONF_COIN: POOL_COIN,
        CONF_SUBACCOUNT: POOL_SUBACCOUNT,
        CONF_API_URL: emulator.url,
    }


@pytest.fixture
def spiderpool_entry(spiderpool: SpiderpoolEmulator) -> MockConfigEntry:
    """A config entry of the emulated account, not yet added."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=POOL_TITLE,
        unique_id=POOL_UNIQUE_ID,
        data=spiderpool_entry_data(spiderpool),
    )


@pytest.fixture
def pool_clock() -> Iterator[None]:
    """Pool requests signed on the (frozen) test clock, each a millisecond later.

    The client's default clocks are bound at import, so they ignore freezegun,
    while the emulator follows it: without this, a frozen test is outside the
    emulator's timestamp window. The extra millisecond per request keeps two
    requests of one poll from sharing a signature (the emulator rejects replays).
    """
    ticks = itertools.count()

    # Looked up at every call: freezegun's functions while time is frozen.
    def clock() -> float:
        return time.time() + next(ticks) / 1000

    def monotonic() -> float:
        return time.monotonic()

    with patch(
        "custom_components.miner_hub.helpers.SpiderpoolClient",
        partial(SpiderpoolClient, clock=clock, monotonic=monotonic),
    ):
        yield


@pytest.fixture(autouse=True)
def no_governor_limits(request: pytest.FixtureRequest) -> Iterator[None]:
    """Changes reach the miner at once unless a test is marked ``governed``.

    As for pool pacing: the governor has its own tests.
    """
    if request.node.get_closest_marker("governed") is not None:
        yield
        return
    with patch.multiple(
        "custom_components.miner_hub.governor",
        DEFAULT_MIN_DISRUPTIVE_INTERVAL=0,
        DEFAULT_MAX_DISRUPTIVE_CHANGES=1_000_000,
        DEFAULT_MIN_POWER_PERCENT_INTERVAL=0,
    ):
        yield


@pytest.fixture(autouse=True)
def no_pool_call_spacing() -> Iterator[None]:
    """Tests do not wait a second between pool calls (pacing has its own tests)."""
    with patch(
        "custom_components.miner_hub.protocol.spiderpool.client.MIN_CALL_INTERVAL", 0.0
    ):
        yield


def miner_entry(emulator: WhatsminerV2Emulator) -> MockConfigEntry:
    """A config entry of an emulated Whatsminer, not yet added."""
    return whatsminer_config_entry(whatsminer_entry_data(emulator))


@pytest.fixture
def mock_config_entry(whatsminer: WhatsminerV2Emulator) -> MockConfigEntry:
    """A config entry of the emulated Whatsminer, not yet added."""
    return miner_entry(whatsminer)


def only_platforms(*platforms: Platform) -> AbstractContextManager[Any]:
    """Set up only these platforms of the integration."""
    return patch("custom_components.miner_hub.PLATFORMS", list(platforms))


async def setup_integration(
    hass: HomeAssistant, entry: MockConfigEntry
) -> MockConfigEntry:
    """Add the entry and set it up."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # Background work too (the vendor firmware check runs outside the poll).
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


# How a write fails while the miner's write API is switched off (the error's start).
WRITE_API_DISABLED_ERROR: Final = (
    r"^The miner at 127\.0\.0\.1 refuses commands: its write API is switched off\."
)


def write_api_issue_id(entry: ConfigEntry) -> str:
    """The repair issue of an entry whose miner refuses writes (write API off)."""
    return f"{ISSUE_WRITE_API_DISABLED}_{entry.entry_id}"


async def poll(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float = 30
) -> None:
    """Let time pass until the next poll has run.

    Scheduled polls run as background tasks (real TCP to the emulator).
    """
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def poll_dragonmint(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    emulator: DragonMintEmulator,
    seconds: float = 30,
) -> None:
    """Let time pass on both clocks, then run the poll that is due.

    The emulator fires its due events (boot, cgminer start, the end of a firmware
    update) before the poll connects, also while nothing connects to it.
    """
    freezer.tick(timedelta(seconds=seconds))
    emulator.advance(0)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The emulated Whatsminer, set up in Home Assistant."""
    return await setup_integration(hass, mock_config_entry)


# --- one Whatsminer on either API --------------------------------------------------

type Api = Literal["v2", "v3"]
APIS: Final[tuple[Api, ...]] = ("v2", "v3")
# The LED pattern of "identify" (one step; API v3 sends it as a list).
LED_FLASHING: Final = {"color": "red", "period": 1000, "duration": 500, "start": 0}


class Write(NamedTuple):
    """A write as the miner decoded it: v2 parameters as one dict, v3 ``param``."""

    cmd: str
    param: Any


def _v2_pools(*pools: tuple[str, str, str]) -> dict[str, str]:
    """``update_pools`` takes all nine keys, "" for unused pools."""
    slots = [*pools, *[("", "", "")] * (3 - len(pools))]
    return {
        f"{key}{slot}": value
        for slot, pool in enumerate(slots, start=1)
        for key, value in zip(("pool", "worker", "passwd"), pool, strict=True)
    }


def _not_in_v3(control: str) -> Callable[..., Write]:
    def write(*_value: Any) -> Write:
        raise AssertionError(f"API v3 has no command for {control}")

    return write


# What each control sends: (API v2, API v3), each a function of the value set.
WRITES: Final[dict[str, tuple[Callable[..., Write], Callable[..., Write]]]] = {
    "mining_off": (
        lambda: Write("power_off", {"respbefore": "true"}),
        lambda: Write("set.miner.service", "stop"),
    ),
    "mining_on": (
        lambda: Write("power_on", {}),
        lambda: Write("set.miner.service", "start"),
    ),
    "power_percent": (
        lambda percent, mode="normal": Write(
            "set_power_pct_v2" if mode == "normal" else "set_power_pct",
            {"percent": str(percent)},
        ),
        lambda percent, mode="normal": Write(
            "set.miner.power_percent", {"percent": str(percent), "mode": mode}
        ),
    ),
    "power_limit": (
        lambda watts: Write("adjust_power_limit", {"power_limit": str(watts)}),
        lambda watts: Write("set.miner.power_limit", watts),
    ),
    "power_mode": (
        lambda mode: Write(f"set_{mode}_power", {}),
        lambda mode: Write("set.miner.power_mode", mode),
    ),
    "reboot": (
        lambda: Write("reboot", {}),
        lambda: Write("set.system.reboot", None),
    ),
    "restart_mining": (
        lambda: Write("restart_btminer", {}),
        lambda: Write("set.miner.service", "restart"),
    ),
    "identify_on": (
        lambda: Write("set_led", LED_FLASHING),
        lambda: Write("set.system.led", [LED_FLASHING]),
    ),
    "identify_off": (
        lambda: Write("set_led", {"param": "auto"}),
        lambda: Write("set.system.led", "auto"),
    ),
    "pre_power_on": (lambda: Write("pre_power_on", {}), _not_in_v3("pre_power_on")),
    "pools": (
        lambda *pools: Write("update_pools", _v2_pools(*pools)),
        lambda *pools: Write(
            "set.miner.pools",
            [
                {"pool": url, "worker": worker, "passwd": pw}
                for url, worker, pw in pools
            ],
        ),
    ),
}
# Reads of a poll and the 5-minute reads, named as EmulatedWhatsminer.reads() does.
POLL_READS: Final[dict[Api, list[str]]] = {
    "v2": ["status", "summary+pools+edevs"],
    "v3": [
        "get.device.info miner",
        "get.miner.status summary+pools+edevs",
        "get.miner.setting",
    ],
}
SLOW_READS: Final[dict[Api, list[str]]] = {
    "v2": ["get_psu", "get_error_code"],
    "v3": ["get.device.info power", "get.device.info error-code"],
}
IDENTITY_READS: Final[dict[Api, str]] = {
    "v2": "get_miner_info",
    "v3": "get.device.info",
}


class EmulatedWhatsminer:
    """The conftest Whatsminer on API v2 (2.2 firmware) or v3 (2025 firmware).

    Same password, MAC and hostname on both. What tests common to both APIs need:
    the state and faults (shared by both listeners of a v3 miner), its entry, and
    what it received in one shape. A v3 entry speaks only v3 (its reduced v2 API,
    ``emulator.v2``, stays unused).
    """

    def __init__(
        self, api: Api, *, hostname: str = MINER_HOSTNAME, mac: str = MINER_MAC
    ) -> None:
        """The emulator of ``api``, not started yet (tests may configure it).

        Another ``hostname`` and ``mac`` make a second miner beside the first.
        """
        self.api: Api = api
        self.hostname = hostname
        self.mac = mac
        self.emulator: WhatsminerV2Emulator | WhatsminerV3Emulator
        if api == "v2":
            self.emulator = WhatsminerV2Emulator(
                password=MINER_PASSWORD, hostname=hostname, mac=mac
            )
        else:
            self.emulator = WhatsminerV3Emulator(
                password=MINER_PASSWORD, hostname=hostname, mac=mac
            )
        self.poll_reads = POLL_READS[api]
        self.slow_reads = SLOW_READS[api]
        self.identity_read = IDENTITY_READS[api]

    def __repr__(self) -> str:
        return f"EmulatedWhatsminer({self.api})"

    async def __aenter__(self) -> Self:
        await self.emulator.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.emulator.stop()

    # --- the miner -------------------------------------------------------------

    @property
    def state(self) -> MinerState:
        return self.emulator.state

    @property
    def faults(self) -> Faults | V3Faults:
        return self.emulator.faults

    @property
    def host(self) -> str:
        return self.emulator.host

    @property
    def connections_total(self) -> int:
        """Connections to the API the entry uses."""
        return self.emulator.connections_total

    @property
    def flashing_led(self) -> object:
        """``state.led`` while "identify" flashes it."""
        return self.write("identify_on").param

    def is_rebooting(self) -> bool:
        return self.emulator.is_rebooting()

    def is_btminer_restarting(self) -> bool:
        emulator = self.emulator
        if isinstance(emulator, WhatsminerV3Emulator):
            return emulator.v2.is_btminer_restarting()  # one miner, one btminer
        return emulator.is_btminer_restarting()

    def advance(self, seconds: float) -> None:
        self.emulator.advance(seconds)

    def power_w(self) -> int:
        """The power the miner draws now (W)."""
        return self.emulator.power_w()

    async def set_offline(self, offline: bool) -> None:
        """Both APIs of a v3 miner go away (it is switched off or unplugged)."""
        await self.emulator.set_offline(offline)

    def change_password(self, password: str) -> None:
        """Set a new password on the miner, as its web interface would."""
        emulator = self.emulator
        emulator.state.password = password
        if isinstance(emulator, WhatsminerV3Emulator):
            emulator.rotate_salt()
        else:
            emulator.state.salt = derive_salt(password)
            emulator.clear_tokens()

    @property
    def error_reasons(self) -> bool:
        """Whether the miner names a reason per error code (v3 does, v2 does not)."""
        return isinstance(self.state, V3MinerState)

    # --- its config entry ----------------------------------------------------------

    def entry_data(self) -> dict[str, Any]:
        emulator = self.emulator
        if isinstance(emulator, WhatsminerV3Emulator):
            return whatsminer_v3_entry_data(emulator)
        return whatsminer_entry_data(emulator)

    def entry(self, **options: Any) -> MockConfigEntry:
        """A config entry of this miner (with these options), not yet added."""
        return MockConfigEntry(
            domain=DOMAIN,
            title=self.hostname,
            unique_id=self.mac.lower(),
            data=self.entry_data(),
            options=options,
        )

    # --- what it is sent -----------------------------------------------------------

    def write(self, control: str, *value: Any) -> Write:
        """The write a control (a key of WRITES) sends on this API."""
        return WRITES[control][self.api == "v3"](*value)

    def command(self, control: str, *value: Any) -> str:
        """The name of the command a control sends on this API."""
        return self.write(control, *value).cmd

    def mark(self) -> int:
        """Where what arrives from now on starts (for ``writes`` and ``reads``)."""
        return len(self.emulator.received)

    def writes(self, since: int = 0) -> list[Write]:
        """Writes that reached the miner with valid credentials, refused or not.

        v2: those the miner could decrypt; v3: those with a valid token.
        """
        emulator = self.emulator
        if isinstance(emulator, WhatsminerV3Emulator):
            return [
                Write(received.cmd, received.param)
                for received in emulator.received[since:]
                if received.token_ok
            ]
        return [
            Write(received.cmd, received.params)
            for received in emulator.received[since:]
            if received.encrypted
        ]

    def reads(self, since: int = 0) -> list[str]:
        """Reads since ``since``: v2 command names, v3 ``"<cmd> <param>"``."""
        emulator = self.emulator
        if isinstance(emulator, WhatsminerV3Emulator):
            return [
                received.cmd
                if received.param is None
                else f"{received.cmd} {received.param}"
                for received in emulator.received[since:]
                if not received.cmd.startswith("set.")
            ]
        return [
            received.cmd
            for received in emulator.received[since:]
            if not received.encrypted
        ]


# For tests of what only one API does, with the fixtures of any_whatsminer.
V2_ONLY: Final = pytest.mark.parametrize("any_whatsminer", ["v2"], indirect=True)
V3_ONLY: Final = pytest.mark.parametrize("any_whatsminer", ["v3"], indirect=True)


@pytest.fixture(params=APIS)
async def any_whatsminer(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[EmulatedWhatsminer]:
    """The emulated Whatsminer, once on API v2 and once on API v3."""
    async with EmulatedWhatsminer(request.param) as miner:
        yield miner


@pytest.fixture
def any_miner_entry(any_whatsminer: EmulatedWhatsminer) -> MockConfigEntry:
    """A config entry of ``any_whatsminer``, not yet added."""
    return any_whatsminer.entry()


@pytest.fixture
async def init_any_integration(
    hass: HomeAssistant, any_miner_entry: MockConfigEntry
) -> MockConfigEntry:
    """``any_whatsminer``, set up in Home Assistant."""
    return await setup_integration(hass, any_miner_entry)


BLUEPRINTS: Final = Path(__file__).parent.parent / "blueprints" / "automation"


@pytest.fixture
def repository_blueprints() -> Iterator[None]:
    """Blueprints load from the repository, as a user imports them."""
    with patch.object(
        DomainBlueprints,
        "blueprint_folder",
        new_callable=PropertyMock,
        return_value=BLUEPRINTS,
    ):
        yield


@pytest.fixture
async def automations_off_at_the_end(hass: HomeAssistant) -> AsyncIterator[None]:
    """Detach the automations' time triggers before Home Assistant stops."""
    yield
    if hass.services.has_service(automation.DOMAIN, "turn_off"):
        await hass.services.async_call(
            automation.DOMAIN, "turn_off", {"entity_id": "all"}, blocking=True
        )


def device_id(hass: HomeAssistant, identifier: str) -> str:
    """The device of a Miner Hub entry (a miner's MAC, a pool's entry ID)."""
    return next(
        device.id
        for device in dr.async_get(hass).devices
        if (DOMAIN, identifier) in device.identifiers
    )
