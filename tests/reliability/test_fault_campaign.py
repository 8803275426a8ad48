"""Fault campaign (issue 10): every emulator fault against a running Home Assistant.

Each device type (Whatsminer on API v2 and v3, DragonMint, a Spiderpool account) is
set up in a test Home Assistant against its emulator, then:

* ``test_fault``: every fault the emulator supports, alone. No exception escapes
  into the log; entities are unavailable while the device cannot be read and back
  at the first good poll after the fault is cleared; the outage is logged once and
  its end once; a reboot or power cycle creates no device or entity; rejected
  credentials start reauthentication.
* ``test_write_without_reply``: a write the device received but never answered
  raises the "outcome unknown" error, and reached the device exactly once.
* ``test_write_refused``: a write refused with a clear error leaves the entity
  showing the device's real state.
* ``test_random_campaign``: a seeded random walk of faults, clears and polls ends
  with the device back, the same entities and no traceback.

Time is frozen. Polls are driven as ``tests.conftest.poll`` does; a client waiting
for its timeout (a stalled device) is let through by stepping the clock a second
at a time while nothing else moves (``_run``). What each test did is counted in
``CAMPAIGN`` (faults injected, polls, commands, exceptions escaped).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
import copy
import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal
import logging
import random
from typing import Any, Final, Literal

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.climate.const import DOMAIN as CLIMATE_DOMAIN, HVACMode
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN, SERVICE_TURN_OFF
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import (
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.coordinator import MinerCoordinator
from tests.conftest import (
    DRAGONMINT_MAC,
    MINER_PASSWORD,
    POOL_SUBACCOUNT,
    POOL_TITLE,
    POOL_UNIQUE_ID,
    EmulatedWhatsminer,
    dragonmint_config_entry,
    dragonmint_entry_data,
    setup_integration,
    spiderpool_entry_data,
)
from tests.emulators import DragonMintEmulator, SpiderpoolEmulator
from tests.emulators.dragonmint import SCENARIOS, apply_scenario
from tests.emulators.spiderpool import generate_key_pair
from tests.heating.home import HEATER, heater_entry, set_room

type Kind = Literal["whatsminer_v2", "whatsminer_v3", "dragonmint", "spiderpool"]
KINDS: Final[tuple[Kind, ...]] = (
    "whatsminer_v2",
    "whatsminer_v3",
    "dragonmint",
    "spiderpool",
)
WHATSMINERS: Final[tuple[Kind, ...]] = ("whatsminer_v2", "whatsminer_v3")
LOGGER_NAME: Final = "custom_components.miner_hub"

# Yields to the event loop before the frozen clock is stepped (real TCP on
# loopback needs a few dozen), the step, and the longest a poll may take.
SPINS: Final = 100
STEP_S: Final = 1.0
MAX_WAIT_S: Final = 180.0
# Long enough to span the polls of a test; a clear ends it by advancing the clock.
LONG_S: Final = 3600.0
# The Whatsminers' room, below the heater's 20 °C: it sets a power percent.
ROOM_C: Final = 19.6
RANDOM_SEED: Final = 1234
RANDOM_STEPS: Final = 40

# What the whole module did: faults injected, polls run, commands sent, and
# exceptions that escaped into the log (must stay 0).
CAMPAIGN: Counter[str] = Counter()


# --- the log ------------------------------------------------------------------------


def escaped(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """Records of an exception that escaped: a traceback, or "Unexpected error".

    Home Assistant's coordinator also logs "Full error:" with the traceback of
    every failed poll, at DEBUG: that is a handled failure, not an escape.
    """
    return [
        record
        for record in records
        if record.levelno > logging.DEBUG
        and (
            record.exc_info is not None
            or (
                record.levelno >= logging.ERROR
                and "Unexpected error" in record.getMessage()
            )
        )
    ]


def logged(records: list[logging.LogRecord], level: int, start: str) -> int:
    """How many records of the integration at ``level`` begin with ``start``."""
    return sum(
        1
        for record in records
        if record.name.startswith(LOGGER_NAME)
        and record.levelno == level
        and record.getMessage().startswith(start)
    )


# Home Assistant's coordinator: the first failed poll, the first good one after.
OUTAGE: Final = (logging.ERROR, "Error fetching")
AUTH_OUTAGE: Final = (logging.ERROR, "Authentication failed while fetching")


def recoveries(records: list[logging.LogRecord]) -> int:
    """How many times the end of an outage was logged."""
    return sum(
        1
        for record in records
        if record.name.startswith(LOGGER_NAME)
        and record.levelno == logging.INFO
        and record.getMessage().endswith("data recovered")
    )


# --- the event loop under a frozen clock ---------------------------------------------


def _pending(hass: HomeAssistant) -> list[asyncio.Task[Any]]:
    """Home Assistant's unfinished tasks (as ``async_block_till_done`` sees them)."""
    current = asyncio.current_task()
    return [
        task
        for task in (*hass._tasks, *hass._background_tasks)
        if task is not current and not task.done()
    ]


async def _run(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    until: Callable[[], bool] | None = None,
) -> None:
    """Run the loop until ``until()`` holds, or else until Home Assistant is idle.

    While nothing moves for SPINS iterations, something waits for the clock (a
    client's timeout, an emulator's latency): the clock is stepped by STEP_S.
    """

    def finished() -> bool:
        return until() if until is not None else not _pending(hass)

    waited = 0.0
    while True:
        for _ in range(SPINS):
            await asyncio.sleep(0)
            if finished():
                if until is None:
                    await hass.async_block_till_done(wait_background_tasks=True)
                return
        assert waited < MAX_WAIT_S, f"still running: {_pending(hass)}"
        freezer.tick(STEP_S)
        waited += STEP_S


# --- a device type, set up ----------------------------------------------------------


