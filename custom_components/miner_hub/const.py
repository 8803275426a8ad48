"""Constants of the Miner Hub integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "miner_hub"
LOGGER = logging.getLogger(__package__)

CONF_KIND: Final = "kind"
KIND_WHATSMINER: Final = "whatsminer"
KIND_DRAGONMINT: Final = "dragonmint"
KIND_SPIDERPOOL: Final = "spiderpool"

# Whatsminer: the API generation found at setup ("v2" / "v3"), the v3 account,
# and the v3 port (not in the form: 4433 on real miners; emulators use others).
CONF_API: Final = "api"
CONF_ACCOUNT: Final = "account"
CONF_V3_PORT: Final = "v3_port"

CONF_ACCESS_KEY: Final = "access_key"
CONF_PRIVATE_KEY: Final = "private_key"
CONF_COIN: Final = "coin"
CONF_SUBACCOUNT: Final = "subaccount"
CONF_API_URL: Final = "api_url"  # advanced mode: the pool API via a proxy
DEFAULT_COIN: Final = "btc"

UNIT_HASHRATE: Final = "TH/s"

# The command governor (options of a miner): see governor.py and the README.
CONF_MIN_DISRUPTIVE_INTERVAL: Final = "min_disruptive_interval"  # minutes
CONF_MAX_DISRUPTIVE_CHANGES: Final = "max_disruptive_changes"  # in 24 hours
CONF_MIN_POWER_PERCENT_INTERVAL: Final = "min_power_percent_interval"  # minutes
# Mining restarts cost minutes of hashrate and wear the power supply: EthnTuttle's
# integration allows a power-limit change every 600 s; a time-of-use schedule
# needs 2-4 changes a day. Normal-mode power percent settles over minutes.
DEFAULT_MIN_DISRUPTIVE_INTERVAL: Final = 10
DEFAULT_MAX_DISRUPTIVE_CHANGES: Final = 12
DEFAULT_MIN_POWER_PERCENT_INTERVAL: Final = 2

# The heater (climate entity) of a Whatsminer: a room sensor, and the lowest
# power percent it runs at before it stops mining.
CONF_TEMPERATURE_SENSOR: Final = "temperature_sensor"
CONF_POWER_FLOOR: Final = "power_floor"  # percent: the heater and power budgets
DEFAULT_POWER_FLOOR: Final = 30

CONF_SCAN_INTERVAL: Final = "scan_interval"
DEFAULT_SCAN_INTERVAL: Final = 30
MIN_SCAN_INTERVAL: Final = 10
MAX_SCAN_INTERVAL: Final = 300

# Power supply and error codes change slowly: read them this often.
SLOW_READ_INTERVAL: Final = timedelta(minutes=5)
# The vendor's firmware server is asked this often.
FIRMWARE_CHECK_INTERVAL: Final = timedelta(hours=6)
# While an unreachable Whatsminer's API is looked for again (firmware change).
API_REDETECT_INTERVAL: Final = timedelta(minutes=5)
# A boot time that moves less than this between polls is the same boot.
BOOT_TIME_TOLERANCE: Final = timedelta(minutes=1)
# Longer than any miner runs: a larger uptime is firmware garbage, not a boot time.
MAX_UPTIME_S: Final = 20 * 365 * 24 * 3600
# Refreshes requested after commands are at most this often (seconds).
REFRESH_COOLDOWN_S: Final = 1.0
# How long "identify" flashes the LED.
IDENTIFY_DURATION: Final = timedelta(seconds=30)

ISSUE_WRITE_API_DISABLED: Final = "write_api_disabled"

# A miner's learned full power is saved this long after it changed.
FULL_POWER_SAVE_DELAY_S: Final = 10


def full_power_store_key(entry_id: str) -> str:
    """The storage of one miner's learned full power."""
    return f"{DOMAIN}.full_power.{entry_id}"


# Pool accounts: hashrate and workers change over minutes, money over hours.
POOL_UPDATE_INTERVAL: Final = timedelta(minutes=5)
POOL_SLOW_INTERVAL: Final = timedelta(minutes=30)
PAYMENT_HISTORY: Final = timedelta(days=90)  # where the last payment is looked for
SETTLED_DAYS: Final = timedelta(days=3)  # where the last settled day is looked for
SETTLED_DAY_AGE: Final = timedelta(days=2)  # a settled day this old: look for the next
WORKER_GONE_AFTER: Final = timedelta(days=1)  # unlisted this long: device removed

# A pool account's options: the price entities its miners' money figures use.
CONF_ELECTRICITY_PRICE: Final = "electricity_price"  # currency per kWh
CONF_BITCOIN_PRICE: Final = "bitcoin_price"  # currency per bitcoin
# A miner that mines while its pool does not see it (its worker missing,
# offline or below this share of the miner's hashrate) this long: a repair issue.
POOL_UNSEEN_AFTER: Final = timedelta(hours=1)
POOL_UNSEEN_SHARE: Final = 0.5
ISSUE_POOL_UNSEEN: Final = "pool_unseen"
# Sensors of an earlier version beside the controls that show the same value.
ISSUE_DUPLICATE_SENSORS: Final = "duplicate_sensors"
