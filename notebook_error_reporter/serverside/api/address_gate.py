"""Refuse a report from an address that has used up its limit before its body is read (called by
``request_limits.py``'s layer).

FastAPI reads and parses a request's body before any route dependency runs, so without this a
flooding address would still have every 2 MB body read and parsed before its 429. The gate only
asks whether the address has room left (counting nothing: the reports are counted once read, see
``batch_limits.py`` and ``deps.guard_ingest``).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from ..state import ADDRESS_SECRET_NAME, ServerState
from .deps import address_key_for

# The routes that take reports (the 0.1 ones are small by nature and stay with their dependency).
GATED_PATHS = ("/api/v1/events", "/api/v1/events/batch")


async def refused_spent_address(scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer 429 (and True) if ``scope`` is a report from an address with no room left; else False."""
    if scope["method"] != "POST" or scope["path"] not in GATED_PATHS:
        return False
    request = Request(scope)
    state: ServerState = scope["app"].state.server
    if not state.has_secret(ADDRESS_SECRET_NAME):
        # The address key is not read from the database yet: the route's guard reads it, where
        # an unavailable database is answered 503.
        return False
    if state.limiter.in_process:
        wait = seconds_to_wait(request, state)
    else:
        wait = await run_in_threadpool(seconds_to_wait, request, state)
    if wait is None:
        return False
    answer = JSONResponse(
        {"detail": f"Too many requests from this address; please retry in {wait} s."},
        status_code=429,
        headers={"Retry-After": str(wait), "Connection": "close"},
    )
    await answer(scope, receive, send)
    return True


def seconds_to_wait(request: Request, state: ServerState) -> int | None:
    """None if the request's address has room left, else the seconds until it has."""
    room, wait = state.limiter.room("address", address_key_for(request, state))
    return None if room > 0 else wait
