"""Miner Hub in a real ``hass``: every kind of entry loads, polls, logs no error.

Run by the Python of the Home Assistant to check (``scripts/newest-ha`` runs it
in ``.venv``, the minimum we support, and in a virtualenv of the newest release):
``<venv>/bin/python -m tests.newest --label NAME``. It starts the emulated
devices (tests/live) on 127.0.0.1 and that virtualenv's ``hass`` on 127.0.0.1
with a new config directory (the repository's ``configuration.yaml``), onboards
it through its API, adds every kind of device through the config flow API (two
Whatsminer v2, a Whatsminer v3, a DragonMint, a Spiderpool account), waits until
every entry is ``loaded``, sets options through the options flow API (the miners
poll every 10 s; a Whatsminer heats a room, and its heater is switched on; the
account's prices), lets them poll, and stops ``hass``. It fails when:

- an entry is not added or does not reach ``loaded``, or stops being loaded, or
  has no entity with a value;
- the log has an ERROR or CRITICAL record (any logger);
- a warning about Miner Hub reports a deprecation or a misuse (Home Assistant's
  "Detected that custom integration 'miner_hub' ...", "... provides the
  deprecated ...", "will stop working", Python's DeprecationWarning from our
  code: ``hass`` runs with them shown);
- ``hass`` installed or tried to install a package (log lines, and the
  virtualenv's packages before and after): everything it needs is installed
  beforehand, and its installer is offline here so that nothing changes;
- ``hass`` listens on anything but 127.0.0.1.

Its log and output land in ``artifacts/newest/<label>/``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
import json
import os
from pathlib import Path
import re
import shutil
import socket
import sys
import tempfile
import time
from typing import Any, Final

import aiohttp

from tests.live.__main__ import OWNER, PRICE_OPTIONS, PRICES_STEP
from tests.live.devices import EmulatedDevices, Ports
from tests.live.hass import (
    DOMAIN,
    REPOSITORY,
    HomeAssistantApi,
    HomeAssistantError,
    HomeAssistantProcess,
)

ARTIFACTS: Final = REPOSITORY / "artifacts" / "newest"
LOADED_TIMEOUT: Final = 90.0
RUN_TIMEOUT: Final = 420.0
POLL_SECONDS: Final = float(os.environ.get("MINER_HUB_NEWEST_POLL_SECONDS", "20"))
SCAN_INTERVAL: Final = 10  # the options' lowest: more polls in less time
ROOM_SENSOR: Final = "sensor.miner_hub_check_room"
ROOM_TARGET: Final = 24.0  # warmer than the room: the heater heats
# The check's own package: install and requirement logs, and a room sensor for
# a Whatsminer's heater. ``tests.newest.requirements`` counts its domains.
CHECK_PACKAGE: Final = "packages/miner_hub_check.yaml"
CHECK_CONFIG: Final = f"""\
logger:
  logs:
    homeassistant.util.package: info
    homeassistant.requirements: info
template:
  - sensor:
      - name: Miner Hub check room
        unique_id: miner_hub_check_room
        unit_of_measurement: "°C"
        device_class: temperature
        state_class: measurement
        state: "{ROOM_TARGET - 3}"