@dataclass
class Rig:
    """One device type set up in Home Assistant against its emulator.

    ``device`` is the emulator (an EmulatedWhatsminer for both Whatsminer APIs).
    """

    kind: Kind
    hass: HomeAssistant
    freezer: FrozenDateTimeFactory
    caplog: pytest.LogCaptureFixture
    entry: MockConfigEntry
    device: Any
    interval: float  # between polls
    slow_interval: float  # a poll that also runs the slow reads
    tally: Counter[str] = field(default_factory=Counter)
    originals: dict[str, Any] = field(default_factory=dict)  # fault → value before

    # --- time and polls -----------------------------------------------------------

    @property
    def faults(self) -> Any:
        return self.device.faults

    def advance(self, seconds: float) -> None:
        """Move the emulator's own clock (ends reboots, restarts and boots)."""
        self.device.advance(seconds)

    async def poll(self, seconds: float | None = None) -> None:
        """Let time pass until the next poll is due, and run it to its end."""
        self.freezer.tick(self.interval if seconds is None else seconds)
        self.advance(0)  # the emulator applies what fell due (a boot, a restart)
        async_fire_time_changed(self.hass)
        await _run(self.hass, self.freezer)
        self.tally["polls"] += 1

    async def call(
        self,
        domain: str,
        service: str,
        data: dict[str, Any],
        meanwhile: tuple[Callable[[], bool], Step] | None = None,
    ) -> HomeAssistantError | None:
        """Call an action (blocking) while time runs: the error it raised, if any.

        ``meanwhile``: once its condition holds, its step runs (the device
        reboots while the write waits). Only Home Assistant's errors may come out
        of an action; anything else escaped and fails the test.
        """
        self.tally["commands"] += 1
        task = asyncio.ensure_future(
            self.hass.services.async_call(domain, service, data, blocking=True)
        )
        try:
            if meanwhile is not None:
                condition, step = meanwhile
                await _run(self.hass, self.freezer, lambda: task.done() or condition())
                assert not task.done(), "the action ended before the device had it"
                step(self)
            await _run(self.hass, self.freezer, task.done)
            await _run(self.hass, self.freezer)  # the refresh a command asks for
            task.result()
        except HomeAssistantError as err:
            return err
        finally:
            if not task.done():  # a failed check left it running
                task.cancel()
            elif not task.cancelled():
                task.exception()  # retrieved, whatever failed above
        return None

    # --- faults -------------------------------------------------------------------

    def set_fault(self, name: str, value: Any) -> None:
        """Set a field of the emulator's faults, remembering the value before."""
        self.originals.setdefault(name, getattr(self.faults, name))
        setattr(self.faults, name, value)

    def reset_fault(self, name: str) -> None:
        """Give a field of the emulator's faults its value before the campaign."""
        if name in self.originals:
            setattr(self.faults, name, self.originals.pop(name))

    # --- what Home Assistant shows -----------------------------------------------

    def states(self) -> dict[str, str]:
        """The state of every enabled entity of the entry."""
        registry = er.async_get(self.hass)
        states = {}
        for item in er.async_entries_for_config_entry(registry, self.entry.entry_id):
            if item.disabled_by is None:
                state = self.hass.states.get(item.entity_id)
                assert state is not None, item.entity_id
                states[item.entity_id] = state.state
        return states

    def unavailable(self) -> set[str]:
        return {
            entity_id
            for entity_id, state in self.states().items()
            if state == STATE_UNAVAILABLE
        }

    def registry_ids(self) -> tuple[set[str], set[str]]:
        """Registry IDs of the entry's entities and devices (new ones: new IDs)."""
        entry_id = self.entry.entry_id
        entities = er.async_entries_for_config_entry(er.async_get(self.hass), entry_id)
        devices = dr.async_entries_for_config_entry(dr.async_get(self.hass), entry_id)
        return {item.id for item in entities}, {item.id for item in devices}

    def reauth_flows(self) -> list[dict[str, Any]]:
        return [
            flow
            for flow in self.hass.config_entries.flow.async_progress()
            if flow["context"]["source"] == SOURCE_REAUTH
            and flow["context"].get("entry_id") == self.entry.entry_id
        ]

    async def reload(self) -> None:
        """Set the entry up again, as after a reauthentication."""
        assert await self.hass.config_entries.async_reload(self.entry.entry_id)
        await _run(self.hass, self.freezer)

    def records(self) -> list[logging.LogRecord]:
        return [*self.caplog.get_records("setup"), *self.caplog.records]

    def booted_at(self) -> Any:
        """The miner's boot time from its uptime (None for a pool account)."""
        coordinator = self.entry.runtime_data
        if isinstance(coordinator, MinerCoordinator):
            return coordinator.data.booted_at
        return None

    def finish(self) -> None:
        """Count what the test did; no exception may have escaped into the log."""
        found = escaped(self.records())
        self.tally["escaped"] += len(found)
        CAMPAIGN.update(self.tally)
        assert not found, [record.getMessage() for record in found]


async def _whatsminer(
    hass: HomeAssistant, api: Literal["v2", "v3"]
) -> AsyncIterator[tuple[Any, MockConfigEntry]]:
    """The miner heats a room a little too cold (its heater acts all along)."""
    async with EmulatedWhatsminer(api) as miner:
        set_room(hass, ROOM_C)
        entry = await setup_integration(hass, heater_entry(miner))
        await hass.services.async_call(
            CLIMATE_DOMAIN, "turn_on", {ATTR_ENTITY_ID: HEATER}, blocking=True
        )
        yield miner, entry


async def _dragonmint(
    hass: HomeAssistant,
) -> AsyncIterator[tuple[Any, MockConfigEntry]]:
    async with DragonMintEmulator(mac=DRAGONMINT_MAC, noise=False) as emulator:
        emulator.faults.cgminer_restart_seconds = 30
        entry = dragonmint_config_entry(dragonmint_entry_data(emulator))
        yield emulator, await setup_integration(hass, entry)


async def _spiderpool(
    hass: HomeAssistant,
) -> AsyncIterator[tuple[Any, MockConfigEntry]]:
    async with SpiderpoolEmulator(workers=12, subaccount=POOL_SUBACCOUNT) as emulator:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=POOL_TITLE,
            unique_id=POOL_UNIQUE_ID,
            data=spiderpool_entry_data(emulator),
        )
        yield emulator, await setup_integration(hass, entry)


# Poll intervals: (every poll, a poll that also runs the slow reads).
INTERVALS: Final[dict[Kind, tuple[float, float]]] = {
    "whatsminer_v2": (30, 300),
    "whatsminer_v3": (30, 300),
    "dragonmint": (30, 300),
    "spiderpool": (300, 1800),
}


