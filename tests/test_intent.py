"""Voice control through Assist, against the emulated miners over TCP.

The sentences are the repository's ``custom_sentences/en/miner_hub.yaml``, copied
where a user copies them; every test speaks to Home Assistant's own conversation
agent (``conversation.async_converse``), as Assist does.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import shutil

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

from custom_components.miner_hub.const import DOMAIN, REFRESH_COOLDOWN_S
from custom_components.miner_hub.intent import (
    INTENT_GET_HASHRATE,
    INTENT_SET_MINING,
    INTENT_SET_POWER_PERCENT,
)
from tests.conftest import (
    DRAGONMINT_TITLE,
    EmulatedWhatsminer,
    poll,
    setup_integration,
)
from tests.emulators import DragonMintEmulator
from tests.heating.home import HEATER, heater_entry, set_room

SENTENCES = Path(__file__).parent.parent / "custom_sentences" / "en" / "miner_hub.yaml"
MINER = "garage-m30"
MINING_SWITCH = "switch.garage_m30"
POWER_PERCENT = "number.garage_m30_power_percent"
HASHRATE = "sensor.garage_m30_hashrate"


def _copy_sentences(target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SENTENCES, target / SENTENCES.name)


@pytest.fixture
async def assist(hass: HomeAssistant) -> None:
    """Assist's conversation agent, with our sentences where a user puts them."""
    await hass.async_add_executor_job(
        _copy_sentences, Path(hass.config.path("custom_sentences", "en"))
    )
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})


async def say(hass: HomeAssistant, text: str) -> intent.IntentResponse:
    """What Assist answers to ``text``, once the refresh after a command ran.

    Refreshes after commands are at least REFRESH_COOLDOWN_S apart: the clock moves
    on by that much, as a user takes longer than that between two sentences.
    """
    result = await conversation.async_converse(
        hass, text, None, Context(), language="en"
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
