"""Dependencies of the routes, as ``Annotated`` aliases (the full-stack template's ``deps.py``).

* ``SessionDep`` / ``WriteSessionDep``: a database session for reading / for changing things.
* ``AdminDep``: ``Authorization: Bearer <admin token>``; none -> 401, a wrong one -> 403.
* ``ReaderDep``: the admin, or anybody when the server runs with ``max_transparency``; it gives
  the reader's view of session ids (in full for the admin, labels for anybody else).
* ``GuardedStateDep``: what every report must pass before it is read further: the Colab check
  (when ``colab_only``) and the per-address flood limit. It yields the server state, so an ingest
  route needs no second dependency for it (on the ingest path each dependency FastAPI solves costs
  more than the check itself).

Dependencies that never wait (the state, the settings, the guard with in-memory limits) are
``async``: FastAPI runs a plain ``def`` dependency in its thread pool, and on the ingest path those
hops cost more than the work they do. Anything that may wait on the network (Redis, the database)
runs in the pool.
"""

from __future__ import annotations

import functools
import hmac
from typing import Annotated, Callable, Iterator, Optional

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..core.addresses import IPAddress, in_networks
from ..core.traffic import TRAFFIC
from ..session_labels import IN_FULL, SessionIds
from ..state import ADDRESS_SECRET_NAME, ServerState
from .request_origin import address_key_of, origin_of, over_https

bearer = HTTPBearer(auto_error=False, description="The admin token printed at the server's first start.")
COLAB_ONLY = "This server accepts reports from Google Colab only."


async def get_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


StateDep = Annotated[ServerState, Depends(get_state)]


def read_session(state: StateDep) -> Iterator[Session]:
    with state.database.session() as session:
        yield session


def write_session(state: StateDep) -> Iterator[Session]:
    with state.database.write_session() as session:
        yield session


SessionDep = Annotated[Session, Depends(read_session)]
WriteSessionDep = Annotated[Session, Depends(write_session)]


def is_admin_token(state: ServerState, token: str) -> bool:
    """Whether ``token`` is the admin token (constant time); never, when the server has none.

    The one comparison of the server: ``check_admin_token`` (API bearer, dashboard sign-in) uses it.
    """
    expected = state.settings.admin_token
    return expected is not None and hmac.compare_digest(token.encode(), expected.encode())


def address_of(request: Request, state: ServerState) -> Optional[IPAddress]:
    """The request's client address: the peer's, or behind trusted proxies the forwarded one."""
    return origin_of(request.scope, state.trusted_proxies).address


def address_key_for(request: Request, state: ServerState) -> str:
    """The keyed hash of the request's client address: what the limiter sees."""
    return address_key_of(request.scope, state.trusted_proxies, state.address_secret())


def is_https(request: Request, state: ServerState) -> bool:
    """Whether the client reached us over HTTPS (directly, or via a trusted proxy that says so)."""
    return over_https(request.scope, state.trusted_proxies)


def check_admin_token(request: Request, state: ServerState, token: str) -> bool:
    """``is_admin_token``, with guessing slowed down: a wrong token from an address that has sent too
    many wrong ones gets 429 (``TokenGuessing``). Only wrong tokens count, and the right one is
    compared first, so a stranger guessing from the admin's address (a shared NAT, a proxy not
    trusted) never locks the admin out."""
    if is_admin_token(state, token):
        return True
    retry_after = state.limiter.hit("token_failure", address_key_for(request, state))
    if retry_after is not None:
        raise TokenGuessing(retry_after)
    return False


