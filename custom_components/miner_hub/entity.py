"""Base entities of a miner, its boards, a pool account and its workers.

Also the descriptions every control shares (the capability it needs, how it is
set) and the adding of entities as devices report values and pools list workers.

A pool account's device carries the account's hashrate, worker counts and
earnings. Every worker the pool lists gets a device of its own, linked to the
account device through ``via_device_id``: its entities are added when the pool
first lists it (dynamic devices), and the device is removed from the registry
once the pool has not listed it for ``WORKER_GONE_AFTER`` (stale devices).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
import re
from typing import Final, override

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import (
    CONNECTION_NETWORK_MAC,
    DeviceEntryType,
    DeviceInfo,
)
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from . import MinerHubConfigEntry
from .const import DOMAIN, LOGGER
from .coordinator import MinerCoordinator, MinerData
from .pool_coordinator import PoolCoordinator
from .protocol.models import Capability, HashboardStatus
from .protocol.spiderpool.models import Worker

POOL_MANUFACTURER = "Spiderpool"
ACCOUNT_MODEL = "Mining pool account"
WORKER_MODEL = "Mining pool worker"
POOL_CONSOLE_URL = "https://www.spiderpool.com"
# The key of a board's entity: board_<index>_<description key>.
_BOARD_KEY: Final = re.compile(r"^board_(\d+)_")


@dataclass(frozen=True, kw_only=True)
class MinerControlEntityDescription(EntityDescription):
    """A control of a miner: it exists when the miner has the capability."""

    capability: Capability


@dataclass(frozen=True, kw_only=True)
class MinerSettingEntityDescription[V](MinerControlEntityDescription):
    """A control that sets a value of the miner (through its coordinator)."""

    set_fn: Callable[[MinerCoordinator, V], Awaitable[object]]


def miner_coordinator(entry: MinerHubConfigEntry) -> MinerCoordinator | None:
    """The entry's miner coordinator; None for a pool account."""
    coordinator = entry.runtime_data
    return coordinator if isinstance(coordinator, MinerCoordinator) else None


def pool_coordinator(entry: MinerHubConfigEntry) -> PoolCoordinator | None:
    """The entry's pool coordinator; None for a miner."""
    coordinator = entry.runtime_data
    return coordinator if isinstance(coordinator, PoolCoordinator) else None


@callback
def async_add_controls[D: MinerControlEntityDescription](
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: Iterable[D],
    entity: Callable[[MinerCoordinator, D], MinerEntity],
) -> None:
    """Add a miner's controls of the capabilities it has (pool accounts: none)."""
    if (coordinator := miner_coordinator(entry)) is None:
        return
    capabilities = coordinator.miner.capabilities
    async_add_entities(
        entity(coordinator, description)
        for description in descriptions
        if description.capability in capabilities
    )


@dataclass(frozen=True, slots=True)
class Reported:
    """What a miner reports: its last poll's data, else (no poll yet) its profile.

    A miner set up from its profile (it was off) gets the entities of the keys
    the profile lists, the entities it had: their IDs are the same either way.
    """

    data: MinerData | None
    keys: frozenset[str] = frozenset()

    def __call__(self, key: str, check: Callable[[MinerData], bool]) -> bool:
        """Whether the value of the entity ``key`` is reported (``check``: by data)."""
        return key in self.keys if self.data is None else check(self.data)

    def new(
        self, added: set[str], key: str, check: Callable[[MinerData], bool]
    ) -> bool:
        """Whether ``key`` is reported and has no entity yet (then it is ``added``)."""
        if key in added or not self(key, check):
            return False
        added.add(key)
        return True

    def boards(self) -> list[int]:
        """The indices of the boards: the poll's, or those with keys in the profile."""
        if self.data is not None:
            return [board.index for board in self.data.status.boards]
        found = {int(m[1]) for key in self.keys if (m := _BOARD_KEY.match(key))}
        return sorted(found)


def board_of(data: MinerData, index: int) -> HashboardStatus | None:
    """The board ``index`` of a poll; None while the miner does not list it."""
    return next((b for b in data.status.boards if b.index == index), None)


