"""The gate: one lock and one state per device for all its clients, fair turns.

Fair turns: one per event-loop iteration, in order, cancellation-safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
import contextlib

from custom_components.miner_hub.protocol.gate import Gate


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
    take_turn = Gate().take_turn
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
    take_turn = Gate().take_turn
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
    take_turn = Gate().take_turn
    with _iterations() as iteration:
        before = iteration[0]
        await asyncio.wait_for(take_turn(), 1)
        assert iteration[0] - before <= 2
    await take_turn()  # and again, once the turnstile has gone idle


def test_one_lock_and_one_state_per_device() -> None:
    gate = Gate()
    assert gate.lock(("10.0.0.5", 4028)) is gate.lock(("10.0.0.5", 4028))
    assert gate.lock(("10.0.0.5", 4028)) is not gate.lock(("10.0.0.5", 4433))
    first = gate.state(dict, ("10.0.0.5", 4028))
    first["token"] = "kept"
    assert gate.state(dict, ("10.0.0.5", 4028)) == {"token": "kept"}
    assert gate.state(dict, ("10.0.0.6", 4028)) == {}
    assert gate.state(list, ("10.0.0.5", 4028)) == []  # another kind of state


def test_two_gates_share_nothing() -> None:
    one, two = Gate(), Gate()
    assert one.lock("miner") is not two.lock("miner")
    assert one.state(dict, "miner") is not two.state(dict, "miner")
