"""The power target in W, against the emulated Whatsminer (API v2 and v3) over TCP."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.number import (
    ATTR_MAX,
    ATTR_MIN,
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import (
    FULL_POWER_SAVE_DELAY_S,
    full_power_store_key,
)
from custom_components.miner_hub.power import SETTLE
from tests.conftest import (
    V2_ONLY,
    EmulatedWhatsminer,
    only_platforms,
    poll,
    setup_integration,
)

TARGET = "number.garage_m30_power_target"
PERCENT = "number.garage_m30_power_percent"
HELD = "sensor.garage_m30_held_change"


def _state(hass: HomeAssistant, entity_id: str = TARGET) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


async def _set(hass: HomeAssistant, watts: float) -> None:
    await hass.services.async_call(
        NUMBER_DOMAIN,
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: TARGET, ATTR_VALUE: watts},
        blocking=True,
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    with only_platforms(Platform.NUMBER, Platform.SENSOR):
        await setup_integration(hass, entry)


async def test_range_and_state_come_from_the_miner(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Full power is learned from the first report; a target becomes a percent."""
    miner = any_whatsminer
    full_w = miner.power_w()
    await _setup(hass, any_miner_entry)
    state = _state(hass)
    assert float(state.state) == full_w
    assert state.attributes[ATTR_MAX] == full_w
    assert state.attributes[ATTR_MIN] == round(full_w * 0.3)  # the floor, 30 %

    sent = miner.mark()
    await _set(hass, 2000)
    percent = round(2000 * 100 / full_w)
    assert miner.writes(sent) == [miner.write("power_percent", percent)]
    assert float(_state(hass).state) == round(full_w * percent / 100)
    assert _state(hass, PERCENT).state == str(percent)

    # Settled: the miner's reports confirm the estimate.
    await poll(hass, freezer, SETTLE.total_seconds())
    assert miner.power_w() == pytest.approx(full_w * percent / 100, abs=1)
    assert _state(hass).attributes[ATTR_MAX] == pytest.approx(full_w, abs=1)


async def test_targets_outside_the_range_are_refused(
    hass: HomeAssistant,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    await _setup(hass, any_miner_entry)
    sent = any_whatsminer.mark()
    for watts in (100, 99_000):
        with pytest.raises(ServiceValidationError, match="outside valid range"):
            await _set(hass, watts)
    assert any_whatsminer.writes(sent) == []


async def test_unavailable_until_the_full_power_is_known(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """A miner that does not mine yet tells nothing about its full power."""
    any_whatsminer.state.mining = False
    await _setup(hass, any_miner_entry)
    assert _state(hass).state == STATE_UNAVAILABLE
    with pytest.raises(HomeAssistantError) as raised:
        await any_miner_entry.runtime_data.async_set_power_target(2000)
    assert raised.value.translation_key == "full_power_unknown"

    any_whatsminer.state.mining = True
    await poll(hass, freezer)
    assert float(_state(hass).state) == any_whatsminer.power_w()


async def test_zero_while_not_mining(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Stopped, the miner draws toward nothing; the range stays as learned."""
    full_w = any_whatsminer.power_w()
    await _setup(hass, any_miner_entry)
    any_whatsminer.state.mining = False  # stopped elsewhere
    await poll(hass, freezer)
    state = _state(hass)
    assert state.state == "0"
    assert state.attributes[ATTR_MAX] == full_w


@V2_ONLY
async def test_a_wrong_first_guess_is_corrected(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """API v2 does not report its percent: Miner Hub first assumes 100 %.

    Set to 80 % elsewhere, the miner looks like a smaller one until the first
    change settles; then its reports bring the estimate back to the truth.
    """
    miner = any_whatsminer
    full_w = miner.power_w()
    miner.state.power_percent = 80
    await _setup(hass, any_miner_entry)
    assert _state(hass).attributes[ATTR_MAX] == pytest.approx(full_w * 0.8, abs=1)

    await _set(hass, 2000)
    for _ in range(6):
        await poll(hass, freezer, SETTLE.total_seconds())
    assert _state(hass).attributes[ATTR_MAX] == pytest.approx(full_w, rel=0.01)
    await _set(hass, 2000)
    assert miner.power_w() == pytest.approx(2000, rel=0.01)


@pytest.mark.governed
async def test_goes_through_the_governor(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Watts are power percent underneath: spaced like every percent change."""
    miner = any_whatsminer
    full_w = miner.power_w()
    await _setup(hass, any_miner_entry)
    await _set(hass, 2000)
    await _set(hass, 3000)
    assert miner.state.power_percent == round(2000 * 100 / full_w)
    assert _state(hass, HELD).state == "power_percent"
    await poll(hass, freezer, 2 * 60)
    assert miner.state.power_percent == round(3000 * 100 / full_w)
    assert _state(hass, HELD).state == "none"


async def test_full_power_is_kept_across_restarts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    """Paused overnight, a miner can still be given watts after a restart."""
    full_w = any_whatsminer.power_w()
    await _setup(hass, any_miner_entry)
    await poll(hass, freezer, FULL_POWER_SAVE_DELAY_S)
    key = full_power_store_key(any_miner_entry.entry_id)
    assert hass_storage[key]["data"] == {"watts": full_w}

    assert await hass.config_entries.async_unload(any_miner_entry.entry_id)
    any_whatsminer.state.mining = False  # paused while Home Assistant was down
    assert await hass.config_entries.async_setup(any_miner_entry.entry_id)
    await hass.async_block_till_done()
    state = _state(hass)
    assert state.state == "0"
    assert state.attributes[ATTR_MAX] == full_w

    # Removing the miner forgets it.
    assert await hass.config_entries.async_remove(any_miner_entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


async def test_an_unreadable_full_power_is_learned_again(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    any_whatsminer: EmulatedWhatsminer,
    any_miner_entry: MockConfigEntry,
) -> None:
    key = full_power_store_key(any_miner_entry.entry_id)
    hass_storage[key] = {"version": 1, "key": key, "data": {"watts": "lots"}}
    any_whatsminer.state.mining = False
    await _setup(hass, any_miner_entry)
    assert _state(hass).state == STATE_UNAVAILABLE
