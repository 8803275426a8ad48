"""Tolerant reading of device JSON: missing or malformed values become None.

Firmware sends numbers as numbers or strings ("3600", "'20220919.15.REL'",
"12.5%"), booleans as true/"true"/"Y"/1; a sensor must never crash on them.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any


def as_float(value: Any) -> float | None:
    """A finite number from a number or numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().strip("'").rstrip("%"))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def as_int(value: Any) -> int | None:
    """An integer from a number or numeric string; None otherwise."""
    number = as_float(value)
    return int(number) if number is not None else None


def as_bool(value: Any) -> bool | None:
    """A boolean from the many spellings firmware uses; None otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "y", "yes", "1", "enable", "enabled", "on"):
            return True
        if lowered in ("false", "n", "no", "0", "disable", "disabled", "off"):
            return False
    return None


def as_str(value: Any) -> str | None:
    """Non-empty text without the stray quotes old firmware adds; None otherwise."""
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip().strip("'").strip()
    return text or None


def as_alive(status: str | None) -> bool | None:
    """Cgminer's ``"Alive"`` / ``"Dead"`` as a boolean; None when not reported."""
    return None if status is None else status.lower() == "alive"


def scaled(value: float | None, factor: float) -> float | None:
    """``value * factor``, keeping None."""
    return None if value is None else value * factor


class Fields:
    """Typed access to one JSON object; the first present key wins."""

    def __init__(self, record: Mapping[str, Any]) -> None:
        """Wrap one record."""
        self._record = record

    def raw(self, *keys: str) -> Any:
        """The value of the first key present."""
        for key in keys:
            if key in self._record:
                return self._record[key]
        return None

    def number(self, *keys: str) -> float | None:
        """A number, see as_float."""
        return as_float(self.raw(*keys))

    def integer(self, *keys: str) -> int | None:
        """An integer, see as_int."""
        return as_int(self.raw(*keys))

    def flag(self, *keys: str) -> bool | None:
        """A boolean, see as_bool."""
        return as_bool(self.raw(*keys))

    def text(self, *keys: str) -> str | None:
        """Text, see as_str."""
        return as_str(self.raw(*keys))
