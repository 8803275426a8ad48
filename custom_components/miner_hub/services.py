"""Actions of Miner Hub: mining, pools, power, pre-heating, payouts.

The changes go through the miner's governor; ``force: true`` bypasses it for an
emergency. They answer (when asked) whether the change was applied, held until a
time, or already so.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
import math
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_DEVICE_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
import probatio

from .budget import BudgetMiner, BudgetMode, async_apply_power_budget
from .const import CONF_KIND, DOMAIN, KIND_SPIDERPOOL
from .coordinator import MinerCoordinator
from .governor import ChangeKind, Verdict
from .helpers import translated
from .pool_coordinator import PoolCoordinator
from .protocol.models import Capability, PoolConfig, PowerPercentMode
from .protocol.validation import InvalidPool

SERVICE_SET_MINING: Final = "set_mining"
SERVICE_SET_POOLS: Final = "set_pools"
SERVICE_SET_POWER_PERCENT: Final = "set_power_percent"
SERVICE_PRE_POWER_ON: Final = "pre_power_on"
SERVICE_SET_MINIMUM_PAYMENT: Final = "set_minimum_payment"
SERVICE_SET_POWER_BUDGET: Final = "set_power_budget"

ATTR_FORCE: Final = "force"
ATTR_MINING: Final = "mining"
ATTR_PERCENT: Final = "percent"
ATTR_MODE: Final = "mode"
ATTR_AMOUNT: Final = "amount"
ATTR_POWER: Final = "power"
POOL_SLOTS: Final = (1, 2, 3)

_NON_EMPTY = probatio.All(cv.string, probatio.Length(min=1))
# Bypasses the governor: for an emergency only (it risks what the governor protects).
_FORCE: Final = {probatio.Optional(ATTR_FORCE, default=False): cv.boolean}


def _pool_fields(slot: int) -> dict[Any, Any]:
    """URL and worker of a pool go together; the password is optional."""
    if slot == 1:
        url: Any = probatio.Required(f"url_{slot}")
        worker: Any = probatio.Required(f"worker_{slot}")
    else:
        url = probatio.Inclusive(f"url_{slot}", f"pool_{slot}")
        worker = probatio.Inclusive(f"worker_{slot}", f"pool_{slot}")
    return {
        url: _NON_EMPTY,
        worker: _NON_EMPTY,
        probatio.Optional(f"password_{slot}"): cv.string,
    }


SET_POOLS_SCHEMA: Final = probatio.All(
    probatio.Schema(
        {
            probatio.Required(ATTR_DEVICE_ID): cv.string,
            **{
                key: value
                for slot in POOL_SLOTS
                for key, value in _pool_fields(slot).items()
            },
            **_FORCE,
        }
    ),
    *(probatio.RequiredWith(f"password_{slot}", f"url_{slot}") for slot in (2, 3)),
)
SET_POWER_PERCENT_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_PERCENT): probatio.All(
            probatio.Coerce(int), probatio.Range(min=0, max=100)
        ),
        probatio.Optional(ATTR_MODE, default=PowerPercentMode.NORMAL.value): (
            probatio.In([mode.value for mode in PowerPercentMode])
        ),
        **_FORCE,
    }
)
SET_MINING_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_MINING): cv.boolean,
        **_FORCE,
    }
)
PRE_POWER_ON_SCHEMA: Final = probatio.Schema(
    {probatio.Required(ATTR_DEVICE_ID): cv.string}
)


SET_POWER_BUDGET_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): probatio.All(
            cv.ensure_list, [cv.string], probatio.Length(min=1)
        ),
        # A negative or absurd budget is refused with a translated message.
        probatio.Required(ATTR_POWER): probatio.Coerce(float),
        probatio.Optional(ATTR_MODE, default=BudgetMode.PRIORITY.value): (
            probatio.In([mode.value for mode in BudgetMode])
        ),
        **_FORCE,
    }
)


def _positive_amount(value: Any) -> Decimal:
    """A positive amount of coin, exact: 0.005 stays 0.005 (not a binary float)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise probatio.Invalid("expected a positive number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise probatio.Invalid("expected a positive number") from None
    if not amount.is_finite() or amount <= 0:
        raise probatio.Invalid("expected a positive number")
    return amount


SET_MINIMUM_PAYMENT_SCHEMA: Final = probatio.Schema(
    {
        probatio.Required(ATTR_DEVICE_ID): cv.string,
        probatio.Required(ATTR_AMOUNT): _positive_amount,
    }
)


@callback
def _async_miner(
    hass: HomeAssistant, device_id: str
) -> tuple[str, MinerCoordinator | None]:
    """The name of a Miner Hub miner's device, and its coordinator once loaded."""
    device, entry = dr.async_get_device_and_config_entry_for_domain(
        hass, device_id, domain=DOMAIN
    )
    # A pool account's entry owns its own device and its workers'.
    if device is None or entry is None or entry.data.get(CONF_KIND) == KIND_SPIDERPOOL:
        raise translated(
            ServiceValidationError, "device_not_found", device_id=device_id
        )
    name = device.name_by_user or device.name or entry.title
    if entry.state is not ConfigEntryState.LOADED:
        return name, None
    coordinator: object = entry.runtime_data
    if not isinstance(coordinator, MinerCoordinator):
        raise translated(
            ServiceValidationError, "device_not_found", device_id=device_id
        )
    return name, coordinator


@callback
def _async_coordinator(call: ServiceCall, capability: Capability) -> MinerCoordinator:
    """The coordinator of the miner a call targets, if it can run the action."""
    name, coordinator = _async_miner(call.hass, call.data[ATTR_DEVICE_ID])
    if coordinator is None:
        raise translated(ServiceValidationError, "entry_not_loaded", name=name)
    if capability not in coordinator.miner.capabilities:
        raise translated(ServiceValidationError, "not_supported_by_miner", name=name)
    return coordinator


@callback
def _async_pool_coordinator(call: ServiceCall) -> PoolCoordinator:
    """The coordinator of the pool account whose device a call targets."""
    device_id: str = call.data[ATTR_DEVICE_ID]
    device, entry = dr.async_get_device_and_config_entry_for_domain(
        call.hass, device_id, domain=DOMAIN
    )
    if (
        device is None
        or entry is None
        or entry.data.get(CONF_KIND) != KIND_SPIDERPOOL
        # The account's device, not one of its workers.
        or (DOMAIN, entry.entry_id) not in device.identifiers
    ):
        raise translated(
            ServiceValidationError, "pool_account_not_found", device_id=device_id
        )
    coordinator: object = getattr(entry, "runtime_data", None)
    if entry.state is not ConfigEntryState.LOADED or not isinstance(
        coordinator, PoolCoordinator
    ):
        name = device.name_by_user or device.name or entry.title
        raise translated(ServiceValidationError, "pool_account_not_loaded", name=name)
    return coordinator


def _verdict_response(
    coordinator: MinerCoordinator, kind: ChangeKind, verdict: Verdict
) -> ServiceResponse:
    """What became of the change: applied, held (until when) or unchanged."""
    response: dict[str, Any] = {"result": verdict.value}
    for change, due in coordinator.governor.held():
        if change.kind is kind and verdict is Verdict.HELD:
            response["due"] = due.isoformat()
    return response


async def _async_set_mining(call: ServiceCall) -> ServiceResponse:
    coordinator = _async_coordinator(call, Capability.MINING_SWITCH)
    verdict = await coordinator.async_set_mining(
        call.data[ATTR_MINING], force=call.data[ATTR_FORCE]
    )
    return _verdict_response(coordinator, ChangeKind.MINING, verdict)


async def _async_set_pools(call: ServiceCall) -> ServiceResponse:
    coordinator = _async_coordinator(call, Capability.POOLS)
    pools: list[PoolConfig] = []
    for slot in POOL_SLOTS:
        if (url := call.data.get(f"url_{slot}")) is None:
            continue
        worker: str = call.data[f"worker_{slot}"]
        password: str | None = call.data.get(f"password_{slot}")
        try:
            pools.append(
                PoolConfig(url, worker)
                if password is None
                else PoolConfig(url, worker, password)
            )
        except InvalidPool as err:
            # Never echo the password; the URL and worker are not secret.
            raise translated(
                ServiceValidationError,
                f"invalid_pool_{err.field}",
                slot=str(slot),
                url=url,
                worker=worker,
            ) from err
    verdict = await coordinator.async_set_pools(pools, force=call.data[ATTR_FORCE])
    return _verdict_response(coordinator, ChangeKind.POOLS, verdict)


async def _async_set_power_percent(call: ServiceCall) -> ServiceResponse:
    coordinator = _async_coordinator(call, Capability.POWER_PERCENT)
    percent: int = call.data[ATTR_PERCENT]
    mode = PowerPercentMode(call.data[ATTR_MODE])
    verdict = await coordinator.async_set_power_percent(
        percent, mode, force=call.data[ATTR_FORCE]
    )
    return _verdict_response(coordinator, ChangeKind.POWER_PERCENT, verdict)


async def _async_set_power_budget(call: ServiceCall) -> ServiceResponse:
    budget_w: float = call.data[ATTR_POWER]
    if not math.isfinite(budget_w) or budget_w < 0:
        raise translated(
            ServiceValidationError, "invalid_power_budget", power=str(budget_w)
        )
    device_ids = dict.fromkeys(call.data[ATTR_DEVICE_ID])  # each once, first place
    miners = [
        BudgetMiner(device_id, *_async_miner(call.hass, device_id))
        for device_id in device_ids
    ]
    return await async_apply_power_budget(
        miners, budget_w, BudgetMode(call.data[ATTR_MODE]), force=call.data[ATTR_FORCE]
    )


async def _async_pre_power_on(call: ServiceCall) -> ServiceResponse:
    coordinator = _async_coordinator(call, Capability.PRE_POWER_ON)
    status = await coordinator.async_pre_power_on()
    return {"complete": status.complete, "message": status.message}


async def _async_set_minimum_payment(call: ServiceCall) -> None:
    coordinator = _async_pool_coordinator(call)
    await coordinator.async_set_minimum_payment(call.data[ATTR_AMOUNT])


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the actions (once, from async_setup)."""
    for service, handler, schema in (
        (SERVICE_SET_MINING, _async_set_mining, SET_MINING_SCHEMA),
        (SERVICE_SET_POOLS, _async_set_pools, SET_POOLS_SCHEMA),
        (SERVICE_SET_POWER_PERCENT, _async_set_power_percent, SET_POWER_PERCENT_SCHEMA),
        (SERVICE_SET_POWER_BUDGET, _async_set_power_budget, SET_POWER_BUDGET_SCHEMA),
    ):
        hass.services.async_register(
            DOMAIN,
            service,
            handler,
            schema=schema,
            supports_response=SupportsResponse.OPTIONAL,
        )
    hass.services.async_register(
        DOMAIN,
        SERVICE_PRE_POWER_ON,
        _async_pre_power_on,
        schema=PRE_POWER_ON_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_SET_MINIMUM_PAYMENT,
        _async_set_minimum_payment,
        schema=SET_MINIMUM_PAYMENT_SCHEMA,
    )
