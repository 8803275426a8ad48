"""Typed errors of the protocol layer.

Messages never contain secrets (passwords, keys, signs, tokens): they name the
command and, where the device gave one, its code and message.
"""

from __future__ import annotations


class MinerHubError(Exception):
    """Base class of every protocol error."""


class ConnectionFailed(MinerHubError):
    """The device could not be reached, or the connection broke before a reply."""


class RequestTimeout(ConnectionFailed):
    """The device did not answer a read in time."""


class Unreachable(ConnectionFailed):
    """No connection could be opened: refused, unreachable or never accepted.

    Unlike a connection the device accepted and then stalled or cut, this is
    what a port looks like where nothing listens any more.
    """


class ConnectTimeout(RequestTimeout, Unreachable):
    """Nothing accepted the connection in time."""


class ServiceNotRunning(ConnectionFailed):
    """The device answers, but its mining service does not (e.g. btminer is off)."""


class ParseError(MinerHubError):
    """The device's reply could not be understood."""


class DeviceError(MinerHubError):
    """The device answered with an error status."""

    def __init__(self, message: str, *, command: str, code: int | None = None) -> None:
        """Keep the command and the device's code next to its message."""
        super().__init__(message)
        self.command = command
        self.code = code
        self.device_message = message


class AuthFailed(DeviceError):
    """The password (or key) was rejected."""


class WriteApiDisabled(DeviceError):
    """The device refuses write commands until its write API is enabled."""


class UnsupportedCommand(DeviceError):
    """The firmware does not know this command."""


class CommandRejected(DeviceError):
    """The device understood the command but refused to carry it out."""


class NotFound(CommandRejected):
    """The device or service does not know the requested item."""


class RateLimited(DeviceError):
    """The device (or service) refuses more requests for now."""

    def __init__(
        self,
        message: str,
        *,
        command: str,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """``retry_after``: seconds to wait before asking again, when known."""
        super().__init__(message, command=command, code=code)
        self.retry_after = retry_after


class NoReply(MinerHubError):
    """A write was sent but no reply came: its outcome is unknown.

    Commands that restart the miner often close without replying; the caller
    must confirm the effect by polling, never by sending the command again.
    """

    def __init__(self, command: str, reason: str = "no reply") -> None:
        """Name the command whose outcome is unknown."""
        super().__init__(f"{command}: sent, {reason} (outcome unknown)")
        self.command = command


class InvalidParameter(MinerHubError, ValueError):
    """A parameter was rejected before anything was sent."""
