"""Sensors of miners, their hashboards, pool accounts and their workers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any, Final

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    Platform,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfRatio,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import MinerHubConfigEntry
from .const import CONF_KIND, DOMAIN, KIND_DRAGONMINT, KIND_WHATSMINER
from .coordinator import MinerCoordinator, MinerData
from .energy import MinerEnergySensorEntity
from .entity import (
    Reported,
    async_add_reported_entities,
    async_add_worker_entities,
    miner_coordinator,
    on_board,
    pool_coordinator,
)
from .governor import Change, ChangeKind, CommandGovernor, shown_value
from .helpers import pool_address, without_url_credentials
from .money_sensor import new_money_sensors
from .pool_coordinator import PoolData
from .protocol.models import Capability, HashboardStatus, PowerMode
from .protocol.spiderpool.models import Worker
from .repairs import async_offer_removal
from .sensor_entity import (
    COUNT,
    DIAGNOSTIC,
    HASHRATE,
    MONEY,
    POWER,
    RPM,
    TEMPERATURE,
    WHOLE,
    MinerBoardSensorEntity,
    MinerGovernorSensorEntity,
    MinerHubSensorEntityDescription,
    MinerSensorEntity,
    PoolSensorEntity,
    SensorValue,
    Shape,
    WorkerSensorEntity,
)

# The coordinator fetches the data; entities only read it.
PARALLEL_UPDATES = 0


def _sensor[S](
    key: str,
    value_fn: Callable[[S], SensorValue],
    shape: Shape | None = None,
    **options: Any,
) -> MinerHubSensorEntityDescription[S]:
    """A sensor named by ``key``, of a shape; its own options win over the shape's."""
    return MinerHubSensorEntityDescription(
        key=key, translation_key=key, value_fn=value_fn, **{**(shape or {}), **options}
    )


def _error_attributes(data: MinerData) -> dict[str, Any]:
    """The active errors: codes, since when (the miner's local time), reasons."""
    errors = data.errors or ()
    return {"codes": [e.code for e in errors], "errors": [asdict(e) for e in errors]}


def _active_pool_attributes(data: MinerData) -> dict[str, Any] | None:
    """The active pool's whole URL (credentials in it hidden)."""
    if (pool := data.status.active_pool) is None:
        return None
    return {"url": without_url_credentials(pool.url)}


def _held_key(change: Change) -> str:
    if change.kind is ChangeKind.MINING:
        return "mining_on" if change.value else "mining_off"
    return change.kind.value


HELD_CHANGE_OPTIONS: Final = [
    "none",
    "mining_on",
    "mining_off",
    *(kind.value for kind in ChangeKind if kind is not ChangeKind.MINING),
]


def _held_attributes(governor: CommandGovernor) -> dict[str, Any]:
    """When the next held change is due, and every change held (no passwords)."""
    held = governor.held()
    return {
        "due": held[0][1] if held else None,
        "changes": [
            {"change": _held_key(change), "value": shown_value(change), "due": due}
            for change, due in held
        ],
    }


def _last_day_attributes(data: PoolData) -> dict[str, Any] | None:
    """The day it was earned on and what earned it."""
    if (day := data.last_day) is None:
        return None
    return {
        "day": day.day.date().isoformat(),
        # A float: attributes are sent as JSON, which has no Decimal.
        "profit": None if day.profit is None else float(day.profit),
        "hashrate_ths": day.avg_hashrate_ths,
    }


def _last_payment_attributes(data: PoolData) -> dict[str, Any] | None:
    if (payment := data.last_payment) is None:
        return None
    return {"time": payment.time, "transaction_id": payment.tx_id}


