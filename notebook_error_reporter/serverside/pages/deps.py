"""Who is looking at a page, and the checks state-changing forms must pass.

* ``ViewerDep``: the visitor (signed in as the admin or not, and the CSRF nonce their browser holds).
* ``ReaderPageDep``: a read-only page; anybody with ``max_transparency``, else the admin; anybody
  else is sent to the sign-in page (``SignInRequired``, answered by ``pages.install``).
* ``AdminFormDep``: a form that changes something: the admin (always, transparency or not) and a
  valid CSRF token. A refusal is a ``PageError``: an HTML page with its status, nothing changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Optional
from urllib.parse import quote

from fastapi import Depends, Form, Request

from ..api.deps import StateDep
from . import _signing

ADMIN_COOKIE = "ner_admin"
CSRF_COOKIE = "ner_csrf"
FORM_EXPIRED = "This form has expired or did not come from this dashboard; please reload the page and retry."
ADMIN_ONLY = "Only the admin can do this: please sign in."


class PageError(Exception):
    """A page's refusal, answered as an HTML page with this status (``pages.install``), not JSON."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class SignInRequired(Exception):
    """The page is not public and the visitor has not signed in: go to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return "/signin?next=" + quote(self.next_path, safe="/")


@dataclass(frozen=True)
class Viewer:
    admin: bool
    public: bool  # the server runs with max_transparency: read-only pages are open to anybody
    nonce: Optional[str]  # the browser's CSRF nonce cookie, if it has one
    key: bytes

    @property
    def can_read(self) -> bool:
        return self.admin or self.public

    def csrf(self, nonce: str) -> str:
        return _signing.csrf_token(self.key, nonce)


def get_viewer(request: Request, state: StateDep) -> Viewer:
    key = state.dashboard_secret()
    admin = _signing.sign_in_valid(
        key, state.settings.admin_token, request.cookies.get(ADMIN_COOKIE), int(time.time())
    )
    return Viewer(
        admin=admin, public=state.settings.max_transparency, nonce=request.cookies.get(CSRF_COOKIE), key=key
    )


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def safe_next(path: Optional[str]) -> str:
    """Where to go after signing in: a path on this site only (never ``//other.host`` or a URL)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    if any(ord(character) < 32 for character in path):
        return "/"
    return path


def require_reader(request: Request, viewer: ViewerDep) -> Viewer:
    if not viewer.can_read:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return viewer


ReaderPageDep = Annotated[Viewer, Depends(require_reader)]


def require_csrf(viewer: ViewerDep, csrf: Annotated[str, Form(max_length=128)] = "") -> Viewer:
    """The form's token must sign the browser's nonce cookie; else 403 and nothing changes."""
    if not _signing.csrf_valid(viewer.key, viewer.nonce, csrf):
        raise PageError(403, FORM_EXPIRED)
    return viewer


CsrfDep = Annotated[Viewer, Depends(require_csrf)]


def require_admin_form(viewer: CsrfDep) -> Viewer:
    if not viewer.admin:
        raise PageError(403, ADMIN_ONLY)
    return viewer


AdminFormDep = Annotated[Viewer, Depends(require_admin_form)]
