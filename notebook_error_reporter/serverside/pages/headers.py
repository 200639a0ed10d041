"""Security headers on every answer of the app (plain ASGI middleware).

The dashboard shows text written by strangers (error messages, first lines of cells). Escaping is
the first defence (Jinja autoescape); the Content-Security-Policy is the second: even if markup got
through, the browser would run no inline script, load nothing from another site, and let no other
site frame the dashboard (clickjacking of the status buttons) nor receive its forms.

Every answer gets the headers, JSON included (harmless there, and nothing is forgotten), the API
documentation too (its files are served by the app, ``api/docs_pages.py``).

An answer to a request that came over HTTPS (our own TLS, or a trusted proxy's
``X-Forwarded-Proto``) also gets HSTS: browsers then never try plain HTTP on this host again.
"""

from __future__ import annotations

from typing import List, Tuple

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..api.request_origin import over_https

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
ALWAYS: List[Tuple[str, str]] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
]
STRICT_TRANSPORT_SECURITY = "max-age=31536000"  # a year


def _over_https(scope: Scope) -> bool:
    state = getattr(scope["app"].state, "server", None) if "app" in scope else None
    return state is not None and over_https(scope, state.trusted_proxies)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = _over_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS:
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if https:
                    headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
            await send(message)

        await self.app(scope, receive, send_with_headers)
