"""The heater's Home Assistant side in tests: the room sensor and the entry."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.miner_hub.const import (
    CONF_POWER_FLOOR,
    CONF_TEMPERATURE_SENSOR,
)
from tests.conftest import EmulatedWhatsminer

ROOM: Final = "sensor.room_temperature"
FLOOR: Final = 30  # %
HEATER: Final = "climate.garage_m30_heater"


def set_room(hass: HomeAssistant, celsius: float | str, unit: str = "°C") -> None:
    """The room sensor reads ``celsius`` (or a state such as unavailable)."""
    hass.states.async_set(
        ROOM, str(celsius), {"unit_of_measurement": unit, "device_class": "temperature"}
    )


def heater_entry(miner: EmulatedWhatsminer, **options: Any) -> MockConfigEntry:
    """The miner's entry with a room sensor in its options."""
    return miner.entry(
        **{CONF_TEMPERATURE_SENSOR: ROOM, CONF_POWER_FLOOR: FLOOR, **options}
    )
