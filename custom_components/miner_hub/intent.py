"""Voice control through Assist: power percent, mining on and off, hashrate.

The ``intent`` integration finds this platform and calls ``async_setup_intents``
once Miner Hub is loaded. The sentences of the built-in conversation agent ship in
``custom_sentences/en/miner_hub.yaml``; LLM agents read the handlers' descriptions
and slot schemas.

A sentence names the miner as its device is named ("garage m30" finds
"garage-m30"). As everywhere in Assist, only a miner with at least one entity
exposed to the assistant can be addressed (its mining switch is exposed by
default). What goes wrong is said, in a sentence: the conversation agent would
replace an exception's message with a generic one (and log a traceback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final, override

from homeassistant.components.homeassistant.exposed_entities import (
    async_should_expose,
)
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    entity_registry as er,
    intent,
)
import probatio

from .const import CONF_KIND, DOMAIN, KIND_SPIDERPOOL, LOGGER, UNIT_HASHRATE
from .coordinator import MinerCoordinator
from .protocol.models import Capability

INTENT_SET_POWER_PERCENT: Final = "MinerHubSetPowerPercent"
INTENT_GET_HASHRATE: Final = "MinerHubGetHashrate"
INTENT_SET_MINING: Final = "MinerHubSetMining"

SLOT_NAME: Final = "name"
SLOT_PERCENT: Final = "percent"
SLOT_MINING: Final = "mining"

# Words around a name that are not part of it: "the garage-m30 miner".
_LEADING_WORDS: Final = frozenset({"the", "my", "our"})
_TRAILING_WORDS: Final = frozenset({"miner"})

_NAME_SLOT: Final = {
    probatio.Required(
        SLOT_NAME, description="The name of the miner, as its device is named"
    ): intent.non_empty_string
}


class MinerIntentError(intent.IntentHandleError):
    """Why a sentence about a miner cannot be carried out, to be said as it is."""

    def __init__(
        self,
        message: str,
        code: intent.IntentResponseErrorCode = (
            intent.IntentResponseErrorCode.FAILED_TO_HANDLE
        ),
    ) -> None:
        """A message for the user and the kind of failure."""
        super().__init__(message)
        self.code = code


def _not_found(message: str) -> MinerIntentError:
    return MinerIntentError(message, intent.IntentResponseErrorCode.NO_VALID_TARGETS)


@dataclass(frozen=True, slots=True)
class MinerTarget:
    """The miner a sentence names."""

    name: str
    device_id: str
    coordinator: MinerCoordinator


def _key(name: str) -> str:
    """A name without case, spaces or punctuation: "Garage M30" is "garage-m30"."""
    return "".join(char for char in name.casefold() if char.isalnum())


def _spoken_keys(spoken: str) -> list[str]:
    """Keys of what was said, the words as they are first.

    Then without a leading article or a trailing "miner" ("the garage-m30 miner").
    """
    words = spoken.replace("-", " ").replace("_", " ").split()
    variants = [words]
    if len(words) > 1 and words[0].casefold() in _LEADING_WORDS:
        variants.append(words[1:])
    for variant in list(variants):
        if len(variant) > 1 and variant[-1].casefold() in _TRAILING_WORDS:
            variants.append(variant[:-1])
    keys: list[str] = []
    for variant in variants:
        if (key := _key("".join(variant))) and key not in keys:
            keys.append(key)
    return keys


def _device_name(device: dr.DeviceEntry, entry: ConfigEntry[Any]) -> str:
    return device.name_by_user or device.name or entry.title


@callback
def _async_exposed(
    hass: HomeAssistant, assistant: str | None, device: dr.DeviceEntry
) -> bool:
    """Whether one of the device's entities is exposed to the assistant.

    Without an assistant (the intent API, scripts) nothing is hidden, as in core.
    """
    if assistant is None:
        return True
    return any(
        async_should_expose(hass, assistant, entity.entity_id)
        for entity in er.async_entries_for_device(er.async_get(hass), device.id)
    )


@callback
def async_find_miner(
    hass: HomeAssistant, spoken: str, assistant: str | None
) -> MinerTarget:
    """The one loaded miner called ``spoken`` that the assistant may address."""
    registry = dr.async_get(hass)
    devices = [
        (device, entry)
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    ]
    matches: list[tuple[dr.DeviceEntry, ConfigEntry[Any]]] = []
    for key in _spoken_keys(spoken):
        matches = [
            (device, entry)
            for device, entry in devices
            if _key(_device_name(device, entry)) == key
        ]
        if matches:
            break
    if not matches:
        raise _not_found(f"Sorry, I am not aware of any miner called {spoken}")
    exposed = [
        (device, entry)
        for device, entry in matches
        if _async_exposed(hass, assistant, device)
    ]
    if not exposed:
        raise _not_found(f"Sorry, {spoken} is not exposed")
    miners = [
        (device, entry)
        for device, entry in exposed
        if entry.data.get(CONF_KIND) != KIND_SPIDERPOOL
    ]
    if not miners:
        device, entry = exposed[0]
        kind = "account" if (DOMAIN, entry.entry_id) in device.identifiers else "worker"
        raise _not_found(
            f"Sorry, {_device_name(device, entry)} is a pool {kind}, not a miner"
        )
    if len(miners) > 1:
        raise _not_found(f"Sorry, there are several miners called {spoken}")
    device, entry = miners[0]
    name = _device_name(device, entry)
    coordinator: object = getattr(entry, "runtime_data", None)
    if (
        entry.state is not ConfigEntryState.LOADED
        or not isinstance(coordinator, MinerCoordinator)
        or not coordinator.last_update_success
    ):
        raise MinerIntentError(f"Sorry, {name} is not available right now")
    return MinerTarget(name, device.id, coordinator)


type Slots = dict[str, Any]


class MinerIntentHandler(intent.IntentHandler):
    """An intent about one miner, named by the slot ``name``.

    Failures become error responses whose speech says what went wrong.
    """

    # What the miner must support, and what to say when it does not.
    capability: Capability | None = None
    unsupported: str = ""
    response_type = intent.IntentResponseType.ACTION_DONE

    # Slots besides the miner's name.
    extra_slots: ClassVar[dict[Any, Any]] = {}

    @property
    @override
    def slot_schema(self) -> dict[Any, Any]:
        """The miner's name and the intent's own slots."""
        return {**_NAME_SLOT, **self.extra_slots}

    @override
    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Find the miner, act on it, and say what happened."""
        slots = self.async_validate_slots(intent_obj.slots)
        response = intent_obj.create_response()
        try:
            miner = self._async_find_capable_miner(intent_obj, slots)
            speech = await self.async_handle_miner(miner, slots)
        except MinerIntentError as err:
            LOGGER.debug("%s not handled: %s", self.intent_type, err)
            response.async_set_error(err.code, str(err))
            return response
        except HomeAssistantError as err:
            # The miner refused the command or did not answer (translated message).
            LOGGER.debug("%s failed: %s", self.intent_type, err)
            response.async_set_error(
                intent.IntentResponseErrorCode.FAILED_TO_HANDLE, str(err)
            )
            return response
        response.response_type = self.response_type
        response.async_set_results(
            success_results=[
                intent.IntentResponseTarget(
                    type=intent.IntentResponseTargetType.DEVICE,
                    name=miner.name,
                    id=miner.device_id,
                )
            ]
        )
        response.async_set_speech(speech)
        return response

    @callback
    def _async_find_capable_miner(
        self, intent_obj: intent.Intent, slots: Slots
    ) -> MinerTarget:
        """The miner named, if it can do what the intent asks."""
        miner = async_find_miner(
            intent_obj.hass, slots[SLOT_NAME]["value"], intent_obj.assistant
        )
        if (
            self.capability is not None
            and self.capability not in miner.coordinator.miner.capabilities
        ):
            raise MinerIntentError(self.unsupported.format(name=miner.name))
        return miner

    async def async_handle_miner(self, miner: MinerTarget, slots: Slots) -> str:
        """Act on the miner (through its coordinator); return what to say."""
        raise NotImplementedError