SENSORS: tuple[MinerHubSensorEntityDescription[MinerData], ...] = (
    _sensor("hashrate", lambda data: data.status.hashrate_ths, HASHRATE),
    _sensor("power", lambda data: data.status.power_w, POWER),
    _sensor(
        "efficiency",
        # Undefined while the miner does not hash.
        lambda data: (
            data.status.efficiency_j_per_th if data.status.hashrate_ths else None
        ),
        native_unit_of_measurement="J/TH",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        exists_fn=lambda data: data.status.efficiency_j_per_th is not None,
    ),
    _sensor(
        "power_limit",
        lambda data: data.status.power_limit_w,
        POWER,
        state_class=None,  # a setting, not a measurement
        entity_category=DIAGNOSTIC,
        shown_by=Capability.POWER_LIMIT,
    ),
    _sensor("temperature", lambda data: data.status.temperature_c, TEMPERATURE),
    _sensor(
        "environment_temperature",
        lambda data: data.status.environment_temperature_c,
        TEMPERATURE,
    ),
    _sensor(
        "chip_temperature_max", lambda data: data.status.chip_temp_max_c, TEMPERATURE
    ),
    _sensor(
        "chip_temperature_avg", lambda data: data.status.chip_temp_avg_c, TEMPERATURE
    ),
    _sensor("fan_speed_in", lambda data: data.status.fan_speed_in_rpm, RPM),
    _sensor("fan_speed_out", lambda data: data.status.fan_speed_out_rpm, RPM),
    _sensor(
        "fan_duty",
        lambda data: data.status.fan_duty_pct,
        WHOLE,
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
    ),
    _sensor(
        "power_mode",
        lambda data: None if (mode := data.status.power_mode) is None else mode.value,
        device_class=SensorDeviceClass.ENUM,
        options=[mode.value for mode in PowerMode],
        shown_by=Capability.POWER_MODE,
    ),
    _sensor(
        "uptime",
        lambda data: data.booted_at,
        device_class=SensorDeviceClass.UPTIME,
        entity_category=DIAGNOSTIC,
    ),
    _sensor(
        "accepted_shares",
        lambda data: data.status.accepted_shares,
        COUNT,
        entity_registry_enabled_default=False,
    ),
    _sensor(
        "rejected_shares",
        lambda data: data.status.rejected_shares,
        COUNT,
        entity_registry_enabled_default=False,
    ),
    # A health signal (a failing board errs), so enabled, unlike the shares.
    _sensor("hardware_errors", lambda data: data.status.hardware_errors, COUNT),
    _sensor(
        "active_pool",
        # host:port reads well on a device page; the whole URL is an attribute.
        lambda data: (
            None
            if (pool := data.status.active_pool) is None
            else pool_address(pool.url)
        ),
        entity_category=DIAGNOSTIC,
        exists_fn=lambda data: bool(data.status.pools),
        attributes_fn=_active_pool_attributes,
    ),
    _sensor(
        "error_codes",
        lambda data: None if data.errors is None else len(data.errors),
        WHOLE,
        entity_category=DIAGNOSTIC,
        attributes_fn=_error_attributes,
    ),
    _sensor(
        "psu_temperature",
        lambda data: None if (psu := data.power_supply) is None else psu.temperature_c,
        TEMPERATURE,
        entity_category=DIAGNOSTIC,
    ),
    _sensor(
        "psu_fan_speed",
        lambda data: None if (psu := data.power_supply) is None else psu.fan_speed_rpm,
        RPM,
        entity_category=DIAGNOSTIC,
    ),
    _sensor(
        "psu_input_voltage",
        lambda data: (
            None if (psu := data.power_supply) is None else psu.input_voltage_v
        ),
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        entity_category=DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
    _sensor(
        "psu_input_current",
        lambda data: (
            None if (psu := data.power_supply) is None else psu.input_current_a
        ),
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        entity_category=DIAGNOSTIC,
        entity_registry_enabled_default=False,
    ),
)

# What the governor holds, and how much it let through: why a change has not
# happened yet, and how often the miner restarted.
GOVERNOR_SENSORS: tuple[MinerHubSensorEntityDescription[CommandGovernor], ...] = (
    _sensor(
        "held_change",
        lambda governor: _held_key(held[0][0]) if (held := governor.held()) else "none",
        device_class=SensorDeviceClass.ENUM,
        options=HELD_CHANGE_OPTIONS,
        entity_category=DIAGNOSTIC,
        attributes_fn=_held_attributes,
    ),
    _sensor(
        "disruptive_changes",
        lambda governor: governor.changes_last_day(),
        WHOLE,
        entity_category=DIAGNOSTIC,
    ),
)

ENERGY_SENSOR = SensorEntityDescription(
    key="energy",
    translation_key="energy",
    device_class=SensorDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    state_class=SensorStateClass.TOTAL_INCREASING,
    suggested_display_precision=2,
)

BOARD_SENSORS: tuple[MinerHubSensorEntityDescription[HashboardStatus], ...] = (
    _sensor("board_hashrate", lambda board: board.hashrate_ths, HASHRATE),
    _sensor("board_temperature", lambda board: board.temperature_c, TEMPERATURE),
    _sensor(
        "board_chip_temperature_max",
        lambda board: board.chip_temp_max_c,
        TEMPERATURE,
        entity_registry_enabled_default=False,
    ),
    # Enabled: a dead board is what a user wants to see. Whatsminer boards report
    # it too, but it would add entities to existing Whatsminer devices.
    _sensor(
        "board_status",
        lambda board: None if board.alive is None else ("dead", "alive")[board.alive],
        device_class=SensorDeviceClass.ENUM,
        options=["alive", "dead"],
        entity_category=DIAGNOSTIC,
        kinds=frozenset({KIND_DRAGONMINT}),
    ),
)

ACCOUNT_SENSORS: tuple[MinerHubSensorEntityDescription[PoolData], ...] = (
    _sensor("hashrate", lambda data: data.info.hashrate_ths, HASHRATE),
    _sensor("hashrate_24h", lambda data: data.info.hashrate_24h_ths, HASHRATE),
    _sensor("active_workers", lambda data: data.info.active_workers, WHOLE),
    _sensor("inactive_workers", lambda data: data.info.inactive_workers, WHOLE),
    # Yesterday's profit and today's estimate are amounts of one day, not
    # totals: no state class (MONETARY allows only TOTAL or none).
    _sensor(
        "yesterday_profit",
        lambda data: None if (p := data.profit) is None else p.yesterday,
        MONEY,
    ),
    _sensor(
        "today_estimated_profit",
        lambda data: None if (p := data.profit) is None else p.today_estimate,
        MONEY,
    ),
    # The unpaid balance grows and drops at each payout: a total.
    _sensor(
        "unpaid_profit",
        lambda data: None if (p := data.profit) is None else p.unpaid,
        MONEY,
        state_class=SensorStateClass.TOTAL,
    ),
    _sensor(
        "total_profit",
        lambda data: None if (p := data.profit) is None else p.total,
        MONEY,
        state_class=SensorStateClass.TOTAL,
    ),
    # What one TH/s earned on the last settled day: a rate, not an amount.
    _sensor(
        "hashprice",
        lambda data: None if data.last_day is None else data.last_day.hashprice,
        native_unit_of_measurement="{coin}/(TH/s)/d",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=8,
        attributes_fn=_last_day_attributes,
    ),
    _sensor("minimum_payment", lambda data: data.minimum_payment, MONEY),
    _sensor(
        "last_payment",
        lambda data: None if data.last_payment is None else data.last_payment.amount,
        MONEY,
        attributes_fn=_last_payment_attributes,
    ),
)

WORKER_SENSORS: tuple[MinerHubSensorEntityDescription[Worker], ...] = (
    _sensor("hashrate", lambda worker: worker.hashrate_ths, HASHRATE),
    _sensor("hashrate_24h", lambda worker: worker.hashrate_24h_ths, HASHRATE),
    _sensor(
        "reject_rate",
        # Rounded: the ratio times 100 would carry float noise into the state.
        lambda worker: (
            None if worker.reject_rate is None else round(worker.reject_rate * 100, 6)
        ),
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
    ),
    _sensor(
        "last_share",
        lambda worker: worker.last_share,
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=DIAGNOSTIC,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors of a miner, or of a pool account and its workers."""
    if (coordinator := miner_coordinator(entry)) is not None:
        async_add_reported_entities(
            coordinator,
            Platform.SENSOR,
            async_add_entities,
            partial(_new_sensors, coordinator),
        )
        kept = [e for e in _duplicates(coordinator).values() if e is not None]
        async_offer_removal(hass, entry, kept)
    elif (pool := pool_coordinator(entry)) is not None:
        async_add_entities(
            PoolSensorEntity(pool, description) for description in ACCOUNT_SENSORS
        )
        async_add_worker_entities(
            pool, WORKER_SENSORS, WorkerSensorEntity, async_add_entities
        )


def _duplicates(coordinator: MinerCoordinator) -> dict[str, str | None]:
    """Sensors a control shows too: key → entity ID of one an earlier version made.

    That one stays (its ID may be in use) until the user accepts the repair.
    """
    registry = er.async_get(coordinator.hass)
    return {
        d.key: registry.async_get_entity_id(
            Platform.SENSOR, DOMAIN, f"{coordinator.info.mac}_{d.key}"
        )
        for d in SENSORS
        if d.shown_by in coordinator.miner.capabilities
    }


def _new_sensors(
    coordinator: MinerCoordinator, added: set[str], reported: Reported
) -> list[SensorEntity]:
    """Sensors of the values the miner reports that have none yet."""
    kind = coordinator.config_entry.data.get(CONF_KIND, KIND_WHATSMINER)
    duplicates = _duplicates(coordinator)
    new: list[SensorEntity] = []
    for d in SENSORS:
        if reported.new(added, d.key, d.reported) and (
            d.key not in duplicates or duplicates[d.key] is not None
        ):
            new.append(MinerSensorEntity(coordinator, d))
    for governor_description in GOVERNOR_SENSORS:
        if governor_description.key not in added:
            added.add(governor_description.key)
            new.append(MinerGovernorSensorEntity(coordinator, governor_description))
    if reported.new(added, ENERGY_SENSOR.key, lambda d: d.status.power_w is not None):
        new.append(MinerEnergySensorEntity(coordinator, ENERGY_SENSOR))
    for index in reported.boards():
        for board_description in BOARD_SENSORS:
            if board_description.kinds and kind not in board_description.kinds:
                continue
            key = f"board_{index}_{board_description.key}"
            if reported.new(added, key, on_board(index, board_description.reported)):
                new.append(
                    MinerBoardSensorEntity(coordinator, board_description, index)
                )
    new.extend(new_money_sensors(coordinator, added, reported))
    return new
