"""What a ``hass`` with Miner Hub installs when it starts, pinned as it pins it.

Run by the Python of the Home Assistant it is about (its own virtualenv):
``<venv>/bin/python -m tests.newest.requirements``. It prints one requirement a
line: the ``requirements`` of every integration that ``hass`` sets up, or whose
requirements it processes, when it runs the repository's
``config/configuration.yaml`` with Miner Hub's entries and is onboarded through
the API, and those of the login's multi-factor module. Home Assistant pins them
exactly in its manifests; ``scripts/newest-ha`` installs them (with Home
Assistant's own ``package_constraints.txt``) so that ``hass`` installs nothing at
run time.

``--missing`` prints those this environment lacks (and exits 1): ``.venv`` must
have them from ``requirements_test.txt``.

Which integrations: what ``homeassistant.bootstrap`` sets up by itself
(``CORE_INTEGRATIONS``, ``DEFAULT_INTEGRATIONS``), the configuration's top-level
keys, the integrations onboarding adds entries of (read from its source), Miner
Hub, and everything these name as ``dependencies`` or ``after_dependencies``
(Home Assistant processes the requirements of both), plus the discovery
integrations a manifest's keys call for (``requirements.DISCOVERY_INTEGRATIONS``),
all as the installed Home Assistant defines them. The check fails when ``hass``
installs anything anyway, naming the package: then this list misses a case.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, version
import json
from pathlib import Path
import re
import sys
from typing import Any, Final

import homeassistant
from homeassistant import bootstrap, requirements as ha_requirements
from packaging.requirements import Requirement
import yaml

REPOSITORY: Final = Path(__file__).resolve().parents[2]
CONFIG: Final = REPOSITORY / "config" / "configuration.yaml"
MINER_HUB: Final = REPOSITORY / "custom_components" / "miner_hub" / "manifest.json"
HOME_ASSISTANT: Final = Path(homeassistant.__file__).parent
COMPONENTS: Final = HOME_ASSISTANT / "components"
ONBOARDING_VIEWS: Final = COMPONENTS / "onboarding" / "views.py"
MFA_MODULES: Final = HOME_ASSISTANT / "auth" / "mfa_modules"
# The login's multi-factor modules Home Assistant loads without configuration.
DEFAULT_MFA_MODULES: Final = ("totp",)
# Set up by the check itself (packages): the first start's HTTP settings, the
# log levels, a room sensor.
CHECK_DOMAINS: Final = ("http", "logger", "template")
# What onboarding adds when its source cannot be read (2026.10 and 2026.11).
ONBOARDING_FALLBACK: Final = (
    "google_translate",
    "met",
    "radio_browser",
    "shopping_list",
)
ONBOARD_LIST: Final = re.compile(r"onboard_integrations\s*=\s*\[([^\]]*)\]")
MODULE_REQUIREMENTS: Final = re.compile(r"^REQUIREMENTS\s*=\s*(\[[^\]]*\])", re.M)


class _TolerantLoader(yaml.SafeLoader):
    """Home Assistant's YAML tags (``!include``, ``!secret``) read as nothing."""


_TolerantLoader.add_multi_constructor("!", lambda _loader, _suffix, _node: None)


def configured_domains(config: Path) -> set[str]:
    """The integrations the configuration's top-level keys name."""
    document = yaml.load(config.read_text(encoding="utf-8"), _TolerantLoader)  # noqa: S506
    return {str(key).split(" ")[0] for key in (document or {})} - {"homeassistant"}


def onboarding_domains() -> set[str]:
    """The integrations onboarding starts config flows of."""
    if match := ONBOARD_LIST.search(ONBOARDING_VIEWS.read_text(encoding="utf-8")):
        return set(re.findall(r"[\"']([a-z0-9_]+)[\"']", match.group(1)))
    return set(ONBOARDING_FALLBACK)


def manifest(domain: str) -> dict[str, Any] | None:
    path = MINER_HUB if domain == "miner_hub" else COMPONENTS / domain / "manifest.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def closure(domains: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The manifests of ``domains`` and of all they depend on, by domain."""
    discovery: dict[str, Iterable[str]] = getattr(
        ha_requirements, "DISCOVERY_INTEGRATIONS", {}
    )
    found: dict[str, dict[str, Any]] = {}
    todo = list(domains)
    while todo:
        domain = todo.pop()
        if domain in found or (loaded := manifest(domain)) is None:
            continue
        found[domain] = loaded
        todo.extend(loaded.get("dependencies", []))
        todo.extend(loaded.get("after_dependencies", []))
        todo.extend(
            check
            for check, keys in discovery.items()
            if any(key in loaded for key in keys)
        )
    return found


def mfa_requirements() -> Iterator[str]:
    for module in DEFAULT_MFA_MODULES:
        source = (MFA_MODULES / f"{module}.py").read_text(encoding="utf-8")
        if match := MODULE_REQUIREMENTS.search(source):
            yield from re.findall(r"[\"']([^\"']+)[\"']", match.group(1))


def startup_requirements() -> list[str]:
    domains = {
        *bootstrap.CORE_INTEGRATIONS,
        *bootstrap.DEFAULT_INTEGRATIONS,
        *CHECK_DOMAINS,
        *configured_domains(CONFIG),
        *onboarding_domains(),
        "miner_hub",
    }
    wanted = {
        requirement
        for loaded in closure(domains).values()
        for requirement in loaded.get("requirements", [])
    }
    wanted.update(mfa_requirements())
    return sorted(wanted, key=str.lower)


def missing(requirements: Iterable[str]) -> list[str]:
    """The requirements this environment does not satisfy."""
    absent = []
    for line in requirements:
        requirement = Requirement(line)
        try:
            installed = version(requirement.name)
        except PackageNotFoundError:
            absent.append(line)
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            absent.append(f"{line} (installed: {installed})")
    return absent


def main() -> int:
    """Print the requirements; with ``--missing``, those not installed here."""
    wanted = startup_requirements()
    if sys.argv[1:] == ["--missing"]:
        if absent := missing(wanted):
            sys.stdout.write(" ".join(absent) + "\n")
            return 1
        return 0
    sys.stdout.write("".join(f"{line}\n" for line in wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
