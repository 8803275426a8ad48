"""What a miner's entry keeps of it across restarts: its profile, its full power.

Solar and time-of-use setups cut a miner's power every day, and Home Assistant
may start while it is off. Its entry then sets up from the profile: the device
and every entity it had, unavailable until the miner answers (the coordinator
runs setup's checks then). The profile is saved once a setup with the miner
has created the entities, and again whenever it changes: another firmware,
entities of values the miner reports later. A new miner has none: its first
setup needs the miner.

Stored with ``homeassistant.helpers.storage.Store``, one per entry::

    {"info": {MinerInfo's fields}, "api": "v2" | "v3" | null,
     "capabilities": ["mining_switch", ...],
     "entities": {"sensor": ["hashrate", "board_0_board_hashrate", ...], ...},
     "coin": "btc" | null}

``entities`` holds, per platform, the keys of the values and boards the miner
reported (the platforms' ``added`` keys, see ``entity.async_add_reported_entities``);
controls follow from the adapter's capabilities, which need no miner. ``api`` is
the entry's Whatsminer API the entities were made for: a profile of another API
is not used (a firmware change drops the entities, see
``helpers.async_follow_api_change``). ``coin``: the unit of the money sensors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import UpdateFailed

from .const import (
    CONF_API,
    DOMAIN,
    FULL_POWER_SAVE_DELAY_S,
    LOGGER,
    full_power_store_key,
)
from .governor import STORE_VERSION
from .helpers import async_update_device, translated
from .power import FullPower
from .protocol.errors import ConnectionFailed
from .protocol.models import MinerInfo

PROFILE_STORE_VERSION: Final = 1
# Changes are saved this long after the last one (a setup's platforms are one write).
PROFILE_SAVE_DELAY_S: Final = 5
_REQUIRED_INFO: Final = ("mac", "manufacturer")


def profile_store_key(entry_id: str) -> str:
    """The storage of one miner's profile."""
    return f"{DOMAIN}.profile.{entry_id}"


