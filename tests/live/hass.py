"""A real Home Assistant process, onboarded and configured through its own APIs.

Used by ``scripts/develop`` and the browser tests. The process runs the ``hass``
of this virtual environment with a config directory whose ``configuration.yaml``
comes from the repository's ``config/``; Miner Hub, its sentences and its
blueprints are linked into it from the working tree. Onboarding and config
entries go through the HTTP APIs the frontend uses, never through storage files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
import json
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Any, Final

import aiohttp

REPOSITORY: Final = Path(__file__).resolve().parents[2]
CONFIG_TEMPLATE: Final = REPOSITORY / "config" / "configuration.yaml"
DOMAIN: Final = "miner_hub"
START_TIMEOUT: Final = 120.0
STOP_TIMEOUT: Final = 30.0
EDITOR_FILES: Final = ("automations.yaml", "scripts.yaml")
ONLINE_ONBOARDING_SERVICE: Final = "radio_browser"
SETTLING: Final = frozenset({"not_loaded", "setup_in_progress", "unload_in_progress"})
FIRST_START_HTTP: Final = "packages/first_start_http.yaml"
# Linked into the config directory: <config>/<link> -> <repository>/<target>.
LINKS: Final = {
    "custom_components/miner_hub": "custom_components/miner_hub",
    **{
        f"custom_sentences/{language}/miner_hub.yaml": (
            f"custom_sentences/{language}/miner_hub.yaml"
        )
        for language in ("en", "de", "es", "fr")
    },
    "blueprints/automation/miner_hub": "blueprints/automation/miner_hub",
}


@dataclass(frozen=True, slots=True)
class Owner:
    """The local user onboarding creates."""

    name: str
    username: str
    password: str


class HomeAssistantError(RuntimeError):
    """Home Assistant did not start, or refused a request."""


def prepare_config_dir(config_dir: Path, port: int) -> None:
    """Link Miner Hub into ``config_dir``, with ``configuration.yaml`` if missing.

    Home Assistant 2026.10 reads ``http:`` from YAML on the first start only
    (then keeps it in storage, and flags YAML left behind): the first start
    gets 127.0.0.1 and ``port`` from a package that is removed once confirmed.
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    if not (config_dir / ".storage" / "http").exists():
        package = config_dir / FIRST_START_HTTP
        package.parent.mkdir(exist_ok=True)
        package.write_text(f"http:\n  server_host: 127.0.0.1\n  server_port: {port}\n")
    if not (config_dir / "configuration.yaml").exists():
        shutil.copyfile(CONFIG_TEMPLATE, config_dir / "configuration.yaml")
    for editable in EDITOR_FILES:  # included by configuration.yaml
        (config_dir / editable).touch()
    for link, target in LINKS.items():
        path = config_dir / link
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.exists():
            continue
        path.symlink_to(REPOSITORY / target)


class HomeAssistantProcess:
    """``hass -c <config_dir>`` on 127.0.0.1:<port>, started and stopped."""

    def __init__(
        self, config_dir: Path, port: int, *, output: Path | None = None
    ) -> None:
        self.config_dir = config_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.output = output  # None: the terminal
        self.process: asyncio.subprocess.Process | None = None

    @property
    def log_file(self) -> Path:
        return self.config_dir / "home-assistant.log"

    async def start(self) -> None:
        prepare_config_dir(self.config_dir, self.port)
        env = dict(os.environ)
        stdout: Any = None
        if self.output is not None:
            stdout = self.output.open("ab")
        hass = Path(sys.executable).with_name("hass")
        self.process = await asyncio.create_subprocess_exec(
            str(hass),
            "--config",
            str(self.config_dir),
            env=env,
            stdout=stdout,
            stderr=stdout,
            # Ctrl-C reaches hass through us, once, so it stops only once.
            start_new_session=True,
        )
        if stdout is not None:
            stdout.close()

    async def wait(self) -> int:
        """Until hass exits; its exit code."""
        assert self.process is not None, "not started"
        return await self.process.wait()

    async def stop(self) -> int | None:
        """Stop as hass stops on Ctrl-C; kill it if it hangs."""
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGINT)
        try:
            return await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            return await process.wait()

    def errors_in_log(self) -> list[str]:
        """The log's ERROR and CRITICAL records, first lines only."""
        if not self.log_file.exists():
            return []
        return [
            line
            for line in self.log_file.read_text(errors="replace").splitlines()
            if " ERROR (" in line or " CRITICAL (" in line
        ]


