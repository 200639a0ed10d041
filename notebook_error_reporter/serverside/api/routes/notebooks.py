"""``GET /api/v1/notebooks``: every notebook with its counters (admin, or anybody with max_transparency)."""

from __future__ import annotations

from typing import List

from fastapi import APIRouter

from ...crud.notebooks import list_notebooks
from ...models import NotebookPublic
from ..deps import ReaderDep, SessionDep
from ..docs import answers

router = APIRouter(prefix="/notebooks", tags=["notebooks"])


@router.get(
    "",
    response_model=List[NotebookPublic],
    summary="Notebooks with their report, session and issue counts",
    responses=answers(401, 403, 503),
)
def get_notebooks(session: SessionDep, _reader: ReaderDep) -> List[NotebookPublic]:
    return list_notebooks(session=session)
