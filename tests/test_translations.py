"""Translations: every language file mirrors en.json, and Home Assistant uses it.

en.json is the source of truth. Every other ``translations/*.json`` must have
exactly its keys, the same ``{placeholders}`` in every string (Home Assistant
drops a translated string whose placeholders differ from English and shows the
English one), no empty string, and en.json's layout, so that a diff between two
languages lines up. The languages are the files present when the tests are
collected, so a new language is checked without touching this file.

Then Home Assistant itself loads them: every string of a language comes back
from its translation cache, the config flow's steps and fields have labels in
that language, and entities set up while Home Assistant speaks it are named in
it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import json
from pathlib import Path
import string
from typing import Any, Final

from homeassistant import config_entries
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.miner_hub
from custom_components.miner_hub.const import DOMAIN
from tests.conftest import only_platforms, setup_integration

TRANSLATIONS: Final = Path(custom_components.miner_hub.__file__).parent / "translations"
ENGLISH: Final = "en"
LANGUAGES: Final = sorted(
    path.stem for path in TRANSLATIONS.glob("*.json") if path.stem != ENGLISH
)
ALL_FILES: Final = [ENGLISH, *LANGUAGES]
# Home Assistant speaks each of them in turn (German among them): a case each,
# all cheap, so every language file is also checked the way Home Assistant
# reads it.
HA_LANGUAGES: Final = LANGUAGES

type Key = tuple[str, ...]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads`` keeps the last of duplicate keys silently; refuse them."""
    keys = [key for key, _ in pairs]
    if duplicates := sorted({key for key in keys if keys.count(key) > 1}):
        raise ValueError(f"duplicate keys {duplicates}")
    return dict(pairs)


def _text(language: str) -> str:
    """The file's text, which must be UTF-8."""
    return (TRANSLATIONS / f"{language}.json").read_bytes().decode("utf-8")


def _load(language: str) -> dict[str, Any]:
    return json.loads(_text(language), object_pairs_hook=_no_duplicates)


def _nodes(tree: Mapping[str, Any], key: Key = ()) -> Iterator[tuple[Key, Any]]:
    """Every key of the tree, objects as well as strings, depth first."""
    for name, value in tree.items():
        yield (*key, name), value
        if isinstance(value, Mapping):
            yield from _nodes(value, (*key, name))


def _strings(tree: Mapping[str, Any]) -> dict[Key, str]:
    return {key: value for key, value in _nodes(tree) if isinstance(value, str)}


def _dotted(key: Key) -> str:
    return ".".join(key)


def placeholders(text: str) -> frozenset[str]:
    """The ``{name}`` placeholders of a string, parsed as Home Assistant does.

    Home Assistant compares a translation's placeholders with English through
    ``string.Formatter().parse``: ``{{`` and ``}}`` are literal braces, and a
    lone brace is an error (``ValueError``).
    """
    return frozenset(
        field for _, field, _, _ in string.Formatter().parse(text) if field is not None
    )


def _report(language: str, problems: list[str]) -> str:
    return f"{language}.json:\n  " + "\n  ".join(problems)


# --- the files --------------------------------------------------------------------