class SetPowerPercentHandler(MinerIntentHandler):
    """Set a miner's power percent, as the number and the action do."""

    intent_type = INTENT_SET_POWER_PERCENT
    description = (
        "Sets the power percentage of a Bitcoin miner (Miner Hub): lower "
        "percentages use less power and hash less"
    )
    capability = Capability.POWER_PERCENT
    unsupported = "Sorry, {name} cannot set its power percent"

    extra_slots: ClassVar[dict[Any, Any]] = {
        probatio.Required(
            SLOT_PERCENT, description="Power percentage, from 0 to 100"
        ): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=100))
    }

    @override
    async def async_handle_miner(self, miner: MinerTarget, slots: Slots) -> str:
        """Set the percent; the number follows, errors are translated."""
        percent: int = slots[SLOT_PERCENT]["value"]
        await miner.coordinator.async_set_power_percent(percent)
        return f"Set the power of {miner.name} to {percent}%"


class SetMiningHandler(MinerIntentHandler):
    """Pause or resume mining, as the mining switch does."""

    intent_type = INTENT_SET_MINING
    description = (
        "Pauses (mining false) or resumes (mining true) mining on a Bitcoin "
        "miner (Miner Hub)"
    )
    capability = Capability.MINING_SWITCH
    unsupported = "Sorry, {name} cannot pause and resume mining"

    extra_slots: ClassVar[dict[Any, Any]] = {
        probatio.Required(
            SLOT_MINING, description="True to resume mining, false to pause it"
        ): cv.boolean
    }

    @override
    async def async_handle_miner(self, miner: MinerTarget, slots: Slots) -> str:
        """Start or stop mining; the refresh after it shows the result."""
        mining: bool = slots[SLOT_MINING]["value"]
        await miner.coordinator.async_set_mining(mining)
        return f"{'Resumed' if mining else 'Paused'} mining on {miner.name}"


def _format_hashrate(value: float) -> str:
    """As the sensor shows it (two decimals), without trailing zeros."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


class GetHashrateHandler(MinerIntentHandler):
    """Tell a miner's hashrate from the last poll."""

    intent_type = INTENT_GET_HASHRATE
    description = "Tells the current hashrate of a Bitcoin miner (Miner Hub)"
    response_type = intent.IntentResponseType.QUERY_ANSWER

    @override
    async def async_handle_miner(self, miner: MinerTarget, slots: Slots) -> str:
        """The hashrate of the last poll, or why there is none."""
        status = miner.coordinator.data.status
        if status.mining is False:
            return f"{miner.name} is not mining"
        if status.hashrate_ths is None:
            return f"The hashrate of {miner.name} is unknown"
        hashrate = _format_hashrate(status.hashrate_ths)
        return f"{miner.name} is hashing at {hashrate} {UNIT_HASHRATE}"


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents (called by the intent integration)."""
    for handler in (SetPowerPercentHandler(), SetMiningHandler(), GetHashrateHandler()):
        intent.async_register(hass, handler)
