"""The address a request came from, as far as it can be believed (sign-in throttling counts by it).

The rule is pure (client_address: the peer, the X-Forwarded-For header and the trusted proxies,
ZIZHU_TRUSTED_PROXIES, none by default: then the header is never read, since anyone can send it); request_address
applies it to a request. Sign-in throttling and the public notice's objection quota both count by it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from typing import Any

from litestar.connection import ASGIConnection

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(raw: str) -> tuple[IpNetwork, ...]:
    """ZIZHU_TRUSTED_PROXIES: addresses or networks, separated by commas ("" for none). ValueError if one is not."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: str, proxies: Iterable[IpNetwork]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: tuple[IpNetwork, ...]) -> str:
    """The address a request came from: the peer, unless the peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not one (each proxy appends the address it saw, so only the right end can be believed)."""
    address = (peer or "unknown")[:64]
    if not forwarded_for or not _trusted(address, proxies):
        return address
    for hop in reversed(forwarded_for.split(",")):
        ip = _ip(hop)
        if ip is None:  # a garbled hop: believe no further than the last proxy that handed it on
            return address
        address = str(ip)
        if not _trusted(address, proxies):
            return address
    return address


def request_address(connection: ASGIConnection[Any, Any, Any, Any], proxies: tuple[IpNetwork, ...]) -> str:
    """The client address of a request (X-Forwarded-For only from the trusted proxies)."""
    client = connection.scope.get("client")
    return client_address(client[0] if client else None, connection.headers.get("x-forwarded-for"), proxies)


def keyed_digest(secret: str, *parts: str) -> str:
    """What the service keeps of a client address (with a purpose and, say, a user name): an HMAC, never the
    address itself; without the key it cannot be found again by trying all 2³² IPv4 addresses."""
    return hmac.new(secret.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()
