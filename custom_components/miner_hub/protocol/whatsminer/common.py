"""What a Whatsminer is on either API: its controls, identity and conventions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..miner import Addressed, ClientMiner
from ..models import Capability, PowerMode

MANUFACTURER: Final = "MicroBT"
# adjust_power_limit / set.miner.power_limit accept 0..99999; 99999 resets it.
POWER_LIMIT_RANGE_W: Final = (0, 99999)


@dataclass(frozen=True, slots=True)
class LedFlash:
    """An LED pattern: ``on_ms`` lit in every ``period_ms``."""

    color: str
    period_ms: int
    on_ms: int


# The LED pattern of "identify": red, half a second on per second.
IDENTIFY_FLASH: Final = LedFlash("red", period_ms=1000, on_ms=500)
# The controls both APIs offer (API v2 adds pre-heating).
CONTROLS: Final = frozenset(
    {
        Capability.MINING_SWITCH,
        Capability.POWER_PERCENT,
        Capability.POWER_LIMIT,
        Capability.POWER_MODE,
        Capability.REBOOT,
        Capability.RESTART_MINING,
        Capability.IDENTIFY,
        Capability.POOLS,
    }
)


def power_mode(*names: str | None) -> PowerMode | None:
    """The first name that is a power mode, in any case ("Normal", "low")."""
    for name in names:
        if name and name.lower() in PowerMode._value2member_map_:
            return PowerMode(name.lower())
    return None


def recent(*windows: float | None) -> float | None:
    """The first reported hashrate window: sensors show a recent rate.

    The average since mining started barely moves hours later, so callers name
    it last.
    """
    return next((value for value in windows if value is not None), None)


class WhatsminerMiner[C: Addressed](ClientMiner[C]):
    """A Whatsminer on one API, through that API's client."""

    capabilities = CONTROLS

    @property
    def power_limit_range_w(self) -> tuple[int, int]:
        """What the power limit command accepts."""
        return POWER_LIMIT_RANGE_W
