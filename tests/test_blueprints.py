"""The automation blueprints in blueprints/automation/miner_hub/, run for real.

Each test loads a blueprint from the repository into a test Home Assistant,
creates an automation from it, moves the clock (or the price), and checks the
commands the emulated miners received.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
import math
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import automation
from homeassistant.const import (
    EVENT_HOMEASSISTANT_STARTED,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.miner_hub.const import (
    CONF_BITCOIN_PRICE,
    DOMAIN,
    REFRESH_COOLDOWN_S,
)
from tests.conftest import (
    POOL_SUBACCOUNT,
    POOL_TITLE,
    POOL_UNIQUE_ID,
    EmulatedWhatsminer,
    Write,
    setup_integration,
    spiderpool_entry_data,
)
from tests.emulators import DragonMintEmulator, SpiderpoolEmulator
from tests.emulators.spiderpool import SpiderpoolDayProfit, SpiderpoolWorker
from tests.emulators.whatsminer_v2 import Faults
from tests.heating.home import HEATER, heater_entry, set_room

MONDAY = datetime(2026, 11, 23).date()  # a Monday
MINING_SWITCH = "switch.garage_m30_mining"
POWER_PERCENT = "number.garage_m30_power_percent"
HOLIDAY = "calendar.public_holidays"
WORKDAY = "binary_sensor.workday_sensor"

type Timeline = list[tuple[str, str]]


pytestmark = pytest.mark.usefixtures(
    "repository_blueprints", "automations_off_at_the_end"
)


def local(day: int, hhmm: str) -> datetime:
    """``hhmm`` local time, ``day`` days after the Monday of the tests."""
    hour, minute = (int(part) for part in hhmm.split(":"))
    return dt_util.as_utc(
        datetime.combine(
            MONDAY + timedelta(days=day),
            time(hour, minute),
            tzinfo=dt_util.get_default_time_zone(),
        )
    )


class Clock:
    """Moves time and writes down what the miner received, and when."""

    def __init__(
        self,
        hass: HomeAssistant,
        freezer: FrozenDateTimeFactory,
        miner: EmulatedWhatsminer,
    ) -> None:
        self.hass = hass
        self.freezer = freezer
        self.miner = miner
        self.timeline: Timeline = []
        self._seen = miner.mark()

    async def at(self, day: int, hhmm: str) -> list[Write]:
        """Go to that time (polls run on the way), and return the writes."""
        self.freezer.move_to(local(day, hhmm))
        async_fire_time_changed(self.hass)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        # The refresh after a command may wait for the end of a cooldown.
        self.freezer.tick(REFRESH_COOLDOWN_S + 1)
        async_fire_time_changed(self.hass)
        await self.hass.async_block_till_done(wait_background_tasks=True)
        return self.record(
            f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[day % 7]} {hhmm}"
        )

    def record(self, label: str) -> list[Write]:
        writes = self.miner.writes(self._seen)
        self._seen = self.miner.mark()
        self.timeline.extend((label, write.cmd) for write in writes)
        return writes


async def _start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miner: EmulatedWhatsminer,
    day: int,
    hhmm: str,
) -> tuple[str, Clock]:
    """The miner set up at that time: its device (the ID) and the clock."""
    # The tests jump the miner's clock by hours, the client's monotonic clock not:
    # a token the client holds fresh would have expired on the miner (which the
    # client repairs by sending the command again, muddling the command counts).
    if isinstance(miner.faults, Faults):
        miner.faults.token_lifetime = math.inf
    freezer.move_to(local(day, hhmm))
    # Up for an hour by then (the emulator started before the clock was moved).
    miner.state.boot_time = dt_util.utcnow().timestamp() - 3600
    entry = await setup_integration(hass, miner.entry())
    return _device(hass, entry), Clock(hass, freezer, miner)


def _device(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.unique_id or ""), entry.entry_id
    )
    assert device is not None
    return device.id


async def _automation(hass: HomeAssistant, blueprint: str, **inputs: Any) -> None:
    """An automation made from the repository's ``blueprint`` with ``inputs``."""
    assert await async_setup_component(
        hass,
        automation.DOMAIN,
        {
            automation.DOMAIN: {
                "id": blueprint,
                "alias": blueprint,
                "use_blueprint": {
                    "path": f"miner_hub/{blueprint}.yaml",
                    "input": inputs,
                },
            }
        },
    )
    await hass.async_block_till_done()


