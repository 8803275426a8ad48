"""The Whatsminer API v2 on the wire: one request per connection, tokens cached.

One request per TCP connection, as the firmware requires. Requests to one miner
never run in parallel (a lock of the gate), and the write token is cached per
miner in the gate, so every client of the miner reuses it across connections
until shortly before the firmware expires it: the miner limits how many tokens
it issues.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from functools import cached_property
import hashlib
import json
import logging
from typing import Any, Final

from ...errors import (
    AuthFailed,
    CommandRejected,
    ConnectionFailed,
    NoReply,
    ParseError,
    RateLimited,
    RequestTimeout,
)
from ...tcp import TcpTransport
from ..crypto import Token, decrypt, encrypt
from . import parse
from .models import TokenChallenge, WriteResult

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4028
# The firmware expires a sign after 30 minutes; renew a little earlier.
TOKEN_LIFETIME: Final = 25 * 60.0
# After "token over max times" the miner refuses tokens for a while: don't hammer it.
TOKEN_LIMIT_BACKOFF: Final = 5 * 60.0
_IDLE_EXPIRY_MARGIN: Final = 0.8
# Commands that restart btminer or the miner and often close without replying.
_MAY_CLOSE_WITHOUT_REPLY: Final = frozenset(
    {
        "reboot",
        "restart_btminer",
        "power_off",
        "set_low_power",
        "set_normal_power",
        "set_high_power",
    }
)
# A rebooting miner may vanish without closing: the client's timeout ends it.
_MAY_HANG_WITHOUT_REPLY: Final = frozenset({"reboot"})


@dataclass(slots=True)
class TokenCache:
    """The write token of one miner, shared by all its clients through the gate."""

    token: Token | None = None
    owner: str | None = None  # fingerprint of the password the token is for
    idle_timeout_s: int | None = None
    last_used: float = 0.0
    backoff_until: float = 0.0


def _fingerprint(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


class V2Transport(TcpTransport):
    """Connections, the request lock, the token and encryption of one miner."""

    token_lifetime = TOKEN_LIFETIME
    token_limit_backoff = TOKEN_LIMIT_BACKOFF

    @cached_property
    def _tokens(self) -> TokenCache:
        """The miner's token, shared through the gate with its other clients."""
        return self._gate.state(TokenCache, (self.host, self.port))

    @property
    def token_age(self) -> float | None:
        """Seconds since the cached token was obtained (None: no token)."""
        token = self._tokens.token
        return None if token is None else self._clock() - token.obtained_at

    # --- connections --------------------------------------------------------

    async def read_to_eof(self, reader: asyncio.StreamReader) -> bytes:
        """Read until the miner closes; on timeout keep what arrived, if anything."""
        buffer = bytearray()
        try:
            async with asyncio.timeout(self.read_timeout):
                while chunk := await reader.read(65536):
                    buffer += chunk
        except TimeoutError:
            if not buffer:
                raise
        return bytes(buffer)

    async def _exchange(self, payload: bytes) -> bytes:
        """Send one request on a new connection and return the raw reply.

        Raises ConnectionFailed before anything was sent; TimeoutError or OSError
        once the request may have reached the miner.
        """
        reader, writer = await self.open()
        try:
            writer.write(payload)
            await writer.drain()
            raw = await self.read_to_eof(reader)
        finally:
            writer.close()
            with suppress(OSError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()
        await self.take_turn()  # before the reply is decoded
        return raw

    # --- plaintext reads ----------------------------------------------------

    async def _request(self, command: str, payload: bytes) -> parse.Reply:
        """One plaintext request (call with the lock held)."""
        try:
            raw = await self._exchange(payload)
        except TimeoutError as err:
            raise RequestTimeout(f"{command}: no reply in time") from err
        except OSError as err:
            raise ConnectionFailed(f"{command}: connection lost") from err
        if not raw:
            raise ConnectionFailed(f"{command}: the miner closed without replying")
        return parse.decode(raw)

    async def read(self, command: str, **params: str) -> parse.Reply:
        """A plaintext read; the reply as it came (its status not yet checked)."""
        payload = json.dumps({"cmd": command, **params}).encode()
        _LOGGER.debug("%s: read %s", self, command)
        async with self.lock:
            return await self._request(command, payload)

    # --- token --------------------------------------------------------------

    def require_password(self) -> str:
        """The password; AuthFailed when none is configured."""
        if self.password is None:
            raise AuthFailed("no password configured", command="get_token")
        return self.password

    def _cached_token(self, owner: str) -> Token | None:
        cache, now = self._tokens, self._clock()
        token = cache.token
        if token is None or cache.owner != owner:
            return None
        if now - token.obtained_at >= self.token_lifetime:
            return None
        idle = cache.idle_timeout_s
        if idle and now - cache.last_used >= idle * _IDLE_EXPIRY_MARGIN:
            return None
        return token

    async def token(self) -> Token:
        """The cached token, or a new one (call with the lock held)."""
        password = self.require_password()
        cache, owner = self._tokens, _fingerprint(password)
        if token := self._cached_token(owner):
            return token
        now = self._clock()
        if now < cache.backoff_until:
            wait = int(cache.backoff_until - now)
            raise RateLimited(
                f"token limit reached; retrying in {wait} s", command="get_token"
            )
        challenge = await self._fetch_challenge()
        token = Token.derive(
            password, challenge.salt, challenge.newsalt, challenge.time, self._clock()
        )
        cache.token, cache.owner = token, owner
        cache.idle_timeout_s = challenge.timeout_s
        return token

    async def _fetch_challenge(self) -> TokenChallenge:
        reply = await self._request("get_token", b'{"cmd":"get_token"}')
        try:
            parse.raise_for_status(reply, "get_token")
        except RateLimited:
            self._tokens.backoff_until = self._clock() + self.token_limit_backoff
            raise
        return parse.token_challenge_from(parse.message_object(reply, "get_token"))

    def forget_token(self) -> None:
        """Drop the cached token (the next write fetches a new one)."""
        self._tokens.token = None

    def mark_used(self) -> None:
        """The token was just used: its idle expiry starts again."""
        self._tokens.last_used = self._clock()

    # --- encrypted requests -------------------------------------------------

    def envelope(self, token: Token, command: str, params: Mapping[str, Any]) -> bytes:
        """The encrypted request of ``command``."""
        plaintext = json.dumps(
            {"cmd": command, **params, "token": token.sign}, separators=(",", ":")
        )
        data = encrypt(token.aes_key, plaintext.encode())
        return json.dumps({"enc": 1, "data": data}).encode()

    def open_reply(self, raw: bytes, token: Token, command: str) -> parse.Reply:
        """Decode an encrypted reply; plaintext errors come before decryption."""
        reply = parse.decode(raw)
        parse.raise_for_status(reply, command, encrypted=True)
        ciphertext = reply.get("enc")
        if isinstance(ciphertext, str):
            reply = parse.decode(decrypt(token.aes_key, ciphertext))
            parse.raise_for_status(reply, command, encrypted=True)
        return reply

    async def _encrypted(
        self, command: str, params: Mapping[str, Any], *, write: bool
    ) -> parse.Reply | None:
        """Send an encrypted request; None when a write got no reply.

        Retries once with a new token when the miner says the token is stale
        (code 135: it rejected the command before running it). Never retries
        anything whose outcome is unknown.
        """
        _LOGGER.debug(
            "%s: %s %s", self, "write" if write else "encrypted read", command
        )
        async with self.lock:
            for attempt in (1, 2):
                token = await self.token()
                try:
                    return await self._send_encrypted(command, params, token, write)
                except parse.StaleToken as err:
                    self.forget_token()
                    if attempt == 2:
                        raise CommandRejected(
                            "the miner rejected a fresh token",
                            command=command,
                            code=err.code,
                        ) from err
                except AuthFailed:
                    self.forget_token()
                    raise
                finally:
                    self.mark_used()
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send_encrypted(
        self, command: str, params: Mapping[str, Any], token: Token, write: bool
    ) -> parse.Reply | None:
        payload = self.envelope(token, command, params)
        try:
            raw = await self._exchange(payload)
        except TimeoutError as err:
            if not write:
                raise RequestTimeout(f"{command}: no reply in time") from err
            # Silence on a connection the miner keeps open: the outcome is
            # unknown, unless the miner reboots (it vanishes without closing).
            if command not in _MAY_HANG_WITHOUT_REPLY:
                raise NoReply(command) from err
            return None
        except OSError as err:
            if write:
                return None
            raise RequestTimeout(f"{command}: no reply in time") from err
        if not raw:
            if write:
                return None
            raise ConnectionFailed(f"{command}: the miner closed without replying")
        try:
            return self.open_reply(raw, token, command)
        except ParseError as err:
            if write:
                raise NoReply(command, "unreadable reply") from err
            raise

    async def write(
        self, command: str, params: Mapping[str, Any] | None = None
    ) -> WriteResult:
        """An encrypted write; commands that restart the miner may not reply."""
        reply = await self._encrypted(command, params or {}, write=True)
        if reply is None:
            if command in _MAY_CLOSE_WITHOUT_REPLY:
                _LOGGER.debug("%s: %s sent, no reply", self, command)
                return WriteResult(command, replied=False)
            raise NoReply(command)
        return WriteResult(command, replied=True, message=reply.get("Msg"))

    async def encrypted_read(self, command: str) -> parse.Reply:
        """A read of the writable API (encrypted, with the token)."""
        reply = await self._encrypted(command, {}, write=False)
        if reply is None:  # pragma: no cover - reads raise instead of returning None
            raise RequestTimeout(f"{command}: no reply")
        return reply
