"""Sensors of an emulated Whatsminer, read over real TCP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.protocol.whatsminer.v2.client import WhatsminerV2Client
from tests.conftest import (
    MINER_PASSWORD,
    EmulatedWhatsminer,
    poll,
    setup_integration,
    whatsminer_entry_data,
)
from tests.emulators import WhatsminerV2Emulator

ENERGY = "sensor.garage_m30_energy"
HASHRATE = "sensor.garage_m30_hashrate"
POWER = "sensor.garage_m30_power"
ERRORS = "sensor.garage_m30_error_codes"
POLL = timedelta(seconds=30)
# 2.2 profile, normal mode: the emulated M30S+ draws this much while mining.
MINING_POWER_W = 3380
# Created disabled: noisy, or rarely needed.
DISABLED_BY_DEFAULT = {
    "sensor.garage_m30_accepted_shares",
    "sensor.garage_m30_rejected_shares",
    "sensor.garage_m30_board_1_chip_temperature_max",
    "sensor.garage_m30_board_2_chip_temperature_max",
    "sensor.garage_m30_board_3_chip_temperature_max",
    "sensor.garage_m30_psu_input_voltage",
    "sensor.garage_m30_psu_input_current",
}
# What API v3 does not report, so a v3 miner has no sensor of it: share counters
# (pools carry none) and the power supply's input side and temperature.
NOT_REPORTED = {
    "v2": set(),
    "v3": {
        "sensor.garage_m30_accepted_shares",
        "sensor.garage_m30_rejected_shares",
        "sensor.garage_m30_psu_input_voltage",
        "sensor.garage_m30_psu_input_current",
        "sensor.garage_m30_psu_temperature",
    },
}


@pytest.fixture(autouse=True)
def sensors_only() -> Iterator[None]:
    """Set up only the sensor platform."""
    with patch("custom_components.miner_hub.PLATFORMS", [Platform.SENSOR]):
        yield


def _value(hass: HomeAssistant, entity_id: str) -> float:
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


def _kwh(watts: float, seconds: float) -> float:
    return watts * seconds / 3_600_000


@pytest.mark.freeze_time("2026-10-01T12:00:00+00:00")
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_any_integration: MockConfigEntry,
) -> None:
    """Every sensor of the emulated M30S+ (API v2) and M60S (API v3)."""
    await snapshot_platform(
        hass, entity_registry, snapshot, init_any_integration.entry_id
    )


async def test_disabled_by_default(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Noisy sensors exist but start disabled."""
    entries = er.async_entries_for_config_entry(
        entity_registry, init_any_integration.entry_id
    )
    disabled = {
        entry.entity_id
        for entry in entries
        if entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    not_reported = NOT_REPORTED[any_whatsminer.api]
    assert disabled == DISABLED_BY_DEFAULT - not_reported
    assert not not_reported & {entry.entity_id for entry in entries}
    entry = entity_registry.async_get("sensor.garage_m30_board_2_hashrate")
    assert entry is not None
    assert entry.unique_id == "c6:07:20:00:1e:c2_board_1_board_hashrate"
    assert entry.translation_key == "board_hashrate"


async def test_values_follow_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """A change on the miner shows at the next poll."""
    model = any_whatsminer.state.model
    assert _value(hass, POWER) == model.normal_power_w

    any_whatsminer.state.power_percent = 50
    any_whatsminer.state.power_mode = "Low"
    any_whatsminer.state.env_temp = 31.5
    await poll(hass, freezer)

    assert model.low_power_w == 2900
    assert _value(hass, POWER) == 1450  # half of the low mode's 2900 W
    assert _value(hass, "sensor.garage_m30_environment_temperature") == 31.5


async def test_mining_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """A miner that stops mining stays available and hashes 0 TH/s."""
    model = any_whatsminer.state.model
    # v2 reports MH/s, v3 TH/s; the emulator's averaging windows differ by < 0.2%.
    factory_ths = model.factory_ghs / 1000
    assert _value(hass, HASHRATE) == pytest.approx(factory_ths, rel=2e-3)
    assert _value(hass, "sensor.garage_m30_efficiency") == pytest.approx(
        model.normal_power_w / factory_ths, rel=2e-3
    )
    for board, ghs in enumerate(model.board_factory_ghs, start=1):
        assert _value(hass, f"sensor.garage_m30_board_{board}_hashrate") == (
            pytest.approx(ghs / 1000, rel=2e-3)
        )

    any_whatsminer.state.mining = False
    await poll(hass, freezer)

    assert _value(hass, HASHRATE) == 0
    assert _value(hass, "sensor.garage_m30_board_1_hashrate") == 0
    assert _value(hass, POWER) == 30  # the control board and fans
    # Joules per terahash mean nothing without hashes.
    assert hass.states.get("sensor.garage_m30_efficiency").state == STATE_UNKNOWN
    assert hass.states.get("sensor.garage_m30_uptime").state != STATE_UNAVAILABLE


async def test_mining_service_stopped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    whatsminer: WhatsminerV2Emulator,
    init_integration: MockConfigEntry,
) -> None:
    """With mining off and btminer down, the miner reports 0 TH/s and little else."""
    uptime = hass.states.get("sensor.garage_m30_uptime").state
    whatsminer.faults.btminer_restart_reads = "down"
    whatsminer.faults.btminer_restart_seconds = 3600
    coordinator = init_integration.runtime_data
    whatsminer.state.mining = False
    await coordinator.async_set_power_limit(3000)
    await hass.async_block_till_done()

    assert whatsminer.is_btminer_restarting()
    assert _value(hass, HASHRATE) == 0
    assert hass.states.get(POWER).state == STATE_UNKNOWN
    assert hass.states.get("sensor.garage_m30_board_1_hashrate").state == STATE_UNKNOWN
    # No uptime in the reply: the boot time stays what it was.
    assert hass.states.get("sensor.garage_m30_uptime").state == uptime

    energy = _value(hass, ENERGY)
    await poll(hass, freezer)
    await poll(hass, freezer)
    assert _value(hass, ENERGY) == energy  # no power reported, nothing estimated


