"""Write tests/storage/fixtures/: the ``.storage`` of an installation, by this code.

Run from the repository root with ``python -m tests.storage.generate``. It runs
``test_generate`` below under pytest (the harness's ``hass``, frozen time, sockets
to 127.0.0.1): one Home Assistant adds, through the config flow, a Whatsminer on
API v2, one on API v3, a DragonMint T1 and a Spiderpool account of twelve
workers; sets the v2 miner's polling interval to 60 s (options flow) and its power
percent to 60 (number entity); renames the v2 miner's hashrate sensor; polls for
40 minutes of frozen time; then stops, which flushes the registries and restore
state. Miner Hub's part of each file is written as Home Assistant stores it, with
the emulators' ports replaced by placeholders (``{whatsminer_v2_port}``...).

The fixtures are a baseline: regenerate them only to add a new one, never to make
``tests/test_stored_entries.py`` pass.
"""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntry, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_USERNAME,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import orjson
import pytest

from custom_components.miner_hub.const import (
    CONF_ACCESS_KEY,
    CONF_API_URL,
    CONF_COIN,
    CONF_PRIVATE_KEY,
    CONF_SCAN_INTERVAL,
    CONF_SUBACCOUNT,
    CONF_V3_PORT,
    DOMAIN,
)
from tests.storage import (
    CONFIG_ENTRIES,
    DEVICE_REGISTRY,
    DRAGONMINT_PASSWORD,
    DRAGONMINT_USERNAME,
    ENTITY_REGISTRY,
    FIXTURES,
    POLL_STEP,
    POOL_COIN,
    POOL_SUBACCOUNT,
    POWER_PERCENT,
    POWER_PERCENT_ENTITY,
    RENAMED_FROM,
    RENAMED_TO,
    RESTORE_STATE,
    SCAN_INTERVAL,
    STORAGE_KEYS,
    WHATSMINER_V2_PASSWORD,
    WHATSMINER_V3_PASSWORD,
    Installation,
    installation,
    load_storage,
)

# Polls for 40 minutes: past the pool's 30-minute slow poll and the miners'
# 5-minute slow reads, so that every entity a later poll adds exists.
POLL_STEPS = 8
# The config flow's collapsed section of fields a plain setup leaves alone.
ADVANCED = "advanced"


async def _add(hass: HomeAssistant, kind: str, user_input: dict[str, Any]) -> str:
    """Add an entry through the config flow's menu and form; its ID."""
    flow = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    flow = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"next_step_id": kind}
    )
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)
    entry: ConfigEntry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry.entry_id


async def _add_all(hass: HomeAssistant, site: Installation) -> str:
    """Add the four devices as a user would; the v2 miner's entry ID."""
    v2, v3, pool = site.whatsminer_v2, site.whatsminer_v3, site.spiderpool
    v2_entry = await _add(
        hass,
        "whatsminer",
        {CONF_HOST: v2.host, CONF_PORT: v2.port, CONF_PASSWORD: WHATSMINER_V2_PASSWORD},
    )
    await _add(
        hass,
        "whatsminer",
        {
            CONF_HOST: v3.host,
            CONF_PORT: v3.v2.port,
            CONF_PASSWORD: WHATSMINER_V3_PASSWORD,
            ADVANCED: {CONF_V3_PORT: v3.port},
        },
    )
    await _add(
        hass,
        "dragonmint",
        {
            CONF_HOST: site.dragonmint.host,
            CONF_PORT: site.dragonmint.port,
            CONF_USERNAME: DRAGONMINT_USERNAME,
            CONF_PASSWORD: DRAGONMINT_PASSWORD,
        },
    )
    await _add(
        hass,
        "spiderpool",
        {
            CONF_ACCESS_KEY: pool.access_key,
            CONF_PRIVATE_KEY: pool.private_key_b64,
            CONF_COIN: POOL_COIN,
            CONF_SUBACCOUNT: POOL_SUBACCOUNT,
            ADVANCED: {CONF_API_URL: pool.url},
        },
    )
    return v2_entry