@pytest.fixture
async def rig(
    request: pytest.FixtureRequest,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    socket_enabled: None,
) -> AsyncIterator[Rig]:
    """The device type named by the parameter, set up in Home Assistant."""
    kind: Kind = request.param
    caplog.set_level(logging.INFO)  # DEBUG records cost time and are never checked
    hass.loop.slow_callback_duration = 3600  # the stepped clock is no slow callback
    if kind == "spiderpool":
        request.getfixturevalue("pool_clock")  # requests signed on the frozen clock
    devices = {
        "whatsminer_v2": lambda: _whatsminer(hass, "v2"),
        "whatsminer_v3": lambda: _whatsminer(hass, "v3"),
        "dragonmint": lambda: _dragonmint(hass),
        "spiderpool": lambda: _spiderpool(hass),
    }
    async for device, entry in devices[kind]():
        interval, slow = INTERVALS[kind]
        yield Rig(kind, hass, freezer, caplog, entry, device, interval, slow)


# --- faults ---------------------------------------------------------------------------
#
# Every switch of the emulators' fault classes (Faults, V3Faults, DragonMintFaults,
# SpiderpoolFaults) that a poll or a command meets is in a table below, and so are
# the state changes that act as faults (reboot, power cycle, password, keys). The
# command switches (hang_commands, no_reply_commands, rejected_commands,
# unsupported_commands, ts_skew on writes, tokens on writes, minimum_payment_range)
# are the write tests'. Not injected: what only other paths use (download_logs_mode,
# preheat_seconds, stall_seconds, report_time_scale, the firmware upload and its
# upgrade_seconds/upgrade_fails, ws_malformed_frame, log_interval,
# action_delay_seconds, unsupported_coin_status, the error reply table).

type Step = Callable[[Rig], None]
# unavailable: the device cannot be read; available: it can (maybe with less data);
# reauth: the credentials are refused; any: random, only recovery is checked.
type Effect = Literal["unavailable", "available", "reauth", "any"]


@dataclass(frozen=True)
class Fault:
    """A fault of an emulator: how to inject and clear it, and what it must do."""

    name: str
    inject: Step
    clear: Step
    effect: Effect
    restarts: bool = False  # the device boots anew (its uptime restarts)
    recover_after: float | None = None  # the first good poll comes this much later
    in_random_walk: bool = True


def setting(name: str, value: Any, effect: Effect, label: str | None = None) -> Fault:
    """A fault that is one field of the emulator's faults."""
    return Fault(
        label or name,
        lambda rig: rig.set_fault(name, value),
        lambda rig: rig.reset_fault(name),
        effect,
    )


def settings(label: str, effect: Effect, **values: Any) -> Fault:
    """A fault made of several fields of the emulator's faults."""

    def inject(rig: Rig) -> None:
        for name, value in values.items():
            rig.set_fault(name, value)

    def clear(rig: Rig) -> None:
        for name in values:
            rig.reset_fault(name)

    return Fault(label, inject, clear, effect)


def _stash_state(rig: Rig) -> None:
    """Keep a copy of the emulator's state (the first one, if several faults ask)."""
    rig.originals.setdefault("state", copy.deepcopy(rig.device.state))


def _restore_state(rig: Rig) -> None:
    """Give the state its fields back, in place (a v3 miner shares it with its v2)."""
    if "state" in rig.originals:
        saved = rig.originals.pop("state")
        for item in dataclasses.fields(saved):
            setattr(rig.device.state, item.name, getattr(saved, item.name))


# --- Whatsminer (both APIs, through EmulatedWhatsminer) -----------------------------


def _whatsminer_clock(rig: Rig) -> float:
    """The miner's clock (the v3 emulator shares its v2 side's)."""
    return float(rig.device.emulator._time())


def _reboot_whatsminer(rig: Rig) -> None:
    """The miner reboots and stays away until the clear."""
    rig.set_fault("reboot_seconds", LONG_S)
    rig.device.emulator._begin_reboot()


def _whatsminer_booted(rig: Rig) -> None:
    if rig.device.is_rebooting():
        rig.advance(LONG_S)
    rig.reset_fault("reboot_seconds")


def _whatsminer_powered_on(rig: Rig) -> None:
    """Power is back after a cut: the miner boots now (its uptime restarts)."""
    state = rig.device.state
    state.boot_time = state.btminer_started_at = _whatsminer_clock(rig)
    rig.reset_fault("offline")


def _restart_btminer(rig: Rig) -> None:
    """Restart btminer (as a power-mode change does); it stays down until the clear."""
    rig.set_fault("btminer_restart_seconds", LONG_S)
    emulator = rig.device.emulator
    if rig.kind == "whatsminer_v3":
        emulator._restart_btminer()
    else:
        emulator._restart_btminer_now()


def _btminer_started(rig: Rig) -> None:
    if rig.device.is_btminer_restarting():
        rig.advance(LONG_S)
    rig.reset_fault("btminer_restart_seconds")


def _change_password(rig: Rig) -> None:
    """Set in WhatsMinerTool; reads need no password, commands do."""
    rig.device.change_password("n3wpass1")


def _restore_password(rig: Rig) -> None:
    rig.device.change_password(MINER_PASSWORD)


def _write_api(enabled: bool) -> Step:
    def step(rig: Rig) -> None:
        rig.device.state.write_api_enabled = enabled

    return step


WHATSMINER_FAULTS: Final[tuple[Fault, ...]] = (
    setting("offline", True, "unavailable"),
    setting("stall", True, "unavailable"),
    setting("garbage", True, "unavailable"),
    setting("truncate", True, "unavailable"),
    setting("latency", 2.0, "available"),
    setting("latency", 12.0, "unavailable", "latency_past_timeout"),
    Fault("reboot", _reboot_whatsminer, _whatsminer_booted, "unavailable", True),
    Fault(
        "power_cycle",
        lambda rig: rig.set_fault("offline", True),
        _whatsminer_powered_on,
        "unavailable",
        restarts=True,
    ),
    Fault("btminer_restart", _restart_btminer, _btminer_started, "available"),
    Fault("password_changed", _change_password, _restore_password, "available"),
    Fault("write_api_off", _write_api(False), _write_api(True), "available"),
)


