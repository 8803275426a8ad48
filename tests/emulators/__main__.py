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
import os
import sys
from typing import Any

from .dragonmint import DEFAULT_MAC, DragonMintEmulator
from .spiderpool import SpiderpoolEmulator
from .whatsminer_v2 import PROFILES, WhatsminerV2Emulator
from .whatsminer_v3 import DEFAULT_ACCOUNT, V3_FACTORY_PASSWORD, WhatsminerV3Emulator

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


def _spiderpool_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8443, help="HTTP port (0 = any)")
    parser.add_argument("--workers", type=int, default=12, help="workers to emulate")
    parser.add_argument("--coin", default="btc", help="coin of the sub-account")
    parser.add_argument("--subaccount", default="homeminer", help="sub-account name")
    parser.add_argument(
        "--envelope",
        choices=("success", "code200"),
        default="success",
        help='shape of /v2/subaccount and /v2/worker replies ("code200": code 200)',
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the key pair, access key and data"
    )
    parser.add_argument(
        "--key-file", help="also write the private key (bare base64 PKCS#8) here"
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="requests per second and access key (0 = no limit)",
    )


def _write_private_key(path: str, key: str) -> None:
    """Write the key readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(key + "\n")
    os.chmod(path, 0o600)


async def _run_spiderpool(args: argparse.Namespace) -> None:
    emulator = SpiderpoolEmulator(
        host=args.host,
        port=args.port,
        workers=args.workers,
        coin=args.coin,
        subaccount=args.subaccount,
        envelope=args.envelope,
        seed=args.seed,
    )
    if args.rate_limit > 0:
        emulator.faults.rate_limit_per_second = args.rate_limit
    if args.key_file:
        await asyncio.to_thread(
            _write_private_key, args.key_file, emulator.private_key_b64
        )
    async with emulator:
        # Machine-readable lines for scripts/develop (the client's api_url is the URL).
        sys.stdout.write(
            f"SPIDERPOOL_URL={emulator.url}\n"
            f"SPIDERPOOL_ACCESS_KEY={emulator.access_key}\n"
            f"SPIDERPOOL_PRIVATE_KEY={emulator.private_key_b64}\n"
            f"SPIDERPOOL_COIN={args.coin}\n"
            f"SPIDERPOOL_SUBACCOUNT={args.subaccount}\n"
        )
        sys.stdout.flush()
        _LOGGER.info(
            "Spiderpool API emulator listening on %s (Ctrl-C to stop)", emulator.url
        )
        await asyncio.Event().wait()


def _whatsminer_v3_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=4433, help="API v3 port (0 = any)")
    parser.add_argument(
        "--v2-port", type=int, default=4028, help="reduced v2 API port (0 = any)"
    )
    parser.add_argument("--password", default=V3_FACTORY_PASSWORD, help="password")
    parser.add_argument("--account", default=DEFAULT_ACCOUNT, help="super account")
    parser.add_argument("--mac", help="MAC address to report")
    parser.add_argument("--hostname", help="hostname to report")
    parser.add_argument(
        "--keep-alive", action="store_true", help="keep connections open after replies"
    )
    parser.add_argument(
        "--write-api",
        choices=("on", "off"),
        default="on",
        help="state of the Miner API switch (writes answer -4 when off)",
    )
    parser.add_argument(
        "--ts-skew",
        type=float,
        default=60.0,
        help="seconds a write's ts may be off the miner clock (negative = any)",
    )
    parser.add_argument("--noise", action="store_true", help="jitter the readings")


async def _run_whatsminer_v3(args: argparse.Namespace) -> None:
    emulator = WhatsminerV3Emulator(
        password=args.password,
        host=args.host,
        port=args.port,
        v2_port=args.v2_port,
        account=args.account,
        mac=args.mac,
        hostname=args.hostname,
        keep_alive=args.keep_alive,
        noise=args.noise,
    )
    emulator.state.write_api_enabled = args.write_api == "on"
    emulator.faults.ts_skew = args.ts_skew if args.ts_skew >= 0 else None
    async with emulator:
        _LOGGER.info(
            "Whatsminer API v3 emulator listening on %s:%s, reduced v2 API on "
            "port %s (Ctrl-C to stop)",
            emulator.host,
            emulator.port,
            emulator.v2.port,
        )
        await asyncio.Event().wait()


KINDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Runner]] = {
    "whatsminer": (
        "MicroBT Whatsminer, API v2 on TCP 4028",
        _whatsminer_arguments,
        _run_whatsminer,
    ),
    "whatsminer-v3": (
        "MicroBT Whatsminer, API v3 on TCP 4433 and the reduced v2 API on 4028",
        _whatsminer_v3_arguments,
        _run_whatsminer_v3,
    ),
    "dragonmint": (
        "DragonMint / Halong T1 web API over HTTP (--innosilicon: Innosilicon)",
        _dragonmint_arguments,
        _run_dragonmint,
    ),
    "spiderpool": (
        "Spiderpool mining-pool API v2 over plain HTTP (signed requests)",
        _spiderpool_arguments,
        _run_spiderpool,
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
