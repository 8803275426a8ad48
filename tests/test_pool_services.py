"""The miner_hub.set_minimum_payment action, against the emulated Spiderpool API."""

from __future__ import annotations

from decimal import Decimal
import json
import re
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import ATTR_DEVICE_ID, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.service import async_get_all_descriptions
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import DOMAIN
from custom_components.miner_hub.pool_coordinator import PoolCoordinator
from tests.conftest import (
    MINER_UNIQUE_ID,
    POOL_UNIQUE_ID,
    only_platforms,
    setup_integration,
)
from tests.emulators import SpiderpoolEmulator, WhatsminerV2Emulator
from tests.emulators.spiderpool import generate_key_pair

pytestmark = [
    pytest.mark.freeze_time("2026-10-01T12:00:00+00:00"),
    pytest.mark.usefixtures("pool_clock"),
]

ACTION = "set_minimum_payment"
UPDATE_PATH = "/v2/subaccount/updateUserMinimumPayment"
MINIMUM_PAYMENT = "sensor.homeminer_btc_minimum_payment"


@pytest.fixture
async def account_id(hass: HomeAssistant, spiderpool_entry: MockConfigEntry) -> str:
    """The device of the emulated account, set up."""
    await setup_integration(hass, spiderpool_entry)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, spiderpool_entry.entry_id), spiderpool_entry.entry_id
    )
    assert device is not None
    return device.id


async def _call(hass: HomeAssistant, data: dict[str, Any]) -> None:
    await hass.services.async_call(DOMAIN, ACTION, data, blocking=True)


def _writes(spiderpool: SpiderpoolEmulator) -> list[Any]:
    return [r for r in spiderpool.received if r.path == UPDATE_PATH]


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (0.005, "0.005"),
        ("0.0042", "0.0042"),
        (1, "1.0"),
        (Decimal("0.00123456"), "0.00123456"),
    ],
    ids=["float", "text", "integer", "decimal"],
)
async def test_set_minimum_payment(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    account_id: str,
    amount: Any,
    sent: str,
) -> None:
    """The pool gets the amount; the sensor shows it after the refresh."""
    before = hass.states.get(MINIMUM_PAYMENT)
    assert before is not None
    assert before.state == "0.001"
    await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": amount})
    await hass.async_block_till_done()
    expected = Decimal(sent)
    assert spiderpool.subaccount.minimum_payment == expected
    (write,) = _writes(spiderpool)
    assert write.verdict == "ok"
    assert write.data_json == (
        f'{{"coin":"btc","subaccount":"homeminer","minimumPay":{sent}}}'
    )
    assert json.loads(write.data_json) == {
        "coin": "btc",
        "subaccount": "homeminer",
        "minimumPay": float(sent),
    }
    # The refresh after the write re-read the minimum payment.
    paths = [r.path for r in spiderpool.received]
    assert "/v2/subaccount/getUserMinimumPayment" in paths[paths.index(UPDATE_PATH) :]
    state = hass.states.get(MINIMUM_PAYMENT)
    assert state is not None
    assert Decimal(state.state) == expected


@pytest.mark.parametrize(
    "amount",
    [0, -0.001, "0", "abc", "", "nan", "inf", "-inf", True, None, [0.001]],
)
async def test_invalid_amount(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, account_id: str, amount: Any
) -> None:
    sent = len(spiderpool.received)
    with pytest.raises(probatio.Invalid):
        await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": amount})
    assert len(spiderpool.received) == sent


async def test_amount_required(hass: HomeAssistant, account_id: str) -> None:
    with pytest.raises(probatio.Invalid):
        await _call(hass, {ATTR_DEVICE_ID: account_id})


async def test_refused_by_the_pool(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, account_id: str
) -> None:
    """An amount outside the pool's range: the pool's parameter error."""
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": 1000})
    assert err.value.translation_key == "pool_rejected"
    assert err.value.translation_placeholders == {"error": "Parameter error"}
    assert spiderpool.subaccount.minimum_payment == Decimal("0.001")
    assert _writes(spiderpool)[-1].code == "INVALID_PARAM"


async def test_rate_limited(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, account_id: str
) -> None:
    spiderpool.faults.rate_limit = True
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": 0.002})
    assert err.value.translation_key == "rate_limited_pool"
    assert spiderpool.subaccount.minimum_payment == Decimal("0.001")


