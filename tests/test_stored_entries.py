"""Entries stored by an earlier Miner Hub keep loading unchanged.

``tests/storage/fixtures/`` holds Miner Hub's part of Home Assistant's ``.storage``
(config entries, entity and device registries, restore state) as commit 5df64cc's
code wrote it with ``python -m tests.storage.generate``: a Whatsminer on API v2 with
options, a power percent set and its hashrate sensor renamed by the user, one on
API v3, a DragonMint T1 and a Spiderpool account of twelve workers. It is a
baseline: never regenerate it, except to add a new baseline beside it.

Why: users' installations hold exactly such entries. After a refactor they must
load as stored: the same data and options, the same entity IDs and unique IDs
(renames kept, nothing lost; new entities only those a later version adds), the same devices, and the values
restore state keeps. Only the emulators' ports (placeholders in the files) are
this run's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import copy
import json
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON, EntityStateAttribute
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest

from tests.storage import (
    CONFIG_ENTRIES,
    DEVICE_REGISTRY,
    ENTITY_REGISTRY,
    FIXTURES,
    POLL_STEP,
    POOL_WORKERS,
    POWER_PERCENT,
    POWER_PERCENT_ENTITY,
    RENAMED_FROM,
    RENAMED_TO,
    RESTORE_STATE,
    STORAGE_KEYS,
    Installation,
    fill_in,
    installation,
    load_storage,
)

# Registries, restore state and config entries are read from hass_storage.
pytestmark = pytest.mark.parametrize("load_registries", [False])

type Stored = dict[str, dict[str, Any]]

# Names as the files store them (not the integration's constants: they are the
# stored format, which a refactor must keep).
DOMAIN = "miner_hub"
KIND = "kind"
KIND_SPIDERPOOL = "spiderpool"
KIND_WHATSMINER = "whatsminer"

# Entities each miner gained after the fixtures were written (unique ID suffixes):
# the governor's held change and its count of disruptive changes (issue 16), and
# on a miner with power control its power target (issue 17).
ADDED_PER_MINER = ("held_change", "disruptive_changes")
ADDED_PER_POWER_CONTROLLED_MINER = ("power_target",)
# ... and each pool account its hashprice (issue 18).
ADDED_PER_POOL_ACCOUNT = ("hashprice",)
# Config entry fields the integration owns; none may change on loading.
ENTRY_FIELDS = ("version", "minor_version", "title", "unique_id", "data", "options")
SWITCHES = ("switch.garage_m30", "switch.shed_m60")
ENERGY = ("sensor.garage_m30_energy", "sensor.shed_m60_energy")
# A few sensors of each kind of entry that report a number when all is well.
NUMERIC_SENSORS = (
    RENAMED_TO,
    "sensor.garage_m30_power",
    "sensor.garage_m30_temperature",
    "sensor.garage_m30_psu_fan_speed",
    "sensor.shed_m60_hashrate",
    "sensor.shed_m60_power",
    "sensor.shed_m60_board_1_temperature",
    "sensor.dragonmint_t1_123456_hashrate",
    "sensor.dragonmint_t1_123456_temperature",
    "sensor.dragonmint_t1_123456_board_2_hashrate",
    "sensor.homeminer_btc_hashrate",
    "sensor.homeminer_btc_active_workers",
    "sensor.homeminer_btc_unpaid_profit",
    "sensor.s21_01_hashrate",
    "sensor.s21_01_reject_rate",
)


@pytest.fixture
async def site(
    socket_enabled: None, freezer: FrozenDateTimeFactory
) -> AsyncIterator[Installation]:
    """The emulated devices of the installation that wrote the fixtures.

    Time is frozen first: the pool checks the time its requests were signed at
    (``pool_clock`` signs them on the frozen clock).
    """
    async with installation() as site:
        yield site


@pytest.fixture
def stored(site: Installation) -> Stored:
    """The fixture files, with this run's ports in place of the placeholders."""
    return {
        key: fill_in(json.loads((FIXTURES / key).read_text()), site.placeholders())
        for key in STORAGE_KEYS
    }


