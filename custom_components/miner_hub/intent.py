"""Voice control through Assist: power percent, mining on and off, hashrate.

The ``intent`` integration finds this platform and calls ``async_setup_intents``
once Miner Hub is loaded. The sentences of the built-in conversation agent ship in
``custom_sentences/<language>/miner_hub.yaml`` (English, German, Spanish, French);
LLM agents read the handlers' descriptions and slot schemas.

A sentence names the miner as its device is named ("garage m30" finds
"garage-m30"). As everywhere in Assist, only a miner with at least one entity
exposed to the assistant can be addressed (its mining switch is exposed by
default). What goes wrong is said, in a sentence: the conversation agent would
replace an exception's message with a generic one (and log a traceback).

The answers are in the language of the request (``VOICES``: English, German,
Spanish, French; English for any other language). They are set here rather than
as ``responses`` of the sentence files: the conversation agent uses a sentence
file's response template only when the handler leaves the speech empty, and
scripts and LLM agents, which call the intents without a sentence, would get no
answer at all. A miner's refusal is said in Miner Hub's translated exception
message of that language.
"""

from __future__ import annotations

from contextlib import suppress
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
    translation,
)
import probatio

from .const import CONF_KIND, DOMAIN, KIND_SPIDERPOOL, LOGGER, UNIT_HASHRATE
from .coordinator import MinerCoordinator
from .intent_voices import ENGLISH, VOICES, Say, Voice, voice_for
from .protocol.models import Capability

INTENT_SET_POWER_PERCENT: Final = "MinerHubSetPowerPercent"
INTENT_GET_HASHRATE: Final = "MinerHubGetHashrate"
INTENT_SET_MINING: Final = "MinerHubSetMining"

SLOT_NAME: Final = "name"
SLOT_PERCENT: Final = "percent"
SLOT_MINING: Final = "mining"

# Words around a name that are not part of it: "the garage-m30 miner", "den Miner
# garage-m30", "el minero garage-m30", "le mineur garage-m30". A name is first
# looked for as it was said, so a device whose name starts with one still matches.
_LEADING_WORDS: Final = frozenset(
    {
        # English
        "the", "my", "our",
        # German
        "der", "die", "das", "den", "dem", "des",
        "mein", "meine", "meinen", "meinem", "meines",
        "unser", "unsere", "unseren", "unserem", "unseres",
        # Spanish
        "el", "la", "los", "las", "al", "del", "mi", "nuestro", "nuestra",
        # French
        "le", "les", "du", "mon", "ma", "notre",
    }
)  # fmt: skip
# French elision: "l'atelier" is "atelier".
_ELIDED_ARTICLES: Final = ("l'", "l\u2019")
_MINER_WORDS: Final = frozenset({"miner", "miners", "minero", "mineur"})

_NAME_SLOT: Final = {
    probatio.Required(
        SLOT_NAME, description="The name of the miner, as its device is named"
    ): intent.non_empty_string
}


class MinerIntentError(intent.IntentHandleError):
    """Why a sentence about a miner cannot be carried out, to be said as it is."""

    def __init__(
        self,
        what: Say,
        code: intent.IntentResponseErrorCode = (
            intent.IntentResponseErrorCode.FAILED_TO_HANDLE
        ),
        **values: str,
    ) -> None:
        """What to say (in English in the message, for the log) and the failure."""
        super().__init__(VOICES[ENGLISH].say(what, **values))
        self.what = what
        self.values = values
        self.code = code

    def speech(self, voice: Voice) -> str:
        """What to say in the voice's language."""
        return voice.say(self.what, **self.values)


def _not_found(what: Say, **values: str) -> MinerIntentError:
    return MinerIntentError(
        what, intent.IntentResponseErrorCode.NO_VALID_TARGETS, **values
    )


