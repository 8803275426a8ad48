"""The energy dashboard: a miner's energy sensor as an individual device.

Runs the recorder (SQLite in memory) and the energy integration for real: an hour
of polls against the emulated miner at its known power, then the statistics the
dashboard reads, and the dashboard's own validation of the sensor.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
    statistics_during_period,
)

from tests.conftest import EmulatedWhatsminer, poll, setup_integration

ENERGY = "sensor.garage_m30_energy"
POWER = "sensor.garage_m30_power"
HOUR = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLL_S = 30


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder must be set up before Home Assistant (conftest's goes first)."""


async def _an_hour_of_polls(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, miner: EmulatedWhatsminer
) -> None:
    """Set up at HOUR, poll every 30 s until the hour is over, compile statistics.

    The recorder compiles every 5 minutes, and the hour with the last 5 minutes.
    """
    freezer.move_to(HOUR)
    await setup_integration(hass, miner.entry())
    for _ in range(3600 // POLL_S):
        await poll(hass, freezer, POLL_S)
    await async_wait_recording_done(hass)
    for minutes in range(0, 60, 5):
        do_adhoc_statistics(hass, start=HOUR + timedelta(minutes=minutes))
    await async_wait_recording_done(hass)


async def test_an_hour_at_known_power(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """The hourly statistic of an hour at full power is that power times 1 h."""
    watts = any_whatsminer.state.model.normal_power_w
    await _an_hour_of_polls(hass, freezer, any_whatsminer)

    assert float(hass.states.get(POWER).state) == watts
    stats = statistics_during_period(
        hass, HOUR, HOUR + timedelta(hours=1), {ENERGY}, "hour", None, {"sum"}
    )

    [hour] = stats[ENERGY]
    assert hour["sum"] == pytest.approx(watts / 1000, rel=0.01)


async def test_valid_for_the_energy_dashboard(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """The dashboard accepts the sensor as a device, with its power as the rate."""
    assert await async_setup_component(hass, "energy", {})
    await _an_hour_of_polls(hass, freezer, any_whatsminer)
    manager = await energy_data.async_get_manager(hass)
    await manager.async_update(
        {
            "device_consumption": [
                {"stat_consumption": ENERGY, "stat_rate": POWER, "name": "Miner"}
            ]
        }
    )

    validation = await async_validate(hass)

    assert validation.as_dict()["device_consumption"] == [[]]
