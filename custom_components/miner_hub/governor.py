"""The command governor: disruptive changes at a pace the hardware takes.

A change that stops, starts or restarts mining or the miner (mining on or off,
power limit, power mode, auto-tune profile, pools, restart mining, reboot) puts
the hashboards and the power supply through a cold start, and the hashrate drops
for minutes: done all day by an automation, it wears the hardware out. The
governor lets such changes through at most once per ``min_disruptive_interval``
and ``max_disruptive_per_day`` times in any 24 hours; power percent in normal
mode (no restart) has its own, gentler ``min_power_percent_interval``.

A change that comes too early is held, not refused: it is applied as soon as the
rules allow, a newer request of the same kind replaces it (the last one wins), and
a request that matches the miner's state cancels it. Held changes and the count
of the last 24 hours are stored, so they survive a restart of Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import (
    CONF_MAX_DISRUPTIVE_CHANGES,
    CONF_MIN_DISRUPTIVE_INTERVAL,
    CONF_MIN_POWER_PERCENT_INTERVAL,
    DEFAULT_MAX_DISRUPTIVE_CHANGES,
    DEFAULT_MIN_DISRUPTIVE_INTERVAL,
    DEFAULT_MIN_POWER_PERCENT_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .helpers import (
    MinerUnavailableError,
    OutcomeUnknownError,
    without_url_credentials,
)

DAY: Final = timedelta(hours=24)
STORE_VERSION: Final = 1
# Held changes are saved this long after the last change (a burst is one write).
STORE_SAVE_DELAY_S: Final = 1


class ChangeKind(StrEnum):
    """What a governed change sets."""

    MINING = "mining"
    POWER_LIMIT = "power_limit"
    POWER_MODE = "power_mode"
    AUTOTUNE_MODE = "autotune_mode"
    POOLS = "pools"
    RESTART_MINING = "restart_mining"
    REBOOT = "reboot"
    POWER_OFF = "power_off"
    FIRMWARE = "firmware"
    POWER_PERCENT = "power_percent"

    @property
    def disruptive(self) -> bool:
        """Whether it restarts mining (power percent in normal mode does not)."""
        return self is not ChangeKind.POWER_PERCENT


@dataclass(frozen=True, slots=True)
class Change:
    """A requested change: its kind, the value to set (JSON), when it was asked."""

    kind: ChangeKind
    value: Any
    requested_at: datetime

    def __repr__(self) -> str:
        """Without the value's secrets (a pool password), wherever it is shown."""
        return f"Change({describe(self)!r}, requested_at={self.requested_at})"

    def as_dict(self) -> dict[str, Any]:
        """For storage."""
        return {
            "kind": self.kind.value,
            "value": self.value,
            "requested_at": self.requested_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> Change:
        """As stored by ``as_dict``."""
        return cls(
            ChangeKind(stored["kind"]),
            stored["value"],
            datetime.fromisoformat(stored["requested_at"]),
        )


@dataclass(frozen=True, slots=True)
class GovernorRules:
    """How often changes may reach a miner."""

    min_disruptive_interval: timedelta
    max_disruptive_per_day: int
    min_power_percent_interval: timedelta

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> GovernorRules:
        """The rules a miner's options set (the defaults where they set none)."""
        return cls(
            min_disruptive_interval=timedelta(
                minutes=options.get(
                    CONF_MIN_DISRUPTIVE_INTERVAL, DEFAULT_MIN_DISRUPTIVE_INTERVAL
                )
            ),
            max_disruptive_per_day=options.get(
                CONF_MAX_DISRUPTIVE_CHANGES, DEFAULT_MAX_DISRUPTIVE_CHANGES
            ),
            min_power_percent_interval=timedelta(
                minutes=options.get(
                    CONF_MIN_POWER_PERCENT_INTERVAL, DEFAULT_MIN_POWER_PERCENT_INTERVAL
                )
            ),
        )


def store_key(entry_id: str) -> str:
    """The storage of one miner's held and counted changes."""
    return f"{DOMAIN}.governor.{entry_id}"


@dataclass(slots=True)
class GovernorLedger:
    """What the governor remembers: changes applied and changes held.

    ``applied`` holds the times of the disruptive changes of the last 24 hours;
    ``held`` one change per kind, in the order they were requested.
    """

    applied: list[datetime] = field(default_factory=list)
    last_power_percent: datetime | None = None
    held: dict[ChangeKind, Change] = field(default_factory=dict)

    def due(self, kind: ChangeKind, rules: GovernorRules, now: datetime) -> datetime:
        """When a change of ``kind`` may be applied (``now`` or later)."""
        if not kind.disruptive:
            if self.last_power_percent is None:
                return now
            return max(now, self.last_power_percent + rules.min_power_percent_interval)
        recent = self.applied_since(now - DAY)
        due = now
        if recent:
            due = max(due, recent[-1] + rules.min_disruptive_interval)
        if len(recent) >= rules.max_disruptive_per_day:
            # The oldest change that must leave the window before another fits.
            due = max(due, recent[len(recent) - rules.max_disruptive_per_day] + DAY)
        return due

    def applied_since(self, since: datetime) -> list[datetime]:
        """Disruptive changes applied after ``since``, oldest first."""
        return [when for when in self.applied if when > since]

    def record(self, kind: ChangeKind, when: datetime) -> None:
        """A change of ``kind`` reached the miner (or may have: no reply)."""
        if kind.disruptive:
            self.applied = [*self.applied_since(when - DAY), when]
        else:
            self.last_power_percent = when

    def hold(self, change: Change) -> None:
        """Keep ``change`` until it is due; it replaces a held one of its kind."""
        self.held.pop(change.kind, None)
        self.held[change.kind] = change

    def release(self, kind: ChangeKind) -> Change | None:
        """Forget the held change of ``kind`` (it is applied, or cancelled)."""
        return self.held.pop(kind, None)

    def next_due(self, rules: GovernorRules, now: datetime) -> datetime | None:
        """When the first held change may be applied; None when none is held."""
        return min(
            (self.due(kind, rules, now) for kind in self.held),
            default=None,
        )

    def as_dict(self) -> dict[str, Any]:
        """For storage."""
        return {
            "applied": [when.isoformat() for when in self.applied],
            "last_power_percent": None
            if self.last_power_percent is None
            else self.last_power_percent.isoformat(),
            "held": [change.as_dict() for change in self.held.values()],
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> GovernorLedger:
        """As stored by ``as_dict``; what cannot be read is dropped."""
        last = stored.get("last_power_percent")
        held = [Change.from_dict(item) for item in stored.get("held", [])]
        return cls(
            applied=[datetime.fromisoformat(when) for when in stored["applied"]],
            last_power_percent=None if last is None else datetime.fromisoformat(last),
            held={change.kind: change for change in held},
        )


class Origin(StrEnum):
    """Who asked for a change: the heater, or anyone else (a person, an automation)."""

    ANYONE = "anyone"
    HEATER = "heater"


class Verdict(StrEnum):
    """What became of a request."""

    APPLIED = "applied"  # sent to the miner now
    HELD = "held"  # too early: kept, and applied when due
    UNCHANGED = "unchanged"  # the miner is already so (a held change is dropped)


type SendChange = Callable[[Change], Awaitable[None]]


def shown_value(change: Change) -> Any:
    """The value of a change, as it may be shown (pools: URLs without secrets)."""
    if change.kind is ChangeKind.POOLS:
        return [without_url_credentials(pool["url"]) for pool in change.value]
    if change.kind is ChangeKind.FIRMWARE:
        return change.value["version"]
    if change.kind is ChangeKind.POWER_PERCENT:
        return change.value["percent"]
    return change.value


def describe(change: Change) -> str:
    """A change for the log: never a pool password."""
    if change.kind is ChangeKind.MINING:
        return "mining on" if change.value else "mining off"
    name = change.kind.value.replace("_", " ")
    value = shown_value(change)
    return name if value is None else f"{name} {value}"


class CommandGovernor:
    """Runs one miner's changes through the rules; applies held ones when due.

    ``send`` applies a change to the miner (translated errors: MinerUnavailableError
    when it was not sent, OutcomeUnknownError when sent without a reply);
    ``is_current`` says whether the miner is already so; ``reachable`` whether
    its last poll succeeded (a held change falling due meanwhile waits for the
    next good poll, never sent into a failing miner). Listeners (its sensors) are
    told whenever what it holds or counts changed.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        name: str,
        rules: GovernorRules,
        store: Store[dict[str, Any]],
        send: SendChange,
        is_current: Callable[[Change], bool],
        reachable: Callable[[], bool],
    ) -> None:
        """Empty until ``async_load`` reads what was held before a restart."""
        self.hass = hass
        self.name = name
        self.rules = rules
        self.ledger = GovernorLedger()
        self._store = store
        self._send = send
        self._is_current = is_current
        self._reachable = reachable
        self._listeners: list[Callable[[], None]] = []
        self._lock = asyncio.Lock()
        self._cancel_timer: CALLBACK_TYPE | None = None

    async def async_load(self) -> None:
        """Take up what was held and counted before Home Assistant restarted."""
        stored = await self._store.async_load()
        if stored is not None:
            try:
                self.ledger = GovernorLedger.from_dict(stored)
            except (KeyError, TypeError, ValueError) as err:
                LOGGER.warning("%s: held changes could not be read: %s", self.name, err)
        self._schedule()

    @callback
    def async_shutdown(self) -> None:
        """Stop the timer (held changes stay stored for the next start)."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    @callback
    def async_add_listener(self, listener: Callable[[], None]) -> CALLBACK_TYPE:
        """Be told when what the governor holds or counts changes."""
        self._listeners.append(listener)
        return partial(self._listeners.remove, listener)

    def disruptive_left(self) -> int:
        """How many disruptive changes the rules allow in the next 24 hours now."""
        recent = self.ledger.applied_since(dt_util.utcnow() - DAY)
        return max(0, self.rules.max_disruptive_per_day - len(recent))

    def held(self) -> list[tuple[Change, datetime]]:
        """The held changes with their due times, the next one first."""
        now = dt_util.utcnow()
        due = [
            (change, self.ledger.due(change.kind, self.rules, now))
            for change in self.ledger.held.values()
        ]
        return sorted(due, key=lambda item: item[1])

    def changes_last_day(self) -> int:
        """Disruptive changes the miner saw in the last 24 hours."""
        return len(self.ledger.applied_since(dt_util.utcnow() - DAY))

    def has_due(self) -> bool:
        """Whether a held change could be applied now."""
        due = self.ledger.next_due(self.rules, now := dt_util.utcnow())
        return due is not None and due <= now

    async def async_request(self, change: Change, *, force: bool = False) -> Verdict:
        """Apply ``change`` now if the rules allow, else hold it.

        A change the miner shows already is not sent (a held one of its kind is
        dropped). ``force`` sends it now, whatever the rules and the last poll
        say. Errors of a change applied now are raised as translated errors.
        """
        async with self._lock:
            if not force and self._is_current(change):
                if self.ledger.release(change.kind) is not None:
                    LOGGER.info(
                        "%s: the miner is already so: dropped the held %s",
                        self.name,
                        describe(change),
                    )
                    self._changed()
                return Verdict.UNCHANGED
            now = dt_util.utcnow()
            due = self.ledger.due(change.kind, self.rules, now)
            if force or due <= now:
                self.ledger.release(change.kind)
                await self._apply(change, now)  # unreachable: the caller is told
                return Verdict.APPLIED
            when = dt_util.as_local(due).isoformat(timespec="seconds")
            self._hold(change, f"until {when} ({self._reason(change.kind, now)})")
            return Verdict.HELD

    def _hold(self, change: Change, why: str) -> None:
        held = self.ledger.held.get(change.kind)
        if held is not None and held.value == change.value:
            return  # asked again (a heater step): it already waits
        self.ledger.hold(change)
        LOGGER.info("%s: %s held %s", self.name, describe(change), why)
        self._changed()

    async def async_apply_due(self) -> None:
        """Apply the held changes that are due, oldest request first.

        One the miner could not be sent stays held for the next good poll; one
        sent without a reply, or refused, is not sent again.
        """
        async with self._lock:
            held = sorted(self.ledger.held.values(), key=lambda c: c.requested_at)
            for change in held:
                now = dt_util.utcnow()
                if self.ledger.due(change.kind, self.rules, now) > now:
                    continue
                self.ledger.release(change.kind)
                if self._is_current(change):
                    continue
                LOGGER.info("%s: applying the held %s", self.name, describe(change))
                try:
                    await self._apply(change, now)
                except MinerUnavailableError:
                    self.ledger.hold(change)
                    break
                except HomeAssistantError as err:
                    LOGGER.warning(
                        "%s: the held %s failed: %s", self.name, describe(change), err
                    )
            self._changed()

    async def _apply(self, change: Change, now: datetime) -> None:
        try:
            await self._send(change)
        except OutcomeUnknownError:
            self.ledger.record(change.kind, now)  # it may have been applied
            self._changed()
            raise
        self.ledger.record(change.kind, now)
        self._changed()

    def _reason(self, kind: ChangeKind, now: datetime) -> str:
        rules = self.rules
        if not kind.disruptive:
            return f"power percent at most every {rules.min_power_percent_interval}"
        if len(self.ledger.applied_since(now - DAY)) >= rules.max_disruptive_per_day:
            return f"at most {rules.max_disruptive_per_day} changes in 24 hours"
        return f"at most one change every {rules.min_disruptive_interval}"

    def _changed(self) -> None:
        self._store.async_delay_save(self.ledger.as_dict, STORE_SAVE_DELAY_S)
        self._schedule()
        for listener in list(self._listeners):
            listener()

    def _schedule(self) -> None:
        """A timer for the next held change that falls due.

        One due already waits for the miner (it could not be reached): the
        coordinator applies it after the next poll the miner answers.
        """
        self.async_shutdown()
        now = dt_util.utcnow()
        due = self.ledger.next_due(self.rules, now)
        if due is not None and due > now:
            self._cancel_timer = async_track_point_in_utc_time(
                self.hass,
                HassJob(self._async_timer, cancel_on_shutdown=True),
                due,
            )

    async def _async_timer(self, _now: datetime) -> None:
        self._cancel_timer = None
        if self._reachable():  # else the next poll the miner answers applies it
            await self.async_apply_due()