def test_languages_present() -> None:
    """The languages this module checks (besides English) include these."""
    assert {"nl", "pt-BR", "ru", "zh-Hans"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", ALL_FILES)
def test_valid_utf8_json_of_strings(language: str) -> None:
    """Each file is UTF-8 JSON without duplicate keys, of objects and strings."""
    tree = _load(language)
    assert isinstance(tree, dict)
    others = [
        f"{_dotted(key)}: {type(value).__name__}"
        for key, value in _nodes(tree)
        if not isinstance(value, (str, dict))
    ]
    assert not others, _report(language, others)


@pytest.mark.parametrize("language", ALL_FILES)
def test_placeholders_parse(language: str) -> None:
    """No lone brace: Home Assistant could not parse such a string."""
    problems = []
    for key, text in _strings(_load(language)).items():
        try:
            placeholders(text)
        except ValueError as err:
            problems.append(f"{_dotted(key)}: {err}: {text!r}")
    assert not problems, _report(language, problems)


@pytest.mark.parametrize("language", ALL_FILES)
def test_no_empty_string(language: str) -> None:
    empty = [
        _dotted(key)
        for key, text in _strings(_load(language)).items()
        if not text.strip()
    ]
    assert not empty, _report(language, [f"{key} is empty" for key in empty])


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_keys_as_english(language: str) -> None:
    """Exactly en.json's keys, each a string where English has a string."""
    english = dict(_nodes(_load(ENGLISH)))
    translated = dict(_nodes(_load(language)))
    # Only the outermost key of what is missing (or extra), not all under it.
    problems = [
        f"missing {_dotted(key)}"
        for key in english
        if key not in translated and (len(key) == 1 or key[:-1] in translated)
    ]
    problems += [
        f"not in en.json: {_dotted(key)}"
        for key in translated
        if key not in english and (len(key) == 1 or key[:-1] in english)
    ]
    problems += [
        f"{_dotted(key)} is {type(translated[key]).__name__}, "
        f"in en.json {type(value).__name__}"
        for key, value in english.items()
        if key in translated
        and isinstance(value, str) != isinstance(translated[key], str)
    ]
    assert not problems, _report(language, problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_same_placeholders_as_english(language: str) -> None:
    """The same set of ``{placeholders}`` in every string as in English."""
    english = _strings(_load(ENGLISH))
    problems = []
    for key, text in _strings(_load(language)).items():
        if key not in english:
            continue  # test_same_keys_as_english reports it
        try:
            found = placeholders(text)
        except ValueError:
            continue  # test_placeholders_parse reports it
        if found != (expected := placeholders(english[key])):
            problems.append(
                f"{_dotted(key)}: {{{', '.join(sorted(found))}}}, "
                f"en.json has {{{', '.join(sorted(expected))}}}"
            )
    assert not problems, _report(language, problems)


def test_english_layout() -> None:
    """en.json is two-space indented, unescaped UTF-8, with a final newline.

    Its keys are in a deliberate order, not sorted: the other files follow it.
    """
    text = _text(ENGLISH)
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("language", LANGUAGES)
def test_layout_like_english(language: str) -> None:
    """Indented like en.json, characters unescaped, keys in en.json's order."""
    text = _text(language)
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n", (
        f"{language}.json is not laid out like en.json "
        "(json.dumps(..., indent=2, ensure_ascii=False) and a final newline)"
    )
    english = {(): _load(ENGLISH), **dict(_nodes(_load(ENGLISH)))}
    translated = {(): _load(language), **dict(_nodes(_load(language)))}
    problems = []
    for key, value in translated.items():
        if not isinstance(value, dict) or not isinstance(english.get(key), dict):
            continue
        order = [name for name in english[key] if name in value]
        if (found := [name for name in value if name in english[key]]) != order:
            problems.append(f"{_dotted(key) or '(top)'}: {found}, en.json: {order}")
    assert not problems, _report(language, problems)


# --- Home Assistant loads them ----------------------------------------------------


@pytest.fixture
def hass_language(request: pytest.FixtureRequest, hass: HomeAssistant) -> str:
    """Home Assistant speaks the test's language."""
    hass.config.language = request.param
    return str(request.param)


@pytest.mark.parametrize("hass_language", HA_LANGUAGES, indirect=True)
async def test_home_assistant_loads_every_string(
    hass: HomeAssistant, hass_language: str
) -> None:
    """Each string comes back from Home Assistant's cache in the language.

    A string Home Assistant refuses (placeholders unlike English) would come
    back in English instead; a file it cannot read, all of them.
    """
    language = hass_language
    tree = _load(language)
    english = _load(ENGLISH)
    config = await async_get_translations(hass, language, "config", [DOMAIN])
    title = f"component.{DOMAIN}.config.step.user.title"
    assert config[title] == tree["config"]["step"]["user"]["title"]
    assert config[title] != english["config"]["step"]["user"]["title"]

    problems = []
    for category, strings in tree.items():
        loaded = await async_get_translations(hass, language, category, [DOMAIN])
        for key, text in _strings(strings).items():
            full = f"component.{DOMAIN}.{category}.{_dotted(key)}"
            if loaded.get(full) != text:
                problems.append(f"{full}: {loaded.get(full)!r}, file has {text!r}")
    assert not problems, _report(language, problems)


def _fields(schema: Any) -> Iterator[tuple[Key, str]]:
    """(section,) or () with each field name of a form's schema."""
    for marker, value in schema.schema.items():
        if isinstance(value, section):
            yield from (((str(marker),), name) for _, name in _fields(value.schema))
        else:
            yield (), str(marker)


@pytest.mark.parametrize("hass_language", HA_LANGUAGES, indirect=True)
async def test_config_flow_shows_translated_labels(
    hass: HomeAssistant, hass_language: str
) -> None:
    """The steps the flow manager shows have a title and labels in the language.

    The user step is a menu; each option that opens a form is followed, and
    every field of that form (also inside a section) has a label.
    """
    language = hass_language
    tree = _load(language)
    shown = await async_get_translations(hass, language, "config", [DOMAIN])
    prefix = f"component.{DOMAIN}.config.step"
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert shown[f"{prefix}.user.title"] == tree["config"]["step"]["user"]["title"]
    options = list(result["menu_options"])
    assert options
    await _abort(hass, result["flow_id"])

    problems = [
        f"menu option {option}"
        for option in options
        if shown.get(f"{prefix}.user.menu_options.{option}")
        != tree["config"]["step"]["user"]["menu_options"].get(option)
    ]
    forms = 0
    for option in options:
        result = await hass.config_entries.flow.async_init(
            DOMAIN, context={"source": config_entries.SOURCE_USER}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": option}
        )
        if result["type"] is FlowResultType.FORM:
            forms += 1
            step = result["step_id"]
            if f"{prefix}.{step}.title" not in shown:
                problems.append(f"{step}: no title")
            for where, field in _fields(result["data_schema"]):
                base = f"{prefix}.{step}" + "".join(f".sections.{s}" for s in where)
                if where and f"{base}.name" not in shown:
                    problems.append(f"{step}: no name of section {where[0]}")
                if f"{base}.data.{field}" not in shown:
                    problems.append(f"{step}: no label of {_dotted((*where, field))}")
        if result["type"] in (FlowResultType.FORM, FlowResultType.MENU):
            await _abort(hass, result["flow_id"])
    assert forms >= 3  # Whatsminer, DragonMint, Spiderpool at least
    assert not problems, _report(language, problems)


async def _abort(hass: HomeAssistant, flow_id: str) -> None:
    hass.config_entries.flow.async_abort(flow_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("hass_language", HA_LANGUAGES, indirect=True)
async def test_entity_names_translated(
    hass: HomeAssistant,
    hass_language: str,
    mock_config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Entities of a miner set up in the language are named in it.

    Home Assistant names a ``has_entity_name`` entity from the translations of
    ``hass.config.language`` when it registers it; a per-board sensor fills
    its ``{board}`` placeholder.
    """
    language = hass_language
    with only_platforms(Platform.SENSOR):
        entry = await setup_integration(hass, mock_config_entry)
    names = _load(language)["entity"]["sensor"]
    entities = {
        (item.translation_key, item.original_name): item
        for item in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    }
    device = dr.async_entries_for_config_entry(device_registry, entry.entry_id)[0]
    expected = [
        ("hashrate", names["hashrate"]["name"]),
        ("temperature", names["temperature"]["name"]),
        ("uptime", names["uptime"]["name"]),
        ("board_hashrate", names["board_hashrate"]["name"].format(board="1")),
    ]
    for translation_key, name in expected:
        found = entities.get((translation_key, name))
        assert found is not None, (
            f"{language}: no {translation_key} entity named {name!r}; names: "
            f"{sorted(str(n) for k, n in entities if k == translation_key)}"
        )
        state = hass.states.get(found.entity_id)
        assert state is not None
        assert state.attributes["friendly_name"] == f"{device.name} {name}"