async def test_energy_left_riemann_sum(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Each poll adds the previous poll's power times the time since then."""
    watts = any_whatsminer.state.model.normal_power_w  # 3380 W v2, 3344 W v3
    assert _value(hass, ENERGY) == 0

    await poll(hass, freezer)
    expected = _kwh(watts, 30)
    assert _value(hass, ENERGY) == pytest.approx(expected)

    # The new power counts only from the poll that saw it (left sum).
    any_whatsminer.state.power_percent = 50
    await poll(hass, freezer)
    expected += _kwh(watts, 30)
    assert _value(hass, POWER) == watts / 2
    assert _value(hass, ENERGY) == pytest.approx(expected)

    await poll(hass, freezer, 90)
    expected += _kwh(watts / 2, 90)
    assert _value(hass, ENERGY) == pytest.approx(expected)

    # A refresh between two polls splits the interval; the sum stays the same.
    any_whatsminer.state.power_percent = 100
    freezer.tick(timedelta(seconds=10))
    await init_any_integration.runtime_data.async_refresh()
    await hass.async_block_till_done()
    expected += _kwh(watts / 2, 10)
    assert _value(hass, ENERGY) == pytest.approx(expected)
    await poll(hass, freezer)  # the refresh moved the next poll
    expected += _kwh(watts, 30)
    assert _value(hass, ENERGY) == pytest.approx(expected)
    # full power during 30 + 30 + 30 s, half during 90 + 10 s
    assert expected == pytest.approx((watts * 90 + watts / 2 * 100) / 3_600_000)


async def test_energy_not_counted_while_unreachable(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """The interval spanning an outage adds nothing."""
    watts = any_whatsminer.state.model.normal_power_w
    await poll(hass, freezer)
    before = _value(hass, ENERGY)
    assert before == pytest.approx(_kwh(watts, 30))

    await any_whatsminer.set_offline(True)
    await poll(hass, freezer)
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE
    await poll(hass, freezer, 600)
    assert hass.states.get(ENERGY).state == STATE_UNAVAILABLE

    await any_whatsminer.set_offline(False)
    await poll(hass, freezer)
    assert _value(hass, ENERGY) == before  # back: this poll only takes a sample
    await poll(hass, freezer)
    assert _value(hass, ENERGY) == pytest.approx(before + _kwh(watts, 30))


async def test_energy_counts_each_poll_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """Listeners told again about the same poll add no energy."""
    await poll(hass, freezer)
    energy = _value(hass, ENERGY)
    freezer.tick(timedelta(seconds=20))
    init_integration.runtime_data.async_update_listeners()
    await hass.async_block_till_done()
    assert _value(hass, ENERGY) == energy

    await poll(hass, freezer, 10)
    assert _value(hass, ENERGY) == pytest.approx(energy + _kwh(MINING_POWER_W, 30))


async def test_energy_kept_across_reload(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    init_integration: MockConfigEntry,
) -> None:
    """Unloading keeps the total; the time the entry was unloaded adds nothing."""
    entry = init_integration
    await poll(hass, freezer)
    await poll(hass, freezer)
    before = _value(hass, ENERGY)
    assert before == pytest.approx(_kwh(MINING_POWER_W, 60))

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    freezer.tick(timedelta(hours=1))
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    assert _value(hass, ENERGY) == before
    await poll(hass, freezer)
    assert _value(hass, ENERGY) == pytest.approx(before + _kwh(MINING_POWER_W, 30))


@pytest.mark.parametrize(
    ("extra_data", "restored"),
    [
        ({"native_value": 1234.5678, "native_unit_of_measurement": "kWh"}, 1234.5678),
        (
            {
                "native_value": {
                    "__type": "<class 'decimal.Decimal'>",
                    "decimal_str": "17.25",
                },
                "native_unit_of_measurement": "kWh",
            },
            17.25,
        ),
        ({"native_value": 12, "native_unit_of_measurement": "kWh"}, 12),
        ({"native_value": 1234.5, "native_unit_of_measurement": "Wh"}, 0),
        ({"native_value": "garbage", "native_unit_of_measurement": "kWh"}, 0),
        ({"native_value": -3.0, "native_unit_of_measurement": "kWh"}, 0),
    ],
)
async def test_energy_restored_after_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    mock_config_entry: MockConfigEntry,
    extra_data: dict[str, Any],
    restored: float,
) -> None:
    """The total survives a restart; the first poll after it only takes a sample."""
    mock_restore_cache_with_extra_data(
        hass, [(State(ENERGY, str(extra_data["native_value"])), extra_data)]
    )
    await setup_integration(hass, mock_config_entry)

    assert _value(hass, ENERGY) == pytest.approx(restored)
    await poll(hass, freezer)
    assert _value(hass, ENERGY) == pytest.approx(restored + _kwh(MINING_POWER_W, 30))


async def test_error_codes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """Error codes are read every 5 minutes; the attributes list them."""
    miner = any_whatsminer
    state = hass.states.get(ERRORS)
    assert state.state == "0"
    assert state.attributes["codes"] == []
    assert state.attributes["errors"] == []

    miner.state.error_codes = [
        ("530", "2026-10-01 19:58:03"),
        ("2010", "2026-10-01 19:59:41"),
    ]
    await poll(hass, freezer)
    assert hass.states.get(ERRORS).state == "0"  # not read yet

    await poll(hass, freezer, 300)
    state = hass.states.get(ERRORS)
    assert state.state == "2"
    assert state.attributes["codes"] == [530, 2010]
    # v3 gives a reason per code (the emulator's generic one); v2 gives none.
    assert state.attributes["errors"] == [
        {
            "code": 530,
            "since": "2026-10-01 19:58:03",
            "reason": "Error code 530." if miner.error_reasons else None,
        },
        {
            "code": 2010,
            "since": "2026-10-01 19:59:41",
            "reason": "Error code 2010." if miner.error_reasons else None,
        },
    ]

    miner.state.error_codes = []
    await poll(hass, freezer, 300)
    assert hass.states.get(ERRORS).state == "0"
    assert hass.states.get(ERRORS).attributes["codes"] == []


async def test_no_power_supply_sensors_without_psu_data(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Firmware without get_psu (it answers code 14) gets no PSU sensors."""
    whatsminer.faults.unsupported_commands = {"get_psu"}
    await setup_integration(hass, mock_config_entry)

    assert "get_psu" in whatsminer.commands()
    unique_ids = {
        entry.unique_id
        for entry in er.async_entries_for_config_entry(
            entity_registry, mock_config_entry.entry_id
        )
    }
    assert "c6:07:20:00:1e:c2_hashrate" in unique_ids
    assert not {uid for uid in unique_ids if "_psu_" in uid}


async def test_miner_idle_at_setup(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
) -> None:
    """Mining off and btminer stopped at setup: sensors of what it reports."""
    whatsminer.faults.btminer_restart_reads = "down"
    whatsminer.faults.btminer_restart_seconds = 3600
    whatsminer.state.mining = False
    # adjust_power_limit restarts btminer (here: for an hour).
    await WhatsminerV2Client(
        whatsminer.host, whatsminer.port, MINER_PASSWORD
    ).set_power_limit(3000)
    assert whatsminer.is_btminer_restarting()

    await setup_integration(hass, mock_config_entry)

    entity_ids = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(
            entity_registry, mock_config_entry.entry_id
        )
        if entry.domain == "sensor"
    }
    assert entity_ids == {
        HASHRATE,
        ERRORS,
        "sensor.garage_m30_psu_temperature",
        "sensor.garage_m30_psu_fan_speed",
        "sensor.garage_m30_psu_input_voltage",
        "sensor.garage_m30_psu_input_current",
        "sensor.garage_m30_held_change",
        "sensor.garage_m30_disruptive_changes_24_h",
    }
    assert _value(hass, HASHRATE) == 0

    # Btminer is back and mining: the sensors of the new values appear.
    whatsminer.advance(3600)
    whatsminer.state.mining = True
    await mock_config_entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    entries = er.async_entries_for_config_entry(
        entity_registry, mock_config_entry.entry_id
    )
    assert (
        len([entry for entry in entries if entry.domain == "sensor"]) == 30
    )  # no power mode and limit sensors: their controls show them
    assert _value(hass, POWER) == 3000  # capped by the new limit
    assert _value(hass, ENERGY) == 0
    assert _value(hass, "sensor.garage_m30_board_3_hashrate") > 20
    assert hass.states.get("sensor.garage_m30_uptime") is not None


@pytest.fixture(params=["2.0.4", "v3compat"])
async def profile_emulator(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[WhatsminerV2Emulator]:
    """An emulated miner of another firmware generation."""
    async with WhatsminerV2Emulator(
        password=MINER_PASSWORD,
        profile=request.param,
        hostname="shed",
        mac="C6:07:20:00:AA:01",
    ) as emulator:
        yield emulator


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_other_firmware_profiles(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    profile_emulator: WhatsminerV2Emulator,
) -> None:
    """API 2.0.4 (defective JSON) and v3 firmware give the same sane values."""
    emulator = profile_emulator
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="shed",
        unique_id="c6:07:20:00:aa:01",
        data=whatsminer_entry_data(emulator),
    )
    await setup_integration(hass, entry)
    assert entry.state is ConfigEntryState.LOADED

    model = emulator.state.model
    factory_ths = model.factory_ghs / 1000
    assert _value(hass, "sensor.shed_hashrate") == pytest.approx(factory_ths, rel=1e-3)
    for board, ghs in enumerate(model.board_factory_ghs, start=1):
        assert _value(hass, f"sensor.shed_board_{board}_hashrate") == pytest.approx(
            ghs / 1000, rel=1e-3
        )
    assert _value(hass, "sensor.shed_power") == model.normal_power_w
    assert _value(hass, "sensor.shed_efficiency") == pytest.approx(
        model.normal_power_w / factory_ths, rel=1e-3
    )
    assert _value(hass, "sensor.shed_environment_temperature") == 25
    assert 25 < _value(hass, "sensor.shed_temperature") < 100
    assert _value(hass, "sensor.shed_fan_speed_in") > 1000
    assert _value(hass, "sensor.shed_psu_input_voltage") == 224
    assert 40 < _value(hass, "sensor.shed_psu_temperature") < 60
    active_pool = hass.states.get("sensor.shed_active_pool")
    assert active_pool.state == "btc.ss.poolin.com:443"
    assert active_pool.attributes["url"] == "stratum+tcp://btc.ss.poolin.com:443"

    chip_sensors = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
        if "chip_temperature" in entry.entity_id
    }
    if emulator.profile == "v3compat":
        assert not chip_sensors  # v3 firmware reports no chip temperatures
    else:
        assert len(chip_sensors) == 5  # max and average, and one per board
        assert 50 < _value(hass, "sensor.shed_chip_temperature_max") < 110
