"""What a Whatsminer is on either API: its controls, identity and conventions."""

from __future__ import annotations

from typing import Final, Protocol

from ..miner import Miner
from ..models import Capability, PowerMode

MANUFACTURER: Final = "MicroBT"
# adjust_power_limit / set.miner.power_limit accept 0..99999; 99999 resets it.
POWER_LIMIT_RANGE_W: Final = (0, 99999)
# The LED pattern of "identify": red, half a second on per second.
IDENTIFY_COLOR: Final = "red"
IDENTIFY_PERIOD_MS: Final = 1000
IDENTIFY_ON_MS: Final = 500
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


class WhatsminerClient(Protocol):
    """What the adapters need of either API's client to name the miner."""

    @property
    def host(self) -> str:
        """Address of the miner."""

    @property
    def port(self) -> int:
        """The API's port."""


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


class WhatsminerMiner[C: WhatsminerClient](Miner):
    """A Whatsminer on one API, through that API's client."""

    capabilities = CONTROLS

    def __init__(self, client: C) -> None:
        """Talk to the miner through ``client``."""
        self.client = client

    def __repr__(self) -> str:
        """Name the miner, never the password."""
        return f"{type(self).__name__}({self.client.host!r}, {self.client.port})"

    @property
    def host(self) -> str:
        """Address of the miner."""
        return self.client.host

    @property
    def power_limit_range_w(self) -> tuple[int, int]:
        """What the power limit command accepts."""
        return POWER_LIMIT_RANGE_W