def _with_error_codes(*values: tuple[str, Any]) -> Fault:
    """2.0.4 firmware cuts a long error list (the slow read fails, values stay)."""

    def inject(rig: Rig) -> None:
        _stash_state(rig)
        rig.device.state.error_codes = [
            (str(c), "2026-10-01 20:00:00") for c in range(200, 210)
        ]
        for name, value in values:
            rig.set_fault(name, value)

    def clear(rig: Rig) -> None:
        for name, _value in values:
            rig.reset_fault(name)
        _restore_state(rig)

    return Fault("truncated_error_list", inject, clear, "available")


def _encrypted_reads_gated(rig: Rig) -> None:
    rig.set_fault("switch_gates_encrypted_reads", True)
    rig.device.state.write_api_enabled = False


def _encrypted_reads_open(rig: Rig) -> None:
    rig.reset_fault("switch_gates_encrypted_reads")
    rig.device.state.write_api_enabled = True


def _restart_btminer_raw_text(rig: Rig) -> None:
    """As on 2.0.4 firmware: cgminer reads answer raw text while btminer restarts."""
    rig.set_fault("btminer_restart_reads", "down")
    _restart_btminer(rig)


def _btminer_started_raw_text(rig: Rig) -> None:
    _btminer_started(rig)
    rig.reset_fault("btminer_restart_reads")


def _profile(name: str) -> Step:
    def step(rig: Rig) -> None:
        rig.device.emulator.profile = name

    return step


V2_FAULTS: Final[tuple[Fault, ...]] = (
    setting("json_defects", True, "available"),
    setting("trailing_nul", True, "available"),
    setting("trailing_newline", True, "available"),
    setting("btminer_down", True, "unavailable"),  # mining on, btminer silent
    Fault(
        "btminer_restart_down",
        _restart_btminer_raw_text,
        _btminer_started_raw_text,
        "unavailable",
    ),
    setting("tokens_per_ip", 0, "available", "token_limit"),
    settings(
        "token_limit_old_message",
        "available",
        tokens_per_ip=0,
        old_token_limit_message=True,
    ),
    settings("token_budget", "available", token_ips=0, tokens_total=0),
    setting("token_lifetime", 0.0, "available", "token_expiry"),
    setting("token_timeout", 1, "available", "token_idle_timeout"),
    setting("max_join", 1, "available", "no_joined_reads"),
    setting(
        "unsupported_commands",
        {"get_psu", "get_error_code"},
        "available",
        "no_slow_reads",
    ),
    settings(
        "errors_in_summary",
        "available",
        errors_in_summary=True,
        unsupported_commands={"get_error_code"},
    ),
    _with_error_codes(("json_defects", True), ("error_reply_max_bytes", 40)),
    Fault(
        "encrypted_reads_gated",
        _encrypted_reads_gated,
        _encrypted_reads_open,
        "available",
    ),
    setting("refuse_writes", True, "available"),
    setting("strict_base64", True, "available"),
    setting("idle_timeout", 0.0, "unavailable", "closes_at_once"),
    Fault("old_firmware", _profile("2.0.4"), _profile("2.2"), "available"),
)


def _keep_alive(on: bool) -> Step:
    def step(rig: Rig) -> None:
        rig.device.emulator.keep_alive = on

    return step


def _rotate_salt(rig: Rig) -> None:
    """A new salt (as after a password change): cached salts get -4 on writes."""
    rig.device.emulator.rotate_salt()


def _nothing(_rig: Rig) -> None:
    """Nothing to clear: the fault is part of the miner's life."""


def _reboot_new_salt(rig: Rig) -> None:
    rig.set_fault("salt_changes_on_reboot", True)
    _reboot_whatsminer(rig)


def _booted_new_salt(rig: Rig) -> None:
    _whatsminer_booted(rig)
    rig.reset_fault("salt_changes_on_reboot")


V3_FAULTS: Final[tuple[Fault, ...]] = (
    setting("garbage_json", True, "unavailable"),
    setting("fragment", True, "available"),
    setting("pretty_json", True, "available"),
    setting("max_clients", 0, "unavailable", "too_many_clients"),
    setting("heartbeat_frames", True, "available"),
    setting("idle_rejects_pools", True, "available"),
    setting("power_percent_numbers", True, "available"),
    setting("psu_telemetry", True, "available"),
    setting("ts_skew", 0.0, "available", "clock_window"),  # only writes carry ts
    setting("idle_timeout", 0.0, "unavailable", "closes_at_once"),
    setting("max_frame_bytes", 8, "unavailable", "frame_limit"),
    Fault("keep_alive", _keep_alive(True), _keep_alive(False), "available"),
    Fault("salt_rotated", _rotate_salt, _nothing, "available"),
    Fault("reboot_new_salt", _reboot_new_salt, _booted_new_salt, "unavailable", True),
    # API v3 refuses while the reduced v2 API answers: what a firmware downgrade
    # looks like, so the entry follows it to v2 (test_whatsminer_api_change.py).
    Fault(
        "v3_offline",
        lambda rig: rig.set_fault("v3_offline", True),
        lambda rig: rig.reset_fault("v3_offline"),
        "any",
        in_random_walk=False,
    ),
)

# --- DragonMint ----------------------------------------------------------------------


def _dragonmint_reboot(rig: Rig) -> None:
    rig.set_fault("reboot_seconds", LONG_S)
    rig.device.reboot()


def _dragonmint_booted(rig: Rig) -> None:
    if rig.device.power_state == "rebooting":
        rig.advance(LONG_S)
    rig.reset_fault("reboot_seconds")


def _dragonmint_power_off(rig: Rig) -> None:
    rig.device.power_off()


def _dragonmint_power_on(rig: Rig) -> None:
    """At the plug: the miner boots (reboot_seconds) and starts cgminer."""
    if rig.device.power_state == "off":
        rig.device.reset_power()
    if rig.device.power_state == "rebooting":
        rig.advance(LONG_S)


def _dragonmint_network_restart(rig: Rig) -> None:
    rig.set_fault("network_restart_seconds", LONG_S)
    rig.device._begin_network_restart()


def _dragonmint_network_up(rig: Rig) -> None:
    rig.advance(LONG_S)
    rig.reset_fault("network_restart_seconds")


def _cgminer_restart(rig: Rig) -> None:
    rig.set_fault("cgminer_restart_seconds", LONG_S)
    rig.device._restart_cgminer(rig.device.time(), reason="campaign")