async def _use(hass: HomeAssistant, v2_entry: str) -> None:
    """Options, a power percent and a renamed entity: what a user's setup gathers."""
    flow = await hass.config_entries.options.async_init(v2_entry)
    result = await hass.config_entries.options.async_configure(
        flow["flow_id"], {CONF_SCAN_INTERVAL: SCAN_INTERVAL}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done(wait_background_tasks=True)

    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: POWER_PERCENT_ENTITY, ATTR_VALUE: POWER_PERCENT},
        blocking=True,
    )
    er.async_get(hass).async_update_entity(RENAMED_FROM, new_entity_id=RENAMED_TO)
    await hass.async_block_till_done(wait_background_tasks=True)


def _ours(stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Miner Hub's part of each stored file, in its envelope."""
    files = {key: dict(stored[key]) for key in STORAGE_KEYS}
    entries = [
        entry
        for entry in files[CONFIG_ENTRIES]["data"]["entries"]
        if entry["domain"] == DOMAIN
    ]
    entry_ids = {entry["entry_id"] for entry in entries}
    files[CONFIG_ENTRIES]["data"] = {
        **files[CONFIG_ENTRIES]["data"],
        "entries": entries,
    }
    # Lists of entities (live and deleted), lists of devices (live, deleted, child).
    files[ENTITY_REGISTRY]["data"] = {
        key: [entity for entity in value if entity["platform"] == DOMAIN]
        if isinstance(value, list)
        else value
        for key, value in files[ENTITY_REGISTRY]["data"].items()
    }
    files[DEVICE_REGISTRY]["data"] = {
        key: [device for device in value if device["config_entry_id"] in entry_ids]
        if isinstance(value, list)
        else value
        for key, value in files[DEVICE_REGISTRY]["data"].items()
    }
    entity_ids = {
        entity["entity_id"] for entity in files[ENTITY_REGISTRY]["data"]["entities"]
    }
    files[RESTORE_STATE]["data"] = [
        item
        for item in files[RESTORE_STATE]["data"]
        if item["state"]["entity_id"] in entity_ids
    ]
    return files


def _with_placeholders(value: Any, site: Installation, key: str | None = None) -> Any:
    """``value`` with this run's ports and URL as placeholders (``"{name}"``).

    A port is replaced as the value of ``port`` or ``v3_port`` (config entries) and
    after ``127.0.0.1:`` in text (a device's configuration URL); the pool's URL as a
    whole string.
    """
    placeholders = site.placeholders()
    ports = {port: name for name, port in placeholders.items() if isinstance(port, int)}
    if isinstance(value, dict):
        return {k: _with_placeholders(v, site, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_placeholders(item, site) for item in value]
    if isinstance(value, int) and key in (CONF_PORT, CONF_V3_PORT):
        return f"{{{ports[value]}}}"
    if isinstance(value, str):
        for name, replaced in placeholders.items():
            if value == replaced:
                return f"{{{name}}}"
        for port, name in ports.items():
            value = value.replace(f"127.0.0.1:{port}", f"127.0.0.1:{{{name}}}")
    return value


def _write(files: dict[str, dict[str, Any]], site: Installation) -> None:
    """Write each file as Home Assistant does (orjson, two-space indent)."""
    FIXTURES.mkdir(exist_ok=True)
    for key, stored in files.items():
        text = orjson.dumps(
            _with_placeholders(stored, site), option=orjson.OPT_INDENT_2
        )
        (FIXTURES / key).write_bytes(text + b"\n")


@pytest.mark.parametrize("load_registries", [False])
@pytest.mark.usefixtures("socket_enabled", "pool_clock")
async def test_generate(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Set up, use and stop the installation; write Miner Hub's storage."""
    async with installation() as site:
        await load_storage(hass)
        v2_entry = await _add_all(hass, site)
        await _use(hass, v2_entry)
        for _ in range(POLL_STEPS):
            await site.advance(hass, freezer, POLL_STEP)
        state = hass.states.get(POWER_PERCENT_ENTITY)
        assert state is not None
        assert state.state == str(POWER_PERCENT)
        await hass.async_stop()
        _write(_ours(hass_storage), site)


def main() -> int:
    """Run ``test_generate`` (this file) under pytest, in a fresh interpreter.

    Not in this one: the harness's plugin must load before Home Assistant, which
    this module has imported already.
    """
    command = [sys.executable, "-m", "pytest", str(Path(__file__)), "-q"]
    root = Path(__file__).parents[2]
    done = subprocess.run([*command, "-o", "timeout=300"], cwd=root, check=False)  # noqa: S603
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
