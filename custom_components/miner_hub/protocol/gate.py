"""What the clients of one owner share: per-device state, and fair turns.

A Whatsminer takes one request at a time and limits the write tokens it issues;
a pool account wants its calls spaced. Every client of one device (or account)
must therefore see the same lock and the same cached token, whichever object
sends the request. That state lives in one :class:`Gate`, created once by its
owner and passed to every client: Home Assistant keeps one per instance, next to
its shared aiohttp session; a library user creates their own. A client given no
gate makes a private one (it then shares nothing).

A gate serves one event loop, as the asyncio locks it hands out do.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import cast


class Turnstile:
    """Wakes one waiter per event-loop iteration, first come first served.

    When hundreds of miners answer within the same moment, every reply would be
    decoded in one loop iteration, and every other task (timers, the frontend,
    other integrations) would wait for all of them. A client takes a turn before
    the work that follows a reply; one turn is granted per iteration, so whatever
    else is due runs in between. An idle loop grants the turn in the next one.
    """

    def __init__(self) -> None:
        """Bound to the running loop at the first turn."""
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._releasing = False

    async def turn(self) -> None:
        """Wait for this loop iteration's turn."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiters.append(waiter)
        if not self._releasing:
            self._releasing = True
            loop.call_soon(self._release_one, loop)
        await waiter

    def _release_one(self, loop: asyncio.AbstractEventLoop) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled waiter gives its turn away
                waiter.set_result(None)
                break
        if self._waiters:
            loop.call_soon(self._release_one, loop)
        else:
            self._releasing = False


class Gate:
    """Per-device locks and state, and the fair turns of one owner's clients.

    Keys name a device or an account: ``(host, port)`` for a miner's TCP API,
    ``("spiderpool", access_key)`` for a pool account.
    """

    def __init__(self) -> None:
        """Empty: state is made when a client first asks for it."""
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._states: dict[tuple[type, Hashable], object] = {}
        self._turnstile = Turnstile()

    def lock(self, key: Hashable) -> asyncio.Lock:
        """The lock that keeps requests to one device one at a time."""
        if (lock := self._locks.get(key)) is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def state[S](self, kind: type[S], key: Hashable) -> S:
        """The ``kind`` of state clients keep for one device, made on first use.

        Whatsminer API v2 keeps its write token here, a pool client its spacing.
        """
        state = self._states.get((kind, key))
        if state is None:
            state = self._states[kind, key] = kind()
        return cast(S, state)

    async def take_turn(self) -> None:
        """Wait for this loop iteration's turn (see :class:`Turnstile`)."""
        await self._turnstile.turn()
