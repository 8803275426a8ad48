"""Polling and commands of a miner (what a pool's shares: ``coordinator_base``).

Data flows one way: a poll reads the device through the protocol layer and the
entities show what it returned. Every command, whoever sends it (an entity, an
action, Assist), is a method of the coordinator; what a command leaves behind
(the power percent a miner accepted but does not report) lives here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    ConfigEntryNotReady,
    HomeAssistantError,
)
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util

from .changes import MinerRequests, async_send, is_current
from .const import (
    API_REDETECT_INTERVAL,
    CONF_POWER_FLOOR,
    CONF_SCAN_INTERVAL,
    DEFAULT_POWER_FLOOR,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    FIRMWARE_CHECK_INTERVAL,
    LOGGER,
    REFRESH_COOLDOWN_S,
    SLOW_READ_INTERVAL,
)
from .coordinator_base import MinerHubCoordinator
from .governor import (
    STORE_VERSION,
    Change,
    ChangeKind,
    CommandGovernor,
    GovernorRules,
    Origin,
    Verdict,
    store_key,
)
from .helpers import (
    async_follow_api_change,
    async_get_gate,
    async_sync_write_access_issue,
    boot_time,
    miner_command_error,
    translated,
)
from .power import MAX_PERCENT, FullPower
from .profile import FullPowerKeeper, ProfileKeeper
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
    Capability,
    FirmwareRelease,
    MinerError,
    MinerInfo,
    MinerStatus,
    PowerSupplyStatus,
    PrePowerOnStatus,
    WriteAccess,
)


@dataclass(frozen=True, slots=True)
class MinerData:
    """What the entities show."""

    status: MinerStatus
    power_supply: PowerSupplyStatus | None
    errors: tuple[MinerError, ...] | None  # None: not reported by this firmware
    booted_at: datetime | None


class MinerCoordinator(MinerHubCoordinator[MinerData], MinerRequests):
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
        self.profile = ProfileKeeper(hass, entry)
        # Setup's checks passed; until then ``info`` is the profile's (it was off).
        self.identified = False
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
        self._change_listeners: list[Callable[[Change, Origin], None]] = []
        # Changes sent, and how many of them the last data was read after: until
        # a poll has shown their effect, the data tells nothing is already so.
        self._changes_sent = 0
        self._changes_polled = 0
        self.full_power = FullPower(
            entry.options.get(CONF_POWER_FLOOR, DEFAULT_POWER_FLOOR)
        )
        # Kept across restarts: a miner paused overnight can be resumed at dawn.
        self._full_power_kept = FullPowerKeeper(hass, entry.entry_id, self.full_power)
        # Whether its heater (the climate entity) is in Heat: budgets leave it be.
        self.heating = False
        self.governor = CommandGovernor(
            hass,
            name=entry.title,
            rules=GovernorRules.from_options(entry.options),
            store=Store(hass, STORE_VERSION, store_key(entry.entry_id)),
            send=self._async_send_change,
            is_current=self._is_current,
            reachable=lambda: self.last_update_success,
        )

    @property
    def polled(self) -> MinerData | None:
        """The last poll's data; None until a miner set up from its profile answers."""
        return self.data

    @property
    def _status(self) -> MinerStatus | None:
        return None if (data := self.polled) is None else data.status

    @property
    def power_percent(self) -> int:
        """The percent the miner runs at (``_percent_running``)."""
        return self._percent_running(self._status)

    @property
    def known_power_percent(self) -> int | None:
        """The percent the miner reported or accepted; None: only assumed.

        What a command is compared with: an assumed 100 % is sent again.
        """
        return self._percent_of(self._status)

    def _percent_of(self, status: MinerStatus | None) -> int | None:
        reported = None if status is None else status.power_percent
        return self.accepted_power_percent if reported is None else reported

    def _percent_running(self, status: MinerStatus | None) -> int:
        """The percent the miner runs at.

        What it reports; API v2 reports nothing: the last percent it accepted
        since it booted, else 100, the firmware's value after a boot.
        """
        percent = self._percent_of(status)
        return MAX_PERCENT if percent is None else percent

    @property
    def power_target_w(self) -> int | None:
        """The power the miner runs toward (W): 0 while it does not mine."""
        status = self._status
        if status is not None and status.mining is False:
            return 0
        watts = self.full_power.watts_at(self._percent_running(status))
        return None if watts is None else round(watts)

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

    async def async_config_entry_first_refresh(self) -> None:
        """Read the miner once; one that does not answer starts from its profile.

        Unavailable then, polled on: the first poll it answers runs setup's checks.
        """
        try:
            await super().async_config_entry_first_refresh()
        except ConfigEntryNotReady:
            if not self.profile.in_use:
                raise

    async def _async_setup(self) -> None:
        """Identify the miner, learn whether it accepts writes, take up held changes.

        One that does not answer takes its profile's identity (if it has one).
        """
        await self.governor.async_load()
        await self._full_power_kept.async_load()
        await self.profile.async_load()
        self.config_entry.async_on_unload(
            self.async_add_listener(self._async_apply_held_changes)
        )
        await self._follow_api_change()
        try:
            await self._identify(await self._read(self.miner.read_info))
        except UpdateFailed as err:
            if (info := self.profile.offline_info(err)) is not None:
                self.info = info  # set up from its profile: the first refresh ends
            raise

    async def _identify(self, info: MinerInfo) -> None:
        """Setup's checks: the entry's miner answers, and takes the password."""
        self._take_info(info)
        self._set_write_access(await self._read(self.miner.check_access))
        self.identified = True

    def _take_info(self, info: MinerInfo) -> None:
        """The identity the miner answered with (another device's is refused)."""
        self.profile.identified(info, self.miner.capabilities)
        self.info = info

    @callback
    def _async_apply_held_changes(self) -> None:
        """After a good poll (its data stored), apply changes held meanwhile.

        They fell due while the miner could not be reached; the data they are
        checked against is this poll's.
        """
        if self.last_update_success and self.governor.has_due():
            self.config_entry.async_create_background_task(
                self.hass, self.governor.async_apply_due(), f"{self.name} held changes"
            )

    async def _async_update_data(self) -> MinerData:
        changes_sent = self._changes_sent
        # Polls whose timers fall due together start one per loop iteration.
        await self._gate.take_turn()
        if not self.identified:  # set up from its profile: setup's checks now
            info = await self._read(partial(self._redetecting, self.miner.read_info))
            await self._reload_on_api_change()
            await self._identify(info)
        async with self.miner.reads():
            read_status = partial(self._redetecting, self.miner.read_status)
            status = await self._read(read_status)
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
        booted_at = boot_time(status.uptime_s, now, self._booted_at)
        if self._booted_at is not None and booted_at != self._booted_at:
            # A reboot may bring new firmware, or another device at this address.
            await self._reload_on_api_change()
            self._take_info(await self._read(self.miner.read_info))
            if self.accepted_power_percent is not None:
                self.accepted_power_percent = 100  # the firmware forgets it at boot
        self._booted_at = booted_at
        await self._gate.take_turn()  # the entities are written when this returns
        self._changes_polled = changes_sent
        self.full_power.observe(
            power_w=status.power_w,
            percent=self._percent_running(status),
            mining=status.mining,
            power_limit_w=status.power_limit_w,
            now=now,
        )
        self._full_power_kept.save()
        return MinerData(status, self._power_supply, self._errors, booted_at)

    async def async_shutdown(self) -> None:
        """Stop polling and the governor's timer (held changes stay stored)."""
        self.governor.async_shutdown()
        await self.profile.async_flush()
        await super().async_shutdown()

    async def _redetecting[T](self, read: Callable[[], Awaitable[T]]) -> T:
        try:
            return await read()
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
            self.profile.api_changed()
            self.hass.config_entries.async_schedule_reload(self.config_entry.entry_id)

    async def _follow_api_change(self) -> bool:
        """Whether a Whatsminer now speaks another API (the client is replaced)."""
        miner = await async_follow_api_change(self.hass, self.config_entry)
        if miner is None:
            return False
        self.miner = miner
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

    # --- write access and its repair issue -----------------------------------

    def _set_write_access(self, access: WriteAccess) -> None:
        """Keep the repair issue in sync; UNKNOWN (old firmware) changes nothing."""
        self.write_access = access
        async_sync_write_access_issue(
            self.hass, self.config_entry, self.miner.host, access
        )

    # --- commands -----------------------------------------------------------
    # Changes that stop, start or restart mining or the miner, and power percent,
    # go through the governor (MinerRequests); identify and pre-heating act at once.

    async def async_identify(self, on: bool, *, refresh: bool = True) -> None:
        """Flash the LED so the miner can be found, or give it back.

        ``refresh=False`` when the caller goes away (an entity being removed).
        """
        await self._async_command(lambda: self.miner.identify(on), refresh=refresh)

    async def async_pre_power_on(self) -> PrePowerOnStatus:
        """Start (or poll) pre-heating before mining starts."""
        return await self._async_command(self.miner.pre_power_on)

    @callback
    def async_add_change_listener(
        self, listener: Callable[[Change, Origin], None]
    ) -> CALLBACK_TYPE:
        """Be told of every change asked for (the heater yields to others)."""
        self._change_listeners.append(listener)
        return partial(self._change_listeners.remove, listener)

    async def _async_govern(
        self,
        kind: ChangeKind,
        value: Any,
        force: bool,
        origin: Origin = Origin.ANYONE,
    ) -> Verdict:
        change = Change(kind, value, dt_util.utcnow())
        for listener in list(self._change_listeners):
            listener(change, origin)
        return await self.governor.async_request(change, force=force)

    async def _async_send_change(self, change: Change) -> None:
        """Apply a change the governor lets through."""

        async def send() -> None:
            self._changes_sent += 1
            self.full_power.changed(dt_util.utcnow())
            await async_send(self.miner, change)
            if change.kind is ChangeKind.POWER_PERCENT:
                self.accepted_power_percent = change.value["percent"]
                self.async_update_listeners()  # shown now, also within the cooldown

        await self._async_command(send)

    def _is_mining(self) -> bool | None:
        return None if (status := self._status) is None else status.mining

    def _runs_at(self, percent: int) -> bool:
        return (
            self._is_mining() is True
            and self.known_power_percent == percent
            and not self.governor.held()
        )

    def _is_current(self, change: Change) -> bool:
        if not self.last_update_success or self._changes_polled < self._changes_sent:
            return False  # not known (no poll since the last change): made
        return is_current(change, self.data.status)

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
