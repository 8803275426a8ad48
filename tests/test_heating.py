"""The heater's controller on its own: PI steps, limits, stop and resume."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools

from custom_components.miner_hub.heating import HeatController, HeaterAction

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TARGET = 20.0


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_cold_room_gets_full_power_and_a_warm_one_the_floor() -> None:
    controller = HeatController(30)
    controller.reset(60)
    assert controller.step(15.0, TARGET, at(0)).percent == 100
    controller.reset(60)
    assert controller.step(25.0, TARGET, at(0)).percent == 30


def test_starting_from_the_miner_causes_no_jump() -> None:
    controller = HeatController(30)
    controller.reset(64)
    decision = controller.step(TARGET, TARGET, at(0))
    assert (decision.action, decision.percent) == (HeaterAction.HEAT, 64)


def test_small_corrections_wait_until_they_add_up() -> None:
    controller = HeatController(30)
    controller.reset(60)
    assert controller.step(TARGET - 0.1, TARGET, at(0)).percent == 60  # 2.5 % wanted
    percents = [
        controller.step(TARGET - 0.1, TARGET, at(minutes)).percent
        for minutes in range(2, 120, 2)
    ]
    assert percents[0] == 60
    assert max(percents) > 60  # the integral kept adding up
    assert all(b - a in (0, 5, 6) for a, b in itertools.pairwise(percents))


def test_the_integral_does_not_wind_up_at_full_power() -> None:
    controller = HeatController(30)
    controller.reset(100)
    for minute in range(0, 12 * 60, 2):  # half a day too cold
        controller.step(TARGET - 3, TARGET, at(minute))
    # Once the room is warm enough the power comes down at once, not hours later.
    decision = controller.step(TARGET + 0.5, TARGET, at(12 * 60))
    assert decision.percent < 100


def test_mining_stops_when_even_the_floor_is_too_much_for_long() -> None:
    controller = HeatController(30)
    controller.reset(30)
    assert controller.step(TARGET + 1, TARGET, at(0)).action is HeaterAction.HEAT
    assert controller.step(TARGET + 1, TARGET, at(20)).action is HeaterAction.HEAT
    assert controller.step(TARGET + 1, TARGET, at(30)).action is HeaterAction.STOP
    assert controller.stopped


def test_a_short_warm_spell_does_not_stop_mining() -> None:
    controller = HeatController(30)
    controller.reset(30)
    controller.step(TARGET + 1, TARGET, at(0))
    controller.step(TARGET, TARGET, at(20))  # back at the target
    assert controller.step(TARGET + 1, TARGET, at(40)).action is HeaterAction.HEAT


def test_mining_resumes_at_the_floor_below_the_hysteresis() -> None:
    controller = HeatController(30)
    controller.reset(None, stopped=True)
    assert controller.step(TARGET - 0.3, TARGET, at(0)).action is HeaterAction.STOP
    decision = controller.step(TARGET - 0.6, TARGET, at(2))
    assert decision.action is HeaterAction.HEAT
    assert 30 <= decision.percent <= 50
    assert not controller.stopped
