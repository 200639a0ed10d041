"""Who is asking: the client's address (believing proxies only when configured), and its keyed hash.

The raw address is used for two decisions, in memory, during the request: is it inside the Colab
networks (``colab_only``), and which rate-limit bucket is it. It is never stored or logged; the
rate limiter sees only ``address_key``: an HMAC-SHA256 of the address under a per-database secret,
so even the limiter's storage (Redis) cannot be turned back into addresses without the secret.
An IPv6 client is keyed by its /64 network: one household or VM gets a whole /64 and could
otherwise dodge the limit by hopping through it.

``X-Forwarded-For`` is believed only when the peer is a configured trusted proxy, and then read
from the right: the first hop that is not itself a trusted proxy is the client. Anything a client
writes into the header itself sits further left and is ignored. Likewise the request counts as
HTTPS (``Secure`` cookies, HSTS) when it came over TLS directly, or from a trusted proxy whose
``X-Forwarded-Proto`` says ``https``; never because a client said so.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import NamedTuple, Optional, Sequence, Union

from .colab_ranges import IPNetwork

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
UNKNOWN_KEY = "unknown"


def parse_address(text: Optional[str]) -> Optional[IPAddress]:
    """An address from a header or the socket; IPv4-mapped IPv6 becomes IPv4; junk becomes None."""
    if not text:
        return None
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_networks(address: Optional[IPAddress], networks: Sequence[IPNetwork]) -> bool:
    return address is not None and any(address in network for network in networks)


class Origin(NamedTuple):
    """Where a request comes from: the client's address (None if unknown), and whether it came
    through a trusted proxy (whose ``X-Forwarded-*`` headers are then believed)."""

    address: Optional[IPAddress]
    via_trusted_proxy: bool


def origin(peer: Optional[str], forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]) -> Origin:
    """The client's address: the peer, or, behind trusted proxies, the nearest untrusted hop."""
    address = parse_address(peer)
    if address is None or not trusted_proxies or not in_networks(address, trusted_proxies):
        return Origin(address, False)
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        hop_address = parse_address(hop)
        if hop_address is None:
            return Origin(address, True)  # a malformed hop: trust nothing further left
        if not in_networks(hop_address, trusted_proxies):
            return Origin(hop_address, True)
        address = hop_address
    return Origin(address, True)


def client_address(
    peer: Optional[str], forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]
) -> Optional[IPAddress]:
    """``origin``'s address."""
    return origin(peer, forwarded_for, trusted_proxies).address


def proxy_says_https(forwarded_proto: Sequence[str]) -> bool:
    """Whether a trusted proxy's ``X-Forwarded-Proto`` says HTTPS (the nearest hop's, the last value)."""
    protos = [proto.strip().lower() for header in forwarded_proto for proto in header.split(",")]
    return bool(protos) and protos[-1] == "https"


def reached_over_https(
    scheme: str, peer: Optional[str], forwarded_proto: Sequence[str], trusted_proxies: Sequence[IPNetwork]
) -> bool:
    """Whether the client used HTTPS: our own TLS, or a trusted proxy's ``X-Forwarded-Proto``."""
    if scheme == "https":
        return True
    if not trusted_proxies or not in_networks(parse_address(peer), trusted_proxies):
        return False
    return proxy_says_https(forwarded_proto)


def address_key(address: Optional[IPAddress], secret: bytes) -> str:
    """A keyed hash of the address (IPv6: its /64), fit for a rate-limit key and nothing else."""
    if address is None:
        return UNKNOWN_KEY
    if isinstance(address, ipaddress.IPv6Address):
        packed = ipaddress.IPv6Network((int(address) >> 64 << 64, 64)).network_address.packed
    else:
        packed = address.packed
    return hmac.new(secret, packed, hashlib.sha256).hexdigest()[:32]
