"""Who is the client: its address behind trusted proxies, and its network for limits.

``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy, and then
only up to the first address (from the right) that is not itself a trusted proxy —
so a client cannot spoof its address by sending the header itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from litestar.connection import ASGIConnection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_UNKNOWN = ipaddress.IPv4Address("0.0.0.0")  # noqa: S104 - a placeholder, not a bind address


def _parse(value: str) -> IPAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5555"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, proxies: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in proxies)


def resolve_client(
    peer: str | None, forwarded_for: list[str], proxies: Iterable[IPNetwork]
) -> IPAddress:
    """The client's address given the direct peer and the ``X-Forwarded-For`` values."""
    proxies = tuple(proxies)
    address = _parse(peer or "") or _UNKNOWN
    if not proxies or not _trusted(address, proxies):
        return address
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            # A malformed hop: stop believing the chain here.
            return address
        address = parsed
        if not _trusted(address, proxies):
            return address
    return address


def network_of(address: IPAddress) -> str:
    """The limit key of an address: the IPv4 address itself, or the IPv6 /64."""
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def client_address(connection: ASGIConnection) -> IPAddress:
    """The client's address for this request (cached on the scope)."""
    cached = connection.scope.get("portal_client")
    if cached is None:
        settings = connection.app.state.settings
        peer = connection.client.host if connection.client else None
        cached = resolve_client(
            peer, connection.headers.getall("x-forwarded-for", []), settings.trusted_proxies
        )
        connection.scope["portal_client"] = cached  # type: ignore[typeddict-unknown-key]
    return cached


def client_network(connection: ASGIConnection) -> str:
    """The client's network key for this request."""
    return network_of(client_address(connection))
