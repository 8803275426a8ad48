"""The interface Home Assistant uses for every miner, whatever its firmware."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar, Protocol

from . import models
from .errors import UnsupportedCommand


class Miner(ABC):
    """A miner. Adapters implement the reads and the controls they support.

    A control outside ``capabilities`` raises UnsupportedCommand. Reads raise
    ConnectionFailed (unreachable), ParseError (unreadable) or AuthFailed.
    Writes also raise WriteApiDisabled, CommandRejected, InvalidParameter
    (nothing sent) and NoReply (sent, outcome unknown).
    """

    capabilities: ClassVar[frozenset[models.Capability]] = frozenset()

    @property
    @abstractmethod
    def host(self) -> str:
        """Address of the miner."""

    @property
    def web_url(self) -> str:
        """The miner's own web interface."""
        return f"http://{self.host}"

    @abstractmethod
    async def read_info(self) -> models.MinerInfo:
        """Identity and static facts (model, firmware, MAC)."""

    @abstractmethod
    async def read_status(self) -> models.MinerStatus:
        """One poll of everything that changes."""

    @abstractmethod
    async def check_access(self) -> models.WriteAccess:
        """Prove the credentials (AuthFailed if wrong) and tell if writes work."""

    @abstractmethod
    def diagnostics(self) -> dict[str, Any]:
        """Protocol state for diagnostics; never secrets."""

    def reads(self) -> AbstractAsyncContextManager[None]:
        """The reads of one poll run inside: they may share a connection."""
        return nullcontext()

    async def read_power_supply(self) -> models.PowerSupplyStatus | None:
        """The power supply, or None when the miner does not report it."""
        return None

    async def read_errors(self) -> tuple[models.MinerError, ...] | None:
        """The active error codes; None when the firmware does not report any."""
        return None

    def _unsupported(self, command: str) -> UnsupportedCommand:
        return UnsupportedCommand(f"{command} is not supported", command=command)

    @property
    def power_limit_range_w(self) -> tuple[int, int]:
        """Lowest and highest power limit the firmware accepts, in W."""
        raise self._unsupported("power_limit")

    async def set_mining(self, mining: bool) -> None:
        """Start or stop mining."""
        raise self._unsupported("set_mining")

    async def set_power_percent(
        self,
        percent: int,
        mode: models.PowerPercentMode = models.PowerPercentMode.NORMAL,
    ) -> None:
        """Run at a percentage of full power."""
        raise self._unsupported("set_power_percent")

    async def set_power_limit(self, watts: int) -> None:
        """Set the upper power limit."""
        raise self._unsupported("set_power_limit")

    async def set_power_mode(self, mode: models.PowerMode) -> None:
        """Switch the power mode."""
        raise self._unsupported("set_power_mode")

    async def reboot(self) -> None:
        """Restart the whole miner."""
        raise self._unsupported("reboot")

    async def restart_mining(self) -> None:
        """Restart only the mining service."""
        raise self._unsupported("restart_mining")

    async def identify(self, on: bool) -> None:
        """Flash the LED so the miner can be found, or give the LED back."""
        raise self._unsupported("identify")

    async def set_pools(self, pools: Sequence[models.PoolConfig]) -> None:
        """Configure the pools, in priority order."""
        raise self._unsupported("set_pools")

    async def pre_power_on(self) -> models.PrePowerOnStatus:
        """Start (or poll) pre-heating before mining starts."""
        raise self._unsupported("pre_power_on")

    async def set_autotune_mode(self, mode: models.AutoTuneMode) -> None:
        """Choose cgminer's auto-tune profile."""
        raise self._unsupported("set_autotune_mode")

    async def power_off(self) -> None:
        """Power off for good (there is no remote power on)."""
        raise self._unsupported("power_off")

    async def latest_firmware(self) -> models.FirmwareRelease | None:
        """The newest firmware the vendor offers, None when it cannot be asked."""
        raise self._unsupported("latest_firmware")

    async def install_firmware(self, release: models.FirmwareRelease) -> None:
        """Make the miner fetch and install a firmware; it reboots afterwards."""
        raise self._unsupported("install_firmware")


class Addressed(Protocol):
    """A client that names the device it talks to."""

    @property
    def host(self) -> str:
        """Address of the device."""

    @property
    def port(self) -> int:
        """The port of its API."""


class ClientMiner[C: Addressed](Miner):
    """A miner adapter that talks to the device through one client."""

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
