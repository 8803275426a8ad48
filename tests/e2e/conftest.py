"""A real Home Assistant, the emulated devices and Debian's Chromium, per session.

This suite runs on its own (``scripts/test`` starts it after the unit tests, with
``--confcutdir`` so the Home Assistant test harness of ``tests/conftest.py`` does
not load): Home Assistant runs as a separate ``hass`` process with the frontend,
onboarded through its API, and the browser drives its UI as a person would.
Screenshots go to ``artifacts/e2e/`` with the Home Assistant log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
import shutil
import socket
from typing import Final

import aiohttp
from playwright.async_api import Browser, Page, async_playwright, expect
import pytest
import pytest_asyncio

from tests.live.__main__ import OWNER
from tests.live.devices import EmulatedDevices, Ports
from tests.live.hass import REPOSITORY, HomeAssistantApi, HomeAssistantProcess

ARTIFACTS: Final = REPOSITORY / "artifacts" / "e2e"
CHROMIUM: Final = "/usr/bin/chromium"
# As root, headless, on a machine without a network: no sandbox, no GPU, and none
# of Chromium's own calls home.
CHROMIUM_ARGS: Final = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT: Final = {"width": 1280, "height": 900}
# Unlike the factory "admin", found nowhere else: the diagnostics test looks for it.
WHATSMINER_PASSWORD: Final = "e2e-Miner-Secret-7"
expect.set_options(timeout=20_000)


@dataclass(frozen=True, slots=True)
class RunningHass:
    process: HomeAssistantProcess
    api: HomeAssistantApi

    @property
    def url(self) -> str:
        return self.process.url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def devices() -> AsyncIterator[EmulatedDevices]:
    """Every emulated device, on ports the system picks; no live drift."""
    async with EmulatedDevices(
        Ports.any_free(), live=False, whatsminer_password=WHATSMINER_PASSWORD
    ) as emulated:
        yield emulated


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def home_assistant(
    tmp_path_factory: pytest.TempPathFactory,
    devices: EmulatedDevices,
    artifacts: Path,
) -> AsyncIterator[RunningHass]:
    """A new Home Assistant, onboarded with the owner, with nothing configured."""
    config_dir = tmp_path_factory.mktemp("config")
    process = HomeAssistantProcess(
        config_dir, _free_port(), output=artifacts / "hass-output.txt"
    )
    try:
        async with aiohttp.ClientSession() as session:
            api = HomeAssistantApi(session, process.url)
            await process.start()
            await api.wait_until_up(process)
            await api.onboard_or_log_in(OWNER)
            await api.confirm_http_config(config_dir)
            await api.wait_until_running()
            yield RunningHass(process, api)
    finally:
        await process.stop()
        if process.log_file.exists():
            shutil.copyfile(process.log_file, artifacts / "home-assistant.log")


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser, home_assistant: RunningHass) -> AsyncIterator[Page]:
    """A fresh browser context, logged in as the owner."""
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    tab = await context.new_page()
    await log_in(tab, home_assistant.url)
    yield tab
    await context.close()


async def log_in(page: Page, url: str) -> None:
    """Home Assistant's login page, as a person fills it."""
    await page.goto(url)
    await page.get_by_role("textbox", name="Username").fill(OWNER.username)
    await page.get_by_role("textbox", name="Password").fill(OWNER.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/home/**")
