"""API v2 commands about the control board rather than mining.

Password, network, host name, time zone, logs, firmware, factory settings and
customer messages. Miner Hub offers none of them (they can lock a user out of
the miner); they are here for library users and kept tested.
"""

from __future__ import annotations

from collections.abc import Iterable
import re
from typing import Any, Final

from ...errors import InvalidParameter
from ...validation import int_in_range, ipv4_address, text_up_to
from .models import WriteResult
from .transfer import transfer
from .transport import V2Transport

_PASSWORD = re.compile(r"^\w{1,8}$", re.ASCII)
_HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_CUSTOMER_KEYS: Final = frozenset({"CustomerSn", *(f"msg{i}" for i in range(10))})
_MAX_CUSTOMER_TEXT: Final = 127
_MAX_FIRMWARE_SIZE: Final = 0xFFFFFFFF


class V2System:
    """The control board's commands of one miner (``client.system``)."""

    def __init__(self, transport: V2Transport) -> None:
        """Send through the client's transport."""
        self.transport = transport

    async def factory_reset(self) -> WriteResult:
        """Restore factory settings.

        The password becomes ``admin`` and the write API is switched off.
        """
        return await self.transport.write("factory_reset")

    async def update_password(self, new_password: str) -> WriteResult:
        """Change the admin password (1-8 letters, digits or underscores)."""
        if not isinstance(new_password, str) or not _PASSWORD.match(new_password):
            raise InvalidParameter("the new password must be 1-8 letters, digits or _")
        old = self.transport.require_password()
        result = await self.transport.write(
            "update_pwd", {"old": old, "new": new_password}
        )
        self.transport.password = new_password
        self.transport.forget_token()
        return result

    async def set_network_dhcp(self) -> WriteResult:
        """Use DHCP; the miner restarts its network."""
        return await self.transport.write("net_config", {"param": "dhcp"})

    async def set_network_static(
        self, ip: str, netmask: str, gateway: str, dns: Iterable[str], hostname: str
    ) -> WriteResult:
        """Use a static address; the miner restarts its network."""
        servers = [ipv4_address("dns", server) for server in dns]
        if not servers:
            raise InvalidParameter("at least one dns server is required")
        return await self.transport.write(
            "net_config",
            {
                "ip": ipv4_address("ip", ip),
                "mask": ipv4_address("netmask", netmask),
                "gate": ipv4_address("gateway", gateway),
                "dns": " ".join(servers),
                "host": self._hostname(hostname),
            },
        )

    async def download_logs(self) -> bytes:
        """Download the miner's log file (a header, then raw bytes)."""
        return await transfer(self.transport, "download_logs", upload=None)

    async def update_firmware(self, image: bytes) -> WriteResult:
        """Upload a firmware image; the miner reboots into it afterwards.

        Success shows later as a new firmware version in ``get_version``.
        """
        if not image or len(image) > _MAX_FIRMWARE_SIZE:
            raise InvalidParameter("the firmware image is empty or too large")
        await transfer(self.transport, "update_firmware", upload=image)
        return WriteResult("update_firmware", replied=True, message="ready")

    def _hostname(self, hostname: str) -> str:
        if not isinstance(hostname, str) or not _HOSTNAME.match(hostname):
            raise InvalidParameter("hostname must be 1-63 letters, digits or -")
        return hostname

    async def set_hostname(self, hostname: str) -> WriteResult:
        """Set the hostname (effective after a network restart)."""
        return await self.transport.write(
            "set_hostname", {"hostname": self._hostname(hostname)}
        )

    async def set_zone(self, timezone: str, zonename: str) -> WriteResult:
        """Set the time zone, e.g. ``("CST-8", "Asia/Shanghai")``."""
        if not timezone or not zonename:
            raise InvalidParameter("timezone and zonename are required")
        return await self.transport.write(
            "set_zone",
            {
                "timezone": text_up_to("timezone", timezone, 64),
                "zonename": text_up_to("zonename", zonename, 64),
            },
        )

    async def load_log(self, ip: str, port: int, proto: str) -> WriteResult:
        """Send the miner's logs to a syslog server."""
        if proto not in ("tcp", "udp"):
            raise InvalidParameter("proto must be tcp or udp")
        return await self.transport.write(
            "load_log",
            {
                "ip": ipv4_address("ip", ip),
                "port": str(int_in_range("port", port, 1, 65535)),
                "proto": proto,
            },
        )

    async def set_customer_message(self, key: str, value: str) -> WriteResult:
        """Store a customer SN (``CustomerSn``) or message (``msg0``..``msg9``)."""
        if key not in _CUSTOMER_KEYS:
            raise InvalidParameter("key must be CustomerSn or msg0..msg9")
        return await self.transport.write(
            "set_customer_msg",
            {"key": key, "val": text_up_to("value", value, _MAX_CUSTOMER_TEXT)},
        )

    async def get_customer_message(self) -> Any:
        """Read the customer SN and messages (the reply shape is undocumented)."""
        return (await self.transport.encrypted_read("get_customer_msg")).get("Msg")
