"""Energy from a miner's reported power: the meter and the sensor that shows it.

The energy dashboard needs a kWh total; miners report only their power. The
sensor platform adds this sensor (``ENERGY_SENSOR``) once a miner reports it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Final, override

from homeassistant.components.sensor import RestoreSensor, SensorEntityDescription
from homeassistant.const import UnitOfEnergy
from homeassistant.core import callback
from homeassistant.util import dt as dt_util

from .coordinator import MinerCoordinator, MinerData
from .entity import MinerEntity

_SECONDS_PER_HOUR: Final = 3600
_WATTS_PER_KILOWATT: Final = 1000


class EnergyMeter:
    """A left Riemann sum of power samples, in kWh.

    Each sample's power counts until the next sample. A gap (the miner was
    unreachable) forgets the last sample, so the time in between adds nothing.
    """

    def __init__(self, total_kwh: float = 0.0) -> None:
        """Start from a total (restored after a restart, or zero)."""
        self.total_kwh = total_kwh
        self._last: tuple[float, datetime] | None = None  # (W, when)

    def sample(self, power_w: float | None, now: datetime) -> None:
        """Add the energy since the last sample; ``power_w`` counts from now."""
        if self._last is not None:
            last_w, since = self._last
            hours = max(0.0, (now - since).total_seconds() / _SECONDS_PER_HOUR)
            self.total_kwh += last_w * hours / _WATTS_PER_KILOWATT
        self._last = None if power_w is None else (power_w, now)

    def gap(self) -> None:
        """Nothing is known from the last sample on: it adds nothing more."""
        self._last = None


class MinerEnergySensorEntity(MinerEntity, RestoreSensor):
    """Energy estimated from the reported power (see ``EnergyMeter``).

    At each successful poll the power of the previous poll is multiplied by the
    time since that poll. A failed poll forgets the previous sample, so the time
    the miner was unreachable adds nothing; after a restart of Home Assistant the
    total is restored and the first poll only records a sample.
    """

    def __init__(
        self, coordinator: MinerCoordinator, description: SensorEntityDescription
    ) -> None:
        """Start at zero; restored when added."""
        super().__init__(coordinator, description)
        self._meter = EnergyMeter()
        self._sampled_data: MinerData | None = None

    @property
    @override
    def native_value(self) -> float:
        """The total in kWh."""
        return self._meter.total_kwh

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
            self._meter.total_kwh = float(total)
        self._sample()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """Add the energy since the previous successful poll."""
        self._sample()
        super()._handle_coordinator_update()

    def _sample(self) -> None:
        coordinator = self.coordinator
        if not coordinator.last_update_success:
            self._meter.gap()  # nothing is counted across an outage
            self._sampled_data = None
        elif coordinator.data is not self._sampled_data:  # not the same poll again
            self._sampled_data = coordinator.data
            self._meter.sample(coordinator.data.status.power_w, dt_util.utcnow())
