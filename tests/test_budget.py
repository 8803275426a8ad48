"""One power budget across miners: the split (pure), and the action over TCP.

The fleet: ``garage-m30`` on API v2 (3380 W at 100 %), ``shed-m60`` on API v3
(3344 W) and a DragonMint T1 (no power control, no power report). Floors are
the default 30 %.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.budget import (
    RESUME_MARGIN,
    BudgetMode,
    Controllable,
    split_budget,
)
from custom_components.miner_hub.changes import MinerRequests
from custom_components.miner_hub.const import DOMAIN
from tests.conftest import (
    DRAGONMINT_UNIQUE_ID,
    EmulatedWhatsminer,
    device_id,
    poll,
    setup_integration,
    spiderpool_entry_data,
)
from tests.emulators import DragonMintEmulator, SpiderpoolEmulator
from tests.heating.home import HEATER, heater_entry, set_room

GARAGE_W = 3380
SHED_W = 3344
GARAGE_FLOOR_W = GARAGE_W * 0.3
SHED_FLOOR_W = SHED_W * 0.3

# --- the split ---------------------------------------------------------------------

BIG = Controllable(full_w=3400, floor_w=1020, mining=True)
SMALL = Controllable(full_w=1500, floor_w=450, mining=True)


@pytest.mark.parametrize(
    ("budget_w", "shares"),
    [
        (0, [0, 0]),
        (-50, [0, 0]),
        (1000, [0, 1000]),  # below the big one's floor: the small one takes it
        (3000, [3000, 0]),
        (3800, [3400, 0]),  # 400 W left is below the small one's floor
        (4000, [3400, 600]),
        (9000, [3400, 1500]),
    ],
)
def test_priority_fills_in_order(budget_w: float, shares: list[float]) -> None:
    assert split_budget(budget_w, [BIG, SMALL], BudgetMode.PRIORITY) == shares


@pytest.mark.parametrize(
    ("budget_w", "shares"),
    [
        (0, [0, 0]),
        (4900, [3400, 1500]),
        (2450, [1700, 750]),  # both at 50 %
        (1400, [1400, 0]),  # 29 % each is below the floors: the last one pauses
        (900, [0, 0]),  # below the big one's floor alone
        (9000, [3400, 1500]),
    ],
)
def test_even_shares_one_percent(budget_w: float, shares: list[float]) -> None:
    result = split_budget(budget_w, [BIG, SMALL], BudgetMode.EVEN)
    assert result == pytest.approx(shares)


def test_a_paused_miner_resumes_above_its_floor_with_a_margin() -> None:
    paused = Controllable(full_w=3400, floor_w=1020, mining=False)
    for mode in BudgetMode:
        assert split_budget(1100, [paused], mode) == [0]
        assert split_budget(1020 * RESUME_MARGIN, [paused], mode) == [
            pytest.approx(1122)
        ]
        assert split_budget(1100, [BIG], mode) == [1100]  # running: kept


def test_a_paused_miner_without_changes_left_stays_paused() -> None:
    """Its governor could not stop it again today: it is not started."""
    spent = Controllable(full_w=3400, floor_w=1020, mining=False, may_resume=False)
    for mode in BudgetMode:
        assert split_budget(9000, [spent, SMALL], mode) == [0, 1500]


def test_no_miners() -> None:
    for mode in BudgetMode:
        assert split_budget(1000, [], mode) == []


# --- the action --------------------------------------------------------------------


@dataclass
class Fleet:
    """The three miners, set up; their device IDs."""

    garage: EmulatedWhatsminer
    shed: EmulatedWhatsminer
    dragonmint: DragonMintEmulator
    garage_id: str
    shed_id: str
    dragonmint_id: str


@pytest.fixture
async def shed(socket_enabled: None) -> AsyncIterator[EmulatedWhatsminer]:
    async with EmulatedWhatsminer(
        "v3", hostname="shed-m60", mac="C6:07:20:00:2F:01"
    ) as miner:
        yield miner


@pytest.fixture
async def garage(socket_enabled: None) -> AsyncIterator[EmulatedWhatsminer]:
    async with EmulatedWhatsminer("v2") as miner:
        yield miner


async def _fleet(
    hass: HomeAssistant,
    garage: EmulatedWhatsminer,
    shed: EmulatedWhatsminer,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
    *,
    garage_entry: MockConfigEntry | None = None,
) -> Fleet:
    for entry in (garage_entry or garage.entry(), shed.entry(), dragonmint_entry):
        await setup_integration(hass, entry)
    return Fleet(
        garage,
        shed,
        dragonmint,
        device_id(hass, garage.mac.lower()),
        device_id(hass, shed.mac.lower()),
        device_id(hass, DRAGONMINT_UNIQUE_ID),
    )


@pytest.fixture
async def fleet(
    hass: HomeAssistant,
    garage: EmulatedWhatsminer,
    shed: EmulatedWhatsminer,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> Fleet:
    return await _fleet(hass, garage, shed, dragonmint, dragonmint_entry)


async def _budget(
    hass: HomeAssistant, device_ids: list[str], power: Any, **extra: Any
) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "set_power_budget",
        {ATTR_DEVICE_ID: device_ids, "power": power, **extra},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def _by_name(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {part["name"]: part for part in response["miners"]}


async def test_priority_on_both_apis(hass: HomeAssistant, fleet: Fleet) -> None:
    """The v2 miner runs full; 620 W is below the v3 miner's floor: it pauses."""
    ids = [fleet.garage_id, fleet.shed_id]
    response = await _budget(hass, ids, 4000)
    assert fleet.garage.state.power_percent == 100
    assert fleet.garage.state.mining
    assert not fleet.shed.state.mining
    assert response["planned"] == GARAGE_W
    assert response["left_out"] == 0
    assert _by_name(response) == {
        "garage-m30": {
            "device_id": fleet.garage_id,
            "name": "garage-m30",
            "controlled": True,
            "watts": GARAGE_W,
            "percent": 100,
            "mining": True,
            "result": "applied",  # v2 does not report its percent: sent
            "held": False,
        },
        "shed-m60": {
            "device_id": fleet.shed_id,
            "name": "shed-m60",
            "controlled": True,
            "watts": 0,
            "percent": None,
            "mining": False,
            "result": "applied",
            "held": False,
        },
    }

    # More sun: the shed resumes with what is left.
    response = await _budget(hass, ids, 5000)
    assert fleet.shed.state.mining
    assert fleet.shed.state.power_percent == round((5000 - GARAGE_W) * 100 / SHED_W)
    assert _by_name(response)["garage-m30"]["result"] == "unchanged"
    assert _by_name(response)["shed-m60"]["mining"] is True


