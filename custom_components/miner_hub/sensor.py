"""Sensors of a miner: hashrate, power, energy, temperatures, fans, pools, errors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    REVOLUTIONS_PER_MINUTE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfRatio,
    UnitOfTemperature,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .const import CONF_KIND, KIND_DRAGONMINT, KIND_WHATSMINER
from .coordinator import MinerCoordinator, MinerData, MinerHubConfigEntry
from .entity import MinerEntity, miner_coordinator
from .pool import async_setup_pool_sensors
from .protocol.models import HashboardStatus, PowerMode, PowerSupplyStatus

# The coordinator fetches the data; entities only read it.
PARALLEL_UPDATES = 0

UNIT_HASHRATE = "TH/s"
UNIT_EFFICIENCY = "J/TH"
_SECONDS_PER_HOUR = 3600
_WATTS_PER_KILOWATT = 1000


@dataclass(frozen=True, kw_only=True)
class MinerSensorEntityDescription(SensorEntityDescription):
    """A sensor of the whole miner."""

    value_fn: Callable[[MinerData], StateType | datetime]
    # Whether the miner reports the value: the entity is created once it does.
    # None: when value_fn gives a value.
    exists_fn: Callable[[MinerData], bool] | None = None
    attributes_fn: Callable[[MinerData], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class MinerBoardSensorEntityDescription(SensorEntityDescription):
    """A sensor of one hashboard."""

    value_fn: Callable[[HashboardStatus], float | str | None]
    # Miner kinds (config entry kinds) that get the sensor; None: every kind.
    kinds: frozenset[str] | None = None


def _efficiency(data: MinerData) -> float | None:
    """J/TH; undefined (None) while the miner does not hash."""
    if not data.status.hashrate_ths:
        return None
    return data.status.efficiency_j_per_th


def _power_mode(data: MinerData) -> str | None:
    mode = data.status.power_mode
    return None if mode is None else mode.value


def _psu(
    read: Callable[[PowerSupplyStatus], float | None],
) -> Callable[[MinerData], float | None]:
    """A value of the power supply, None when the miner reports no power supply."""
    return lambda data: None if data.power_supply is None else read(data.power_supply)


def _error_attributes(data: MinerData) -> dict[str, Any]:
    """The active errors: codes, since when (the miner's local time), reasons."""
    errors = data.errors or ()
    return {
        "codes": [error.code for error in errors],
        "errors": [
            {"code": error.code, "since": error.since, "reason": error.reason}
            for error in errors
        ],
    }


def _board_status(board: HashboardStatus) -> str | None:
    return None if board.alive is None else ("alive" if board.alive else "dead")


def _active_pool(data: MinerData) -> str | None:
    pool = data.status.active_pool
    return None if pool is None else pool.url


SENSORS: tuple[MinerSensorEntityDescription, ...] = (
    MinerSensorEntityDescription(
        key="hashrate",
        translation_key="hashrate",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda data: data.status.hashrate_ths,
    ),
    MinerSensorEntityDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.power_w,
    ),
    MinerSensorEntityDescription(
        key="efficiency",
        translation_key="efficiency",
        native_unit_of_measurement=UNIT_EFFICIENCY,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=_efficiency,
        exists_fn=lambda data: data.status.efficiency_j_per_th is not None,
    ),
    MinerSensorEntityDescription(
        key="power_limit",
        translation_key="power_limit",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.power_limit_w,
    ),
    MinerSensorEntityDescription(
        key="temperature",
        translation_key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.temperature_c,
    ),
    MinerSensorEntityDescription(
        key="environment_temperature",
        translation_key="environment_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.environment_temperature_c,
    ),
    MinerSensorEntityDescription(
        key="chip_temperature_max",
        translation_key="chip_temperature_max",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.chip_temp_max_c,
    ),
    MinerSensorEntityDescription(
        key="chip_temperature_avg",
        translation_key="chip_temperature_avg",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda data: data.status.chip_temp_avg_c,
    ),
    MinerSensorEntityDescription(
        key="fan_speed_in",
        translation_key="fan_speed_in",
        native_unit_of_measurement=REVOLUTIONS_PER_MINUTE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.fan_speed_in_rpm,
    ),
    MinerSensorEntityDescription(
        key="fan_speed_out",
        translation_key="fan_speed_out",
        native_unit_of_measurement=REVOLUTIONS_PER_MINUTE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.fan_speed_out_rpm,
    ),
    MinerSensorEntityDescription(
        key="fan_duty",
        translation_key="fan_duty",
        native_unit_of_measurement=UnitOfRatio.PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda data: data.status.fan_duty_pct,
    ),
    MinerSensorEntityDescription(
        key="power_mode",
        translation_key="power_mode",
        device_class=SensorDeviceClass.ENUM,
        options=[mode.value for mode in PowerMode],
        value_fn=_power_mode,
    ),
    MinerSensorEntityDescription(
        key="uptime",
        translation_key="uptime",
        device_class=SensorDeviceClass.UPTIME,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.booted_at,
    ),
    MinerSensorEntityDescription(
        key="accepted_shares",
        translation_key="accepted_shares",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.status.accepted_shares,
    ),
    MinerSensorEntityDescription(
        key="rejected_shares",
        translation_key="rejected_shares",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda data: data.status.rejected_shares,
    ),
    MinerSensorEntityDescription(
        # A health signal (a failing board errs), so enabled, unlike the shares.
        key="hardware_errors",
        translation_key="hardware_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.status.hardware_errors,
    ),
    MinerSensorEntityDescription(
        key="active_pool",
        translation_key="active_pool",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_active_pool,
        exists_fn=lambda data: bool(data.status.pools),
    ),
    MinerSensorEntityDescription(
        key="error_codes",
        translation_key="error_codes",
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=lambda data: None if data.errors is None else len(data.errors),
        attributes_fn=_error_attributes,
    ),
    MinerSensorEntityDescription(
        key="psu_temperature",
        translation_key="psu_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=1,
        value_fn=_psu(lambda psu: psu.temperature_c),
    ),
    MinerSensorEntityDescription(
        key="psu_fan_speed",
        translation_key="psu_fan_speed",
        native_unit_of_measurement=REVOLUTIONS_PER_MINUTE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=0,
        value_fn=_psu(lambda psu: psu.fan_speed_rpm),
    ),
    MinerSensorEntityDescription(
        key="psu_input_voltage",
        translation_key="psu_input_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        suggested_display_precision=1,
        value_fn=_psu(lambda psu: psu.input_voltage_v),
    ),
    MinerSensorEntityDescription(
        key="psu_input_current",
        translation_key="psu_input_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        suggested_display_precision=2,
        value_fn=_psu(lambda psu: psu.input_current_a),
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

BOARD_SENSORS: tuple[MinerBoardSensorEntityDescription, ...] = (
    MinerBoardSensorEntityDescription(
        key="board_hashrate",
        translation_key="board_hashrate",
        native_unit_of_measurement=UNIT_HASHRATE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=2,
        value_fn=lambda board: board.hashrate_ths,
    ),
    MinerBoardSensorEntityDescription(
        key="board_temperature",
        translation_key="board_temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda board: board.temperature_c,
    ),
    MinerBoardSensorEntityDescription(
        key="board_chip_temperature_max",
        translation_key="board_chip_temperature_max",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        suggested_display_precision=1,
        value_fn=lambda board: board.chip_temp_max_c,
    ),
    MinerBoardSensorEntityDescription(
        # Changes rarely and a dead board is what a user wants to see: enabled.
        # Whatsminer boards report a status too; offering it there would add
        # entities to existing Whatsminer devices, so it is DragonMint's for now.
        key="board_status",
        translation_key="board_status",
        device_class=SensorDeviceClass.ENUM,
        options=["alive", "dead"],
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=_board_status,
        kinds=frozenset({KIND_DRAGONMINT}),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors of the values the miner reports.

    A miner whose mining service is stopped at setup reports little; the sensors
    of the values it reports later are added then.
    """
    if (coordinator := miner_coordinator(entry)) is None:
        async_setup_pool_sensors(entry, async_add_entities)  # a pool account
        return
    added: set[str] = set()

    @callback
    def add_reported_sensors() -> None:
        if coordinator.last_update_success and (
            new := _new_sensors(coordinator, added)
        ):
            async_add_entities(new)

    add_reported_sensors()
    entry.async_on_unload(coordinator.async_add_listener(add_reported_sensors))


def _reported(description: MinerSensorEntityDescription, data: MinerData) -> bool:
    if description.exists_fn is not None:
        return description.exists_fn(data)
    return description.value_fn(data) is not None


def _new_sensors(coordinator: MinerCoordinator, added: set[str]) -> list[SensorEntity]:
    """Sensors of the values the last poll reported that have none yet."""
    data = coordinator.data
    kind = coordinator.config_entry.data.get(CONF_KIND, KIND_WHATSMINER)
    new: list[SensorEntity] = []
    for description in SENSORS:
        if description.key not in added and _reported(description, data):
            added.add(description.key)
            new.append(MinerSensorEntity(coordinator, description))
    if ENERGY_SENSOR.key not in added and data.status.power_w is not None:
        added.add(ENERGY_SENSOR.key)
        new.append(MinerEnergySensorEntity(coordinator, ENERGY_SENSOR))
    for board in data.status.boards:
        for board_description in BOARD_SENSORS:
            if (
                board_description.kinds is not None
                and kind not in board_description.kinds
            ):
                continue
            key = f"board_{board.index}_{board_description.key}"
            if key not in added and board_description.value_fn(board) is not None:
                added.add(key)
                new.append(
                    MinerBoardSensorEntity(coordinator, board_description, board.index)
                )
    return new


class MinerSensorEntity(MinerEntity, SensorEntity):
    """A sensor of the whole miner."""

    entity_description: MinerSensorEntityDescription

    @property
    @override
    def native_value(self) -> StateType | datetime:
        """The value of the last poll."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details of the value, where the sensor has any (the error codes)."""
        if (attributes_fn := self.entity_description.attributes_fn) is None:
            return None
        return attributes_fn(self.coordinator.data)


class MinerEnergySensorEntity(MinerEntity, RestoreSensor):
    """Energy estimated from the reported power: left Riemann sum between polls.

    At each successful poll the power of the previous poll is multiplied by the
    time since that poll. A failed poll forgets the previous sample, so the time
    the miner was unreachable adds nothing; after a restart of Home Assistant the
    total is restored and the first poll only records a sample.
    """

    _attr_native_value: float = 0.0

    def __init__(
        self, coordinator: MinerCoordinator, description: SensorEntityDescription
    ) -> None:
        """Start at zero; restored when added."""
        super().__init__(coordinator, description)
        self._sample: tuple[float, datetime] | None = None  # (W, when)
        self._sampled_data: MinerData | None = None

    @override
    async def async_added_to_hass(self) -> None:
        """Restore the total, then take the current poll as the first sample."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if (
            last is not None
            and last.native_unit_of_measurement == UnitOfEnergy.KILO_WATT_HOUR
            and isinstance(total := last.native_value, int | float | Decimal)
            and total >= 0
        ):
            self._attr_native_value = float(total)
        self._integrate()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Add the energy since the previous successful poll."""
        self._integrate()
        super()._handle_coordinator_update()

    def _integrate(self) -> None:
        coordinator = self.coordinator
        if not coordinator.last_update_success:
            self._sample = None  # nothing is counted across an outage
            self._sampled_data = None
            return
        data = coordinator.data
        if data is self._sampled_data:
            return  # listeners told again about the same poll
        now = dt_util.utcnow()
        if self._sample is not None:
            previous_w, since = self._sample
            hours = max(0.0, (now - since).total_seconds() / _SECONDS_PER_HOUR)
            self._attr_native_value += previous_w * hours / _WATTS_PER_KILOWATT
        power_w = data.status.power_w
        self._sampled_data = data
        self._sample = None if power_w is None else (power_w, now)


class MinerBoardSensorEntity(MinerEntity, SensorEntity):
    """A sensor of one hashboard."""

    entity_description: MinerBoardSensorEntityDescription

    def __init__(
        self,
        coordinator: MinerCoordinator,
        description: MinerBoardSensorEntityDescription,
        board_index: int,
    ) -> None:
        """One entity per board present at setup, numbered from 1 in its name."""
        super().__init__(coordinator, description)
        self._board_index = board_index
        self._attr_unique_id = (
            f"{coordinator.info.mac}_board_{board_index}_{description.key}"
        )
        self._attr_translation_placeholders = {"board": str(board_index + 1)}

    @property
    @override
    def native_value(self) -> StateType:
        """The board's value; unknown while the miner does not list the board."""
        for board in self.coordinator.data.status.boards:
            if board.index == self._board_index:
                return self.entity_description.value_fn(board)
        return None
