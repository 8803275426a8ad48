"""A house with solar panels, a load and an optional battery, for the solar tests.

``House`` makes the day: the panels' power (a clear-sky curve for a June day,
dimmed by passing clouds), the household load (a base with random appliances)
and a battery that charges from what would be exported and covers imports,
as a home battery's own controller does. The test feeds it the miners' power
and reads back the grid power; ``Trace`` keeps every step and measures it.

All draws come from one seeded ``random.Random``: the reference day is the
same on every run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
import itertools
import json
import math
from pathlib import Path
import random
from typing import Any, Final

# The panels: peak power at solar noon, sunrise and sunset (hours, local time).
PEAK_W: Final = 9000.0
SUNRISE_H: Final = 5.0
SUNSET_H: Final = 21.0
# Clouds: how many pass in the day, how long each (minutes), how much they dim.
CLOUDS: Final = 14
CLOUD_MINUTES: Final = (3, 25)
CLOUD_DIMMING: Final = (0.3, 0.8)
# The house: always-on load, and the appliances that come on at random.
BASE_LOAD_W: Final = 350.0
APPLIANCES: Final = (
    # name, power (W), minutes, times a day
    ("kettle", 2000.0, 4, 5),
    ("oven", 2400.0, 45, 1),
    ("washing machine", 1800.0, 90, 1),
    ("dishwasher", 1500.0, 60, 1),
    ("heat pump boiler", 900.0, 120, 1),
)
APPLIANCE_HOURS: Final = (6.5, 22.0)


@dataclass(slots=True)
class Battery:
    """A home battery: charges from the export, covers the import."""

    capacity_wh: float = 10_000.0
    max_w: float = 3000.0
    charge_wh: float = 4000.0

    @property
    def soc(self) -> float:
        return 100 * self.charge_wh / self.capacity_wh

    def step(self, export_w: float, seconds: float) -> float:
        """Its power (charging positive) for the house's export before it."""
        if export_w > 0:
            room_w = (self.capacity_wh - self.charge_wh) * 3600 / seconds
            power = min(export_w, self.max_w, room_w)
        else:
            stored_w = self.charge_wh * 3600 / seconds
            power = -min(-export_w, self.max_w, stored_w)
        self.charge_wh += power * seconds / 3600
        return power


class House:
    """The reference day's sun, load and battery, minute by minute."""

    def __init__(self, seed: str, *, battery: Battery | None = None) -> None:
        rng = random.Random(seed)
        self.battery = battery
        self._clouds = [
            (
                rng.uniform(SUNRISE_H + 1, SUNSET_H - 1),
                rng.uniform(*CLOUD_MINUTES) / 60,
                rng.uniform(*CLOUD_DIMMING),
            )
            for _ in range(CLOUDS)
        ]
        self._appliances = [
            (rng.uniform(*APPLIANCE_HOURS), minutes / 60, watts)
            for _name, watts, minutes, times in APPLIANCES
            for _ in range(times)
        ]

    def pv_w(self, hour: float) -> float:
        """The panels' power: a sine over the day, dimmed while a cloud passes."""
        if not SUNRISE_H < hour < SUNSET_H:
            return 0.0
        clear = PEAK_W * math.sin(math.pi * (hour - SUNRISE_H) / (SUNSET_H - SUNRISE_H))
        for start, length, dimming in self._clouds:
            if start <= hour < start + length:
                clear *= 1 - dimming
        return clear

    def load_w(self, hour: float) -> float:
        """The house without the miners: the base and what is switched on."""
        return BASE_LOAD_W + sum(
            watts
            for start, length, watts in self._appliances
            if start <= hour < start + length
        )


@dataclass(slots=True)
class Sample:
    """One step: what the sun, the house, the battery and the miners did."""

    hour: float
    pv_w: float
    load_w: float
    mining_w: float
    battery_w: float
    grid_w: float  # import positive
    soc: float | None
    miners_mining: int


@dataclass(slots=True)
class Trace:
    """The day, step by step, and the miners' commands, and what they add up to."""

    name: str
    step_s: float
    samples: list[Sample] = field(default_factory=list)
    # Per miner: (hour, "percent" | "stop" | "start") for each command received.
    commands: dict[str, list[tuple[float, str]]] = field(default_factory=dict)

    def _wh(self, watts: float) -> float:
        return watts * self.step_s / 3600

    def mining_wh(self) -> float:
        return sum(self._wh(s.mining_w) for s in self.samples)

    def surplus_wh(self) -> float:
        """Mining energy the sun paid for: what the miners drew within the surplus.

        The surplus is what the panels made beyond the house's own load (the
        battery, when there is one, takes its share after the miners).
        """
        return sum(
            self._wh(min(s.mining_w, max(0.0, s.pv_w - s.load_w))) for s in self.samples
        )

    def import_by_mining_wh(self) -> float:
        """Grid import the miners caused: the import that would not be without them."""
        return sum(
            self._wh(max(0.0, s.grid_w) - max(0.0, s.grid_w - s.mining_w))
            for s in self.samples
        )

    def exported_wh(self) -> float:
        return sum(self._wh(max(0.0, -s.grid_w)) for s in self.samples)

    def available_wh(self) -> float:
        return sum(self._wh(max(0.0, s.pv_w - s.load_w)) for s in self.samples)

    def commands_per_hour(self, miner: str) -> tuple[float, int]:
        """The mean over the day's sun hours, and the most in any clock hour."""
        hours = [int(hour) for hour, _kind in self.commands.get(miner, [])]
        counts = [sum(1 for _ in group) for _, group in itertools.groupby(hours)]
        sun_h = self.samples[-1].hour - self.samples[0].hour
        return len(hours) / sun_h, max(counts, default=0)

    def stops(self, miner: str) -> list[tuple[float, float]]:
        """Each pause: (stopped at, started again at) in hours."""
        events = [(h, k) for h, k in self.commands.get(miner, []) if k != "percent"]
        pauses, stopped = [], None
        for hour, kind in events:
            if kind == "stop":
                stopped = hour
            elif stopped is not None:
                pauses.append((stopped, hour))
                stopped = None
        return pauses

    def figures(self) -> dict[str, Any]:
        mining = self.mining_wh()
        return {
            "mining_kwh": round(mining / 1000, 2),
            "available_surplus_kwh": round(self.available_wh() / 1000, 2),
            "surplus_share": round(self.surplus_wh() / mining, 4) if mining else None,
            "import_share": round(self.import_by_mining_wh() / mining, 4)
            if mining
            else None,
            "surplus_used": round(self.surplus_wh() / self.available_wh(), 4),
            "exported_kwh": round(self.exported_wh() / 1000, 2),
            "commands_per_hour": {
                miner: round(self.commands_per_hour(miner)[0], 2)
                for miner in self.commands
            },
            "most_commands_in_an_hour": {
                miner: self.commands_per_hour(miner)[1] for miner in self.commands
            },
            "pauses": {miner: len(self.stops(miner)) for miner in self.commands},
        }

    def dump(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "name": self.name,
                    "step_s": self.step_s,
                    "figures": self.figures(),
                    "commands": self.commands,
                    "samples": [asdict(s) for s in self.samples],
                }
            )
        )
