"""The solar-surplus blueprint's inputs, and who wins beside the other controls.

Each test runs the real blueprint with the garage's miner (API v2, 3380 W at
100 %) and, where two are needed, the shed's (API v3, 3344 W), and records the
budgets the automation sends (``miner_hub.set_power_budget`` calls).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.const import ATTR_DOMAIN, ATTR_SERVICE, EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.miner_hub.const import DOMAIN
from tests.conftest import EmulatedWhatsminer
from tests.heating.home import HEATER, ROOM, set_room
from tests.solar.home import (
    GRID,
    STEP_S,
    power_sensor,
    set_up_miners,
    settle,
    solar_automation,
)

pytestmark = pytest.mark.governed

NOON: Final = datetime(2026, 11, 23, 11, 59)  # a Monday
SURPLUS: Final = "sensor.solar_surplus"
PRICE: Final = "sensor.electricity_price"
SOC: Final = "sensor.home_battery_charge"
BATTERY: Final = "sensor.home_battery_power"
GARAGE_W: Final = 3380
RESERVE_W: Final = 100


class Budgets:
    """The budgets the automation sent, and a clock to move."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
        self.hass = hass
        self.freezer = freezer
        self.sent: list[float] = []
        hass.bus.async_listen(EVENT_CALL_SERVICE, self._called)

    @callback
    def _called(self, event: Event[Any]) -> None:
        data = event.data
        if data[ATTR_DOMAIN] == DOMAIN and data[ATTR_SERVICE] == "set_power_budget":
            self.sent.append(float(data["service_data"]["power"]))

    async def minutes(self, minutes: float) -> None:
        """Let ``minutes`` pass, 30 s at a time."""
        for _ in range(round(minutes * 60 / STEP_S)):
            self.freezer.tick(timedelta(seconds=STEP_S))
            async_fire_time_changed(self.hass)
            await settle(self.hass)


async def _start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    count: int = 1,
    heater_room: str | None = None,
) -> tuple[list[str], Budgets]:
    start = dt_util.as_utc(NOON.replace(tzinfo=dt_util.get_default_time_zone()))
    freezer.move_to(start)
    hass.loop.set_debug(False)
    devices = await set_up_miners(hass, miners[:count], start, heater_room=heater_room)
    return devices, Budgets(hass, freezer)


async def _surplus_automation(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    surplus_w: float,
    **inputs: Any,
) -> Budgets:
    """The garage's miner and a solar automation on a surplus sensor at ``surplus_w``."""
    devices, budgets = await _start(hass, freezer, miners)
    power_sensor(hass, SURPLUS, surplus_w)
    await solar_automation(hass, miners=devices, surplus_power=SURPLUS, **inputs)
    return budgets


def _kw(hass: HomeAssistant, entity_id: str, kilowatts: float) -> None:
    hass.states.async_set(
        entity_id,
        str(kilowatts),
        {"unit_of_measurement": "kW", "device_class": "power"},
    )


@pytest.mark.parametrize(
    "case",
    [
        ("import_positive", 1.0, GARAGE_W - 1000 - RESERVE_W),  # importing 1 kW
        ("import_positive", -2.0, GARAGE_W + 2000 - RESERVE_W),  # exporting 2 kW
        ("export_positive", 2.0, GARAGE_W + 2000 - RESERVE_W),
    ],
)
async def test_grid_sensor_either_sign_in_kw(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    case: tuple[str, float, float],
) -> None:
    """Left for the miners: what they draw plus the export, less the reserve."""
    sign, grid_kw, budget_w = case
    devices, budgets = await _start(hass, freezer, miners)
    _kw(hass, GRID, grid_kw)
    await solar_automation(hass, miners=devices, grid_power=GRID, grid_sign=sign)
    await budgets.minutes(6)
    assert budgets.sent == [pytest.approx(budget_w, abs=1)]