"""
# For hass only: deprecation warnings shown (Home Assistant logs them as
# py.warnings), and an installer that cannot install anything.
HASS_ENV: Final = {
    "PYTHONWARNINGS": "default::DeprecationWarning,default::PendingDeprecationWarning",
    "UV_OFFLINE": "1",
    "UV_NO_CACHE": "1",
    "PIP_NO_INDEX": "1",
}
# A record's first line: 2026.11 adds the UTC offset to the time.
RECORD: Final = re.compile(
    r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d\S* (?P<level>[A-Z]+) \("
)
# A warning Python prints itself (before Home Assistant's logging takes them).
PRINTED_WARNING: Final = re.compile(r"^\S+:\d+: (?P<level>\w*Warning): ")
ERROR_LINE: Final = re.compile(r" (ERROR|CRITICAL) \(")
INSTALL: Final = re.compile(
    r"Attempting install of|Unable to install|Installing |attempts to install",
    re.IGNORECASE,
)
MISUSE: Final = re.compile(
    r"deprecat|will stop working|Detected that custom integration|"
    r"Detected blocking call|Detected code that",
    re.IGNORECASE,
)
OURS: Final = re.compile(r"miner_hub")
# Always logged for a custom integration: proves the log was read.
CUSTOM_INTEGRATION: Final = "We found a custom integration miner_hub"
UNAVAILABLE: Final = frozenset({"unavailable", "unknown"})
# Each entity's entry and state, from the template API.
ENTITIES_TEMPLATE: Final = (
    "[{% for e in integration_entities('miner_hub') %}"
    "{{ [config_entry_id(e), e, states(e)] | tojson }}"
    "{% if not loop.last %},{% endif %}{% endfor %}]"
)
LOOPBACK: Final = frozenset(
    {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
)
LISTEN: Final = "0A"  # TCP_LISTEN in /proc/net/tcp


@dataclass
class Outcome:
    """What one run found; ``failures`` empty means it passed."""

    label: str
    version: str = "?"
    entries: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    warnings_about_us: list[str] = field(default_factory=list)
    seconds: float = 0.0


def say(message: str) -> None:
    sys.stdout.write(f"    {message}\n")
    sys.stdout.flush()


def installed() -> dict[str, str]:
    """This environment's distributions: name -> version."""
    return {
        (dist.metadata["Name"] or "?").lower(): dist.version
        for dist in metadata.distributions()
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def log_records(text: str) -> list[tuple[str, str]]:
    """The log's records as (level, text); a traceback belongs to its record."""
    records: list[tuple[str, str]] = []
    for line in text.splitlines():
        if match := RECORD.match(line) or PRINTED_WARNING.match(line):
            records.append((match["level"], line))
        elif records:
            level, previous = records[-1]
            records[-1] = (level, f"{previous}\n{line}")
        elif line.strip():
            records.append(("OUTPUT", line))
    return records


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net shows them) listening on ``port``."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                found.add(address)
    return found


