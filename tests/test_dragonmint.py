"""A DragonMint T1 in Home Assistant, over real HTTP against the emulator.

Entities and their values, cgminer restarts, outages, credentials, every control
(with the form the miner received), the actions and the diagnostics. The update
entity has its own module (test_update.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import json
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    ATTR_DEVICE_ID,
    ATTR_ENTITY_ID,
    CONF_PASSWORD,
    CONF_USERNAME,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
    Platform,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.miner_hub.const import DOMAIN
from tests.conftest import (
    DRAGONMINT_PASSWORD,
    DRAGONMINT_TITLE,
    DRAGONMINT_UNIQUE_ID,
    dragonmint_config_entry,
    dragonmint_entry_data,
    only_platforms,
    poll_dragonmint,
    setup_integration,
)
from tests.emulators import DragonMintEmulator
from tests.emulators.dragonmint import ReceivedRequest, apply_scenario

NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
PREFIX = "dragonmint_t1_123456"
HASHRATE = f"sensor.{PREFIX}_hashrate"
TEMPERATURE = f"sensor.{PREFIX}_temperature"
FAN_DUTY = f"sensor.{PREFIX}_fan_duty"
HARDWARE_ERRORS = f"sensor.{PREFIX}_hardware_errors"
ACTIVE_POOL = f"sensor.{PREFIX}_active_pool"
UPTIME = f"sensor.{PREFIX}_uptime"
MINING = f"binary_sensor.{PREFIX}_mining"
AUTOTUNE = f"select.{PREFIX}_auto_tune_mode_restarts_mining"
REBOOT = f"button.{PREFIX}_reboot"
RESTART_MINING = f"button.{PREFIX}_restart_mining"
POWER_OFF = f"button.{PREFIX}_power_off"
FIRMWARE = f"update.{PREFIX}_firmware"
BOARDS = (1, 2, 3)
# The values that cgminer reports: unknown while it restarts.
CGMINER_VALUES = (
    HASHRATE,
    TEMPERATURE,
    FAN_DUTY,
    HARDWARE_ERRORS,
    ACTIVE_POOL,
    MINING,
    *(
        f"sensor.{PREFIX}_board_{board}_{kind}"
        for board in BOARDS
        for kind in ("hashrate", "temperature", "status")
    ),
)
POOL_1 = "stratum+tcp://btc.example.com:3333"
POOL_2 = "stratum+tcp://backup.example.com:443"


@pytest.fixture(autouse=True)
def frozen_time(freezer: FrozenDateTimeFactory) -> None:
    """One clock for Home Assistant and the emulator (set up before it)."""
    freezer.move_to(NOW)


@pytest.fixture
async def init_dragonmint(
    hass: HomeAssistant, dragonmint_entry: MockConfigEntry
) -> MockConfigEntry:
    """The emulated T1, set up with every platform."""
    return await setup_integration(hass, dragonmint_entry)


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


def _since(emulator: DragonMintEmulator, sent: int) -> list[ReceivedRequest]:
    """The requests the emulator received after the first ``sent``."""
    return emulator.received[sent:]


def _writes(emulator: DragonMintEmulator, sent: int) -> list[tuple[str, Any]]:
    """(path, form) of the requests after ``sent`` that are no poll reads."""
    reads = {"summary", "overview", "getAutoTune", "getLatestFirmwareVersion"}
    return [
        (request.path, request.form)
        for request in _since(emulator, sent)
        if request.action not in reads
    ]


async def _press(hass: HomeAssistant, entity_id: str) -> None:
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def _use(hass: HomeAssistant, entity_id: str) -> None:
    """Press a button, or choose the efficient profile."""
    if entity_id != AUTOTUNE:
        await _press(hass, entity_id)
        return
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: AUTOTUNE, ATTR_OPTION: "efficient"},
        blocking=True,
    )


async def _raw_summary(emulator: DragonMintEmulator) -> dict[str, Any]:
    """``/api/summary`` as the miner sends it, read without Miner Hub's client."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emulator.url}/api/summary",
            headers={
                "Authorization": aiohttp.encode_basic_auth("admin", DRAGONMINT_PASSWORD)
            },
        ) as response,
    ):
        reply: dict[str, Any] = json.loads(await response.read())
    assert reply["success"] is True
    return reply


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, DRAGONMINT_UNIQUE_ID), entry.entry_id
    )
    assert device is not None
    return device.id


