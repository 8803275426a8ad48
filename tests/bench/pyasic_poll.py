"""pyasic's side of the benchmark: run by the bench environment's Python.

``python tests/bench/pyasic_poll.py PORT POLLS`` reads one emulated Whatsminer
(API v2) ``POLLS`` times with pyasic's ``get_data()``, asking for the data Miner
Hub's entities show, and prints one JSON line: CPU and wall seconds per poll and
what the last poll read. pyasic is not a dependency of Miner Hub: this file is
not imported by anything else and runs only where pyasic is installed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import pyasic  # type: ignore[import-not-found]
from pyasic.miners.data import DataOptions  # type: ignore[import-not-found]
from pyasic.miners.whatsminer.btminer.M3X import (  # type: ignore[import-not-found]
    BTMinerM30SPlusVE40,
)

BLOCKS = 5

# What Miner Hub's Whatsminer entities show (hashrate, power, limit, environment
# and board temperatures, fans, PSU fan, errors, mining, uptime, pools/shares).
INCLUDE = [
    DataOptions.HASHRATE,
    DataOptions.HASHBOARDS,
    DataOptions.ENVIRONMENT_TEMP,
    DataOptions.WATTAGE,
    DataOptions.WATTAGE_LIMIT,
    DataOptions.FANS,
    DataOptions.FAN_PSU,
    DataOptions.ERRORS,
    DataOptions.IS_MINING,
    DataOptions.UPTIME,
    DataOptions.POOLS,
]


async def main(port: int, polls: int) -> None:
    # The model the emulator reports; pyasic's factory would probe port 4028.
    miner = BTMinerM30SPlusVE40("127.0.0.1")
    miner.rpc.port = port
    data = await miner.get_data(include=INCLUDE)  # warm-up: imports, caches
    # The median over blocks of polls, as for Miner Hub (tests/bench/hass_side.py).
    block = max(1, polls // BLOCKS)
    cpu_per_poll, wall_per_poll = [], []
    for _ in range(BLOCKS):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for _ in range(block):
            data = await miner.get_data(include=INCLUDE)
        cpu_per_poll.append((time.process_time() - cpu_start) / block)
        wall_per_poll.append((time.perf_counter() - wall_start) / block)
    print(
        json.dumps(
            {
                "pyasic": pyasic.__version__ if hasattr(pyasic, "__version__") else "",
                "polls": block * BLOCKS,
                "cpu_per_poll_s": statistics.median(cpu_per_poll),
                "wall_per_poll_s": statistics.median(wall_per_poll),
                "read": {
                    "hashrate": str(data.hashrate),
                    "wattage": data.wattage,
                    "wattage_limit": data.wattage_limit,
                    "env_temp": data.env_temp,
                    "boards": len(data.hashboards),
                    "fans": [fan.speed for fan in data.fans],
                    "psu_fan": data.fan_psu,
                    "is_mining": data.is_mining,
                    "uptime": data.uptime,
                    "pools": len(data.pools),
                    "errors": len(data.errors),
                },
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