class Check:
    """One ``hass`` with every kind of Miner Hub entry."""

    def __init__(self, label: str, artifacts: Path) -> None:
        self.outcome = Outcome(label)
        self.artifacts = artifacts
        self.config_dir = Path(tempfile.mkdtemp(prefix="miner-hub-check-"))
        self.process = HomeAssistantProcess(
            self.config_dir, free_port(), output=artifacts / "hass-output.txt"
        )

    def fail(self, message: str) -> None:
        self.outcome.failures.append(message)
        say(f"FAIL: {message}")

    async def run(self) -> Outcome:
        started = time.monotonic()
        before = installed()
        self.outcome.version = before.get("homeassistant", "?")
        (self.config_dir / CHECK_PACKAGE).parent.mkdir(parents=True)
        (self.config_dir / CHECK_PACKAGE).write_text(CHECK_CONFIG)
        os.environ.update(HASS_ENV)  # read by hass, started with our environment
        try:
            async with asyncio.timeout(RUN_TIMEOUT):
                await self._run()
        except Exception as err:  # reported, with what the log shows
            self.fail(f"{type(err).__name__}: {err}")
        self._read_log()
        after = installed()
        if changed := [
            f"{name} {before.get(name, '-')} -> {after.get(name, '-')}"
            for name in sorted(set(before) | set(after))
            if before.get(name) != after.get(name)
        ]:
            self.fail(f"the virtualenv's packages changed: {', '.join(changed)}")
        shutil.rmtree(self.config_dir, ignore_errors=True)
        self.outcome.seconds = time.monotonic() - started
        return self.outcome

    async def _run(self) -> None:
        """The emulators outlive hass: its last polls find them."""
        async with EmulatedDevices(Ports.any_free()) as devices:
            try:
                await self._run_hass(devices)
            finally:
                code = await self.process.stop()
                if code not in (None, 0):
                    self.fail(f"hass exited with {code}")

    async def _run_hass(self, devices: EmulatedDevices) -> None:
        async with aiohttp.ClientSession() as session:
            api = HomeAssistantApi(session, self.process.url)
            await self.process.start()
            await api.wait_until_up(self.process)
            await api.onboard_or_log_in(OWNER)
            await api.confirm_http_config(self.config_dir)
            await api.wait_until_running()
            config = await api.request("GET", "/api/config")
            self.outcome.version = config["version"]
            say(f"Home Assistant {config['version']} is running at {api.url}")
            self._check_loopback()
            for flow in devices.config_flows():
                result = await api.add_config_entry(flow.menu_step, flow.user_input)
                if result["type"] != "create_entry":
                    self.fail(f"{flow.name}: {result.get('reason', result['type'])}")
            expected = len(devices.config_flows())
            await self._wait_until_loaded(api, expected, report=True)
            await self._set_options(api)
            await self._wait_until_loaded(api, expected)
            await self._heat(api)
            say(f"polling for {POLL_SECONDS:.0f} s (every {SCAN_INTERVAL} s)")
            await asyncio.sleep(POLL_SECONDS)
            await self._check_still_loaded(api, expected)
            await self._check_entities(api)

    def _check_loopback(self) -> None:
        addresses = listening_addresses(self.process.port)
        if not addresses or addresses - LOOPBACK:
            self.fail(f"hass listens on {sorted(addresses)}, not on 127.0.0.1 only")

    async def _wait_until_loaded(
        self, api: HomeAssistantApi, expected: int, *, report: bool = False
    ) -> None:
        entries = await api.settled_entries(
            DOMAIN, at_least=expected, wait_s=LOADED_TIMEOUT
        )
        if report:
            for entry in entries:
                say(f"{entry['title']}: {entry['state']}")
                self.outcome.entries.append(f"{entry['title']}: {entry['state']}")
        if len(entries) != expected:
            self.fail(f"{len(entries)} Miner Hub entries, not {expected}")
        if not_loaded := [e["title"] for e in entries if e["state"] != "loaded"]:
            self.fail(f"not loaded: {', '.join(not_loaded)}")

    async def _set_options(self, api: HomeAssistantApi) -> None:
        """Miners poll often, the first Whatsminer heats, the account has prices.

        Each entry reloads with its options, as when a user saves them.
        """
        heater_set = False
        for entry in await api.config_entries(DOMAIN):
            result = await self._options_flow(api, entry["entry_id"])
            if result["step_id"] == PRICES_STEP:
                user_input: dict[str, Any] = dict(PRICE_OPTIONS)
            else:
                user_input = {"scan_interval": SCAN_INTERVAL}
                names = {field["name"] for field in result["data_schema"]}
                if "temperature_sensor" in names and not heater_set:
                    user_input["temperature_sensor"] = ROOM_SENSOR
                    heater_set = True
            done = await api.request(
                "POST",
                f"/api/config/config_entries/options/flow/{result['flow_id']}",
                user_input,
            )
            if done["type"] != "create_entry":
                self.fail(f"{entry['title']}: options {done.get('errors')}")
            else:
                say(f"{entry['title']}: options {', '.join(sorted(user_input))}")

    async def _options_flow(
        self, api: HomeAssistantApi, entry_id: str
    ) -> dict[str, Any]:
        result: dict[str, Any] = await api.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        if result["type"] != "form":
            raise HomeAssistantError(f"options of {entry_id}: {result}")
        return result

    async def _heat(self, api: HomeAssistantApi) -> None:
        """Switch the heater on, above the room's temperature."""
        heaters = [
            entity for _, entity, _ in await self._entities(api) if "climate." in entity
        ]
        if not heaters:
            self.fail("no heater (climate entity) after its options were set")
            return
        await self._call(
            api,
            "climate/set_temperature",
            {"entity_id": heaters[0], "temperature": ROOM_TARGET, "hvac_mode": "heat"},
        )
        say(f"{heaters[0]}: heating to {ROOM_TARGET} °C")

    async def _call(
        self, api: HomeAssistantApi, service: str, data: Mapping[str, Any]
    ) -> None:
        await api.request("POST", f"/api/services/{service}", data)

    async def _entities(self, api: HomeAssistantApi) -> list[tuple[str, str, str]]:
        """Each Miner Hub entity as (entry ID, entity ID, state)."""
        async with api.session.post(
            f"{api.url}/api/template",
            json={"template": ENTITIES_TEMPLATE},
            headers={"Authorization": f"Bearer {api.token}"},
        ) as response:
            response.raise_for_status()
            return [tuple(item) for item in json.loads(await response.text())]

    async def _check_still_loaded(self, api: HomeAssistantApi, expected: int) -> None:
        entries = await api.config_entries(DOMAIN)
        loaded = [entry for entry in entries if entry["state"] == "loaded"]
        if len(loaded) != expected:
            states = ", ".join(f"{e['title']}: {e['state']}" for e in entries)
            self.fail(f"after polling: {states}")

    async def _check_entities(self, api: HomeAssistantApi) -> None:
        """Each entry has entities, and some of them have values."""
        entities = await self._entities(api)
        titles = {e["entry_id"]: e["title"] for e in await api.config_entries(DOMAIN)}
        for entry_id, title in titles.items():
            states = [state for entry, _, state in entities if entry == entry_id]
            with_values = [state for state in states if state not in UNAVAILABLE]
            say(f"{title}: {len(with_values)} of {len(states)} entities have a value")
            if not with_values:
                self.fail(f"{title}: no entity has a value")

    def _read_log(self) -> None:
        """The log's records, and what hass printed besides (Python's warnings)."""
        log = self.process.log_file
        output = self.artifacts / "hass-output.txt"
        records: list[tuple[str, str]] = []
        if log.exists():
            shutil.copyfile(log, self.artifacts / "home-assistant.log")
            records = log_records(log.read_text(errors="replace"))
            if not any(CUSTOM_INTEGRATION in record for _, record in records):
                self.fail(f"the log does not say {CUSTOM_INTEGRATION!r}: not read")
        if output.exists():
            printed = log_records(output.read_text(errors="replace"))
            # The log's records are printed too: only the rest, unless no log.
            records += [
                r for r in printed if not log.exists() or not RECORD.match(r[1])
            ]
        for level, record in records:
            first = record.splitlines()[0]
            if level in ("ERROR", "CRITICAL") or ERROR_LINE.search(first):
                self.fail(f"log: {first}")
            elif INSTALL.search(record):
                self.fail(f"hass installs a package: {first}")
            elif OURS.search(record) and MISUSE.search(record):
                self.fail(f"deprecation or misuse: {first}")
            elif OURS.search(record) and level == "WARNING":
                self.outcome.warnings_about_us.append(first)


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "hass"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.newest", description=__doc__)
    parser.add_argument("--label", default="hass", help="what this version is")
    args = parser.parse_args(argv)
    artifacts = ARTIFACTS / slug(args.label)
    shutil.rmtree(artifacts, ignore_errors=True)
    artifacts.mkdir(parents=True)
    outcome = asyncio.run(Check(args.label, artifacts).run())
    for warning in outcome.warnings_about_us:
        say(f"warning (allowed): {warning}")
    verdict = "FAILED" if outcome.failures else "passed"
    sys.stdout.write(
        f"==> Home Assistant {outcome.version} ({outcome.label}): {verdict}: "
        f"{sum(e.endswith(': loaded') for e in outcome.entries)} of "
        f"{len(outcome.entries)} Miner Hub entries loaded, "
        f"{len(outcome.failures)} problems, {outcome.seconds:.0f} s "
        f"(log: {artifacts.relative_to(REPOSITORY)}/home-assistant.log)\n"
    )
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