async def async_error_speech(
    hass: HomeAssistant, voice: Voice, err: HomeAssistantError
) -> str:
    """Miner Hub's translated message of ``err`` in the voice's language.

    ``str(err)`` is always English; an error that is not one of Miner Hub's
    translated ones is said as it is.
    """
    if err.translation_domain != DOMAIN or not err.translation_key:
        return str(err)
    translations = await translation.async_get_translations(
        hass, voice.language, "exceptions", {DOMAIN}
    )
    key = f"component.{DOMAIN}.exceptions.{err.translation_key}.message"
    if message := translations.get(key):
        with suppress(KeyError, IndexError, ValueError):
            return message.rstrip(".").format(**(err.translation_placeholders or {}))
    return str(err)


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

    Then without a leading article or a word for "miner" around the name ("the
    garage-m30 miner", "den Miner garage-m30", "l'atelier").
    """
    words = spoken.replace("-", " ").replace("_", " ").split()
    variants = [words]

    def add(variant: list[str]) -> None:
        if variant and variant not in variants:
            variants.append(variant)

    if len(words) > 1 and words[0].casefold() in _LEADING_WORDS:
        add(words[1:])
    elif words and words[0].casefold().startswith(_ELIDED_ARTICLES):
        add([words[0][2:], *words[1:]])
    for variant in list(variants):
        if len(variant) > 1 and variant[0].casefold() in _MINER_WORDS:
            add(variant[1:])
    for variant in list(variants):
        if len(variant) > 1 and variant[-1].casefold() in _MINER_WORDS:
            add(variant[:-1])
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
        raise _not_found(Say.UNKNOWN_MINER, name=spoken)
    exposed = [
        (device, entry)
        for device, entry in matches
        if _async_exposed(hass, assistant, device)
    ]
    if not exposed:
        raise _not_found(Say.NOT_EXPOSED, name=spoken)
    miners = [
        (device, entry)
        for device, entry in exposed
        if entry.data.get(CONF_KIND) != KIND_SPIDERPOOL
    ]
    if not miners:
        device, entry = exposed[0]
        account = (DOMAIN, entry.entry_id) in device.identifiers
        raise _not_found(
            Say.POOL_ACCOUNT if account else Say.POOL_WORKER,
            name=_device_name(device, entry),
        )
    if len(miners) > 1:
        raise _not_found(Say.SEVERAL_MINERS, name=spoken)
    device, entry = miners[0]
    name = _device_name(device, entry)
    coordinator: object = getattr(entry, "runtime_data", None)
    if (
        entry.state is not ConfigEntryState.LOADED
        or not isinstance(coordinator, MinerCoordinator)
        or not coordinator.last_update_success
    ):
        raise MinerIntentError(Say.UNAVAILABLE, name=name)
    return MinerTarget(name, device.id, coordinator)


type Slots = dict[str, Any]


class MinerIntentHandler(intent.IntentHandler):
    """An intent about one miner, named by the slot ``name``.

    Failures become error responses whose speech says what went wrong.
    """

    # What the miner must support, and what to say when it does not.
    capability: ClassVar[tuple[Capability, Say] | None] = None
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
        voice = voice_for(intent_obj.language)
        try:
            miner = self._async_find_capable_miner(intent_obj, slots)
            speech = await self.async_handle_miner(miner, slots, voice)
        except MinerIntentError as err:
            LOGGER.debug("%s not handled: %s", self.intent_type, err)
            response.async_set_error(err.code, err.speech(voice))
            return response
        except HomeAssistantError as err:
            # The miner refused the command or did not answer (translated message).
            LOGGER.debug("%s failed: %s", self.intent_type, err)
            response.async_set_error(
                intent.IntentResponseErrorCode.FAILED_TO_HANDLE,
                await async_error_speech(intent_obj.hass, voice, err),
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
        if self.capability is not None:
            capability, unsupported = self.capability
            if capability not in miner.coordinator.miner.capabilities:
                raise MinerIntentError(unsupported, name=miner.name)
        return miner

    async def async_handle_miner(
        self, miner: MinerTarget, slots: Slots, voice: Voice
    ) -> str:
        """Act on the miner (through its coordinator); return what to say."""
        raise NotImplementedError


class SetPowerPercentHandler(MinerIntentHandler):
    """Set a miner's power percent, as the number and the action do."""

    intent_type = INTENT_SET_POWER_PERCENT
    description = (
        "Sets the power percentage of a Bitcoin miner (Miner Hub): lower "
        "percentages use less power and hash less"
    )
    capability = (Capability.POWER_PERCENT, Say.NO_POWER_PERCENT)

    extra_slots: ClassVar[dict[Any, Any]] = {
        probatio.Required(
            SLOT_PERCENT, description="Power percentage, from 0 to 100"
        ): probatio.All(probatio.Coerce(int), probatio.Range(min=0, max=100))
    }

    @override
    async def async_handle_miner(
        self, miner: MinerTarget, slots: Slots, voice: Voice
    ) -> str:
        """Set the percent; the number follows, errors are translated."""
        percent: int = slots[SLOT_PERCENT]["value"]
        await miner.coordinator.async_set_power_percent(percent)
        return voice.say(Say.SET_POWER_PERCENT, name=miner.name, percent=str(percent))


class SetMiningHandler(MinerIntentHandler):
    """Pause or resume mining, as the mining switch does."""

    intent_type = INTENT_SET_MINING
    description = (
        "Pauses (mining false) or resumes (mining true) mining on a Bitcoin "
        "miner (Miner Hub)"
    )
    capability = (Capability.MINING_SWITCH, Say.NO_MINING_SWITCH)

    extra_slots: ClassVar[dict[Any, Any]] = {
        probatio.Required(
            SLOT_MINING, description="True to resume mining, false to pause it"
        ): cv.boolean
    }

    @override
    async def async_handle_miner(
        self, miner: MinerTarget, slots: Slots, voice: Voice
    ) -> str:
        """Start or stop mining; the refresh after it shows the result."""
        mining: bool = slots[SLOT_MINING]["value"]
        await miner.coordinator.async_set_mining(mining)
        return voice.say(Say.RESUMED if mining else Say.PAUSED, name=miner.name)


class GetHashrateHandler(MinerIntentHandler):
    """Tell a miner's hashrate from the last poll."""

    intent_type = INTENT_GET_HASHRATE
    description = "Tells the current hashrate of a Bitcoin miner (Miner Hub)"
    response_type = intent.IntentResponseType.QUERY_ANSWER

    @override
    async def async_handle_miner(
        self, miner: MinerTarget, slots: Slots, voice: Voice
    ) -> str:
        """The hashrate of the last poll, or why there is none."""
        status = miner.coordinator.data.status
        if status.mining is False:
            return voice.say(Say.NOT_MINING, name=miner.name)
        if status.hashrate_ths is None:
            return voice.say(Say.HASHRATE_UNKNOWN, name=miner.name)
        return voice.say(
            Say.HASHRATE,
            name=miner.name,
            hashrate=voice.number(status.hashrate_ths),
            unit=UNIT_HASHRATE,
        )


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register the intents (called by the intent integration)."""
    for handler in (SetPowerPercentHandler(), SetMiningHandler(), GetHashrateHandler()):
        intent.async_register(hass, handler)
