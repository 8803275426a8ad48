"""Config flow: add a miner or a pool account, reauthenticate, reconfigure, options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlowWithReload
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
import probatio

from . import MinerHubConfigEntry
from .const import (
    CONF_API,
    CONF_API_URL,
    CONF_COIN,
    CONF_KIND,
    CONF_PRIVATE_KEY,
    CONF_SUBACCOUNT,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
    LOGGER,
)
from .forms import (
    DRAGONMINT_SCHEMA,
    OPTION_DEFAULTS,
    OPTIONS_SCHEMAS,
    POOL_OPTIONS_SCHEMA,
    REAUTH_SCHEMA,
    RECONFIGURE_SCHEMAS,
    SPIDERPOOL_REAUTH_SCHEMA,
    SPIDERPOOL_RECONFIGURE_SCHEMA,
    SPIDERPOOL_SCHEMA,
    WHATSMINER_SCHEMA,
    flat,
    pool_api_url,
    pool_keys,
    title,
    without_secrets,
)
from .helpers import async_detect_whatsminer_api, create_miner, create_pool_client
from .prices import price_errors
from .protocol.errors import AuthFailed, CommandRejected, MinerHubError, RateLimited
from .protocol.models import MinerInfo
from .protocol.spiderpool.client import DEFAULT_BASE_URL
from .protocol.spiderpool.crypto import InvalidPrivateKey
from .protocol.validation import is_host
from .search import STEP_SEARCH, SearchFlow


async def _validate(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> tuple[MinerInfo, dict[str, Any]]:
    """Read the miner as the integration will, and prove the password.

    A Whatsminer's API is detected first (v3 on port 4433, else v2) and stored
    with the entry: the returned data includes it.
    """
    checked = dict(data)
    if checked.get(CONF_KIND) == KIND_WHATSMINER:
        api = await async_detect_whatsminer_api(hass, checked)
        checked[CONF_API] = api.value
    miner = create_miner(hass, checked)
    info = await miner.read_info()
    await miner.read_status()
    await miner.check_access()
    return info, checked


async def _validate_pool(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """Sign a real read (the profit info) with the keys, for the sub-account.

    The private key is parsed when the client is made, before any request.
    """
    client = create_pool_client(hass, data)
    if not client.access_key:
        # The pool would answer a parameter error; it is the key that is wrong.
        raise AuthFailed("no access key", command="getSubaccountProfitInfo")
    await client.get_profit_info(data[CONF_COIN], data[CONF_SUBACCOUNT])


def _is_pool(data: Mapping[str, Any]) -> bool:
    return data.get(CONF_KIND) == KIND_SPIDERPOOL


def _pool_unique_id(data: Mapping[str, Any]) -> str:
    """``<coin>_<subaccount>``: sub-account names are unique on the pool."""
    return f"{data[CONF_COIN]}_{data[CONF_SUBACCOUNT]}"


class MinerHubConfigFlow(SearchFlow, domain=DOMAIN):
    """Add a Whatsminer, a DragonMint or a Spiderpool account (or search miners)."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: MinerHubConfigEntry) -> OptionsFlowHandler:
        """A miner's polling and rules, a pool account's prices."""
        return OptionsFlowHandler()

    async def _check(
        self, data: Mapping[str, Any]
    ) -> tuple[MinerInfo | None, dict[str, Any], dict[str, str]]:
        """Validate: the miner's info and the data to store, or the form's errors."""
        host = str(data[CONF_HOST]).strip()
        if not is_host(host):  # e.g. a pasted http://192.168.1.50/
            return None, {}, {CONF_HOST: "invalid_host"}
        data = {**data, CONF_HOST: host}
        try:
            info, checked = await _validate(self.hass, data)
        except AuthFailed:
            # Each kind's own advice (a DragonMint needs its admin account).
            dragonmint = data.get(CONF_KIND) == KIND_DRAGONMINT
            error = "invalid_auth_dragonmint" if dragonmint else "invalid_auth"
            return None, {}, {"base": error}
        except RateLimited:
            # Whatsminer code 136: every login attempt took a token slot.
            return None, {}, {"base": "too_many_logins"}
        except MinerHubError as err:
            LOGGER.debug("Cannot reach the miner at %s: %s", data[CONF_HOST], err)
            return None, {}, {"base": "cannot_connect"}
        except Exception:
            LOGGER.exception("Unexpected error while checking the miner")
            return None, {}, {"base": "unknown"}
        return info, checked, {}

    async def _check_pool(self, data: Mapping[str, Any]) -> dict[str, str]:
        """Validate a pool account; the form's errors (none: the keys work)."""
        try:
            await _validate_pool(self.hass, data)
        except InvalidPrivateKey:
            return {CONF_PRIVATE_KEY: "invalid_private_key"}
        except AuthFailed as err:
            LOGGER.debug("Spiderpool rejected the keys: %s", err)
            return {"base": "invalid_pool_keys"}
        except CommandRejected as err:
            # The sub-account does not exist, or not for this coin (an unknown
            # coin is a parameter error too).
            LOGGER.debug("Spiderpool refused the sub-account: %s", err)
            return {"base": "subaccount_not_found"}
        except MinerHubError as err:
            # Unreachable, server errors, rate limits, unreadable replies.
            LOGGER.debug("Cannot reach Spiderpool: %s", err)
            return {"base": "cannot_connect_pool"}
        except Exception:
            LOGGER.exception("Unexpected error while checking the Spiderpool account")
            return {"base": "unknown"}
        return {}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask what to add; a search of the network comes first."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[
                STEP_SEARCH,
                KIND_WHATSMINER,
                KIND_DRAGONMINT,
                KIND_SPIDERPOOL,
            ],
        )

    async def async_step_dragonmint(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Address and admin account of a DragonMint / Innosilicon miner."""
        return await self._async_step_miner(
            KIND_DRAGONMINT, DRAGONMINT_SCHEMA, user_input
        )

    async def async_step_spiderpool(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Access key, private key, coin and sub-account of a Spiderpool account."""
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        if user_input is not None:
            values = {
                **pool_keys(user_input),
                CONF_COIN: user_input[CONF_COIN].strip().lower(),
                CONF_SUBACCOUNT: user_input[CONF_SUBACCOUNT].strip(),
            }
            try:
                if api_url := pool_api_url(flat(user_input)):
                    values[CONF_API_URL] = api_url
            except ValueError:
                errors = {CONF_API_URL: "invalid_api_url"}
            else:
                data = {CONF_KIND: KIND_SPIDERPOOL, **values}
                # Known before any request: an account already added costs no call.
                await self.async_set_unique_id(_pool_unique_id(data))
                self._abort_if_unique_id_configured()
                errors = await self._check_pool(data)
                if not errors:
                    title = f"{data[CONF_SUBACCOUNT]} ({data[CONF_COIN].upper()})"
                    return self.async_create_entry(title=title, data=data)
        return self.async_show_form(
            step_id=KIND_SPIDERPOOL,
            data_schema=self.add_suggested_values_to_schema(
                SPIDERPOOL_SCHEMA, without_secrets({**(user_input or {}), **values})
            ),
            errors=errors,
            # The advanced section's API address: hassfest allows no URL in strings.
            description_placeholders={"default_url": DEFAULT_BASE_URL},
        )

    async def async_step_whatsminer(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Address and admin password of a Whatsminer."""
        return await self._async_step_miner(
            KIND_WHATSMINER, WHATSMINER_SCHEMA, user_input
        )

    async def _async_step_miner(
        self, kind: str, schema: probatio.Schema, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Validate the miner, then create its entry (or update the known one).

        A miner picked from a search comes with its address filled in.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            info, data, errors = await self._check(
                {CONF_KIND: kind, **flat(user_input)}
            )
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_configured(
                    updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
                )
                return self.async_create_entry(title=title(info), data=data)
        return self.async_show_form(
            step_id=kind,
            data_schema=self.add_suggested_values_to_schema(
                schema, without_secrets(user_input or self.found_values)
            ),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """The miner rejected the stored password, or the pool the stored keys."""
        if _is_pool(entry_data):
            return await self.async_step_reauth_spiderpool()
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the current password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            info, data, errors = await self._check({**entry.data, **user_input})
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reauth_spiderpool(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for new keys of the same pool sub-account."""
        entry = self._get_reauth_entry()
        return await self._async_steppool_keys(
            "reauth_spiderpool", SPIDERPOOL_REAUTH_SCHEMA, entry, user_input
        )

    async def _async_steppool_keys(
        self,
        step_id: str,
        schema: probatio.Schema,
        entry: MinerHubConfigEntry,
        user_input: dict[str, Any] | None,
        *,
        keep_stored_private_key: bool = False,
    ) -> ConfigFlowResult:
        """New keys for a pool entry, validated; the rest of the entry stays.

        Coin and sub-account identify the entry; the API address (``api_url``,
        never in a form) is kept too.
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = pool_keys(
                user_input, keep_stored_private_key=keep_stored_private_key
            )
            data = {**entry.data, **updates}
            errors = await self._check_pool(data)
            if not errors:
                await self.async_set_unique_id(_pool_unique_id(data))
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data_updates=updates)
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, without_secrets(user_input or entry.data)
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change address, port or password of the same miner."""
        entry = self._get_reconfigure_entry()
        if _is_pool(entry.data):
            return await self.async_step_reconfigure_spiderpool(user_input)
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {key: value for key, value in user_input.items() if value}
            info, data, errors = await self._check({**entry.data, **updates})
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMAS[entry.data.get(CONF_KIND, KIND_WHATSMINER)],
                without_secrets(user_input or entry.data),
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reconfigure_spiderpool(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """New keys for the same sub-account; without a private key, it stays."""
        entry = self._get_reconfigure_entry()
        return await self._async_steppool_keys(
            "reconfigure_spiderpool",
            SPIDERPOOL_RECONFIGURE_SCHEMA,
            entry,
            user_input,
            keep_stored_private_key=True,
        )


class OptionsFlowHandler(OptionsFlowWithReload):
    """A miner's polling interval, governor rules and (Whatsminer) heater.

    A pool account's options are the prices its miners' money figures use.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the options; the entry reloads to apply them."""
        if _is_pool(self.config_entry.data):
            return await self.async_step_prices()
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        kind = self.config_entry.data.get(CONF_KIND, KIND_WHATSMINER)
        values = {**OPTION_DEFAULTS, **self.config_entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMAS[kind], values
            ),
            description_placeholders={"name": self.config_entry.title},
        )

    async def async_step_prices(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A pool account's electricity and bitcoin price entities."""
        errors: dict[str, str] = {}
        if user_input is not None and not (
            errors := price_errors(self.hass, user_input)
        ):
            return self.async_create_entry(data=user_input)
        return self.async_show_form(
            step_id="prices",
            data_schema=self.add_suggested_values_to_schema(
                POOL_OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            errors=errors,
            description_placeholders={
                "name": self.config_entry.title,
                "currency": self.hass.config.currency,
            },
        )
