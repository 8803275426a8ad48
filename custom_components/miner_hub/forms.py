"""The forms of the config and options flows, and what a user types in them.

Schemas, the collapsed "Advanced options" section, and the clean-up of typed
values (blanks, defaults, secrets never sent back to the browser). The flows
that show them and check the values against the device are in ``config_flow``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio
from yarl import URL

from .const import (
    CONF_ACCESS_KEY,
    CONF_API_URL,
    CONF_BITCOIN_PRICE,
    CONF_COIN,
    CONF_ELECTRICITY_PRICE,
    CONF_MAX_DISRUPTIVE_CHANGES,
    CONF_MIN_DISRUPTIVE_INTERVAL,
    CONF_MIN_POWER_PERCENT_INTERVAL,
    CONF_POWER_FLOOR,
    CONF_PRIVATE_KEY,
    CONF_SCAN_INTERVAL,
    CONF_SUBACCOUNT,
    CONF_TEMPERATURE_SENSOR,
    CONF_V3_PORT,
    DEFAULT_COIN,
    DEFAULT_MAX_DISRUPTIVE_CHANGES,
    DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    DEFAULT_MIN_POWER_PERCENT_INTERVAL,
    DEFAULT_POWER_FLOOR,
    DEFAULT_SCAN_INTERVAL,
    KIND_DRAGONMINT,
    KIND_WHATSMINER,
    MAX_SCAN_INTERVAL,
    MIN_SCAN_INTERVAL,
)
from .protocol.dragonmint.client import (
    DEFAULT_PORT as DRAGONMINT_PORT,
    DEFAULT_USERNAME as DRAGONMINT_USERNAME,
)
from .protocol.models import MinerInfo
from .protocol.spiderpool.client import DEFAULT_BASE_URL
from .protocol.whatsminer.v2.transport import DEFAULT_PORT as WHATSMINER_PORT
from .protocol.whatsminer.v3.transport import DEFAULT_PORT as WHATSMINER_V3_PORT

_PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_PORT_SELECTOR = probatio.All(
    NumberSelector(
        NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
    ),
    probatio.Coerce(int),
)
# A collapsed section for what a plain setup never changes: API v3 forwarded to
# another port than 4433, or the pool API reached through a proxy (scripts/develop
# points both at emulators). Values equal to the defaults are not stored.
SECTION_ADVANCED: Final = "advanced"
ADVANCED_DEFAULTS: Final[Mapping[str, Any]] = {
    CONF_V3_PORT: WHATSMINER_V3_PORT,
    CONF_API_URL: DEFAULT_BASE_URL,
}


def _advanced_section(field: str, selector: Any) -> dict[probatio.Marker, Any]:
    return {
        probatio.Optional(SECTION_ADVANCED, default={}): section(
            probatio.Schema(
                {probatio.Optional(field, default=ADVANCED_DEFAULTS[field]): selector}
            ),
            {"collapsed": True},
        )
    }


WHATSMINER_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_HOST): TextSelector(),
        probatio.Required(CONF_PORT, default=WHATSMINER_PORT): _PORT_SELECTOR,
        probatio.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
        **_advanced_section(CONF_V3_PORT, _PORT_SELECTOR),
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

# Spiderpool: the access key names the key pair and travels in every request, like
# a user name; the private key is the secret and never leaves Home Assistant (only
# signatures do). Home Assistant has no masked multi-line field: a multi-line text
# selector is a text area that ignores the password type. A PEM key has several
# lines, so the private key gets a multi-line box the browser must not remember.
_ACCESS_KEY_SELECTOR = TextSelector(TextSelectorConfig(autocomplete="off"))
_PRIVATE_KEY_SELECTOR = TextSelector(
    TextSelectorConfig(multiline=True, autocomplete="off")
)
SPIDERPOOL_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_ACCESS_KEY): _ACCESS_KEY_SELECTOR,
        probatio.Required(CONF_PRIVATE_KEY): _PRIVATE_KEY_SELECTOR,
        probatio.Required(CONF_COIN, default=DEFAULT_COIN): TextSelector(),
        probatio.Required(CONF_SUBACCOUNT): TextSelector(),
        **_advanced_section(
            CONF_API_URL, TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
        ),
    }
)
# Coin and sub-account identify a pool entry: only the keys change.
SPIDERPOOL_REAUTH_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_ACCESS_KEY): _ACCESS_KEY_SELECTOR,
        probatio.Required(CONF_PRIVATE_KEY): _PRIVATE_KEY_SELECTOR,
    }
)
# Left empty, the stored private key stays.
SPIDERPOOL_RECONFIGURE_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_ACCESS_KEY): _ACCESS_KEY_SELECTOR,
        probatio.Optional(CONF_PRIVATE_KEY): _PRIVATE_KEY_SELECTOR,
    }
)
_SECRETS = frozenset({CONF_PASSWORD, CONF_PRIVATE_KEY})

# The search for miners: a network to search, then one of the miners found.
CONF_NETWORK: Final = "network"
CONF_DEVICE: Final = "device"
SEARCH_SCHEMA: Final = probatio.Schema(
    {probatio.Required(CONF_NETWORK): TextSelector()}
)


def found_schema(options: list[SelectOptionDict]) -> probatio.Schema:
    """One of the miners found (the value is its address)."""
    selector = SelectSelector(
        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
    )
    return probatio.Schema({probatio.Required(CONF_DEVICE): selector})


class _WholeNumberSelector(NumberSelector):
    """A number box whose out-of-range error is a translation key.

    The frontend shows a field's error through the flow's translations
    (``options.error.out_of_range``) instead of "Value 5.0 is too small".
    """

    def __call__(self, data: Any) -> float:
        try:
            value: float = super().__call__(data)
        except probatio.Invalid as err:
            raise probatio.Invalid("out_of_range") from err
        return value


def _whole_number(low: int, high: int, unit: str | None = None) -> Any:
    config = NumberSelectorConfig(
        min=low, max=high, step=1, mode=NumberSelectorMode.BOX
    )
    if unit is not None:
        config["unit_of_measurement"] = unit
    return probatio.All(_WholeNumberSelector(config), probatio.Coerce(int))


# A miner's options: polling, the governor's rules and (Whatsminer) the heater.
OPTION_DEFAULTS: Final[Mapping[str, Any]] = {
    CONF_SCAN_INTERVAL: DEFAULT_SCAN_INTERVAL,
    CONF_MIN_DISRUPTIVE_INTERVAL: DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    CONF_MAX_DISRUPTIVE_CHANGES: DEFAULT_MAX_DISRUPTIVE_CHANGES,
    CONF_MIN_POWER_PERCENT_INTERVAL: DEFAULT_MIN_POWER_PERCENT_INTERVAL,
    CONF_POWER_FLOOR: DEFAULT_POWER_FLOOR,
}


def _option(key: str) -> probatio.Required:
    """An option the form always holds: its default when never set."""
    return probatio.Required(key, default=OPTION_DEFAULTS[key])


_MINER_OPTIONS: Final = {
    _option(CONF_SCAN_INTERVAL): _whole_number(
        MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, "s"
    ),
    _option(CONF_MIN_DISRUPTIVE_INTERVAL): _whole_number(1, 240, "min"),
    _option(CONF_MAX_DISRUPTIVE_CHANGES): _whole_number(1, 144),
    _option(CONF_MIN_POWER_PERCENT_INTERVAL): _whole_number(1, 60, "min"),
}
_HEATER_OPTIONS: Final = {
    probatio.Optional(CONF_TEMPERATURE_SENSOR): EntitySelector(
        EntitySelectorConfig(
            domain="sensor", device_class=SensorDeviceClass.TEMPERATURE
        )
    ),
    _option(CONF_POWER_FLOOR): _whole_number(10, 90, "%"),
}
# A pool account's options: the prices of its linked miners' money figures.
_PRICE_ENTITY: Final = EntitySelector(
    EntitySelectorConfig(domain=["sensor", "input_number", "number"])
)
POOL_OPTIONS_SCHEMA: Final = probatio.Schema(
    {
        probatio.Optional(CONF_ELECTRICITY_PRICE): _PRICE_ENTITY,
        probatio.Optional(CONF_BITCOIN_PRICE): _PRICE_ENTITY,
    }
)
OPTIONS_SCHEMAS: Final = {
    KIND_WHATSMINER: probatio.Schema({**_MINER_OPTIONS, **_HEATER_OPTIONS}),
    KIND_DRAGONMINT: probatio.Schema(_MINER_OPTIONS),  # no power control: no heater
}


def flat(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values with the advanced ones beside the others, unless default."""
    values = {
        key: value for key, value in user_input.items() if key != SECTION_ADVANCED
    }
    for key, value in user_input.get(SECTION_ADVANCED, {}).items():
        if value != ADVANCED_DEFAULTS[key]:
            values[key] = value
    return values


