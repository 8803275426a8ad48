"""Miner Hub's side of the benchmark: the real coordinators in a test Home Assistant.

``python -m tests.bench.hass_side CONTROL_PORT REQUEST_JSON`` runs in a process of
its own (so its CPU time and peak memory are its own), sets up one config entry
per miner the request lists, measures what it is asked and prints one JSON line.

- ``single``: polls of one miner (the coordinator's full refresh, entities
  included), with the slow reads (power supply, error codes) amortised as at the
  default interval; then writes with the credentials cached and not cached.
- ``scale``: cycles in which every miner is polled at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import gc
import json
import logging
import resource
import statistics
import sys
import tempfile
import time
from typing import Any
from unittest.mock import patch

from aiohttp.resolver import AsyncResolver

# Our integration, before the harness mounts its own test config dir.
import custom_components.miner_hub  # noqa: F401  # isort: skip
from homeassistant import loader
from homeassistant.const import (
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.event import RANDOM_MICROSECOND_MAX
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
)

from custom_components.miner_hub.const import (
    CONF_API,
    CONF_KIND,
    CONF_SCAN_INTERVAL,
    CONF_V3_PORT,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    KIND_DRAGONMINT,
    KIND_WHATSMINER,
    MAX_SCAN_INTERVAL,
    SLOW_READ_INTERVAL,
)
from custom_components.miner_hub.coordinator import MinerCoordinator
from custom_components.miner_hub.protocol.dragonmint.adapter import DragonMintMiner
from custom_components.miner_hub.protocol.models import AutoTuneMode
from custom_components.miner_hub.protocol.whatsminer.v2.adapter import WhatsminerV2Miner
from custom_components.miner_hub.protocol.whatsminer.v3.adapter import (
    WhatsminerV3Miner,
)

from .serve import PASSWORD, raise_open_file_limit

# One poll in this many also reads the power supply and error codes.
SLOW_READ_EVERY = int(SLOW_READ_INTERVAL.total_seconds() / DEFAULT_SCAN_INTERVAL)


class Control:
    """The emulator server's control connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._reader, self._writer = reader, writer

    async def call(self, **request: Any) -> Any:
        self._writer.write(json.dumps(request).encode() + b"\n")
        await self._writer.drain()
        reply = json.loads(await self._reader.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply["ok"]

    async def traffic(self, group: str) -> dict[str, int]:
        """Connections and bytes summed over the group's proxies."""
        rows: list[dict[str, int]] = await self.call(op="traffic", group=group)
        total = {
            key: sum(row[key] for row in rows)
            for key in ("connections", "bytes_sent", "bytes_received")
        }
        total["max_in_flight"] = max((row["max_in_flight"] for row in rows), default=0)
        return total


def _entry(miner: dict[str, Any]) -> MockConfigEntry:
    """A config entry as the config flow makes it; polled only when asked."""
    data: dict[str, Any] = {
        CONF_HOST: miner["host"],
        CONF_PORT: miner["port"],
        CONF_PASSWORD: PASSWORD,
    }
    if miner["kind"] == "dragonmint":
        data |= {CONF_KIND: KIND_DRAGONMINT, CONF_USERNAME: "admin"}
    else:
        data[CONF_KIND] = KIND_WHATSMINER
        data[CONF_API] = "v3" if miner["kind"] == "whatsminer_v3" else "v2"
        if "v3_port" in miner:
            data[CONF_V3_PORT] = miner["v3_port"]
    return MockConfigEntry(
        domain=DOMAIN,
        title=miner["mac"],
        unique_id=miner["mac"].lower(),
        data=data,
        # The bench polls; the interval timer stays out of the way.
        options={CONF_SCAN_INTERVAL: MAX_SCAN_INTERVAL},
    )


@contextlib.asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """A test Home Assistant that loads Miner Hub from this tree."""
    # As the test harness does: no zeroconf for the HTTP session's resolver.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with (
        tempfile.TemporaryDirectory() as config_dir,
        patch(
            "homeassistant.helpers.aiohttp_client._async_make_resolver",
            return_value=resolver,
        ),
    ):
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
            yield hass
            await hass.async_stop(force=True)


