"""Config flow: add a miner or a pool account, reauthenticate, reconfigure, options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from .const import (
    CONF_KIND,
    CONF_SCAN_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_SPIDERPOOL,
    KIND_WHATSMINER,
    LOGGER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .coordinator import MinerHubConfigEntry, create_miner
from .protocol.dragonmint.client import (
    DEFAULT_PORT as DRAGONMINT_PORT,
    DEFAULT_USERNAME as DRAGONMINT_USERNAME,
)
from .protocol.errors import AuthFailed, MinerHubError
from .protocol.models import MinerInfo
from .protocol.whatsminer.v2 import DEFAULT_PORT as WHATSMINER_PORT

_PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_PORT_SELECTOR = probatio.All(
    NumberSelector(
        NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
    ),
    probatio.Coerce(int),
)
WHATSMINER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(),
        probatio.Required(CONF_PORT, default=WHATSMINER_PORT): _PORT_SELECTOR,
        probatio.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
    }
)
DRAGONMINT_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(),
        probatio.Required(CONF_PORT, default=DRAGONMINT_PORT): _PORT_SELECTOR,
        probatio.Required(CONF_USERNAME, default=DRAGONMINT_USERNAME): TextSelector(),
        probatio.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
    }
)
REAUTH_SCHEMA = probatio.Schema({probatio.Required(CONF_PASSWORD): _PASSWORD_SELECTOR})
RECONFIGURE_FIELDS = {
    probatio.Required(CONF_HOST): TextSelector(),
    probatio.Required(CONF_PORT): _PORT_SELECTOR,
}
# Left empty, the stored password stays.
_RECONFIGURE_PASSWORD = {probatio.Optional(CONF_PASSWORD): _PASSWORD_SELECTOR}
RECONFIGURE_SCHEMAS = {
    KIND_WHATSMINER: probatio.Schema({**RECONFIGURE_FIELDS, **_RECONFIGURE_PASSWORD}),
    # The account before its password, as in the dragonmint step.
    KIND_DRAGONMINT: probatio.Schema(
        {
            **RECONFIGURE_FIELDS,
            probatio.Required(CONF_USERNAME): TextSelector(),
            **_RECONFIGURE_PASSWORD,
        }
    ),
}


async def _validate(hass: HomeAssistant, data: Mapping[str, Any]) -> MinerInfo:
    """Read the miner as the integration will, and prove the password."""
    miner = create_miner(hass, data)
    info = await miner.read_info()
    await miner.read_status()
    await miner.check_access()
    return info


class MinerHubConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Whatsminer, a DragonMint or a Spiderpool account."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: MinerHubConfigEntry) -> OptionsFlowHandler:
        """The polling interval lives in the options."""
        return OptionsFlowHandler()

    async def _check(
        self, data: Mapping[str, Any]
    ) -> tuple[MinerInfo | None, dict[str, str]]:
        """Validate, returning the miner's info or the form's errors."""
        try:
            return await _validate(self.hass, data), {}
        except AuthFailed:
            return None, {"base": "invalid_auth"}
        except MinerHubError as err:
            LOGGER.debug("Cannot reach the miner at %s: %s", data[CONF_HOST], err)
            return None, {"base": "cannot_connect"}
        except Exception:
            LOGGER.exception("Unexpected error while checking the miner")
            return None, {"base": "unknown"}

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask what to add."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[KIND_WHATSMINER, KIND_DRAGONMINT, KIND_SPIDERPOOL],
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
        """Spiderpool accounts arrive with their own issue."""
        return self.async_abort(reason="not_supported")

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
        """Validate the miner, then create its entry (or update the known one)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {CONF_KIND: kind, **user_input}
            info, errors = await self._check(data)
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_configured(
                    updates={
                        CONF_HOST: user_input[CONF_HOST],
                        CONF_PORT: user_input[CONF_PORT],
                    }
                )
                return self.async_create_entry(title=_title(info), data=data)
        return self.async_show_form(
            step_id=kind,
            data_schema=self.add_suggested_values_to_schema(
                schema, _without_password(user_input)
            ),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """The miner rejected the stored password."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the current password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            info, errors = await self._check({**entry.data, **user_input})
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(
                    entry, data_updates=user_input
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={"name": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change address, port or password of the same miner."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            updates = {key: value for key, value in user_input.items() if value}
            info, errors = await self._check({**entry.data, **updates})
            if info is not None:
                await self.async_set_unique_id(info.mac)
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data_updates=updates)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMAS[entry.data.get(CONF_KIND, KIND_WHATSMINER)],
                _without_password(user_input or entry.data),
            ),
            errors=errors,
            description_placeholders={"name": entry.title},
        )


def _title(info: MinerInfo) -> str:
    """The miner's hostname, else its model and the end of its MAC (stable)."""
    suffix = info.mac.replace(":", "")[-6:].upper()
    return info.hostname or f"{info.model or info.manufacturer} {suffix}"


def _without_password(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Form defaults never send a password back to the browser."""
    return {key: value for key, value in (values or {}).items() if key != CONF_PASSWORD}


class OptionsFlowHandler(OptionsFlowWithReload):
    """The polling interval."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the polling interval; the entry reloads to apply it."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        schema = probatio.Schema(
            {
                probatio.Required(CONF_SCAN_INTERVAL): probatio.All(
                    NumberSelector(
                        NumberSelectorConfig(
                            min=MIN_SCAN_INTERVAL,
                            max=MAX_SCAN_INTERVAL,
                            step=1,
                            unit_of_measurement="s",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    probatio.Coerce(int),
                )
            }
        )
        values = {
            CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL,
            **self.config_entry.options,
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, values),
        )
