"""Fair turns: one per event-loop iteration, in order, cancellation-safe."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib

from custom_components.miner_hub.protocol.pacing import take_turn


@contextlib.contextmanager
def _iterations() -> Iterator[list[int]]:
    """A counter that goes up once per event-loop iteration."""
    loop = asyncio.get_running_loop()
    counter = [0]
    handle: asyncio.Handle | None = None

    def tick() -> None:
        nonlocal handle
        counter[0] += 1
        handle = loop.call_soon(tick)

    handle = loop.call_soon(tick)
    try:
        yield counter
    finally:
        handle.cancel()


async def test_one_turn_per_loop_iteration_first_come_first_served() -> None:
    granted: list[tuple[int, int]] = []
    with _iterations() as iteration:

        async def client(number: int) -> None:
            await take_turn()
            granted.append((number, iteration[0]))

        await asyncio.gather(*(client(number) for number in range(5)))
    assert [number for number, _ in granted] == [0, 1, 2, 3, 4]
    at = [when for _, when in granted]
    assert len(set(at)) == len(at)  # never two in one iteration


async def test_a_cancelled_waiter_gives_its_turn_away() -> None:
    order: list[str] = []

    async def client(name: str) -> None:
        await take_turn()
        order.append(name)

    first = asyncio.create_task(client("first"))
    second = asyncio.create_task(client("second"))
    third = asyncio.create_task(client("third"))
    await asyncio.sleep(0)  # all three are waiting
    second.cancel()
    await asyncio.gather(first, third)
    assert second.cancelled()
    assert order == ["first", "third"]


async def test_an_idle_loop_grants_the_next_iteration() -> None:
    with _iterations() as iteration:
        before = iteration[0]
        await asyncio.wait_for(take_turn(), 1)
        assert iteration[0] - before <= 2
    await take_turn()  # and again, once the turnstile has gone idle
