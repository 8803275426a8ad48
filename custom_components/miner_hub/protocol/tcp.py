"""A miner's TCP API: where it is, how long to wait, and one request at a time.

Both Whatsminer APIs build on this: the transport holds the address, the
password, the timeouts and the gate's lock for the device; a client sends its
commands through a transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import time
from typing import Final, TypedDict

from .errors import ConnectTimeout, Unreachable
from .gate import Gate

DEFAULT_CONNECT_TIMEOUT: Final = 5.0
DEFAULT_READ_TIMEOUT: Final = 10.0


class TcpOptions(TypedDict, total=False):
    """How long a client waits (seconds), and the clock it reads."""

    connect_timeout: float
    read_timeout: float
    clock: Callable[[], float]


class TcpTransport:
    """The connections to one device's TCP API, one request at a time."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str | None,
        gate: Gate,
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing is sent until a request is made."""
        self.host = host
        self.port = port
        self.password = password
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._clock = clock
        self._gate = gate
        self.lock = gate.lock((host, port))

    def __repr__(self) -> str:
        """Name the device, never the password."""
        return f"{type(self).__name__}(host={self.host!r}, port={self.port})"

    async def open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A new connection; nothing has been sent when this fails.

        ConnectTimeout when nothing accepted it in time, Unreachable when it was
        refused or the address cannot be reached.
        """
        try:
            async with asyncio.timeout(self.connect_timeout):
                return await asyncio.open_connection(self.host, self.port)
        except TimeoutError as err:
            raise ConnectTimeout(f"{self.host}:{self.port}: connect timed out") from err
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise Unreachable(f"{self.host}:{self.port}: {reason}") from err

    async def take_turn(self) -> None:
        """Wait for a fair turn on the event loop (before decoding a reply)."""
        await self._gate.take_turn()


class TcpClient[T: TcpTransport]:
    """A client that sends its commands through a transport."""

    transport: T

    def __repr__(self) -> str:
        """Name the device, never the password."""
        return f"{type(self).__name__}(host={self.host!r}, port={self.port})"

    @property
    def host(self) -> str:
        """Address of the device."""
        return self.transport.host

    @property
    def port(self) -> int:
        """The API's port."""
        return self.transport.port

    @property
    def read_timeout(self) -> float:
        """Seconds a reply may take."""
        return self.transport.read_timeout

    @read_timeout.setter
    def read_timeout(self, seconds: float) -> None:
        self.transport.read_timeout = seconds
