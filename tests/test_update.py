"""The firmware update entity, over real HTTP against the DragonMint emulator.

The emulated miner asks the vendor's server for the newest release (unreachable
unless a test offers one), downloads and installs a release on
``/upgrade/download`` during ``faults.upgrade_seconds`` of its clock, then
reboots (``faults.reboot_seconds``) into the new version.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.update import (
    ATTR_IN_PROGRESS,
    ATTR_INSTALLED_VERSION,
    ATTR_LATEST_VERSION,
    ATTR_RELEASE_SUMMARY,
    ATTR_RELEASE_URL,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.components.update.const import DATA_COMPONENT
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
)
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.models import Capability
from custom_components.miner_hub.update import INSTALL_TIMEOUT
from tests.conftest import (
    DRAGONMINT_UNIQUE_ID,
    only_platforms,
    poll_dragonmint,
    setup_integration,
)
from tests.emulators import DragonMintEmulator
from tests.emulators.dragonmint import LatestFirmware

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
FIRMWARE = "update.dragonmint_t1_123456_firmware"
HASHRATE = "sensor.dragonmint_t1_123456_hashrate"
INSTALLED = "t1_20181024_114207"  # the emulator's platform_v
NEW = "t1_20190301_120000"
NEW_URL = "https://download.halongmining.com/files/t1/t1_20190301_120000.swu"
NOTES = "Stability fixes and improved autotune."
FAILED = "the update failed"
TIMED_OUT = "20 minutes after the update was started"


@pytest.fixture(autouse=True)
def frozen_time(freezer: FrozenDateTimeFactory) -> None:
    """One clock for Home Assistant and the emulator (set up before it)."""
    freezer.move_to(NOW)


@pytest.fixture
def newer_release(dragonmint: DragonMintEmulator) -> DragonMintEmulator:
    """The vendor's server answers and offers a newer firmware."""
    dragonmint.state.latest_firmware = LatestFirmware(NEW, NEW_URL, NOTES)
    return dragonmint


