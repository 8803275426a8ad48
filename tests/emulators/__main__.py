"""Run a device emulator until Ctrl-C: ``python -m tests.emulators <kind> [options]``.

Each device kind is a subcommand registered in ``KINDS`` (an argument parser set-up
and an async runner), so other miners can be added next to ``whatsminer``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
import contextlib
import logging
from typing import Any

from .dragonmint import DEFAULT_MAC, DragonMintEmulator
from .whatsminer_v2 import PROFILES, WhatsminerV2Emulator

_LOGGER = logging.getLogger("tests.emulators")

Runner = Callable[[argparse.Namespace], Coroutine[Any, Any, None]]


def _whatsminer_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4028, help="TCP port (0 = any)")
    parser.add_argument("--password", default="admin", help="admin password")
    parser.add_argument("--profile", choices=PROFILES, default="2.2")
    parser.add_argument("--mac", help="MAC address to report")
    parser.add_argument("--hostname", help="hostname to report")
    parser.add_argument(
        "--write-api",
        choices=("on", "off"),
        default="on",
        help="state of the Miner API switch (writes answer Code 45 when off)",
    )
    parser.add_argument("--noise", action="store_true", help="jitter the readings")


async def _run_whatsminer(args: argparse.Namespace) -> None:
    emulator = WhatsminerV2Emulator(
        password=args.password,
        profile=args.profile,
        host=args.host,
        port=args.port,
        mac=args.mac,
        hostname=args.hostname,
        noise=args.noise,
    )
    emulator.state.write_api_enabled = args.write_api == "on"
    async with emulator:
        _LOGGER.info(
            "Whatsminer API v2 emulator listening on %s:%s (Ctrl-C to stop)",
            emulator.host,
            emulator.port,
        )
        await asyncio.Event().wait()


def _dragonmint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="HTTP port (0 = any)")
    parser.add_argument(
        "--innosilicon", action="store_true", help="Innosilicon firmware (admin/admin)"
    )
    parser.add_argument("--password", help="admin password (default: the firmware's)")
    parser.add_argument("--guest-password", help="guest password")
    parser.add_argument("--mac", default=DEFAULT_MAC, help="MAC address to report")


async def _run_dragonmint(args: argparse.Namespace) -> None:
    emulator = DragonMintEmulator(
        host=args.host,
        port=args.port,
        innosilicon=args.innosilicon,
        mac=args.mac,
        admin_password=args.password,
        guest_password=args.guest_password,
    )
    async with emulator:
        _LOGGER.info(
            "DragonMint emulator listening on %s (admin password %r; Ctrl-C to stop)",
            emulator.url,
            emulator.admin_password,
        )
        await asyncio.Event().wait()


KINDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Runner]] = {
    "whatsminer": (
        "MicroBT Whatsminer, API v2 on TCP 4028",
        _whatsminer_arguments,
        _run_whatsminer,
    ),
    "dragonmint": (
        "DragonMint / Halong T1 web API over HTTP (--innosilicon: Innosilicon)",
        _dragonmint_arguments,
        _run_dragonmint,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.emulators", description="Run a miner emulator."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, (help_text, add_arguments, _) in KINDS.items():
        add_arguments(kinds.add_parser(kind, help=help_text, description=help_text))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(KINDS[args.kind][2](args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
