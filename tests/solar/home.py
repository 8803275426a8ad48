"""The solar tests' Home Assistant side: sensors, miners, the automation, settling.

``settle`` replaces ``async_block_till_done`` while the blueprint runs: a run
waits in ``delay`` steps, loop timers on the frozen clock that only the next
tick fires, and ``async_block_till_done`` would wait for them for ever.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import math
from typing import Any, Final

from homeassistant.components import automation
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

from custom_components.miner_hub.const import (
    CONF_SCAN_INTERVAL,
    CONF_TEMPERATURE_SENSOR,
)
from tests.conftest import EmulatedWhatsminer, device_id
from tests.emulators.whatsminer_v2 import Faults
from tests.solar import Battery

# The miner takes a new power percent over minutes (normal mode, Manual §3.22).
NORMAL_MODE_RAMP_S: Final = 180.0
GRID: Final = "sensor.grid_power"
SOC: Final = "sensor.home_battery_charge"
BATTERY: Final = "sensor.home_battery_power"
SHED_MAC: Final = "C6:07:20:00:2F:01"


STEP_S: Final = 30  # the blueprint reads every 30 s; the miners are polled as often


def power_sensor(hass: HomeAssistant, entity_id: str, watts: float) -> None:
    hass.states.async_set(
        entity_id,
        str(round(watts)),
        {"unit_of_measurement": "W", "device_class": "power"},
    )


def battery_sensors(hass: HomeAssistant, battery: Battery, watts: float) -> None:
    hass.states.async_set(
        SOC,
        str(round(battery.soc, 1)),
        {"unit_of_measurement": "%", "device_class": "battery"},
    )
    power_sensor(hass, BATTERY, watts)


async def set_up_miners(
    hass: HomeAssistant,
    miners: list[EmulatedWhatsminer],
    start: datetime,
    *,
    heater_room: str | None = None,
) -> list[str]:
    """The miners, mining at full power; their device IDs, in priority order.

    With ``heater_room``, the first miner heats that room (its climate entity).
    """
    devices = []
    for index, miner in enumerate(miners):
        options: dict[str, Any] = {CONF_SCAN_INTERVAL: STEP_S}
        if index == 0 and heater_room is not None:
            options[CONF_TEMPERATURE_SENSOR] = heater_room
        if isinstance(miner.faults, Faults):
            # The clock jumps 30 s at a time, the client's monotonic clock not.
            miner.faults.token_lifetime = math.inf
        miner.state.normal_mode_ramp_s = NORMAL_MODE_RAMP_S
        miner.state.boot_time = start.timestamp() - 3600
        entry = miner.entry(**options)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.runtime_data.full_power.watts is not None
        devices.append(device_id(hass, miner.mac.lower()))
    return devices


async def solar_automation(hass: HomeAssistant, **inputs: Any) -> None:
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


def in_a_delay(task: asyncio.Task[Any]) -> bool:
    """Whether the task is a script run waiting in a ``delay`` step."""
    awaited: Any = task.get_coro()
    while hasattr(awaited, "cr_code"):
        if awaited.cr_code.co_name == "_async_step_delay":
            return True
        awaited = awaited.cr_await
    return False


def of_a_script(task: asyncio.Task[Any]) -> bool:
    """Whether the task runs an automation or a script (or waits for one)."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and (
        "helpers/script.py" in code.co_filename
        or "components/automation/" in code.co_filename
    )


async def settle(hass: HomeAssistant) -> None:
    """Let what is due run: polls, commands, the automation up to its next delay.

    Not ``async_block_till_done``: it would wait for the automation's delay, a
    loop timer on the frozen clock that only the next step's tick fires.
    """
    await asyncio.sleep(0)
    while True:
        pending = [
            task for task in hass._tasks | hass._background_tasks if not task.done()
        ]
        if any(in_a_delay(task) for task in asyncio.all_tasks()):
            pending = [task for task in pending if not of_a_script(task)]
        if not pending:
            return
        await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
