"""Two-phase transfers of API v2 (Manual §3.7, §3.12): logs down, firmware up.

Both start as an encrypted command; the miner answers with a JSON header, then
binary data follows on the same connection (the log file), or the client sends
the firmware's size and image and the miner closes to reboot into it.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
import struct

from ...errors import NoReply, ParseError
from ...fields import as_int
from . import parse
from .transport import V2Transport


async def transfer(
    transport: V2Transport, command: str, *, upload: bytes | None
) -> bytes:
    """Run ``download_logs`` (the log) or ``update_firmware`` (b"") on one connection.

    Anything cut short after the command was sent is NoReply: the outcome is
    unknown, and the command is never sent again.
    """
    async with transport.lock:
        token = await transport.token()
        reader, writer = await transport.open()
        try:
            writer.write(transport.envelope(token, command, {}))
            await writer.drain()
            header, rest = await _read_header(transport, reader, command)
            reply = transport.open_reply(header, token, command)
            if upload is not None:
                await _upload(transport, reader, writer, upload)
                return b""
            return await _read_log(transport, reader, reply, rest)
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as err:
            raise NoReply(command, "transfer interrupted") from err
        finally:
            transport.mark_used()
            writer.close()


async def _upload(
    transport: V2Transport,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    data: bytes,
) -> None:
    """Send the size and the image, then wait until the miner has taken it all.

    The miner does not reply; it closes the connection to reboot. A miner that
    keeps the connection open past the timeout has received the image as well.
    """
    writer.write(struct.pack("<I", len(data)) + data)
    await writer.drain()
    writer.write_eof()
    with suppress(TimeoutError):
        await transport.read_to_eof(reader)


async def _read_header(
    transport: V2Transport, reader: asyncio.StreamReader, command: str
) -> tuple[bytes, bytes]:
    """Read the JSON header; binary data may follow in the same packet."""
    buffer = bytearray()
    async with asyncio.timeout(transport.read_timeout):
        while (end := json_object_end(buffer)) is None:
            chunk = await reader.read(65536)
            if not chunk:
                raise NoReply(command, "the miner closed before the header")
            buffer += chunk
    return bytes(buffer[:end]), bytes(buffer[end:])


async def _read_log(
    transport: V2Transport,
    reader: asyncio.StreamReader,
    reply: parse.Reply,
    rest: bytes,
) -> bytes:
    message = parse.message_object(reply, "download_logs")
    length = as_int(message.get("logfilelen"))
    if length is None or length < 0:
        raise ParseError("download_logs: the header has no log length")
    rest = rest[:length]
    async with asyncio.timeout(transport.read_timeout):
        return rest + await reader.readexactly(length - len(rest))


def json_object_end(buffer: bytes | bytearray) -> int | None:
    """Index just past the first complete top-level JSON object, if any."""
    depth, in_string, escaped = 0, False, False
    start = buffer.find(b"{")
    if start < 0:
        return None
    for index in range(start, len(buffer)):
        byte = buffer[index]
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte == 0x7B:  # {
            depth += 1
        elif byte == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return index + 1
    return None
