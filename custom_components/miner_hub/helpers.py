"""What the coordinators, the config flow and the actions share.

The protocol objects of a config entry's data, built with the Home Assistant
instance's gate and HTTP session, and the one translation of protocol errors into
Home Assistant's: commands sent to a miner and to a pool account each have their
mapping here, polls theirs in the coordinators.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import re
from typing import Any, Final

from homeassistant.components.diagnostics import REDACTED
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .const import (
    BOOT_TIME_TOLERANCE,
    CONF_ACCESS_KEY,
    CONF_ACCOUNT,
    CONF_API,
    CONF_API_URL,
    CONF_KIND,
    CONF_PRIVATE_KEY,
    CONF_V3_PORT,
    DOMAIN,
    ISSUE_WRITE_API_DISABLED,
    KIND_DRAGONMINT,
    KIND_WHATSMINER,
    LOGGER,
    MAX_UPTIME_S,
)
from .protocol.dragonmint.adapter import DragonMintMiner
from .protocol.dragonmint.client import DragonMintClient
from .protocol.errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    InvalidParameter,
    MinerHubError,
    NoReply,
    RateLimited,
    ServiceNotRunning,
    Unreachable,
    UnsupportedCommand,
    WriteApiDisabled,
)
from .protocol.gate import Gate
from .protocol.miner import Miner
from .protocol.models import MinerInfo, WriteAccess
from .protocol.spiderpool.client import DEFAULT_BASE_URL, SpiderpoolClient
from .protocol.whatsminer.detect import WhatsminerApi, detect_api, whatsminer
from .protocol.whatsminer.v3.transport import DEFAULT_ACCOUNT as V3_ACCOUNT

GATE: Final[HassKey[Gate]] = HassKey(f"{DOMAIN}_gate")


class OutcomeUnknownError(HomeAssistantError):
    """A command was sent and not answered: it may or may not have taken effect.

    Never sent again: whoever catches this confirms the effect by polling.
    """


class MinerUnavailableError(HomeAssistantError):
    """A command was not sent: the miner could not be reached."""


def translated[E: HomeAssistantError](
    exception: type[E], key: str, /, **placeholders: str
) -> E:
    """A Home Assistant error whose message is Miner Hub's translation ``key``."""
    return exception(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )


@callback
def async_get_gate(hass: HomeAssistant) -> Gate:
    """The gate every Miner Hub client of this Home Assistant shares (one, ever)."""
    if (gate := hass.data.get(GATE)) is None:
        gate = hass.data[GATE] = Gate()
    return gate


def create_miner(hass: HomeAssistant, data: Mapping[str, Any]) -> Miner:
    """The protocol adapter of a miner entry's data."""
    if data.get(CONF_KIND) == KIND_DRAGONMINT:
        return DragonMintMiner(
            DragonMintClient(
                async_get_clientsession(hass),
                data[CONF_HOST],
                data[CONF_PORT],
                data[CONF_USERNAME],
                data[CONF_PASSWORD],
            )
        )
    return whatsminer(
        WhatsminerApi(data.get(CONF_API, WhatsminerApi.V2)),
        data[CONF_HOST],
        data[CONF_PORT],
        data[CONF_PASSWORD],
        account=data.get(CONF_ACCOUNT, V3_ACCOUNT),
        v3_port=data.get(CONF_V3_PORT),
        gate=async_get_gate(hass),
    )


