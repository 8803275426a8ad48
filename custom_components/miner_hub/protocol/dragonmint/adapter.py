"""A DragonMint / Innosilicon miner, seen through the vendor-neutral Miner interface.

The T1 firmware cannot stop or start mining, has no power control (auto-tune
profiles are its efficiency control) and its ``poweroff`` needs a physical
power cycle to recover; the capabilities say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ..errors import CommandRejected, ParseError, ServiceNotRunning
from ..fields import as_alive
from ..miner import ClientMiner
from ..models import (
    AutoTuneMode,
    Capability,
    FirmwareRelease,
    HashboardStatus,
    MinerInfo,
    MinerStatus,
    PoolConfig,
    PoolStatus,
    WriteAccess,
    normalize_mac,
)
from .client import DEFAULT_PORT, DragonMintClient
from .models import (
    DragonMintChain,
    DragonMintOverview,
    DragonMintSummary,
)

_DRAGONMINT_TYPE: Final = "T1"
_DRAGONMINT_TITLE: Final = "DragonMint"
_NO_FIRMWARE_SERVER: Final = "can't fetch firmware versions"


def _autotune_mode(mode: str | None) -> AutoTuneMode | None:
    try:
        return AutoTuneMode(mode) if mode else None
    except ValueError:
        return None


def _total[N: (int, float)](values: Sequence[N | None]) -> N | None:
    """Sum of the reported values; None when no chain reports any."""
    known = [value for value in values if value is not None]
    return sum(known[1:], start=known[0]) if known else None


def _board(chain: DragonMintChain) -> HashboardStatus:
    return HashboardStatus(
        index=chain.index,
        hashrate_ths=chain.hashrate_ths,
        temperature_c=chain.temperature_c,
        chip_temp_max_c=None,
        chip_temp_avg_c=None,
        alive=as_alive(chain.status),
    )


def _status(
    summary: DragonMintSummary | None,
    overview: DragonMintOverview,
    autotune: AutoTuneMode | None,
) -> MinerStatus:
    """The poll's status; ``summary`` None while cgminer restarts (all unknown)."""
    chains = summary.chains if summary else ()
    temperatures = [c.temperature_c for c in chains if c.temperature_c is not None]
    hashrate = _total([chain.hashrate_ths for chain in chains])
    return MinerStatus(
        mining=None
        if summary is None
        else any(c.hashrate_ths and c.status != "Dead" for c in chains),
        hashrate_ths=hashrate,
        factory_hashrate_ths=None,
        power_w=None,
        power_limit_w=None,
        efficiency_j_per_th=None,
        temperature_c=max(temperatures, default=None),
        environment_temperature_c=None,
        chip_temp_max_c=None,
        chip_temp_avg_c=None,
        fan_speed_in_rpm=None,
        fan_speed_out_rpm=None,
        power_mode=None,
        uptime_s=overview.uptime_s,
        mining_elapsed_s=max((c.elapsed_s or 0 for c in chains), default=None),
        accepted_shares=_total([chain.accepted for chain in chains]),
        rejected_shares=_total([chain.rejected for chain in chains]),
        hash_stable=None,
        pools=tuple(
            status
            for position, pool in enumerate(summary.pools if summary else ())
            if (status := PoolStatus.from_cgminer(position, pool)) is not None
        ),
        boards=tuple(_board(chain) for chain in chains),
        fan_duty_pct=summary.fan_duty_pct if summary else None,
        hardware_errors=_total([chain.hardware_errors for chain in chains]),
        autotune_mode=autotune,
    )


class DragonMintMiner(ClientMiner[DragonMintClient]):
    """A DragonMint T1 (or Innosilicon) miner on its HTTP firmware API."""

    capabilities = frozenset(
        {
            Capability.REBOOT,
            Capability.RESTART_MINING,
            Capability.POOLS,
            Capability.AUTOTUNE,
            Capability.POWER_OFF,
            Capability.FIRMWARE_UPDATE,
        }
    )

    @property
    def web_url(self) -> str:
        """The web interface is the API's own server."""
        port = self.client.port
        return self.client.base_url if port != DEFAULT_PORT else f"http://{self.host}"

    async def read_info(self) -> MinerInfo:
        """``overview``: MAC (``version.ethaddr``), type and firmware."""
        overview = await self.client.overview()
        mac = normalize_mac(overview.mac or "")
        if mac is None:
            raise ParseError("the miner reports no MAC address")
        kind = overview.type or _DRAGONMINT_TYPE
        # Innosilicon's fork of the firmware names its web UI "AsicMiner".
        dragonmint = kind == _DRAGONMINT_TYPE and (
            await self.client.web_title() or _DRAGONMINT_TITLE
        ).startswith(_DRAGONMINT_TITLE)
        return MinerInfo(
            mac=mac,
            manufacturer="Halong Mining" if dragonmint else "Innosilicon",
            model=f"DragonMint {kind}" if dragonmint else kind,
            firmware_version=overview.firmware_version,
            api_version=None,
            hardware_version=overview.hardware_version,
            serial_number=None,
            hostname=None,
        )

    async def read_status(self) -> MinerStatus:
        """``summary``, ``overview`` (uptime) and ``getAutoTune``: one connection.

        While cgminer restarts the miner answers but reports nothing: the status
        then says "unknown", never 0 and never the previous values.
        """
        try:
            summary: DragonMintSummary | None = await self.client.summary()
        except ServiceNotRunning:
            summary = None
        overview = await self.client.overview()
        autotune = _autotune_mode((await self.client.get_autotune()).mode)
        return _status(summary, overview, autotune)

    async def check_access(self) -> WriteAccess:
        """``getAutoTune`` is an admin route: a guest account fails here."""
        await self.client.get_autotune()
        return WriteAccess.ENABLED

    async def reboot(self) -> None:
        """``reboot`` (the miner answers, then restarts after a few seconds)."""
        await self.client.reboot()

    async def restart_mining(self) -> None:
        """``restartCgMiner``."""
        await self.client.restart_cgminer()

    async def set_pools(self, pools: Sequence[PoolConfig]) -> None:
        """``updatePools`` (form fields); cgminer restarts."""
        await self.client.update_pools(
            (pool.url, pool.worker, pool.password) for pool in pools
        )

    async def set_autotune_mode(self, mode: AutoTuneMode) -> None:
        """``setAutoTune``; cgminer restarts when the profile changes."""
        await self.client.set_autotune(AutoTuneMode(mode).value)

    async def power_off(self) -> None:
        """``poweroff``: only a power cycle at the plug brings the miner back."""
        await self.client.poweroff()

    async def latest_firmware(self) -> FirmwareRelease | None:
        """The vendor's newest release; None when its server cannot be reached."""
        try:
            release = await self.client.get_latest_firmware_version()
        except CommandRejected as err:
            if err.device_message == _NO_FIRMWARE_SERVER:
                return None
            raise
        if release.version is None:
            return None
        return FirmwareRelease(release.version, release.url, release.info)

    async def install_firmware(self, release: FirmwareRelease) -> None:
        """``/upgrade/download``: the miner fetches, installs and reboots."""
        if release.url is None:
            raise ParseError(f"firmware {release.version} has no download address")
        await self.client.upgrade_download(release.url)

    def diagnostics(self) -> dict[str, Any]:
        """How the miner is reached; never the password."""
        return {
            "api": "dragonmint_http",
            "port": self.client.port,
            "username": self.client.username,
        }
