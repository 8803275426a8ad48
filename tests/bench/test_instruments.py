"""The benchmark's instruments measure what they claim."""

from __future__ import annotations

import asyncio
import time

from .hass_side import LoopLagProbe
from .serve import CountingProxy


async def _echo_once(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """A miner that answers one request and closes."""
    request = await reader.read(100)
    writer.write(b"reply:" + request)
    await writer.drain()
    writer.close()


async def test_proxy_counts_connections_bytes_and_requests_in_flight(
    socket_enabled: None,
) -> None:
    miner = await asyncio.start_server(_echo_once, "127.0.0.1", 0)
    proxy = CountingProxy(miner.sockets[0].getsockname()[1])
    await proxy.start()

    async def ask() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"ping")
        reply = await reader.read()
        writer.close()
        return reply

    assert await ask() == b"reply:ping"
    assert await ask() == b"reply:ping"
    assert proxy.traffic.connections == 2
    assert proxy.traffic.bytes_sent == 8
    assert proxy.traffic.bytes_received == 20
    assert proxy.traffic.max_in_flight == 1  # one after the other
    await asyncio.gather(ask(), ask(), ask())
    assert proxy.traffic.max_in_flight == 3  # at once
    await proxy.stop()
    miner.close()
    await miner.wait_closed()


async def test_loop_lag_probe_sees_a_stall() -> None:
    with LoopLagProbe() as probe:
        await asyncio.sleep(0.01)
        assert probe.max_lag < 0.03
        time.sleep(0.05)  # noqa: ASYNC251 - the stall to see
        await asyncio.sleep(0.01)
    assert probe.max_lag >= 0.04
