"""What a person does in Home Assistant's UI with Miner Hub, in a real browser.

The scenarios share one Home Assistant and run in order: the Whatsminer added
in one is the device the next ones open, switch off and diagnose.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
import re
import time
from typing import Any, Final

from playwright.async_api import Browser, Page, expect
import pytest

from tests.live.devices import EmulatedDevices

from .conftest import VIEWPORT, WHATSMINER_PASSWORD, RunningHass, log_in

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVALID_AUTH: Final = "The miner rejected the password."
MINER: Final = "garage-m30-1"  # the first emulated Whatsminer's hostname


async def _screenshot(page: Page, artifacts: Path, name: str) -> None:
    await page.screenshot(path=artifacts / f"{name}.png")


async def _start_flow(page: Page, url: str, menu_option: str) -> None:
    """Settings → Integrations → Add integration → Miner Hub → ``menu_option``."""
    await page.goto(f"{url}/config/integrations/dashboard")
    await page.get_by_role("button", name="Add integration").click()
    # Within the dialog: the integration card behind it has the same title, and
    # its list shows only the rows in view until the search has filtered it.
    dialog = page.locator("dialog-add-integration")
    await dialog.get_by_role("textbox").fill("Miner Hub")
    await dialog.get_by_text("Miner Hub", exact=True).click()
    await page.get_by_text(menu_option).click()


async def _submit(page: Page) -> None:
    await page.get_by_role("button", name="Submit").click()


async def _created_devices(page: Page) -> list[str]:
    """The device names the "Name and assign" step shows after a flow."""
    names = page.get_by_role("textbox", name="Device name")
    await expect(names.first).to_be_visible()
    values: list[str] = await names.evaluate_all("fields => fields.map(f => f.value)")
    return values


async def _finish(page: Page) -> None:
    await page.get_by_role("button", name=re.compile("finish", re.IGNORECASE)).click()
    await expect(page.get_by_text("Name and assign")).to_be_hidden()


async def _until(condition: Any) -> None:
    deadline = time.monotonic() + 20.0
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_log_in(
    browser: Browser, home_assistant: RunningHass, artifacts: Path
) -> None:
    context = await browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(home_assistant.url)
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await _screenshot(page, artifacts, "01-login")
    await log_in(page, home_assistant.url)
    await expect(page.get_by_text("Overview").first).to_be_visible()
    await context.close()


async def test_add_whatsminer(
    page: Page,
    home_assistant: RunningHass,
    devices: EmulatedDevices,
    artifacts: Path,
) -> None:
    miner = devices.whatsminers[0]
    await _start_flow(page, home_assistant.url, "Whatsminer miner")
    await page.locator('input[name="host"]').fill(miner.host)
    await page.get_by_role("spinbutton", name="Port").fill(str(miner.port))
    await page.locator('input[name="password"]').fill("not-the-password")
    await _screenshot(page, artifacts, "02-whatsminer-form")
    await _submit(page)
    await expect(page.get_by_text(INVALID_AUTH)).to_be_visible()
    await _screenshot(page, artifacts, "03-whatsminer-wrong-password")
    assert await home_assistant.api.config_entries("miner_hub") == []

    await page.locator('input[name="password"]').fill(WHATSMINER_PASSWORD)
    await _submit(page)
    assert await _created_devices(page) == [MINER]
    await _screenshot(page, artifacts, "04-whatsminer-created")
    await _finish(page)
    entries = await home_assistant.api.config_entries("miner_hub")
    assert [(entry["title"], entry["state"]) for entry in entries] == [
        (MINER, "loaded")
    ]


async def _open_device(page: Page, url: str) -> None:
    await page.goto(f"{url}/config/integrations/integration/miner_hub")
    # The device's row under its entry: model and number of entities.
    await page.get_by_text("M30S+VE40").first.click()
    await page.wait_for_url("**/config/devices/device/**")


async def test_device_page(
    page: Page, home_assistant: RunningHass, artifacts: Path
) -> None:
    await _open_device(page, home_assistant.url)
    await expect(page.get_by_text("Hashrate", exact=True).first).to_be_visible()
    await expect(page.get_by_text("TH/s").first).to_be_visible()
    await expect(page.get_by_role("switch").first).to_be_checked()
    await _screenshot(page, artifacts, "05-device-page")


async def test_switch_mining_off(
    page: Page,
    home_assistant: RunningHass,
    devices: EmulatedDevices,
    artifacts: Path,
) -> None:
    miner = devices.whatsminers[0]
    await _open_device(page, home_assistant.url)
    mining = page.get_by_role("switch").first
    await expect(mining).to_be_checked()
    # Where a person clicks: the switch's drawn control lies over its input.
    await mining.click(force=True)
    await _until(lambda: "power_off" in miner.commands())
    assert miner.state.mining is False
    await expect(mining).not_to_be_checked()
    await _screenshot(page, artifacts, "06-mining-off")


async def test_add_spiderpool(
    page: Page,
    home_assistant: RunningHass,
    devices: EmulatedDevices,
    artifacts: Path,
) -> None:
    pool = devices.spiderpool
    await _start_flow(page, home_assistant.url, "Spiderpool mining-pool account")
    await page.locator('input[name="access_key"]').fill(pool.access_key)
    # Pasted, as from the console (a PEM block with its line breaks).
    await page.locator('textarea[name="private_key"]').focus()
    await page.keyboard.insert_text(pool.private_key_pem)
    await page.locator('input[name="subaccount"]').fill(pool.subaccount.name)
    await page.get_by_text("Advanced options").click()
    await page.locator('input[name="api_url"]').fill(pool.url)
    await _screenshot(page, artifacts, "07-spiderpool-form")
    await _submit(page)
    account = f"{pool.subaccount.name} (BTC)"
    workers = [f"{pool.subaccount.name}.{worker.name}" for worker in pool.workers]
    assert sorted(await _created_devices(page)) == sorted([account, *workers])
    await _screenshot(page, artifacts, "08-spiderpool-created")
    await _finish(page)
    titles = {e["title"] for e in await home_assistant.api.config_entries("miner_hub")}
    assert titles == {MINER, f"{pool.subaccount.name} (BTC)"}


async def test_diagnostics_have_no_secrets(
    page: Page,
    home_assistant: RunningHass,
    devices: EmulatedDevices,
    artifacts: Path,
) -> None:
    await page.goto(f"{home_assistant.url}/config/integrations/integration/miner_hub")
    secrets = {
        WHATSMINER_PASSWORD: "the miner's password",
        devices.spiderpool.access_key: "the access key",
        devices.spiderpool.private_key_b64[40:80]: "the private key",
    }
    for title in (MINER, f"{devices.spiderpool.subaccount.name} (BTC)"):
        entry = page.locator("ha-config-entry-row", has_text=title).first
        # The entry's own menu (its devices' menus come after it).
        await entry.get_by_role("button", name="Menu").first.click()
        async with page.expect_download() as download_info:
            await page.get_by_role("menuitem", name="Download diagnostics").click()
        download = await download_info.value
        path = artifacts / f"diagnostics-{title}.json"
        await download.save_as(path)
        text = path.read_text()
        assert json.loads(text)["data"]
        for secret, what in secrets.items():
            assert secret not in text, f"{what} in the diagnostics of {title}"


async def test_no_errors_in_the_log(home_assistant: RunningHass) -> None:
    """Every component Home Assistant loaded, ours included, ran without errors."""
    assert home_assistant.process.errors_in_log() == []