async def test_even_runs_both_at_one_percent(hass: HomeAssistant, fleet: Fleet) -> None:
    ids = [fleet.garage_id, fleet.shed_id]
    response = await _budget(hass, ids, 4000, mode="even")
    percent = round(4000 * 100 / (GARAGE_W + SHED_W))
    assert fleet.garage.state.power_percent == percent
    assert fleet.shed.state.power_percent == percent
    assert response["planned"] == pytest.approx(4000, abs=70)

    # Too little for both above their floors: the last one pauses.
    response = await _budget(hass, ids, 1500, mode="even")
    assert fleet.garage.state.power_percent == round(1500 * 100 / GARAGE_W)
    assert not fleet.shed.state.mining


async def test_small_steps_are_not_sent(hass: HomeAssistant, fleet: Fleet) -> None:
    """A percent that moves by less than 2 points is left as it is."""
    await _budget(hass, [fleet.shed_id], 2000)
    percent = fleet.shed.state.power_percent
    sent = fleet.shed.mark()
    response = await _budget(hass, [fleet.shed_id], 2030)
    assert fleet.shed.writes(sent) == []
    assert _by_name(response)["shed-m60"]["percent"] == percent


async def test_zero_and_more_than_the_fleet(hass: HomeAssistant, fleet: Fleet) -> None:
    ids = [fleet.garage_id, fleet.shed_id]
    response = await _budget(hass, ids, 0)
    assert not fleet.garage.state.mining
    assert not fleet.shed.state.mining
    assert response["planned"] == 0

    response = await _budget(hass, ids, 50_000, mode="even")
    assert fleet.garage.state.mining
    assert fleet.shed.state.mining
    assert fleet.garage.state.power_percent == fleet.shed.state.power_percent == 100
    assert response["power"] == 50_000
    assert response["planned"] == GARAGE_W + SHED_W


