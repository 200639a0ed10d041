"""Path and query parameters that several routes and pages share, bounded like every integer the
database is given (past 2**63 the driver overflows: a 500), and a uuid from a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query

from ..schemas import INT32, normalise_uuid

IssueId = Annotated[int, Path(ge=1, le=INT32, description="The issue's number.")]
Offset = Annotated[int, Query(ge=0, le=INT32)]


def uuid_or_404(value: str, unknown: str) -> str:
    """A uuid from a path as stored; an invalid one names nothing stored: 404 with ``unknown``."""
    try:
        return normalise_uuid(value)
    except ValueError:
        raise HTTPException(status_code=404, detail=unknown) from None