class TokenGuessing(Exception):
    """Too many wrong admin tokens from one address: the API answers 429 JSON, the pages 429 HTML."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return f"Too many wrong admin tokens from this address; please retry in {self.retry_after} s."


def require_admin(
    request: Request,
    state: StateDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)],
) -> None:
    """The API takes the bearer token only; the dashboard's cookie is checked by ``pages/deps.py``
    (a cookie sent automatically by browsers must never authorise a JSON ``PATCH``)."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status_code=401,
            detail="The admin token is needed: send 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    try:
        right = check_admin_token(request, state, credentials.credentials)
    except TokenGuessing as guessing:
        raise too_many_tokens(guessing) from None
    if not right:
        raise HTTPException(status_code=403, detail="Wrong admin token.")


def require_reader(
    request: Request,
    state: StateDep,
    credentials: Annotated[Optional[HTTPAuthorizationCredentials], Depends(bearer)],
) -> SessionIds:
    """The admin, or with ``max_transparency`` anybody; the view of session ids that reader gets.

    Only the admin sees session ids (each one is the key to its session); anybody else sees
    labels. Under ``max_transparency`` a wrong token is no error, just not the admin (and is
    counted against guessing like any other).
    """
    if not state.settings.max_transparency:
        require_admin(request, state, credentials)
        return IN_FULL
    if credentials is not None and credentials.credentials:
        try:
            if check_admin_token(request, state, credentials.credentials):
                return IN_FULL
        except TokenGuessing as guessing:
            raise too_many_tokens(guessing) from None
    return SessionIds(label_key=state.session_label_secret())


AdminDep = Annotated[None, Depends(require_admin)]
ReaderDep = Annotated[SessionIds, Depends(require_reader)]


def too_many(retry_after: int, what: str) -> HTTPException:
    TRAFFIC.refused += 1  # for the traffic summary line (core/traffic.py)
    return HTTPException(
        status_code=429,
        detail=f"Too many requests from this {what}; please retry in {retry_after} s.",
        headers={"Retry-After": str(retry_after)},
    )


def too_many_tokens(guessing: TokenGuessing) -> HTTPException:
    return HTTPException(
        status_code=429, detail=guessing.message, headers={"Retry-After": str(guessing.retry_after)}
    )


async def ingest_guard(request: Request) -> ServerState:
    """Colab check and per-address flood limit; returns the server state the request passed."""
    return await run_guard(request, guard_ingest)


async def run_guard(request: Request, guard: Callable[[Request, ServerState], None]) -> ServerState:
    """``guard(request, state)``, then the state: in the event loop when nothing in it can wait
    (limits in memory, the address key already read); otherwise in the thread pool."""
    state: ServerState = request.app.state.server
    if state.limiter.in_process and state.has_secret(ADDRESS_SECRET_NAME):
        guard(request, state)
    else:
        await run_in_threadpool(guard, request, state)
    return state


def guard_ingest(request: Request, state: ServerState) -> None:
    """``ingest_guard``'s work; the limiter sees the address's keyed hash, never the address."""
    check_colab(state, address_of(request, state))
    retry_after = state.limiter.hit("address", address_key_for(request, state))
    if retry_after is not None:
        raise too_many(retry_after, "address")


def check_colab(state: ServerState, address: Optional[IPAddress]) -> None:
    """With ``colab_only``: 403 unless ``address`` is in Google's networks."""
    if state.settings.colab_only and not in_networks(address, state.colab_networks):
        raise HTTPException(status_code=403, detail=COLAB_ONLY)


GuardedStateDep = Annotated[ServerState, Depends(ingest_guard)]


@functools.lru_cache(maxsize=4096)
def hashed_session_id(session_id: str, secret: bytes) -> str:
    """Remembered: a batch names up to 100 sessions, and the same ones come back request after request."""
    return hmac.new(secret, session_id.encode(), "sha256").hexdigest()[:32]


def limit_session(state: ServerState, session_id: str) -> None:
    """The per-session flood limit (the session id comes from the body, so routes call this).

    The limiter's storage sees a keyed hash: a session id is the key to that session's reports.
    """
    key = hashed_session_id(session_id, state.address_secret())
    retry_after = state.limiter.hit("session", key)
    if retry_after is not None:
        raise too_many(retry_after, "session")
