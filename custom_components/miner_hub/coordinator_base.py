"""What the coordinators of a miner and of a pool account share: commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .protocol.errors import MinerHubError


class MinerHubCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """What the coordinators of a miner and of a pool account share: commands.

    A command runs once; its errors come back translated, and a refresh shows
    its effect. Nothing is retried: a command whose outcome is unknown is
    reported (OutcomeUnknownError) and confirmed by polling.
    """

    config_entry: ConfigEntry[Any]

    async def _async_command[T](
        self, command: Callable[[], Awaitable[T]], *, refresh: bool = True
    ) -> T:
        try:
            result = await command()
        except MinerHubError as err:
            raise self._command_failed(err) from err
        self._command_done()
        if refresh:
            await self.async_request_refresh()
        return result

    def _command_failed(self, err: MinerHubError) -> HomeAssistantError:
        """React to a failed command; the error to raise."""
        raise NotImplementedError

    def _command_done(self) -> None:
        """React to a command the device carried out (before the refresh)."""
