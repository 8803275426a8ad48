"""Fair turns for CPU work on a busy event loop.

When hundreds of miners answer within the same moment, every reply would be
parsed in one event-loop iteration, and every other task (timers, the frontend,
other integrations) would wait for all of them. A client takes a turn before the
work that follows a reply; one turn is granted per loop iteration, so whatever
else is due runs in between. An idle loop grants the turn in the next iteration.
"""

from __future__ import annotations

import asyncio
from collections import deque
import weakref


class _Turnstile:
    """Wakes one waiter per event-loop iteration, first come first served."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._releasing = False

    async def turn(self) -> None:
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        if not self._releasing:
            self._releasing = True
            self._loop.call_soon(self._release_one)
        await waiter

    def _release_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter gives its turn away
                waiter.set_result(None)
                break
        if self._waiters:
            self._loop.call_soon(self._release_one)
        else:
            self._releasing = False


_TURNSTILES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Turnstile] = (
    weakref.WeakKeyDictionary()
)


async def take_turn() -> None:
    """Wait for this loop iteration's turn (shared by every client on the loop)."""
    loop = asyncio.get_running_loop()
    turnstile = _TURNSTILES.get(loop)
    if turnstile is None:
        turnstile = _TURNSTILES[loop] = _Turnstile(loop)
    await turnstile.turn()