@pytest.fixture
async def started(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    site: Installation,
    stored: Stored,
    pool_clock: None,
) -> None:
    """Home Assistant started on the stored files, Miner Hub set up as at boot."""
    hass_storage.update(copy.deepcopy(stored))  # a copy: loading may change it
    pool = _pool_entry(stored)["data"]
    site.accept_keys(pool["access_key"], pool["private_key"])
    await load_storage(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    await hass.async_block_till_done(wait_background_tasks=True)


def _entries(stored: Stored) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = stored[CONFIG_ENTRIES]["data"]["entries"]
    return entries


def _pool_entry(stored: Stored) -> dict[str, Any]:
    return next(e for e in _entries(stored) if e["data"][KIND] == KIND_SPIDERPOOL)


def _entities(stored: Stored) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = stored[ENTITY_REGISTRY]["data"]["entities"]
    return entities


def _devices(stored: Stored) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = stored[DEVICE_REGISTRY]["data"]["devices"]
    return devices


def _restored_state(stored: Stored, entity_id: str) -> str:
    """The state restore state stored for ``entity_id``."""
    return next(
        str(item["state"]["state"])
        for item in stored[RESTORE_STATE]["data"]
        if item["state"]["entity_id"] == entity_id
    )


def _registered(hass: HomeAssistant) -> dict[str, tuple[Any, ...]]:
    """Miner Hub's entities: entity ID -> unique ID, entry, device, disabled by."""
    return {
        entity.entity_id: (
            entity.unique_id,
            entity.config_entry_id,
            entity.device_id,
            entity.disabled_by,
        )
        for entity in er.async_get(hass).entities.values()
        if entity.platform == DOMAIN
    }


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def _number(hass: HomeAssistant, entity_id: str) -> float:
    value = float(_state(hass, entity_id))  # "unavailable", "unknown": ValueError
    assert math.isfinite(value), entity_id
    return value


@pytest.mark.usefixtures("started")
async def test_entries_load_unchanged(hass: HomeAssistant, stored: Stored) -> None:
    """Every stored entry is set up, its data and options as stored."""
    entries = {entry.entry_id: entry for entry in hass.config_entries.async_entries()}
    assert entries.keys() == {entry["entry_id"] for entry in _entries(stored)}
    for expected in _entries(stored):
        entry = entries[expected["entry_id"]]
        assert entry.state is ConfigEntryState.LOADED, entry.title
        loaded = {field: getattr(entry, field) for field in ENTRY_FIELDS}
        assert loaded == {field: expected[field] for field in ENTRY_FIELDS}


def _added_keys(kind: str) -> tuple[str, ...]:
    """The unique ID suffixes an entry of ``kind`` gained since the fixtures."""
    if kind == KIND_SPIDERPOOL:
        return ADDED_PER_POOL_ACCOUNT
    if kind == KIND_WHATSMINER:
        return ADDED_PER_MINER + ADDED_PER_POWER_CONTROLLED_MINER
    return ADDED_PER_MINER


@pytest.mark.usefixtures("started")
async def test_entities_keep_their_ids(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: Installation,
    stored: Stored,
) -> None:
    """Every stored entity is kept, and only those added since are new.

    Same entity IDs (the user's rename too) with the same unique IDs, entries,
    devices and disabled state, also after a poll.
    """
    expected = {
        entity["entity_id"]: (
            entity["unique_id"],
            entity["config_entry_id"],
            entity["device_id"],
            entity["disabled_by"],
        )
        for entity in _entities(stored)
    }
    kinds = {e["unique_id"]: e["data"][KIND] for e in _entries(stored)}
    added = sorted(
        f"{unique_id}_{key}"
        for unique_id, kind in kinds.items()
        for key in _added_keys(kind)
    )
    for _ in range(2):
        registered = _registered(hass)
        assert {key: registered[key] for key in expected} == expected
        new = [registered[key][0] for key in registered.keys() - expected.keys()]
        assert sorted(new) == added
        assert er.async_get(hass).async_get(RENAMED_FROM) is None
        await site.advance(hass, freezer, POLL_STEP)


@pytest.mark.usefixtures("started")
async def test_every_entity_is_back(hass: HomeAssistant, stored: Stored) -> None:
    """Each enabled stored entity has its entity again, not a restored placeholder."""
    enabled = [e["entity_id"] for e in _entities(stored) if e["disabled_by"] is None]
    assert enabled
    missing = [
        entity_id
        for entity_id in enabled
        if (state := hass.states.get(entity_id)) is None
        or state.attributes.get(EntityStateAttribute.RESTORED)
    ]
    assert missing == []


@pytest.mark.usefixtures("started")
async def test_devices_unchanged(hass: HomeAssistant, stored: Stored) -> None:
    """The same devices (IDs, identifiers, entries), workers under the account."""
    registry = dr.async_get(hass)
    ours = {entry["entry_id"] for entry in _entries(stored)}
    devices = {
        device.id: (
            sorted(device.identifiers),
            device.config_entry_id,
            device.via_device_id,
        )
        for device in registry.devices
        if device.config_entry_id in ours
    }
    assert devices == {
        device["id"]: (
            sorted(tuple(identifier) for identifier in device["identifiers"]),
            device["config_entry_id"],
            device["via_device_id"],
        )
        for device in _devices(stored)
    }

    pool_entry = _pool_entry(stored)["entry_id"]
    account = registry.async_get_device_by_identifier((DOMAIN, pool_entry), pool_entry)
    assert account is not None
    workers = [
        device
        for device in dr.async_entries_for_config_entry(registry, pool_entry)
        if device.via_device_id == account.id
    ]
    assert len(workers) == POOL_WORKERS
    # Named after the worker alone before: now with the sub-account, as miners
    # write it (the entity IDs stay, test_entities_keep_their_ids).
    stored_names = {device["id"]: device["name"] for device in _devices(stored)}
    for worker in workers:
        assert worker.name == f"homeminer.{stored_names[worker.id]}"


@pytest.mark.usefixtures("started")
async def test_restored_values(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: Installation,
    stored: Stored,
) -> None:
    """Restore state brings back the v2 power percent and the energy totals.

    API v2 firmware does not report the percent: the accepted 60 is shown as
    stored, also after the next poll. Energy counts on from the stored total.
    """
    restored = (POWER_PERCENT_ENTITY, *ENERGY)
    states = {entity_id: _restored_state(stored, entity_id) for entity_id in restored}
    assert states[POWER_PERCENT_ENTITY] == str(POWER_PERCENT)
    assert {entity_id: _state(hass, entity_id) for entity_id in restored} == states

    await site.advance(hass, freezer, POLL_STEP)
    assert _state(hass, POWER_PERCENT_ENTITY) == str(POWER_PERCENT)
    for entity_id in ENERGY:
        assert _number(hass, entity_id) > float(states[entity_id]), entity_id


@pytest.fixture
def rebooted_since(site: Installation) -> None:
    """The API v2 miner booted after its power percent was stored."""
    site.whatsminer_v2.state.boot_time = site.whatsminer_v2.now() - 600


@pytest.mark.usefixtures("rebooted_since", "started")
async def test_power_percent_forgotten_at_a_boot(
    hass: HomeAssistant, stored: Stored
) -> None:
    """The firmware runs at 100 % after a boot: the stored 60 is not shown."""
    assert _restored_state(stored, POWER_PERCENT_ENTITY) == str(POWER_PERCENT)
    assert _state(hass, POWER_PERCENT_ENTITY) == "100"


def _assert_plausible(hass: HomeAssistant) -> None:
    switches = {entity_id: _state(hass, entity_id) for entity_id in SWITCHES}
    assert switches == dict.fromkeys(SWITCHES, STATE_ON)
    values = {entity_id: _number(hass, entity_id) for entity_id in NUMERIC_SENSORS}
    assert values[RENAMED_TO] > 0
    assert values["sensor.homeminer_btc_active_workers"] > 0


@pytest.mark.usefixtures("started")
async def test_states_plausible(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: Installation
) -> None:
    """Mining switches on; sensors of every kind of entry report numbers.

    After setup and after the next polls (every miner, the pool twice).
    """
    _assert_plausible(hass)
    for _ in range(2):
        await site.advance(hass, freezer, POLL_STEP)
        _assert_plausible(hass)