async def set_up(
    hass: HomeAssistant, miners: list[dict[str, Any]]
) -> list[MinerCoordinator]:
    """One loaded entry per miner, set up concurrently; their coordinators."""
    entries = [_entry(miner) for miner in miners]
    for entry in entries:
        entry.add_to_hass(hass)
    results = await asyncio.gather(
        *(hass.config_entries.async_setup(entry.entry_id) for entry in entries)
    )
    await hass.async_block_till_done()
    if not all(results):
        failed = [e.title for e, ok in zip(entries, results, strict=True) if not ok]
        raise RuntimeError(f"setup failed for {failed[:5]} ({len(failed)} in all)")
    coordinators = [entry.runtime_data for entry in entries]
    assert all(isinstance(c, MinerCoordinator) for c in coordinators)
    return coordinators


class GcPauses:
    """The longest pause of Python's garbage collector while active."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._started = 0.0

    def _callback(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.longest = max(self.longest, time.perf_counter() - self._started)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self._callback)


class LoopLagProbe:
    """The longest the event loop left a due timer waiting: its longest stall."""

    def __init__(self, period: float = 0.002) -> None:
        self.period = period
        self.max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.max_lag = max(self.max_lag, loop.time() - due)

    def __enter__(self) -> LoopLagProbe:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def _refresh(coordinator: MinerCoordinator) -> None:
    await coordinator.async_refresh()
    if not coordinator.last_update_success:
        raise RuntimeError(f"poll failed: {coordinator.last_exception!r}")


async def _measure(
    run: Callable[[], Awaitable[None]], repeat: int
) -> tuple[float, float]:
    """CPU and wall seconds per run (garbage collected before, not during)."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        await run()
    return (time.process_time() - cpu) / repeat, (time.perf_counter() - wall) / repeat


BLOCKS = 5  # CPU is the median over blocks of polls: one noisy block does not count


