"""The heater: a thermostat that heats a room with a Whatsminer.

Created when the miner's options name a room temperature sensor. In ``heat`` it
sets the power percent (between the heater floor and 100 %) that holds the room
at the target, and stops mining when even the floor is too much heat; in ``off``
it stops mining. Its commands go through the coordinator, and so through the
governor, like everybody's.

Who wins: the heater owns mining and the power percent while it heats. Anyone
else setting either (the mining switch, the power percent number or action, a
blueprint, Assist) takes over: the heater turns itself off and says so in the
log; turn it back to ``heat`` to hand control back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final, override

from homeassistant.components.climate import ClimateEntity, ClimateEntityDescription
from homeassistant.components.climate.const import (
    ATTR_HVAC_MODE,
    ClimateEntityFeature,
    HVACAction,
    HVACMode,
)
from homeassistant.const import (
    ATTR_TEMPERATURE,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfTemperature,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.restore_state import RestoredExtraData, RestoreEntity
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import TemperatureConverter

from . import MinerHubConfigEntry
from .const import (
    CONF_POWER_FLOOR,
    CONF_TEMPERATURE_SENSOR,
    DEFAULT_POWER_FLOOR,
    DOMAIN,
    LOGGER,
)
from .coordinator import MinerCoordinator
from .entity import MinerEntity, miner_coordinator
from .governor import Change, ChangeKind, Origin
from .heating import HeatController, HeaterAction
from .protocol.models import Capability

# Commands go through the coordinator, one at a time.
PARALLEL_UPDATES = 1

HEATER: Final = ClimateEntityDescription(key="heater", translation_key="heater")
DEFAULT_TARGET: Final = 20.0
# The room sensor is read when it changes; the controller steps this often at
# least (never more often than the governor lets power percent change).
MIN_CONTROL_PERIOD: Final = timedelta(minutes=1)
# Changes by others that take control from the heater.
_TAKE_OVER: Final = frozenset({ChangeKind.MINING, ChangeKind.POWER_PERCENT})


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the heater of a Whatsminer whose options name a room sensor."""
    if (coordinator := miner_coordinator(entry)) is None:
        return
    sensor = entry.options.get(CONF_TEMPERATURE_SENSOR)
    if sensor and Capability.POWER_PERCENT in coordinator.miner.capabilities:
        floor = entry.options.get(CONF_POWER_FLOOR, DEFAULT_POWER_FLOOR)
        async_add_entities([MinerHeaterEntity(coordinator, sensor, floor)])
        return
    # No sensor (any more): a heater created before goes away for good.
    registry = er.async_get(hass)
    unique_id = f"{coordinator.info.mac}_{HEATER.key}"
    if entity_id := registry.async_get_entity_id("climate", DOMAIN, unique_id):
        registry.async_remove(entity_id)


