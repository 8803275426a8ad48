"""A miner that is off when Home Assistant starts is set up from its profile.

Solar and time-of-use setups cut miners' power daily; Home Assistant restarts
meanwhile. An entry that set up with its miner once keeps a profile (identity,
entities); at a start without the miner, its device and entities are there,
unavailable, and come back at its first answer (``miner_hub.came_online``).

A restart is an unload and a new setup of the entry; real TCP and HTTP to the
emulators (Whatsminer API v2 and v3, DragonMint T1), time frozen and moved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
import logging
import time
from typing import Any, Final
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    ATTR_RESTORED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.miner_hub.const import (
    CONF_API,
    CONF_BITCOIN_PRICE,
    CONF_ELECTRICITY_PRICE,
    CONF_TEMPERATURE_SENSOR,
    DOMAIN,
)
from custom_components.miner_hub.coordinator import MinerCoordinator
from custom_components.miner_hub.helpers import MinerUnavailableError, create_miner
from custom_components.miner_hub.profile import (
    PROFILE_SAVE_DELAY_S,
    PROFILE_STORE_VERSION,
    profile_store_key,
)
from custom_components.miner_hub.protocol.errors import Unreachable
from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import (
    WhatsminerV3Miner,
)
from tests.conftest import (
    DRAGONMINT_MAC,
    MINER_HOSTNAME,
    MINER_MAC,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    POOL_SUBACCOUNT,
    EmulatedWhatsminer,
    dragonmint_config_entry,
    dragonmint_entry_data,
    miner_entry,
    poll,
    setup_integration,
    spiderpool_entry_data,
    whatsminer_v3_entry_data,
)
from tests.emulators import (
    DragonMintEmulator,
    SpiderpoolEmulator,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)
from tests.emulators.spiderpool import SpiderpoolWorker

OTHER_MAC: Final = "C6:07:20:00:99:99"
POWER_PERCENT: Final = "number.garage_m30_power_percent"


@dataclass
class Miner:
    """One emulated miner of any kind, and its config entry."""

    kind: str
    emulator: EmulatedWhatsminer | WhatsminerV2Emulator | DragonMintEmulator
    entry: MockConfigEntry

    @property
    def mac(self) -> str:
        return (DRAGONMINT_MAC if self.kind == "dragonmint" else MINER_MAC).lower()

    async def set_offline(self, offline: bool) -> None:
        """Switched off (or on again) at the plug."""
        if isinstance(self.emulator, DragonMintEmulator):
            self.emulator.faults.offline = offline
            await asyncio.sleep(0)
        else:
            await self.emulator.set_offline(offline)

    def set_mac(self, mac: str) -> None:
        """Another device answers at the address."""
        if isinstance(self.emulator, DragonMintEmulator):
            self.emulator.state.ethaddr = mac.lower()
        else:
            self.emulator.state.mac = mac

    def change_password(self, password: str) -> None:
        """Its password was changed on the miner."""
        if isinstance(self.emulator, DragonMintEmulator):
            self.emulator.state.users["admin"] = password
        else:
            self.emulator.change_password(password)


@pytest.fixture(params=["v2", "v3", "dragonmint"])
async def miner(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[Miner]:
    """The emulated Whatsminer on API v2, on API v3, and a DragonMint T1."""
    if request.param == "dragonmint":
        async with DragonMintEmulator(mac=DRAGONMINT_MAC, noise=False) as dragonmint:
            entry = dragonmint_config_entry(dragonmint_entry_data(dragonmint))
            yield Miner("dragonmint", dragonmint, entry)
        return
    async with EmulatedWhatsminer(request.param) as whatsminer:
        yield Miner(request.param, whatsminer, whatsminer.entry())


def _registered(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """The entry's entities: entity ID to unique ID."""
    registry = er.async_get(hass)
    return {
        item.entity_id: item.unique_id
        for item in er.async_entries_for_config_entry(registry, entry.entry_id)
    }