async def _time_of_use(hass: HomeAssistant, **inputs: Any) -> None:
    await _automation(hass, "time_of_use", **inputs)


async def test_weekday_pause_and_weekend(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """Monday to Friday 08:00-13:00 paused; the weekend runs through."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    await _time_of_use(hass, miners=[device])

    assert await clock.at(0, "07:59") == []
    assert await clock.at(0, "08:00") == [miner.write("mining_off")]
    assert not miner.state.mining
    assert hass.states.get(MINING_SWITCH).state == "off"
    assert await clock.at(0, "12:59") == []
    assert await clock.at(0, "13:00") == [miner.write("mining_on")]
    assert miner.state.mining
    for day in (5, 6):  # Saturday, Sunday
        for hhmm in ("08:00", "10:00", "13:00"):
            assert await clock.at(day, hhmm) == []
    assert await clock.at(7, "08:00") == [miner.write("mining_off")]  # Monday
    assert clock.timeline == [
        ("Mon 08:00", miner.command("mining_off")),
        ("Mon 13:00", miner.command("mining_on")),
        ("Mon 08:00", miner.command("mining_off")),
    ]


async def test_holiday_keeps_mining(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """While the holiday entity is on the miner runs; its end applies the pause."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    hass.states.async_set(HOLIDAY, "on")
    await _time_of_use(hass, miners=[device], holiday=HOLIDAY)

    assert await clock.at(0, "08:00") == []
    hass.states.async_set(HOLIDAY, "off")
    assert await clock.at(0, "10:00") == [miner.write("mining_off")]
    hass.states.async_set(HOLIDAY, "on")  # called a holiday after all
    assert await clock.at(0, "10:30") == [miner.write("mining_on")]
    assert await clock.at(0, "13:00") == []
    assert clock.timeline == [
        ("Mon 10:00", miner.command("mining_off")),
        ("Mon 10:30", miner.command("mining_on")),
    ]


async def test_workday_sensor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A Workday sensor that is off (a public holiday) keeps the miner running."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    hass.states.async_set(WORKDAY, "off")
    await _time_of_use(hass, miners=[device], workday=WORKDAY)

    assert await clock.at(0, "08:00") == []
    hass.states.async_set(WORKDAY, "on")  # the sensor updates at midnight
    assert await clock.at(1, "00:00") == []
    assert await clock.at(1, "08:00") == [miner.write("mining_off")]
    assert await clock.at(1, "13:00") == [miner.write("mining_on")]


async def test_restart_during_the_pause(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """Home Assistant was down at 08:00: the pause is applied when it starts."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "09:15")
    await _time_of_use(hass, miners=[device])
    assert clock.record("Mon 09:15") == []

    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert clock.record("Mon 09:15 (started)") == [miner.write("mining_off")]
    assert await clock.at(0, "13:00") == [miner.write("mining_on")]
    # Started outside the pause, with mining on: nothing to send.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert clock.record("Mon 13:00 (started)") == []


async def test_outage_over_the_start_of_the_pause(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """The miner is unreachable at 08:00; it is paused when it answers again."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    await _time_of_use(hass, miners=[device])

    await miner.set_offline(True)
    assert await clock.at(0, "07:55") == []
    assert hass.states.get(MINING_SWITCH).state == "unavailable"
    assert await clock.at(0, "08:00") == []  # nothing reaches it
    await miner.set_offline(False)
    assert await clock.at(0, "08:20") == [miner.write("mining_off")]
    assert hass.states.get(MINING_SWITCH).state == "off"
    # An outage outside the pause: it comes back mining, nothing to send.
    assert await clock.at(0, "13:00") == [miner.write("mining_on")]
    await miner.set_offline(True)
    assert await clock.at(0, "14:00") == []
    await miner.set_offline(False)
    assert await clock.at(0, "14:10") == []
    assert clock.timeline == [
        ("Mon 08:20", miner.command("mining_off")),
        ("Mon 13:00", miner.command("mining_on")),
    ]


async def test_pause_by_power_percent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """Pausing lowers the power percent; an outage makes it send the value again."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    await _time_of_use(
        hass,
        miners=[device],
        pause_action="power_percent",
        pause_percent=40,
    )

    assert await clock.at(0, "08:00") == [miner.write("power_percent", 40)]
    assert hass.states.get(POWER_PERCENT).state == "40"
    assert miner.state.mining
    # The miner reboots (losing the percent) and answers again at 09:00.
    await miner.set_offline(True)
    assert await clock.at(0, "08:50") == []
    miner.state.boot_time = dt_util.utcnow().timestamp()
    miner.state.power_percent = 100  # the firmware's value after a boot
    await miner.set_offline(False)
    assert await clock.at(0, "09:00") == [miner.write("power_percent", 40)]
    assert await clock.at(0, "13:00") == [miner.write("power_percent", 100)]
    assert hass.states.get(POWER_PERCENT).state == "100"


# The schedule helper keeps a timer for its next event, past the end of the test.
@pytest.mark.parametrize("expected_lingering_timers", [True])
async def test_schedule_helper(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A schedule helper decides instead of the times and days of the blueprint."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    assert await async_setup_component(
        hass,
        "schedule",
        {
            "schedule": {
                "evening_peak": {
                    "name": "Evening peak",
                    "monday": [{"from": "17:00:00", "to": "21:00:00"}],
                }
            }
        },
    )
    await _time_of_use(hass, miners=[device], schedule="schedule.evening_peak")

    assert await clock.at(0, "08:00") == []  # the default times are not used
    assert await clock.at(0, "13:00") == []
    assert await clock.at(0, "17:00") == [miner.write("mining_off")]
    assert await clock.at(0, "21:00") == [miner.write("mining_on")]
    assert await clock.at(1, "17:00") == []  # Tuesday: not in the schedule


async def test_pause_over_midnight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """22:00 to 06:00 on Fridays: paused Friday night into Saturday morning."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 4, "21:00")
    await _time_of_use(
        hass,
        miners=[device],
        pause_start="22:00:00",
        pause_end="06:00:00",
        pause_days=["fri"],
    )

    assert await clock.at(4, "22:00") == [miner.write("mining_off")]
    # A restart after midnight still finds Friday's pause going on.
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    assert await clock.at(5, "02:00") == []
    assert not miner.state.mining
    assert await clock.at(5, "06:00") == [miner.write("mining_on")]
    assert await clock.at(5, "22:00") == []  # Saturday: not a pause day
    assert await clock.at(6, "06:00") == []


async def test_dragonmint_is_left_alone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """A DragonMint cannot pause: the schedule pauses the others and only reads it."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "07:50")
    await setup_integration(hass, dragonmint_entry)
    reads = set(dragonmint.actions())
    await _time_of_use(hass, miners=[_device(hass, dragonmint_entry), device])

    assert await clock.at(0, "08:00") == [miner.write("mining_off")]
    assert await clock.at(0, "13:00") == [miner.write("mining_on")]
    assert set(dragonmint.actions()) <= reads


# --- price curtailment --------------------------------------------------------------

PRICE = "sensor.electricity_price"


def _price(hass: HomeAssistant, price: str) -> None:
    hass.states.async_set(PRICE, price, {"unit_of_measurement": "EUR/kWh"})


async def _price_curtailment(hass: HomeAssistant, **inputs: Any) -> None:
    """Prices 0.20 and 0.35, 50 % between; no minimum time unless given."""
    await _automation(
        hass,
        "price_curtailment",
        **{
            "price_sensor": PRICE,
            "full_power_up_to": 0.20,
            "pause_above": 0.35,
            "reduced_percent": 50,
            "min_interval": {"minutes": 0},
            **inputs,
        },
    )


async def test_price_levels(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """Cheap: 100 %; dearer: 50 %; dearest: off; each after 5 settled minutes."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "00:00")
    _price(hass, "0.12")
    await _price_curtailment(hass, miners=[device])

    assert await clock.at(0, "00:10") == []  # full power already
    _price(hass, "0.27")
    assert await clock.at(0, "00:14") == []  # not settled yet
    assert await clock.at(0, "00:15") == [miner.write("power_percent", 50)]
    _price(hass, "0.41")
    assert await clock.at(0, "00:20") == [miner.write("mining_off")]
    assert hass.states.get(MINING_SWITCH).state == "off"
    _price(hass, "0.30")
    assert await clock.at(0, "00:25") == [miner.write("mining_on")]
    assert hass.states.get(POWER_PERCENT).state == "50"  # still set
    _price(hass, "0.05")
    assert await clock.at(0, "00:30") == [miner.write("power_percent", 100)]
    assert clock.timeline == [
        ("Mon 00:15", miner.command("power_percent", 50)),
        ("Mon 00:20", miner.command("mining_off")),
        ("Mon 00:25", miner.command("mining_on")),
        ("Mon 00:30", miner.command("power_percent", 100)),
    ]


async def test_price_flicker_and_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A price that does not hold, or no price at all, changes nothing."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "00:00")
    _price(hass, "0.12")
    await _price_curtailment(hass, miners=[device])

    for minute, price in ((1, "0.50"), (3, "0.12"), (7, "0.50"), (9, "0.12")):
        _price(hass, price)
        assert await clock.at(0, f"00:{minute:02d}") == []
    _price(hass, "unavailable")
    assert await clock.at(0, "00:30") == []
    _price(hass, "0.50")
    assert await clock.at(0, "00:35") == [miner.write("mining_off")]
    hass.states.async_remove(PRICE)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    assert await clock.at(0, "00:40") == []
    assert not miner.state.mining


async def test_price_after_an_outage(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A miner that boots again gets the current price level again."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "00:00")
    await _price_curtailment(hass, miners=[device])
    _price(hass, "0.30")
    assert await clock.at(0, "00:05") == [miner.write("power_percent", 50)]

    # A power cut: the miner boots at full power.
    await miner.set_offline(True)
    assert await clock.at(0, "01:00") == []
    miner.state.boot_time = dt_util.utcnow().timestamp()
    miner.state.power_percent = 100
    await miner.set_offline(False)
    assert await clock.at(0, "01:30") == [miner.write("power_percent", 50)]


async def test_minimum_time_between_changes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
) -> None:
    """A change 15 minutes after the last one at the earliest; outages excepted."""
    miner = any_whatsminer
    device, clock = await _start(hass, freezer, miner, 0, "00:00")
    await _price_curtailment(hass, miners=[device], min_interval={"minutes": 15})
    _price(hass, "0.30")
    assert await clock.at(0, "00:05") == [miner.write("power_percent", 50)]
    _price(hass, "0.50")
    assert await clock.at(0, "00:10") == []  # settled, but too soon
    assert await clock.at(0, "00:15") == []
    # The periodic check after the 15 minutes makes the held-back change.
    assert await clock.at(0, "00:20") == [miner.write("mining_off")]
    # A miner that answers again gets the current level at once.
    _price(hass, "0.10")
    await miner.set_offline(True)
    assert await clock.at(0, "00:21") == []
    await miner.set_offline(False)
    assert await clock.at(0, "00:22") == [
        miner.write("mining_on"),
        miner.write("power_percent", 100),
    ]
    assert await clock.at(0, "00:30") == []  # the price trigger: nothing left
    assert clock.timeline == [
        ("Mon 00:05", miner.command("power_percent", 50)),
        ("Mon 00:20", miner.command("mining_off")),
        ("Mon 00:22", miner.command("mining_on")),
        ("Mon 00:22", miner.command("power_percent", 100)),
    ]


@pytest.mark.parametrize("blueprint", ["time_of_use", "price_curtailment"])
async def test_a_blueprint_takes_over_from_the_heater(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    blueprint: str,
) -> None:
    """A pause while the heater heats: the heater turns off and stays off."""
    miner = any_whatsminer
    freezer.move_to(local(0, "07:50"))
    miner.state.boot_time = dt_util.utcnow().timestamp() - 3600
    set_room(hass, 18.0)
    entry = await setup_integration(hass, heater_entry(miner))
    clock = Clock(hass, freezer, miner)
    await hass.services.async_call(
        "climate", "turn_on", {"entity_id": HEATER}, blocking=True
    )
    assert hass.states.get(HEATER).state == "heat"
    if blueprint == "time_of_use":
        await _time_of_use(hass, miners=[_device(hass, entry)])
    else:
        _price(hass, "0.12")
        await _price_curtailment(hass, miners=[_device(hass, entry)])
        _price(hass, "0.50")

    assert miner.write("mining_off") in await clock.at(0, "08:00")
    assert hass.states.get(HEATER).state == "off"
    assert not miner.state.mining


# --- pausing above each miner's break-even price ------------------------------------

BITCOIN_PRICE = "sensor.bitcoin_price"
# Not the miner's hostname: the pool's device of the worker gets other entity IDs.
WORKER = "garage"


async def _start_linked(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    miner: EmulatedWhatsminer,
    spiderpool: SpiderpoolEmulator,
) -> tuple[str, Clock]:
    """``_start`` at Monday 00:00, the miner mining to its worker of the account.

    The account (with a bitcoin price in its options) is set up first: the miner
    gets its money sensors at its own setup. Yesterday paid 0.0000036 BTC per TH/s,
    at 80000 EUR per bitcoin: a break-even price of about 0.30 EUR/kWh for the
    M30S+ of API v2 (40 J/TH), 0.65 EUR/kWh for the M60S of API v3 (18 J/TH).
    """
    freezer.move_to(local(0, "00:00"))
    yesterday = int(dt_util.utcnow().timestamp()) // 86400 * 86400 - 86400
    spiderpool.subaccount.day_profits[:] = [
        SpiderpoolDayProfit(yesterday * 1000, Decimal("0.00036"), "100000000000000")
    ]
    spiderpool.subaccount.workers.append(
        SpiderpoolWorker(
            name=WORKER,
            hashrate="85000000000000",
            hashrate_24h="84000000000000",
            status="active",
        )
    )
    hass.states.async_set(BITCOIN_PRICE, "80000", {"unit_of_measurement": "EUR"})
    await setup_integration(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            title=POOL_TITLE,
            unique_id=POOL_UNIQUE_ID,
            data=spiderpool_entry_data(spiderpool),
            options={CONF_BITCOIN_PRICE: BITCOIN_PRICE},
        ),
    )
    miner.state.pools = [
        ("stratum+tcp://btc.spiderpool.com:443", f"{POOL_SUBACCOUNT}.{WORKER}", "x")
    ]
    return await _start(hass, freezer, miner, 0, "00:00")


def _break_even_entity(hass: HomeAssistant, miner: EmulatedWhatsminer) -> str:
    """The entity ID of the miner's break-even price (by its unique ID)."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{miner.mac.lower()}_break_even_price"
    )
    assert entity_id is not None
    return entity_id


def _break_even(hass: HomeAssistant, miner: EmulatedWhatsminer) -> float | None:
    """The miner's break-even price (EUR/kWh); None while it is unknown."""
    state = hass.states.get(_break_even_entity(hass, miner))
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "EUR/kWh"
    return None if state.state == STATE_UNKNOWN else float(state.state)


def _price_at(hass: HomeAssistant, price: float) -> None:
    _price(hass, f"{price:.3f}")


@pytest.mark.usefixtures("pool_clock")
async def test_pause_above_the_break_even_price(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    spiderpool: SpiderpoolEmulator,
) -> None:
    """Paused above the miner's break-even price, not above "Pause above"."""
    miner = any_whatsminer
    device, clock = await _start_linked(hass, freezer, miner, spiderpool)
    # Renamed by the user: the blueprint finds the sensor by its unit, per kWh.
    er.async_get(hass).async_update_entity(
        _break_even_entity(hass, miner), new_entity_id="sensor.garage_loss_above"
    )
    await hass.async_block_till_done()
    assert _break_even_entity(hass, miner) == "sensor.garage_loss_above"
    break_even = _break_even(hass, miner)
    assert break_even is not None
    _price_at(hass, 0.4 * break_even)
    # "Pause above" below the break-even price: the option sets it aside.
    await _price_curtailment(
        hass,
        miners=[device],
        pause_above_break_even=True,
        full_power_up_to=round(0.5 * break_even, 3),
        pause_above=round(0.7 * break_even, 3),
    )

    assert await clock.at(0, "00:10") == []  # full power already
    _price_at(hass, 0.8 * break_even)  # above "Pause above"
    assert await clock.at(0, "00:15") == [miner.write("power_percent", 50)]
    # At 50 % the miner mines more efficiently: its break-even price is higher.
    reduced = _break_even(hass, miner)
    assert reduced is not None
    assert reduced > break_even
    _price_at(hass, 1.1 * reduced)
    assert await clock.at(0, "00:20") == [miner.write("mining_off")]
    assert hass.states.get(MINING_SWITCH).state == "off"
    # Paused, its break-even price stays that of its last mining.
    assert _break_even(hass, miner) == reduced
    _price_at(hass, 0.9 * reduced)
    assert await clock.at(0, "00:25") == [miner.write("mining_on")]
    assert hass.states.get(POWER_PERCENT).state == "50"  # still set
    _price_at(hass, 0.4 * break_even)
    assert await clock.at(0, "00:30") == [miner.write("power_percent", 100)]
    assert clock.timeline == [
        ("Mon 00:15", miner.command("power_percent", 50)),
        ("Mon 00:20", miner.command("mining_off")),
        ("Mon 00:25", miner.command("mining_on")),
        ("Mon 00:30", miner.command("power_percent", 100)),
    ]


@pytest.mark.usefixtures("pool_clock")
async def test_unknown_break_even_price_leaves_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    spiderpool: SpiderpoolEmulator,
) -> None:
    """A miner without a known break-even price is left as it is."""
    miner = any_whatsminer
    device, clock = await _start_linked(hass, freezer, miner, spiderpool)
    async with EmulatedWhatsminer(
        "v2", hostname="cellar-m30", mac="C6:07:20:00:1E:D0"
    ) as cellar:  # mines to its factory pool: no worker, no break-even price
        cellar_device, cellar_clock = await _start(hass, freezer, cellar, 0, "00:00")
        break_even = _break_even(hass, miner)
        assert break_even is not None
        _price(hass, "0.05")
        await _price_curtailment(
            hass, miners=[device, cellar_device], pause_above_break_even=True
        )

        # Above "Pause above" too: without the option both would pause.
        _price_at(hass, 1.5 * break_even)
        assert await clock.at(0, "00:05") == [miner.write("mining_off")]
        # No bitcoin price: the break-even price is unknown from the next poll.
        hass.states.async_set(BITCOIN_PRICE, STATE_UNAVAILABLE)
        assert await clock.at(0, "00:07") == []
        assert _break_even(hass, miner) is None
        _price(hass, "0.05")
        assert await clock.at(0, "00:12") == []  # the price trigger
        assert await clock.at(0, "00:20") == []  # the periodic check
        assert not miner.state.mining
        # Known again: the periodic check follows the moved break-even price.
        hass.states.async_set(BITCOIN_PRICE, "80000", {"unit_of_measurement": "EUR"})
        assert await clock.at(0, "00:21") == []
        assert _break_even(hass, miner) is not None
        assert await clock.at(0, "00:25") == [miner.write("mining_on")]
        assert cellar_clock.record("Mon 00:25 (cellar)") == []
        assert cellar.state.mining


@pytest.mark.usefixtures("pool_clock")
async def test_break_even_price_unused_without_the_option(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    spiderpool: SpiderpoolEmulator,
) -> None:
    """Option off: above its break-even price a miner follows the fixed prices."""
    miner = any_whatsminer
    device, clock = await _start_linked(hass, freezer, miner, spiderpool)
    break_even = _break_even(hass, miner)
    assert break_even is not None
    _price_at(hass, 0.4 * break_even)
    await _price_curtailment(
        hass,
        miners=[device],
        full_power_up_to=round(0.5 * break_even, 3),
        pause_above=round(2 * break_even, 3),
    )

    _price_at(hass, 1.2 * break_even)
    assert await clock.at(0, "00:05") == [miner.write("power_percent", 50)]
    _price_at(hass, 2.5 * break_even)
    assert await clock.at(0, "00:10") == [miner.write("mining_off")]
