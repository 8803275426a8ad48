"""The full power a miner draws at 100 %, learned from its reports (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.miner_hub.power import SETTLE, SHOWN_BAND, FullPower

START = datetime(2026, 6, 21, 6, 0, tzinfo=UTC)


def _observe(
    full: FullPower,
    power_w: float | None,
    percent: int,
    *,
    now: datetime = START,
    mining: bool | None = True,
    power_limit_w: float | None = None,
) -> None:
    full.observe(
        power_w=power_w,
        percent=percent,
        mining=mining,
        power_limit_w=power_limit_w,
        now=now,
    )


def test_unknown_until_a_report() -> None:
    full = FullPower(30)
    assert full.watts is None
    assert full.floor_w is None
    assert full.watts_at(50) is None
    with pytest.raises(ValueError, match="not known"):
        full.percent_for(1000)


def test_learns_from_a_report_at_any_percent() -> None:
    full = FullPower(30)
    _observe(full, 1700, 50)
    assert full.watts == 3400
    assert full.floor_w == 1020
    assert full.watts_at(80) == 2720
    assert full.percent_for(2380) == 70


def test_percent_stays_between_floor_and_full() -> None:
    full = FullPower(30)
    _observe(full, 3400, 100)
    assert full.percent_for(100) == 30
    assert full.percent_for(0) == 30
    assert full.percent_for(9000) == 100


@pytest.mark.parametrize(
    ("power_w", "percent", "mining"),
    [
        (None, 100, True),  # no power reported
        (0, 100, True),  # idle
        (3400, 100, False),  # not mining: the fans' draw says nothing
        (3400, 100, None),
        (300, 10, True),  # too low a base to scale up from
    ],
)
def test_reports_that_teach_nothing(
    power_w: float | None, percent: int, mining: bool | None
) -> None:
    full = FullPower(30)
    _observe(full, power_w, percent, mining=mining)
    assert full.watts is None


def test_reports_in_motion_after_a_change_are_ignored() -> None:
    full = FullPower(30)
    _observe(full, 3400, 100)
    full.changed(START)
    # Half-way down a ramp to 50 %: 2550 W read as "50 %" would say 5100 W.
    _observe(full, 2550, 50, now=START + SETTLE - timedelta(seconds=1))
    assert full.watts == 3400
    _observe(full, 1800, 50, now=START + SETTLE)
    assert full.watts == 3500  # half way from 3400 towards 3600


def test_corrects_towards_the_reports() -> None:
    """A wrong first guess (the percent was not 100) converges in a few polls."""
    full = FullPower(30)
    _observe(full, 2720, 100)  # the miner really ran at 80 %
    full.changed(START)
    later = START + SETTLE
    for _ in range(8):
        _observe(full, 1700, 50, now=later)  # 3400 W at 100 %
    assert full.watts == pytest.approx(3400, rel=SHOWN_BAND)


def test_noise_does_not_move_what_is_shown() -> None:
    """Reports within ±1 % keep the shown value (and the entity's range) still."""
    full = FullPower(30)
    _observe(full, 3400, 100)
    for power_w in (3430, 3370, 3420, 3380, 3410):
        _observe(full, power_w, 100)
    assert full.watts == 3400


def test_never_above_the_power_limit() -> None:
    full = FullPower(30)
    _observe(full, 3000, 60, power_limit_w=3300)
    assert full.watts == 3300
    _observe(full, 3000, 60, power_limit_w=0)  # 0: no limit reported
    assert full.watts == 4150