def _states(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    return {
        entity_id: hass.states.get(entity_id).state  # type: ignore[union-attr]
        for entity_id in _registered(hass, entry)
    }


def _unavailable(states: dict[str, str]) -> set[str]:
    return {
        entity_id for entity_id, state in states.items() if state == STATE_UNAVAILABLE
    }


def _device(hass: HomeAssistant, miner: Miner) -> dr.DeviceEntry:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, miner.mac), miner.entry.entry_id
    )
    assert device is not None
    return device


async def _came_online_automation(hass: HomeAssistant, device_id: str) -> None:
    """An automation that fires ``miner_back`` when ``came_online`` does."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "triggers": {
                    "trigger": "miner_hub.came_online",
                    "target": {"device_id": device_id},
                },
                "actions": {
                    "event": "miner_back",
                    "event_data": {"entity_id": "{{ trigger.entity_id }}"},
                },
            }
        },
    )


async def _restart_while_off(hass: HomeAssistant, miner: Miner) -> None:
    """Home Assistant stops, the miner's power is cut, Home Assistant starts."""
    entry = miner.entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await miner.set_offline(True)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _assert_all_unavailable(hass: HomeAssistant, entity_ids: set[str]) -> None:
    """Each enabled entity is there, unavailable, and written by Miner Hub now.

    The registry's placeholder of an entity nobody added says ``restored``.
    """
    registry = er.async_get(hass)
    for entity_id in entity_ids:
        if (item := registry.async_get(entity_id)) is not None and item.disabled:
            continue
        state = hass.states.get(entity_id)
        assert state is not None, entity_id
        assert state.state == STATE_UNAVAILABLE, entity_id
        assert ATTR_RESTORED not in state.attributes, entity_id


