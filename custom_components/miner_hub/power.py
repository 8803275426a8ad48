"""Watts for a miner that is controlled in percent.

The miners' native watt commands are undocumented (Whatsminer API v2
``set_power`` and v3 ``set.miner.power``: unit, range and whether mining
restarts are unknown), while power percent in normal mode is documented, needs
no restart and is what the governor paces gently. So a power in watts is a
percent of the power the miner draws at 100 %, which ``FullPower`` learns from
the miner's own reports: the power it reports, divided by the percent it runs
at, once a change has settled. Each report after a change corrects it. What it
shows (``watts``) follows the estimate only when that moved by more than
``SHOWN_BAND``: a range that moved with every poll's noise would rewrite the
entity's capabilities (and the registry) all the time.

Pure arithmetic: the coordinator feeds it its polls and the changes it sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

# A percent change takes the miner a few minutes in normal mode (manual §3.22);
# a report is trusted this long after the last change sent.
SETTLE: Final = timedelta(minutes=5)
# Reports below this percent are too noisy a base to scale up from.
MIN_LEARNING_PERCENT: Final = 20
# Each settled report moves the estimate this far towards what it shows.
LEARNING_RATE: Final = 0.5
# The shown full power follows the estimate when it moved this far (a fraction).
SHOWN_BAND: Final = 0.02
MAX_PERCENT: Final = 100


class FullPower:
    """The power (W) a miner draws at 100 %, learned from its reports."""

    def __init__(self, floor_percent: int) -> None:
        """Nothing learned yet; the lowest percent the miner may run at."""
        self.floor_percent = floor_percent
        self.watts: float | None = None
        self._estimate: float | None = None
        self._changed_at: datetime | None = None

    def changed(self, now: datetime) -> None:
        """A change was sent: reports are in motion for a while."""
        self._changed_at = now

    def observe(
        self,
        *,
        power_w: float | None,
        percent: int,
        mining: bool | None,
        power_limit_w: float | None,
        now: datetime,
    ) -> None:
        """Learn from one poll (a report mid-change or off-percent is ignored)."""
        if (
            not mining
            or power_w is None
            or power_w <= 0
            or percent < MIN_LEARNING_PERCENT
            or (self._changed_at is not None and now - self._changed_at < SETTLE)
        ):
            return
        sample = power_w * MAX_PERCENT / percent
        if power_limit_w is not None and power_limit_w > 0:
            sample = min(sample, power_limit_w)  # the miner never draws more
        if self._estimate is None:
            self._estimate = self.watts or sample
        self._estimate += LEARNING_RATE * (sample - self._estimate)
        if self.watts is None or abs(self._estimate - self.watts) > (
            self.watts * SHOWN_BAND
        ):
            self.watts = self._estimate

    @property
    def floor_w(self) -> float | None:
        """The least the miner may be run at (W)."""
        return None if self.watts is None else self.watts * self.floor_percent / 100

    def percent_for(self, watts: float) -> int:
        """The percent that draws ``watts``, within the floor and 100 %."""
        if self.watts is None:
            raise ValueError("the full power is not known yet")
        percent = round(watts * MAX_PERCENT / self.watts)
        return min(max(percent, self.floor_percent), MAX_PERCENT)

    def watts_at(self, percent: int) -> float | None:
        """What the miner draws at ``percent`` (None until learned)."""
        return None if self.watts is None else self.watts * percent / MAX_PERCENT
