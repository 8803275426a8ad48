"""The emulated devices of a running Home Assistant, with data that keeps moving.

``EmulatedDevices`` starts two Whatsminer v2, one Whatsminer v3, one DragonMint
and one Spiderpool account on 127.0.0.1. Each miner mines to the account's
sub-account as a worker of its own (pool user ``<subaccount>.<worker>``, the
worker named after the miner's hostname), so Home Assistant links it to that
worker; the account lists these four beside a dozen generated workers.

While they run, their state moves every few seconds so that graphs look alive:
the room warms and cools (miner temperatures follow it and the power), chain
hashrates and the generated workers' hashrates wander, and now and then a
generated worker drops off the pool and comes back. A miner's worker shows what
the miner hashes (its 24 hours follow slowly) and never drops off by chance: it
goes offline only when its miner has not hashed for a while.
``config_flows()`` says how to add each one through the config flow.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
import math
import random
import time
from types import TracebackType
from typing import Any, Final, Self

from tests.emulators import (
    DragonMintEmulator,
    SpiderpoolEmulator,
    SpiderpoolWorker,
    WhatsminerV2Emulator,
    WhatsminerV3Emulator,
)
from tests.emulators.whatsminer_v2 import IDLE_POWER_W
from tests.emulators.whatsminer_v3 import V3_FACTORY_PASSWORD

HOST: Final = "127.0.0.1"
WHATSMINER_PASSWORD: Final = "admin"  # the v2 factory password
TICK_SECONDS: Final = 5.0
ROOM_CYCLE_SECONDS: Final = 3600.0  # one warm-cool cycle of the room per hour
WORKER_DROP_CHANCE: Final = 0.004  # per online worker and tick: one every ~2 min
WORKER_BACK_AFTER: Final = (60.0, 300.0)  # seconds offline
# The stratum address the miners mine to (Miner Hub compares the user only).
POOL_URL: Final = "stratum+tcp://btc.spiderpool.com:443"
POOL_PASSWORD: Final = "x"
# A miner's worker: the pool's estimate of its hashrate within ±3 %, its
# 24 hours following the miner over a day, offline 10 minutes after its last share.
POOL_ESTIMATE_SPREAD: Final = 0.03
DAY_SECONDS: Final = 86400.0
MINER_WORKER_INACTIVE_AFTER_MS: Final = 600_000

type Miner = WhatsminerV2Emulator | WhatsminerV3Emulator | DragonMintEmulator


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
                seed=index,  # one seed for both would make them report alike
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
        # The DragonMint's cgminer reads its pools when it starts: set them now.
        self.miner_workers: dict[str, Miner] = {}
        for miner in self.miners:
            self._mine_to_the_pool(miner)

    @property
    def miners(self) -> tuple[Miner, ...]:
        return (*self.whatsminers, self.whatsminer_v3, self.dragonmint)

    def _mine_to_the_pool(self, miner: Miner) -> None:
        """The account's sub-account, as a worker named after the miner."""
        worker = miner.state.hostname.lower()
        user = f"{self.spiderpool.subaccount.name}.{worker}"
        miner.state.pools = [(POOL_URL, user, POOL_PASSWORD)]
        self.spiderpool.workers.append(SpiderpoolWorker(worker, reject_rate=0.001))
        self.miner_workers[worker] = miner

    async def __aenter__(self) -> Self:
        emulators: tuple[AbstractAsyncContextManager[object], ...] = (
            *self.miners,
            self.spiderpool,
        )
        for emulator in emulators:
            await self._stack.enter_async_context(emulator)
        self._remember_baselines()
        self._follow_miners(time.time(), first=True)
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

    def areas(self) -> dict[str, str]:
        """Where each miner stands: its MAC (lower case) → area name.

        The default dashboard groups devices by area: a newcomer sees them.
        """
        garage = {miner.state.mac.lower(): "Garage" for miner in self.whatsminers}
        shed = (self.whatsminer_v3.state.mac, self.dragonmint.state.ethaddr)
        return {**garage, **{mac.lower(): "Shed" for mac in shed}}

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
            if worker.online and worker.name not in self.miner_workers
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
        self._follow_miners(now)

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
        """The generated workers: hashrates within ±5 %; rarely one drops off."""
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

    def _follow_miners(self, now: float, *, first: bool = False) -> None:
        """Each miner's worker: what the miner hashes, as the pool estimates it.

        The 24 hours start near the miner's hashrate (it has mined all day) and
        follow it as a day's average would. The worker is online while the
        miner's shares come in, and some minutes after.
        """
        now_ms = int(now * 1000)
        for name, miner in self.miner_workers.items():
            worker = self.spiderpool.subaccount.worker(name)
            if worker is None:
                continue
            hashrate = reported_hashrate(miner)
            seen = hashrate * self.rng.uniform(
                1 - POOL_ESTIMATE_SPREAD, 1 + POOL_ESTIMATE_SPREAD
            )
            worker.hashrate = str(int(seen))
            if first:
                day = hashrate * self.rng.uniform(0.98, 1.02)
            else:
                day = float(worker.hashrate_24h or 0)
                day += (seen - day) * min(1.0, TICK_SECONDS / DAY_SECONDS)
            worker.hashrate_24h = str(int(day))
            if hashrate > 0:
                worker.last_share_ms = now_ms - self.rng.randint(1_000, 10_000)
            last_share = worker.last_share_ms
            worker.online = (
                last_share is not None
                and now_ms - last_share < MINER_WORKER_INACTIVE_AFTER_MS
            )


def reported_hashrate(miner: Miner) -> float:
    """The hashrate (H/s) the miner reports now, from its emulator's state.

    A Whatsminer hashes at its factory rate scaled by its power to the 0.9
    (as its emulator's telemetry does): none at idle power. A DragonMint
    hashes at its live chains' rates while it is on and cgminer runs.
    """
    if isinstance(miner, DragonMintEmulator):
        if miner.power_state != "on" or miner.state.cgminer != "running":
            return 0.0
        return sum(c.mhs for c in miner.state.chains if c.status == "Alive") * 1e6
    power = miner.power_w()
    model = miner.state.model
    if power <= IDLE_POWER_W:
        return 0.0
    return float(model.factory_ghs * 1e9 * (power / model.normal_power_w) ** 0.9)
