"""The heater holds a room: closed loop through Home Assistant and the emulator.

Each minute of a simulated day and a half the room (``tests.heating.Room``) is
warmed by the power the emulated miner draws (a new power percent reached over
three minutes, as normal mode does), the room sensor reads it with
±0.1 °C of noise, and the clock moves on a minute: the integration polls the
miner (every 60 s), the heater steps (every 2 min, the governor's power-percent
interval) and its commands go through the governor's default rules to the
emulator over TCP. The first six hours are a warm-up; the figures are measured
over the next 24, from midnight to midnight.

Set ``MINER_HUB_HEAT_TRACES`` to a directory to keep the traces (``scripts/heat-demo``
draws them).
"""

from __future__ import annotations

from datetime import datetime
import itertools
import math
import os
from pathlib import Path
import random
from typing import Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.climate.const import (
    ATTR_HVAC_MODE,
    DOMAIN as CLIMATE_DOMAIN,
    SERVICE_SET_TEMPERATURE,
    HVACMode,
)
from homeassistant.const import ATTR_ENTITY_ID, ATTR_TEMPERATURE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest

from custom_components.miner_hub.const import (
    CONF_SCAN_INTERVAL,
    DEFAULT_MAX_DISRUPTIVE_CHANGES,
    DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    DEFAULT_MIN_POWER_PERCENT_INTERVAL,
)
from tests.conftest import EmulatedWhatsminer, poll, setup_integration
from tests.emulators.whatsminer_v2 import Faults
from tests.heating import ROOMS, Room, Sample, Trace
from tests.heating.home import FLOOR, HEATER, heater_entry, set_room

pytestmark = pytest.mark.governed

TARGET: Final = 20.0
WARMUP_H: Final = 6
RUN_H: Final = WARMUP_H + 24
STEP_S: Final = 60
SENSOR_NOISE_C: Final = 0.1
# The miner takes a new power percent over minutes (normal mode, Manual §3.22).
NORMAL_MODE_RAMP_S: Final = 180.0
# A January evening, local time: the measured day runs from midnight to midnight.
START: Final = datetime(2027, 1, 10, 24 - WARMUP_H)
TRACES: Final = os.environ.get("MINER_HUB_HEAT_TRACES")


async def simulate(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miner: EmulatedWhatsminer,
    room: Room,
    hours: float,
) -> Trace:
    """Heat ``room`` with ``miner`` for ``hours``, starting at the target."""
    # Thousands of steps: asyncio's debug mode (a traceback for every task and
    # handle) would take most of the time.
    hass.loop.set_debug(False)
    start = dt_util.as_utc(START.replace(tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    miner.state.boot_time = start.timestamp() - 3600  # up for an hour
    if isinstance(miner.faults, Faults):
        # The test's clock jumps a minute at a time, the client's monotonic clock
        # not: a token it holds fresh may have expired on the miner.
        miner.faults.token_lifetime = math.inf
    miner.state.normal_mode_ramp_s = NORMAL_MODE_RAMP_S
    full_w = miner.state.model.mode_power_w(miner.state.power_mode)
    trace = Trace(
        room, miner.api, TARGET, full_w, full_w * FLOOR / 100, WARMUP_H, START.hour
    )
    noise = random.Random(f"{room.name} {miner.api}")
    inside = TARGET
    set_room(hass, inside)
    await setup_integration(hass, heater_entry(miner, **{CONF_SCAN_INTERVAL: 60}))
    await hass.services.async_call(
        CLIMATE_DOMAIN,
        SERVICE_SET_TEMPERATURE,
        {
            ATTR_ENTITY_ID: HEATER,
            ATTR_TEMPERATURE: TARGET,
            ATTR_HVAC_MODE: HVACMode.HEAT,
        },
        blocking=True,
    )
    seen = miner.mark()
    for minute in range(round(hours * 60)):
        now_h = minute / 60
        power_w = miner.power_w()
        inside = room.warmed(inside, power_w, trace.hours_of_day(now_h), STEP_S)
        sensor = round(inside + noise.uniform(-SENSOR_NOISE_C, SENSOR_NOISE_C), 2)
        set_room(hass, sensor)
        await poll(hass, freezer, STEP_S)
        _record_writes(trace, miner, seen, now_h + STEP_S / 3600)
        seen = miner.mark()
        trace.samples.append(
            Sample(
                hours=now_h,
                inside_c=round(inside, 3),
                sensor_c=sensor,
                outside_c=round(room.outside_c(trace.hours_of_day(now_h)), 2),
                need_w=round(room.need_w(trace.hours_of_day(now_h), TARGET)),
                power_w=power_w,
                percent=miner.state.power_percent,
                mining=miner.state.mining,
            )
        )
    return trace


def _record_writes(
    trace: Trace, miner: EmulatedWhatsminer, since: int, hours: float
) -> None:
    stop, start = miner.write("mining_off"), miner.write("mining_on")
    for write in miner.writes(since):
        if write == stop:
            trace.mining_stops.append(hours)
        elif write == start:
            trace.mining_starts.append(hours)
        else:
            assert write.cmd == miner.command("power_percent", FLOOR), write
            trace.percent_changes.append(hours)


@pytest.mark.parametrize("room", ROOMS, ids=[room.name for room in ROOMS])
async def test_the_heater_holds_the_room(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    room: Room,
) -> None:
    """Within ±0.5 °C 95 % of the time the miner can meet the need; few changes."""
    trace = await simulate(hass, freezer, any_whatsminer, room, RUN_H)
    if TRACES:
        trace.dump(Path(TRACES) / f"{room.name}-{any_whatsminer.api}.json")
    figures = trace.figures()

    assert trace.within_band() >= 0.95, figures
    # Power percent: never more often than the governor allows, and far fewer.
    _mean, most_in_an_hour = trace.percent_changes_per_hour()
    assert most_in_an_hour <= 60 / DEFAULT_MIN_POWER_PERCENT_INTERVAL, figures
    assert figures["percent_changes_per_hour"] <= 6, figures
    # Mining stops only when even the floor is too much, and within the rules.
    assert trace.stops_with_need_above_floor() == [], figures
    changes = trace.disruptive_changes()
    gaps_min = [(b - a) * 60 for a, b in itertools.pairwise(changes)]
    assert all(gap >= DEFAULT_MIN_DISRUPTIVE_INTERVAL for gap in gaps_min), changes
    for start in changes:
        in_a_day = [t for t in changes if start <= t < start + 24]
        assert len(in_a_day) <= DEFAULT_MAX_DISRUPTIVE_CHANGES, changes
    if room.name != "mild":
        assert trace.mining_stops == [], figures  # the floor is never too much
    else:
        assert trace.mining_stops, figures  # it is, from late morning on