async def test_surplus_sensor_reserve_and_maximum(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    budgets = await _surplus_automation(hass, freezer, miners, 2500, reserve=300)
    await budgets.minutes(6)
    assert budgets.sent == [2200]
    assert miners[0].state.power_percent == round(2200 * 100 / GARAGE_W)

    power_sensor(hass, SURPLUS, 9000)
    await budgets.minutes(10)
    assert budgets.sent[-1] == 8700


async def test_maximum_budget(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    budgets = await _surplus_automation(
        hass, freezer, miners, 9000, reserve=300, max_budget=2000
    )
    await budgets.minutes(6)
    assert budgets.sent == [2000]


async def test_smoothing_averages_a_passing_cloud(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    """A two-minute cloud in a five-minute window moves the budget by 2/5."""
    budgets = await _surplus_automation(hass, freezer, miners, 3000, reserve=0)
    await budgets.minutes(1.5)  # the run started at 12:00 and read 3000 W twice
    power_sensor(hass, SURPLUS, 500)
    await budgets.minutes(2)
    power_sensor(hass, SURPLUS, 3000)
    await budgets.minutes(2.5)
    assert budgets.sent == [pytest.approx((6 * 3000 + 4 * 500) / 10)]


async def test_update_period_and_no_smoothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    budgets = await _surplus_automation(
        hass, freezer, miners, 3000, reserve=0, period=2, smoothing=0
    )
    await budgets.minutes(1.5)
    power_sensor(hass, SURPLUS, 2000)  # the last reading alone counts
    await budgets.minutes(9)
    assert budgets.sent == [2000, 2000, 2000, 2000, 2000]


async def test_an_unavailable_sensor_changes_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    budgets = await _surplus_automation(hass, freezer, miners, 2500, reserve=0)
    await budgets.minutes(3)
    hass.states.async_set(SURPLUS, "unavailable")
    await budgets.minutes(3)
    assert budgets.sent == []  # unavailable at the end of the update: none
    power_sensor(hass, SURPLUS, 2500)
    await budgets.minutes(5)
    assert budgets.sent == [2500]  # the readings it missed are left out


@pytest.mark.parametrize(("soc", "budget_w"), [(40, 0), (60, 2500 + 1000)])
async def test_a_battery_below_its_minimum_is_charged_first(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
    soc: float,
    budget_w: float,
) -> None:
    """Above it, the power it charges with is the miners' to take."""
    devices, budgets = await _start(hass, freezer, miners)
    power_sensor(hass, SURPLUS, 2500)
    power_sensor(hass, BATTERY, -1000)  # discharge positive: charging at 1 kW
    hass.states.async_set(SOC, str(soc), {"device_class": "battery"})
    await solar_automation(
        hass,
        miners=devices,
        surplus_power=SURPLUS,
        reserve=0,
        battery_soc=SOC,
        battery_min_soc=50,
        battery_power=BATTERY,
        battery_sign="discharge_positive",
    )
    await budgets.minutes(6)
    assert budgets.sent == [budget_w]
    assert miners[0].state.mining is (budget_w > 0)


async def test_restart_safe(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    """A run cut short (a restart, a reload) leaves the miners; the next follows."""
    budgets = await _surplus_automation(hass, freezer, miners, 2500, reserve=0)
    await budgets.minutes(3)
    for service in ("turn_off", "turn_on"):  # as a restart or a reload does
        await hass.services.async_call(
            automation.DOMAIN, service, {"entity_id": "all"}, blocking=True
        )
    await budgets.minutes(6.5)
    assert budgets.sent == [2500]


async def test_the_heater_wins(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    """A miner heating its room is left to its heater; the others share the rest."""
    garage = miners[0]
    set_room(hass, 15)
    devices, budgets = await _start(hass, freezer, miners, count=2, heater_room=ROOM)
    await hass.services.async_call(
        "climate",
        "set_temperature",
        {"entity_id": HEATER, "temperature": 21, "hvac_mode": "heat"},
        blocking=True,
    )
    power_sensor(hass, SURPLUS, 1000)
    await solar_automation(hass, miners=devices, surplus_power=SURPLUS, reserve=0)
    await budgets.minutes(6)
    assert budgets.sent == [1000]
    assert hass.states.get(HEATER).state == "heat"
    assert garage.state.mining  # heating: not paused by the small budget
    assert not miners[1].state.mining  # the shed: 1000 W less the garage's draw


async def _beside_solar(
    hass: HomeAssistant, devices: list[str], blueprint: str, inputs: dict[str, Any]
) -> None:
    """Another blueprint's automation on the same miners, and the solar one."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: [
                {
                    "id": blueprint,
                    "alias": blueprint,
                    "use_blueprint": {
                        "path": f"miner_hub/{blueprint}.yaml",
                        "input": {"miners": devices, **inputs},
                    },
                },
                {
                    "id": "solar",
                    "alias": "solar",
                    "use_blueprint": {
                        "path": "miner_hub/solar_surplus.yaml",
                        "input": {"miners": devices, "surplus_power": SURPLUS},
                    },
                },
            ]
        },
    )


async def test_solar_wins_over_a_time_of_use_pause_within_a_period(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    """Both drive the same miner: the last to act wins, and solar acts each period.

    The schedule stops the miner at 12:00 (its pause runs 12:00-13:00 here); the
    solar automation's next update starts it again as soon as the governor
    allows (10 minutes after the stop).
    """
    devices, budgets = await _start(hass, freezer, miners)
    power_sensor(hass, SURPLUS, 5000)
    await _beside_solar(
        hass,
        devices,
        "time_of_use",
        {"pause_start": "12:00:00", "pause_end": "13:00:00"},
    )
    await budgets.minutes(1)
    assert not miners[0].state.mining  # the schedule's pause
    await budgets.minutes(11)
    assert budgets.sent  # solar has acted since
    assert miners[0].state.mining


async def test_solar_wins_over_a_price_pause_within_a_period(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miners: list[EmulatedWhatsminer],
) -> None:
    """The same rule with the price blueprint: the last to act wins."""
    devices, budgets = await _start(hass, freezer, miners)
    power_sensor(hass, SURPLUS, 5000)
    hass.states.async_set(PRICE, "0.50")  # above "pause above" (0.35)
    await _beside_solar(hass, devices, "price_curtailment", {"price_sensor": PRICE})
    await budgets.minutes(6)  # the price holds for its settling time: paused
    assert not miners[0].state.mining
    await budgets.minutes(11)
    assert budgets.sent
    assert miners[0].state.mining