def on_board(
    index: int, check: Callable[[HashboardStatus], bool]
) -> Callable[[MinerData], bool]:
    """``check`` of the board ``index`` of a poll (False while it is not listed)."""
    return lambda data: (board := board_of(data, index)) is not None and check(board)


@callback
def async_add_reported_entities(
    coordinator: MinerCoordinator,
    platform: str,
    async_add_entities: AddConfigEntryEntitiesCallback,
    new_entities: Callable[[set[str], Reported], Sequence[Entity]],
) -> None:
    """Add a miner's entities of the values it reports, now and after each poll.

    A miner whose mining service is stopped at setup reports little; the
    entities of the values it reports later are added then. ``new_entities``
    returns those not added yet and records their keys in the set it is given;
    the miner's profile keeps them (for a setup while the miner is off).
    """
    added: set[str] = set()

    def add(reported: Reported) -> None:
        if new := new_entities(added, reported):
            async_add_entities(new)
        coordinator.profile.record(platform, added)

    @callback
    def add_reported() -> None:
        if coordinator.last_update_success:
            add(Reported(coordinator.data))

    if coordinator.polled is None:  # set up from its profile: what it had
        add(Reported(None, coordinator.profile.keys(platform)))
    else:
        add_reported()
    coordinator.config_entry.async_on_unload(
        coordinator.async_add_listener(add_reported)
    )


class MinerEntity(CoordinatorEntity[MinerCoordinator]):
    """An entity of one miner's device, named by its translation key."""

    _attr_has_entity_name = True

    def __init__(
        self, coordinator: MinerCoordinator, description: EntityDescription
    ) -> None:
        """Attach the entity to the miner's device; unique IDs start with its MAC."""
        super().__init__(coordinator)
        self.entity_description = description
        info = coordinator.info
        self._attr_unique_id = f"{info.mac}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, info.mac)},
            connections={(CONNECTION_NETWORK_MAC, info.mac)},
            manufacturer=info.manufacturer,
            model=info.model,
            name=coordinator.config_entry.title,
            sw_version=info.firmware_version,
            hw_version=info.hardware_version,
            serial_number=info.serial_number,
            configuration_url=coordinator.miner.web_url,
        )

    @property
    def by_person(self) -> bool:
        """Whether the action being handled came from a person, not an automation.

        The UI and Assist act for a logged-in user; automations and scripts run
        by a trigger carry no user.
        """
        return self._context is not None and self._context.user_id is not None


class MinerBoardEntity(MinerEntity):
    """An entity of one hashboard of a miner, numbered from 1 in its name."""

    def __init__(
        self,
        coordinator: MinerCoordinator,
        description: EntityDescription,
        board_index: int,
    ) -> None:
        """One entity per board the miner listed when it was added."""
        super().__init__(coordinator, description)
        self._board_index = board_index
        self._attr_unique_id = (
            f"{coordinator.info.mac}_board_{board_index}_{description.key}"
        )
        self._attr_translation_placeholders = {"board": str(board_index + 1)}

    @property
    def board(self) -> HashboardStatus | None:
        """The board in the last poll; None while the miner does not list it."""
        data = self.coordinator.polled
        return None if data is None else board_of(data, self._board_index)


# --- pool accounts and their workers ------------------------------------------


def _unique_id_base(entry: MinerHubConfigEntry) -> str:
    return entry.unique_id or entry.entry_id


def account_device_info(entry: MinerHubConfigEntry) -> DeviceInfo:
    """The account's device: a service, named like the entry."""
    return DeviceInfo(
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer=POOL_MANUFACTURER,
        model=ACCOUNT_MODEL,
        entry_type=DeviceEntryType.SERVICE,
        configuration_url=POOL_CONSOLE_URL,
    )


class PoolEntity(CoordinatorEntity[PoolCoordinator]):
    """An entity of a pool account or of one of its workers."""

    _attr_has_entity_name = True


