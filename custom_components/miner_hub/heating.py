"""The heater's controller: how much power holds a room at its target.

A PI controller turns the room's deviation from the target into a power percent
between a floor and 100 %. Its integral stops growing while the output is at a
limit (anti-windup), so it does not overshoot after a long cold or warm spell.
The output moves in steps of at least ``min_step`` percent: a miner takes a
new percent over minutes, and small steps would only add changes. When even the
floor is more heat than the room needs for ``stop_after``, mining stops; it
resumes when the room is ``resume_below`` under the target.

Pure arithmetic: the climate entity feeds it temperatures and times and sends
what it decides through the coordinator (and so through the governor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

MAX_PERCENT: Final = 100
SECONDS_PER_HOUR: Final = 3600


@dataclass(frozen=True, slots=True)
class HeaterTuning:
    """The controller's constants (see the README for how they were chosen)."""

    kp: float = 25.0  # % per °C
    ti_hours: float = 1.0  # integral time
    min_step: int = 5  # %
    stop_margin: float = 0.3  # °C above the target at the floor ...
    stop_after: timedelta = timedelta(minutes=30)  # ... for this long: stop
    resume_below: float = 0.5  # °C under the target: mine again


class HeaterAction(StrEnum):
    """What the controller wants the miner to do."""

    HEAT = "heat"  # mine at ``percent``
    STOP = "stop"  # stop mining: even the floor is too much


@dataclass(frozen=True, slots=True)
class HeaterDecision:
    """The controller's output for one step."""

    action: HeaterAction
    percent: int  # what to run at (meaningful for HEAT)


class HeatController:
    """PI control of power percent, with stop and resume at the floor."""

    def __init__(self, floor: int, tuning: HeaterTuning | None = None) -> None:
        """Run between ``floor`` and 100 %."""
        self.floor = floor
        self.tuning = tuning or HeaterTuning()
        self._integral: float | None = None  # % (the I term)
        self._last_step: datetime | None = None
        self._too_warm_since: datetime | None = None
        self.stopped = False
        self.percent: int | None = None  # the output last decided

    def reset(self, percent: int | None, *, stopped: bool = False) -> None:
        """Start from what the miner runs at (bumpless: no jump at the next step)."""
        self._integral = None if percent is None else float(percent)
        self.percent = percent
        self.stopped = stopped
        self._last_step = None
        self._too_warm_since = None

    def step(self, temperature: float, target: float, now: datetime) -> HeaterDecision:
        """The decision for a room at ``temperature`` (°C) aiming at ``target``."""
        error = target - temperature
        if self.stopped:
            if error < self.tuning.resume_below:
                return HeaterDecision(HeaterAction.STOP, self.floor)
            self.reset(self.floor)  # resume at the floor: the room is barely cold
        output = self._pi(error, now)
        if self._too_warm(output, error, now):
            self.stopped = True
            return HeaterDecision(HeaterAction.STOP, self.floor)
        if self.percent is None or abs(output - self.percent) >= self.tuning.min_step:
            self.percent = output
        elif output in (self.floor, MAX_PERCENT) and output != self.percent:
            self.percent = output  # reach a limit even by a small step
        return HeaterDecision(HeaterAction.HEAT, self.percent)

    def _pi(self, error: float, now: datetime) -> int:
        tuning = self.tuning
        hours = 0.0
        if self._last_step is not None:
            hours = max(0.0, (now - self._last_step).total_seconds() / SECONDS_PER_HOUR)
        self._last_step = now
        if self._integral is None:
            self._integral = float(self.floor)
        proportional = tuning.kp * error
        raw = proportional + self._integral
        saturated_high = raw >= MAX_PERCENT and error > 0
        saturated_low = raw <= self.floor and error < 0
        if not (saturated_high or saturated_low):  # anti-windup
            self._integral += tuning.kp / tuning.ti_hours * error * hours
            self._integral = min(
                max(self._integral, self.floor - tuning.kp), MAX_PERCENT
            )
            raw = proportional + self._integral
        return round(min(max(raw, self.floor), MAX_PERCENT))

    def _too_warm(self, output: int, error: float, now: datetime) -> bool:
        """At the floor and still warm enough for long enough."""
        if output > self.floor or -error < self.tuning.stop_margin:
            self._too_warm_since = None
            return False
        if self._too_warm_since is None:
            self._too_warm_since = now
        return now - self._too_warm_since >= self.tuning.stop_after