@dataclass(frozen=True, slots=True)
class MinerProfile:
    """A miner as its last setup with it found it (see the module's docstring)."""

    info: MinerInfo
    api: str | None
    capabilities: frozenset[str]
    entities: Mapping[str, frozenset[str]]
    coin: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """For storage (sorted: the same profile is the same file)."""
        return {
            "info": asdict(self.info),
            "api": self.api,
            "capabilities": sorted(self.capabilities),
            "entities": {
                platform: sorted(keys)
                for platform, keys in sorted(self.entities.items())
            },
            "coin": self.coin,
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> MinerProfile:
        """As stored by ``as_dict``; a field MinerInfo has gained reads as None."""
        info = stored["info"]
        if not all(isinstance(info.get(name), str) for name in _REQUIRED_INFO):
            raise ValueError("the miner's MAC or manufacturer is missing")
        return cls(
            info=MinerInfo(**{f.name: info.get(f.name) for f in fields(MinerInfo)}),
            api=stored.get("api"),
            capabilities=frozenset(stored.get("capabilities", ())),
            entities={
                platform: frozenset(keys)
                for platform, keys in stored.get("entities", {}).items()
            },
            coin=stored.get("coin"),
        )


class ProfileKeeper:
    """One entry's profile: loaded at setup, kept current, saved when it changes.

    Nothing is saved before ``async_start_saving`` (called once the platforms
    are set up), so a setup that fails halfway leaves no profile without
    entities behind.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
        """Empty until ``async_load``."""
        self._hass = hass
        self._entry = entry
        self._store: Store[dict[str, Any]] = Store(
            hass, PROFILE_STORE_VERSION, profile_store_key(entry.entry_id)
        )
        self.profile: MinerProfile | None = None
        self._loaded: MinerProfile | None = None  # as the last setup saved it
        # The setup took the identity from it (the miner was off), until it answers.
        self.in_use = False
        self._warned = False
        self._saving = False
        self._unsaved = False
        self._frozen = False

    async def async_load(self) -> None:
        """Read the profile the last setup with the miner saved."""
        stored = await self._store.async_load()
        if stored is None:
            return
        try:
            self.profile = self._loaded = MinerProfile.from_dict(stored)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            title = self._entry.title
            LOGGER.warning("%s: its profile could not be read: %s", title, err)

    def offline_info(self, err: Exception) -> MinerInfo | None:
        """The identity to set up with when setup's checks failed with ``err``.

        The profile's, when the miner did not answer (a connection error); None
        when another device or a wrong password answered (setup fails as it
        always did), or without a profile of this miner (its MAC) on the entry's
        API: a new miner needs to answer its first setup.
        """
        profile = self._loaded  # not what this setup's checks found before
        entry = self._entry
        if (
            not isinstance(err.__cause__, ConnectionFailed)
            or profile is None
            or profile.info.mac != entry.unique_id
            or profile.api != entry.data.get(CONF_API)
        ):
            return None
        LOGGER.info(
            "%s does not answer (%s): set up from its profile, unavailable "
            "until it answers",
            entry.title,
            err.__cause__,
        )
        self.in_use = True
        return profile.info

    def keys(self, platform: str) -> frozenset[str]:
        """The keys of the entities of ``platform`` the miner had."""
        entities = {} if self.profile is None else self.profile.entities
        return entities.get(platform, frozenset())

    @property
    def coin(self) -> str | None:
        """The coin the miner's money sensors are in; None: it had none."""
        return None if self.profile is None else self.profile.coin

    def identified(self, info: MinerInfo, capabilities: Iterable[str]) -> None:
        """The miner answered as ``info``: its device shows it (a new firmware).

        Another device at the address (DHCP gave the IP away) is refused
        (UpdateFailed). On another API the miner's entities start anew.
        """
        entry = self._entry
        if info.mac != entry.unique_id:
            if self.in_use and not self._warned:  # else Home Assistant logs it
                self._warned = True
                LOGGER.warning("%s: another device answers: %s", entry.title, info.mac)
            raise translated(UpdateFailed, "wrong_device", mac=info.mac)
        self.in_use = False
        async_update_device(self._hass, entry, info)
        api = entry.data.get(CONF_API)
        profile = self.profile
        self._set(
            MinerProfile(
                info=info,
                api=api,
                capabilities=frozenset(str(c) for c in capabilities),
                entities={}
                if profile is None or profile.api != api
                else profile.entities,
                coin=None if profile is None else profile.coin,
            )
        )

    def record(self, platform: str, keys: Iterable[str]) -> None:
        """Entities of ``platform`` exist for these keys (added to those known)."""
        if (profile := self.profile) is None:
            return
        known = self.keys(platform)
        if (merged := known.union(keys)) != known:
            entities = {**profile.entities, platform: merged}
            self._set(replace(profile, entities=entities))

    def record_coin(self, coin: str) -> None:
        """The coin the money sensors are in."""
        if (profile := self.profile) is not None:
            self._set(replace(profile, coin=coin))

    @callback
    def api_changed(self) -> None:
        """The miner speaks another API: the entry reloads, nothing more is kept."""
        self._frozen = True

    @callback
    def async_start_saving(self) -> None:
        """The platforms are set up: save the profile now and when it changes."""
        self._saving = True
        self._save()

    async def async_flush(self) -> None:
        """Write a change that waits (the entry unloads)."""
        if self._saving and self._unsaved and self.profile is not None:
            self._unsaved = False
            await self._store.async_save(self.profile.as_dict())

    def _set(self, profile: MinerProfile) -> None:
        if self._frozen or profile == self.profile:
            return
        self.profile = profile
        self._unsaved = True
        self._save()

    def _save(self) -> None:
        if not self._saving or not self._unsaved or (profile := self.profile) is None:
            return

        def data() -> dict[str, Any]:
            self._unsaved = False
            return profile.as_dict()

        self._store.async_delay_save(data, PROFILE_SAVE_DELAY_S)


class FullPowerKeeper:
    """The learned full power (``power.FullPower``), kept across restarts.

    A miner paused overnight can be resumed at dawn. Saved when what it shows
    moved (seldom: ``power.SHOWN_BAND``).
    """

    def __init__(
        self, hass: HomeAssistant, entry_id: str, full_power: FullPower
    ) -> None:
        """Keep ``full_power`` (loaded by ``async_load``)."""
        self._full_power = full_power
        self._store: Store[dict[str, float]] = Store(
            hass, STORE_VERSION, full_power_store_key(entry_id)
        )
        self._saved: float | None = None

    async def async_load(self) -> None:
        """Take up what was learned before a restart."""
        stored = await self._store.async_load()
        if stored is not None and isinstance(watts := stored.get("watts"), float):
            self._full_power.watts = self._saved = watts

    def save(self) -> None:
        """Keep what was learned, if it moved since it was saved."""
        watts = self._full_power.watts
        if watts is None or watts == self._saved:
            return
        self._saved = watts
        self._store.async_delay_save(lambda: {"watts": watts}, FULL_POWER_SAVE_DELAY_S)


async def async_remove_profile(hass: HomeAssistant, entry_id: str) -> None:
    """Forget a removed entry's profile."""
    store: Store[dict[str, Any]] = Store(
        hass, PROFILE_STORE_VERSION, profile_store_key(entry_id)
    )
    await store.async_remove()
