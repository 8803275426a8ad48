"""Soak: several miners polled thousands of times while faults come and go.

One Home Assistant with four miners on the emulators, each at its own poll
interval: a Whatsminer on API v2 (firmware 2.2), an older one (2.0.4), a
Whatsminer on API v3 and a DragonMint T1. Time is the frozen test clock, stepped
by ``freezer`` and ``async_fire_time_changed`` as conftest's ``poll`` does. A
seeded ``random.Random`` starts faults and ends them some polls later: the miner
goes offline, answers garbage or half a reply, stalls, sends its reply in pieces,
is rebooted (through the integration's button for a Whatsminer), or its entry is
reloaded, also while the miner is offline (setup is then retried); and it changes
the power the Whatsminers draw.

Checked:

* resources stay flat: open file descriptors, asyncio tasks and Python memory
  (tracemalloc) at a calm checkpoint after warm-up against the last one;
* each energy sensor's total equals the integral the test computes from the
  power each poll delivered (asserted equal to what the emulator served), by the
  rule ``MinerEnergySensorEntity`` documents: at each successful poll, the power
  of the previous poll times the time since it, only when that previous poll
  succeeded too. A failed poll adds nothing and breaks the chain, so the time a
  miner was unreachable adds nothing and the first poll after an outage only
  takes a sample; a reload (what a restart of Home Assistant does to the entry)
  restores the total and its first poll also only takes a sample. The DragonMint
  reports no power, so it has no energy sensor;
* nothing unexpected is logged (no "Unexpected error", no task exception never
  retrieved, no unclosed connection) and no socket is left for the garbage
  collector to close (ResourceWarning).

The number of polls (all miners together) is ``MINER_HUB_SOAK_POLLS`` (default
1,000: 20 to 30 seconds; ``scripts/soak`` runs 10,000), the seed
``MINER_HUB_SOAK_SEED``. Run with ``-s`` to see the summary. While the soak runs,
the integration's, Home Assistant's and the emulators' log records are counted
rather than captured (see ``_tallied_logs``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import gc
import logging
import os
import random
import time
import tracemalloc
from typing import Any
from unittest.mock import patch
import warnings

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.miner_hub.const import CONF_SCAN_INTERVAL, DOMAIN
from custom_components.miner_hub.coordinator import MinerCoordinator, MinerData
from tests.conftest import (
    DRAGONMINT_PASSWORD,
    MINER_PASSWORD,
    dragonmint_entry_data,
    setup_integration,
    whatsminer_entry_data,
    whatsminer_v3_entry_data,
)
from tests.emulators import (
    DragonMintEmulator,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)

SOAK_POLLS = int(os.environ.get("MINER_HUB_SOAK_POLLS", "1000"))
SEED = int(os.environ.get("MINER_HUB_SOAK_SEED", "20261123"))

STEP = timedelta(seconds=5)  # the clock moves this much per step; polls fall due
WARM_UP = 0.2  # share of the polls before the baseline checkpoint
CHECKPOINTS = 4  # checkpoints after the baseline, the last at the end
CALM_STEPS = 6  # at least this long without faults before a checkpoint (30 s)
FAULT_CHANCE = 0.06  # per miner and step, while no fault of it is active
POWER_CHANGE_CHANCE = 0.05  # per Whatsminer and step: another power target
WATTS = range(1800, 3400, 25)  # power targets, below every model's power limit
WHATSMINER_FAULTS = (
    "offline",
    "garbage",
    "truncate",
    "stall",
    "reboot",
    "reload",
    "reload_offline",
)
V3_FAULTS = (*WHATSMINER_FAULTS, "garbage_json", "fragment")
DRAGONMINT_FAULTS = (
    "offline",
    "http_500",
    "drop",
    "stall",
    "reboot",
    "reload",
    "reload_offline",
)
# Faults whose polls wait for the clock: a stalled miner leaves the client
# waiting for its timeout, and a fragmented reply pauses between its pieces.
TIMED_FAULTS = frozenset({"stall", "fragment"})
STALL_S = 40.0  # a stalled Whatsminer lets go after the clients' timeouts
SPIN_S = 0.02  # real seconds without progress before the clock moves on
# The clock moves on to the earliest timer, by at least this: the emulators poll
# their own clock every 20 ms while a reboot or a re-listen is pending.
MIN_ADVANCE_S = 1.0
MAX_ADVANCES = 200

# The last checkpoint may exceed the baseline checkpoint by this much. At a
# checkpoint every fault has been cleared for at least CALM_STEPS, every miner has
# answered and Home Assistant is idle, so the same things are open each time
# (measured over seeds and up to 10,000 polls: 25 descriptors at every checkpoint,
# 2 tasks, once 3). What may differ is an idle keep-alive HTTP connection to the
# DragonMint (two descriptors and the emulator's task serving it); a leak of one
# descriptor or task per failed poll would add hundreds.
FD_TOLERANCE = 4
TASK_TOLERANCE = 2
# Python memory (tracemalloc, after gc.collect()) at the checkpoints of runs of
# 1,000 to 10,000 polls stays within 80 KiB of the baseline, most of it the
# emulators' own journal and token lists, which fill up to their limits. 256 KiB
# is three times that: a leak of 330 bytes per poll exceeds it at the default
# 1,000 polls, of 35 bytes per poll at 10,000.
MEMORY_TOLERANCE = 256 * 1024

# Logged when something went wrong that no fault explains.
UNEXPECTED_LOGS = (
    "Unexpected error",
    "exception was never retrieved",
    "Unclosed",
    "Error doing job",
    "Emulator error",
)


def _real_clock() -> float:
    """Real seconds (freezegun moves its real_* clocks too in async tests)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass
