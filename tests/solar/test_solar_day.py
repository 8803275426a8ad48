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

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
import itertools
import math
import os
from pathlib import Path
from typing import Any, Final, NamedTuple
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.components.blueprint.models import DomainBlueprints
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.miner_hub.const import (
    CONF_SCAN_INTERVAL,
    DEFAULT_MAX_DISRUPTIVE_CHANGES,
    DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    DEFAULT_MIN_POWER_PERCENT_INTERVAL,
    DOMAIN,
)
from tests.conftest import EmulatedWhatsminer
from tests.emulators.whatsminer_v2 import Faults
from tests.solar import SUNRISE_H, SUNSET_H, Battery, House, Sample, Trace

pytestmark = [pytest.mark.governed, pytest.mark.timeout(900)]

BLUEPRINTS: Final = Path(__file__).parents[2] / "blueprints" / "automation"
STEP_S: Final = 30
# Mining since the night; the blueprint's first update pauses the miners.
START: Final = datetime(2027, 6, 21, 4, 30)
NORMAL_MODE_RAMP_S: Final = 180.0
GRID: Final = "sensor.grid_power"
SOC: Final = "sensor.home_battery_charge"
BATTERY: Final = "sensor.home_battery_power"
TRACES: Final = os.environ.get("MINER_HUB_SOLAR_TRACES")
SHED_MAC: Final = "C6:07:20:00:2F:01"


@pytest.fixture(autouse=True)
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
async def miners(socket_enabled: None) -> AsyncIterator[list[EmulatedWhatsminer]]:
    """The garage's miner on API v2, the shed's on API v3."""
    async with (
        EmulatedWhatsminer("v2") as garage,
        EmulatedWhatsminer("v3", hostname="shed-m60", mac=SHED_MAC) as shed,
    ):
        yield [garage, shed]


def _power_sensor(hass: HomeAssistant, entity_id: str, watts: float) -> None:
    hass.states.async_set(
        entity_id,
        str(round(watts)),
        {"unit_of_measurement": "W", "device_class": "power"},
    )


def _battery_sensors(hass: HomeAssistant, battery: Battery, watts: float) -> None:
    hass.states.async_set(
        SOC,
        str(round(battery.soc, 1)),
        {"unit_of_measurement": "%", "device_class": "battery"},
    )
    _power_sensor(hass, BATTERY, watts)


async def _set_up(
    hass: HomeAssistant, miners: list[EmulatedWhatsminer], start: datetime
) -> list[str]:
    """The miners, mining at full power; their device IDs, in priority order."""
    devices = []
    for miner in miners:
        if isinstance(miner.faults, Faults):
            # The clock jumps 30 s at a time, the client's monotonic clock not.
            miner.faults.token_lifetime = math.inf
        miner.state.normal_mode_ramp_s = NORMAL_MODE_RAMP_S
        miner.state.boot_time = start.timestamp() - 3600
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=miner.hostname,
            unique_id=miner.mac.lower(),
            data=miner.entry_data(),
            options={CONF_SCAN_INTERVAL: STEP_S},
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        device = entry.runtime_data
        devices.append(_device_id(hass, miner.mac.lower()))
        assert device.full_power.watts is not None
    return devices


def _device_id(hass: HomeAssistant, mac: str) -> str:
    return next(
        device.id
        for device in dr.async_get(hass).devices
        if (DOMAIN, mac) in device.identifiers
    )


async def _automation(hass: HomeAssistant, **inputs: Any) -> None:
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": "solar_surplus",
                "alias": "Solar surplus",
                "use_blueprint": {
                    "path": "miner_hub/solar_surplus.yaml",
                    "input": inputs,
                },
            }
        },
    )
    await hass.async_block_till_done()


def _in_a_delay(task: asyncio.Task[Any]) -> bool:
    """Whether the task is a script run waiting in a ``delay`` step."""
    awaited: Any = task.get_coro()
    while hasattr(awaited, "cr_code"):
        if awaited.cr_code.co_name == "_async_step_delay":
            return True
        awaited = awaited.cr_await
    return False


def _of_a_script(task: asyncio.Task[Any]) -> bool:
    """Whether the task runs an automation or a script (or waits for one)."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and (
        "helpers/script.py" in code.co_filename
        or "components/automation/" in code.co_filename
    )


async def _settle(hass: HomeAssistant) -> None:
    """Let what is due run: polls, commands, the automation up to its next delay.

    Not ``async_block_till_done``: it would wait for the automation's delay, a
    loop timer on the frozen clock that only the next step's tick fires.
    """
    await asyncio.sleep(0)
    while True:
        pending = [
            task for task in hass._tasks | hass._background_tasks if not task.done()
        ]
        if any(_in_a_delay(task) for task in asyncio.all_tasks()):
            pending = [task for task in pending if not _of_a_script(task)]
        if not pending:
            return
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)


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
    _power_sensor(hass, GRID, 0)
    if house.battery is not None:
        _battery_sensors(hass, house.battery, 0)
    devices = await _set_up(hass, miners, start)
    await _automation(hass, miners=devices, grid_power=GRID, **inputs)
    trace = Trace(name, STEP_S)
    steps = round((SUNSET_H - START.hour - START.minute / 60) * 3600 / STEP_S)
    for step in range(steps):
        hour = START.hour + START.minute / 60 + step * STEP_S / 3600
        seen = [miner.mark() for miner in miners]
        sample = _house_step(hass, house, miners, hour)
        freezer.tick(timedelta(seconds=STEP_S))
        async_fire_time_changed(hass)
        await _settle(hass)
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
        _battery_sensors(hass, house.battery, battery_w)
    grid_w = -(export_w - battery_w)
    _power_sensor(hass, GRID, grid_w)
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
