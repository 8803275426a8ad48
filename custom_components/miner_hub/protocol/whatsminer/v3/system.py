"""API v3 commands about the control board rather than mining.

Password, host name, time zone, network and factory settings. Miner Hub offers
none of them (they can lock a user out of the miner); they are here for library
users and kept tested.
"""

from __future__ import annotations

from ...errors import InvalidParameter
from .transport import V3Transport


class V3System:
    """The control board's commands of one miner (``client.system``)."""

    def __init__(self, transport: V3Transport) -> None:
        """Send through the client's transport."""
        self.transport = transport

    async def change_password(self, new_password: str) -> bool:
        """``set.user.change_passwd`` (encrypted) for this client's account."""
        if not new_password or len(new_password) > 64:
            raise InvalidParameter("the new password must be 1-64 characters")
        transport = self.transport
        done = await transport.write(
            "set.user.change_passwd",
            {
                "account": transport.account,
                "new": new_password,
                "old": transport.password or "",
            },
        )
        transport.password, transport.salt = new_password, None
        return done

    async def set_hostname(self, hostname: str) -> bool:
        """``set.system.hostname``."""
        if not hostname or len(hostname) > 63:
            raise InvalidParameter("hostname must be 1-63 characters")
        return await self.transport.write("set.system.hostname", {"hostname": hostname})

    async def set_timezone(self, timezone: str, zonename: str) -> bool:
        """``set.system.timezone``, e.g. ("CST-8", "Asia/Shanghai")."""
        if not timezone or not zonename:
            raise InvalidParameter("timezone and zonename are required")
        return await self.transport.write(
            "set.system.timezone", {"timezone": timezone, "zonename": zonename}
        )

    async def set_network_dhcp(self) -> bool:
        """``set.system.net_config`` "dhcp"; the miner restarts its network."""
        return await self.transport.write("set.system.net_config", "dhcp")

    async def factory_reset(self) -> bool:
        """``set.system.factory_reset``: the API switch turns off."""
        return await self.transport.write("set.system.factory_reset")
