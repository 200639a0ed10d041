"""Signing in with the admin token, and out again.

The token is typed once into a form (never put in a URL, where logs and history would keep it);
the browser then holds a cookie that proves it without being it (see ``_signing.py``), and a fresh
CSRF nonce. Signing out ends the sign-in on the server too (``sign_ins.py``). Both forms
carry the CSRF token, the sign-in form too: otherwise another site could sign a visitor in with
the other site's own choices (login CSRF).
"""

from __future__ import annotations

import time
from typing import Annotated, Optional

from fastapi import Form, Query, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from .. import sign_ins
from ..api.deps import StateDep, TokenGuessing, check_admin_token
from . import _signing
from .deps import ADMIN_COOKIE, CSRF_COOKIE, CsrfDep, ViewerDep, safe_next
from .render import delete_cookie, render, set_cookie
from .routing import page_router

router = page_router()
WRONG_TOKEN = "That is not the admin token."
NO_TOKEN = "This server has no admin token, so nobody can sign in; start it with --admin-token."


@router.get("/signin")
def signin_page(
    request: Request,
    viewer: ViewerDep,
    state: StateDep,
    next_path: Annotated[Optional[str], Query(alias="next", max_length=2000)] = None,
) -> Response:
    return render(
        request,
        viewer,
        "signin.html",
        {
            "next": safe_next(next_path),
            "error": None if state.settings.admin_token else NO_TOKEN,
            "title": "Sign in",
        },
    )


@router.post("/signin")
def signin(
    request: Request,
    viewer: CsrfDep,
    state: StateDep,
    token: Annotated[str, Form(max_length=1000)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2000)] = "/",
) -> Response:
    """A right token: the cookie, then back where the visitor was going; a wrong one: the form again,
    403; too many wrong ones from this address: the form with 429 and Retry-After."""
    token = token.strip()
    try:
        right = check_admin_token(request, state, token)
    except TokenGuessing as guessing:
        context = {"next": safe_next(next_path), "error": guessing.message, "title": "Sign in"}
        response = render(request, viewer, "signin.html", context, status_code=429)
        response.headers["Retry-After"] = str(guessing.retry_after)
        return response
    if not right:
        error = WRONG_TOKEN if state.settings.admin_token else NO_TOKEN
        context = {"next": safe_next(next_path), "error": error, "title": "Sign in"}
        return render(request, viewer, "signin.html", context, status_code=403)
    now = int(time.time())
    sign_in_id = _signing.new_id()
    with state.database.write_session() as session:
        sign_ins.start(session, sign_in_id, now, expired_before=now - _signing.SIGN_IN_MAX_AGE)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    cookie = _signing.sign_in_cookie(viewer.key, token, sign_in_id, now)
    set_cookie(viewer, response, ADMIN_COOKIE, cookie, max_age=_signing.SIGN_IN_MAX_AGE)
    set_cookie(viewer, response, CSRF_COOKIE, _signing.new_id(), max_age=None)  # a fresh nonce
    return response


@router.post("/signout")
def signout(request: Request, viewer: CsrfDep, state: StateDep) -> Response:
    """Ends the sign-in on the server (every copy of its cookie stops working) and in this browser."""
    if viewer.sign_in_id is not None:
        with state.database.write_session() as session:
            sign_ins.end(session, viewer.sign_in_id)
    response = RedirectResponse("/signin", status_code=303)
    delete_cookie(viewer, response, ADMIN_COOKIE)
    return response
