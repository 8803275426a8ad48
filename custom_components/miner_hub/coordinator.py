"""Polling and commands: the base of both coordinators, and a miner's.

Data flows one way: a poll reads the device through the protocol layer and the
entities show what it returned. Every command, whoever sends it (an entity, an
action, Assist), is a method of the coordinator; what a command leaves behind
(the power percent a miner accepted but does not report) lives here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    API_REDETECT_INTERVAL,
    BOOT_TIME_TOLERANCE,
    CONF_API,
    CONF_KIND,
    CONF_SCAN_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    FIRMWARE_CHECK_INTERVAL,
    ISSUE_WRITE_API_DISABLED,
    KIND_WHATSMINER,
    LOGGER,
    MAX_UPTIME_S,
    REFRESH_COOLDOWN_S,
    SLOW_READ_INTERVAL,
)
from .helpers import (
    async_detect_whatsminer_api,
    async_get_gate,
    create_miner,
    miner_command_error,
    translated,
)
from .protocol.errors import (
    AuthFailed,
    ConnectionFailed,
    MinerHubError,
    NoReply,
    Unreachable,
    WriteApiDisabled,
)
from .protocol.miner import Miner
from .protocol.models import (
    AutoTuneMode,
    Capability,
    FirmwareRelease,
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
from .protocol.whatsminer.detect import WhatsminerApi


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


@dataclass(frozen=True, slots=True)
class MinerData:
    """What the entities show."""

    status: MinerStatus
    power_supply: PowerSupplyStatus | None
    errors: tuple[MinerError, ...] | None  # None: not reported by this firmware
    booted_at: datetime | None


class MinerCoordinator(MinerHubCoordinator[MinerData]):
    """Polls one miner and runs its commands."""

    info: MinerInfo

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry[Any], miner: Miner
    ) -> None:
        """Poll at the interval the user chose in the options."""
        interval = entry.options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=interval),
            # Show a command's effect at once, also after a quick second command.
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=REFRESH_COOLDOWN_S, immediate=True
            ),
        )
        self.miner = miner
        self._gate = async_get_gate(hass)
        self.write_access = WriteAccess.UNKNOWN
        # The last power percent the miner accepted (API v2 cannot report it).
        self.accepted_power_percent: int | None = None
        self._slow_reads_due: datetime | None = None
        self._power_supply: PowerSupplyStatus | None = None
        self._errors: tuple[MinerError, ...] | None = None
        self._booted_at: datetime | None = None
        self._redetect_due: datetime | None = None
        self.latest_firmware: FirmwareRelease | None = None
        self._firmware_check_due: datetime | None = None

    @property
    def power_percent(self) -> int | None:
        """The percent the miner reports, else the last one it accepted."""
        reported = self.data.status.power_percent
        return self.accepted_power_percent if reported is None else reported

    async def _read[T](self, read: Callable[[], Awaitable[T]]) -> T:
        """Run a read; wrong credentials start reauth, anything else fails the poll."""
        try:
            return await read()
        except AuthFailed as err:
            raise translated(ConfigEntryAuthFailed, "invalid_auth") from err
        except MinerHubError as err:
            raise translated(
                UpdateFailed, "communication_error", error=str(err)
            ) from err

    async def _async_setup(self) -> None:
        """Identify the miner and learn whether it accepts writes."""
        await self._follow_api_change()
        self.info = await self._read(self.miner.read_info)
        if self.info.mac != self.config_entry.unique_id:
            # Another device answers at this address (DHCP gave the IP away).
            raise translated(UpdateFailed, "wrong_device", mac=self.info.mac)
        self._set_write_access(await self._read(self.miner.check_access))

    async def _async_update_data(self) -> MinerData:
        # Polls whose timers fall due together start one per loop iteration.
        await self._gate.take_turn()
        async with self.miner.reads():
            status = await self._read(self._read_status)
            now = dt_util.utcnow()
            if self._slow_reads_due is None or now >= self._slow_reads_due:
                await self._slow_reads()
                self._slow_reads_due = now + SLOW_READ_INTERVAL
        if Capability.FIRMWARE_UPDATE in self.miner.capabilities and (
            self._firmware_check_due is None or now >= self._firmware_check_due
        ):
            # The miner asks the vendor's server itself, slowly: never in the poll.
            self._firmware_check_due = now + FIRMWARE_CHECK_INTERVAL
            self.config_entry.async_create_background_task(
                self.hass, self._check_firmware(), f"{self.name} firmware check"
            )
        booted_at = self._boot_time(status, now)
        if self._booted_at is not None and booted_at != self._booted_at:
            # A reboot may bring new firmware, or another device at this address.
            await self._reload_on_api_change()
            await self._refresh_info()
        self._booted_at = booted_at
        await self._gate.take_turn()  # the entities are written when this returns
        return MinerData(status, self._power_supply, self._errors, booted_at)

    async def _read_status(self) -> MinerStatus:
        try:
            return await self.miner.read_status()
        except Unreachable:
            # After a firmware change the old API may refuse for good: look again,
            # now and then (each look costs probes that time out when it is off).
            # Not when the miner took the connection and then stalled, garbled or
            # cut its reply: its API is still there, and the reduced v2 API of v3
            # firmware answering meanwhile is no firmware change.
            now = dt_util.utcnow()
            if self._redetect_due is None or now >= self._redetect_due:
                self._redetect_due = now + API_REDETECT_INTERVAL
                await self._reload_on_api_change()
            raise

    async def _reload_on_api_change(self) -> None:
        """Reload the entry when the miner now speaks another API.

        Its entities depend on the API (capabilities differ).
        """
        if await self._follow_api_change():
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)

    async def _follow_api_change(self) -> bool:
        """Whether a Whatsminer now speaks another API (firmware up- or downgrade).

        The entry then stores the new API and the client is replaced, so a miner
        that moved to API v3 is not polled on its read-only v2 API forever. Its
        entities are dropped, and setup creates those the new API supports: the
        registry gives a re-created entity back its settings (ID, name, area).
        """
        data = self.config_entry.data
        if data.get(CONF_KIND, KIND_WHATSMINER) != KIND_WHATSMINER:
            return False
        try:
            api = await async_detect_whatsminer_api(self.hass, data)
        except MinerHubError:
            return False  # unreachable: the read that follows reports it
        if api == data.get(CONF_API, WhatsminerApi.V2):
            return False
        LOGGER.info("%s now speaks Whatsminer API %s", self.config_entry.title, api)
        new_data = {**data, CONF_API: api.value}
        self.hass.config_entries.async_update_entry(self.config_entry, data=new_data)
        self.miner = create_miner(self.hass, new_data)
        registry = er.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        for entity in er.async_entries_for_config_entry(registry, entry_id):
            registry.async_remove(entity.entity_id)
        return True

    async def _slow_reads(self) -> None:
        """Power supply and error codes; a failed read keeps its last value."""
        try:
            self._power_supply = await self.miner.read_power_supply()
        except MinerHubError as err:
            LOGGER.debug("%s: power supply not read: %s", self.name, err)
        try:
            self._errors = await self.miner.read_errors()
        except MinerHubError as err:
            LOGGER.debug("%s: error codes not read: %s", self.name, err)

    async def _check_firmware(self) -> None:
        """The vendor's newest firmware; a failed check keeps the last answer."""
        try:
            self.latest_firmware = await self.miner.latest_firmware()
        except MinerHubError as err:
            LOGGER.debug("%s: latest firmware not read: %s", self.name, err)
            return
        self.async_update_listeners()

    def _boot_time(self, status: MinerStatus, now: datetime) -> datetime | None:
        """Boot time from the uptime, stable across polls of the same boot."""
        if status.uptime_s is None or not 0 <= status.uptime_s <= MAX_UPTIME_S:
            return self._booted_at  # unknown, or garbage no datetime can hold
        booted_at = (now - timedelta(seconds=status.uptime_s)).replace(microsecond=0)
        previous = self._booted_at
        if previous is not None and abs(booted_at - previous) < BOOT_TIME_TOLERANCE:
            return previous
        return booted_at

    async def _refresh_info(self) -> None:
        """Re-read the miner's identity and update the device (firmware version)."""
        info = await self._read(self.miner.read_info)
        if info.mac != self.info.mac:
            raise translated(UpdateFailed, "wrong_device", mac=info.mac)
        self.info = info
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, info.mac), self.config_entry.entry_id
        )
        if device is not None:
            registry.async_update_device(
                device.id,
                sw_version=info.firmware_version,
                hw_version=info.hardware_version,
                model=info.model,
            )

    # --- write access and its repair issue -----------------------------------

    def _set_write_access(self, access: WriteAccess) -> None:
        """Keep the repair issue in sync; UNKNOWN (old firmware) changes nothing."""
        self.write_access = access
        issue_id = f"{ISSUE_WRITE_API_DISABLED}_{self.config_entry.entry_id}"
        if access is WriteAccess.ENABLED:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
        if access is not WriteAccess.DISABLED:
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_WRITE_API_DISABLED,
            translation_placeholders={
                "name": self.config_entry.title,
                "host": self.miner.host,
            },
        )

    # --- commands -----------------------------------------------------------

    async def async_set_mining(self, mining: bool) -> None:
        """Start or stop mining."""
        await self._async_command(lambda: self.miner.set_mining(mining))

    async def async_set_power_percent(
        self, percent: int, mode: PowerPercentMode = PowerPercentMode.NORMAL
    ) -> None:
        """Run at a percentage of full power; remembered once accepted."""

        async def set_and_remember() -> None:
            await self.miner.set_power_percent(percent, mode)
            self.accepted_power_percent = percent
            self.async_update_listeners()  # shown now, also within the cooldown

        await self._async_command(set_and_remember)

    async def async_set_power_limit(self, watts: int) -> None:
        """Set the upper power limit (mining restarts)."""
        await self._async_command(lambda: self.miner.set_power_limit(watts))

    async def async_set_power_mode(self, mode: PowerMode) -> None:
        """Switch the power mode (mining restarts)."""
        await self._async_command(lambda: self.miner.set_power_mode(mode))

    async def async_set_autotune_mode(self, mode: AutoTuneMode) -> None:
        """Choose the auto-tune profile (cgminer restarts)."""
        await self._async_command(lambda: self.miner.set_autotune_mode(mode))

    async def async_set_pools(self, pools: Sequence[PoolConfig]) -> None:
        """Configure the pools, in priority order."""
        await self._async_command(lambda: self.miner.set_pools(pools))

    async def async_reboot(self) -> None:
        """Restart the whole miner."""
        await self._async_command(self.miner.reboot)

    async def async_restart_mining(self) -> None:
        """Restart the mining service."""
        await self._async_command(self.miner.restart_mining)

    async def async_identify(self, on: bool, *, refresh: bool = True) -> None:
        """Flash the LED so the miner can be found, or give it back.

        ``refresh=False`` when the caller goes away (an entity being removed).
        """
        await self._async_command(lambda: self.miner.identify(on), refresh=refresh)

    async def async_power_off(self) -> None:
        """Power off for good (only a power cycle brings the miner back)."""
        await self._async_command(self.miner.power_off)

    async def async_pre_power_on(self) -> PrePowerOnStatus:
        """Start (or poll) pre-heating before mining starts."""
        return await self._async_command(self.miner.pre_power_on)

    async def async_install_firmware(self, release: FirmwareRelease) -> None:
        """Make the miner fetch and install a firmware; it reboots afterwards."""
        await self._async_command(lambda: self.miner.install_firmware(release))

    def _command_failed(self, err: MinerHubError) -> HomeAssistantError:
        """Follow what a failed command tells about the miner; the error to raise."""
        match err:
            case WriteApiDisabled():
                self._set_write_access(WriteAccess.DISABLED)
            case AuthFailed():
                self.config_entry.async_start_reauth(self.hass)
            case NoReply():
                self.hass.async_create_task(self.async_request_refresh())
            case ConnectionFailed():
                self.last_update_success = False
                self.async_update_listeners()
        return miner_command_error(err, self.miner.host)

    def _command_done(self) -> None:
        if self.write_access is not WriteAccess.ENABLED:
            self._set_write_access(WriteAccess.ENABLED)