def _cgminer_started(rig: Rig) -> None:
    if rig.device.state.cgminer == "restarting":
        rig.advance(LONG_S)
    rig.reset_fault("cgminer_restart_seconds")


def _dragonmint_state(**changes: Any) -> tuple[Step, Step]:
    def inject(rig: Rig) -> None:
        _stash_state(rig)
        for name, value in changes.items():
            setattr(rig.device.state, name, value)

    return inject, _restore_state


def _scenario(name: str) -> Fault:
    def inject(rig: Rig) -> None:
        _stash_state(rig)
        apply_scenario(rig.device.state, name)

    return Fault(f"scenario_{name}", inject, _restore_state, "available")


def _dragonmint_password(rig: Rig) -> None:
    """Changed in the web interface (the old one is remembered for the clear)."""
    rig.originals.setdefault("admin", rig.device.state.users["admin"])
    rig.device.state.users["admin"] = "n3w-password"


def _dragonmint_password_back(rig: Rig) -> None:
    if "admin" in rig.originals:
        rig.device.state.users["admin"] = rig.originals.pop("admin")


DRAGONMINT_FAULTS: Final[tuple[Fault, ...]] = (
    setting("offline", True, "unavailable"),
    setting("stall", True, "unavailable"),
    setting("http_500", True, "unavailable"),
    setting("latency", 2.0, "available"),
    setting("cgminer_latency", 2.0, "available"),
    setting("drop_requests", 1, "any", "drop_one_request"),
    setting("drop_requests", 10**6, "unavailable", "drop_every_request"),
    setting("drop_probability", 0.5, "any", "drop_at_random"),
    Fault("reboot", _dragonmint_reboot, _dragonmint_booted, "unavailable", True),
    Fault(
        "power_cycle",
        _dragonmint_power_off,
        _dragonmint_power_on,
        "unavailable",
        restarts=True,
    ),
    Fault(
        "network_restart",
        _dragonmint_network_restart,
        _dragonmint_network_up,
        "unavailable",
    ),
    Fault("cgminer_restart", _cgminer_restart, _cgminer_started, "available"),
    Fault("cgminer_down", *_dragonmint_state(cgminer="down"), "available"),
    Fault("clock_offset", *_dragonmint_state(clock_offset=7200), "available"),
    Fault(
        "password_changed", _dragonmint_password, _dragonmint_password_back, "reauth"
    ),
    *(_scenario(name) for name in SCENARIOS),
)

# --- Spiderpool ----------------------------------------------------------------------


def _account(rig: Rig) -> Any:
    return rig.device.account


def _replace_keys(rig: Rig) -> None:
    """A new key pair made in the console: the stored private key no longer signs."""
    rig.originals.setdefault("public_key", _account(rig).public_key)
    _account(rig).public_key = generate_key_pair(4242).public_key()


def _old_keys_back(rig: Rig) -> None:
    if "public_key" in rig.originals:
        _account(rig).public_key = rig.originals.pop("public_key")


def _delete_access_key(rig: Rig) -> None:
    accounts = rig.device.state.accounts
    rig.originals.setdefault("account", accounts.pop(rig.device.access_key, None))


def _access_key_back(rig: Rig) -> None:
    account = rig.originals.pop("account", None)
    if account is not None:
        rig.device.state.accounts[account.access_key] = account


def _api_permission(enabled: bool) -> Step:
    def step(rig: Rig) -> None:
        _account(rig).api_enabled = enabled

    return step


def _subaccount_name(name: str) -> Step:
    def step(rig: Rig) -> None:
        rig.device.subaccount.name = name

    return step


POOL_FAULTS: Final[tuple[Fault, ...]] = (
    setting("offline", True, "unavailable"),
    setting("stall", True, "unavailable"),
    setting("latency", 2.0, "available"),
    setting("drop_requests", 1, "any", "drop_one_request"),
    setting("drop_requests", 10**6, "unavailable", "drop_every_request"),
    setting("http_500", True, "unavailable"),
    settings("http_500_in_body", "unavailable", http_500=True, http_500_status=200),
    setting("non_json", True, "unavailable"),
    # Live: {"code": "200", "msg": "System busy"}; the client takes an unknown code
    # twice in a row for rejected keys (tests/protocol/test_spiderpool_client.py).
    setting("string_200_error", True, "reauth"),
    setting("rate_limit", True, "unavailable"),
    settings(
        "rate_limit_no_retry_after", "unavailable", rate_limit=True, retry_after=False
    ),
    Fault(
        "rate_limit_900s",
        lambda rig: rig.set_fault("rate_limit_per_second", 1 / 900),
        lambda rig: rig.reset_fault("rate_limit_per_second"),
        "unavailable",
        recover_after=900,
    ),
    setting("timestamp_tolerance", 0.0, "reauth", "clock_skew"),
    setting("replay_protection", False, "available"),
    setting("envelope", "code200", "available"),
    setting("success_msg", None, "available"),
    setting("require_json_content_type", False, "available"),
    setting("documented_only_endpoints", False, "available"),
    setting(
        "disabled_paths",
        {
            "/v2/worker/getSubaccountWorkerDetailInfo",
            "/v2/subaccount/getSubaccountInfo",
        },
        "available",
        "undocumented_paths_only",
    ),
    setting("max_page_size", 2, "available"),
    setting("payments_oldest_first", True, "available"),
    setting("bigdecimal_exponents", True, "available"),
    Fault("keys_replaced", _replace_keys, _old_keys_back, "reauth"),
    Fault("access_key_deleted", _delete_access_key, _access_key_back, "reauth"),
    Fault(
        "api_permission_off", _api_permission(False), _api_permission(True), "reauth"
    ),
    Fault(
        "subaccount_gone",
        _subaccount_name("renamed1"),
        _subaccount_name(POOL_SUBACCOUNT),
        "unavailable",
    ),
)

FAULTS: Final[dict[Kind, tuple[Fault, ...]]] = {
    "whatsminer_v2": WHATSMINER_FAULTS + V2_FAULTS,
    "whatsminer_v3": WHATSMINER_FAULTS + V3_FAULTS,
    "dragonmint": DRAGONMINT_FAULTS,
    "spiderpool": POOL_FAULTS,
}