@pytest.fixture
async def init_update(
    hass: HomeAssistant,
    newer_release: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The emulated T1 with a newer release on offer, every platform set up."""
    return await setup_integration(hass, dragonmint_entry)


def _firmware(hass: HomeAssistant) -> State:
    state = hass.states.get(FIRMWARE)
    assert state is not None
    return state


async def _install(hass: HomeAssistant, **data: Any) -> None:
    await hass.services.async_call(
        UPDATE_DOMAIN,
        SERVICE_INSTALL,
        {ATTR_ENTITY_ID: FIRMWARE, **data},
        blocking=True,
    )


def _downloads(emulator: DragonMintEmulator) -> list[tuple[dict[str, Any], Any]]:
    """(form, JSON body) of every request to ``/upgrade/download``."""
    return [
        (request.form, request.json)
        for request in emulator.received
        if request.path == "/upgrade/download"
    ]


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.miner_hub")
        and record.levelno == logging.WARNING
    ]


# --- what the entity shows --------------------------------------------------------


async def test_entity(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    newer_release: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    with only_platforms(Platform.UPDATE):
        await setup_integration(hass, dragonmint_entry)
    await snapshot_platform(hass, entity_registry, snapshot, dragonmint_entry.entry_id)


async def test_vendor_server_unreachable(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """No answer from the vendor: unknown, never "up to date"; nothing to install."""
    await setup_integration(hass, dragonmint_entry)
    assert "getLatestFirmwareVersion" in dragonmint.actions()

    state = _firmware(hass)
    assert state.state == STATE_UNKNOWN
    assert state.attributes[ATTR_INSTALLED_VERSION] == INSTALLED
    assert state.attributes[ATTR_LATEST_VERSION] is None
    assert state.attributes[ATTR_RELEASE_SUMMARY] is None
    assert state.attributes[ATTR_IN_PROGRESS] is False

    with pytest.raises(HomeAssistantError, match="No update available"):
        await _install(hass)
    assert _downloads(dragonmint) == []

    # Called directly (the update component checks first): refused as well.
    entity = hass.data[DATA_COMPONENT].get_entity(FIRMWARE)
    assert entity is not None
    with pytest.raises(HomeAssistantError) as err:
        await entity.async_install(None, False)
    assert err.value.translation_key == "no_update_available"
    assert _downloads(dragonmint) == []


async def test_newer_release(hass: HomeAssistant, init_update: MockConfigEntry) -> None:
    state = _firmware(hass)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_INSTALLED_VERSION] == INSTALLED
    assert state.attributes[ATTR_LATEST_VERSION] == NEW
    assert state.attributes[ATTR_RELEASE_SUMMARY] == NOTES
    # The vendor links the image only (a download, not release notes).
    assert state.attributes[ATTR_RELEASE_URL] is None
    assert state.attributes[ATTR_IN_PROGRESS] is False


@pytest.mark.parametrize(
    "case",
    [
        (INSTALLED, "t1_20180515_060842", STATE_OFF),  # older build
        (INSTALLED, INSTALLED, STATE_OFF),
        (INSTALLED, "t1_20181024_114208", STATE_ON),  # a second later
        ("1.9.0", "1.10.0", STATE_ON),  # no build stamp: compared as versions
        ("1.10.0", "1.9.0", STATE_OFF),
    ],
)
async def test_version_comparison(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
    case: tuple[str, str, str],
) -> None:
    """DragonMint versions compare by their build stamp, not as text."""
    installed, latest, expected = case
    dragonmint.state.platform_v = installed
    dragonmint.state.latest_firmware = LatestFirmware(latest, NEW_URL)
    with only_platforms(Platform.UPDATE):
        await setup_integration(hass, dragonmint_entry)
    assert _firmware(hass).state == expected


async def test_release_appears_at_the_next_check(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """The vendor is asked every 6 hours, not at every poll."""
    await setup_integration(hass, dragonmint_entry)
    dragonmint.state.latest_firmware = LatestFirmware(NEW, NEW_URL, NOTES)
    await poll_dragonmint(hass, freezer, dragonmint)
    assert _firmware(hass).state == STATE_UNKNOWN
    assert dragonmint.actions().count("getLatestFirmwareVersion") == 1

    await poll_dragonmint(hass, freezer, dragonmint, 6 * 3600)
    assert _firmware(hass).state == STATE_ON
    assert dragonmint.actions().count("getLatestFirmwareVersion") == 2


async def test_unavailable_when_unreachable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    dragonmint.faults.offline = True
    await poll_dragonmint(hass, freezer, dragonmint)
    assert _firmware(hass).state == STATE_UNAVAILABLE
    dragonmint.faults.offline = False
    await poll_dragonmint(hass, freezer, dragonmint)
    assert _firmware(hass).state == STATE_ON


# --- installing -------------------------------------------------------------------


async def test_install(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """Download, reboot, back with the new version: in progress all along."""
    await _install(hass)
    assert _downloads(dragonmint) == [({"url": NEW_URL}, None)]
    download = next(r for r in dragonmint.received if r.path == "/upgrade/download")
    assert (download.method, download.auth, download.user) == (
        "POST",
        "basic",
        "admin",
    )
    state = _firmware(hass)
    assert state.state == STATE_ON
    assert state.attributes[ATTR_IN_PROGRESS] is True
    assert state.attributes[ATTR_INSTALLED_VERSION] == INSTALLED
    assert dragonmint.state.firmware_updates[-1].result == "running"

    # A second install while this one runs: refused, nothing sent.
    with pytest.raises(HomeAssistantError, match="already in progress"):
        await _install(hass)
    assert len(_downloads(dragonmint)) == 1

    # Installed after 20 s: the miner reboots and is away for a minute.
    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.state.firmware_updates[-1].result == "success"
    assert dragonmint.power_state == "rebooting"
    assert hass.states.get(HASHRATE).state == STATE_UNAVAILABLE
    state = _firmware(hass)
    assert state.state == STATE_ON  # still available, still the old version
    assert state.attributes[ATTR_IN_PROGRESS] is True

    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.power_state == "rebooting"
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is True

    # Back with the new version (cgminer still starting).
    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.power_state == "on"
    assert dragonmint.state.platform_v == NEW
    state = _firmware(hass)
    assert state.state == STATE_OFF
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert state.attributes[ATTR_INSTALLED_VERSION] == NEW
    assert hass.states.get(HASHRATE).state == STATE_UNKNOWN
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, DRAGONMINT_UNIQUE_ID), init_update.entry_id
    )
    assert device is not None
    assert device.sw_version == NEW

    # Nothing left to end later.
    await poll_dragonmint(hass, freezer, dragonmint, INSTALL_TIMEOUT.total_seconds())
    assert _firmware(hass).state == STATE_OFF
    assert _warnings(caplog) == []
    assert len(_downloads(dragonmint)) == 1


async def test_install_fails_on_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """The image is refused and the miner carries on: in progress until timeout."""
    dragonmint.faults.upgrade_fails = True
    await _install(hass)
    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.state.firmware_updates[-1].result == "failure"
    assert dragonmint.power_state == "on"

    await poll_dragonmint(hass, freezer, dragonmint, 19 * 60 - 30)
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is True
    assert _warnings(caplog) == []

    await poll_dragonmint(hass, freezer, dragonmint, 60)  # 20 minutes after the command
    state = _firmware(hass)
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert state.state == STATE_ON  # the update is still to be installed
    assert state.attributes[ATTR_INSTALLED_VERSION] == INSTALLED
    assert [message for message in _warnings(caplog) if TIMED_OUT in message] == [
        f"{FIRMWARE}: the miner does not run firmware {NEW} 20 minutes after the "
        "update was started; showing what it reports"
    ]


async def test_install_interrupted(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """The miner restarts during the update and comes back with the old version."""
    await _install(hass)
    dragonmint.reboot()  # e.g. a power cut
    assert dragonmint.state.firmware_updates[-1].result == "aborted"

    await poll_dragonmint(hass, freezer, dragonmint)
    assert hass.states.get(HASHRATE).state == STATE_UNAVAILABLE
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is True

    await poll_dragonmint(hass, freezer, dragonmint)  # booted 60 s after the reboot
    assert dragonmint.power_state == "on"
    state = _firmware(hass)
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert state.state == STATE_ON
    assert state.attributes[ATTR_INSTALLED_VERSION] == INSTALLED
    assert _warnings(caplog) == [
        f"{FIRMWARE}: the miner restarted with firmware {INSTALLED}, not {NEW}: "
        f"{FAILED}"
    ]


async def test_install_timeout_while_unreachable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """A miner that does not come back: unavailable once the time is up."""
    await _install(hass)
    dragonmint.faults.offline = True
    await poll_dragonmint(hass, freezer, dragonmint, 19 * 60)
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is True

    await poll_dragonmint(hass, freezer, dragonmint, 60)
    assert _firmware(hass).state == STATE_UNAVAILABLE
    assert any(TIMED_OUT in message for message in _warnings(caplog))


async def test_install_unreachable(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """Refused connection: a translated error, not in progress, unavailable."""
    dragonmint.faults.offline = True
    for _ in range(10):  # the client drops its reset keep-alive connection
        await asyncio.sleep(0)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _install(hass)
    assert _downloads(dragonmint) == []
    assert _firmware(hass).state == STATE_UNAVAILABLE


async def test_install_wrong_password(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """The miner's nginx answers 401: nothing installs, reauthentication starts."""
    dragonmint.state.users["admin"] = "n3w-password"
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _install(hass)
    assert _downloads(dragonmint) == [({"url": NEW_URL}, None)]
    assert dragonmint.state.firmware_updates == []
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is False
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_install_without_reply(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """Sent without a reply: it may run, so it is watched until the time is up."""
    dragonmint.faults.drop_requests = 1
    with pytest.raises(
        HomeAssistantError, match=r"^The miner did not confirm the command "
    ):
        await _install(hass)
    assert _downloads(dragonmint) == [({"url": NEW_URL}, None)]
    assert dragonmint.state.firmware_updates == []  # cut before it started
    await hass.async_block_till_done()
    assert _firmware(hass).attributes[ATTR_IN_PROGRESS] is True

    await poll_dragonmint(hass, freezer, dragonmint, INSTALL_TIMEOUT.total_seconds())
    state = _firmware(hass)
    assert state.attributes[ATTR_IN_PROGRESS] is False
    assert state.state == STATE_ON
    assert any(TIMED_OUT in message for message in _warnings(caplog))


async def test_unload_during_install(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    dragonmint: DragonMintEmulator,
    init_update: MockConfigEntry,
) -> None:
    """Unloading forgets the update (the miner carries on): no timer is left."""
    await _install(hass)
    assert await hass.config_entries.async_unload(init_update.entry_id)
    await hass.async_block_till_done()
    await poll_dragonmint(hass, freezer, dragonmint, INSTALL_TIMEOUT.total_seconds())
    assert _warnings(caplog) == []


async def test_no_update_entity_for_whatsminer(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_any_integration: MockConfigEntry,
) -> None:
    """Whatsminer firmware (API v2 or v3) offers no update check: no entity."""
    entries = er.async_entries_for_config_entry(
        entity_registry, init_any_integration.entry_id
    )
    assert entries
    assert not [entry for entry in entries if entry.domain == UPDATE_DOMAIN]
    coordinator = init_any_integration.runtime_data
    assert Capability.FIRMWARE_UPDATE not in coordinator.miner.capabilities
    assert coordinator.latest_firmware is None
