"""Rendering a page: the Jinja2 templates (autoescaped), the context every page shares, the CSRF cookie.

Every template gets ``viewer`` (admin or not, public or not) and ``csrf`` (the token its forms
carry); everything it prints shows bidi controls visibly (``shown``). A browser without a CSRF
nonce cookie gets one with the page, so the forms on that very page are valid when submitted.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import urlencode

import jinja2
import markupsafe
from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from ..._version import __version__
from ...inert_text import visible_bidi
from . import _signing
from .deps import CSRF_COOKIE, Viewer, cookie_name

HERE = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


def shown(value: Any) -> Any:
    """Every ``{{ value }}`` a template prints: text with its bidi controls made visible (``[U+202E]``),
    so a stranger's text cannot reorder what the reader sees; markup our macros made is already shown."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible_bidi(value)
    return value


# autoescape for every template whatever its name; undefined names fail loudly instead of printing "".
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=shown,
)
templates = Jinja2Templates(env=environment)


def when(value: Optional[datetime]) -> str:
    """A timestamp as people read it, always in UTC (the server does not know the reader's zone)."""
    if value is None:
        return "never"
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def ago(value: Optional[datetime], now: Optional[datetime] = None) -> str:
    """``"5 min ago"``: the reading that matters for "is this still happening?"."""
    if value is None:
        return "never"
    seconds = int(((now or datetime.now(timezone.utc)) - value).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def counted(number: int, noun: str, plural: Optional[str] = None) -> str:
    """``"1 report"``, ``"2 reports"``: a count with its noun in the right number."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def query(**params: Any) -> str:
    """``?a=1&b=2`` without the parameters that are None (links that keep a page's filters)."""
    kept = {name: value for name, value in params.items() if value is not None}
    return "?" + urlencode(kept) if kept else ""


environment.filters["when"] = when
environment.filters["ago"] = ago
environment.filters["counted"] = counted
environment.globals["query"] = query
environment.globals["version"] = __version__


def render(
    request: Request,
    viewer: Viewer,
    name: str,
    context: Dict[str, Any],
    status_code: int = 200,
) -> Response:
    """The template ``name`` with the shared context; sets the CSRF nonce cookie if the browser lacks it."""
    nonce = viewer.nonce or _signing.new_id()
    response = templates.TemplateResponse(
        request=request,
        name=name,
        context={"viewer": viewer, "csrf": viewer.csrf(nonce), **context},
        status_code=status_code,
    )
    if viewer.nonce != nonce:
        set_cookie(viewer, response, CSRF_COOKIE, nonce, max_age=None)
    response.headers["Cache-Control"] = "no-store"
    return response


def set_cookie(viewer: Viewer, response: Response, name: str, value: str, max_age: Optional[int]) -> None:
    """Our cookies are HttpOnly (no script reads them), SameSite=Strict (no other site sends them),
    and over HTTPS Secure with a ``__Host-`` name (no other host, no plain-HTTP page can set them)."""
    response.set_cookie(
        cookie_name(name, viewer.https),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="strict",
        secure=viewer.https,
    )


def delete_cookie(viewer: Viewer, response: Response, name: str) -> None:
    response.delete_cookie(
        cookie_name(name, viewer.https), path="/", httponly=True, samesite="strict", secure=viewer.https
    )
