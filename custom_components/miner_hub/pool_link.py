"""Which pool worker a miner mines to, and whether the pool sees it.

A miner names its worker in its active pool's user, ``<subaccount>.<worker>``
(the convention of Spiderpool and most pools; the pool's stratum address is not
documented, so the URL is not compared). The miner is linked to that worker
when exactly one loaded Spiderpool account has the sub-account and lists the
worker (as ``<worker>`` or ``<subaccount>.<worker>``, in any case), and no other
miner names the same worker (the pool would show their sum). Anything else is
no link, and no guess. The link is worked out again from the entries Home
Assistant has loaded whenever it is needed: nothing keeps a copy to go stale.

``PoolWatch`` raises a repair issue when a miner has mined for
``POOL_UNSEEN_AFTER`` while its account did not list its worker, listed it
offline, or saw less than ``POOL_UNSEEN_SHARE`` of the miner's hashrate; it
clears the issue as soon as the pool sees the miner, or the miner stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import (
    DOMAIN,
    ISSUE_POOL_UNSEEN,
    LOGGER,
    POOL_UNSEEN_AFTER,
    POOL_UNSEEN_SHARE,
)
from .coordinator import MinerCoordinator
from .pool_coordinator import PoolCoordinator
from .protocol.models import MinerStatus
from .protocol.spiderpool.models import Worker


@dataclass(frozen=True, slots=True)
class WorkerClaim:
    """The worker a miner says it mines to."""

    subaccount: str
    worker: str

    @property
    def user(self) -> str:
        """As the miner's pool user writes it."""
        return f"{self.subaccount}.{self.worker}"

    def same(self, other: WorkerClaim) -> bool:
        """Pools compare names without case."""
        return self.user.casefold() == other.user.casefold()


def claim_of(status: MinerStatus) -> WorkerClaim | None:
    """The worker of the miner's active pool; None without ``<sub>.<worker>``."""
    pool = status.active_pool
    if pool is None or not pool.user:
        return None
    subaccount, dot, worker = pool.user.strip().partition(".")
    if not dot or not subaccount or not worker:
        return None
    return WorkerClaim(subaccount, worker)


class LinkState(StrEnum):
    """How a miner's worker relates to the pool accounts Home Assistant has."""

    NO_WORKER = "no_worker"  # no active pool, or its user is no <sub>.<worker>
    UNCONFIGURED = "unconfigured"  # no loaded account has the sub-account
    AMBIGUOUS = "ambiguous"  # several accounts have it, and not one lists it alone
    SHARED = "shared"  # another miner names the same worker
    UNLISTED = "unlisted"  # its account does not list the worker
    LINKED = "linked"


@dataclass(frozen=True, slots=True)
class PoolLink:
    """A miner's link to a pool worker, or why it has none."""

    state: LinkState
    claim: WorkerClaim | None = None
    account: PoolCoordinator | None = None  # UNLISTED and LINKED
    worker: Worker | None = None  # LINKED: as the account's last poll listed it


def _runtime_data(hass: HomeAssistant) -> list[Any]:
    entries: list[ConfigEntry[Any]] = hass.config_entries.async_loaded_entries(DOMAIN)
    return [entry.runtime_data for entry in entries]


def _listed(account: PoolCoordinator, claim: WorkerClaim) -> Worker | None:
    names = {claim.worker.casefold(), claim.user.casefold()}
    return next(
        (w for n, w in account.data.workers.items() if n.casefold() in names), None
    )


def _shared(hass: HomeAssistant, miner: MinerCoordinator, claim: WorkerClaim) -> bool:
    """Whether another loaded miner names the same worker."""
    return any(
        other is not miner
        and isinstance(other, MinerCoordinator)
        and other.data is not None
        and (theirs := claim_of(other.data.status)) is not None
        and theirs.same(claim)
        for other in _runtime_data(hass)
    )


