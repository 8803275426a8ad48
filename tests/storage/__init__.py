"""Home Assistant ``.storage`` written by an earlier Miner Hub, and its installation.

``fixtures/`` holds the files ``python -m tests.storage.generate`` wrote; this
package describes the installation that wrote them, for the generator and for
``tests/test_stored_entries.py`` alike: the emulated devices (MACs, hostnames,
passwords), the placeholders of their ports, and how Home Assistant loads storage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant import bootstrap
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from tests.emulators import (
    DragonMintEmulator,
    SpiderpoolEmulator,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)

FIXTURES: Final = Path(__file__).parent / "fixtures"
# The files of .storage the fixtures hold (each only Miner Hub's part).
CONFIG_ENTRIES: Final = "core.config_entries"
DEVICE_REGISTRY: Final = "core.device_registry"
ENTITY_REGISTRY: Final = "core.entity_registry"
RESTORE_STATE: Final = "core.restore_state"
STORAGE_KEYS: Final = (CONFIG_ENTRIES, DEVICE_REGISTRY, ENTITY_REGISTRY, RESTORE_STATE)

# The devices of the installation (a miner's unique ID is its MAC, lower case).
WHATSMINER_V2_MAC: Final = "C6:07:20:00:1E:C2"
WHATSMINER_V2_HOSTNAME: Final = "garage-m30"
WHATSMINER_V2_PASSWORD: Final = "s3cret_1"
WHATSMINER_V3_MAC: Final = "C6:07:20:00:2B:7D"
WHATSMINER_V3_HOSTNAME: Final = "shed-m60"
WHATSMINER_V3_PASSWORD: Final = "s3cret_3"
DRAGONMINT_MAC: Final = "00:0A:35:12:34:56"
DRAGONMINT_USERNAME: Final = "admin"
DRAGONMINT_PASSWORD: Final = "dragonadmin"
POOL_COIN: Final = "btc"
POOL_SUBACCOUNT: Final = "homeminer"
POOL_WORKERS: Final = 12

# What the user did after adding them.
SCAN_INTERVAL: Final = 60  # options of the v2 miner
POWER_PERCENT: Final = 60  # set on the v2 miner, which does not report it
POWER_PERCENT_ENTITY: Final = "number.garage_m30_power_percent"
RENAMED_FROM: Final = "sensor.garage_m30_hashrate"
RENAMED_TO: Final = "sensor.my_garage_hashrate"

# A step of frozen time: a poll of every miner and of the pool is due after it.
POLL_STEP: Final = timedelta(minutes=5)
# Before the fixtures were written (their power percent was set at 17:40).
V2_RUNNING_SINCE: Final = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Installation:
    """The emulated devices, listening on 127.0.0.1 on ports of their own."""

    whatsminer_v2: WhatsminerV2Emulator
    whatsminer_v3: WhatsminerV3Emulator
    dragonmint: DragonMintEmulator
    spiderpool: SpiderpoolEmulator

    def placeholders(self) -> dict[str, int | str]:
        """The values the fixtures name by placeholder: what changes every run."""
        return {
            "whatsminer_v2_port": self.whatsminer_v2.port,
            "whatsminer_v3_port": self.whatsminer_v3.port,
            "whatsminer_v3_v2_port": self.whatsminer_v3.v2.port,
            "dragonmint_port": self.dragonmint.port,
            "spiderpool_url": self.spiderpool.url,
        }

    def accept_keys(self, access_key: str, private_key: str) -> None:
        """Let the pool's account answer to this key pair (the one stored).

        The emulator generates its own pair (the same for the same seed): a test of
        stored entries must not depend on that.
        """
        account = self.spiderpool.add_account(access_key, private_key)
        account.subaccounts = self.spiderpool.account.subaccounts

    async def advance(
        self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, step: timedelta
    ) -> None:
        """Let ``step`` pass for Home Assistant and the DragonMint; run due polls."""
        freezer.tick(step)
        self.dragonmint.advance(0)  # its due events (it follows the frozen clock)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


@asynccontextmanager
async def installation() -> AsyncIterator[Installation]:
    """Start the four emulators; stop them on leaving.

    The API v2 miner has been running since before the fixtures were written:
    its firmware still runs at the power percent they store (it forgets it only
    at a boot).
    """
    v2 = WhatsminerV2Emulator(
        password=WHATSMINER_V2_PASSWORD,
        hostname=WHATSMINER_V2_HOSTNAME,
        mac=WHATSMINER_V2_MAC,
    )
    v2.state.boot_time = V2_RUNNING_SINCE.timestamp()
    async with (
        v2 as whatsminer_v2,
        WhatsminerV3Emulator(
            password=WHATSMINER_V3_PASSWORD,
            hostname=WHATSMINER_V3_HOSTNAME,
            mac=WHATSMINER_V3_MAC,
        ) as whatsminer_v3,
        DragonMintEmulator(
            mac=DRAGONMINT_MAC, admin_password=DRAGONMINT_PASSWORD, noise=False
        ) as dragonmint,
        SpiderpoolEmulator(
            workers=POOL_WORKERS, coin=POOL_COIN, subaccount=POOL_SUBACCOUNT
        ) as spiderpool,
    ):
        yield Installation(whatsminer_v2, whatsminer_v3, dragonmint, spiderpool)


def fill_in(value: Any, placeholders: Mapping[str, int | str]) -> Any:
    """``value`` (JSON) with each ``{name}`` of ``placeholders`` replaced.

    A string that is only a placeholder becomes its value (a port stays a number);
    one that contains it has it replaced as text.
    """
    if isinstance(value, dict):
        return {key: fill_in(item, placeholders) for key, item in value.items()}
    if isinstance(value, list):
        return [fill_in(item, placeholders) for item in value]
    if isinstance(value, str):
        for name, replacement in placeholders.items():
            if value == f"{{{name}}}":
                return replacement
            value = value.replace(f"{{{name}}}", str(replacement))
    return value


async def load_storage(hass: HomeAssistant) -> None:
    """Load registries, restore state and config entries as Home Assistant starts.

    For a ``hass`` made with ``load_registries`` False: the harness would otherwise
    give it empty registries that never read nor write storage.
    """
    assert await bootstrap.async_load_base_functionality(hass)
