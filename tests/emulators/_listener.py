"""A listening socket an emulator can close and reopen on the same port.

Switching a device off (offline fault, reboot, network restart) must refuse
connections immediately, and switching it back on must listen again on the same
port before any client retries, so binding and closing are synchronous.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import logging
import socket
import struct
from typing import Any

_LOGGER = logging.getLogger(__name__)

# SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
_LINGER_ZERO = struct.pack("ii", 1, 0)


class SwitchableListener:
    """Accepts connections on ``host:port`` while switched on."""

    def __init__(
        self, host: str, port: int, accept: Callable[[socket.socket, str], None]
    ) -> None:
        """``accept(conn, peer_ip)`` gets every accepted, non-blocking socket."""
        self.host = host
        self.port = port
        self._accept_cb = accept
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def listening(self) -> bool:
        """Whether the socket is open."""
        return self._sock is not None

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Bind and listen now (port 0 picks a port, kept for every reopen)."""
        if self._sock is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.create_server((self.host, self.port), family=family, backlog=128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        loop.add_reader(sock.fileno(), self._accept, sock)
        self._sock, self._loop = sock, loop

    def close(self) -> None:
        """Stop listening: new connections are refused at once."""
        sock, self._sock = self._sock, None
        if sock is not None and self._loop is not None:
            self._loop.remove_reader(sock.fileno())
            sock.close()

    def switch(self, loop: asyncio.AbstractEventLoop, on: bool) -> bool:
        """Open or close as asked; False if the port could not be bound (retry)."""
        if not on:
            self.close()
            return True
        try:
            self.open(loop)
        except OSError:
            _LOGGER.exception("Cannot listen on %s:%s; retrying", self.host, self.port)
            return False
        return True

    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, address = sock.accept()
            except BlockingIOError, InterruptedError:
                return
            except OSError:
                _LOGGER.exception("accept() failed")
                return
            conn.setblocking(False)
            self._accept_cb(conn, str(address[0]))


async def cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    """Cancel the tasks (and any they start meanwhile) until none is left."""
    while pending := [task for task in tasks if not task.done()]:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    tasks.clear()


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a connection, aborting it when the peer does not let go within 1 s."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except TimeoutError:
        writer.transport.abort()
    except ConnectionError, OSError:
        pass


def reset_socket(conn: socket.socket) -> None:
    """Close with RST, like a port nobody listens on any more."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    conn.close()


def abort_with_reset(writer: asyncio.StreamWriter) -> None:
    """Abort a client connection with RST, as when the control board reboots."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    writer.transport.abort()
