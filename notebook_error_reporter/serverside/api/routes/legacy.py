"""The routes of version 0.1, with their response shapes, so old clients report to a new server.

``POST /usages/`` registers a session (0.1 calls it a usage) and returns its ``uuid``;
``POST /errors/{uuid}/`` stores a report of that session; ``GET /usages/{uuid}`` is 0.1's
``retrieve_errors``. Reports that arrive this way are scrubbed like any other (0.1 clients send raw
paths), get a server-made event id, and join the same issues as v1 reports. Changes from 0.1,
for the users' sake: ``ip`` is always ``"hidden"`` (no address is stored), and the listings
``GET /usages/`` and ``GET /errors/`` need the admin token unless ``max_transparency`` is on; then
anybody else sees each session's label in ``uuid`` / ``usage_uuid``, never the uuid itself (it is
the key to write into that session).
"""

from __future__ import annotations

import uuid
from typing import Annotated, List

from fastapi import APIRouter, HTTPException, Query

from ...core.types import utcnow
from ...crud import legacy as crud_legacy
from ...models import LegacyError, LegacyUsage
from ...schemas import MAX_NOTEBOOK, LegacyErrorCreate, LegacyUsageCreate
from ...scrub import clean_legacy_event, scrub
from ..deps import GuardedStateDep, ReaderDep, SessionDep, WriteSessionDep, limit_session
from ..docs import answers
from ..params import Offset, uuid_or_404

router = APIRouter(tags=["version 0.1"])
UNKNOWN_USAGE = "Usage not found"
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post(
    "/usages/",
    response_model=LegacyUsage,
    summary="0.1: register a session (a usage)",
    responses=answers(400, 403, 413, 422, 429, 503),
)
def create_usage(
    usage: LegacyUsageCreate, session: WriteSessionDep, _guarded: GuardedStateDep
) -> LegacyUsage:
    return crud_legacy.create_usage(
        session=session,
        notebook=scrub(usage.notebook.strip() or "unknown", MAX_NOTEBOOK),
        session_id=uuid.uuid4().hex,
    )


@router.post(
    "/errors/{uuid}/",
    response_model=LegacyError,
    summary="0.1: store a report of a registered session",
    responses=answers(400, 403, 404, 413, 422, 429, 503),
)
def create_error(
    uuid: str, error: LegacyErrorCreate, session: SessionDep, state: GuardedStateDep
) -> LegacyError:
    key = uuid_or_404(uuid, UNKNOWN_USAGE)
    usage = crud_legacy.usage(session=session, session_id=key, with_errors=False)
    if usage is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_USAGE)
    session.rollback()  # end the read, so that the read below sees the report committed
    limit_session(state, key)
    event = clean_legacy_event(
        error.model_dump(), session_id=key, notebook=usage.notebook, received_at=utcnow()
    )
    state.ingestion.store_report_waiting(event)
    stored = crud_legacy.legacy_error(session=session, event_id=event.event_id)
    if stored is None:  # pragma: no cover - it was stored a moment ago
        raise RuntimeError("the report just stored is gone")
    return stored


@router.get(
    "/usages/{uuid}",
    response_model=LegacyUsage,
    summary="0.1: a session with its reports (whoever holds its uuid)",
    responses=answers(403, 404, 422, 429, 503),
)
def read_usage(uuid: str, session: SessionDep, _guarded: GuardedStateDep) -> LegacyUsage:
    usage = crud_legacy.usage(session=session, session_id=uuid_or_404(uuid, UNKNOWN_USAGE))
    if usage is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_USAGE)
    return usage


@router.get(
    "/usages/",
    response_model=List[LegacyUsage],
    summary="0.1: all sessions (admin, or max_transparency)",
    responses=answers(401, 403, 422, 503),
)
def read_usages(
    session: SessionDep, reader: ReaderDep, skip: Offset = 0, limit: Limit = 100
) -> List[LegacyUsage]:
    usages = crud_legacy.list_usages(session=session, skip=skip, limit=limit)
    return [reader.legacy_usage(usage) for usage in usages]


@router.get(
    "/errors/",
    response_model=List[LegacyError],
    summary="0.1: all reports (admin, or max_transparency)",
    responses=answers(401, 403, 422, 503),
)
def read_errors(
    session: SessionDep, reader: ReaderDep, skip: Offset = 0, limit: Limit = 100
) -> List[LegacyError]:
    errors = crud_legacy.list_legacy_errors(session=session, skip=skip, limit=limit)
    return [reader.legacy_error(error) for error in errors]