class Soaked:
    """A miner under soak: its emulator, entry and what the test expects."""

    name: str
    emulator: WhatsminerV2Emulator | WhatsminerV3Emulator | DragonMintEmulator
    entry: MockConfigEntry
    mac: str  # the entry's unique ID, which starts the entities' unique IDs
    faults: tuple[str, ...]
    watts: int | None  # what a Whatsminer draws now (a DragonMint reports none)
    fault: str | None = None
    fault_steps: int = 0
    polls: int = 0
    failed_polls: int = 0
    faults_started: Counter[str] = field(default_factory=Counter)
    # The documented rule applied to each poll: the last successful poll's
    # (W, when); None after a failed poll or a reload.
    sample: tuple[float, datetime] | None = None
    expected_kwh: float = 0.0
    # What a sum across outages would have added too (the last power seen times
    # the time until the miner answered again): the rule must leave it out.
    last_seen: tuple[float, datetime] | None = None
    outage_kwh: float = 0.0
    mismatches: list[str] = field(default_factory=list)

    def record(self, data: MinerData | None) -> None:
        """Account one poll (None: it failed) as the energy sensor documents."""
        self.polls += 1
        if data is None:
            self.failed_polls += 1
            self.sample = None
            return
        power = data.status.power_w
        if self.watts is not None and power != self.watts:
            self.mismatches.append(f"served {self.watts} W, the poll gave {power}")
        now = dt_util.utcnow()
        if self.sample is not None:
            self.expected_kwh += _kwh(self.sample, now)
        elif self.last_seen is not None:
            self.outage_kwh += _kwh(self.last_seen, now)
        self.sample = None if power is None else (float(power), now)
        self.last_seen = self.sample

    def answering(self) -> bool:
        """Set up, its last poll fine and not rebooting: ready for a fault."""
        if self.entry.state is not ConfigEntryState.LOADED:
            return False
        emulator = self.emulator
        if isinstance(emulator, DragonMintEmulator):
            if emulator.power_state != "on":
                return False
        elif emulator.is_rebooting():
            return False
        coordinator = self.entry.runtime_data
        assert isinstance(coordinator, MinerCoordinator)
        return coordinator.last_update_success


