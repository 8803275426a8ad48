"""Voice control through Assist, against the emulated miners over TCP.

The sentences are the repository's ``custom_sentences/<language>/miner_hub.yaml``
(English, German, Spanish, French), copied where a user copies them; every test
speaks to Home Assistant's own conversation agent (``conversation.async_converse``),
as Assist does, in the language of its sentence, and hears the answer in it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil
import string
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import conversation
from homeassistant.components.climate.const import HVACMode
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, intent
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
import yaml

from custom_components.miner_hub.const import DOMAIN, REFRESH_COOLDOWN_S
from custom_components.miner_hub.intent import (
    INTENT_GET_HASHRATE,
    INTENT_SET_MINING,
    INTENT_SET_POWER_PERCENT,
)
from custom_components.miner_hub.intent_voices import ENGLISH, VOICES, Say, voice_for
from tests.conftest import (
    DRAGONMINT_TITLE,
    EmulatedWhatsminer,
    poll,
    setup_integration,
)
from tests.emulators import DragonMintEmulator
from tests.heating.home import HEATER, heater_entry, set_room

CUSTOM_SENTENCES = Path(__file__).parent.parent / "custom_sentences"
SENTENCES = CUSTOM_SENTENCES / "en" / "miner_hub.yaml"
# Every language with sentences: the directories under custom_sentences/.
LANGUAGES = sorted(
    path.parent.name for path in CUSTOM_SENTENCES.glob("*/miner_hub.yaml")
)
MINER = "garage-m30"
MINING_SWITCH = "switch.garage_m30_mining"
POWER_PERCENT = "number.garage_m30_power_percent"
HASHRATE = "sensor.garage_m30_hashrate"


def _copy_sentences(target: Path) -> None:
    for language in LANGUAGES:
        (target / language).mkdir(parents=True, exist_ok=True)
        shutil.copy(CUSTOM_SENTENCES / language / SENTENCES.name, target / language)


@pytest.fixture
async def assist(hass: HomeAssistant) -> None:
    """Assist's conversation agent, with our sentences where a user puts them."""
    await hass.async_add_executor_job(
        _copy_sentences, Path(hass.config.path("custom_sentences"))
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})