class HomeAssistantApi:
    """The HTTP APIs of a running Home Assistant, as the frontend calls them."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url
        self.client_id = f"{url}/"
        self.token: str | None = None

    async def request(
        self, method: str, path: str, payload: Mapping[str, Any] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, self.url + path, json=payload, headers=headers
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise HomeAssistantError(f"{method} {path}: {response.status} {text}")
            return json.loads(text) if text else None

    async def wait_until_up(self, process: HomeAssistantProcess) -> None:
        """Until the HTTP server answers (the web app manifest needs no login)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.process and process.process.returncode is not None:
                raise HomeAssistantError(
                    f"hass exited with {process.process.returncode}; "
                    f"see {process.log_file}"
                )
            try:
                await self.request("GET", "/manifest.json")
            except aiohttp.ClientError, HomeAssistantError:
                await asyncio.sleep(0.25)
            else:
                return
        raise HomeAssistantError(f"no answer from {self.url} in {START_TIMEOUT} s")

    async def wait_until_running(self) -> None:
        """Until every integration of the configuration is set up."""
        deadline = time.monotonic() + START_TIMEOUT
        while (await self.request("GET", "/api/config"))["state"] != "RUNNING":
            if time.monotonic() > deadline:
                raise HomeAssistantError("Home Assistant did not finish starting")
            await asyncio.sleep(0.25)

    async def onboard_or_log_in(self, owner: Owner) -> bool:
        """Create the owner on a new instance, else log in; True when onboarded."""
        steps = {step["step"]: step["done"] for step in await self.onboarding()}
        onboarded = not steps.get("user", True)
        if onboarded:
            reply = await self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": owner.name,
                    "username": owner.username,
                    "password": owner.password,
                    "language": "en",
                },
            )
            await self._exchange(reply["auth_code"])
        else:
            await self.log_in(owner)
        if not steps.get("core_config", True):
            await self.request("POST", "/api/onboarding/core_config")
            await self._remove_online_services()
        if not steps.get("analytics", True):
            await self.request("POST", "/api/onboarding/analytics")
        if not steps.get("integration", True):
            await self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.url}/"},
            )
        return onboarded

    async def _remove_online_services(self) -> None:
        """Remove what onboarding adds that needs the internet, once it settles.

        Radio Browser asks a public server when it is set up; everything here
        talks to 127.0.0.1 only (it fails, is retried later, and is removed).
        """
        entries = await self.settled_entries(
            ONLINE_ONBOARDING_SERVICE, wait_s=START_TIMEOUT
        )
        if not entries or any(e["state"] in SETTLING for e in entries):
            raise HomeAssistantError(f"onboarding added no {ONLINE_ONBOARDING_SERVICE}")
        for entry in entries:
            await self.request(
                "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
            )

    async def websocket(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        """Send commands over one websocket connection; their replies, in order."""
        replies: list[dict[str, Any]] = []
        async with self.session.ws_connect(f"{self.url}/api/websocket") as socket:
            await socket.receive_json()  # auth_required
            await socket.send_json({"type": "auth", "access_token": self.token})
            if (await socket.receive_json())["type"] != "auth_ok":
                raise HomeAssistantError("the websocket API refused the token")
            for number, command in enumerate(commands, start=1):
                await socket.send_json({"id": number, **command})
                replies.append(await socket.receive_json())
        return replies

    async def confirm_http_config(self, config_dir: Path) -> None:
        """Keep the first start's HTTP settings, as the dialog's Confirm does.

        Home Assistant then raises a repair about the HTTP YAML it imported: the
        package that held it is removed here, so the repair (cleared at the
        next start anyway) is ignored, as a user would on the Repairs page.
        """
        promote, ignore = await self.websocket(
            {"type": "http/config/promote"},
            {
                "type": "repairs/ignore_issue",
                "domain": "http",
                "issue_id": "deprecated_yaml",
                "ignore": True,
            },
        )
        # Refused when nothing is pending: the settings were confirmed before.
        if not promote["success"] and promote["error"]["code"] != "not_allowed":
            raise HomeAssistantError(f"http/config/promote: {promote['error']}")
        # Refused when there is no such repair (a later start).
        if not ignore["success"] and ignore["error"]["code"] != "unknown_issue":
            raise HomeAssistantError(f"repairs/ignore_issue: {ignore['error']}")
        (config_dir / FIRST_START_HTTP).unlink(missing_ok=True)

    async def put_devices_in_areas(self, areas: Mapping[str, str]) -> list[str]:
        """Put the devices of ``areas`` (MAC, lower case → area name) there.

        Areas are created as needed; a device already in an area keeps it.
        Returns what was done, a line each.
        """
        listed, devices = await self.websocket(
            {"type": "config/area_registry/list"},
            {"type": "config/device_registry/list"},
        )
        area_ids = {area["name"]: area["area_id"] for area in listed["result"]}
        commands: list[dict[str, Any]] = []
        done: list[str] = []
        for device in devices["result"]:
            macs = [value for kind, value in device["connections"] if kind == "mac"]
            area = next((areas[mac] for mac in macs if mac in areas), None)
            if area is None or device["area_id"] is not None:
                continue
            if area not in area_ids:
                (created,) = await self.websocket(
                    {"type": "config/area_registry/create", "name": area}
                )
                area_ids[area] = created["result"]["area_id"]
            commands.append(
                {
                    "type": "config/device_registry/update",
                    "device_id": device["id"],
                    "area_id": area_ids[area],
                }
            )
            done.append(f"{device['name']} in the {area}")
        for reply in await self.websocket(*commands) if commands else []:
            if not reply["success"]:
                raise HomeAssistantError(f"device_registry/update: {reply['error']}")
        return done

    async def settled_entries(
        self, domain: str, *, at_least: int = 1, wait_s: float | None = None
    ) -> list[dict[str, Any]]:
        """A domain's entries once ``at_least`` exist and none is setting up.

        Also a reload's (an options flow reloads the entry). After ``wait_s``
        seconds (None: no limit), what there is then.
        """
        deadline = None if wait_s is None else time.monotonic() + wait_s
        while True:
            entries = await self.config_entries(domain)
            settled = all(entry["state"] not in SETTLING for entry in entries)
            if (len(entries) >= at_least and settled) or (
                deadline is not None and time.monotonic() > deadline
            ):
                return entries
            await asyncio.sleep(0.1)

    async def config_entries(self, domain: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    async def onboarding(self) -> list[dict[str, Any]]:
        """The onboarding steps; none once onboarded (the view is gone then)."""
        try:
            steps: list[dict[str, Any]] = await self.request("GET", "/api/onboarding")
        except HomeAssistantError as err:
            if " 404 " not in str(err):
                raise
            return []
        return steps

    async def log_in(self, owner: Owner) -> None:
        """The login flow of the login page, then a token for its code."""
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.url}/",
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {
                "client_id": self.client_id,
                "username": owner.username,
                "password": owner.password,
            },
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantError(f"login refused: {result.get('errors')}")
        await self._exchange(result["result"])

    async def _exchange(self, code: str) -> None:
        async with self.session.post(
            f"{self.url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        ) as response:
            response.raise_for_status()
            self.token = (await response.json())["access_token"]

    async def add_config_entry(
        self, menu_step: str, user_input: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Run Miner Hub's config flow: pick ``menu_step``, submit ``user_input``.

        Returns the last result: ``create_entry``, or ``abort`` when the device
        is configured already. A form shown again (errors) raises.
        """
        base = "/api/config/config_entries/flow"
        flow = await self.request("POST", base, {"handler": DOMAIN})
        form = await self.request(
            "POST", f"{base}/{flow['flow_id']}", {"next_step_id": menu_step}
        )
        result: dict[str, Any] = await self.request(
            "POST", f"{base}/{form['flow_id']}", user_input
        )
        if result["type"] == "form":
            raise HomeAssistantError(f"{menu_step}: {result.get('errors')}")
        return result

    async def set_options(
        self, entry_id: str, step_id: str, user_input: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Run an entry's options flow: at its form ``step_id``, submit ``user_input``.

        Options set before are kept: when the form suggests a value for any
        field of ``user_input`` (the entry has it), or is another step (an
        entry with other options), the flow is aborted and the answer is None.
        Else the last result, ``create_entry`` (the entry reloads); a form
        shown again (errors) raises.
        """
        base = "/api/config/config_entries/options/flow"
        form = await self.request("POST", base, {"handler": entry_id})
        flow = f"{base}/{form['flow_id']}"
        if (
            form["type"] != "form"
            or form["step_id"] != step_id
            or any(
                field["name"] in user_input
                and (field.get("description") or {}).get("suggested_value")
                for field in form.get("data_schema") or []
            )
        ):
            if form["type"] == "form":
                await self.request("DELETE", flow)
            return None
        result: dict[str, Any] = await self.request("POST", flow, user_input)
        if result["type"] == "form":
            raise HomeAssistantError(f"{step_id}: {result.get('errors')}")
        return result

    async def entity_states(self) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = await self.request("GET", "/api/states")
        return states