def _kwh(sample: tuple[float, datetime], now: datetime) -> float:
    """The sensor's step: the sample's power over the time since it."""
    watts, since = sample
    return watts * max(0.0, (now - since).total_seconds() / 3600) / 1000


@dataclass(frozen=True)
class Resources:
    """What a checkpoint measures."""

    polls: int
    fds: int
    tasks: int
    memory: int  # bytes traced by tracemalloc
    rss: int  # resident bytes (reported only: the allocator keeps freed pages)

    def __str__(self) -> str:
        return (
            f"{self.polls:>6} polls: {self.fds} fds, {self.tasks} tasks, "
            f"{self.memory / 1024:.0f} KiB traced, {self.rss / 2**20:.1f} MiB RSS"
        )


def _resources(polls: int) -> Resources:
    # The test harness mocks storage and records each load and write with its
    # arguments (the Store too): that record grows with every reload and write,
    # and is the test's memory, not the integration's.
    for mocked in (Store._async_load, Store._async_write_data):
        mocked.reset_mock()  # type: ignore[attr-defined]
    gc.collect()
    with open("/proc/self/statm", encoding="ascii") as statm:
        rss_pages = int(statm.read().split()[1])
    return Resources(
        polls=polls,
        fds=len(os.listdir("/proc/self/fd")),
        tasks=len(asyncio.all_tasks()),
        memory=tracemalloc.get_traced_memory()[0],
        rss=rss_pages * os.sysconf("SC_PAGE_SIZE"),
    )


class _LogTally(logging.Handler):
    """Counts records and keeps the first unexpected ones."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.unexpected: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        message = record.getMessage()
        if (
            record.levelno >= logging.ERROR
            and (record.exc_info or any(text in message for text in UNEXPECTED_LOGS))
            and len(self.unexpected) < 20
        ):
            self.unexpected.append(f"{record.name}: {message}")


@contextmanager
def _tallied_logs() -> Iterator[_LogTally]:
    """Count the integration's, Home Assistant's and the emulators' records.

    They go to the tally instead of pytest's capture, which keeps every record
    (and the exceptions in its arguments) until the test ends: that would look
    like a leak. asyncio's records are counted and still reach pytest.
    """
    tally = _LogTally()
    diverted = [
        logging.getLogger(name)
        for name in (
            "custom_components.miner_hub",
            "homeassistant",
            "aiohttp",
            "tests.emulators",
        )
    ]
    asyncio_logger = logging.getLogger("asyncio")
    propagate = [logger.propagate for logger in diverted]
    for logger in (*diverted, asyncio_logger):
        logger.addHandler(tally)
    for logger in diverted:
        logger.propagate = False
    try:
        yield tally
    finally:
        for logger, saved in zip(diverted, propagate, strict=True):
            logger.propagate = saved
        for logger in (*diverted, asyncio_logger):
            logger.removeHandler(tally)


@contextmanager
def _recording_polls(miners: list[Soaked]) -> Iterator[None]:
    """Every poll of a miner's coordinator is accounted by ``Soaked.record``."""
    original = MinerCoordinator._async_update_data
    by_entry = {miner.entry.entry_id: miner for miner in miners}

    async def recorded(coordinator: MinerCoordinator) -> MinerData:
        miner = by_entry[coordinator.config_entry.entry_id]
        try:
            data = await original(coordinator)
        except BaseException:
            miner.record(None)
            raise
        miner.record(data)
        return data

    with patch.object(MinerCoordinator, "_async_update_data", recorded):
        yield