@callback
def resolve_link(hass: HomeAssistant, miner: MinerCoordinator) -> PoolLink:
    """The link of a miner, from its last poll and the loaded pool accounts."""
    if (data := miner.polled) is None or (claim := claim_of(data.status)) is None:
        return PoolLink(LinkState.NO_WORKER)
    subaccount = claim.subaccount.casefold()
    accounts = [
        account
        for account in _runtime_data(hass)
        if isinstance(account, PoolCoordinator)
        and account.subaccount.casefold() == subaccount
    ]
    if not accounts:
        return PoolLink(LinkState.UNCONFIGURED, claim)
    listing = [(a, w) for a in accounts if (w := _listed(a, claim)) is not None]
    if len(listing) > 1 or (not listing and len(accounts) > 1):
        return PoolLink(LinkState.AMBIGUOUS, claim)
    if not listing:
        return PoolLink(LinkState.UNLISTED, claim, accounts[0])
    if _shared(hass, miner, claim):
        return PoolLink(LinkState.SHARED, claim)
    account, worker = listing[0]
    return PoolLink(LinkState.LINKED, claim, account, worker)


class Unseen(StrEnum):
    """Why the pool does not see a mining miner (a repair issue's key)."""

    MISSING = "pool_worker_missing"
    OFFLINE = "pool_worker_offline"
    LOW = "pool_worker_low"


def _mining_hashrate(status: MinerStatus) -> float | None:
    """The miner's hashrate while it says it mines; None while it does not."""
    if status.mining is not True or not status.hashrate_ths:
        return None
    return status.hashrate_ths


def pool_view(link: PoolLink, miner_hashrate: float) -> Unseen | None:
    """Why the pool does not see the miner's hashrate; None when it does."""
    if link.state is LinkState.UNLISTED:
        return Unseen.MISSING
    worker = link.worker
    if worker is None:
        return None
    if worker.status is not None and not worker.online:
        return Unseen.OFFLINE
    seen = worker.hashrate_ths
    if seen is not None and seen < POOL_UNSEEN_SHARE * miner_hashrate:
        return Unseen.LOW
    return None


class PoolWatch:
    """Raises and clears one miner's "the pool does not see it" repair issue.

    Checked after every poll of the miner. The pool needs some minutes to show
    a worker's hashrate after mining starts: only an hour of mining unseen
    counts, and each stop of mining starts the hour again.
    """

    def __init__(self, hass: HomeAssistant, miner: MinerCoordinator) -> None:
        """Nothing unseen yet."""
        self._hass = hass
        self._miner = miner
        self.issue_id = f"{ISSUE_POOL_UNSEEN}_{miner.config_entry.entry_id}"
        self._unseen_since: datetime | None = None

    @callback
    def async_check(self) -> None:
        """Judge the last poll of the miner against its account's last poll."""
        miner = self._miner
        if not miner.last_update_success:
            return  # the miner's state is unknown: nothing changes
        hashrate = _mining_hashrate(miner.data.status)
        link = resolve_link(self._hass, miner)
        if hashrate is None or link.account is None or link.claim is None:
            self._seen()  # not mining, or no account that could see it
            return
        if not link.account.last_update_success:
            return  # the pool's view is unknown: nothing changes
        if (unseen := pool_view(link, hashrate)) is None:
            self._seen()
            return
        now = dt_util.utcnow()
        if self._unseen_since is None:
            self._unseen_since = now
        if now - self._unseen_since >= POOL_UNSEEN_AFTER:
            self._raise(unseen, link.claim, link.account, link.worker, hashrate)

    def _seen(self) -> None:
        self._unseen_since = None
        ir.async_delete_issue(self._hass, DOMAIN, self.issue_id)

    def _raise(
        self,
        unseen: Unseen,
        claim: WorkerClaim,
        account: PoolCoordinator,
        worker: Worker | None,
        hashrate: float,
    ) -> None:
        seen = None if worker is None else worker.hashrate_ths
        issues = ir.async_get(self._hass)
        existing = issues.async_get_issue(DOMAIN, self.issue_id)
        if existing is None or existing.translation_key != unseen:
            LOGGER.warning(
                "%s mines but its pool account %s does not see worker %s (%s)",
                self._miner.config_entry.title,
                account.config_entry.title,
                claim.user,
                unseen.value,
            )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=unseen.value,
            translation_placeholders={
                "name": self._miner.config_entry.title,
                "account": account.config_entry.title,
                "worker": claim.user,
                "hashrate": f"{hashrate:.2f}",
                "pool_hashrate": "" if seen is None else f"{seen:.2f}",
            },
        )