async def say(
    hass: HomeAssistant, text: str, language: str = ENGLISH
) -> intent.IntentResponse:
    """What Assist answers to ``text``, once the refresh after a command ran.

    Refreshes after commands are at least REFRESH_COOLDOWN_S apart: the clock moves
    on by that much, as a user takes longer than that between two sentences.
    """
    result = await conversation.async_converse(
        hass, text, None, Context(), language=language
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    async_fire_time_changed(
        hass, dt_util.utcnow() + timedelta(seconds=REFRESH_COOLDOWN_S)
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    return result.response


def speech(response: intent.IntentResponse) -> str:
    return str(response.speech["plain"]["speech"])


def intent_type(response: intent.IntentResponse) -> str | None:
    return response.intent.intent_type if response.intent else None


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, entry.unique_id or ""), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_builtin_sentence_turns_mining_off(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """Assist's own "turn off <name>" reaches the mining switch, no sentences needed.

    The switch carries the device's name; "… mining" after it is understood too.
    """
    start = any_whatsminer.mark()

    response = await say(hass, f"turn off the {MINER}")

    assert intent_type(response) == "HassTurnOff"
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert any_whatsminer.writes(start) == [any_whatsminer.write("mining_off")]
    assert not any_whatsminer.state.mining
    assert hass.states.get(MINING_SWITCH).state == "off"

    response = await say(hass, f"turn on {MINER} mining")

    assert intent_type(response) == "HassTurnOn"
    assert any_whatsminer.state.mining
    assert hass.states.get(MINING_SWITCH).state == "on"


@pytest.mark.parametrize(
    "sentence",
    [
        "set garage-m30 power to 60 percent",
        "set the power of garage-m30 to 60%",
        "change garage m30's power level to 60 %",
        "set the garage-m30 miner to 60 percent power",
        "run garage-m30 at 60%",
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_set_power_percent(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, sentence: str
) -> None:
    """The percent reaches the miner, and the number entity shows it."""
    start = any_whatsminer.mark()

    response = await say(hass, sentence)

    assert intent_type(response) == INTENT_SET_POWER_PERCENT
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(response) == "Set the power of garage-m30 to 60%"
    assert [target.name for target in response.success_results] == [MINER]
    assert any_whatsminer.writes(start) == [any_whatsminer.write("power_percent", 60)]
    assert hass.states.get(POWER_PERCENT).state == "60"


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_pause_and_resume_mining(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """Pausing and resuming mining by voice drive the mining switch."""
    start = any_whatsminer.mark()

    response = await say(hass, "pause mining on the garage m30 miner")

    assert intent_type(response) == INTENT_SET_MINING
    assert speech(response) == "Paused mining on garage-m30"
    assert hass.states.get(MINING_SWITCH).state == "off"

    response = await say(hass, "resume garage-m30's mining")

    assert speech(response) == "Resumed mining on garage-m30"
    assert hass.states.get(MINING_SWITCH).state == "on"
    assert any_whatsminer.writes(start) == [
        any_whatsminer.write("mining_off"),
        any_whatsminer.write("mining_on"),
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "what is the hashrate of garage-m30",
        "what's garage-m30's hash rate?",
        "How fast is garage-m30 hashing?",
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_hashrate(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, sentence: str
) -> None:
    """The answer is the hashrate sensor's value, in TH/s, and sends nothing."""
    start = any_whatsminer.mark()
    hashrate = float(hass.states.get(HASHRATE).state)
    assert hashrate > 0

    response = await say(hass, sentence)

    assert intent_type(response) == INTENT_GET_HASHRATE
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER
    spoken = f"{hashrate:.2f}".rstrip("0").rstrip(".")
    assert speech(response) == f"garage-m30 is hashing at {spoken} TH/s"
    assert any_whatsminer.writes(start) == []


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_hashrate_while_paused(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """A paused miner is said to be not mining (rather than hashing at 0)."""
    await say(hass, f"pause mining on {MINER}")

    response = await say(hass, f"what is the hashrate of {MINER}")

    assert speech(response) == "garage-m30 is not mining"


@pytest.mark.usefixtures("assist")
async def test_renamed_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
) -> None:
    """The name the user gave the device is the one to say."""
    dr.async_get(hass).async_update_device(
        _device_id(hass, init_any_integration), name_by_user="Shed Miner"
    )
    start = any_whatsminer.mark()

    response = await say(hass, "set the power of shed miner to 40 percent")

    assert speech(response) == "Set the power of Shed Miner to 40%"
    assert any_whatsminer.writes(start) == [any_whatsminer.write("power_percent", 40)]
    response = await say(hass, f"set the power of {MINER} to 40 percent")
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_unknown_miner(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """A name no miner has is said to be unknown, and nothing is sent."""
    start = any_whatsminer.mark()

    response = await say(hass, "set the power of garage-m31 to 50 percent")

    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == "Sorry, I am not aware of any miner called garage-m31"
    assert any_whatsminer.writes(start) == []


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_miner_not_exposed(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """A miner with no entity exposed to Assist cannot be addressed."""
    for entity in er.async_entries_for_config_entry(
        er.async_get(hass), hass.config_entries.async_entries(DOMAIN)[0].entry_id
    ):
        async_expose_entity(hass, conversation.DOMAIN, entity.entity_id, False)
    start = any_whatsminer.mark()

    response = await say(hass, f"pause mining on {MINER}")

    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == "Sorry, garage-m30 is not exposed"
    assert any_whatsminer.writes(start) == []
    assert any_whatsminer.state.mining


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_unreachable_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    freezer: FrozenDateTimeFactory,
) -> None:
    """While the miner is unavailable, Assist says so instead of trying."""
    await any_whatsminer.set_offline(True)
    await poll(hass, freezer)
    assert hass.states.get(HASHRATE).state == "unavailable"

    response = await say(hass, f"what is the hashrate of {MINER}")

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response) == "Sorry, garage-m30 is not available right now"


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_miner_refuses_the_percent(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """The miner's refusal is said in the integration's translated words."""
    any_whatsminer.faults.rejected_commands = {
        any_whatsminer.command("power_percent", 30)
    }

    response = await say(hass, f"set the power of {MINER} to 30 percent")

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response).startswith("The miner rejected the command: ")
    assert hass.states.get(POWER_PERCENT).state != "30"


@pytest.mark.usefixtures("assist")
async def test_dragonmint(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """A DragonMint tells its hashrate; it cannot pause or change its power."""
    await setup_integration(hass, dragonmint_entry)
    name = DRAGONMINT_TITLE.lower()
    hashrate = float(hass.states.get("sensor.dragonmint_t1_123456_hashrate").state)

    response = await say(hass, f"what is the hashrate of {name}")
    spoken = f"{hashrate:.2f}".rstrip("0").rstrip(".")
    assert speech(response) == f"{DRAGONMINT_TITLE} is hashing at {spoken} TH/s"

    response = await say(hass, f"pause mining on {name}")
    assert (
        speech(response) == f"Sorry, {DRAGONMINT_TITLE} cannot pause and resume mining"
    )

    response = await say(hass, f"set the power of {name} to 50 percent")
    assert speech(response) == f"Sorry, {DRAGONMINT_TITLE} cannot set its power percent"
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE


@pytest.mark.usefixtures("assist")
async def test_pool_account_is_not_a_miner(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    """A Spiderpool account (and its workers) is not something to pause."""
    await setup_integration(hass, spiderpool_entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, spiderpool_entry.entry_id), spiderpool_entry.entry_id
    )
    assert device is not None
    # Sensors are not exposed to Assist by default.
    response = await say(hass, f"what is the hashrate of {device.name}")
    assert speech(response) == f"Sorry, {device.name} is not exposed"
    for entity in er.async_entries_for_device(er.async_get(hass), device.id):
        async_expose_entity(hass, conversation.DOMAIN, entity.entity_id, True)

    response = await say(hass, f"what is the hashrate of {device.name}")

    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == f"Sorry, {device.name} is a pool account, not a miner"


@pytest.mark.usefixtures("assist")
async def test_two_miners_with_one_name(
    hass: HomeAssistant,
    whatsminer: object,
    mock_config_entry: MockConfigEntry,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """A name two miners share is ambiguous: nothing is sent to either."""
    await setup_integration(hass, mock_config_entry)
    await setup_integration(hass, dragonmint_entry)
    registry = dr.async_get(hass)
    registry.async_update_device(
        _device_id(hass, dragonmint_entry), name_by_user="Garage M30"
    )

    response = await say(hass, f"what is the hashrate of {MINER}")

    assert speech(response) == "Sorry, there are several miners called garage-m30"


@pytest.mark.usefixtures("assist")
async def test_unloaded_miner(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """A miner whose entry is unloaded is not available."""
    await setup_integration(hass, any_miner_entry)
    assert await hass.config_entries.async_unload(any_miner_entry.entry_id)

    response = await say(hass, f"what is the hashrate of {MINER}")

    assert speech(response) == "Sorry, garage-m30 is not available right now"


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_intents_without_an_assistant(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """Scripts and LLM tools call the intents directly; slots are validated."""
    start = any_whatsminer.mark()
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_SET_POWER_PERCENT,
        {"name": {"value": MINER}, "percent": {"value": "70"}},
    )
    assert speech(response) == "Set the power of garage-m30 to 70%"
    assert any_whatsminer.writes(start) == [any_whatsminer.write("power_percent", 70)]

    with pytest.raises(intent.InvalidSlotInfo):
        await intent.async_handle(
            hass,
            "test",
            INTENT_SET_POWER_PERCENT,
            {"name": {"value": MINER}, "percent": {"value": 150}},
        )
    with pytest.raises(intent.InvalidSlotInfo):
        await intent.async_handle(
            hass, "test", INTENT_SET_MINING, {"name": {"value": MINER}}
        )


@pytest.mark.parametrize(
    ("sentence", "built_in_intent"),
    [
        ("turn off the garage-m30 mining", "HassTurnOff"),
        ("turn on garage m30", "HassTurnOn"),
        ("pause the TV", "HassMediaPause"),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_builtin_sentences_stay_built_in(
    hass: HomeAssistant, sentence: str, built_in_intent: str
) -> None:
    """Our wildcard sentences do not catch what Assist understands itself."""
    response = await say(hass, sentence)

    assert intent_type(response) in (built_in_intent, None)
    assert intent_type(response) not in (
        INTENT_SET_MINING,
        INTENT_SET_POWER_PERCENT,
        INTENT_GET_HASHRATE,
    )


@pytest.mark.usefixtures("assist")
async def test_hashrate_unknown_while_cgminer_restarts(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """Without a hashrate in the last poll, the answer says it is unknown."""
    await setup_integration(hass, dragonmint_entry)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": "button.dragonmint_t1_123456_restart_mining"},
        blocking=True,
    )
    await dragonmint_entry.runtime_data.async_refresh()
    assert hass.states.get("sensor.dragonmint_t1_123456_hashrate").state == "unknown"

    response = await intent.async_handle(
        hass,
        "test",
        INTENT_GET_HASHRATE,
        {"name": {"value": "the dragonmint t1 123456 miner"}},
    )

    assert speech(response) == f"The hashrate of {DRAGONMINT_TITLE} is unknown"


@pytest.mark.governed
@pytest.mark.usefixtures("assist")
async def test_heater_by_voice(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer
) -> None:
    """Assist's own climate sentences reach the heater: no sentences of ours."""
    set_room(hass, 18.0)
    await setup_integration(hass, heater_entry(any_whatsminer))

    response = await say(hass, f"set the {MINER} heater to 21 degrees")
    assert intent_type(response) == "HassClimateSetTemperature"
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert hass.states.get(HEATER).attributes["temperature"] == 21

    response = await say(hass, f"turn on the {MINER} heater")
    assert intent_type(response) == "HassTurnOn"
    assert hass.states.get(HEATER).state == HVACMode.HEAT
    assert any_whatsminer.state.power_percent == 100  # 3 °C too cold

    response = await say(hass, f"what is the temperature of the {MINER} heater")
    assert intent_type(response) == "HassClimateGetTemperature"
    assert "18" in speech(response)

    response = await say(hass, f"turn off the {MINER} heater")
    assert intent_type(response) == "HassTurnOff"
    assert hass.states.get(HEATER).state == HVACMode.OFF
    assert any_whatsminer.state.mining is False


@pytest.mark.governed
@pytest.mark.parametrize(
    "sentence", [f"turn off the {MINER}", f"set {MINER} power to 60 percent"]
)
@pytest.mark.usefixtures("assist")
async def test_voice_takes_over_from_the_heater(
    hass: HomeAssistant, any_whatsminer: EmulatedWhatsminer, sentence: str
) -> None:
    """Mining or power set by voice: the heater turns off (who wins: the last)."""
    set_room(hass, 18.0)
    await setup_integration(hass, heater_entry(any_whatsminer))
    await say(hass, f"turn on the {MINER} heater")
    assert hass.states.get(HEATER).state == HVACMode.HEAT

    response = await say(hass, sentence)
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert hass.states.get(HEATER).state == HVACMode.OFF


# --- Other languages ---------------------------------------------------------------
#
# The same intents in German, Spanish and French: the sentences of each language's
# file, and the answers in the language of the request (intent.py's VOICES).


def _answer(language: str, what: Say, **values: str) -> str:
    return VOICES[language].texts[what].format(**values)


def _spoken_hashrate(hass: HomeAssistant, entity_id: str, language: str) -> str:
    """The hashrate sensor's value as the voice of ``language`` says it."""
    hashrate = float(hass.states.get(entity_id).state)
    assert hashrate > 0
    spoken = f"{hashrate:.2f}".rstrip("0").rstrip(".")
    return spoken.replace(".", VOICES[language].decimal_separator)


def test_sentence_files() -> None:
    """Each language's file: its language, the English intents and slots.

    Every sentence names the miner with the wildcard: the rule that keeps custom
    sentences from catching what Assist understands without them.
    """
    assert {"de", "en", "es", "fr"} <= set(LANGUAGES)

    def load(language: str) -> dict[str, Any]:
        with (CUSTOM_SENTENCES / language / SENTENCES.name).open(
            encoding="utf-8"
        ) as file:
            data: dict[str, Any] = yaml.safe_load(file)
        return data

    english = load(ENGLISH)
    for language in LANGUAGES:
        data = load(language)
        assert data["language"] == language
        assert data["intents"].keys() == english["intents"].keys(), language
        assert data["lists"] == english["lists"], language
        for name, intent_data in data["intents"].items():
            assert [block.get("slots") for block in intent_data["data"]] == [
                block.get("slots") for block in english["intents"][name]["data"]
            ], (language, name)
            for block in intent_data["data"]:
                for sentence in block["sentences"]:
                    assert "{miner_hub_miner:name}" in sentence, (language, sentence)


def test_voices() -> None:
    """Every voice says everything, with English's placeholders."""
    assert set(VOICES) == {"en", "de", "es", "fr"}

    def fields(text: str) -> set[str]:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field}

    for language, voice in VOICES.items():
        assert voice.language == language
        assert set(voice.texts) == set(Say), language
        for what, text in voice.texts.items():
            assert fields(text) == fields(VOICES[ENGLISH].texts[what]), (
                language,
                what,
            )
    assert voice_for("de").language == "de"
    assert voice_for("de-CH").language == "de"
    assert voice_for("es-419").language == "es"
    assert voice_for("fr_CA").language == "fr"
    assert voice_for("it").language == ENGLISH
    assert voice_for("pt-BR").language == ENGLISH
    assert voice_for(None).language == ENGLISH
    assert VOICES["de"].number(181.2) == "181,2"
    assert VOICES[ENGLISH].number(181.0) == "181"


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("de", "setze die Leistung von garage-m30 auf 60 Prozent"),
        ("de", "Stelle die Leistung vom Miner garage m30 auf 60 % ein"),
        ("de", "lass garage-m30 mit 60% Leistung laufen"),
        ("es", "pon la potencia de garage-m30 al 60 por ciento"),
        ("es", "Ajusta la potencia del minero garage m30 a 60 %"),
        ("es", "haz funcionar garage-m30 al 60%"),
        ("fr", "règle la puissance de garage-m30 à 60 %"),
        ("fr", "Mets la puissance du mineur garage m30 à 60 pour cent"),
        ("fr", "fais tourner le garage-m30 à 60 % de puissance"),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_set_power_percent_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    language: str,
    sentence: str,
) -> None:
    """The percent reaches the miner; the answer is in the sentence's language."""
    start = any_whatsminer.mark()

    response = await say(hass, sentence, language)

    assert intent_type(response) == INTENT_SET_POWER_PERCENT
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(response) == _answer(
        language, Say.SET_POWER_PERCENT, name=MINER, percent="60"
    )
    assert [target.name for target in response.success_results] == [MINER]
    assert any_whatsminer.writes(start) == [any_whatsminer.write("power_percent", 60)]
    assert hass.states.get(POWER_PERCENT).state == "60"


@pytest.mark.parametrize(
    ("language", "pause", "resume", "paused", "resumed"),
    [
        (
            "de",
            "pausiere das Mining auf garage-m30",
            "setze das Mining auf garage-m30 fort",
            "Mining auf garage-m30 pausiert",
            "Mining auf garage-m30 fortgesetzt",
        ),
        (
            "de",
            "halte das Schürfen vom Miner garage m30 an",
            "nimm das Mining auf dem garage-m30 wieder auf",
            "Mining auf garage-m30 pausiert",
            "Mining auf garage-m30 fortgesetzt",
        ),
        (
            "es",
            "pausa la minería de garage-m30",
            "reanuda la minería de garage-m30",
            "Minería en pausa en garage-m30",
            "Minería reanudada en garage-m30",
        ),
        (
            "es",
            "detén la minería en el minero garage m30",
            "haz que garage-m30 vuelva a minar",
            "Minería en pausa en garage-m30",
            "Minería reanudada en garage-m30",
        ),
        (
            "fr",
            "mets en pause le minage de garage-m30",
            "reprends le minage de garage-m30",
            "Minage mis en pause sur garage-m30",
            "Minage repris sur garage-m30",
        ),
        (
            "fr",
            "arrête le minage du mineur garage m30",
            "relance le minage sur garage-m30",
            "Minage mis en pause sur garage-m30",
            "Minage repris sur garage-m30",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_pause_and_resume_mining_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    *,
    language: str,
    pause: str,
    resume: str,
    paused: str,
    resumed: str,
) -> None:
    """Pausing and resuming by voice drive the mining switch, in every language."""
    start = any_whatsminer.mark()

    response = await say(hass, pause, language)

    assert intent_type(response) == INTENT_SET_MINING
    assert response.response_type is intent.IntentResponseType.ACTION_DONE
    assert speech(response) == paused
    assert hass.states.get(MINING_SWITCH).state == "off"

    response = await say(hass, resume, language)

    assert intent_type(response) == INTENT_SET_MINING
    assert speech(response) == resumed
    assert hass.states.get(MINING_SWITCH).state == "on"
    assert any_whatsminer.writes(start) == [
        any_whatsminer.write("mining_off"),
        any_whatsminer.write("mining_on"),
    ]


@pytest.mark.parametrize(
    ("language", "sentence", "answer"),
    [
        (
            "de",
            "Wie hoch ist die Hashrate von garage-m30?",
            "Die Hashrate von garage-m30 beträgt {} TH/s",
        ),
        (
            "de",
            "wie schnell hasht der Miner garage m30",
            "Die Hashrate von garage-m30 beträgt {} TH/s",
        ),
        (
            "es",
            "¿Cuál es el hashrate de garage-m30?",
            "El hashrate de garage-m30 es de {} TH/s",
        ),
        (
            "es",
            "a qué velocidad mina el minero garage m30",
            "El hashrate de garage-m30 es de {} TH/s",
        ),
        (
            "fr",
            "Quel est le hashrate de garage-m30 ?",
            "Le hashrate de garage-m30 est de {} TH/s",
        ),
        (
            "fr",
            "à quelle vitesse mine le mineur garage m30",
            "Le hashrate de garage-m30 est de {} TH/s",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_hashrate_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    language: str,
    sentence: str,
    answer: str,
) -> None:
    """The hashrate sensor's value, with the language's decimal comma."""
    start = any_whatsminer.mark()
    spoken = _spoken_hashrate(hass, HASHRATE, language)

    response = await say(hass, sentence, language)

    assert intent_type(response) == INTENT_GET_HASHRATE
    assert response.response_type is intent.IntentResponseType.QUERY_ANSWER
    assert speech(response) == answer.format(spoken)
    assert any_whatsminer.writes(start) == []


@pytest.mark.parametrize(
    ("language", "pause", "question", "answer"),
    [
        (
            "de",
            "stoppe das Mining von garage-m30",
            "welche Hashrate hat garage-m30",
            "garage-m30 schürft gerade nicht",
        ),
        (
            "es",
            "para el minado del garage-m30",
            "qué hashrate tiene garage-m30",
            "garage-m30 no está minando",
        ),
        (
            "fr",
            "suspends le minage sur garage-m30",
            "combien hashe garage-m30",
            "garage-m30 ne mine pas",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_hashrate_while_paused_in_other_languages(
    hass: HomeAssistant, language: str, pause: str, question: str, answer: str
) -> None:
    """A paused miner is said to be not mining, in the sentence's language."""
    assert intent_type(await say(hass, pause, language)) == INTENT_SET_MINING

    response = await say(hass, question, language)

    assert speech(response) == answer


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("de", "pausiere das Mining auf dem Miner Atelier"),
        ("es", "pausa la minería del minero atelier"),
        ("fr", "mets en pause le minage de l'atelier"),
    ],
)
@pytest.mark.usefixtures("assist")
async def test_articles_and_miner_words_around_the_name(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    init_any_integration: MockConfigEntry,
    language: str,
    sentence: str,
) -> None:
    """An article or the word for "miner" before the name is not part of it."""
    dr.async_get(hass).async_update_device(
        _device_id(hass, init_any_integration), name_by_user="Atelier"
    )
    start = any_whatsminer.mark()

    response = await say(hass, sentence, language)

    assert speech(response) == _answer(language, Say.PAUSED, name="Atelier")
    assert any_whatsminer.writes(start) == [any_whatsminer.write("mining_off")]


@pytest.mark.parametrize(
    ("language", "sentence", "answer"),
    [
        (
            "de",
            "setze die Leistung von garage-m31 auf 50 Prozent",
            "Leider kenne ich keinen Miner namens garage-m31",
        ),
        (
            "es",
            "pon la potencia de garage-m31 al 50 %",
            "Lo siento, no conozco ningún minero llamado garage-m31",
        ),
        (
            "fr",
            "règle la puissance de garage-m31 à 50 %",
            "Désolé, je ne connais aucun mineur nommé garage-m31",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_unknown_miner_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    language: str,
    sentence: str,
    answer: str,
) -> None:
    """A name no miner has is said to be unknown, in the sentence's language."""
    start = any_whatsminer.mark()

    response = await say(hass, sentence, language)

    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == answer
    assert any_whatsminer.writes(start) == []


@pytest.mark.parametrize(
    ("language", "sentence", "answer"),
    [
        (
            "de",
            "Hashrate von garage-m30",
            "Leider ist garage-m30 gerade nicht verfügbar",
        ),
        (
            "es",
            "dime el hashrate de garage-m30",
            "Lo siento, garage-m30 no está disponible ahora mismo",
        ),
        (
            "fr",
            "donne-moi le hashrate de garage-m30",
            "Désolé, garage-m30 n'est pas disponible pour le moment",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_unreachable_miner_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    freezer: FrozenDateTimeFactory,
    *,
    language: str,
    sentence: str,
    answer: str,
) -> None:
    """While the miner is unavailable, Assist says so in the sentence's language."""
    await any_whatsminer.set_offline(True)
    await poll(hass, freezer)

    response = await say(hass, sentence, language)

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response) == answer


@pytest.mark.parametrize(
    ("language", "sentence", "refusal"),
    [
        (
            "de",
            "setze die Leistung von garage-m30 auf 30 Prozent",
            "Der Miner hat den Befehl abgelehnt: ",
        ),
        (
            "es",
            "pon la potencia de garage-m30 al 30 %",
            "El minero rechazó el comando: ",
        ),
        (
            "fr",
            "règle la puissance de garage-m30 à 30 %",
            "Le mineur a refusé la commande : ",
        ),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_miner_refuses_in_other_languages(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    language: str,
    sentence: str,
    refusal: str,
) -> None:
    """The miner's refusal is Miner Hub's translated message of that language."""
    any_whatsminer.faults.rejected_commands = {
        any_whatsminer.command("power_percent", 30)
    }

    response = await say(hass, sentence, language)

    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response).startswith(refusal)
    assert hass.states.get(POWER_PERCENT).state != "30"


@pytest.mark.parametrize(
    ("language", "pause", "power", "cannot_pause", "cannot_set_power"),
    [
        (
            "de",
            "pausiere das Mining auf {}",
            "setze die Leistung von {} auf 50 Prozent",
            "Leider kann {} das Mining nicht pausieren und fortsetzen",
            "Leider kann {} seine Leistung nicht in Prozent einstellen",
        ),
        (
            "es",
            "pausa la minería de {}",
            "pon la potencia de {} al 50 %",
            "Lo siento, {} no puede pausar ni reanudar la minería",
            "Lo siento, {} no puede establecer su porcentaje de potencia",
        ),
        (
            "fr",
            "mets en pause le minage de {}",
            "règle la puissance de {} à 50 %",
            "Désolé, {} ne peut ni mettre en pause ni reprendre le minage",
            "Désolé, {} ne peut pas régler son pourcentage de puissance",
        ),
    ],
)
@pytest.mark.usefixtures("assist")
async def test_dragonmint_in_other_languages(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
    *,
    language: str,
    pause: str,
    power: str,
    cannot_pause: str,
    cannot_set_power: str,
) -> None:
    """What a DragonMint cannot do is said in the sentence's language."""
    await setup_integration(hass, dragonmint_entry)
    name = DRAGONMINT_TITLE.lower()

    response = await say(hass, pause.format(name), language)
    assert speech(response) == cannot_pause.format(DRAGONMINT_TITLE)

    response = await say(hass, power.format(name), language)
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert speech(response) == cannot_set_power.format(DRAGONMINT_TITLE)


@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_not_exposed_and_pool_account_in_german(
    hass: HomeAssistant, spiderpool_entry: MockConfigEntry
) -> None:
    """A pool account is not a miner; one not exposed cannot be addressed."""
    await setup_integration(hass, spiderpool_entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, spiderpool_entry.entry_id), spiderpool_entry.entry_id
    )
    assert device is not None
    response = await say(hass, f"Hashrate von {device.name}", "de")
    assert speech(response) == f"Leider ist {device.name} nicht freigegeben"
    for entity in er.async_entries_for_device(er.async_get(hass), device.id):
        async_expose_entity(hass, conversation.DOMAIN, entity.entity_id, True)

    response = await say(hass, f"Hashrate von {device.name}", "de")

    assert response.error_code is intent.IntentResponseErrorCode.NO_VALID_TARGETS
    assert speech(response) == f"Leider ist {device.name} ein Pool-Konto und kein Miner"


@pytest.mark.parametrize(
    ("language", "answer"),
    [
        ("de", "Leistung von garage-m30 auf 70 % gesetzt"),
        ("fr-CA", "Puissance de garage-m30 réglée à 70 %"),
        ("it", "Set the power of garage-m30 to 70%"),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_intents_without_a_sentence_answer_in_their_language(
    hass: HomeAssistant, language: str, answer: str
) -> None:
    """LLM agents call the intents in the user's language: English if no voice."""
    response = await intent.async_handle(
        hass,
        "test",
        INTENT_SET_POWER_PERCENT,
        {"name": {"value": MINER}, "percent": {"value": 70}},
        language=language,
    )

    assert speech(response) == answer


@pytest.mark.parametrize(
    ("language", "sentence", "built_in_intent"),
    [
        ("de", "schalte garage-m30 aus", "HassTurnOff"),
        ("de", "stoppe garage-m30", "HassTurnOff"),
        ("de", "schalte garage-m30 ein", "HassTurnOn"),
        ("de", "pausiere den Fernseher", None),
        ("es", "apaga garage-m30", "HassTurnOff"),
        ("es", "enciende garage-m30", "HassTurnOn"),
        ("es", "pausa la televisión", None),
        ("fr", "éteins garage-m30", "HassTurnOff"),
        ("fr", "allume garage-m30", "HassTurnOn"),
        ("fr", "mets la télé en pause", None),
    ],
)
@pytest.mark.usefixtures("init_any_integration", "assist")
async def test_builtin_sentences_stay_built_in_in_other_languages(
    hass: HomeAssistant, language: str, sentence: str, built_in_intent: str | None
) -> None:
    """Our wildcard sentences do not catch what Assist understands itself.

    The mining switch, named as its miner, is switched by Assist's own sentences;
    a pause without "mining" is no sentence of ours (no media player here: no
    intent at all).
    """
    response = await say(hass, sentence, language)

    assert intent_type(response) == built_in_intent
    if built_in_intent is not None:
        assert response.response_type is intent.IntentResponseType.ACTION_DONE
        expected = "on" if built_in_intent == "HassTurnOn" else "off"
        assert hass.states.get(MINING_SWITCH).state == expected
