"""What the coordinators, the config flow and the actions share.

The protocol objects of a config entry's data, built with the Home Assistant
instance's gate and HTTP session, and the one translation of protocol errors into
Home Assistant's: commands sent to a miner and to a pool account each have their
mapping here, polls theirs in the coordinators.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .const import (
    CONF_ACCESS_KEY,
    CONF_ACCOUNT,
    CONF_API,
    CONF_API_URL,
    CONF_KIND,
    CONF_PRIVATE_KEY,
    CONF_V3_PORT,
    DOMAIN,
    KIND_DRAGONMINT,
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
from .protocol.spiderpool.client import DEFAULT_BASE_URL, SpiderpoolClient
from .protocol.whatsminer.detect import WhatsminerApi, detect_api, whatsminer
from .protocol.whatsminer.v3.transport import DEFAULT_ACCOUNT as V3_ACCOUNT

GATE: Final[HassKey[Gate]] = HassKey(f"{DOMAIN}_gate")


class OutcomeUnknownError(HomeAssistantError):
    """A command was sent and not answered: it may or may not have taken effect.

    Never sent again: whoever catches this confirms the effect by polling.
    """


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
            key = "communication_error"
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