async def _start_emulators(stack: AsyncExitStack) -> list[Soaked]:
    """Start the four emulated miners (not yet set up in Home Assistant)."""
    v2 = await stack.enter_async_context(
        WhatsminerV2Emulator(
            password=MINER_PASSWORD, hostname="soak-v2", mac="C6:07:20:00:50:01"
        )
    )
    old = await stack.enter_async_context(
        WhatsminerV2Emulator(
            password=MINER_PASSWORD,
            profile="2.0.4",
            hostname="soak-v2-old",
            mac="C6:07:20:00:50:02",
        )
    )
    v3 = await stack.enter_async_context(
        WhatsminerV3Emulator(
            password=MINER_PASSWORD, hostname="soak-v3", mac="C6:07:20:00:50:03"
        )
    )
    dragonmint = await stack.enter_async_context(
        DragonMintEmulator(mac="00:0A:35:00:50:04", noise=False)
    )
    assert dragonmint.admin_password == DRAGONMINT_PASSWORD
    dragonmint.faults.cgminer_restart_seconds = 30
    for whatsminer in (v2, old, v3):
        whatsminer.state.power_target_w = WATTS[0]
        whatsminer.faults.reboot_seconds = 45  # one to four polls unreachable
        whatsminer.faults.stall_seconds = STALL_S
    v3.v2.faults.stall_seconds = STALL_S
    return [
        _soaked("v2", v2, whatsminer_entry_data(v2), 10, WHATSMINER_FAULTS),
        _soaked("v2-old", old, whatsminer_entry_data(old), 30, WHATSMINER_FAULTS),
        _soaked("v3", v3, whatsminer_v3_entry_data(v3), 15, V3_FAULTS),
        _soaked(
            "dragonmint",
            dragonmint,
            dragonmint_entry_data(dragonmint),
            20,
            DRAGONMINT_FAULTS,
        ),
    ]


def _soaked(
    name: str,
    emulator: WhatsminerV2Emulator | WhatsminerV3Emulator | DragonMintEmulator,
    data: dict[str, Any],
    interval_s: int,
    faults: tuple[str, ...],
) -> Soaked:
    if isinstance(emulator, DragonMintEmulator):
        mac, watts = emulator.state.ethaddr, None
    else:
        mac, watts = emulator.state.mac.lower(), emulator.state.power_target_w
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"soak {name}",
        unique_id=mac,
        data=data,
        options={CONF_SCAN_INTERVAL: interval_s},
    )
    return Soaked(name, emulator, entry, mac, faults, watts)


# --- driving the clock ---------------------------------------------------------


async def _settle(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, *, timed: bool
) -> None:
    """Wait until Home Assistant is idle, moving a stuck clock on when ``timed``.

    Without a timed fault every wait is for the network: Home Assistant is just
    awaited. With one, when nothing finishes for SPIN_S real seconds, the clock
    moves on to the earliest timer of the loop (a client's timeout, the pause
    between two pieces of a reply), at least by MIN_ADVANCE_S, and what fell due
    runs.
    """
    if not timed:
        await hass.async_block_till_done(wait_background_tasks=True)
        return
    loop = asyncio.get_running_loop()
    waiter = loop.create_task(hass.async_block_till_done(wait_background_tasks=True))
    for _ in range(MAX_ADVANCES):
        deadline = _real_clock() + SPIN_S
        # No timer can wake this task while the clock stands still: it spins.
        while not waiter.done() and _real_clock() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0)
        if waiter.done():
            await waiter
            return
        due = min(
            (
                timer.when()
                for timer in get_scheduled_timer_handles(loop)
                if not timer.cancelled()
            ),
            default=loop.time(),
        )
        freezer.tick(timedelta(seconds=max(due - loop.time(), MIN_ADVANCE_S)))
    waiter.cancel()
    pytest.fail(f"Home Assistant still busy after {MAX_ADVANCES} timers")


async def _step(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, miners: list[Soaked]
) -> None:
    """Let STEP pass; the polls that fall due run (as conftest's poll_dragonmint)."""
    freezer.tick(STEP)
    for miner in miners:
        miner.emulator.advance(0)  # a reboot that is over ends before polls connect
    async_fire_time_changed(hass)
    await _settle(
        hass, freezer, timed=any(miner.fault in TIMED_FAULTS for miner in miners)
    )


