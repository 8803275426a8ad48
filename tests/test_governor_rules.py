"""The governor's rules and bookkeeping, without Home Assistant or a miner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.miner_hub.governor import (
    Change,
    ChangeKind,
    GovernorLedger,
    GovernorRules,
    describe,
    shown_value,
)

RULES = GovernorRules(
    min_disruptive_interval=timedelta(minutes=10),
    max_disruptive_per_day=3,
    min_power_percent_interval=timedelta(minutes=2),
)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def minutes(value: float) -> datetime:
    return T0 + timedelta(minutes=value)


def test_a_first_change_is_due_at_once() -> None:
    ledger = GovernorLedger()
    assert ledger.due(ChangeKind.MINING, RULES, T0) == T0
    assert ledger.due(ChangeKind.POWER_PERCENT, RULES, T0) == T0


def test_disruptive_changes_are_spaced() -> None:
    ledger = GovernorLedger()
    ledger.record(ChangeKind.POWER_MODE, T0)
    assert ledger.due(ChangeKind.MINING, RULES, minutes(1)) == minutes(10)
    assert ledger.due(ChangeKind.REBOOT, RULES, minutes(12)) == minutes(12)
    # Power percent has its own, gentler pace.
    assert ledger.due(ChangeKind.POWER_PERCENT, RULES, minutes(1)) == minutes(1)


def test_at_most_so_many_disruptive_changes_in_24_hours() -> None:
    ledger = GovernorLedger()
    for offset in (0, 60, 120):
        ledger.record(ChangeKind.MINING, minutes(offset))
    # The fourth waits until the first is a day old.
    assert ledger.due(ChangeKind.MINING, RULES, minutes(180)) == minutes(24 * 60)
    assert len(ledger.applied_since(minutes(180) - timedelta(hours=24))) == 3
    ledger.record(ChangeKind.MINING, minutes(24 * 60))
    assert ledger.applied == [minutes(60), minutes(120), minutes(24 * 60)]


def test_power_percent_changes_are_spaced() -> None:
    ledger = GovernorLedger()
    ledger.record(ChangeKind.POWER_PERCENT, T0)
    assert ledger.due(ChangeKind.POWER_PERCENT, RULES, minutes(1)) == minutes(2)
    assert ledger.applied == []  # not a disruptive change


def test_the_last_request_of_a_kind_wins() -> None:
    ledger = GovernorLedger()
    ledger.hold(Change(ChangeKind.MINING, False, minutes(1)))
    ledger.hold(Change(ChangeKind.POWER_PERCENT, {"percent": 50, "mode": "normal"}, T0))
    ledger.hold(Change(ChangeKind.MINING, True, minutes(2)))
    assert [change.value for change in ledger.held.values()] == [
        {"percent": 50, "mode": "normal"},
        True,
    ]
    released = ledger.release(ChangeKind.MINING)
    assert released is not None
    assert released.value is True
    assert ledger.release(ChangeKind.MINING) is None


def test_next_due_is_the_earliest_held_change() -> None:
    ledger = GovernorLedger()
    assert ledger.next_due(RULES, T0) is None
    ledger.record(ChangeKind.MINING, T0)
    ledger.record(ChangeKind.POWER_PERCENT, T0)
    ledger.hold(Change(ChangeKind.MINING, False, minutes(1)))
    ledger.hold(Change(ChangeKind.POWER_PERCENT, {"percent": 70, "mode": "normal"}, T0))
    assert ledger.next_due(RULES, minutes(1)) == minutes(2)


def test_the_ledger_survives_storage() -> None:
    ledger = GovernorLedger()
    ledger.record(ChangeKind.MINING, T0)
    ledger.record(ChangeKind.POWER_PERCENT, minutes(3))
    ledger.hold(Change(ChangeKind.POWER_MODE, "low", minutes(4)))
    restored = GovernorLedger.from_dict(ledger.as_dict())
    assert restored == ledger


@pytest.mark.parametrize(
    ("change", "text", "shown"),
    [
        (Change(ChangeKind.MINING, False, T0), "mining off", False),
        (Change(ChangeKind.MINING, True, T0), "mining on", True),
        (Change(ChangeKind.POWER_MODE, "low", T0), "power mode low", "low"),
        (Change(ChangeKind.REBOOT, None, T0), "reboot", None),
        (
            Change(ChangeKind.POWER_PERCENT, {"percent": 40, "mode": "normal"}, T0),
            "power percent 40",
            40,
        ),
        (
            Change(
                ChangeKind.POOLS,
                [{"url": "stratum+tcp://a:3333", "worker": "w", "password": "s3cret"}],
                T0,
            ),
            "pools ['stratum+tcp://a:3333']",
            ["stratum+tcp://a:3333"],
        ),
        (
            Change(
                ChangeKind.FIRMWARE,
                {"version": "t1_2", "url": "http://x", "notes": None},
                T0,
            ),
            "firmware t1_2",
            "t1_2",
        ),
    ],
)
def test_changes_are_shown_without_secrets(
    change: Change, text: str, shown: object
) -> None:
    assert describe(change) == text
    assert shown_value(change) == shown
    assert "s3cret" not in describe(change)