# --- entities -------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize(
    "platform",
    [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.SELECT, Platform.BUTTON],
)
async def test_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    dragonmint_entry: MockConfigEntry,
    platform: Platform,
) -> None:
    """Every entity of the emulated T1, platform by platform."""
    with only_platforms(platform):
        await setup_integration(hass, dragonmint_entry)
    await snapshot_platform(hass, entity_registry, snapshot, dragonmint_entry.entry_id)


async def test_entity_set(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_dragonmint: MockConfigEntry,
) -> None:
    """What a T1 gets: no power, energy, fan speed, number or switch entities."""
    entries = er.async_entries_for_config_entry(
        entity_registry, init_dragonmint.entry_id
    )
    enabled = {entry.entity_id for entry in entries if not entry.disabled_by}
    disabled = {
        entry.entity_id
        for entry in entries
        if entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    assert enabled == {
        HASHRATE,
        TEMPERATURE,
        FAN_DUTY,
        HARDWARE_ERRORS,
        ACTIVE_POOL,
        UPTIME,
        MINING,
        AUTOTUNE,
        REBOOT,
        RESTART_MINING,
        FIRMWARE,
        f"sensor.{PREFIX}_held_change",
        f"sensor.{PREFIX}_disruptive_changes_24_h",
        *(
            f"sensor.{PREFIX}_board_{board}_{kind}"
            for board in BOARDS
            for kind in ("hashrate", "temperature", "status")
        ),
    }
    assert disabled == {
        f"sensor.{PREFIX}_accepted_shares",
        f"sensor.{PREFIX}_rejected_shares",
        POWER_OFF,
    }
    status = entity_registry.async_get(f"sensor.{PREFIX}_board_2_status")
    assert status is not None
    assert status.unique_id == f"{DRAGONMINT_UNIQUE_ID}_board_1_board_status"
    assert status.entity_category is EntityCategory.DIAGNOSTIC


async def test_values_are_the_miners(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """Hashrate is the chains' sum, temperature the hottest chain's, and so on."""
    summary = await _raw_summary(dragonmint)
    chains = summary["DEVS"]
    assert len(chains) == 3
    assert float(_state(hass, HASHRATE)) == pytest.approx(
        sum(chain["MHS 5m"] for chain in chains) / 1e6
    )
    # noise is off: the 5-minute averages are the chains' nominal hashrates
    assert float(_state(hass, HASHRATE)) == pytest.approx(
        sum(chain.mhs for chain in dragonmint.state.chains) / 1e6, rel=1e-6
    )
    for board, chain in zip(BOARDS, chains, strict=True):
        assert float(_state(hass, f"sensor.{PREFIX}_board_{board}_hashrate")) == (
            pytest.approx(chain["MHS 5m"] / 1e6)
        )
        assert (
            float(_state(hass, f"sensor.{PREFIX}_board_{board}_temperature"))
            == (chain["Temperature"])
        )
        assert _state(hass, f"sensor.{PREFIX}_board_{board}_status") == "alive"
    assert float(_state(hass, TEMPERATURE)) == 66  # chains at 62, 66, 64 °C
    assert float(_state(hass, FAN_DUTY)) == dragonmint.state.fan_duty == 80
    assert int(_state(hass, HARDWARE_ERRORS)) == sum(
        chain["Hardware Errors"] for chain in chains
    )
    url = dragonmint.state.pools[0][0]
    assert _state(hass, ACTIVE_POOL) == url.removeprefix("stratum+tcp://")
    assert hass.states.get(ACTIVE_POOL).attributes["url"] == url
    assert _state(hass, MINING) == "on"
    assert _state(hass, AUTOTUNE) == "balanced"
    # booted 90 minutes before the emulator started (the uptime has minutes)
    assert _state(hass, UPTIME) == "2026-10-01T10:30:00+00:00"

    # The miner changes: the next poll shows it.
    dragonmint.state.fan_duty = 55
    dragonmint.state.chains[0].temperature = 71
    dragonmint.state.chains[2].mhs = 4_000_000.0
    dragonmint.state.chains[1].hardware_errors += 100
    dragonmint.state.autotune_mode = "performance"
    await poll_dragonmint(hass, freezer, dragonmint)
    assert float(_state(hass, FAN_DUTY)) == 55
    assert float(_state(hass, TEMPERATURE)) == 71
    assert float(_state(hass, f"sensor.{PREFIX}_board_3_hashrate")) == (
        pytest.approx(4.0, rel=1e-6)
    )
    summary = await _raw_summary(dragonmint)
    assert int(_state(hass, HARDWARE_ERRORS)) == sum(
        chain["Hardware Errors"] for chain in summary["DEVS"]
    )
    assert _state(hass, AUTOTUNE) == "performance"


async def test_dead_chains(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """A dead chain shows in its status; all dead: 0 TH/s, not mining."""
    dragonmint.state.chains[1].status = "Dead"
    await poll_dragonmint(hass, freezer, dragonmint)
    assert [_state(hass, f"sensor.{PREFIX}_board_{b}_status") for b in BOARDS] == [
        "alive",
        "dead",
        "alive",
    ]
    assert float(_state(hass, f"sensor.{PREFIX}_board_2_hashrate")) == 0
    assert _state(hass, MINING) == "on"

    apply_scenario(dragonmint.state, "dead_chains")
    await poll_dragonmint(hass, freezer, dragonmint)
    assert {_state(hass, f"sensor.{PREFIX}_board_{b}_status") for b in BOARDS} == {
        "dead"
    }
    assert float(_state(hass, HASHRATE)) == 0
    for board in BOARDS:
        assert float(_state(hass, f"sensor.{PREFIX}_board_{board}_hashrate")) == 0
    assert float(_state(hass, TEMPERATURE)) == 66  # the boards still report it


# --- cgminer restarts, outages, credentials ----------------------------------


async def test_cgminer_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """Restart mining: available, cgminer's values unknown (not 0, not stale)."""
    uptime = _state(hass, UPTIME)
    sent = len(dragonmint.received)
    await _press(hass, RESTART_MINING)

    assert _writes(dragonmint, sent) == [("/api/restartCgMiner", {})]
    assert dragonmint.received[sent].json is None
    assert dragonmint.state.cgminer == "restarting"
    # the refresh after the command already saw it
    assert [request.action for request in _since(dragonmint, sent + 1)] == [
        "summary",
        "overview",
        "getAutoTune",
    ]
    coordinator = init_dragonmint.runtime_data
    assert coordinator.last_update_success
    for entity_id in CGMINER_VALUES:
        assert _state(hass, entity_id) == STATE_UNKNOWN, entity_id
    # the miner itself answers: the rest stays as it is
    assert _state(hass, UPTIME) == uptime
    assert _state(hass, AUTOTUNE) == "balanced"
    for entity_id in (REBOOT, RESTART_MINING, FIRMWARE):
        assert _state(hass, entity_id) != STATE_UNAVAILABLE

    await poll_dragonmint(hass, freezer, dragonmint, 20)  # cgminer needs 30 s
    assert dragonmint.state.cgminer == "restarting"
    assert _state(hass, HASHRATE) == STATE_UNKNOWN

    dragonmint.advance(10)  # the emulator's clock only: cgminer is back
    await poll_dragonmint(hass, freezer, dragonmint, 10)
    assert dragonmint.state.cgminer == "running"
    for entity_id in CGMINER_VALUES:
        assert _state(hass, entity_id) not in (STATE_UNKNOWN, STATE_UNAVAILABLE)
    assert float(_state(hass, TEMPERATURE)) == 66
    assert float(_state(hass, FAN_DUTY)) == 80
    # the chains initialise for 20 s: a real 0, not mining yet
    assert float(_state(hass, HASHRATE)) == 0
    assert _state(hass, MINING) == "off"

    await poll_dragonmint(hass, freezer, dragonmint)
    # hashing again: the 5-second window (the firmware's choice in the first
    # 5 minutes) is the chains' rate while the 5-minute average still ramps up
    summary = await _raw_summary(dragonmint)
    assert sum(chain["MHS 5m"] for chain in summary["DEVS"]) / 1e6 < 1
    assert float(_state(hass, HASHRATE)) == pytest.approx(
        sum(chain["MHS 5s"] for chain in summary["DEVS"]) / 1e6
    )
    assert _state(hass, MINING) == "on"
    assert _state(hass, UPTIME) == uptime


async def test_hashrate_after_a_cgminer_restart_is_not_a_ramp(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """After a restart the hashrate is the chains' rate, not the 5-minute ramp.

    cgminer's 5-minute average rises from 0 (to 63 % after 5 minutes, 95 % after
    15); the firmware's page shows the 5 s window for the first 5 minutes and the
    1 min window until 15 (dragonmint.md §5.2), and so does Miner Hub.
    """
    nominal = sum(chain.mhs for chain in dragonmint.state.chains) / 1e6
    await _press(hass, RESTART_MINING)
    await poll_dragonmint(hass, freezer, dragonmint)  # cgminer is back after 30 s
    assert dragonmint.state.cgminer == "running"
    assert float(_state(hass, HASHRATE)) == 0  # the chains still initialise

    windows = set()
    for _ in range(40):  # 20 minutes of polls
        await poll_dragonmint(hass, freezer, dragonmint)
        devs = (await _raw_summary(dragonmint))["DEVS"]
        elapsed = devs[0]["Device Elapsed"]
        shown = float(_state(hass, HASHRATE))
        ramp = sum(chain["MHS 5m"] for chain in devs) / 1e6
        window = "MHS 5s" if elapsed < 300 else "MHS 1m" if elapsed < 900 else "MHS 5m"
        windows.add(window)
        assert shown == pytest.approx(sum(c[window] for c in devs) / 1e6), elapsed
        # close to the chains' rate from the first hashing poll on ...
        assert shown > 0.94 * nominal, elapsed
        # ... where the 5-minute average alone would still be climbing from 0
        if elapsed < 900:
            assert ramp < 0.95 * nominal, elapsed
        for board, chain in zip(BOARDS, devs, strict=True):
            assert float(
                _state(hass, f"sensor.{PREFIX}_board_{board}_hashrate")
            ) == pytest.approx(chain[window] / 1e6)
    assert windows == {"MHS 5s", "MHS 1m", "MHS 5m"}


async def test_cgminer_not_running_at_setup(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """Set up while cgminer restarts: its sensors come once it reports values."""
    dragonmint.state.cgminer = "down"
    await setup_integration(hass, dragonmint_entry)
    assert dragonmint_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(HASHRATE) is None
    assert hass.states.get(FAN_DUTY) is None
    assert _state(hass, MINING) == STATE_UNKNOWN
    assert _state(hass, UPTIME) != STATE_UNAVAILABLE

    dragonmint.state.cgminer = "running"
    await poll_dragonmint(hass, freezer, dragonmint)
    assert float(_state(hass, HASHRATE)) > 14
    assert float(_state(hass, FAN_DUTY)) == 80
    assert _state(hass, f"sensor.{PREFIX}_board_3_status") == "alive"


async def test_unreachable_then_recovery(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """Unreachable: every entity unavailable; back: the same states again."""
    entity_ids = [
        entry.entity_id
        for entry in er.async_entries_for_config_entry(
            entity_registry, init_dragonmint.entry_id
        )
        if not entry.disabled_by
    ]
    before = {entity_id: _state(hass, entity_id) for entity_id in entity_ids}
    assert STATE_UNAVAILABLE not in before.values()

    dragonmint.faults.offline = True
    await poll_dragonmint(hass, freezer, dragonmint)
    assert {_state(hass, entity_id) for entity_id in entity_ids} == {STATE_UNAVAILABLE}

    dragonmint.faults.offline = False
    await poll_dragonmint(hass, freezer, dragonmint)
    after = {entity_id: _state(hass, entity_id) for entity_id in entity_ids}
    assert after.keys() == before.keys()
    for entity_id, state in before.items():
        if entity_id.endswith("hashrate"):  # a 5-minute average moves a little
            assert float(after[entity_id]) == pytest.approx(float(state), rel=1e-6)
        else:
            assert after[entity_id] == state, entity_id


async def _setup_fails(hass: HomeAssistant, data: dict[str, Any]) -> MockConfigEntry:
    """Add an entry of the emulated T1 with ``data``: its setup fails."""
    entry = dragonmint_config_entry(data)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    return entry


async def test_wrong_password_at_setup(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    """A rejected password ("invalid request") asks the user for the new one."""
    entry = await _setup_fails(
        hass, {**dragonmint_entry_data(dragonmint), CONF_PASSWORD: "wrong"}
    )
    assert dragonmint.received[0].action == "overview"
    assert dragonmint.received[0].auth == "basic"
    assert dragonmint.received[0].user is None  # not recognised
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == entry.entry_id


async def test_guest_account_at_setup(
    hass: HomeAssistant, dragonmint: DragonMintEmulator
) -> None:
    """The guest account reads but cannot control: it needs the admin password."""
    await _setup_fails(
        hass,
        {
            **dragonmint_entry_data(dragonmint),
            CONF_USERNAME: "guest",
            CONF_PASSWORD: "dragonguest",
        },
    )
    actions = [request.action for request in dragonmint.received if request.action]
    assert actions == ["overview", "getAutoTune"]  # the second is an admin route
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_password_changed_on_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """The next poll fails with the old password and starts reauthentication."""
    dragonmint.state.users["admin"] = "n3w-password"
    await poll_dragonmint(hass, freezer, dragonmint)

    assert _state(hass, HASHRATE) == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


# --- controls -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["efficient", "factory", "performance"])
async def test_select_autotune_mode(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
    mode: str,
) -> None:
    """A new profile is sent as a form; cgminer restarts to apply it."""
    sent = len(dragonmint.received)
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: AUTOTUNE, ATTR_OPTION: mode},
        blocking=True,
    )
    assert _writes(dragonmint, sent) == [("/api/setAutoTune", {"autotune": mode})]
    assert dragonmint.received[sent].json is None
    assert dragonmint.state.autotune_mode == mode
    assert dragonmint.state.cgminer == "restarting"
    # the refresh after the command reads the new profile back
    assert _state(hass, AUTOTUNE) == mode
    assert _state(hass, HASHRATE) == STATE_UNKNOWN


async def test_select_autotune_mode_unchanged(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """The profile in use: nothing is sent (the governor knows it is set already)."""
    sent = len(dragonmint.received)
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: AUTOTUNE, ATTR_OPTION: "balanced"},
        blocking=True,
    )
    assert _writes(dragonmint, sent) == []
    assert dragonmint.state.cgminer == "running"
    assert _state(hass, AUTOTUNE) == "balanced"
    assert float(_state(hass, HASHRATE)) > 14


async def test_reboot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """The miner answers, reboots 4 s later, is away a minute and comes back."""
    uptime = _state(hass, UPTIME)
    sent = len(dragonmint.received)
    await _press(hass, REBOOT)
    assert _writes(dragonmint, sent) == [("/api/reboot", {})]
    assert dragonmint.received[sent].json is None
    assert _state(hass, HASHRATE) != STATE_UNAVAILABLE  # not down yet

    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.power_state == "rebooting"
    assert _state(hass, HASHRATE) == STATE_UNAVAILABLE
    assert _state(hass, REBOOT) == STATE_UNAVAILABLE

    await poll_dragonmint(hass, freezer, dragonmint, 60)  # booted; cgminer starting
    assert dragonmint.power_state == "on"
    assert _state(hass, HASHRATE) == STATE_UNKNOWN
    assert _state(hass, UPTIME) != uptime  # a new boot

    await poll_dragonmint(hass, freezer, dragonmint)
    assert float(_state(hass, TEMPERATURE)) == 66


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_power_off(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """Power off: gone for good, until someone power-cycles the miner."""
    sent = len(dragonmint.received)
    await _press(hass, POWER_OFF)
    assert _writes(dragonmint, sent) == [("/api/poweroff", {})]
    assert dragonmint.received[sent].json is None

    await poll_dragonmint(hass, freezer, dragonmint)
    assert dragonmint.power_state == "off"
    assert _state(hass, HASHRATE) == STATE_UNAVAILABLE
    await poll_dragonmint(hass, freezer, dragonmint, 3600)
    assert _state(hass, HASHRATE) == STATE_UNAVAILABLE

    dragonmint.reset_power()  # at the plug
    await poll_dragonmint(hass, freezer, dragonmint, 60)
    assert dragonmint.power_state == "on"
    assert _state(hass, HASHRATE) == STATE_UNKNOWN  # cgminer starting


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("entity_id", [REBOOT, RESTART_MINING, POWER_OFF, AUTOTUNE])
async def test_control_wrong_password(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
    entity_id: str,
) -> None:
    """A control refused for the credentials: nothing happens, reauth starts."""
    dragonmint.state.users["admin"] = "n3w-password"
    with pytest.raises(HomeAssistantError, match=r"^The miner rejected the password"):
        await _use(hass, entity_id)
    assert dragonmint.received[-1].user is None
    assert dragonmint.state.cgminer == "running"
    assert dragonmint.state.autotune_mode == "balanced"
    assert dragonmint.power_state == "on"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


async def test_control_unreachable(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """An unreachable miner: a translated error, and unavailable at once."""
    dragonmint.faults.offline = True
    # Let the client see that its idle keep-alive connection was reset: a write
    # sent on it would be reported as sent without a reply (outcome unknown).
    for _ in range(10):
        await asyncio.sleep(0)
    with pytest.raises(
        HomeAssistantError, match=r"^Could not communicate with the miner: "
    ):
        await _press(hass, RESTART_MINING)
    assert _state(hass, HASHRATE) == STATE_UNAVAILABLE
    assert _state(hass, RESTART_MINING) == STATE_UNAVAILABLE


# --- actions --------------------------------------------------------------------


async def test_set_pools(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
) -> None:
    """One action for every miner: a DragonMint gets the pools as form fields."""
    device_id = _device_id(hass, init_dragonmint)
    sent = len(dragonmint.received)
    await hass.services.async_call(
        DOMAIN,
        "set_pools",
        {
            ATTR_DEVICE_ID: device_id,
            "url_1": POOL_1,
            "worker_1": "alice.t1",
            "url_2": POOL_2,
            "worker_2": "alice.t1b",
            "password_2": "p2",
        },
        blocking=True,
    )
    assert _writes(dragonmint, sent) == [
        (
            "/api/updatePools",
            {
                "Pool1": POOL_1,
                "UserName1": "alice.t1",
                "Password1": "x",
                "Pool2": POOL_2,
                "UserName2": "alice.t1b",
                "Password2": "p2",
            },
        )
    ]
    request = dragonmint.received[sent]
    assert request.json is None
    assert (request.auth, request.user) == ("basic", "admin")
    assert dragonmint.state.pools == [
        (POOL_1, "alice.t1", "x"),
        (POOL_2, "alice.t1b", "p2"),
    ]
    assert dragonmint.state.cgminer == "restarting"
    assert _state(hass, HASHRATE) == STATE_UNKNOWN


@pytest.mark.parametrize(
    ("action", "data"),
    [("set_power_percent", {"percent": 50}), ("pre_power_on", {})],
)
async def test_actions_not_supported(
    hass: HomeAssistant,
    dragonmint: DragonMintEmulator,
    init_dragonmint: MockConfigEntry,
    action: str,
    data: dict[str, Any],
) -> None:
    """No power control on T1 firmware: refused before anything is sent."""
    device_id = _device_id(hass, init_dragonmint)
    sent = len(dragonmint.received)
    with pytest.raises(
        ServiceValidationError,
        match=rf"^{DRAGONMINT_TITLE} does not support this action$",
    ) as err:
        await hass.services.async_call(
            DOMAIN, action, {ATTR_DEVICE_ID: device_id, **data}, blocking=True
        )
    assert err.value.translation_key == "not_supported_by_miner"
    assert len(dragonmint.received) == sent


# --- diagnostics ----------------------------------------------------------------


@pytest.mark.governed  # the rules shown are the defaults
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
    init_dragonmint: MockConfigEntry,
) -> None:
    """The DragonMint entry's diagnostics, without its password or MAC."""
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_dragonmint
    )
    assert diagnostics == snapshot(
        matcher=path_type({"entry.data.port": (int,), "miner.port": (int,)})
    )
    assert diagnostics["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"  # type: ignore[index]
    dumped = json.dumps(diagnostics)
    assert DRAGONMINT_PASSWORD not in dumped
    assert DRAGONMINT_UNIQUE_ID not in dumped.lower()
    assert "minerhub.t1a" not in dumped  # the pool worker
    assert diagnostics["mac_matches_unique_id"] is True
