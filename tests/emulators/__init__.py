"""Protocol emulators for Miner Hub's tests; also runnable with ``python -m``."""

from .whatsminer_v2 import (
    BTMINER_DOWN_TEXT,
    FACTORY_PASSWORD,
    FACTORY_SALT,
    M30S_PLUS_VE40,
    M50_VH50,
    PROFILES,
    Faults,
    MinerModel,
    MinerState,
    ReceivedCommand,
    WhatsminerV2Emulator,
    default_state,
    derive_salt,
)

__all__ = [
    "BTMINER_DOWN_TEXT",
    "FACTORY_PASSWORD",
    "FACTORY_SALT",
    "M30S_PLUS_VE40",
    "M50_VH50",
    "PROFILES",
    "Faults",
    "MinerModel",
    "MinerState",
    "ReceivedCommand",
    "WhatsminerV2Emulator",
    "default_state",
    "derive_salt",
]
