"""``scripts/develop``: Home Assistant with Miner Hub and emulated devices.

Starts the emulators, then ``hass`` with the repository's ``config/`` on
127.0.0.1:8123. A new instance is onboarded with the owner below and every
device is added through the config flow API, and the Spiderpool account's
options name the price helpers of ``configuration.yaml`` (its miners then show
their electricity cost, profit and break-even price); a second run logs in and
finds them configured, and keeps the account's options as they are. Ctrl-C
stops Home Assistant, then the emulators.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal
import sys
import time
from typing import Final

import aiohttp

from .devices import ConfigFlow, EmulatedDevices, Ports
from .hass import (
    DOMAIN,
    REPOSITORY,
    HomeAssistantApi,
    HomeAssistantProcess,
    Owner,
)

OWNER: Final = Owner("Developer", "dev", "miner-hub-dev")
# A pool account's options (step "prices"): the input_number helpers of
# config/configuration.yaml.
PRICES_STEP: Final = "prices"
PRICE_OPTIONS: Final = {
    "electricity_price": "input_number.electricity_price",
    "bitcoin_price": "input_number.bitcoin_price",
}
POOL: Final = "spiderpool"  # the menu step that adds a pool account
RESTART_EXIT_CODE: Final = 100  # hass asks its runner to start it again


def say(message: str) -> None:
    sys.stdout.write(f"==> {message}\n")
    sys.stdout.flush()


async def develop(config_dir: Path, port: int) -> int:
    started = time.monotonic()
    stop_on_signals()
    async with EmulatedDevices(Ports()) as devices:
        say(
            "emulators on 127.0.0.1: "
            + ", ".join(f.name for f in devices.config_flows())
        )
        hass = HomeAssistantProcess(config_dir, port)
        try:
            async with aiohttp.ClientSession() as session:
                api = HomeAssistantApi(session, hass.url)
                await hass.start()
                await api.wait_until_up(hass)
                if await api.onboard_or_log_in(OWNER):
                    say(f"onboarded a new Home Assistant in {config_dir}")
                await api.confirm_http_config(config_dir)
                await api.wait_until_running()
                # The account and its prices first: the miners then get their
                # money sensors at setup, before they are put in areas (an
                # entity created later would take the area into its ID).
                flows = devices.config_flows()
                await add_devices(api, [f for f in flows if f.menu_step == POOL])
                await wait_until_loaded(api)
                await set_prices(api)
                await wait_until_loaded(api)  # reloaded with its prices
                await add_devices(api, [f for f in flows if f.menu_step != POOL])
                await wait_until_loaded(api)
                for placed in await api.put_devices_in_areas(devices.areas()):
                    say(f"put {placed}")
                print_ready(hass.url, time.monotonic() - started)
                while (code := await hass.wait()) == RESTART_EXIT_CODE:
                    say("Home Assistant restarts")
                    await hass.start()
                return code
        finally:
            await hass.stop()


def stop_on_signals() -> None:
    """Ctrl-C or a termination stops Home Assistant, then the emulators.

    Also when started in the background, where SIGINT comes ignored. Only the
    first signal cancels: a second one must not interrupt Home Assistant's stop.
    """
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, say, "stopping…")
        main_task.cancel()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop)


async def add_devices(api: HomeAssistantApi, flows: list[ConfigFlow]) -> None:
    for flow in flows:
        result = await api.add_config_entry(flow.menu_step, flow.user_input)
        if result["type"] == "create_entry":
            say(f"added {flow.name} as “{result['title']}”")
        else:
            say(
                f"{flow.name}: {result.get('reason', result['type']).replace('_', ' ')}"
            )


async def set_prices(api: HomeAssistantApi) -> None:
    """Name the price helpers in each pool account's options, unless it has some.

    Only helpers that exist: a config directory whose ``configuration.yaml``
    predates them gets no options naming missing entities.
    """
    existing = {state["entity_id"] for state in await api.entity_states()}
    if missing := [e for e in PRICE_OPTIONS.values() if e not in existing]:
        say(
            f"no {', '.join(missing)} (see config/configuration.yaml): "
            "the Spiderpool account's price options are not set"
        )
        return
    for entry in await api.config_entries(DOMAIN):
        if not entry["supports_options"]:
            continue
        if await api.set_options(entry["entry_id"], PRICES_STEP, PRICE_OPTIONS):
            say(f"{entry['title']}: prices from {', '.join(PRICE_OPTIONS.values())}")


async def wait_until_loaded(api: HomeAssistantApi) -> None:
    """Until every Miner Hub entry has been set up (its devices are visible)."""
    for entry in await api.settled_entries(DOMAIN):
        say(f"{entry['title']}: {entry['state']}")


def print_ready(url: str, seconds: float) -> None:
    sys.stdout.write(
        f"\nHome Assistant with Miner Hub is ready at {url} ({seconds:.1f} s)\n"
        f"  log in as {OWNER.username!r} with password {OWNER.password!r}\n"
        "  Ctrl-C stops Home Assistant and the emulators\n\n"
    )
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/develop", description=__doc__)
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant's port")
    parser.add_argument(
        "--config",
        type=Path,
        default=REPOSITORY / "config",
        help="configuration directory (default: the repository's config/)",
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
        return asyncio.run(develop(args.config.resolve(), args.port))
    return 130


if __name__ == "__main__":
    sys.exit(main())
