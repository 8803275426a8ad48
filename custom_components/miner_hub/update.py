"""The firmware of a miner: the vendor's newest release, installed on request.

Installing only starts the update: the miner downloads and installs the image,
reboots (unreachable for a minute or more) and comes back with the new version.
The entity reports the update in progress, and stays available, from the command
until the miner answers with the new version, answers after a reboot with
another version (the update failed), or ``INSTALL_TIMEOUT`` has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
import re
from typing import Any, Final, override

from homeassistant.components.update import (
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later

from . import MinerHubConfigEntry
from .const import LOGGER
from .entity import MinerEntity, miner_coordinator
from .helpers import OutcomeUnknownError
from .protocol.models import Capability

# Installing is an action; one at a time.
PARALLEL_UPDATES = 1

# Download, installation, reboot and start take minutes; after this the entity
# stops reporting the update in progress and shows what the miner runs.
INSTALL_TIMEOUT: Final = timedelta(minutes=20)
# Build stamp at the end of a version, e.g. DragonMint "t1_20180515_060842".
_BUILD_STAMP: Final = re.compile(r"(\d{8})_(\d{6})$")

FIRMWARE: Final = UpdateEntityDescription(
    key="firmware",
    translation_key="firmware",
    device_class=UpdateDeviceClass.FIRMWARE,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the firmware entity of a miner whose vendor offers updates."""
    if (coordinator := miner_coordinator(entry)) is None:
        return  # pool accounts have no controls
    if Capability.FIRMWARE_UPDATE in coordinator.miner.capabilities:
        async_add_entities([MinerFirmwareUpdateEntity(coordinator, FIRMWARE)])


@dataclass(slots=True)
class _Install:
    """An update the miner was told to install."""

    version: str
    booted_at: datetime | None  # the boot before the update
    cancel_timeout: CALLBACK_TYPE


class MinerFirmwareUpdateEntity(MinerEntity, UpdateEntity):
    """Installed firmware against the vendor's newest release.

    The newest release is unknown (so is the state) while the vendor's server
    cannot be asked: the entity never claims the firmware is up to date then.
    """

    _attr_supported_features = (
        UpdateEntityFeature.INSTALL | UpdateEntityFeature.PROGRESS
    )
    _install: _Install | None = None

    @property
    @override
    def available(self) -> bool:
        """Also while the miner reboots into the firmware being installed."""
        return self._install is not None or super().available

    @property
    @override
    def installed_version(self) -> str | None:
        """The version the miner reported when last identified."""
        return self.coordinator.info.firmware_version

    @property
    @override
    def latest_version(self) -> str | None:
        """The vendor's newest release; None while it cannot be asked."""
        release = self.coordinator.latest_firmware
        return None if release is None else release.version

    @property
    @override
    def release_summary(self) -> str | None:
        """The vendor's notes on the release.

        No release URL: the vendor links only the firmware image, no notes page.
        """
        release = self.coordinator.latest_firmware
        return None if release is None else release.notes

    @property
    @override
    def in_progress(self) -> bool:
        """From the install command until the miner runs the new version."""
        return self._install is not None

    @override
    def version_is_newer(self, latest_version: str, installed_version: str) -> bool:
        """Versions ending in a build stamp compare by it (the prefix is the model)."""
        latest = _BUILD_STAMP.search(latest_version)
        installed = _BUILD_STAMP.search(installed_version)
        if latest is not None and installed is not None:
            return latest.groups() > installed.groups()
        return super().version_is_newer(latest_version, installed_version)

    @override
    async def async_install(
        self, version: str | None, backup: bool, **kwargs: Any
    ) -> None:
        """Tell the miner to fetch and install the newest release; don't wait.

        The update component has checked that a newer release is known, that no
        other update runs and that no specific version or backup was asked for.
        """
        release = self.coordinator.latest_firmware
        if release is None:
            raise HomeAssistantError(
                translation_domain="update",
                translation_key="no_update_available",
                translation_placeholders={"entity_id": self.entity_id},
            )
        self._begin(release.version)
        try:
            await self.coordinator.async_install_firmware(release, force=self.by_person)
        except OutcomeUnknownError:
            # Without a reply the update may run all the same: keep watching
            # until the miner shows it or the time is up.
            raise
        except HomeAssistantError:
            self._end()
            raise

    def _begin(self, version: str) -> None:
        data = self.coordinator.data
        self._install = _Install(
            version,
            data.booted_at,
            async_call_later(
                self.hass,
                INSTALL_TIMEOUT,
                HassJob(
                    partial(self._async_timed_out, version), cancel_on_shutdown=True
                ),
            ),
        )
        self.async_write_ha_state()

    def _end(self) -> None:
        if self._install is not None:
            self._install.cancel_timeout()
            self._install = None

    @callback
    def _async_timed_out(self, version: str, _now: datetime) -> None:
        LOGGER.warning(
            "%s: the miner does not run firmware %s %d minutes after the update "
            "was started; showing what it reports",
            self.entity_id,
            version,
            INSTALL_TIMEOUT // timedelta(minutes=1),
        )
        self._install = None
        self.async_write_ha_state()

    @callback
    @override
    def _handle_coordinator_update(self) -> None:
        """End the update when the miner runs the new version or has given up."""
        coordinator = self.coordinator
        if (install := self._install) is not None and coordinator.last_update_success:
            installed = coordinator.info.firmware_version
            if installed == install.version:
                self._end()
            elif (
                install.booted_at is not None
                and coordinator.data.booted_at != install.booted_at
            ):
                # Rebooted (the coordinator has read the version again since).
                LOGGER.warning(
                    "%s: the miner restarted with firmware %s, not %s: "
                    "the update failed",
                    self.entity_id,
                    installed,
                    install.version,
                )
                self._end()
        super()._handle_coordinator_update()

    @override
    async def async_will_remove_from_hass(self) -> None:
        """Forget an update in progress (the miner carries on by itself)."""
        await super().async_will_remove_from_hass()
        self._end()