async def test_a_dragonmint_is_left_out(hass: HomeAssistant, fleet: Fleet) -> None:
    """No power control and no power report: left out, counted as 0 W."""
    sent = len(fleet.dragonmint.received)
    response = await _budget(hass, [fleet.dragonmint_id, fleet.shed_id], 2000)
    dragonmint = response["miners"][0]
    assert dragonmint["controlled"] is False
    assert dragonmint["reason"] == "no_power_control"
    assert dragonmint["watts"] is None
    assert dragonmint["mining"] is True
    assert response["left_out"] == 0
    assert fleet.shed.state.power_percent == round(2000 * 100 / SHED_W)
    assert fleet.dragonmint.received[sent:] == []  # not even asked


async def test_an_unavailable_miner_is_counted_at_its_last_draw(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fleet: Fleet
) -> None:
    """It may still be mining: the others get what is left."""
    await fleet.shed.set_offline(True)
    await poll(hass, freezer)
    response = await _budget(hass, [fleet.shed_id, fleet.garage_id], 5000)
    shed = response["miners"][0]
    assert shed["reason"] == "unavailable"
    assert shed["watts"] == pytest.approx(SHED_W, abs=1)
    assert response["left_out"] == shed["watts"]
    percent = round((5000 - shed["watts"]) * 100 / GARAGE_W)
    assert fleet.garage.state.power_percent == percent


async def test_a_miner_not_loaded_is_left_out(
    hass: HomeAssistant, garage: EmulatedWhatsminer, shed: EmulatedWhatsminer
) -> None:
    """Unreachable since Home Assistant started: its entry retries, 0 W known."""
    await garage.set_offline(True)
    garage_entry = garage.entry()
    garage_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(garage_entry.entry_id)
    assert garage_entry.state is ConfigEntryState.SETUP_RETRY
    # Its device, as the miner's earlier runs left it in the registry.
    garage_id = (
        dr.async_get(hass)
        .async_get_or_create(
            config_entry_id=garage_entry.entry_id,
            identifiers={(DOMAIN, garage.mac.lower())},
            name="garage-m30",
        )
        .id
    )
    await setup_integration(hass, shed.entry())
    shed_id = device_id(hass, shed.mac.lower())
    response = await _budget(hass, [garage_id, shed_id], 2000)
    assert response["miners"][0] == {
        "device_id": garage_id,
        "name": "garage-m30",
        "controlled": False,
        "reason": "unavailable",
        "watts": None,
        "mining": None,
    }
    assert shed.state.power_percent == round(2000 * 100 / SHED_W)


async def test_full_power_not_known_yet(
    hass: HomeAssistant,
    garage: EmulatedWhatsminer,
    shed: EmulatedWhatsminer,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """Never seen mining: what it would draw is not known, so it is left out."""
    shed.state.mining = False
    fleet = await _fleet(hass, garage, shed, dragonmint, dragonmint_entry)
    response = await _budget(hass, [fleet.shed_id, fleet.garage_id], 2000)
    assert response["miners"][0]["reason"] == "full_power_unknown"
    assert not fleet.shed.state.mining


async def test_a_heating_miner_is_left_to_its_heater(
    hass: HomeAssistant,
    garage: EmulatedWhatsminer,
    shed: EmulatedWhatsminer,
    dragonmint: DragonMintEmulator,
    dragonmint_entry: MockConfigEntry,
) -> None:
    """The heater wins: the budget counts the miner's draw and sets the others."""
    set_room(hass, 15)
    fleet = await _fleet(
        hass,
        garage,
        shed,
        dragonmint,
        dragonmint_entry,
        garage_entry=heater_entry(garage),
    )
    await hass.services.async_call(
        "climate",
        "set_temperature",
        {"entity_id": HEATER, "temperature": 21, "hvac_mode": "heat"},
        blocking=True,
    )
    sent = fleet.garage.mark()
    response = await _budget(hass, [fleet.garage_id, fleet.shed_id], 5000)
    garage_part = response["miners"][0]
    assert garage_part["reason"] == "heating"
    assert fleet.garage.writes(sent) == []
    assert hass.states.get(HEATER).state == "heat"
    left = 5000 - garage_part["watts"]
    assert fleet.shed.state.power_percent == round(left * 100 / SHED_W)

    # Heater off: the budget sets the garage again.
    await hass.services.async_call(
        "climate", "turn_off", {"entity_id": HEATER}, blocking=True
    )
    response = await _budget(hass, [fleet.garage_id, fleet.shed_id], 5000)
    assert response["miners"][0]["controlled"] is True


async def test_lower_first_then_raise(hass: HomeAssistant, fleet: Fleet) -> None:
    """Moving power from one miner to another: the one that gives goes first."""
    ids = [fleet.garage_id, fleet.shed_id]
    await _budget(hass, ids, 4000, mode="even")
    order: list[int | None] = []
    run_at = MinerRequests.async_run_at

    async def record(self: MinerRequests, percent: int | None, **kw: Any) -> Any:
        order.append(percent)
        return await run_at(self, percent, **kw)

    with patch.object(MinerRequests, "async_run_at", record):
        # Priority now: the shed (first) takes more, the garage gives.
        await _budget(hass, [fleet.shed_id, fleet.garage_id], 4000)
    assert order == [None, 100]  # 656 W is below the garage's floor: it pauses


@pytest.mark.governed
async def test_held_pauses_and_resumes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fleet: Fleet
) -> None:
    """A resume too soon after a pause waits for the governor; the plan says so."""
    await _budget(hass, [fleet.shed_id], 0)
    assert not fleet.shed.state.mining
    response = await _budget(hass, [fleet.shed_id], 3000)
    part = response["miners"][0]
    assert part["held"] is True
    assert part["result"] == "held"
    assert not fleet.shed.state.mining
    await poll(hass, freezer, 10 * 60)
    assert fleet.shed.state.mining

    # A pause that must wait leaves the miner at its floor meanwhile.
    response = await _budget(hass, [fleet.shed_id], 0)
    assert response["miners"][0]["held"] is True
    assert fleet.shed.state.mining
    assert fleet.shed.state.power_percent == 30