# --- faults --------------------------------------------------------------------


def _switch(miner: Soaked, fault: str, on: bool) -> None:
    """Switch a fault of the emulator."""
    emulator = miner.emulator
    match fault:
        case "reboot" | "reload":
            pass  # events, nothing to switch off
        case "offline" | "reload_offline":
            emulator.faults.offline = on  # both ports of a v3 miner
        case "stall":
            emulator.faults.stall = on
            if isinstance(emulator, WhatsminerV3Emulator):
                emulator.v2.faults.stall = on  # the whole miner hangs
        case "drop":
            assert isinstance(emulator, DragonMintEmulator)
            emulator.faults.drop_requests = 2 if on else 0
        case _:
            setattr(emulator.faults, fault, on)


async def _start_fault(
    hass: HomeAssistant, miner: Soaked, fault: str, rng: random.Random
) -> None:
    miner.faults_started[fault] += 1
    miner.fault, miner.fault_steps = fault, rng.randint(1, 8)
    _switch(miner, fault, True)
    match fault:
        case "reboot" if isinstance(miner.emulator, DragonMintEmulator):
            miner.emulator.reboot()  # back after 60 s, mining 30 s later
            miner.fault_steps = 20
        case "reboot":
            await _press_reboot(hass, miner)
        case "reload" | "reload_offline":
            miner.sample = None  # the new entity's first poll only takes a sample
            await hass.config_entries.async_reload(miner.entry.entry_id)


async def _press_reboot(hass: HomeAssistant, miner: Soaked) -> None:
    """Reboot a Whatsminer through the integration, as a user would."""
    entity_id = er.async_get(hass).async_get_entity_id(
        BUTTON_DOMAIN, DOMAIN, f"{miner.mac}_reboot"
    )
    assert entity_id is not None
    # A reboot the miner did not confirm is reported (and never retried).
    with suppress(HomeAssistantError):
        await hass.services.async_call(
            BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
        )


def _end_fault(miner: Soaked) -> None:
    if miner.fault is not None:
        _switch(miner, miner.fault, False)
    miner.fault, miner.fault_steps = None, 0


async def _chaos(hass: HomeAssistant, miners: list[Soaked], rng: random.Random) -> None:
    """End faults that ran their course, start new ones, change the power."""
    for miner in miners:
        if miner.fault is not None:
            miner.fault_steps -= 1
            if miner.fault_steps <= 0:
                _end_fault(miner)
        elif rng.random() < FAULT_CHANCE and miner.answering():
            await _start_fault(hass, miner, rng.choice(miner.faults), rng)
        if miner.watts is not None and rng.random() < POWER_CHANGE_CHANCE:
            emulator = miner.emulator
            assert not isinstance(emulator, DragonMintEmulator)
            emulator.state.power_target_w = miner.watts = rng.choice(WATTS)


async def _checkpoint(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, miners: list[Soaked]
) -> Resources:
    """Clear every fault, poll until every miner answered again, then measure."""
    for miner in miners:
        _end_fault(miner)
    polls = {miner.name: miner.polls for miner in miners}
    for step in range(200):
        await _step(hass, freezer, miners)
        if step + 1 >= CALM_STEPS and all(
            miner.answering() and miner.polls > polls[miner.name] for miner in miners
        ):
            break
    else:
        pytest.fail("a miner did not answer again once its faults were cleared")
    for miner in miners:  # what the emulators keep of every request
        miner.emulator.received.clear()
        if isinstance(miner.emulator, WhatsminerV3Emulator):
            miner.emulator.v2.received.clear()
    return _resources(sum(miner.polls for miner in miners))


def _energy_kwh(hass: HomeAssistant, miner: Soaked) -> float | None:
    """The energy sensor's state; None when the miner has none."""
    entity_id = er.async_get(hass).async_get_entity_id(
        Platform.SENSOR, DOMAIN, f"{miner.mac}_energy"
    )
    if entity_id is None:
        return None
    state = hass.states.get(entity_id)
    assert state is not None
    return float(state.state)


