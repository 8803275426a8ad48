"""A room heated by an emulated miner: the closed loop of the heater's proof.

``Room`` is a one-node thermal model: a heat capacity, a loss to the outside
proportional to the difference in temperature, and an outside temperature that
follows a 24-hour cosine (coldest at 03:00, warmest at 15:00). The miner's power
(what the emulator draws) heats it. ``Trace`` is a simulated run, one sample a
minute, and the figures the tests assert and the README quotes.

Plain Python: the test (``test_closed_loop.py``) drives Home Assistant, the
integration and the emulator; ``chart.py`` draws a trace.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import json
import math
from pathlib import Path
from typing import Any, Final

SECONDS_PER_HOUR: Final = 3600
COLDEST_HOUR: Final = 3.0
BAND_C: Final = 0.5  # the room counts as held within ± this of the target


@dataclass(frozen=True, slots=True)
class Room:
    """A room: its loss, its thermal inertia and its outside temperature."""

    name: str
    loss_w_per_k: float  # heat lost per kelvin between inside and outside
    time_constant_h: float  # capacity / loss: how slowly it cools
    outside_mean_c: float
    outside_swing_c: float  # ± around the mean over the day

    @property
    def capacity_j_per_k(self) -> float:
        return self.loss_w_per_k * self.time_constant_h * SECONDS_PER_HOUR

    def outside_c(self, hours: float) -> float:
        """The outside temperature ``hours`` after midnight."""
        phase = 2 * math.pi * (hours - COLDEST_HOUR) / 24
        return self.outside_mean_c - self.outside_swing_c * math.cos(phase)

    def need_w(self, hours: float, target_c: float) -> float:
        """The power that holds the room at ``target_c`` at that hour."""
        return self.loss_w_per_k * (target_c - self.outside_c(hours))

    def warmed(
        self, inside_c: float, power_w: float, hours: float, seconds: float
    ) -> float:
        """The inside temperature ``seconds`` later (10-second Euler steps)."""
        steps = max(1, round(seconds / 10))
        dt = seconds / steps
        for step in range(steps):
            at = hours + step * dt / SECONDS_PER_HOUR
            loss = self.loss_w_per_k * (inside_c - self.outside_c(at))
            inside_c += (power_w - loss) * dt / self.capacity_j_per_k
        return inside_c


# Needs for a 20 °C target, against a Whatsminer of about 3.35 kW and a 30 %
# floor (about 1 kW):
ROOMS: Final = (
    # A cold night needs nearly full power (3.3 kW at 03:00, 2.1 kW at 15:00).
    Room("barely_enough", 150.0, 3.0, 2.0, 4.0),
    # Between 1.2 and 2.4 kW all day.
    Room("medium", 120.0, 4.0, 5.0, 5.0),
    # 0.4 to 1.6 kW: for half the day (09:00 to 21:00) even the floor is too much.
    Room("mild", 100.0, 4.0, 10.0, 6.0),
)


@dataclass(slots=True)
class Sample:
    """The house at one minute."""

    hours: float  # since the start of the run
    inside_c: float
    sensor_c: float  # what the room sensor read (with its noise)
    outside_c: float
    need_w: float
    power_w: int  # what the miner drew
    percent: int  # the power percent the miner was set to
    mining: bool


@dataclass(slots=True)
class Trace:
    """A run of the heater: one sample a minute, and the writes the miner got."""

    room: Room
    api: str
    target_c: float
    full_w: float  # the miner's power at 100 %
    floor_w: float  # ... and at the heater's floor
    warmup_h: float
    start_hour: float = 0.0  # the hour of the day the run starts at
    samples: list[Sample] = field(default_factory=list)
    percent_changes: list[float] = field(default_factory=list)  # hours
    mining_stops: list[float] = field(default_factory=list)  # hours
    mining_starts: list[float] = field(default_factory=list)  # hours

    def measured(self) -> list[Sample]:
        return [s for s in self.samples if s.hours >= self.warmup_h]

    def _in_window(self, times: list[float]) -> list[float]:
        return [t for t in times if t >= self.warmup_h]

    @property
    def measured_hours(self) -> float:
        return len(self.measured()) / 60  # a sample a minute

    def can_meet(self) -> list[Sample]:
        """The measured minutes whose need lies between the floor and full power."""
        return [s for s in self.measured() if self.floor_w <= s.need_w <= self.full_w]

    def error_c(self, sample: Sample) -> float:
        return abs(sample.inside_c - self.target_c)

    def within_band(self, samples: list[Sample] | None = None) -> float:
        """Share of ``samples`` (those the miner can meet) held in the band."""
        samples = self.can_meet() if samples is None else samples
        held = [s for s in samples if self.error_c(s) <= BAND_C]
        return len(held) / len(samples) if samples else 1.0

    def percent_changes_per_hour(self) -> tuple[float, int]:
        """Mean and highest number of power-percent changes in a clock hour."""
        changes = self._in_window(self.percent_changes)
        hours = max(1, math.floor(self.measured_hours))
        per_hour = [
            sum(1 for t in changes if start <= t - self.warmup_h < start + 1)
            for start in range(hours)
        ]
        return len(changes) / self.measured_hours, max(per_hour, default=0)

    def stops_per_day(self) -> float:
        return len(self._in_window(self.mining_stops)) * 24 / self.measured_hours

    def disruptive_changes(self) -> list[float]:
        """Every mining stop and start, in order."""
        return sorted(self.mining_stops + self.mining_starts)

    def stops_with_need_above_floor(self) -> list[float]:
        """Stops made while the room needed more than the floor gives (none)."""
        hours_of_day = self.hours_of_day
        return [
            t
            for t in self.mining_stops
            if self.room.need_w(hours_of_day(t), self.target_c) >= self.floor_w
        ]

    def hours_of_day(self, hours: float) -> float:
        return (self.start_hour + hours) % 24

    def figures(self) -> dict[str, Any]:
        """What the README and the closing note quote."""
        mean, highest = self.percent_changes_per_hour()
        measured, can_meet = self.measured(), self.can_meet()
        return {
            "room": self.room.name,
            "api": self.api,
            "hours": round(self.measured_hours, 2),
            "minutes_need_in_range": len(can_meet),
            "minutes_need_below_floor": sum(
                1 for s in measured if s.need_w < self.floor_w
            ),
            "within_band": round(self.within_band(), 4),
            "max_error_c": round(max(map(self.error_c, can_meet), default=0), 2),
            "within_band_all_day": round(self.within_band(measured), 4),
            "max_error_all_day_c": round(max(map(self.error_c, measured)), 2),
            "percent_changes_per_hour": round(mean, 2),
            "most_percent_changes_in_an_hour": highest,
            "mining_stops_per_day": round(self.stops_per_day(), 2),
        }

    def dump(self, path: Path) -> None:
        """Write the trace as JSON (for ``chart.py``)."""
        document = {
            "room": asdict(self.room),
            "api": self.api,
            "target_c": self.target_c,
            "full_w": self.full_w,
            "floor_w": self.floor_w,
            "warmup_h": self.warmup_h,
            "start_hour": self.start_hour,
            "samples": [asdict(sample) for sample in self.samples],
            "percent_changes": self.percent_changes,
            "mining_stops": self.mining_stops,
            "mining_starts": self.mining_starts,
            "figures": self.figures(),
        }
        path.write_text(json.dumps(document, indent=1) + "\n")