@pytest.mark.governed
async def test_no_resume_with_the_last_changes_of_the_day(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fleet: Fleet
) -> None:
    """Started with one change left, it could not be stopped before tomorrow."""
    await _budget(hass, [fleet.shed_id], 0)
    governor = hass.config_entries.async_entries(DOMAIN)[1].runtime_data.governor
    now = dt_util.utcnow()
    governor.ledger.applied = [now - timedelta(hours=h) for h in range(11, 0, -1)]
    await poll(hass, freezer, 10 * 60)
    assert governor.disruptive_left() == 1
    response = await _budget(hass, [fleet.shed_id], 3000)
    assert response["miners"][0]["mining"] is False
    assert not fleet.shed.state.mining


@pytest.mark.parametrize("power", [-1, "-0.5", float("nan"), float("inf")])
async def test_bad_budgets_are_refused(
    hass: HomeAssistant, fleet: Fleet, power: Any
) -> None:
    with pytest.raises(ServiceValidationError) as raised:
        await _budget(hass, [fleet.garage_id], power)
    assert raised.value.translation_key == "invalid_power_budget"
    assert fleet.garage.state.mining


async def test_not_a_number(hass: HomeAssistant, fleet: Fleet) -> None:
    with pytest.raises(probatio.Invalid):
        await _budget(hass, [fleet.garage_id], "lots")


async def test_not_a_miner(
    hass: HomeAssistant, fleet: Fleet, spiderpool: SpiderpoolEmulator
) -> None:
    """An unknown device, another integration's, or a pool account: refused."""
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=fleet_entry_id(hass), identifiers={("other", "x")}
    )
    pool = await setup_integration(
        hass,
        MockConfigEntry(
            domain=DOMAIN,
            unique_id="btc_homeminer",
            data=spiderpool_entry_data(spiderpool),
        ),
    )
    pool_device = device_id(hass, pool.entry_id)
    for not_a_miner in ("no-such-device", other.id, pool_device):
        with pytest.raises(ServiceValidationError) as raised:
            await _budget(hass, [fleet.garage_id, not_a_miner], 1000)
        assert raised.value.translation_key == "device_not_found"
    assert fleet.garage.state.mining  # nothing was applied


def fleet_entry_id(hass: HomeAssistant) -> str:
    """Any config entry of another domain, to hang a foreign device on."""
    entry = MockConfigEntry(domain="other")
    entry.add_to_hass(hass)
    return entry.entry_id


async def test_a_miner_that_refuses_is_reported_the_others_go_on(
    hass: HomeAssistant, fleet: Fleet
) -> None:
    """Its write API is off: its part says why; the other miner is still set."""
    fleet.shed.state.write_api_enabled = False
    response = await _budget(hass, [fleet.shed_id, fleet.garage_id], 4000, mode="even")
    shed, garage = response["miners"]
    assert shed["result"] == "error"
    assert "write API is switched off" in shed["error"]
    assert shed["held"] is False
    assert garage["result"] == "applied"
    assert fleet.garage.state.power_percent == garage["percent"]