class MinerHeaterEntity(MinerEntity, ClimateEntity, RestoreEntity):
    """A thermostat: the miner's power holds a room at a target temperature."""

    _attr_hvac_modes = [HVACMode.OFF, HVACMode.HEAT]  # noqa: RUF012
    _attr_supported_features = (
        ClimateEntityFeature.TARGET_TEMPERATURE
        | ClimateEntityFeature.TURN_ON
        | ClimateEntityFeature.TURN_OFF
    )
    # Home Assistant 2026.11 reads the native_ names (the others are deprecated
    # there); 2026.10 knows only the others. A class giving both gets no warning.
    _attr_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_native_temperature_unit = UnitOfTemperature.CELSIUS
    _attr_target_temperature_step = 0.5
    _attr_min_temp = 5.0
    _attr_max_temp = 35.0

    def __init__(self, coordinator: MinerCoordinator, sensor: str, floor: int) -> None:
        """Heat with ``coordinator``'s miner the room ``sensor`` measures."""
        super().__init__(coordinator, HEATER)
        self._sensor = sensor
        self._controller = HeatController(floor)
        self._attr_hvac_mode = HVACMode.OFF
        self._target: float | None = DEFAULT_TARGET
        self._sent_percent: int | None = None  # what this heater last sent
        self._restored_percent: int | None = None  # ... before a restart
        self._booted_at = (
            None if coordinator.data is None else coordinator.data.booted_at
        )

    @property
    @override
    def target_temperature(self) -> float | None:
        """The room temperature to hold, in °C."""
        return self._target

    @property
    def native_target_temperature(self) -> float | None:
        """The same, by the name Home Assistant 2026.11 reads."""
        return self._target

    @property
    def native_current_temperature(self) -> float | None:
        """The room's temperature, by the name Home Assistant 2026.11 reads."""
        return self.current_temperature

    @property
    @override
    def current_temperature(self) -> float | None:
        """The room sensor's reading in °C; None while it has none."""
        state = self.hass.states.get(self._sensor)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = state.attributes.get("unit_of_measurement", UnitOfTemperature.CELSIUS)
        try:
            return TemperatureConverter.convert(value, unit, UnitOfTemperature.CELSIUS)
        except HomeAssistantError:
            return None

    @property
    @override
    def hvac_action(self) -> HVACAction:
        """Heating while it mines for the room, idle while it waits, else off."""
        if self.hvac_mode is HVACMode.OFF:
            return HVACAction.OFF
        mining = self.coordinator.data.status.mining
        return HVACAction.HEATING if mining else HVACAction.IDLE

    @property
    @override
    def extra_restore_state_data(self) -> RestoredExtraData:
        """The percent the heater sent last (API v2 does not report it)."""
        return RestoredExtraData({"sent_percent": self._sent_percent})

    def _set_mode(self, mode: HVACMode) -> None:
        """Heat or off; the coordinator knows, so power budgets leave a heater be."""
        self._attr_hvac_mode = mode
        self.coordinator.heating = mode is HVACMode.HEAT

    @override
    async def async_added_to_hass(self) -> None:
        """Take up the mode, target and power of before a restart; control."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            if last.state in (HVACMode.HEAT, HVACMode.OFF):
                self._set_mode(HVACMode(last.state))
            if isinstance(target := last.attributes.get(ATTR_TEMPERATURE), int | float):
                self._target = float(target)
        if (extra := await self.async_get_last_extra_data()) is not None:
            sent = extra.as_dict().get("sent_percent")
            self._restored_percent = sent if isinstance(sent, int) else None
        self._resume_from_miner()
        period = max(
            MIN_CONTROL_PERIOD,
            self.coordinator.governor.rules.min_power_percent_interval,
        )
        self.async_on_remove(
            async_track_time_interval(self.hass, self._async_control, period)
        )
        self.async_on_remove(
            async_track_state_change_event(
                self.hass, [self._sensor], self._async_sensor_changed
            )
        )
        self.async_on_remove(
            self.coordinator.async_add_change_listener(self._async_change_asked)
        )

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Gone (disabled, or the entry unloads): the miner is no one's heater."""
        self.coordinator.heating = False
        await super().async_will_remove_from_hass()

    @override
    async def async_set_hvac_mode(self, hvac_mode: HVACMode) -> None:
        """Heat (mining for the room), or off (mining stops)."""
        self._set_mode(hvac_mode)
        self.async_write_ha_state()
        if hvac_mode is HVACMode.OFF:
            await self.coordinator.async_set_mining(False, origin=Origin.HEATER)
            return
        self._resume_from_miner()
        await self._async_control()

    @override
    async def async_turn_on(self) -> None:
        """Heat."""
        await self.async_set_hvac_mode(HVACMode.HEAT)

    @override
    async def async_turn_off(self) -> None:
        """Stop heating (and mining)."""
        await self.async_set_hvac_mode(HVACMode.OFF)

    @override
    async def async_set_temperature(self, **kwargs: Any) -> None:
        """Aim at a new room temperature (and switch the mode, if one is given)."""
        self._target = float(kwargs[ATTR_TEMPERATURE])
        if (mode := kwargs.get(ATTR_HVAC_MODE)) is not None:
            await self.async_set_hvac_mode(HVACMode(mode))  # steps with the new target
            return
        self.async_write_ha_state()
        await self._async_control()

    def _resume_from_miner(self) -> None:
        """Continue from what the miner runs at now (no jump in power).

        An API v2 miner does not report it: what the heater sent before the
        restart, else what the power percent entity restored.
        """
        data = self.coordinator.data
        stopped = data is not None and data.status.mining is False
        percent = self.coordinator.power_percent
        if data is not None and data.status.power_percent is None:
            percent = self._restored_percent or percent
        self._restored_percent = None  # once: afterwards the coordinator knows
        self._sent_percent = percent
        self._controller.reset(percent, stopped=stopped)

    @callback
    def _async_sensor_changed(self, _event: Event[EventStateChangedData]) -> None:
        self.async_write_ha_state()  # the current temperature

    @callback
    def _async_change_asked(self, change: Change, origin: Origin) -> None:
        """Someone else set mining or the power percent: they take over."""
        if (
            origin is Origin.HEATER
            or change.kind not in _TAKE_OVER
            or self.hvac_mode is not HVACMode.HEAT
        ):
            return
        LOGGER.info(
            "%s: %s was set by someone else: the heater turns off",
            self.entity_id,
            change.kind.value.replace("_", " "),
        )
        self._set_mode(HVACMode.OFF)
        self.async_write_ha_state()

    async def _async_control(self, _now: datetime | None = None) -> None:
        """One step: the power that holds the room, sent when it differs."""
        temperature = self.current_temperature
        target = self._target
        if (
            self.hvac_mode is not HVACMode.HEAT
            or temperature is None
            or target is None
            or not self.coordinator.last_update_success
        ):
            return  # nothing to control with: leave the miner as it is
        data = self.coordinator.data
        if data.booted_at != self._booted_at:
            self._booted_at = data.booted_at
            self._sent_percent = None  # the firmware forgot it: send it again
        decision = self._controller.step(temperature, target, dt_util.utcnow())
        try:
            await self._async_apply(decision.action, decision.percent)
        except HomeAssistantError as err:
            LOGGER.warning("%s: the heater could not act: %s", self.entity_id, err)

    async def _async_apply(self, action: HeaterAction, percent: int) -> None:
        coordinator = self.coordinator
        mining = coordinator.data.status.mining
        if action is HeaterAction.STOP:
            if mining is not False:
                await coordinator.async_set_mining(False, origin=Origin.HEATER)
            return
        if mining is False:
            await coordinator.async_set_mining(True, origin=Origin.HEATER)
        if percent != self._sent_percent:
            await coordinator.async_set_power_percent(percent, origin=Origin.HEATER)
            self._sent_percent = percent