async def async_detect_whatsminer_api(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> WhatsminerApi:
    """Which API the Whatsminer of an entry's data speaks now."""
    return await detect_api(
        data[CONF_HOST],
        data[CONF_PORT],
        data.get(CONF_V3_PORT),
        gate=async_get_gate(hass),
    )


def create_pool_client(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> SpiderpoolClient:
    """The signed client of a pool entry's data (the key is parsed once)."""
    return SpiderpoolClient(
        async_get_clientsession(hass),
        data[CONF_ACCESS_KEY],
        data[CONF_PRIVATE_KEY],
        base_url=data.get(CONF_API_URL, DEFAULT_BASE_URL),
        gate=async_get_gate(hass),
    )


def miner_command_error(err: MinerHubError, host: str) -> HomeAssistantError:
    """The translated error of a command a miner did not carry out."""
    error: type[HomeAssistantError] = HomeAssistantError
    placeholders = {"error": str(err)}
    match err:
        case InvalidParameter():
            error, key = ServiceValidationError, "invalid_value"
        case WriteApiDisabled():
            key, placeholders = "write_api_disabled", {"host": host}
        case AuthFailed():
            key, placeholders = "invalid_auth", {}
        case NoReply():
            error, key = OutcomeUnknownError, "no_reply"
            placeholders = {"command": err.command}
        case UnsupportedCommand():
            key, placeholders = "unsupported_command", {}
        case CommandRejected():
            key = "command_rejected"
        case RateLimited():
            key, placeholders = "rate_limited", {}
        case ConnectionFailed():
            error, key = MinerUnavailableError, "communication_error"
        case _:
            key = "unknown_error"
    return translated(error, key, **placeholders)


def pool_command_error(err: MinerHubError) -> HomeAssistantError:
    """The translated error of a write a pool account did not carry out."""
    error: type[HomeAssistantError] = HomeAssistantError
    placeholders = {"error": str(err)}
    match err:
        case InvalidParameter() | CommandRejected():
            # Nothing was changed: the value itself was refused.
            error, key = ServiceValidationError, "pool_rejected"
        case AuthFailed():
            key, placeholders = "pool_auth_failed", {}
        case RateLimited():
            key, placeholders = "rate_limited_pool", {}
        case Unreachable() | ServiceNotRunning():
            key = "pool_error"  # not sent, or refused by the server: nothing changed
        case ConnectionFailed():
            # Sent, and no answer: it may have been applied. Not sent again.
            error, key, placeholders = OutcomeUnknownError, "pool_no_reply", {}
        case _:
            key = "pool_error"
    return translated(error, key, **placeholders)


async def async_follow_api_change(
    hass: HomeAssistant, entry: ConfigEntry[Any]
) -> Miner | None:
    """The new adapter when a Whatsminer now speaks another API, else None.

    After a firmware up- or downgrade the entry stores the new API, so a miner
    that moved to API v3 is not polled on its read-only v2 API forever. Its
    entities are dropped, and setup creates those the new API supports: the
    registry gives a re-created entity back its settings (ID, name, area).
    """
    data = entry.data
    if data.get(CONF_KIND, KIND_WHATSMINER) != KIND_WHATSMINER:
        return None
    try:
        api = await async_detect_whatsminer_api(hass, data)
    except MinerHubError:
        return None  # unreachable: the read that follows reports it
    if api == data.get(CONF_API, WhatsminerApi.V2):
        return None
    LOGGER.info("%s now speaks Whatsminer API %s", entry.title, api)
    new_data = {**data, CONF_API: api.value}
    hass.config_entries.async_update_entry(entry, data=new_data)
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        registry.async_remove(entity.entity_id)
    return create_miner(hass, new_data)


_URL_CREDENTIALS: Final = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@]+@")
# scheme://[credentials@]host[:port][/...]: the host and port.
_POOL_ADDRESS: Final = re.compile(
    r"^(?:[A-Za-z][A-Za-z0-9+.-]*://)?(?:[^/@]+@)?(?P<address>[^/?#@]+)"
)


def without_url_credentials(url: str) -> str:
    """scheme://user:password@host → scheme://**REDACTED**@host."""
    return _URL_CREDENTIALS.sub(rf"\g<scheme>{REDACTED}@", url)


def pool_address(url: str) -> str:
    """A pool's host:port from its URL (stratum+tcp://host:port); else the URL."""
    match = _POOL_ADDRESS.match(url.strip())
    return url if match is None else match["address"]


def boot_time(
    uptime_s: int | None, now: datetime, previous: datetime | None
) -> datetime | None:
    """Boot time from the uptime, stable across polls of the same boot."""
    if uptime_s is None or not 0 <= uptime_s <= MAX_UPTIME_S:
        return previous  # unknown, or garbage no datetime can hold
    booted_at = (now - timedelta(seconds=uptime_s)).replace(microsecond=0)
    if previous is not None and abs(booted_at - previous) < BOOT_TIME_TOLERANCE:
        return previous
    return booted_at


@callback
def async_update_device(
    hass: HomeAssistant, entry: ConfigEntry[Any], info: MinerInfo
) -> None:
    """Show a miner's new firmware (after a reboot) on its device."""
    registry = dr.async_get(hass)
    device = registry.async_get_device_by_identifier((DOMAIN, info.mac), entry.entry_id)
    if device is not None:
        registry.async_update_device(
            device.id,
            sw_version=info.firmware_version,
            hw_version=info.hardware_version,
            model=info.model,
        )


@callback
def async_sync_write_access_issue(
    hass: HomeAssistant, entry: ConfigEntry[Any], host: str, access: WriteAccess
) -> None:
    """The repair issue of a miner whose write API is off: raised, or cleared."""
    issue_id = f"{ISSUE_WRITE_API_DISABLED}_{entry.entry_id}"
    if access is WriteAccess.ENABLED:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
    if access is not WriteAccess.DISABLED:
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_WRITE_API_DISABLED,
        translation_placeholders={"name": entry.title, "host": host},
    )
