"""A request's origin (the client's address, and whether a trusted proxy brought it) and the
address's rate-limit key, worked out once per request and kept on its ASGI scope.

The address gate, the ingest guard and the security headers each need them; parsing the peer and
``X-Forwarded-For`` and keying the address (an HMAC) once serves all three. The scope is the one
the request's layers pass down, so whoever asks first pays.
"""

from __future__ import annotations

from typing import List, Sequence

from starlette.types import Scope

from ..core.addresses import Origin, address_key, origin, proxy_says_https
from ..core.colab_ranges import IPNetwork

ORIGIN = "notebook_error_reporter.origin"
ADDRESS_KEY = "notebook_error_reporter.address_key"


def header_values(scope: Scope, name: bytes) -> List[str]:
    """Every value of the header ``name`` (lower case), in order, as Starlette decodes them."""
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def origin_of(scope: Scope, trusted_proxies: Sequence[IPNetwork]) -> Origin:
    found: Origin | None = scope.get(ORIGIN)
    if found is None:
        client = scope.get("client")
        forwarded = header_values(scope, b"x-forwarded-for") if trusted_proxies else []
        found = scope[ORIGIN] = origin(client[0] if client else None, forwarded, trusted_proxies)
    return found


def address_key_of(scope: Scope, trusted_proxies: Sequence[IPNetwork], secret: bytes) -> str:
    """The client address's keyed hash (``core/addresses.address_key``)."""
    found: str | None = scope.get(ADDRESS_KEY)
    if found is None:
        found = scope[ADDRESS_KEY] = address_key(origin_of(scope, trusted_proxies).address, secret)
    return found


def over_https(scope: Scope, trusted_proxies: Sequence[IPNetwork]) -> bool:
    """Whether the client reached us over HTTPS: our own TLS, or a trusted proxy that says so."""
    if scope.get("scheme") == "https":
        return True
    if not trusted_proxies or not origin_of(scope, trusted_proxies).via_trusted_proxy:
        return False
    return proxy_says_https(header_values(scope, b"x-forwarded-proto"))
