"""Which API a Whatsminer speaks, and the adapter for it.

Firmware from about November 2024 on moved control to API v3 (TCP 4433) and left
a reduced, read-only v2 API on 4028; older firmware has only v2. The same
password serves both (the v3 account is ``super`` unless configured otherwise).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from ..errors import ConnectionFailed, MinerHubError
from ..gate import Gate
from .v2.adapter import WhatsminerV2Miner
from .v2.client import WhatsminerV2Client
from .v3.adapter import WhatsminerV3Miner
from .v3.client import WhatsminerV3Client
from .v3.transport import DEFAULT_ACCOUNT, DEFAULT_PORT as V3_PORT

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
    gate: Gate | None = None,
) -> WhatsminerV2Miner | WhatsminerV3Miner:
    """The adapter for a known API generation (``port`` is the v2 port)."""
    if api is WhatsminerApi.V3:
        port_v3 = V3_PORT if v3_port is None else v3_port
        return WhatsminerV3Miner(
            WhatsminerV3Client(host, port_v3, password, account, gate=gate)
        )
    return WhatsminerV2Miner(WhatsminerV2Client(host, port, password, gate=gate))


async def detect_api(
    host: str, port: int, v3_port: int | None = None, *, gate: Gate | None = None
) -> WhatsminerApi:
    """Probe v3 first (``get.device.info`` with a MAC), else v2 on ``port``.

    Raises ConnectionFailed when neither answers.
    """
    v3_client = WhatsminerV3Client(
        host,
        V3_PORT if v3_port is None else v3_port,
        gate=gate,
        connect_timeout=PROBE_TIMEOUT,
        read_timeout=PROBE_TIMEOUT,
    )
    try:
        await WhatsminerV3Miner(v3_client).read_info()
    except MinerHubError:
        pass
    else:
        return WhatsminerApi.V3
    v2_client = WhatsminerV2Client(
        host,
        port,
        gate=gate,
        connect_timeout=PROBE_TIMEOUT,
        read_timeout=PROBE_TIMEOUT,
    )
    try:
        await v2_client.get_version()
    except MinerHubError as err:
        raise ConnectionFailed(f"{host}: no Whatsminer API answers") from err
    return WhatsminerApi.V2