async def _single(
    hass: HomeAssistant, control: Control, group: str, miner: dict[str, Any], polls: int
) -> dict[str, Any]:
    (coordinator,) = await set_up(hass, [miner])
    await control.call(op="reset_traffic", group=group)
    count = 0

    def amortise_slow_reads() -> None:
        nonlocal count
        if count % SLOW_READ_EVERY == 0:
            coordinator._slow_reads_due = None  # as once every 5 minutes
        count += 1

    async def poll() -> None:
        amortise_slow_reads()
        await _refresh(coordinator)

    async def read() -> None:
        """The same reads, without telling the entities (compares with pyasic)."""
        amortise_slow_reads()
        await coordinator._async_update_data()

    block = max(SLOW_READ_EVERY, polls // BLOCKS)
    polled = [await _measure(poll, block) for _ in range(BLOCKS)]
    traffic = await control.traffic(group)
    count = 0
    read_cpu = statistics.median(
        [(await _measure(read, block))[0] for _ in range(BLOCKS)]
    )
    polls_done = block * BLOCKS
    result: dict[str, Any] = {
        "polls": polls_done,
        "cpu_per_poll_s": statistics.median(cpu for cpu, _ in polled),
        "read_cpu_per_poll_s": read_cpu,
        "wall_per_poll_s": statistics.median(wall for _, wall in polled),
        "connections_per_poll": traffic["connections"] / polls_done,
        "bytes_per_poll": (traffic["bytes_sent"] + traffic["bytes_received"])
        / polls_done,
        "max_requests_in_flight": traffic["max_in_flight"],
        "entities": len(hass.states.async_entity_ids()),
    }
    result["write"] = await _writes(coordinator, control, group)
    return result


async def _write(coordinator: MinerCoordinator) -> None:
    """A harmless write: mining on (it is on), or the autotune mode it has."""
    miner = coordinator.miner
    if isinstance(miner, DragonMintMiner):
        await miner.set_autotune_mode(AutoTuneMode.BALANCED)
    else:
        await miner.set_mining(True)


def _forget_credentials(coordinator: MinerCoordinator) -> None:
    """What a write needs before it can be sent is fetched again."""
    miner = coordinator.miner
    if isinstance(miner, WhatsminerV2Miner):
        miner.client.forget_token()
    elif isinstance(miner, WhatsminerV3Miner):
        miner.client.forget_salt()


async def _writes(
    coordinator: MinerCoordinator, control: Control, group: str, repeat: int = 20
) -> dict[str, Any]:
    """Connections and time of a write, credentials cached and not."""
    result: dict[str, Any] = {}
    for cached in (False, True):
        await _write(coordinator)  # the credentials are cached now
        await control.call(op="reset_traffic", group=group)

        async def write(cached: bool = cached) -> None:
            if not cached:
                _forget_credentials(coordinator)
            await _write(coordinator)

        cpu, wall = await _measure(write, repeat)
        traffic = await control.traffic(group)
        result["cached" if cached else "uncached"] = {
            "connections_per_write": traffic["connections"] / repeat,
            "bytes_per_write": (traffic["bytes_sent"] + traffic["bytes_received"])
            / repeat,
            "cpu_per_write_s": cpu,
            "wall_per_write_s": wall,
        }
    return result


async def _cycle(
    hass: HomeAssistant, coordinators: list[MinerCoordinator]
) -> dict[str, float]:
    """Every miner polled once, each when Home Assistant's timer would fire it.

    A coordinator's timer fires at its own random fraction of a second (0.05 to
    0.5 s, chosen by Home Assistant), so miners set up together poll together
    but not in one instant; the cycle's time counts from the whole second.
    """
    loop = hass.loop
    gc.collect()
    start = loop.time()
    finished: list[asyncio.Future[None]] = []

    def fire(coordinator: MinerCoordinator) -> None:
        finished.append(
            hass.async_create_background_task(
                _refresh(coordinator), "bench poll", eager_start=True
            )
        )

    with LoopLagProbe() as probe, GcPauses() as gc_pauses:
        cpu = time.process_time()
        for coordinator in coordinators:
            loop.call_at(start + coordinator._microsecond, fire, coordinator)
        await asyncio.sleep(RANDOM_MICROSECOND_MAX / 10**6 + 0.01)  # all fired
        await asyncio.gather(*finished)
        wall = loop.time() - start
        cpu = time.process_time() - cpu
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "max_loop_stall_s": probe.max_lag,
        "max_gc_pause_s": gc_pauses.longest,
    }


async def _scale(
    hass: HomeAssistant, miners: list[dict[str, Any]], cycles: int
) -> dict[str, Any]:
    setup_start = time.perf_counter()
    coordinators = await set_up(hass, miners)
    setup_s = time.perf_counter() - setup_start
    rows = []
    # The probe's own CPU (and the idle loop's), measured alone, is not counted.
    idle = (await _cycle(hass, []))["cpu_s"]
    rows = [await _cycle(hass, coordinators) for _ in range(cycles)]
    for row in rows:
        row["cpu_s"] = max(0.0, row["cpu_s"] - idle)
    rows.sort(key=lambda row: row["wall_s"])
    median = rows[len(rows) // 2]
    return {
        "miners": len(miners),
        "setup_s": setup_s,
        "cycles": cycles,
        **median,
        "worst_wall_s": rows[-1]["wall_s"],
        "idle_cycle_cpu_s": idle,
        "worst_loop_stall_s": max(row["max_loop_stall_s"] for row in rows),
        "worst_gc_pause_s": max(row["max_gc_pause_s"] for row in rows),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "entities": len(hass.states.async_entity_ids()),
    }


async def main(control_port: int, request: dict[str, Any]) -> dict[str, Any]:
    raise_open_file_limit()
    reader, writer = await asyncio.open_connection("127.0.0.1", control_port)
    control = Control(reader, writer)
    try:
        async with home_assistant() as hass:
            if request["mode"] == "single":
                return await _single(
                    hass,
                    control,
                    request["group"],
                    request["miners"][0],
                    request["polls"],
                )
            return await _scale(hass, request["miners"], request["cycles"])
    finally:
        writer.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    outcome = asyncio.run(main(int(sys.argv[1]), json.loads(sys.argv[2])))
    print(json.dumps(outcome))