class PoolAccountEntity(PoolEntity):
    """An entity of the account device."""

    def __init__(
        self, coordinator: PoolCoordinator, description: EntityDescription
    ) -> None:
        """Attach to the account device; unique IDs start with the entry's."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self._attr_unique_id = f"{_unique_id_base(entry)}_{description.key}"
        self._attr_device_info = account_device_info(entry)


class PoolWorkerEntity(PoolEntity):
    """An entity of one worker's device, available while the pool lists it."""

    def __init__(
        self,
        coordinator: PoolCoordinator,
        description: EntityDescription,
        worker: str,
        account_device_id: str,
        forget: Callable[[], None],
    ) -> None:
        """Attach to the worker's device, linked to the account device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self.entity_description = description
        self.worker = worker
        self._forget = forget
        self._attr_unique_id = f"{_unique_id_base(entry)}_{worker}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, coordinator.worker_identifier(worker))},
            name=coordinator.worker_name(worker),
            model=WORKER_MODEL,
            via_device_id=account_device_id,
        )

    @property
    def _worker(self) -> Worker | None:
        return self.coordinator.data.workers.get(self.worker)

    @property
    @override
    def available(self) -> bool:
        """Unavailable while the pool does not list the worker."""
        return super().available and self._worker is not None

    @override
    async def async_removed_from_registry(self) -> None:
        """Removed with its device (or by the user): added again if listed again."""
        self._forget()


type WorkerEntityFactory[D: EntityDescription] = Callable[
    [PoolCoordinator, D, str, str, Callable[[], None]], PoolWorkerEntity
]


@callback
def async_add_worker_entities[D: EntityDescription](
    coordinator: PoolCoordinator,
    descriptions: Sequence[D],
    factory: WorkerEntityFactory[D],
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the entities of every listed worker, now and whenever one appears.

    Each poll also removes the devices of workers gone for good; their entities
    leave the registry with them and are added again if the pool lists the
    worker again.
    """
    entry = coordinator.config_entry
    account_device_id = _async_account_device_id(coordinator)
    _async_remember_registered_workers(coordinator)
    added: set[tuple[str, str]] = set()  # (worker, description key)

    @callback
    def async_update_workers() -> None:
        if not coordinator.last_update_success:
            return
        _async_remove_gone_workers(coordinator)
        new: list[PoolWorkerEntity] = []
        for worker in coordinator.data.workers:
            for description in descriptions:
                if (ids := (worker, description.key)) in added:
                    continue
                added.add(ids)
                new.append(
                    factory(
                        coordinator,
                        description,
                        worker,
                        account_device_id,
                        partial(added.discard, ids),
                    )
                )
        if new:
            async_add_entities(new)

    async_update_workers()
    entry.async_on_unload(coordinator.async_add_listener(async_update_workers))


@callback
def _async_account_device_id(coordinator: PoolCoordinator) -> str:
    """Register the account device (workers link to it by its ID)."""
    entry = coordinator.config_entry
    registry = dr.async_get(coordinator.hass)
    return registry.async_get_or_create(
        config_entry_id=entry.entry_id, **account_device_info(entry)
    ).id


@callback
def _async_remember_registered_workers(coordinator: PoolCoordinator) -> None:
    """Start the clock for workers that have a device but are no longer listed.

    The coordinator only knows the workers it has listed since Home Assistant
    started; a worker that left while Home Assistant was stopped is counted as
    last seen now, so its device is removed a day later if it does not return.
    """
    prefix = coordinator.worker_identifier("")
    registry = dr.async_get(coordinator.hass)
    devices = dr.async_entries_for_config_entry(
        registry, coordinator.config_entry.entry_id
    )
    coordinator.remember_workers(
        (
            identifier.removeprefix(prefix)
            for device in devices
            for domain, identifier in device.identifiers
            if domain == DOMAIN and identifier.startswith(prefix)
        ),
        dt_util.utcnow(),
    )


@callback
def _async_remove_gone_workers(coordinator: PoolCoordinator) -> None:
    """Remove the devices (and entities) of workers gone for good."""
    entry = coordinator.config_entry
    registry = dr.async_get(coordinator.hass)
    # Forgotten: the pool may list a worker of that name again later.
    for name in coordinator.pop_gone_workers(dt_util.utcnow()):
        device = registry.async_get_device_by_identifier(
            (DOMAIN, coordinator.worker_identifier(name)), entry.entry_id
        )
        if device is not None:
            LOGGER.debug("%s: removing worker %s, gone for good", entry.title, name)
            registry.async_remove_device(device.id)
