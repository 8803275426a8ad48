"""The emulator side of the benchmark, in a process of its own.

Emulators run here so that the CPU time of a client process is the client's
alone. Each miner can sit behind a counting proxy that sees what a client costs
the miner: TCP connections, bytes each way and connections open at once.
``python -m tests.bench.serve`` prints one JSON line with its control port, then
answers JSON-line requests on that port (see ``Server.handle``).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
import json
import logging
import resource
import sys
from typing import Any

from tests.emulators._listener import close_writer
from tests.emulators.dragonmint import DragonMintEmulator
from tests.emulators.whatsminer_v2 import WhatsminerV2Emulator
from tests.emulators.whatsminer_v3 import WhatsminerV3Emulator

HOST = "127.0.0.1"
PASSWORD = "bench1"  # at most 8 letters, digits or _ (the v2 firmware's rule)
KINDS = ("whatsminer_v2", "whatsminer_v3", "dragonmint")

type Emulator = WhatsminerV2Emulator | WhatsminerV3Emulator | DragonMintEmulator


@dataclass
class Traffic:
    """What clients cost one miner, as its proxy saw it."""

    connections: int = 0
    bytes_sent: int = 0  # client -> miner
    bytes_received: int = 0  # miner -> client
    # Requests in flight: sent, and not yet answered (by a byte of reply).
    in_flight: int = 0
    max_in_flight: int = 0


class CountingProxy:
    """Forwards 127.0.0.1:port to a miner's port, counting the traffic."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.traffic = Traffic()
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        self.traffic.connections += 1
        try:
            miner_reader, miner_writer = await asyncio.open_connection(
                HOST, self.target_port
            )
        except OSError:
            client_writer.transport.abort()  # as the miner did: refused
            return
        # [request waiting for its reply, miner side closed]
        awaiting = [False, False]
        try:
            await asyncio.gather(
                self._pipe(client_reader, miner_writer, awaiting, upstream=True),
                self._pipe(miner_reader, client_writer, awaiting, upstream=False),
            )
        finally:
            if awaiting[0]:
                self.traffic.in_flight -= 1
            await close_writer(miner_writer)
            await close_writer(client_writer)

    def _count(self, chunk: bytes, awaiting: list[bool], *, upstream: bool) -> None:
        traffic = self.traffic
        if upstream:
            traffic.bytes_sent += len(chunk)
            # A request sent after the miner closed never reaches it.
            if not awaiting[0] and not awaiting[1]:
                awaiting[0] = True
                traffic.in_flight += 1
                traffic.max_in_flight = max(traffic.max_in_flight, traffic.in_flight)
        else:
            traffic.bytes_received += len(chunk)
            if awaiting[0]:
                awaiting[0] = False
                traffic.in_flight -= 1

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        awaiting: list[bool],
        *,
        upstream: bool,
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                self._count(chunk, awaiting, upstream=upstream)
                writer.write(chunk)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            writer.transport.abort()
        finally:
            if not upstream:  # the miner has closed: nothing is in flight
                awaiting[1] = True
                if awaiting[0]:
                    awaiting[0] = False
                    self.traffic.in_flight -= 1


def _mac(kind_index: int, index: int) -> str:
    return f"C4:11:{kind_index:02X}:{index >> 16 & 0xFF:02X}:{index >> 8 & 0xFF:02X}:{index & 0xFF:02X}"


def _emulator(kind: str, index: int, *, keep_alive: bool) -> Emulator:
    mac = _mac(KINDS.index(kind), index)
    hostname = f"bench-{kind}-{index}"
    if kind == "whatsminer_v2":
        return WhatsminerV2Emulator(
            password=PASSWORD, host=HOST, mac=mac, hostname=hostname, seed=index
        )
    if kind == "whatsminer_v3":
        return WhatsminerV3Emulator(
            password=PASSWORD,
            host=HOST,
            mac=mac,
            hostname=hostname,
            seed=index,
            keep_alive=keep_alive,
        )
    return DragonMintEmulator(
        host=HOST, mac=mac.lower(), admin_password=PASSWORD, seed=index, noise=False
    )


def _mac_of(emulator: Emulator) -> str:
    if isinstance(emulator, DragonMintEmulator):
        return emulator.state.ethaddr
    return emulator.state.mac


def _ports(emulator: Emulator) -> dict[str, int]:
    """The ports a client uses: the main one, and v2's beside a v3 API."""
    if isinstance(emulator, WhatsminerV3Emulator):
        return {"port": emulator.v2.port, "v3_port": emulator.port}
    return {"port": emulator.port}


class Server:
    """Starts groups of emulated miners and reports their traffic."""

    def __init__(self) -> None:
        self.groups: dict[str, list[Emulator]] = {}
        self.proxies: dict[str, list[CountingProxy]] = {}

    async def handle(self, request: dict[str, Any]) -> Any:
        """One control request; the reply is JSON."""
        match request["op"]:
            case "start":
                return await self._start(
                    request["group"],
                    request["kind"],
                    request["count"],
                    request.get("latency", 0.0),
                    proxied=request.get("proxied", False),
                    keep_alive=request.get("keep_alive", False),
                )
            case "traffic":
                return [asdict(p.traffic) for p in self.proxies[request["group"]]]
            case "reset_traffic":
                for proxy in self.proxies[request["group"]]:
                    proxy.traffic = Traffic()
                return None
            case "stop":
                await self._stop(request["group"])
                return None
        raise ValueError(f"unknown op {request['op']!r}")

    async def _start(
        self,
        group: str,
        kind: str,
        count: int,
        latency: float,
        *,
        proxied: bool,
        keep_alive: bool,
    ) -> list[dict[str, Any]]:
        emulators = [
            _emulator(kind, index, keep_alive=keep_alive) for index in range(count)
        ]
        miners = []
        proxies = []
        for emulator in emulators:
            await emulator.start()
            emulator.faults.latency = latency
            if isinstance(emulator, WhatsminerV3Emulator):
                emulator.v2.faults.latency = latency
            ports = _ports(emulator)
            if proxied:
                for name, port in ports.items():
                    proxy = CountingProxy(port)
                    await proxy.start()
                    proxies.append(proxy)
                    ports[name] = proxy.port
            miners.append(
                {"kind": kind, "host": HOST, "mac": _mac_of(emulator), **ports}
            )
        self.groups[group] = list(emulators)
        self.proxies[group] = proxies
        return miners

    async def _stop(self, group: str) -> None:
        for proxy in self.proxies.pop(group, []):
            await proxy.stop()
        for emulator in self.groups.pop(group, []):
            await emulator.stop()

    async def serve_control(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """JSON lines in, JSON lines out, until the client closes."""
        while line := await reader.readline():
            try:
                reply = {"ok": await self.handle(json.loads(line))}
            except Exception as err:
                reply = {"error": repr(err)}
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        await close_writer(writer)


def raise_open_file_limit() -> None:
    """Hundreds of miners want more than the usual 1024 descriptors."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    raise_open_file_limit()
    server = Server()
    control = await asyncio.start_server(server.serve_control, HOST, 0)
    port = control.sockets[0].getsockname()[1]
    print(json.dumps({"control_port": port}), flush=True)
    # Runs until the benchmark closes our stdin (or dies).
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for group in list(server.groups):
        await server._stop(group)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