def _assert_during(rig: Rig, fault: Fault, records: list[logging.LogRecord]) -> None:
    """What Home Assistant shows and logs while the fault lasts."""
    if fault.effect == "unavailable":
        assert rig.unavailable() == set(rig.states())
        assert logged(records, *OUTAGE) == 1  # not once per failed poll
        assert not rig.reauth_flows()
    elif fault.effect == "available":
        assert not rig.unavailable()
        assert logged(records, *OUTAGE) == 0
        assert not rig.reauth_flows()
    elif fault.effect == "reauth":
        assert rig.unavailable() == set(rig.states())
        assert logged(records, *AUTH_OUTAGE) == 1
        assert len(rig.reauth_flows()) == 1


@pytest.mark.parametrize(
    ("rig", "fault"),
    [
        pytest.param(kind, fault, id=f"{kind}-{fault.name}")
        for kind in KINDS
        for fault in FAULTS[kind]
    ],
    indirect=["rig"],
)
async def test_fault(rig: Rig, fault: Fault) -> None:
    """One fault, two polls (one with the slow reads), cleared, one more poll.

    While it lasts the entities follow the device (unavailable when it cannot be
    read, logged once); at the first good poll after the clear they are back and
    the recovery is logged once. No device or entity is ever created anew, a
    reboot included; refused credentials start one reauthentication.
    """
    registry_ids = rig.registry_ids()
    booted_at = rig.booted_at()
    assert not rig.unavailable()
    start = len(rig.caplog.records)

    fault.inject(rig)
    rig.tally["faults"] += 1
    await rig.poll()
    await rig.poll(rig.slow_interval)
    _assert_during(rig, fault, rig.caplog.records[start:])

    fault.clear(rig)
    if fault.effect == "reauth":  # polling waits for the user: new credentials
        await rig.reload()
    else:
        await rig.poll(fault.recover_after)
    records = rig.caplog.records[start:]
    assert not rig.unavailable()
    if fault.effect == "unavailable":
        assert recoveries(records) == 1
    elif fault.effect == "available":
        assert recoveries(records) == 0
    if fault.in_random_walk:  # v3_offline follows a "downgrade": see its entry
        assert rig.registry_ids() == registry_ids
    if fault.restarts:
        assert rig.booted_at() != booted_at  # a new boot, the same entities
    if rig.kind in WHATSMINERS:  # a fault does not take the room from the heater
        assert rig.states()[HEATER] == HVACMode.HEAT
    rig.finish()


# --- writes ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A write through an entity or an action, and how the device records it."""

    name: str
    domain: str
    service: str
    data: Callable[[Rig], dict[str, Any]]
    command: Callable[[Rig], str]  # the command's name as the device records it
    sent: Callable[[Rig, str], int]  # how often the device received that command
    entity_id: str | None = None  # the entity that shows the device's state
    real: Callable[[Rig], str] | None = None  # that state, from the device


def _shows(state: str, real: str) -> bool:
    """Whether an entity's state is the device's value (numbers compared as such)."""
    try:
        return float(state) == float(real)
    except ValueError:
        return state == real


def _assert_shows_device(rig: Rig, write: Write) -> None:
    """The write's entity shows the device's own value, nothing optimistic."""
    assert write.entity_id is not None
    assert write.real is not None
    state = rig.hass.states.get(write.entity_id)
    assert state is not None
    real = write.real(rig)
    assert _shows(state.state, real), f"{write.entity_id}: {state.state} != {real}"


def _entity(entity_id: str) -> Callable[[Rig], dict[str, Any]]:
    return lambda _rig: {ATTR_ENTITY_ID: entity_id}


def _whatsminer_sent(rig: Rig, command: str) -> int:
    """Writes the miner could authenticate (v2: decrypt; v3: a valid token)."""
    return [write.cmd for write in rig.device.writes()].count(command)


MINING_SWITCH: Final = "switch.garage_m30_mining"
POWER_LIMIT: Final = "number.garage_m30_power_limit_restarts_mining"
POWER_MODE: Final = "select.garage_m30_power_mode_restarts_mining"
HELD_CHANGE: Final = "sensor.garage_m30_held_change"
MINING_OFF: Final = Write(
    "mining_off",
    SWITCH_DOMAIN,
    SERVICE_TURN_OFF,
    _entity(MINING_SWITCH),
    lambda rig: rig.device.command("mining_off"),
    _whatsminer_sent,
    MINING_SWITCH,
    lambda rig: STATE_ON if rig.device.state.mining else STATE_OFF,
)
SET_POWER_LIMIT: Final = Write(
    "power_limit",
    NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
    lambda _rig: {ATTR_ENTITY_ID: POWER_LIMIT, ATTR_VALUE: 3000},
    lambda rig: rig.device.command("power_limit", 3000),
    _whatsminer_sent,
    POWER_LIMIT,
    lambda rig: str(rig.device.state.power_limit_w),
)
SET_POWER_MODE: Final = Write(
    "power_mode",
    SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
    lambda _rig: {ATTR_ENTITY_ID: POWER_MODE, ATTR_OPTION: "low"},
    lambda rig: rig.device.command("power_mode", "low"),
    _whatsminer_sent,
    POWER_MODE,
    lambda rig: rig.device.state.power_mode.lower(),
)

AUTOTUNE: Final = "select.dragonmint_t1_123456_auto_tune_mode_restarts_mining"
SET_AUTOTUNE: Final = Write(
    "autotune",
    SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
    lambda _rig: {ATTR_ENTITY_ID: AUTOTUNE, ATTR_OPTION: "efficient"},
    lambda _rig: "setAutoTune",
    lambda rig, action: rig.device.actions().count(action),
    AUTOTUNE,
    lambda rig: rig.device.state.autotune_mode,
)
RESTART_MINING: Final = Write(
    "restart_mining",
    BUTTON_DOMAIN,
    SERVICE_PRESS,
    _entity("button.dragonmint_t1_123456_restart_mining"),
    lambda _rig: "restartCgMiner",
    lambda rig, action: rig.device.actions().count(action),
)


def _account_device(rig: Rig) -> dict[str, Any]:
    device = dr.async_get(rig.hass).async_get_device_by_identifier(
        (DOMAIN, rig.entry.entry_id), rig.entry.entry_id
    )
    assert device is not None
    return {ATTR_DEVICE_ID: device.id, "amount": 0.005}


