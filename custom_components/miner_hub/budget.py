"""One power budget across miners: how it is split, and applying the split.

The miners come in priority order. ``priority`` fills the first miner up to
its full power before the next gets anything; ``even`` runs every miner at the
same percent of its full power. A miner whose share would fall below its floor
is paused instead: mining inefficiently at a few percent is worse than not
mining. A paused miner resumes only when its share clears the floor by
``RESUME_MARGIN``, so a budget that wavers around a floor does not switch it on
and off (the governor would hold most of those changes anyway, but each one it
lets through restarts hashing).

Miners the budget cannot set (a DragonMint, one unreachable, one whose heater
is in Heat, one whose full power is not learned yet) are left out of the split
and counted at what they draw. Changes that lower a miner go first, so that
moving power from one miner to another does not draw more on the way.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
import math
from typing import TYPE_CHECKING, Any, Final

from homeassistant.exceptions import HomeAssistantError

from .governor import Verdict
from .protocol.models import Capability

if TYPE_CHECKING:
    from .coordinator import MinerCoordinator

# A paused miner resumes when its share is at least this much above its floor.
RESUME_MARGIN: Final = 1.1
# A running miner whose percent would move less than this is left as it is: the
# step is not worth a command (2 % of a 3.4 kW miner is 68 W).
MIN_STEP_PERCENT: Final = 2
# A resume needs its start and a stop later within the governor's daily count.
CHANGES_TO_RESUME: Final = 2
# What a budget needs to set a miner.
POWER_CONTROL: Final = frozenset({Capability.POWER_PERCENT, Capability.MINING_SWITCH})


class BudgetMode(StrEnum):
    """How the budget is shared."""

    PRIORITY = "priority"
    EVEN = "even"


@dataclass(frozen=True, slots=True)
class Controllable:
    """A miner the budget can set: its full power, floor and whether it mines.

    ``may_resume``: whether a paused miner may start again, that is whether its
    governor allows the start and a stop later today. Started with the last
    change of the day, it would have to run on at its floor into the night.
    """

    full_w: float
    floor_w: float
    mining: bool
    may_resume: bool = True

    @property
    def threshold_w(self) -> float:
        """The least share it runs on (more to resume than to keep running)."""
        if self.mining:
            return min(self.floor_w, self.full_w)
        if not self.may_resume:
            return math.inf
        return min(self.floor_w * RESUME_MARGIN, self.full_w)


def split_budget(
    budget_w: float, miners: Sequence[Controllable], mode: BudgetMode
) -> list[float]:
    """Watts for each miner, in the given order; 0 pauses it."""
    if mode is BudgetMode.PRIORITY:
        return _split_by_priority(budget_w, miners)
    return _split_evenly(budget_w, miners)


def _split_by_priority(budget_w: float, miners: Sequence[Controllable]) -> list[float]:
    """Fill each miner in turn; one the rest cannot carry pauses, later ones may."""
    shares: list[float] = []
    left = max(0.0, budget_w)
    for miner in miners:
        share = min(miner.full_w, left)
        if share < miner.threshold_w:
            share = 0.0
        shares.append(share)
        left -= share
    return shares


def _split_evenly(budget_w: float, miners: Sequence[Controllable]) -> list[float]:
    """The same percent for all; drop the last miners until each clears its floor.

    A paused miner that may not resume takes no part.
    """
    able = [i for i, miner in enumerate(miners) if miner.threshold_w < math.inf]
    shares = [0.0] * len(miners)
    for running in range(len(able), 0, -1):
        fleet = [miners[i] for i in able[:running]]
        fraction = min(1.0, max(0.0, budget_w) / sum(m.full_w for m in fleet))
        if all(fraction * m.full_w >= m.threshold_w for m in fleet):
            for i, miner in zip(able, fleet, strict=False):
                shares[i] = fraction * miner.full_w
            return shares
    return shares


@dataclass(frozen=True, slots=True)
class BudgetMiner:
    """A miner named in a budget, with its coordinator once its entry is loaded."""

    device_id: str
    name: str
    coordinator: MinerCoordinator | None

    def left_out_because(self) -> str | None:
        """Why the budget cannot set this miner, if it cannot."""
        coordinator = self.coordinator
        if coordinator is None or not coordinator.last_update_success:
            return "unavailable"
        if not coordinator.miner.capabilities >= POWER_CONTROL:
            return "no_power_control"
        if coordinator.heating:
            return "heating"  # the heater holds its room: the heater wins
        if coordinator.full_power.watts is None:
            return "full_power_unknown"
        return None


@dataclass(frozen=True, slots=True)
class _Step:
    """What the budget asks of one miner it controls: a percent, or a pause."""

    miner: BudgetMiner
    coordinator: MinerCoordinator
    percent: int | None

    @property
    def watts(self) -> float:
        if self.percent is None:
            return 0.0
        return self.coordinator.full_power.watts_at(self.percent) or 0.0

    @property
    def lowers(self) -> bool:
        return self.watts < (self.coordinator.power_target_w or 0)


async def async_apply_power_budget(
    miners: Sequence[BudgetMiner], budget_w: float, mode: BudgetMode, *, force: bool
) -> dict[str, Any]:
    """Split ``budget_w`` across ``miners`` and apply it; the plan per miner."""
    parts: dict[str, dict[str, Any]] = {}
    controlled: list[tuple[BudgetMiner, MinerCoordinator]] = []
    for miner in miners:
        reason = miner.left_out_because()
        if reason is None and miner.coordinator is not None:
            controlled.append((miner, miner.coordinator))
        else:
            parts[miner.device_id] = _left_out(miner, reason)
    left_out_w = _total_w(parts.values())
    shares = split_budget(
        budget_w - left_out_w,
        [_controllable(coordinator) for _, coordinator in controlled],
        mode,
    )
    steps = [
        _Step(miner, coordinator, _percent_for(coordinator, share))
        for (miner, coordinator), share in zip(controlled, shares, strict=True)
    ]
    # Lower and pause first, then raise and resume.
    lowering = [step for step in steps if step.lowers]
    raising = [step for step in steps if not step.lowers]
    for phase in (lowering, raising):
        outcomes = await asyncio.gather(*(_async_apply(step, force) for step in phase))
        for step, outcome in zip(phase, outcomes, strict=True):
            parts[step.miner.device_id] = _planned(step) | outcome
    return {
        "power": budget_w,
        "planned": _total_w(parts.values()),
        "left_out": left_out_w,
        "miners": [parts[miner.device_id] for miner in miners],
    }


def _total_w(parts: Iterable[dict[str, Any]]) -> int:
    return sum(part["watts"] or 0 for part in parts)


def _controllable(coordinator: MinerCoordinator) -> Controllable:
    full_power = coordinator.full_power
    return Controllable(
        full_w=full_power.watts or 0.0,
        floor_w=full_power.floor_w or 0.0,
        mining=coordinator.data.status.mining is True,
        may_resume=coordinator.governor.disruptive_left() >= CHANGES_TO_RESUME,
    )


def _percent_for(coordinator: MinerCoordinator, share_w: float) -> int | None:
    """The percent to run at for a share (None pauses), or the current one."""
    if share_w <= 0:
        return None
    percent = coordinator.full_power.percent_for(share_w)
    current = coordinator.known_power_percent
    if (
        coordinator.data.status.mining
        and current is not None
        and abs(percent - current) < MIN_STEP_PERCENT
    ):
        return current
    return percent


def _left_out(miner: BudgetMiner, reason: str | None) -> dict[str, Any]:
    """A miner the budget does not set: counted at what it last reported drawing.

    None when it never reported a power (a DragonMint T1 does not): counted as 0.
    """
    coordinator = miner.coordinator
    data = None if coordinator is None else coordinator.data
    power_w = None if data is None else data.status.power_w
    return {
        "device_id": miner.device_id,
        "name": miner.name,
        "controlled": False,
        "reason": reason,
        "watts": None if power_w is None else round(power_w),
        "mining": None if data is None else data.status.mining,
    }


def _planned(step: _Step) -> dict[str, Any]:
    return {
        "device_id": step.miner.device_id,
        "name": step.miner.name,
        "controlled": True,
        "watts": round(step.watts),
        "percent": step.percent,
        "mining": step.percent is not None,
    }


async def _async_apply(step: _Step, force: bool) -> dict[str, Any]:
    """Send one miner its part; a failure is reported, the others go on."""
    try:
        verdicts = await step.coordinator.async_run_at(step.percent, force=force)
    except HomeAssistantError as err:
        return {"result": "error", "error": str(err), "held": False}
    if Verdict.HELD in verdicts:
        result = Verdict.HELD
    elif Verdict.APPLIED in verdicts:
        result = Verdict.APPLIED
    else:
        result = Verdict.UNCHANGED
    return {"result": result.value, "held": result is Verdict.HELD}
