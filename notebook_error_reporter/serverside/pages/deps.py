"""Who is looking at a page, and the checks state-changing forms must pass.

* ``ViewerDep``: the visitor (the admin's live sign-in or none, the CSRF nonce their browser holds,
  and whether they came over HTTPS, which names the cookies ``__Host-...`` and makes them Secure).
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

from .. import sign_ins
from ..api.deps import StateDep, is_https
from ..state import ServerState
from . import _signing

ADMIN_COOKIE = "ner_admin"
CSRF_COOKIE = "ner_csrf"
HOST_PREFIX = "__Host-"  # over HTTPS: the browser keeps such a cookie only if Secure, for this host, path /
FORM_EXPIRED = "This form has expired or did not come from this dashboard; please reload the page and retry."
ADMIN_ONLY = "Only the admin can do this: please sign in."


def cookie_name(name: str, https: bool) -> str:
    """Our cookie's name as the browser holds it: ``__Host-`` prefixed when the page came over HTTPS."""
    return HOST_PREFIX + name if https else name


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
    sign_in: Optional[_signing.SignIn]  # the admin's live sign-in, if this browser holds one
    public: bool  # the server runs with max_transparency: read-only pages are open to anybody
    nonce: Optional[str]  # the browser's CSRF nonce cookie, if it has a well-formed one
    key: bytes
    https: bool  # the page came over HTTPS: Secure, __Host- cookies

    @property
    def admin(self) -> bool:
        return self.sign_in is not None

    @property
    def sign_in_id(self) -> Optional[str]:
        return self.sign_in.id if self.sign_in is not None else None

    @property
    def can_read(self) -> bool:
        return self.admin or self.public

    def csrf(self, nonce: str) -> str:
        return _signing.csrf_token(self.key, self.sign_in_id, nonce)


def _live_sign_in(state: ServerState, cookie: Optional[str], key: bytes) -> Optional[_signing.SignIn]:
    sign_in = _signing.read_sign_in(key, state.settings.admin_token, cookie, int(time.time()))
    if sign_in is None:
        return None
    with state.database.session() as session:
        return sign_in if sign_ins.is_live(session, sign_in.id) else None


def get_viewer(request: Request, state: StateDep) -> Viewer:
    key = state.dashboard_secret()
    https = is_https(request, state)
    nonce = request.cookies.get(cookie_name(CSRF_COOKIE, https))
    return Viewer(
        sign_in=_live_sign_in(state, request.cookies.get(cookie_name(ADMIN_COOKIE, https)), key),
        public=state.settings.max_transparency,
        nonce=nonce if _signing.is_id(nonce) else None,
        key=key,
        https=https,
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
    if not _signing.csrf_valid(viewer.key, viewer.sign_in_id, viewer.nonce, csrf):
        raise PageError(403, FORM_EXPIRED)
    return viewer


CsrfDep = Annotated[Viewer, Depends(require_csrf)]


def require_admin_form(viewer: CsrfDep) -> Viewer:
    if not viewer.admin:
        raise PageError(403, ADMIN_ONLY)
    return viewer


AdminFormDep = Annotated[Viewer, Depends(require_admin_form)]