def pool_api_url(values: Mapping[str, Any]) -> str | None:
    """The pool API's origin from the advanced field; None for the pool's own.

    Raises ValueError unless it is an http(s) origin: the client joins the
    documented absolute paths to it, so a path would be dropped.
    """
    text = str(values.get(CONF_API_URL, "")).strip().rstrip("/")
    if not text or text == DEFAULT_BASE_URL:
        return None
    url = URL(text)
    if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/"):
        raise ValueError(text)
    return text


def pool_keys(
    user_input: Mapping[str, Any], *, keep_stored_private_key: bool = False
) -> dict[str, str]:
    """The keys without surrounding blanks.

    With ``keep_stored_private_key``, an empty private key is left out (the
    stored one stays); otherwise it is checked, and refused, like any other.
    """
    keys = {
        CONF_ACCESS_KEY: user_input[CONF_ACCESS_KEY].strip(),
        CONF_PRIVATE_KEY: user_input.get(CONF_PRIVATE_KEY, "").strip(),
    }
    if keep_stored_private_key and not keys[CONF_PRIVATE_KEY]:
        del keys[CONF_PRIVATE_KEY]
    return keys


def title(info: MinerInfo) -> str:
    """The miner's hostname, else its model and the end of its MAC (stable)."""
    suffix = info.mac.replace(":", "")[-6:].upper()
    return info.hostname or f"{info.model or info.manufacturer} {suffix}"


def without_secrets(values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Form defaults never send a password or private key back to the browser."""
    return {key: value for key, value in (values or {}).items() if key not in _SECRETS}
