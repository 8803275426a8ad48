"""The interface Home Assistant uses for every miner, whatever its firmware."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from .models import (
    Capability,
    MinerError,
    MinerInfo,
    MinerStatus,
    PoolConfig,
    PowerMode,
    PowerPercentMode,
    PowerSupplyStatus,
    PrePowerOnStatus,
    WriteAccess,
)


class Miner(Protocol):
    """A miner. Methods of capabilities it lacks raise UnsupportedCommand.

    Reads raise ConnectionFailed (unreachable), ParseError (unreadable) or
    AuthFailed. Writes also raise WriteApiDisabled, CommandRejected,
    InvalidParameter (nothing sent) and NoReply (sent, outcome unknown).
    """

    @property
    def host(self) -> str:
        """Address of the miner."""

    @property
    def capabilities(self) -> frozenset[Capability]:
        """The controls this miner supports."""

    @property
    def power_limit_range_w(self) -> tuple[int, int]:
        """Lowest and highest power limit the firmware accepts, in W."""

    async def read_info(self) -> MinerInfo:
        """Identity and static facts (model, firmware, MAC)."""

    async def read_status(self) -> MinerStatus:
        """One poll of everything that changes."""

    async def read_power_supply(self) -> PowerSupplyStatus | None:
        """The power supply, or None when the miner does not report it."""

    async def read_errors(self) -> tuple[MinerError, ...]:
        """The active error codes."""

    async def check_access(self) -> WriteAccess:
        """Prove the credentials (AuthFailed if wrong) and tell if writes work."""

    async def set_mining(self, mining: bool) -> None:
        """Start or stop mining."""

    async def set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> None:
        """Run at a percentage of full power."""

    async def set_power_limit(self, watts: int) -> None:
        """Set the upper power limit."""

    async def set_power_mode(self, mode: PowerMode) -> None:
        """Switch the power mode."""

    async def reboot(self) -> None:
        """Restart the whole miner."""

    async def restart_mining(self) -> None:
        """Restart only the mining service."""

    async def identify(self, on: bool) -> None:
        """Flash the LED so the miner can be found, or give the LED back."""

    async def set_pools(self, pools: Sequence[PoolConfig]) -> None:
        """Configure the pools, in priority order."""

    async def pre_power_on(self) -> PrePowerOnStatus:
        """Start (or poll) pre-heating before mining starts."""

    def diagnostics(self) -> dict[str, Any]:
        """Protocol state for diagnostics; never secrets."""
