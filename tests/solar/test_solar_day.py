"""Follow the sun: the solar-surplus blueprint runs a simulated June day.

The real blueprint (``blueprints/automation/miner_hub/solar_surplus.yaml``), the
real integration and two emulated miners over TCP: ``garage-m30`` on API v2
(3380 W) first, ``shed-m60`` on API v3 (3344 W) second, each taking a new power
percent over three minutes as normal mode does, every change through the
governor's default rules. Every 30 simulated seconds the house
(``tests.solar.House``: the panels with passing clouds, the household's
appliances, and in one run a battery) gives the grid power the miners leave,
which the grid sensor then reads; the clock moves on and Home Assistant polls,
samples and acts. The day is measured from sunrise to sunset.

Set ``MINER_HUB_SOLAR_TRACES`` to a directory to keep the traces
(``scripts/solar-demo`` draws them).
"""

from __future__ import annotations

from datetime import datetime, timedelta
import itertools
import os
from pathlib import Path
from typing import Any, Final, NamedTuple

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
)

from custom_components.miner_hub.const import (
    DEFAULT_MAX_DISRUPTIVE_CHANGES,
    DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    DEFAULT_MIN_POWER_PERCENT_INTERVAL,
)
from tests.conftest import EmulatedWhatsminer
from tests.solar import SUNRISE_H, SUNSET_H, Battery, House, Sample, Trace
from tests.solar.home import (
    BATTERY,
    GRID,
    SOC,
    STEP_S,
    battery_sensors,
    power_sensor,
    set_up_miners,
    settle,
    solar_automation,
)

pytestmark = [pytest.mark.governed, pytest.mark.timeout(900)]

# Mining since the night; the blueprint's first update pauses the miners.
START: Final = datetime(2027, 6, 21, 4, 30)
TRACES: Final = os.environ.get("MINER_HUB_SOLAR_TRACES")


def _record(trace: Trace, miner: EmulatedWhatsminer, since: int, hour: float) -> None:
    stop, start = miner.write("mining_off"), miner.write("mining_on")
    commands = trace.commands.setdefault(miner.hostname, [])
    for write in miner.writes(since):
        kind = "stop" if write == stop else "start" if write == start else "percent"
        commands.append((hour, kind))


async def simulate(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    house: House,
    *,
    name: str,
    **inputs: Any,
) -> Trace:
    """The day from ``START`` to sunset; measured from sunrise."""
    hass.loop.set_debug(False)  # thousands of steps: debug mode would dominate
    start = dt_util.as_utc(START.replace(tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    power_sensor(hass, GRID, 0)
    if house.battery is not None:
        battery_sensors(hass, house.battery, 0)
    devices = await set_up_miners(hass, miners, start)
    await solar_automation(hass, miners=devices, grid_power=GRID, **inputs)
    trace = Trace(name, STEP_S)
    steps = round((SUNSET_H - START.hour - START.minute / 60) * 3600 / STEP_S)
    for step in range(steps):
        hour = START.hour + START.minute / 60 + step * STEP_S / 3600
        seen = [miner.mark() for miner in miners]
        sample = _house_step(hass, house, miners, hour)
        freezer.tick(timedelta(seconds=STEP_S))
        async_fire_time_changed(hass)
        await settle(hass)
        if hour >= SUNRISE_H:
            trace.samples.append(sample)
            for miner, since in zip(miners, seen, strict=True):
                _record(trace, miner, since, hour)
    await hass.services.async_call(
        automation.DOMAIN, "turn_off", {"entity_id": "all"}, blocking=True
    )
    return trace


def _house_step(
    hass: HomeAssistant, house: House, miners: list[EmulatedWhatsminer], hour: float
) -> Sample:
    """What the house does this step with the miners' power; the sensors read it."""
    mining_w = sum(float(miner.power_w()) for miner in miners)
    pv_w, load_w = house.pv_w(hour), house.load_w(hour)
    export_w = pv_w - load_w - mining_w
    battery_w = 0.0
    if house.battery is not None:
        battery_w = house.battery.step(export_w, STEP_S)
        battery_sensors(hass, house.battery, battery_w)
    grid_w = -(export_w - battery_w)
    power_sensor(hass, GRID, grid_w)
    return Sample(
        hour=round(hour, 4),
        pv_w=round(pv_w),
        load_w=round(load_w),
        mining_w=mining_w,
        battery_w=round(battery_w),
        grid_w=round(grid_w),
        soc=None if house.battery is None else round(house.battery.soc, 1),
        miners_mining=sum(1 for miner in miners if miner.state.mining),
    )


def _check_rules(trace: Trace) -> None:
    """Commands within the governor's rules; no pause shorter than its interval."""
    figures = trace.figures()
    for miner in trace.commands:
        _mean, most = trace.commands_per_hour(miner)
        disruptive = [h for h, kind in trace.commands[miner] if kind != "percent"]
        percent = [h for h, kind in trace.commands[miner] if kind == "percent"]
        assert most <= 60 / DEFAULT_MIN_POWER_PERCENT_INTERVAL + 60 / (
            DEFAULT_MIN_DISRUPTIVE_INTERVAL
        ), figures
        assert len(disruptive) <= DEFAULT_MAX_DISRUPTIVE_CHANGES, figures
        for earlier, later in itertools.pairwise(disruptive):
            assert (later - earlier) * 60 >= DEFAULT_MIN_DISRUPTIVE_INTERVAL - 0.01
        for earlier, later in itertools.pairwise(percent):
            assert (later - earlier) * 60 >= DEFAULT_MIN_POWER_PERCENT_INTERVAL - 0.01
        for stopped, started in trace.stops(miner):
            assert (started - stopped) * 60 >= DEFAULT_MIN_DISRUPTIVE_INTERVAL - 0.01


class Day(NamedTuple):
    """A simulated day: the blueprint's inputs, and the house's battery if any."""

    name: str
    inputs: dict[str, Any]
    battery: bool = False


DAYS: Final = (
    Day("reference", {}),
    Day("even", {"budget_mode": "even"}),
    Day(
        "battery",
        {"battery_soc": SOC, "battery_min_soc": 50, "battery_power": BATTERY},
        battery=True,
    ),
)


@pytest.mark.parametrize("day", DAYS, ids=[day.name for day in DAYS])
async def test_a_day_of_sun(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    day: Day,
) -> None:
    """The miners run on the surplus: ≥ 90 % of their energy, ≤ 10 % imported."""
    house = House("the reference day", battery=Battery() if day.battery else None)
    trace = await simulate(hass, freezer, miners, house, name=day.name, **day.inputs)
    if TRACES:
        trace.dump(Path(TRACES) / f"{day.name}.json")
    figures = trace.figures()
    assert figures["surplus_share"] >= 0.90, figures
    assert figures["import_share"] <= 0.10, figures
    assert figures["surplus_used"] >= 0.70, figures
    _check_rules(trace)
