"""Which API a Whatsminer speaks: v3 on port 4433, or v2 on the configured port.

Firmware from about November 2024 on moved control to API v3 (TCP 4433) and left
a reduced, read-only v2 API on 4028; older firmware has only v2. The same
password serves both (the v3 account is ``super`` unless configured otherwise).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ..errors import ConnectionFailed, MinerHubError
from .miner import WhatsminerV2Miner
from .miner_v3 import WhatsminerV3Miner
from .v3 import DEFAULT_ACCOUNT, DEFAULT_PORT as V3_PORT

# A miner without API v3 refuses or ignores port 4433: do not wait long.
PROBE_TIMEOUT: Final = 3.0


class WhatsminerApi(StrEnum):
    """The API generation a config entry stores."""

    V2 = "v2"
    V3 = "v3"


def whatsminer(
    api: WhatsminerApi,
    host: str,
    port: int,
    password: str | None,
    *,
    account: str = DEFAULT_ACCOUNT,
    v3_port: int | None = None,
) -> WhatsminerV2Miner | WhatsminerV3Miner:
    """The adapter for a known API generation (``port`` is the v2 port)."""
    if api is WhatsminerApi.V3:
        port_v3 = V3_PORT if v3_port is None else v3_port
        return WhatsminerV3Miner(host, port_v3, password, account)
    return WhatsminerV2Miner(host, port, password)


async def detect_api(host: str, port: int, v3_port: int | None = None) -> WhatsminerApi:
    """Probe v3 first (``get.device.info`` with a MAC), else v2 on ``port``.

    Raises ConnectionFailed when neither answers.
    """
    probe = WhatsminerV3Miner(host, V3_PORT if v3_port is None else v3_port)
    probe.client.connect_timeout = probe.client.read_timeout = PROBE_TIMEOUT
    try:
        await probe.read_info()
    except MinerHubError:
        pass
    else:
        return WhatsminerApi.V3
    legacy = WhatsminerV2Miner(host, port)
    legacy.client.connect_timeout = legacy.client.read_timeout = PROBE_TIMEOUT
    try:
        await legacy.client.get_version()
    except MinerHubError as err:
        raise ConnectionFailed(f"{host}: no Whatsminer API answers") from err
    return WhatsminerApi.V2
