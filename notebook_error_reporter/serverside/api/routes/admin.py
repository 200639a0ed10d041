"""``POST /api/v1/admin/purge?older_than_days=N``: retention, explicit and admin only."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from ...core.types import utcnow
from ...crud.retention import purge_events
from ...schemas import PurgeResult
from ..deps import AdminDep, WriteSessionDep
from ..docs import answers

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post(
    "/purge",
    response_model=PurgeResult,
    summary="Delete reports older than N days; issues and their counts stay",
    responses=answers(401, 403, 422, 503),
)
def purge(
    session: WriteSessionDep,
    _admin: AdminDep,
    older_than_days: Annotated[int, Query(ge=1, le=36_500, description="Keep this many days of reports.")],
) -> PurgeResult:
    cutoff = utcnow() - timedelta(days=older_than_days)
    return PurgeResult(deleted=purge_events(session=session, older_than=cutoff), older_than=cutoff)
