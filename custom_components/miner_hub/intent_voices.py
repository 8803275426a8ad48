"""What Assist answers about miners, in the language of the request.

English, German, Spanish and French; other languages get English. The answers
are set by the intent handlers (``intent.py``) whoever calls them: sentences of
the built-in agent, scripts or LLM agents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class Say(StrEnum):
    """What Assist says; every language of ``VOICES`` has a text for each."""

    SET_POWER_PERCENT = "set_power_percent"
    PAUSED = "paused"
    RESUMED = "resumed"
    HASHRATE = "hashrate"
    HASHRATE_UNKNOWN = "hashrate_unknown"
    NOT_MINING = "not_mining"
    UNKNOWN_MINER = "unknown_miner"
    NOT_EXPOSED = "not_exposed"
    POOL_ACCOUNT = "pool_account"
    POOL_WORKER = "pool_worker"
    SEVERAL_MINERS = "several_miners"
    UNAVAILABLE = "unavailable"
    NO_POWER_PERCENT = "no_power_percent"
    NO_MINING_SWITCH = "no_mining_switch"


@dataclass(frozen=True, slots=True)
class Voice:
    """How Miner Hub answers in one language."""

    language: str
    decimal_separator: str
    texts: Mapping[Say, str]

    def say(self, what: Say, **values: str) -> str:
        """The text of ``what`` with its placeholders filled in."""
        return self.texts[what].format(**values)

    def number(self, value: float) -> str:
        """As the sensor shows it (two decimals), without trailing zeros."""
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        return text.replace(".", self.decimal_separator)


ENGLISH: Final = "en"

# The answers, per language of the request. Placeholders: {name} (the miner's
# device name), {percent}, {hashrate} and {unit} (TH/s).

_EN: Final[Mapping[Say, str]] = {  # English
    Say.SET_POWER_PERCENT: "Set the power of {name} to {percent}%",
    Say.PAUSED: "Paused mining on {name}",
    Say.RESUMED: "Resumed mining on {name}",
    Say.HASHRATE: "{name} is hashing at {hashrate} {unit}",
    Say.HASHRATE_UNKNOWN: "The hashrate of {name} is unknown",
    Say.NOT_MINING: "{name} is not mining",
    Say.UNKNOWN_MINER: "Sorry, I am not aware of any miner called {name}",
    Say.NOT_EXPOSED: "Sorry, {name} is not exposed",
    Say.POOL_ACCOUNT: "Sorry, {name} is a pool account, not a miner",
    Say.POOL_WORKER: "Sorry, {name} is a pool worker, not a miner",
    Say.SEVERAL_MINERS: "Sorry, there are several miners called {name}",
    Say.UNAVAILABLE: "Sorry, {name} is not available right now",
    Say.NO_POWER_PERCENT: "Sorry, {name} cannot set its power percent",
    Say.NO_MINING_SWITCH: "Sorry, {name} cannot pause and resume mining",
}

_DE: Final[Mapping[Say, str]] = {  # German
    Say.SET_POWER_PERCENT: "Leistung von {name} auf {percent} % gesetzt",
    Say.PAUSED: "Mining auf {name} pausiert",
    Say.RESUMED: "Mining auf {name} fortgesetzt",
    Say.HASHRATE: "Die Hashrate von {name} beträgt {hashrate} {unit}",
    Say.HASHRATE_UNKNOWN: "Die Hashrate von {name} ist unbekannt",
    Say.NOT_MINING: "{name} schürft gerade nicht",
    Say.UNKNOWN_MINER: "Leider kenne ich keinen Miner namens {name}",
    Say.NOT_EXPOSED: "Leider ist {name} nicht freigegeben",
    Say.POOL_ACCOUNT: "Leider ist {name} ein Pool-Konto und kein Miner",
    Say.POOL_WORKER: "Leider ist {name} ein Pool-Worker und kein Miner",
    Say.SEVERAL_MINERS: "Leider gibt es mehrere Miner namens {name}",
    Say.UNAVAILABLE: "Leider ist {name} gerade nicht verfügbar",
    Say.NO_POWER_PERCENT: (
        "Leider kann {name} seine Leistung nicht in Prozent einstellen"
    ),
    Say.NO_MINING_SWITCH: (
        "Leider kann {name} das Mining nicht pausieren und fortsetzen"
    ),
}

_ES: Final[Mapping[Say, str]] = {  # Spanish
    Say.SET_POWER_PERCENT: "Potencia de {name} establecida al {percent} %",
    Say.PAUSED: "Minería en pausa en {name}",
    Say.RESUMED: "Minería reanudada en {name}",
    Say.HASHRATE: "El hashrate de {name} es de {hashrate} {unit}",
    Say.HASHRATE_UNKNOWN: "No se conoce el hashrate de {name}",
    Say.NOT_MINING: "{name} no está minando",
    Say.UNKNOWN_MINER: "Lo siento, no conozco ningún minero llamado {name}",
    Say.NOT_EXPOSED: "Lo siento, {name} no se expone al asistente",
    Say.POOL_ACCOUNT: "Lo siento, {name} es una cuenta de pool, no un minero",
    Say.POOL_WORKER: "Lo siento, {name} es un worker de pool, no un minero",
    Say.SEVERAL_MINERS: "Lo siento, hay varios mineros llamados {name}",
    Say.UNAVAILABLE: "Lo siento, {name} no está disponible ahora mismo",
    Say.NO_POWER_PERCENT: (
        "Lo siento, {name} no puede establecer su porcentaje de potencia"
    ),
    Say.NO_MINING_SWITCH: "Lo siento, {name} no puede pausar ni reanudar la minería",
}

_FR: Final[Mapping[Say, str]] = {  # French
    Say.SET_POWER_PERCENT: "Puissance de {name} réglée à {percent} %",
    Say.PAUSED: "Minage mis en pause sur {name}",
    Say.RESUMED: "Minage repris sur {name}",
    Say.HASHRATE: "Le hashrate de {name} est de {hashrate} {unit}",
    Say.HASHRATE_UNKNOWN: "Le hashrate de {name} est inconnu",
    Say.NOT_MINING: "{name} ne mine pas",
    Say.UNKNOWN_MINER: "Désolé, je ne connais aucun mineur nommé {name}",
    Say.NOT_EXPOSED: "Désolé, {name} n'est pas exposé",
    Say.POOL_ACCOUNT: "Désolé, {name} est un compte de pool, pas un mineur",
    Say.POOL_WORKER: "Désolé, {name} est un worker de pool, pas un mineur",
    Say.SEVERAL_MINERS: "Désolé, plusieurs mineurs sont nommés {name}",
    Say.UNAVAILABLE: "Désolé, {name} n'est pas disponible pour le moment",
    Say.NO_POWER_PERCENT: (
        "Désolé, {name} ne peut pas régler son pourcentage de puissance"
    ),
    Say.NO_MINING_SWITCH: (
        "Désolé, {name} ne peut ni mettre en pause ni reprendre le minage"
    ),
}

VOICES: Final[Mapping[str, Voice]] = {
    voice.language: voice
    for voice in (
        Voice(ENGLISH, ".", _EN),
        Voice("de", ",", _DE),
        Voice("es", ",", _ES),
        Voice("fr", ",", _FR),
    )
}


def voice_for(language: str | None) -> Voice:
    """The voice of a request's language ("de-CH" is German), else English."""
    primary = (language or "").replace("_", "-").split("-")[0].casefold()
    return VOICES.get(primary, VOICES[ENGLISH])