async def test_rejected_keys_start_reauth(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    account_id: str,
) -> None:
    spiderpool.account.public_key = generate_key_pair(4242).public_key()
    with pytest.raises(HomeAssistantError) as err:
        await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": 0.002})
    assert err.value.translation_key == "pool_auth_failed"
    assert _writes(spiderpool)[-1].verdict == "bad_signature"
    await hass.async_block_till_done()
    flows = list(spiderpool_entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1


async def test_coordinator_refuses_a_non_positive_amount(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    account_id: str,
) -> None:
    """The client's own check, for callers that skip the action's schema."""
    coordinator = spiderpool_entry.runtime_data
    assert isinstance(coordinator, PoolCoordinator)
    with pytest.raises(ServiceValidationError) as err:
        await coordinator.async_set_minimum_payment(Decimal(0))
    assert err.value.translation_key == "pool_rejected"
    assert not _writes(spiderpool)


# --- which account --------------------------------------------------------------


async def test_unknown_device(
    hass: HomeAssistant, spiderpool: SpiderpoolEmulator, account_id: str
) -> None:
    with pytest.raises(
        ServiceValidationError,
        match=r"^nowhere is not a Spiderpool account of Miner Hub$",
    ) as err:
        await _call(hass, {ATTR_DEVICE_ID: "nowhere", "amount": 0.002})
    assert err.value.translation_key == "pool_account_not_found"
    assert not _writes(spiderpool)


async def test_worker_device(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    account_id: str,
) -> None:
    """A worker's device is not the account."""
    worker = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"{POOL_UNIQUE_ID}_s21-01"), spiderpool_entry.entry_id
    )
    assert worker is not None
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, {ATTR_DEVICE_ID: worker.id, "amount": 0.002})
    assert err.value.translation_key == "pool_account_not_found"
    assert not _writes(spiderpool)


async def test_miner_device(
    hass: HomeAssistant,
    spiderpool: SpiderpoolEmulator,
    whatsminer: WhatsminerV2Emulator,
    mock_config_entry: MockConfigEntry,
    account_id: str,
) -> None:
    """A miner of Miner Hub is no pool account."""
    with only_platforms(Platform.SENSOR):
        await setup_integration(hass, mock_config_entry)
    miner = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, MINER_UNIQUE_ID), mock_config_entry.entry_id
    )
    assert miner is not None
    with pytest.raises(
        ServiceValidationError,
        match=rf"^{miner.id} is not a Spiderpool account of Miner Hub$",
    ):
        await _call(hass, {ATTR_DEVICE_ID: miner.id, "amount": 0.002})
    assert not _writes(spiderpool)


async def test_device_of_another_integration(
    hass: HomeAssistant, account_id: str
) -> None:
    other = MockConfigEntry(domain="other")
    other.add_to_hass(hass)
    lamp = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("other", "lamp")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, {ATTR_DEVICE_ID: lamp.id, "amount": 0.002})
    assert err.value.translation_key == "pool_account_not_found"


@pytest.mark.parametrize(
    ("name_by_user", "shown"),
    [(None, "homeminer (BTC)"), ("Family pool", "Family pool")],
)
async def test_account_not_loaded(
    hass: HomeAssistant,
    *,
    spiderpool: SpiderpoolEmulator,
    spiderpool_entry: MockConfigEntry,
    account_id: str,
    name_by_user: str | None,
    shown: str,
) -> None:
    dr.async_get(hass).async_update_device(account_id, name_by_user=name_by_user)
    assert await hass.config_entries.async_unload(spiderpool_entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(
        ServiceValidationError,
        match=rf"^The Spiderpool account {re.escape(shown)} is not loaded$",
    ) as err:
        await _call(hass, {ATTR_DEVICE_ID: account_id, "amount": 0.002})
    assert err.value.translation_key == "pool_account_not_loaded"
    assert not _writes(spiderpool)


async def test_action_offers_only_account_devices(
    hass: HomeAssistant, account_id: str
) -> None:
    """The device selector's filter matches the account device, not its workers."""
    described = (await async_get_all_descriptions(hass))[DOMAIN][ACTION]
    (device_filter,) = described["fields"]["device_id"]["selector"]["device"]["filter"]
    account = dr.async_get(hass).async_get(account_id)
    assert account is not None
    assert device_filter == {
        "integration": DOMAIN,
        "manufacturer": account.manufacturer,
        "model": account.model,
    }
