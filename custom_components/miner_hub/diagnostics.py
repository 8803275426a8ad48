"""Diagnostics: what a bug report needs, without secrets or hardware identifiers.

Redacted: the admin password; the MAC address and the serial numbers of the
miner and its power supply, and the entry's unique ID (the MAC). Diagnostics
end up in public issue trackers, and core integrations that include such
hardware identifiers redact them (ESPHome, Axis, Android TV, Daikin, Fronius).
Whether the MAC still matches the entry is reported as a boolean instead.
Pool worker names (often an account or a wallet address) and any credentials
in a pool URL are redacted too; the link to a pool account shows its state and
the account's entry ID, not the worker. The protocol client reports its token state,
never the token. For a pool account the access key, the private key, the wallet
address and payment transaction IDs are redacted; the last error code the pool
answered is kept (its authentication codes are undocumented).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from . import MinerHubConfigEntry
from .const import CONF_ACCESS_KEY, CONF_PRIVATE_KEY, DOMAIN, ISSUE_POOL_UNSEEN
from .coordinator import MinerCoordinator
from .coordinator_base import MinerHubCoordinator
from .governor import CommandGovernor, shown_value
from .helpers import without_url_credentials
from .pool_coordinator import PoolCoordinator
from .pool_link import resolve_link

TO_REDACT_ENTRY = {CONF_PASSWORD, "unique_id"}
TO_REDACT_INFO = {"mac", "serial_number"}
TO_REDACT_DATA = {"serial_number", "user"}
TO_REDACT_POOL_ENTRY = {CONF_ACCESS_KEY, CONF_PRIVATE_KEY}
TO_REDACT_POOL_DATA = {"wallet_address", "address", "tx_id"}


def _plain(value: Any) -> Any:
    """Tuples (dataclasses.asdict keeps them) as lists, so redaction sees inside."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: MinerHubConfigEntry
) -> dict[str, Any]:
    """Return diagnostics for a config entry."""
    coordinator = entry.runtime_data
    if isinstance(coordinator, PoolCoordinator):
        return _pool_diagnostics(entry, coordinator)
    return _miner_diagnostics(entry, coordinator)


def _coordinator_state(coordinator: MinerHubCoordinator[Any]) -> dict[str, Any]:
    interval = coordinator.update_interval
    return {
        "last_update_success": coordinator.last_update_success,
        "last_exception": None
        if coordinator.last_exception is None
        else repr(coordinator.last_exception),
        "update_interval_s": None if interval is None else interval.total_seconds(),
    }


def _miner_diagnostics(
    entry: MinerHubConfigEntry, coordinator: MinerCoordinator
) -> dict[str, Any]:
    info = coordinator.info
    # The last successful poll (a failed poll keeps it); None while a miner
    # set up from its profile (it was off) has not answered yet.
    data: dict[str, Any] | None = None
    if (polled := coordinator.polled) is not None:
        data = async_redact_data(_plain(asdict(polled)), TO_REDACT_DATA)
        for pool in data["status"]["pools"]:
            pool["url"] = without_url_credentials(pool["url"])
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT_ENTRY,
        ),
        "info": async_redact_data(asdict(info), TO_REDACT_INFO),
        "mac_matches_unique_id": info.mac == entry.unique_id,
        "write_access": coordinator.write_access,
        "miner": coordinator.miner.diagnostics(),
        "latest_firmware": None
        if coordinator.latest_firmware is None
        else asdict(coordinator.latest_firmware),
        "coordinator": _coordinator_state(coordinator),
        "governor": _governor_state(coordinator.governor),
        # What power targets and budgets work with.
        "power": {
            "full_power_w": coordinator.full_power.watts,
            "floor_percent": coordinator.full_power.floor_percent,
            "heating": coordinator.heating,
        },
        "pool_link": _pool_link(coordinator),
        "data": data,
    }


def _pool_link(coordinator: MinerCoordinator) -> dict[str, Any]:
    """The pool worker the miner is linked to (or why not), and its warning."""
    hass = coordinator.hass
    link = resolve_link(hass, coordinator)
    issue_id = f"{ISSUE_POOL_UNSEEN}_{coordinator.config_entry.entry_id}"
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    return async_redact_data(
        {
            "state": link.state.value,
            "worker": None if link.claim is None else link.claim.user,
            "account_entry_id": None
            if link.account is None
            else link.account.config_entry.entry_id,
            "pool_unseen": None if issue is None else issue.translation_key,
        },
        {"worker"},
    )


def _governor_state(governor: CommandGovernor) -> dict[str, Any]:
    """Its rules, what it let through in 24 hours and what it holds (no secrets)."""
    rules = governor.rules
    return {
        "rules": {
            "min_disruptive_interval_s": rules.min_disruptive_interval.total_seconds(),
            "max_disruptive_per_day": rules.max_disruptive_per_day,
            "min_power_percent_interval_s": (
                rules.min_power_percent_interval.total_seconds()
            ),
        },
        "changes_last_day": governor.changes_last_day(),
        "held": [
            {
                "kind": change.kind.value,
                "value": shown_value(change),
                "requested_at": change.requested_at.isoformat(),
                "due": due.isoformat(),
            }
            for change, due in governor.held()
        ],
    }


def _pool_diagnostics(
    entry: MinerHubConfigEntry, coordinator: PoolCoordinator
) -> dict[str, Any]:
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "unique_id": entry.unique_id,
                "data": dict(entry.data),
                "options": dict(entry.options),  # the price entities
            },
            TO_REDACT_POOL_ENTRY,
        ),
        "client": {
            "base_url": coordinator.client.base_url,
            "last_error_code": coordinator.client.last_error_code,
        },
        "coordinator": _coordinator_state(coordinator),
        "data": async_redact_data(
            _plain(asdict(coordinator.data)), TO_REDACT_POOL_DATA
        ),
    }