@pytest.fixture
async def soak_miners(socket_enabled: None) -> AsyncIterator[list[Soaked]]:
    """The emulated miners, stopped after the test."""
    async with AsyncExitStack() as stack:
        yield await _start_emulators(stack)


# A guard against a hang, not the budget: 1,000 polls take 20 to 30 s (with
# tracemalloc, which doubles the time), twice that beside another test worker.
@pytest.mark.timeout(max(120, SOAK_POLLS * 60 // 1000))
async def test_soak(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, soak_miners: list[Soaked]
) -> None:
    """Thousands of polls with faults: flat resources, exact energy totals."""
    miners = soak_miners
    rng = random.Random(SEED)
    started = _real_clock()
    # asyncio's debug mode (on in Home Assistant's tests) keeps a stack for every
    # task and callback: five times slower, and its slow-callback warnings fire at
    # every step of the frozen clock.
    debug = hass.loop.get_debug()
    hass.loop.set_debug(False)
    tracemalloc.start()
    try:
        with (
            _tallied_logs() as logs,
            warnings.catch_warnings(record=True) as caught,
            _recording_polls(miners),
        ):
            warnings.simplefilter("always", ResourceWarning)
            for miner in miners:
                await setup_integration(hass, miner.entry)

            def total_polls() -> int:
                return sum(miner.polls for miner in miners)

            async def soak_until(polls: int) -> None:
                while total_polls() < polls:
                    await _chaos(hass, miners, rng)
                    await _step(hass, freezer, miners)

            await soak_until(int(SOAK_POLLS * WARM_UP))
            checkpoints = [await _checkpoint(hass, freezer, miners)]
            for index in range(1, CHECKPOINTS + 1):
                share = WARM_UP + (1 - WARM_UP) * index / CHECKPOINTS
                await soak_until(int(SOAK_POLLS * share))
                checkpoints.append(await _checkpoint(hass, freezer, miners))
            energy = {miner.name: _energy_kwh(hass, miner) for miner in miners}
            resource_warnings = [
                str(warning.message)
                for warning in caught
                if issubclass(warning.category, ResourceWarning)
            ]
    finally:
        tracemalloc.stop()
        hass.loop.set_debug(debug)
    elapsed = _real_clock() - started

    baseline, end = checkpoints[0], checkpoints[-1]
    summary = "\n".join(
        [
            f"soak: {end.polls} polls in {elapsed:.1f} s (seed {SEED}); checkpoints:",
            *(f"  {point}" for point in checkpoints),
            *(
                f"  {m.name}: {m.polls} polls, {m.failed_polls} failed; faults "
                f"{dict(m.faults_started)}; energy {energy[m.name]} kWh, "
                f"expected {m.expected_kwh!r} kWh, not counted while "
                f"unreachable {m.outage_kwh:.6f} kWh"
                for m in miners
            ),
            f"  log records: {dict(logs.counts)}",
        ]
    )
    print(summary)  # noqa: T201 (scripts/soak runs pytest with -s)

    assert end.polls >= SOAK_POLLS
    assert logs.unexpected == []
    assert resource_warnings == []
    assert end.fds <= baseline.fds + FD_TOLERANCE, summary
    assert end.tasks <= baseline.tasks + TASK_TOLERANCE, summary
    assert end.memory <= baseline.memory + MEMORY_TOLERANCE, summary
    for miner in miners:
        assert miner.failed_polls > 0, f"{miner.name}: no fault hit a poll"
        assert miner.mismatches == [], miner.name
        if isinstance(miner.emulator, DragonMintEmulator):
            assert energy[miner.name] is None  # it reports no power
        else:
            assert miner.outage_kwh > 0, f"{miner.name}: no outage to leave out"
            # The state is the total to 15 significant digits.
            assert energy[miner.name] == pytest.approx(miner.expected_kwh, rel=1e-12), (
                miner.name
            )
