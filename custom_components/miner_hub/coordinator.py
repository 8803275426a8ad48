"""Polling and commands for one miner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Concatenate, NoReturn

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import (
    ConfigEntryAuthFailed,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    API_REDETECT_INTERVAL,
    BOOT_TIME_TOLERANCE,
    CONF_ACCOUNT,
    CONF_API,
    CONF_KIND,
    CONF_SCAN_INTERVAL,
    CONF_V3_PORT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    FIRMWARE_CHECK_INTERVAL,
    ISSUE_WRITE_API_DISABLED,
    KIND_DRAGONMINT,
    KIND_WHATSMINER,
    LOGGER,
    MAX_UPTIME_S,
    REFRESH_COOLDOWN_S,
    SLOW_READ_INTERVAL,
)
from .protocol.dragonmint.miner import DragonMintMiner
from .protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    MinerHubError,
    NoReply,
    RateLimited,
    Unreachable,
    UnsupportedCommand,
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
    WriteAccess,
)
from .protocol.pacing import take_turn
from .protocol.whatsminer.detect import WhatsminerApi, detect_api, whatsminer
from .protocol.whatsminer.v3 import DEFAULT_ACCOUNT as V3_ACCOUNT

if TYPE_CHECKING:
    from .pool_coordinator import PoolCoordinator

type MinerHubConfigEntry = ConfigEntry[MinerCoordinator | PoolCoordinator]


def create_miner(hass: HomeAssistant, data: Mapping[str, Any]) -> Miner:
    """The protocol client for a config entry's data."""
    if data.get(CONF_KIND) == KIND_DRAGONMINT:
        return DragonMintMiner(
            async_get_clientsession(hass),
            data[CONF_HOST],
            data[CONF_PORT],
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
        )
    return whatsminer(
        WhatsminerApi(data.get(CONF_API, WhatsminerApi.V2)),
        data[CONF_HOST],
        data[CONF_PORT],
        data[CONF_PASSWORD],
        account=data.get(CONF_ACCOUNT, V3_ACCOUNT),
        v3_port=data.get(CONF_V3_PORT),
    )


@dataclass(frozen=True, slots=True)
class MinerData:
    """What the entities show."""

    status: MinerStatus
    power_supply: PowerSupplyStatus | None
    errors: tuple[MinerError, ...] | None  # None: not reported by this firmware
    booted_at: datetime | None


def _error(key: str, **placeholders: str) -> dict[str, Any]:
    return {
        "translation_domain": DOMAIN,
        "translation_key": key,
        "translation_placeholders": placeholders or None,
    }


class MinerCoordinator(DataUpdateCoordinator[MinerData]):
    """Polls one miner and runs its commands."""

    config_entry: MinerHubConfigEntry
    info: MinerInfo

    def __init__(
        self, hass: HomeAssistant, entry: MinerHubConfigEntry, miner: Miner
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
        self.write_access = WriteAccess.UNKNOWN
        self._slow_reads_due: datetime | None = None
        self._power_supply: PowerSupplyStatus | None = None
        self._errors: tuple[MinerError, ...] | None = None
        self._booted_at: datetime | None = None
        self._redetect_due: datetime | None = None
        self.latest_firmware: FirmwareRelease | None = None
        self._firmware_check_due: datetime | None = None

    async def _read[T](self, read: Callable[[], Awaitable[T]]) -> T:
        """Run a read; wrong credentials start reauth, anything else fails the poll."""
        try:
            return await read()
        except AuthFailed as err:
            raise ConfigEntryAuthFailed(**_error("invalid_auth")) from err
        except MinerHubError as err:
            raise UpdateFailed(**_error("communication_error", error=str(err))) from err

    async def _async_setup(self) -> None:
        """Identify the miner and learn whether it accepts writes."""
        await self._follow_api_change()
        self.info = await self._read(self.miner.read_info)
        if self.info.mac != self.config_entry.unique_id:
            # Another device answers at this address (DHCP gave the IP away).
            raise UpdateFailed(**_error("wrong_device", mac=self.info.mac))
        self._set_write_access(await self._read(self.miner.check_access))

    async def _async_update_data(self) -> MinerData:
        # Polls whose timers fall due together start one per loop iteration.
        await take_turn()
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
        await take_turn()  # the entities are written when this returns
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
            api = await detect_api(
                data[CONF_HOST], data[CONF_PORT], data.get(CONF_V3_PORT)
            )
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
            raise UpdateFailed(**_error("wrong_device", mac=info.mac))
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

    # --- commands ------------------------------------------------------------

    async def async_command[**P, T](
        self,
        command: Callable[Concatenate[Miner, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run a command on the miner, translating errors; refresh afterwards.

        Nothing is retried: a command whose outcome is unknown is reported.
        """
        try:
            result = await command(self.miner, *args, **kwargs)
        except MinerHubError as err:
            self._raise_command_error(err)
        if self.write_access is not WriteAccess.ENABLED:
            self._set_write_access(WriteAccess.ENABLED)
        await self.async_request_refresh()
        return result

    def _raise_command_error(self, err: MinerHubError) -> NoReturn:
        match err:
            case InvalidParameter():
                raise ServiceValidationError(
                    **_error("invalid_value", error=str(err))
                ) from err
            case WriteApiDisabled():
                self._set_write_access(WriteAccess.DISABLED)
                raise HomeAssistantError(
                    **_error("write_api_disabled", host=self.miner.host)
                ) from err
            case AuthFailed():
                self.config_entry.async_start_reauth(self.hass)
                raise HomeAssistantError(**_error("invalid_auth")) from err
            case NoReply():
                self.hass.async_create_task(self.async_request_refresh())
                raise HomeAssistantError(
                    **_error("no_reply", command=err.command)
                ) from err
            case UnsupportedCommand():
                raise HomeAssistantError(**_error("unsupported_command")) from err
            case CommandRejected():
                raise HomeAssistantError(
                    **_error("command_rejected", error=str(err))
                ) from err
            case RateLimited():
                raise HomeAssistantError(**_error("rate_limited")) from err
            case ConnectionFailed():
                self.last_update_success = False
                self.async_update_listeners()
                raise HomeAssistantError(
                    **_error("communication_error", error=str(err))
                ) from err
        raise HomeAssistantError(**_error("unknown_error", error=str(err))) from err