MINIMUM_PAYMENT: Final = "sensor.homeminer_btc_minimum_payment"
SET_MINIMUM_PAYMENT: Final = Write(
    "minimum_payment",
    DOMAIN,
    "set_minimum_payment",
    _account_device,
    lambda _rig: "/v2/subaccount/updateUserMinimumPayment",
    lambda rig, path: [request.path for request in rig.device.received].count(path),
    MINIMUM_PAYMENT,
    lambda rig: str(rig.device.subaccount.minimum_payment),
)


@dataclass(frozen=True)
class Silence:
    """How a device leaves a write it received unanswered."""

    name: str
    before: Callable[[Rig, str], None]  # given the command's name
    clear: Step
    meanwhile: Step | None = None  # once the device has received the write


def _hang(rig: Rig, command: str) -> None:
    rig.set_fault("hang_commands", {command})


def _close(rig: Rig, command: str) -> None:
    rig.set_fault("no_reply_commands", {command})


def _reset_all(*names: str) -> Step:
    def step(rig: Rig) -> None:
        for name in names:
            rig.reset_fault(name)

    return step


# Whatsminer: acts, then never replies (a hung btminer) or closes at once.
HANG: Final = Silence("hang", _hang, _reset_all("hang_commands"))
CLOSE: Final = Silence("close", _close, _reset_all("no_reply_commands"))
# DragonMint and Spiderpool: the connection is cut once the request is in.
DROP: Final = Silence(
    "dropped", lambda rig, _cmd: rig.set_fault("drop_requests", 1), _nothing
)
STALL: Final = Silence(
    "stalled", lambda rig, _cmd: rig.set_fault("stall", True), _reset_all("stall")
)


def _unstall_and_boot(rig: Rig) -> None:
    rig.reset_fault("stall")
    _dragonmint_booted(rig)


# DragonMint: the request waits (stalled) until the miner reboots under it.
REBOOT_DURING: Final = Silence(
    "reboot_during",
    lambda rig, _cmd: rig.set_fault("stall", True),
    _unstall_and_boot,
    _dragonmint_reboot,
)

# What the error says when a write's outcome is unknown.
NO_REPLY: Final = "no_reply"
POOL_NO_REPLY: Final = "pool_no_reply"
# (write, silence, the error's translation key; None: the write succeeds).
type LostWrite = tuple[Write, Silence, str | None]
WHATSMINER_LOST_WRITES: Final[list[LostWrite]] = [
    (write, silence, NO_REPLY)
    for write in (MINING_OFF, SET_POWER_LIMIT, SET_POWER_MODE)
    for silence in (HANG, CLOSE)
]
LOST_WRITES: Final[dict[Kind, list[LostWrite]]] = {
    # API v2 firmware closes without replying after power_off and a power mode
    # (btminer restarts): that is how they succeed. Silence is not.
    "whatsminer_v2": [
        (
            write,
            silence,
            None if silence is CLOSE and write is not SET_POWER_LIMIT else key,
        )
        for write, silence, key in WHATSMINER_LOST_WRITES
    ],
    "whatsminer_v3": WHATSMINER_LOST_WRITES,
    "dragonmint": [
        (write, silence, NO_REPLY)
        for write in (SET_AUTOTUNE, RESTART_MINING)
        for silence in (DROP, REBOOT_DURING)
    ],
    "spiderpool": [
        (SET_MINIMUM_PAYMENT, DROP, POOL_NO_REPLY),
        (SET_MINIMUM_PAYMENT, STALL, POOL_NO_REPLY),
    ],
}


@pytest.mark.parametrize(
    ("rig", "write", "silence", "key"),
    [
        pytest.param(
            kind, write, silence, key, id=f"{kind}-{write.name}-{silence.name}"
        )
        for kind in KINDS
        for write, silence, key in LOST_WRITES[kind]
    ],
    indirect=["rig"],
)
async def test_write_without_reply(
    rig: Rig, write: Write, silence: Silence, key: str | None
) -> None:
    """A write the device received but never answered: "outcome unknown".

    The device received it exactly once (nothing sends it again), and the next
    poll shows what the device really did. Where closing without a reply is
    how the firmware confirms a command (``key`` None), the write succeeds.
    """
    command = write.command(rig)
    silence.before(rig, command)
    rig.tally["faults"] += 1
    sent = write.sent(rig, command)
    meanwhile = None
    if silence.meanwhile is not None:
        meanwhile = (lambda: write.sent(rig, command) > sent, silence.meanwhile)

    err = await rig.call(write.domain, write.service, write.data(rig), meanwhile)

    if key is None:
        assert err is None
    else:
        assert err is not None
        assert (err.translation_domain, err.translation_key) == (DOMAIN, key)
        assert not isinstance(err, ServiceValidationError)
    assert write.sent(rig, command) == sent + 1
    silence.clear(rig)
    await rig.poll()
    assert write.sent(rig, command) == sent + 1  # the poll did not send it either
    assert not rig.unavailable()
    if write.real is not None:
        _assert_shows_device(rig, write)
    rig.finish()


@dataclass(frozen=True)
class Refusal:
    """A write the device refuses with a clear error."""

    name: str
    write: Write
    refuse: Callable[[Rig, str], None]  # given the command's name
    key: str
    reauth: bool = False  # the error asks for new credentials


def _refuse_command(fault: str) -> Callable[[Rig, str], None]:
    return lambda rig, command: rig.set_fault(fault, {command})


def _token_limit(rig: Rig, _command: str) -> None:
    rig.set_fault("tokens_per_ip", 0)
    rig.device.emulator.clear_tokens()


