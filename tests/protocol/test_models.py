"""The vendor-neutral models and the Miner base class."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.miner_hub.protocol.errors import UnsupportedCommand
from custom_components.miner_hub.protocol.miner import Miner
from custom_components.miner_hub.protocol.models import (
    AutoTuneMode,
    FirmwareRelease,
    MinerInfo,
    MinerStatus,
    PoolConfig,
    PoolStatus,
    PowerMode,
    WriteAccess,
    normalize_mac,
)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("C6:07:20:00:1E:C2", "c6:07:20:00:1e:c2"),
        ("c6-07-20-00-1e-c2", "c6:07:20:00:1e:c2"),
        ("c607.2000.1ec2", "c6:07:20:00:1e:c2"),
        ("", None),
        ("c6:07:20:00:1e", None),
        ("zz:07:20:00:1e:c2", None),
    ],
)
def test_normalize_mac(raw: str, normalized: str | None) -> None:
    assert normalize_mac(raw) == normalized


def pool(index: int, *, active: bool, alive: bool | None, priority: int) -> PoolStatus:
    return PoolStatus(
        index, f"stratum+tcp://p{index}:3333", "w", active, alive, priority, 0, 0
    )


def status(*pools: PoolStatus) -> MinerStatus:
    return MinerStatus(
        True, None, None, None, None, None, None, None, None, None, None, None,
        None, None, None, None, None, None, pools, (),
    )  # fmt: skip


def test_active_pool() -> None:
    """The active pool, else the alive one with the best (lowest) priority."""
    first = pool(0, active=False, alive=True, priority=1)
    second = pool(1, active=False, alive=True, priority=0)
    dead = pool(2, active=False, alive=False, priority=0)
    active = pool(3, active=True, alive=True, priority=5)
    assert status(first, second, dead, active).active_pool is active
    assert status(first, second, dead).active_pool is second
    assert status(dead).active_pool is None
    assert status().active_pool is None


class BareMiner(Miner):
    """A miner with only the mandatory reads (as a firmware without controls)."""

    @property
    def host(self) -> str:
        return "192.0.2.1"

    async def read_info(self) -> MinerInfo:
        return MinerInfo("aa:bb:cc:dd:ee:ff", "X", None, None, None, None, None, None)

    async def read_status(self) -> MinerStatus:
        return status()

    async def check_access(self) -> WriteAccess:
        return WriteAccess.UNKNOWN

    def diagnostics(self) -> dict[str, Any]:
        return {}


async def test_controls_a_miner_lacks_raise_unsupported() -> None:
    miner = BareMiner()
    assert miner.capabilities == frozenset()
    assert await miner.read_power_supply() is None
    assert await miner.read_errors() is None
    with pytest.raises(UnsupportedCommand, match="power_limit"):
        _ = miner.power_limit_range_w
    controls = [
        miner.set_mining(True),
        miner.set_power_percent(50),
        miner.set_power_limit(3000),
        miner.set_power_mode(PowerMode.LOW),
        miner.reboot(),
        miner.restart_mining(),
        miner.identify(True),
        miner.set_pools([PoolConfig("stratum+tcp://p:3333", "w")]),
        miner.pre_power_on(),
        miner.set_autotune_mode(AutoTuneMode.EFFICIENT),
        miner.power_off(),
        miner.latest_firmware(),
        miner.install_firmware(FirmwareRelease("t1_20190101_000000", None)),
    ]
    for control in controls:
        with pytest.raises(UnsupportedCommand, match="not supported"):
            await control
