"""The hashrates of API v2: which unit a firmware reports, and every window.

Classic firmware reports MH/s; v2-compat firmware (2024-11 on) reports TH/s in
the same keys. Whatever it reports, callers get TH/s.
"""

from __future__ import annotations

from typing import Final, TypedDict

from ...fields import Fields, scaled

_MHS_TO_THS: Final = 1e-6
_HASHRATE_KEYS = ("MHS av", "MHS 5s", "MHS 1m", "MHS 5m", "MHS 15m", "HS RT")


def hashrate_factor(fields: Fields, expected_ths: float | None) -> float:
    """Factor that converts this record's hashrates to TH/s.

    Classic firmware reports MH/s; v2-compat firmware (2024-11 on) reports TH/s in
    the same keys, and the sources disagree on which keys. A miner cannot hash at
    three times its factory rate, so a larger number can only be MH/s. Without a
    plausible factory rate (at least 1 TH/s) a number above 1000 is MH/s.
    """
    values = [abs(value) for value in map(fields.number, _HASHRATE_KEYS) if value]
    if not values:
        return _MHS_TO_THS
    limit = 3 * expected_ths if expected_ths and expected_ths >= 1 else 1000
    return _MHS_TO_THS if max(values) > limit else 1.0


class Hashrates(TypedDict):
    """The fields of V2Hashrates, for a summary or a board."""

    hashrate_ths: float | None
    hashrate_5s_ths: float | None
    hashrate_1m_ths: float | None
    hashrate_5m_ths: float | None
    hashrate_15m_ths: float | None
    hashrate_realtime_ths: float | None


def hashrates(fields: Fields, factor: float) -> Hashrates:
    """Every hashrate window of a record, in TH/s (``factor`` from MH/s if so)."""
    return Hashrates(
        hashrate_ths=scaled(fields.number("MHS av"), factor),
        hashrate_5s_ths=scaled(fields.number("MHS 5s"), factor),
        hashrate_1m_ths=scaled(fields.number("MHS 1m"), factor),
        hashrate_5m_ths=scaled(fields.number("MHS 5m"), factor),
        hashrate_15m_ths=scaled(fields.number("MHS 15m"), factor),
        hashrate_realtime_ths=scaled(fields.number("HS RT"), factor),
    )


def factory_ths(fields: Fields) -> float | None:
    """The factory hashrate (reported in GH/s), in TH/s."""
    factory_ghs = fields.number("Factory GHS", "HS Factory")
    return factory_ghs / 1000 if factory_ghs else None
