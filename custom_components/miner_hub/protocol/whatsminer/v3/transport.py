"""The Whatsminer API v3 on the wire: framed JSON, one request at a time.

Every message is a 4-byte little-endian length followed by UTF-8 JSON, both
ways. Writes carry ``ts``, ``account`` and ``token`` = the first 8 characters of
base64(SHA-256(cmd + password + salt + ts)); the parameters of ``set.miner.pools``
and ``set.user.change_passwd`` are AES-256-ECB encrypted with that digest.
Never two requests at once to one miner (a lock of the gate). A connection
carries one request, except that the reads of one ``batch()`` share a connection
the miner keeps open (writes always open their own, so a failed one is never
ambiguous about reuse). Writes are signed with the miner's clock (the ``when`` of
its last reply), so a Home Assistant clock that is off does not make the miner
refuse them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
import json
import logging
import struct
import time
from typing import Any, Final, Unpack

from ...errors import (
    AuthFailed,
    ConnectionFailed,
    NoReply,
    ParseError,
    RequestTimeout,
)
from ...fields import as_str
from ...gate import Gate
from ...tcp import TcpOptions, TcpTransport
from ..crypto import v3_encrypt_param, v3_token
from .parse import raise_for_code

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4433
DEFAULT_ACCOUNT: Final = "super"
MAX_FRAME: Final = 1 << 20  # mdk's limit; the firmware's own is unknown
_HEADER = struct.Struct("<I")
_ENCRYPTED_PARAMS: Final = frozenset({"set.miner.pools", "set.user.change_passwd"})
_NO_REPLY_COMMANDS: Final = frozenset({"set.system.reboot"})


class V3Transport(TcpTransport):
    """Connections, the request lock, the salt and signing of one miner."""

    def __init__(
        self,
        host: str,
        port: int,
        password: str | None,
        account: str,
        gate: Gate,
        **options: Unpack[TcpOptions],
    ) -> None:
        """Nothing is sent until a request is made; writes are signed by ``clock``."""
        options.setdefault("clock", time.time)  # the wall clock: tokens carry it
        super().__init__(host, port, password, gate, **options)
        self.account = account
        self._clock_offset = 0.0  # miner clock - our clock, from the last reply
        self.salt: str | None = None
        self._batch_depth = 0  # batch() may nest: the outermost closes
        self._reuse = True  # until the miner ignores a request on a kept connection
        # A connection the miner kept open after its reply, reused in a batch.
        self._kept: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Reads inside share one connection, where the miner keeps it open."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            if not self._batch_depth:
                self._close_open()

    def _close_open(self) -> None:
        if self._kept is not None:
            self._kept[1].close()
            self._kept = None

    async def _exchange(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """Send one frame on a new connection; the reply, or None if none came.

        ConnectionFailed means nothing was sent; TimeoutError, OSError and
        IncompleteReadError mean the request may have reached the miner.
        """
        self._close_open()
        reader, writer = await self.open()
        try:
            reply = await self._send(reader, writer, request)
        except BaseException:
            writer.close()
            raise
        self._keep_or_close(reader, writer, reply)
        return reply

    def _keep_or_close(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        reply: dict[str, Any] | None,
    ) -> None:
        kept_open = reply is not None and not reader.at_eof()
        if self._batch_depth and self._reuse and kept_open:
            self._kept = (reader, writer)
        else:
            writer.close()

    async def _exchange_read(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """A read: on the connection kept open in a batch, else on a new one."""
        if (kept := self._kept) is not None:
            self._kept = None
            if (reply := await self._on_kept(kept, request)) is not None:
                return reply
        return await self._exchange(request)

    async def _on_kept(
        self,
        kept: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        request: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        """The reply on the kept connection; None if it is no longer usable.

        The read is then sent again on a new connection: reads are safe to repeat.
        """
        reader, writer = kept
        try:
            reply = await self._send(reader, writer, request)
        except TimeoutError:
            self._reuse = False  # the miner ignores a second request on a connection
            reply = None
        except OSError, asyncio.IncompleteReadError, ParseError:
            reply = None  # closed since its last reply, or out of step
        if reply is None or reply.get("desc", request["cmd"]) != request["cmd"]:
            writer.close()
            return None
        self._keep_or_close(reader, writer, reply)
        return reply

    async def _send(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: Mapping[str, Any],
    ) -> dict[str, Any] | None:
        payload = json.dumps(request, separators=(",", ":")).encode()
        writer.write(_HEADER.pack(len(payload)) + payload)
        await writer.drain()
        async with asyncio.timeout(self.read_timeout):
            reply = await self._read_frame(reader)
        if reply is not None and type(when := reply.get("when")) is int and when > 0:
            self._clock_offset = when - self._clock()
        return reply

    async def _read_frame(self, reader: asyncio.StreamReader) -> dict[str, Any] | None:
        try:
            header = await reader.readexactly(_HEADER.size)
        except asyncio.IncompleteReadError as err:
            if not err.partial:
                return None  # closed without a reply
            raise
        (length,) = _HEADER.unpack(header)
        if not 0 < length <= MAX_FRAME:
            raise ParseError(f"reply frame length {length} is out of range")
        body = await reader.readexactly(length)
        await self.take_turn()
        try:
            reply = json.loads(body)
        except ValueError as err:
            raise ParseError("the reply frame is not JSON") from err
        if not isinstance(reply, dict):
            raise ParseError("the reply frame is not a JSON object")
        return reply

    async def read(self, cmd: str, param: Any = None) -> Any:
        """A read (no token): the reply's ``msg``."""
        _LOGGER.debug("%s: read %s", self, cmd)
        async with self.lock:
            try:
                reply = await self._exchange_read({"cmd": cmd, "param": param})
            except (TimeoutError, asyncio.IncompleteReadError) as err:
                raise RequestTimeout(f"{cmd}: no reply in time") from err
            except OSError as err:
                raise ConnectionFailed(f"{cmd}: connection lost") from err
        if reply is None:
            raise ConnectionFailed(f"{cmd}: the miner closed without replying")
        raise_for_code(reply, cmd)
        return reply.get("msg")

    def forget_salt(self) -> None:
        """Drop the cached salt (the next write asks the miner for it again)."""
        self.salt = None

    async def _salt_value(self, refresh: bool = False) -> str:
        if self.salt is None or refresh:
            msg = await self.read("get.device.info", "salt")
            salt = as_str(msg.get("salt")) if isinstance(msg, dict) else None
            if salt is None:
                raise ParseError("get.device.info: no salt")
            self.salt = salt
        return self.salt

    def _signed(self, cmd: str, param: Any, salt: str) -> dict[str, Any]:
        if self.password is None:
            raise AuthFailed("no password configured", command=cmd)
        ts = round(self._clock() + self._clock_offset)
        sign, digest = v3_token(cmd, self.password, salt, ts)
        if cmd in _ENCRYPTED_PARAMS:
            param = v3_encrypt_param(digest, param)
        return {
            "cmd": cmd,
            "param": param,
            "ts": ts,
            "token": sign,
            "account": self.account,
        }

    async def write(self, cmd: str, param: Any = None) -> bool:
        """Send a write; True when the miner confirmed it, False for no reply.

        A -4 first refreshes the cached salt (the password may have changed it)
        and tries once more: a rejected token means nothing was done.
        """
        _LOGGER.debug("%s: write %s", self, cmd)
        for attempt in (1, 2):
            salt = await self._salt_value(refresh=attempt == 2)
            request = self._signed(cmd, param, salt)
            async with self.lock:
                try:
                    reply = await self._exchange(request)
                except (TimeoutError, OSError, asyncio.IncompleteReadError) as err:
                    raise NoReply(cmd) from err
                except ParseError as err:  # sent, answered unreadably: as for v2
                    raise NoReply(cmd, "unreadable reply") from err
            if reply is None:
                if cmd in _NO_REPLY_COMMANDS:
                    return False
                raise NoReply(cmd)
            try:
                raise_for_code(reply, cmd)
            except AuthFailed:
                if attempt == 2:
                    raise
                continue
            return True
        raise AssertionError("unreachable")  # pragma: no cover
