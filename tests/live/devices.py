"""The emulated devices of a running Home Assistant, with data that keeps moving.

``EmulatedDevices`` starts two Whatsminer v2, one Whatsminer v3, one DragonMint
and one Spiderpool account (a dozen workers) on 127.0.0.1 and, while they run,
nudges their state every few seconds so that graphs look alive: the room warms
and cools (miner temperatures follow it and the power), chain hashrates and
worker hashrates wander, and now and then a worker drops off the pool and comes
back. ``config_flows()`` says how to add each one through the config flow.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
import math
import random
import time
from types import TracebackType
from typing import Any, Final, Self

from tests.emulators import (
    DragonMintEmulator,
    SpiderpoolEmulator,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)
from tests.emulators.whatsminer_v3 import V3_FACTORY_PASSWORD

HOST: Final = "127.0.0.1"
WHATSMINER_PASSWORD: Final = "admin"  # the v2 factory password
TICK_SECONDS: Final = 5.0
ROOM_CYCLE_SECONDS: Final = 3600.0  # one warm-cool cycle of the room per hour
WORKER_DROP_CHANCE: Final = 0.004  # per online worker and tick: one every ~2 min
WORKER_BACK_AFTER: Final = (60.0, 300.0)  # seconds offline


@dataclass(frozen=True, slots=True)
class Ports:
    """Where the devices listen; 0 lets the system pick (tests)."""

    whatsminers: tuple[int, int] = (4028, 4029)
    # API v3 on a port of its own: the v2 miners' detection finds nothing on
    # 4433, so it does not take them for this v3 miner sharing their address.
    whatsminer_v3: int = 14433
    whatsminer_v3_legacy: int = 14028
    dragonmint: int = 18080
    spiderpool: int = 18443

    @classmethod
    def any_free(cls) -> Ports:
        return cls((0, 0), 0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class ConfigFlow:
    """The menu choice and the form input that add one device."""

    name: str
    menu_step: str
    user_input: dict[str, Any]


@dataclass
class _OfflineWorker:
    name: str
    back_at: float


@dataclass
class _Baselines:
    """Nominal values the live data wander around."""

    chain_mhs: list[float] = field(default_factory=list)
    chain_temperatures: list[int] = field(default_factory=list)
    worker_hashrates: dict[str, float] = field(default_factory=dict)


class EmulatedDevices:
    """All emulated devices, started and stopped together."""

    def __init__(
        self,
        ports: Ports | None = None,
        *,
        live: bool = True,
        whatsminer_password: str = WHATSMINER_PASSWORD,
    ) -> None:
        ports = ports or Ports()
        self.whatsminer_password = whatsminer_password
        self.whatsminers = [
            WhatsminerV2Emulator(
                password=whatsminer_password,
                host=HOST,
                port=port,
                mac=f"C6:07:20:00:1E:{0xC2 + index:02X}",
                hostname=f"garage-m30-{index + 1}",
                noise=True,
            )
            for index, port in enumerate(ports.whatsminers)
        ]
        self.whatsminer_v3 = WhatsminerV3Emulator(
            host=HOST,
            port=ports.whatsminer_v3,
            v2_port=ports.whatsminer_v3_legacy,
            mac="C6:07:20:00:3A:01",
            hostname="shed-m60",
            noise=True,
        )
        self.dragonmint = DragonMintEmulator(host=HOST, port=ports.dragonmint)
        self.spiderpool = SpiderpoolEmulator(host=HOST, port=ports.spiderpool)
        self.live = live
        self.rng = random.Random()
        self._baselines = _Baselines()
        self._offline: list[_OfflineWorker] = []
        self._stack = AsyncExitStack()
        self._ticker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        for emulator in (
            *self.whatsminers,
            self.whatsminer_v3,
            self.dragonmint,
            self.spiderpool,
        ):
            await self._stack.enter_async_context(emulator)
        self._remember_baselines()
        if self.live:
            self._ticker = asyncio.create_task(self._tick_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
        await self._stack.aclose()

    def config_flows(self) -> list[ConfigFlow]:
        """How to add each device through the config flow (its menu and form)."""
        v3 = self.whatsminer_v3
        miners = [
            ConfigFlow(
                f"Whatsminer v2 on port {miner.port}",
                "whatsminer",
                {
                    "host": HOST,
                    "port": miner.port,
                    "password": self.whatsminer_password,
                },
            )
            for miner in self.whatsminers
        ]
        return [
            *miners,
            ConfigFlow(
                f"Whatsminer v3 on port {v3.port}",
                "whatsminer",
                {
                    "host": HOST,
                    "port": v3.v2.port,
                    "password": V3_FACTORY_PASSWORD,
                    "advanced": {"v3_port": v3.port},
                },
            ),
            ConfigFlow(
                f"DragonMint on port {self.dragonmint.port}",
                "dragonmint",
                {
                    "host": HOST,
                    "port": self.dragonmint.port,
                    "username": "admin",
                    "password": self.dragonmint.admin_password,
                },
            ),
            ConfigFlow(
                f"Spiderpool account on {self.spiderpool.url}",
                "spiderpool",
                {
                    "access_key": self.spiderpool.access_key,
                    "private_key": self.spiderpool.private_key_b64,
                    "coin": "btc",
                    "subaccount": self.spiderpool.subaccount.name,
                    "advanced": {"api_url": self.spiderpool.url},
                },
            ),
        ]

    # --- live data ------------------------------------------------------------

    def _remember_baselines(self) -> None:
        chains = self.dragonmint.state.chains
        self._baselines.chain_mhs = [chain.mhs for chain in chains]
        self._baselines.chain_temperatures = [chain.temperature for chain in chains]
        self._baselines.worker_hashrates = {
            worker.name: float(worker.hashrate_24h or 0)
            for worker in self.spiderpool.workers
            if worker.online
        }

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.tick(time.time())

    def tick(self, now: float) -> None:
        """Move every device's data one step."""
        self._warm_or_cool_the_room(now)
        self._wander_chains()
        self._wander_workers(now)

    def _warm_or_cool_the_room(self, now: float) -> None:
        """Intake air between 20 and 30 °C; the boards add their load's heat."""
        phase = 2 * math.pi * (now % ROOM_CYCLE_SECONDS) / ROOM_CYCLE_SECONDS
        for index, miner in enumerate((*self.whatsminers, self.whatsminer_v3.v2)):
            miner.state.env_temp = round(25.0 + 5.0 * math.sin(phase + index), 1)

    def _wander_chains(self) -> None:
        """Each chain's hashrate within ±2 %; a faster chain runs warmer."""
        baselines = self._baselines
        for chain, mhs, temperature in zip(
            self.dragonmint.state.chains,
            baselines.chain_mhs,
            baselines.chain_temperatures,
            strict=True,
        ):
            ratio = self.rng.uniform(0.98, 1.02)
            chain.mhs = mhs * ratio
            chain.temperature = round(temperature + 100 * (ratio - 1))

    def _wander_workers(self, now: float) -> None:
        """Hashrates within ±5 %; rarely a worker drops off for a few minutes."""
        for offline in [w for w in self._offline if w.back_at <= now]:
            self._offline.remove(offline)
            if worker := self.spiderpool.subaccount.worker(offline.name):
                worker.online = True
        now_ms = int(now * 1000)
        for worker in self.spiderpool.workers:
            nominal = self._baselines.worker_hashrates.get(worker.name)
            if nominal is None or not worker.online:
                continue
            if self.rng.random() < WORKER_DROP_CHANCE:
                worker.online = False
                worker.hashrate = "0"
                back_at = now + self.rng.uniform(*WORKER_BACK_AFTER)
                self._offline.append(_OfflineWorker(worker.name, back_at))
                continue
            worker.hashrate = str(int(nominal * self.rng.uniform(0.95, 1.05)))
            worker.last_share_ms = now_ms - self.rng.randint(1_000, 30_000)