WHATSMINER_REFUSALS: Final = (
    Refusal(
        "write_api_off",
        MINING_OFF,
        lambda rig, _cmd: _write_api(False)(rig),
        "write_api_disabled",
    ),
    Refusal(
        "rejected",
        SET_POWER_LIMIT,
        _refuse_command("rejected_commands"),
        "command_rejected",
    ),
    Refusal(
        "unsupported",
        SET_POWER_MODE,
        _refuse_command("unsupported_commands"),
        "unsupported_command",
    ),
    Refusal(
        "password_changed",
        MINING_OFF,
        lambda rig, _cmd: _change_password(rig),
        "invalid_auth",
        reauth=True,
    ),
)
REFUSALS: Final[dict[Kind, tuple[Refusal, ...]]] = {
    "whatsminer_v2": (
        *WHATSMINER_REFUSALS,
        Refusal("token_limit", MINING_OFF, _token_limit, "rate_limited"),
    ),
    "whatsminer_v3": WHATSMINER_REFUSALS,
    "dragonmint": (
        Refusal(
            "password_changed",
            SET_AUTOTUNE,
            lambda rig, _cmd: _dragonmint_password(rig),
            "invalid_auth",
            reauth=True,
        ),
    ),
    "spiderpool": (
        Refusal(
            "out_of_range",
            SET_MINIMUM_PAYMENT,
            lambda rig, _cmd: rig.set_fault(
                "minimum_payment_range", (Decimal(1), Decimal(100))
            ),
            "pool_rejected",
        ),
        Refusal(
            "keys_replaced",
            SET_MINIMUM_PAYMENT,
            lambda rig, _cmd: _replace_keys(rig),
            "pool_auth_failed",
            reauth=True,
        ),
    ),
}


@pytest.mark.parametrize(
    ("rig", "refusal"),
    [
        pytest.param(kind, refusal, id=f"{kind}-{refusal.name}")
        for kind in KINDS
        for refusal in REFUSALS[kind]
    ],
    indirect=["rig"],
)
async def test_write_refused(rig: Rig, refusal: Refusal) -> None:
    """A refused write: its error, and the entity keeps the device's real state.

    Nothing is shown optimistically, neither right after the error nor after the
    next poll; refused credentials start one reauthentication.
    """
    write = refusal.write
    refusal.refuse(rig, write.command(rig))
    rig.tally["faults"] += 1

    err = await rig.call(write.domain, write.service, write.data(rig))

    assert err is not None
    assert err.translation_key == refusal.key
    assert len(rig.reauth_flows()) == int(refusal.reauth)
    _assert_shows_device(rig, write)
    if not refusal.reauth:  # else polling waits for new credentials
        await rig.poll()
        _assert_shows_device(rig, write)
    rig.finish()


# --- a held change through a fault ----------------------------------------------------


@pytest.mark.governed
@pytest.mark.parametrize(
    ("rig", "fault"),
    [
        pytest.param(kind, fault, id=f"{kind}-{fault.name}")
        for kind in WHATSMINERS
        for fault in FAULTS[kind]
        # (A silent btminer makes the miner unreachable only while it mines.)
        if fault.effect == "unavailable" and not fault.name.startswith("btminer")
    ],
    indirect=["rig"],
)
async def test_held_change_outlives_the_fault(rig: Rig, fault: Fault) -> None:
    """A change held by the governor is kept while the miner cannot be reached.

    Mining is switched off, and on again at once: the "on" is held for 10
    minutes. The fault lasts past that; the "on" reaches the miner once, after
    the first good poll.
    """
    start = rig.device.write("mining_on")
    for service in ("turn_off", "turn_on"):
        assert (
            await rig.call(SWITCH_DOMAIN, service, _entity(MINING_SWITCH)(rig)) is None
        )
    assert rig.hass.states.get(HELD_CHANGE).state == "mining_on"
    sent = rig.device.writes().count(start)

    fault.inject(rig)
    rig.tally["faults"] += 1
    await rig.poll(rig.slow_interval)  # the miner fails (5 minutes on) ...
    assert rig.unavailable() == set(rig.states())
    await rig.poll(6 * 60)  # ... still, past the due time
    assert rig.device.writes().count(start) == sent
    assert rig.entry.runtime_data.governor.held()

    fault.clear(rig)
    booted_mining = rig.device.state.mining  # a reboot starts it
    await rig.poll(fault.recover_after)
    await _run(rig.hass, rig.freezer)  # the held change, applied after the poll
    assert not rig.unavailable()
    # Mining: sent once, or not at all to a miner that booted mining already.
    assert rig.device.writes().count(start) - sent == (0 if booted_mining else 1)
    assert rig.device.state.mining is True
    assert rig.hass.states.get(HELD_CHANGE).state == "none"
    rig.finish()


# --- a random walk ---------------------------------------------------------------------


async def _bring_back(rig: Rig, used: list[Fault]) -> None:
    """After the last clear: new credentials if asked for, then the next good poll.

    A rate limit delays that poll by as long as the pool asked (``recover_after``).
    """
    if rig.reauth_flows():  # polling stopped at the refusal
        await rig.reload()
    await rig.poll(max([rig.interval, *(fault.recover_after or 0 for fault in used)]))


@pytest.mark.parametrize("rig", KINDS, indirect=True)
async def test_random_campaign(rig: Rig) -> None:
    """A seeded random walk of faults, clears and polls; then everything cleared.

    The device is back at the next good poll with the same entities and devices,
    and no exception escaped on the way.
    """
    rng = random.Random(RANDOM_SEED)
    faults = [fault for fault in FAULTS[rig.kind] if fault.in_random_walk]
    registry_ids = rig.registry_ids()
    active: list[Fault] = []
    used: list[Fault] = []
    for _ in range(RANDOM_STEPS):
        action = rng.choice(("inject", "clear", "poll"))
        if action == "inject" and len(active) < len(faults):
            fault = rng.choice([fault for fault in faults if fault not in active])
            fault.inject(rig)
            active.append(fault)
            used.append(fault)
            rig.tally["faults"] += 1
        elif action == "clear" and active:
            active.pop(rng.randrange(len(active))).clear(rig)
        else:
            await rig.poll()
    for fault in reversed(active):
        fault.clear(rig)

    await _bring_back(rig, used)
    assert rig.tally["faults"] >= 5  # the walk did inject faults
    assert not rig.unavailable()
    assert rig.registry_ids() == registry_ids
    rig.finish()


@pytest.fixture(scope="module", autouse=True)
def campaign_report(
    record_testsuite_property: Callable[[str, object], None],
) -> Iterator[None]:
    """After the module: the campaign's counts in the test report; none escaped."""
    yield
    for name in ("faults", "polls", "commands", "escaped"):
        record_testsuite_property(f"campaign_{name}", CAMPAIGN[name])
    assert CAMPAIGN["escaped"] == 0
