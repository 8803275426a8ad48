"""Checks of what is sent to a device, before anything is sent.

Numbers must be integers in the range the firmware takes, texts short enough,
addresses IPv4 where the firmware knows nothing else.

A host is an IP address or a DNS name; a pool is a stratum URL with a port, a
worker name without blanks, and a password without control characters. Firmware
takes much else without complaint and then cannot mine (a pool URL with a blank,
a worker name with a line break), or stores it as it is.
"""

from __future__ import annotations

import ipaddress
import re

from .errors import InvalidParameter

MAX_POOL_FIELD = 256  # the longest url, worker or password the firmware keeps
POOL_SCHEMES = frozenset(
    {"stratum+tcp", "stratum+ssl", "stratum+tls", "stratum2+tcp", "stratum2+ssl"}
)

_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_POOL_URL = re.compile(
    r"(?:(?P<scheme>[A-Za-z0-9+]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+)"
    r":(?P<port>[0-9]{1,5})/?"
)
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class InvalidPool(InvalidParameter):
    """A pool's URL, worker or password would not work; ``field`` says which."""

    def __init__(self, message: str, field: str) -> None:
        """Name the field ("url", "worker" or "password")."""
        super().__init__(message)
        self.field = field


def is_host(text: str) -> bool:
    """An IP address or a DNS host name, nothing else (no scheme, port or path)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return True
    if not text or len(text) > 253:
        return False
    labels = text.removesuffix(".").split(".")
    return all(_LABEL.fullmatch(label) for label in labels)


def _is_pool_url(url: str) -> bool:
    match = _POOL_URL.fullmatch(url)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        return False
    scheme, host = match["scheme"], match["host"]
    if scheme is not None and scheme.lower() not in POOL_SCHEMES:
        return False
    if host.startswith("["):
        return _is_ipv6(host[1:-1])
    return is_host(host)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def int_in_range(name: str, value: int, low: int, high: int) -> int:
    """``value`` when it is an integer (not a bool) from ``low`` to ``high``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise InvalidParameter(f"{name} must be an integer from {low} to {high}")
    return value


def text_up_to(name: str, value: str, max_length: int) -> str:
    """``value`` when it is text of at most ``max_length`` characters."""
    if not isinstance(value, str) or len(value) > max_length:
        raise InvalidParameter(
            f"{name} must be text of at most {max_length} characters"
        )
    return value


def ipv4_address(name: str, value: str) -> str:
    """``value`` as a dotted IPv4 address, when it is one."""
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError as err:
        raise InvalidParameter(f"{name} must be an IPv4 address") from err


def check_pool(url: str, worker: str, password: str) -> None:
    """Raise InvalidPool unless the pool can be sent as it is."""
    if len(url) > MAX_POOL_FIELD or not _is_pool_url(url):
        raise InvalidPool(
            "the pool URL must be stratum+tcp://host:port (or stratum+ssl://)", "url"
        )
    if not worker or len(worker) > MAX_POOL_FIELD or _BLANK_OR_CONTROL.search(worker):
        raise InvalidPool(
            "the worker must be 1-256 characters without blanks", "worker"
        )
    if len(password) > MAX_POOL_FIELD or _CONTROL.search(password):
        raise InvalidPool(
            "the pool password must be at most 256 characters, no control characters",
            "password",
        )