# --- the restart while the miner is off ------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_a_miner_off_at_start_is_set_up_from_its_profile(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, miner: Miner
) -> None:
    entry = miner.entry
    await setup_integration(hass, entry)
    registered = _registered(hass, entry)
    online = _states(hass, entry)
    device = _device(hass, miner)
    assert len(registered) > 5

    await _came_online_automation(hass, device.id)
    fired = async_capture_events(hass, "miner_back")
    await _restart_while_off(hass, miner)

    assert entry.state is ConfigEntryState.LOADED  # not "retrying setup"
    coordinator: MinerCoordinator = entry.runtime_data
    assert not coordinator.last_update_success
    assert coordinator.polled is None
    assert not coordinator.identified
    assert coordinator.info.mac == miner.mac
    # The same device, every entity of before with the same IDs, unavailable.
    assert _device(hass, miner) == device
    assert _registered(hass, entry) == registered
    _assert_all_unavailable(hass, set(registered))

    # Still off a minute later: polled, still unavailable, nothing fired.
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert set(_states(hass, entry).values()) == {STATE_UNAVAILABLE}
    assert fired == []

    # The power comes back: the first answer brings the values and the trigger.
    await miner.set_offline(False)
    await poll(hass, freezer)
    assert coordinator.last_update_success
    assert coordinator.identified
    assert _registered(hass, entry) == registered
    assert _unavailable(_states(hass, entry)) == _unavailable(online)
    hashrate = _entity(hass, entry, "sensor", "hashrate")
    assert float(hass.states.get(hashrate).state) == pytest.approx(  # type: ignore[union-attr]
        float(online[hashrate]), rel=1e-3
    )
    mining = next(
        entity_id
        for entity_id in registered
        if entity_id.startswith("binary_sensor.") and entity_id.endswith("_mining")
    )
    assert [event.data["entity_id"] for event in fired] == [mining]
    assert _device(hass, miner).sw_version == device.sw_version


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_the_same_ids_online_and_from_the_profile(
    hass: HomeAssistant, miner: Miner
) -> None:
    """A registry without the entities (removed by the user): the same IDs again."""
    entry = miner.entry
    await setup_integration(hass, entry)
    registered = _registered(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    registry = er.async_get(hass)
    for entity_id in registered:
        registry.async_remove(entity_id)
        hass.states.async_remove(entity_id)
    await miner.set_offline(True)

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert _registered(hass, entry) == registered
    _assert_all_unavailable(hass, set(registered))


async def test_profile_is_stored_and_removed_with_the_entry(
    hass: HomeAssistant, hass_storage: dict[str, Any], miner: Miner
) -> None:
    entry = miner.entry
    await setup_integration(hass, entry)
    capabilities = entry.runtime_data.miner.capabilities
    key = profile_store_key(entry.entry_id)
    assert key == f"miner_hub.profile.{entry.entry_id}"
    assert key not in hass_storage  # saved a moment later, with all the keys
    assert await hass.config_entries.async_unload(entry.entry_id)  # or now
    stored = hass_storage[key]
    assert stored["version"] == PROFILE_STORE_VERSION
    profile = stored["data"]
    assert profile["info"]["mac"] == miner.mac
    assert profile["info"]["model"] == _device(hass, miner).model
    assert profile["api"] == entry.data.get(CONF_API)
    assert profile["capabilities"] == sorted(capabilities)
    assert "mining" in profile["entities"]["binary_sensor"]
    assert "hashrate" in profile["entities"]["sensor"]
    assert "board_0_board_hashrate" in profile["entities"]["sensor"]
    assert profile["coin"] is None

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_first_setup_needs_the_miner(
    hass: HomeAssistant, hass_storage: dict[str, Any], miner: Miner
) -> None:
    """A new miner without a profile: retried as ever, nothing stored."""
    await miner.set_offline(True)
    miner.entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(miner.entry.entry_id)
    assert miner.entry.state is ConfigEntryState.SETUP_RETRY
    await miner.set_offline(False)
    await hass.async_block_till_done()
    assert profile_store_key(miner.entry.entry_id) not in hass_storage


async def test_a_new_miner_that_goes_away_during_setup_needs_it_again(
    hass: HomeAssistant, hass_storage: dict[str, Any], miner: Miner
) -> None:
    """It answered who it is, then no more: no profile yet, retried as ever."""
    entry = miner.entry
    entry.add_to_hass(hass)
    adapter = type(create_miner(hass, entry.data))
    with patch.object(adapter, "check_access", side_effect=Unreachable("gone")):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert profile_store_key(entry.entry_id) not in hass_storage


async def test_wrong_password_at_a_start_with_a_profile(
    hass: HomeAssistant, miner: Miner
) -> None:
    """The miner answers and refuses the password: reauthentication, as ever."""
    entry = miner.entry
    await setup_integration(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    miner.change_password("other_1")

    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_another_device_at_a_start_with_a_profile(
    hass: HomeAssistant, miner: Miner
) -> None:
    """Another MAC answers at the address: not set up, retried, as ever."""
    entry = miner.entry
    await setup_integration(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    miner.set_mac(OTHER_MAC)

    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert OTHER_MAC.lower() in str(entry.reason)


# --- after a start from the profile ---------------------------------------------------


async def test_another_device_answers_after_a_start_from_the_profile(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    miner: Miner,
) -> None:
    entry = miner.entry
    await setup_integration(hass, entry)
    registered = _registered(hass, entry)
    await _restart_while_off(hass, miner)
    miner.set_mac(OTHER_MAC)
    await miner.set_offline(False)
    with caplog.at_level(logging.WARNING):
        await poll(hass, freezer)
        await poll(hass, freezer)
    # Said once (no poll succeeded before: Home Assistant says nothing).
    assert caplog.text.count(f"another device answers: {OTHER_MAC.lower()}") == 1

    coordinator: MinerCoordinator = entry.runtime_data
    assert not coordinator.last_update_success
    assert OTHER_MAC.lower() in str(coordinator.last_exception)
    assert coordinator.info.mac == miner.mac
    assert coordinator.polled is None
    _assert_all_unavailable(hass, set(registered))


async def test_wrong_password_after_a_start_from_the_profile(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, miner: Miner
) -> None:
    entry = miner.entry
    await setup_integration(hass, entry)
    await _restart_while_off(hass, miner)
    miner.change_password("other_1")
    await miner.set_offline(False)
    await poll(hass, freezer)

    assert not entry.runtime_data.last_update_success
    flows = hass.config_entries.flow.async_progress()
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_commands_while_set_up_from_the_profile(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    miner: Miner,
) -> None:
    """Not sent: the usual translated error; actions and budgets do not crash."""
    entry = miner.entry
    await setup_integration(hass, entry)
    await _restart_while_off(hass, miner)
    device_id = _device(hass, miner).id

    # Home Assistant does not call unavailable entities (it warns).
    reboot = _entity(hass, entry, "button", "reboot")
    await hass.services.async_call(
        "button", "press", {ATTR_ENTITY_ID: reboot}, blocking=True
    )
    # Actions, and whoever calls the coordinator (heater, budget): not sent.
    coordinator: MinerCoordinator = entry.runtime_data
    commands: list[Awaitable[object]] = [coordinator.async_reboot()]
    if miner.kind != "dragonmint":
        commands += [coordinator.async_identify(True), coordinator.async_run_at(35)]
    for command in commands:
        with pytest.raises(MinerUnavailableError) as failure:
            await command
        assert failure.value.translation_key == "communication_error"
    if miner.kind != "dragonmint":
        for service, data in (
            ("set_mining", {"mining": False}),
            ("set_power_percent", {"percent": 50}),
        ):
            with pytest.raises(HomeAssistantError) as failure:
                await hass.services.async_call(
                    DOMAIN, service, {ATTR_DEVICE_ID: device_id, **data}, blocking=True
                )
            assert failure.value.translation_key == "communication_error"
        with pytest.raises(HomeAssistantError, match="full power"):
            await coordinator.async_set_power_target(1000)

    # A power budget leaves it out; diagnostics show no data yet.
    response = await hass.services.async_call(
        DOMAIN,
        "set_power_budget",
        {ATTR_DEVICE_ID: [device_id], "power": 1000},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    assert [part["controlled"] for part in response["miners"]] == [False]
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["data"] is None
    assert diagnostics["coordinator"]["last_update_success"] is False
    assert diagnostics["pool_link"]["state"] == "no_worker"


def _entity(hass: HomeAssistant, entry: MockConfigEntry, domain: str, key: str) -> str:
    return next(
        entity_id
        for entity_id, unique_id in _registered(hass, entry).items()
        if entity_id.startswith(f"{domain}.") and unique_id.endswith(f"_{key}")
    )


async def test_a_miner_back_on_new_firmware_updates_device_and_profile(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    entry = any_miner_entry
    await setup_integration(hass, entry)
    miner = Miner(any_whatsminer.api, any_whatsminer, entry)
    await _restart_while_off(hass, miner)
    any_whatsminer.state.firmware_version = "20260101.01.REL"
    await miner.set_offline(False)
    await poll(hass, freezer)
    await poll(hass, freezer, PROFILE_SAVE_DELAY_S)  # saved meanwhile

    assert _device(hass, miner).sw_version == "20260101.01.REL"
    stored = hass_storage[profile_store_key(entry.entry_id)]["data"]
    assert stored["info"]["firmware_version"] == "20260101.01.REL"


async def test_entities_reported_later_are_kept_in_the_profile(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Mining service stopped at setup: its boards are reported (and kept) later."""
    whatsminer.faults.btminer_restart_reads = "down"
    whatsminer.faults.btminer_restart_seconds = 3600
    whatsminer.state.mining = False
    await WhatsminerV2Client(
        whatsminer.host, whatsminer.port, MINER_PASSWORD
    ).set_power_limit(3000)  # restarts btminer (here: for an hour)
    entry = await setup_integration(hass, mock_config_entry)
    assert not any("_board_" in uid for uid in _registered(hass, entry).values())

    whatsminer.advance(3600)
    whatsminer.state.mining = True
    await poll(hass, freezer)
    registered = _registered(hass, entry)
    boards = {e for e, unique_id in registered.items() if "_board_" in unique_id}
    assert boards

    await _restart_while_off(hass, Miner("v2", whatsminer, entry))
    assert _registered(hass, entry) == registered
    _assert_all_unavailable(hass, set(registered))


# --- what needs data to exist, or reads it at setup -----------------------------------

WORKER: Final = "garage-m30"
PRICES: Final = {
    CONF_ELECTRICITY_PRICE: "sensor.electricity_price",
    CONF_BITCOIN_PRICE: "sensor.bitcoin_price",
}
MONEY_KEYS: Final = (
    "pool_hashrate",
    "earnings",
    "electricity_cost",
    "profit",
    "break_even_price",
)


@pytest.mark.usefixtures("pool_clock")
@pytest.mark.freeze_time("2026-10-01T12:00:00+00:00")
async def test_money_sensors_of_a_linked_miner_from_the_profile(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    spiderpool: SpiderpoolEmulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Linked to its pool worker when it was last seen: its money sensors are back."""
    user = f"{POOL_SUBACCOUNT}.{WORKER}"
    whatsminer.state.pools = [("stratum+tcp://btc.spiderpool.com:443", user, "x")]
    spiderpool.subaccount.workers.append(
        SpiderpoolWorker(name=WORKER, hashrate="85000000000000")
    )
    hass.states.async_set(PRICES[CONF_ELECTRICITY_PRICE], "0.25")
    hass.states.async_set(PRICES[CONF_BITCOIN_PRICE], "80000")
    await setup_integration(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title=f"{POOL_SUBACCOUNT} (BTC)",
            unique_id=f"btc_{POOL_SUBACCOUNT}",
            data=spiderpool_entry_data(spiderpool),
            options=PRICES,
        ),
    )
    entry = await setup_integration(hass, mock_config_entry)
    money = {
        entity_id
        for entity_id, unique_id in _registered(hass, entry).items()
        if unique_id.removeprefix(f"{MINER_UNIQUE_ID}_") in MONEY_KEYS
    }
    assert len(money) == len(MONEY_KEYS)
    earnings = hass.states.get(_entity(hass, entry, "sensor", "earnings"))
    assert earnings is not None
    assert earnings.attributes["unit_of_measurement"] == "BTC"

    await _restart_while_off(hass, Miner("v2", whatsminer, entry))
    assert entry.runtime_data.profile.coin == "btc"  # type: ignore[union-attr]
    _assert_all_unavailable(hass, money)
    earnings = hass.states.get(_entity(hass, entry, "sensor", "earnings"))
    assert earnings is not None
    assert earnings.attributes["unit_of_measurement"] == "BTC"

    await whatsminer.set_offline(False)
    await poll(hass, freezer)
    pool_hashrate = hass.states.get(_entity(hass, entry, "sensor", "pool_hashrate"))
    assert pool_hashrate is not None
    assert pool_hashrate.state == "0.0"  # the worker's 24 hours, as the pool lists


async def test_heater_from_the_profile(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """The heater of a miner that is off: unavailable, and heats once it answers."""
    hass.states.async_set("sensor.room", "18.0", {"unit_of_measurement": "°C"})
    entry = any_whatsminer.entry(**{CONF_TEMPERATURE_SENSOR: "sensor.room"})
    await setup_integration(hass, entry)
    await hass.services.async_call(
        "climate",
        "set_hvac_mode",
        {ATTR_ENTITY_ID: "climate.garage_m30_heater", "hvac_mode": "heat"},
        blocking=True,
    )
    await _restart_while_off(hass, Miner(any_whatsminer.api, any_whatsminer, entry))
    _assert_all_unavailable(hass, {"climate.garage_m30_heater"})

    await any_whatsminer.set_offline(False)
    await poll(hass, freezer)
    heater = hass.states.get("climate.garage_m30_heater")
    assert heater is not None
    assert heater.state == "heat"
    assert heater.attributes["current_temperature"] == 18.0


@pytest.mark.parametrize(("rebooted", "expected"), [(False, "35"), (True, "100")])
async def test_power_percent_restored_at_the_first_answer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    rebooted: bool,
    expected: str,
) -> None:
    """API v2 cannot report it: the value of before, unless the miner booted since.

    Known only when the miner answers (a power cut boots it: 100 %).
    """
    entry = await setup_integration(hass, miner_entry(whatsminer))
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: POWER_PERCENT, ATTR_VALUE: 35},
        blocking=True,
    )
    assert hass.states.get(POWER_PERCENT).state == "35"  # type: ignore[union-attr]
    freezer.tick(60)
    await _restart_while_off(hass, Miner("v2", whatsminer, entry))
    assert entry.runtime_data.accepted_power_percent is None
    if rebooted:
        whatsminer.state.boot_time = time.time()
        whatsminer.state.btminer_started_at = time.time()
    await whatsminer.set_offline(False)
    await poll(hass, freezer)
    assert hass.states.get(POWER_PERCENT).state == expected  # type: ignore[union-attr]


async def test_api_change_while_off_reloads_on_the_new_api(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer_v3: WhatsminerV3Emulator,
) -> None:
    """Off on v2 firmware at the start, back on v3: the entry reloads on v3."""
    await whatsminer_v3.set_offline(True)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=MINER_HOSTNAME,
        unique_id=MINER_UNIQUE_ID,
        data={**whatsminer_v3_entry_data(whatsminer_v3), CONF_API: "v2"},
    )
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD,
        port=whatsminer_v3.v2.port,
        hostname=MINER_HOSTNAME,
        mac=MINER_MAC,
    ):
        await setup_integration(hass, entry)
        assert entry.data[CONF_API] == "v2"
        assert await hass.config_entries.async_unload(entry.entry_id)
    # Off, while the new firmware is installed (the old one is gone).
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    switch = _entity(hass, entry, "switch", "mining")
    assert hass.states.get(switch).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    await whatsminer_v3.set_offline(False)
    await poll(hass, freezer)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.data[CONF_API] == "v3"
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data.miner, WhatsminerV3Miner)
    assert entry.runtime_data.identified
    assert hass.states.get(switch).state == "on"  # type: ignore[union-attr]


# --- profiles that cannot be used -----------------------------------------------------


@pytest.mark.parametrize(
    "profile",
    [
        {"info": {"mac": MINER_UNIQUE_ID}},  # no manufacturer
        {"entities": {}},  # no identity
        "not a profile",
    ],
)
async def test_an_unreadable_profile_is_not_used(
    hass: HomeAssistant,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
    any_whatsminer: EmulatedWhatsminer,
    profile: object,
) -> None:
    entry = any_whatsminer.entry()
    key = profile_store_key(entry.entry_id)
    hass_storage[key] = {"version": PROFILE_STORE_VERSION, "key": key, "data": profile}
    await any_whatsminer.set_offline(True)
    entry.add_to_hass(hass)
    with caplog.at_level(logging.WARNING):
        assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "its profile could not be read" in caplog.text


async def test_a_profile_of_another_api_is_not_used(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A profile of the other API's entities (the entry follows the firmware)."""
    entry = any_whatsminer.entry()
    await setup_integration(hass, entry)
    assert await hass.config_entries.async_unload(entry.entry_id)
    other = "v2" if any_whatsminer.api == "v3" else "v3"
    hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_API: other})
    await any_whatsminer.set_offline(True)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
