"""Diagnostics of a miner, over real TCP against the Whatsminer emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.matchers import path_type

from custom_components.miner_hub.governor import Verdict
from custom_components.miner_hub.protocol.models import PoolConfig
from tests.conftest import (
    APIS,
    MINER_PASSWORD,
    MINER_UNIQUE_ID,
    EmulatedWhatsminer,
    setup_integration,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
# Values that change from run to run: the emulator's ports and the token's age.
VOLATILE = path_type(
    {
        "entry.data.port": (int,),
        "entry.data.v3_port": (int,),
        "miner.port": (int,),
        "miner.token_age_s": (int,),
    }
)


@pytest.fixture(autouse=True)
def frozen_time(freezer: FrozenDateTimeFactory) -> None:
    """A fixed time, before any access token is issued."""
    freezer.move_to(NOW)


@pytest.fixture(params=APIS)
async def any_whatsminer(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncIterator[EmulatedWhatsminer]:
    """The conftest miner on API v2, then v3, on a clock that stands still.

    Replies are then repeatable (uptimes, boot times). The v3 client signs its
    writes with the miner's clock, so it stays months away from Home Assistant's.
    """
    miner = EmulatedWhatsminer(request.param)
    miner.emulator.now = NOW.timestamp
    miner.state.error_codes = [("531", "2026-05-01 11:58:02")]
    async with miner:
        yield miner


@pytest.mark.governed  # the rules shown are the defaults
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_any_integration: MockConfigEntry,
    any_whatsminer: EmulatedWhatsminer,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_any_integration
    )
    assert diagnostics == snapshot(matcher=VOLATILE)

    dumped = json.dumps(diagnostics)
    state = any_whatsminer.state
    assert MINER_PASSWORD not in dumped
    assert MINER_UNIQUE_ID not in dumped.lower()
    assert state.salt not in dumped  # v2 key salt, v3 token salt
    assert state.miner_sn not in dumped
    assert state.power_sn not in dumped
    assert "microbtinitial" not in dumped  # the pool worker
    assert diagnostics["mac_matches_unique_id"] is True
    # Which API and client: the entry stores it, the miner section names it.
    api = any_whatsminer.api
    assert diagnostics["entry"]["data"]["api"] == api  # type: ignore[index]
    assert diagnostics["miner"]["api"] == f"whatsminer_{api}"  # type: ignore[index]


async def test_diagnostics_pool_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Credentials in a pool URL and worker names stay out of the report."""
    mock_config_entry = any_miner_entry
    any_whatsminer.state.pools = [
        ("stratum+tcp://alice:hunter2@pool.example.com:3333", "alice.rig1", "x"),
        ("stratum+tcp://backup.example.com:443", "bc1qwalletaddress.rig1", "x"),
    ]
    await setup_integration(hass, mock_config_entry)

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    pools = diagnostics["data"]["status"]["pools"]  # type: ignore[index]
    assert [(pool["url"], pool["user"]) for pool in pools] == [  # type: ignore[index]
        ("stratum+tcp://**REDACTED**@pool.example.com:3333", "**REDACTED**"),
        ("stratum+tcp://backup.example.com:443", "**REDACTED**"),
    ]
    dumped = json.dumps(diagnostics)
    for secret in ("alice", "hunter2", "bc1qwalletaddress", MINER_PASSWORD):
        assert secret not in dumped


@pytest.mark.governed
async def test_diagnostics_held_pools(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_any_integration: MockConfigEntry,
) -> None:
    """A held pool change shows its URL, never its worker or password."""
    coordinator = init_any_integration.runtime_data
    first = PoolConfig("stratum+tcp://first.example.com:3333", "bob.rig1", "x")
    held = PoolConfig("stratum+tcp://pool.example.com:3333", "alice.rig1", "s3cret")
    assert await coordinator.async_set_pools([first]) is Verdict.APPLIED
    assert await coordinator.async_set_pools([held]) is Verdict.HELD

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, init_any_integration
    )
    governor = diagnostics["governor"]
    assert governor["changes_last_day"] == 1  # type: ignore[index]
    assert governor["held"] == [  # type: ignore[index]
        {
            "kind": "pools",
            "value": ["stratum+tcp://pool.example.com:3333"],
            "requested_at": NOW.isoformat(),
            "due": (NOW + timedelta(minutes=10)).isoformat(),
        }
    ]
    dumped = json.dumps(diagnostics)
    for secret in ("alice", "s3cret"):
        assert secret not in dumped


async def test_diagnostics_write_api_disabled_and_failed_poll(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The write access state and a failed poll are reported; the last data stays."""
    mock_config_entry = any_miner_entry
    any_whatsminer.state.write_api_enabled = False
    await setup_integration(hass, mock_config_entry)

    await any_whatsminer.set_offline(True)
    freezer.tick(timedelta(seconds=30))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(
        hass, hass_client, mock_config_entry
    )
    assert diagnostics["write_access"] == "disabled"
    coordinator = diagnostics["coordinator"]
    assert coordinator["last_update_success"] is False  # type: ignore[index]
    assert "UpdateFailed" in coordinator["last_exception"]  # type: ignore[index]
    assert coordinator["update_interval_s"] == 30  # type: ignore[index]
    assert diagnostics["data"]["status"]["mining"] is True  # type: ignore[index]
    assert MINER_PASSWORD not in json.dumps(diagnostics)
