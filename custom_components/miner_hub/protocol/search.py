"""Finding miners on a network: which addresses answer as a Whatsminer or DragonMint.

Every host address of an IPv4 network is asked, and no other address; only reads
are sent, and no password:

- Whatsminer API v3 (TCP 4433): a framed ``get.device.info``, which the miner
  answers without a token (model, MAC, hostname).
- Whatsminer API v2 (TCP 4028): ``get_version``, then ``get_miner_info``: the
  plain reads the config flow makes, also without a token. Firmware with API v3
  answers here too; its v3 answer is the one kept.
- DragonMint / Innosilicon (HTTP 80): ``GET /`` and the page's ``<title>``,
  ``DragonMint`` or ``AsicMiner`` (Innosilicon). The model and the MAC need an
  account of the web interface, so they stay unknown until the miner is added.

Connections are short (``connect_timeout``; ``read_timeout`` for the answer)
and at most ``concurrency`` are open at once: an address where nothing answers
costs one connect timeout, an address that refuses costs nothing. A /24 where no
address answers takes 3 x 254 connects / 128 at a time x 1 s: about 6 s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
import ipaddress
import logging
import re
from typing import Final

import aiohttp
from yarl import URL

from .dragonmint.client import DEFAULT_PORT as WEB_PORT
from .errors import MinerHubError
from .gate import Gate
from .models import MinerInfo
from .whatsminer.detect import WhatsminerApi
from .whatsminer.v2.adapter import WhatsminerV2Miner
from .whatsminer.v2.client import WhatsminerV2Client
from .whatsminer.v2.transport import DEFAULT_PORT as WHATSMINER_V2_PORT
from .whatsminer.v3.adapter import WhatsminerV3Miner
from .whatsminer.v3.client import WhatsminerV3Client
from .whatsminer.v3.transport import DEFAULT_PORT as WHATSMINER_V3_PORT

_LOGGER = logging.getLogger(__name__)

# A /22: four home /24s. Beyond that a search takes minutes and is likely a typo.
MAX_SEARCH_ADDRESSES: Final = 1024
SEARCH_CONCURRENCY: Final = 128
# Where an address is in use, refusal is immediate; where it is not, nothing
# answers at all and only the connect timeout ends the attempt.
SEARCH_CONNECT_TIMEOUT: Final = 1.0
SEARCH_READ_TIMEOUT: Final = 3.0
# The title is at the top of the page: no need to read a large page to its end.
_PAGE_BYTES: Final = 16384
_TITLES: Final = re.compile(rb"<title>\s*(DragonMint|AsicMiner)\s*</title>", re.I)


class MinerFamily(StrEnum):
    """What answered: the kind of miner (also the config flow's step)."""

    WHATSMINER = "whatsminer"
    DRAGONMINT = "dragonmint"


@dataclass(frozen=True, slots=True)
class SearchPorts:
    """The ports asked at every address (the vendors' unless told otherwise)."""

    whatsminer_v2: int = WHATSMINER_V2_PORT
    whatsminer_v3: int = WHATSMINER_V3_PORT
    web: int = WEB_PORT


@dataclass(frozen=True, slots=True)
class FoundMiner:
    """A miner that answered, and what it told without a password."""

    family: MinerFamily
    host: str
    brand: str  # Whatsminer, DragonMint or Innosilicon
    model: str | None = None  # e.g. M30S+VE40 (Whatsminer only)
    mac: str | None = None  # normalized (Whatsminer only), see normalize_mac
    hostname: str | None = None
    api: WhatsminerApi | None = None  # Whatsminer only


type _Probe = Callable[[str], Awaitable[FoundMiner | None]]


class NetworkTooLarge(ValueError):
    """The network holds more addresses than a search asks."""


def search_network(text: str) -> ipaddress.IPv4Network:
    """The IPv4 network of ``192.168.1.0/24`` (host bits may be set).

    Raises ValueError for anything else, and ``NetworkTooLarge`` beyond
    MAX_SEARCH_ADDRESSES addresses.
    """
    network = ipaddress.IPv4Network(text.strip(), strict=False)
    if network.num_addresses > MAX_SEARCH_ADDRESSES:
        raise NetworkTooLarge(str(network))
    return network


class NetworkSearch:
    """Asks every host address of a network what answers there.

    ``session`` serves the web requests (in Home Assistant: the shared one);
    ``ports`` say where each API is asked. The Whatsminer clients get a gate of
    their own: a search is over when it returns, and so is its state.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        ports: SearchPorts | None = None,
        concurrency: int = SEARCH_CONCURRENCY,
        connect_timeout: float = SEARCH_CONNECT_TIMEOUT,
        read_timeout: float = SEARCH_READ_TIMEOUT,
    ) -> None:
        """Nothing is sent until ``run`` is awaited."""
        self._session = session
        self.ports = ports or SearchPorts()
        self.concurrency = concurrency
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout

    async def run(self, network: ipaddress.IPv4Network) -> list[FoundMiner]:
        """The miners of ``network``, one per address, in address order."""
        gate = Gate()
        probes: list[_Probe] = [
            lambda host: self._whatsminer_v3(host, gate),
            lambda host: self._whatsminer_v2(host, gate),
            self._web,
        ]
        # Ranked by the order of the probes: an address's first answer wins.
        jobs = iter(
            [
                (host, rank, probe)
                for host in network.hosts()
                for rank, probe in enumerate(probes)
            ]
        )
        answers: dict[tuple[ipaddress.IPv4Address, int], FoundMiner] = {}

        async def worker(
            shared: Iterator[tuple[ipaddress.IPv4Address, int, _Probe]],
        ) -> None:
            for host, rank, probe in shared:  # one iterator for all: each job once
                if (found := await probe(str(host))) is not None:
                    answers[host, rank] = found

        async with asyncio.TaskGroup() as group:
            for _ in range(self.concurrency):
                group.create_task(worker(jobs))
        found: dict[ipaddress.IPv4Address, FoundMiner] = {}
        for (host, _rank), miner in sorted(answers.items(), key=lambda item: item[0]):
            found.setdefault(host, miner)
        _LOGGER.debug("Search of %s: %d miners", network, len(found))
        return list(found.values())

    async def _whatsminer_v3(self, host: str, gate: Gate) -> FoundMiner | None:
        client = WhatsminerV3Client(
            host,
            self.ports.whatsminer_v3,
            gate=gate,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        return _whatsminer(
            host, WhatsminerApi.V3, await _info(WhatsminerV3Miner(client).read_info())
        )

    async def _whatsminer_v2(self, host: str, gate: Gate) -> FoundMiner | None:
        client = WhatsminerV2Client(
            host,
            self.ports.whatsminer_v2,
            gate=gate,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
        )
        return _whatsminer(
            host, WhatsminerApi.V2, await _info(WhatsminerV2Miner(client).read_info())
        )

    async def _web(self, host: str) -> FoundMiner | None:
        """``GET /``: the title of a DragonMint's or Innosilicon's web interface."""
        url = URL.build(scheme="http", host=host, port=self.ports.web, path="/")
        timeout = aiohttp.ClientTimeout(
            total=self.connect_timeout + self.read_timeout,
            sock_connect=self.connect_timeout,
        )
        page = b""
        try:
            async with self._session.get(
                url, timeout=timeout, allow_redirects=False
            ) as response:
                while len(page) < _PAGE_BYTES and (
                    chunk := await response.content.read(_PAGE_BYTES - len(page))
                ):
                    page += chunk
        except (TimeoutError, aiohttp.ClientError, OSError) as err:
            _LOGGER.debug("%s: no web interface: %r", url, err)
            return None
        if (match := _TITLES.search(page)) is None:
            return None
        title = match[1].decode().lower()
        brand = "DragonMint" if title == "dragonmint" else "Innosilicon"
        return FoundMiner(MinerFamily.DRAGONMINT, host, brand)


async def _info(read: Awaitable[MinerInfo]) -> MinerInfo | None:
    """What a Whatsminer read without a password; None where nothing answers so."""
    try:
        return await read
    except MinerHubError as err:
        _LOGGER.debug("No Whatsminer: %r", err)
        return None


def _whatsminer(
    host: str, api: WhatsminerApi, info: MinerInfo | None
) -> FoundMiner | None:
    if info is None:
        return None
    return FoundMiner(
        MinerFamily.WHATSMINER,
        host,
        "Whatsminer",
        model=info.model,
        mac=info.mac,
        hostname=info.hostname,
        api=api,
    )
