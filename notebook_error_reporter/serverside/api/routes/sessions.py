"""``GET /api/v1/sessions/{session_id}/events``: a session's own reports, for whoever holds its id.

The session id is a uuid4 the client made: knowing it is the permission (it is what
``ErrorServer.retrieve_errors()`` uses). Guessing is hopeless (122 random bits) and also rate-limited.
"""

from __future__ import annotations

from typing import Annotated, List

from fastapi import APIRouter, HTTPException, Query

from ...crud.events import session_events
from ...models import EventPublic
from ..deps import GuardedStateDep, SessionDep
from ..docs import answers
from ..params import Offset, uuid_or_404

router = APIRouter(prefix="/sessions", tags=["sessions"])
UNKNOWN_SESSION = "Unknown session."


@router.get(
    "/{session_id}/events",
    response_model=List[EventPublic],
    summary="A session's own reports, oldest first",
    responses=answers(403, 404, 422, 429, 503),
)
def get_session_events(
    session_id: str,
    session: SessionDep,
    _guarded: GuardedStateDep,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Offset = 0,
) -> List[EventPublic]:
    key = uuid_or_404(session_id, UNKNOWN_SESSION)
    events = session_events(session=session, session_id=key, limit=limit, offset=offset)
    if events is None:
        raise HTTPException(status_code=404, detail=UNKNOWN_SESSION)
    return events
