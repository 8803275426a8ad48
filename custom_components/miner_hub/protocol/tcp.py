"""Opening a TCP connection to a miner, with the protocol's typed errors."""

from __future__ import annotations

import asyncio

from .errors import ConnectTimeout, Unreachable


async def open_tcp(
    host: str, port: int, connect_timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A new connection; nothing has been sent when this fails.

    ConnectTimeout when nothing accepted it in time, Unreachable when it was
    refused or the address cannot be reached.
    """
    try:
        async with asyncio.timeout(connect_timeout):
            return await asyncio.open_connection(host, port)
    except TimeoutError as err:
        raise ConnectTimeout(f"{host}:{port}: connect timed out") from err
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise Unreachable(f"{host}:{port}: {reason}") from err
