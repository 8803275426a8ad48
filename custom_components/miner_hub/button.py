"""Buttons of a miner: reboot, restart mining, identify, power off."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import override

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.event import async_call_later

from . import MinerHubConfigEntry
from .const import IDENTIFY_DURATION, LOGGER
from .coordinator import MinerCoordinator
from .entity import MinerControlEntityDescription, MinerEntity, async_add_controls
from .helpers import OutcomeUnknownError
from .protocol.models import Capability

# Ends a press's effect; with False, the caller is going away (no refresh).
type ReleaseFn = Callable[[MinerCoordinator, bool], Awaitable[None]]

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class MinerButtonEntityDescription(
    MinerControlEntityDescription, ButtonEntityDescription
):
    """A button of a miner: one command (``press_fn(coordinator, by_person)``)."""

    press_fn: Callable[[MinerCoordinator, bool], Awaitable[object]]


@dataclass(frozen=True, kw_only=True)
class MinerTimedButtonEntityDescription(MinerButtonEntityDescription):
    """A press with an effect that ``release_fn`` ends after ``release_after``.

    Another press starts the time again.
    """

    release_fn: ReleaseFn
    release_after: timedelta


BUTTONS: tuple[MinerButtonEntityDescription, ...] = (
    MinerButtonEntityDescription(
        key="reboot",
        translation_key="reboot",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        capability=Capability.REBOOT,
        press_fn=lambda coordinator, by_person: coordinator.async_reboot(
            force=by_person
        ),
    ),
    MinerButtonEntityDescription(
        key="restart_mining",
        translation_key="restart_mining",
        entity_category=EntityCategory.CONFIG,
        capability=Capability.RESTART_MINING,
        press_fn=lambda coordinator, by_person: coordinator.async_restart_mining(
            force=by_person
        ),
    ),
    MinerTimedButtonEntityDescription(
        key="identify",
        translation_key="identify",
        device_class=ButtonDeviceClass.IDENTIFY,
        entity_category=EntityCategory.DIAGNOSTIC,
        capability=Capability.IDENTIFY,
        press_fn=lambda coordinator, _: coordinator.async_identify(True),
        release_fn=lambda coordinator, refresh: coordinator.async_identify(
            False, refresh=refresh
        ),
        release_after=IDENTIFY_DURATION,
    ),
    MinerButtonEntityDescription(
        # The firmware cannot power the miner back on remotely: only a power
        # cycle at the plug brings it back. Disabled by default for that reason.
        key="power_off",
        translation_key="power_off",
        entity_category=EntityCategory.CONFIG,
        entity_registry_enabled_default=False,
        capability=Capability.POWER_OFF,
        press_fn=lambda coordinator, by_person: coordinator.async_power_off(
            force=by_person
        ),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: MinerHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the buttons the miner supports."""

    def button(
        coordinator: MinerCoordinator, description: MinerButtonEntityDescription
    ) -> MinerButton:
        if isinstance(description, MinerTimedButtonEntityDescription):
            return MinerTimedButton(coordinator, description)
        return MinerButton(coordinator, description)

    async_add_controls(entry, async_add_entities, BUTTONS, button)


class MinerButton(MinerEntity, ButtonEntity):
    """A button that sends one command."""

    entity_description: MinerButtonEntityDescription

    @override
    async def async_press(self) -> None:
        """Send the command; errors come back translated.

        A person pressing it (in the UI, by voice) expects the miner to act: a
        restart or reboot then runs at once; pressed by an automation it goes
        through the governor like every other disruptive change.
        """
        await self.entity_description.press_fn(self.coordinator, self.by_person)


class MinerTimedButton(MinerButton):
    """A button whose effect ``release_fn`` ends after ``release_after``."""

    entity_description: MinerTimedButtonEntityDescription
    _release_timer: CALLBACK_TYPE | None = None

    @override
    async def async_press(self) -> None:
        """Send the command, then (re)start the time until the release."""
        try:
            await super().async_press()
        except OutcomeUnknownError:
            # It may have taken effect: make sure it ends all the same.
            self._schedule_release()
            raise
        self._schedule_release()

    def _schedule_release(self) -> None:
        self._cancel_release()
        self._release_timer = async_call_later(
            self.hass,
            self.entity_description.release_after,
            HassJob(self._async_release, cancel_on_shutdown=True),
        )

    def _cancel_release(self) -> bool:
        """Cancel a pending release; whether one was pending."""
        if self._release_timer is None:
            return False
        self._release_timer()
        self._release_timer = None
        return True

    async def _async_release(self, _now: datetime) -> None:
        self._release_timer = None
        await self._release(refresh=True)

    async def _release(self, *, refresh: bool) -> None:
        try:
            await self.entity_description.release_fn(self.coordinator, refresh)
        except HomeAssistantError as err:
            LOGGER.warning("%s: could not end the press: %s", self.entity_id, err)

    @override
    async def async_will_remove_from_hass(self) -> None:
        """End a pending effect now rather than leave it on for good."""
        await super().async_will_remove_from_hass()
        if self._cancel_release():
            await self._release(refresh=False)
