"""Parsing of DragonMint chains: which hashrate window by the time since cgminer started.

The firmware's web page shows ``MHS 5s`` until ``Device Elapsed`` reaches 300 s and
``MHS 1m`` until 900 s (dragonmint.md §5.2); Miner Hub does the same and then keeps
``MHS 5m`` (the firmware goes on to ``MHS 15m`` after an hour).
"""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.miner_hub.protocol.dragonmint import parse

# One chain as cgminer reports it, each window a different value (MH/s) so the
# chosen one is recognisable.
WINDOWS = {
    "MHS 5s": 5_000_000.0,
    "MHS 1m": 4_000_000.0,
    "MHS 5m": 3_000_000.0,
    "MHS 15m": 2_000_000.0,
    "MHS av": 1_000_000.0,
}


def _chain(**fields: Any) -> dict[str, Any]:
    return {"ID": 0, "Status": "Alive", **WINDOWS, **fields}


@pytest.mark.parametrize(
    ("elapsed", "window"),
    [
        (0, "MHS 5s"),
        (59, "MHS 5s"),
        (60, "MHS 5s"),  # the firmware's 5 s window lasts the whole first 5 min
        (299, "MHS 5s"),
        (300, "MHS 1m"),
        (301, "MHS 1m"),
        (899, "MHS 1m"),
        (900, "MHS 5m"),
        (901, "MHS 5m"),
        (3599, "MHS 5m"),
        (3600, "MHS 5m"),  # not MHS 15m, unlike the firmware's page
        (4792, "MHS 5m"),
        ("250", "MHS 5s"),  # numeric text
    ],
)
def test_window_by_device_elapsed(elapsed: Any, window: str) -> None:
    chain = parse.chain_from(0, _chain(**{"Device Elapsed": elapsed}))
    assert chain.hashrate_ths == pytest.approx(WINDOWS[window] / 1e6)
    assert chain.hashrate_average_ths == pytest.approx(1.0)


@pytest.mark.parametrize("elapsed", [None, -5, "soon", []])
def test_unknown_elapsed_uses_the_5_minute_window(elapsed: Any) -> None:
    record = _chain(**{"Device Elapsed": elapsed})
    if elapsed is None:
        del record["Device Elapsed"]
    chain = parse.chain_from(0, record)
    assert chain.hashrate_ths == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("elapsed", "missing", "expected"),
    [
        (10, ("MHS 5s",), 4.0),
        (10, ("MHS 5s", "MHS 1m"), 3.0),
        (10, ("MHS 5s", "MHS 1m", "MHS 5m"), 1.0),
        (400, ("MHS 1m",), 3.0),
        (400, ("MHS 1m", "MHS 5m"), 1.0),
        (1000, ("MHS 5m",), 4.0),
        (1000, ("MHS 5m", "MHS 1m"), 1.0),
        (1000, ("MHS 5m", "MHS 1m", "MHS av"), None),
    ],
)
def test_missing_window_falls_back(
    elapsed: int, missing: tuple[str, ...], expected: float | None
) -> None:
    record = _chain(**{"Device Elapsed": elapsed})
    for key in missing:
        del record[key]
    assert parse.chain_from(0, record).hashrate_ths == (
        None if expected is None else pytest.approx(expected)
    )


def test_ramp_after_restart_is_not_shown() -> None:
    """A minute after a restart the 5 s window is the rate, the 5 min one is not."""
    rate = 4_900_000.0
    record = {
        "ID": 1,
        "Device Elapsed": 60,
        "MHS 5s": rate,
        "MHS 1m": rate * 0.63,
        "MHS 5m": rate * 0.18,
        "MHS 15m": rate * 0.06,
        "MHS av": rate * 0.67,
    }
    assert parse.chain_from(1, record).hashrate_ths == pytest.approx(4.9)


def test_innosilicon_hash_rate_h_wins() -> None:
    """``Hash Rate H`` (H/s) is already the backend's window choice."""
    record = _chain(**{"Device Elapsed": 10, "Hash Rate H": 4.9e12})
    assert parse.chain_from(0, record).hashrate_ths == pytest.approx(4.9)


def test_elapsed_is_kept() -> None:
    assert parse.chain_from(0, _chain(**{"Device Elapsed": "77"})).elapsed_s == 77
