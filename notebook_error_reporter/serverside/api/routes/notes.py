"""``GET /api/v1/notebooks/{notebook}/notes``: the authors' notes and fixed versions of a notebook's
issues, public by design (its users' clients show them under a failing cell).

Only ``{fingerprint, note, note_url, fixed_in_version}``: no counts, reports, session or issue ids.
An unknown notebook has no notes (200, empty), so the answer does not tell which notebooks exist.
Cacheable: a strong ``ETag`` of the body, ``If-None-Match`` answered 304; rate-limited per address
like the other public reads.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import List, Optional

from fastapi import APIRouter, Header, Path
from pydantic import BaseModel
from starlette.responses import Response

from ...crud.notes import notebook_notes
from ...schemas import MAX_NOTEBOOK
from ...scrub import storable
from ..deps import GuardedStateDep, SessionDep
from ..docs import answers

router = APIRouter(prefix="/notebooks", tags=["notebooks"])
CACHE_CONTROL = "public, max-age=60"


class PublicNoteOut(BaseModel):
    fingerprint: str
    note: Optional[str]
    note_url: Optional[str]
    fixed_in_version: Optional[str]


class NotebookNotes(BaseModel):
    notebook: str
    notes: List[PublicNoteOut]


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: Optional[str], etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak or strong) or is ``*``."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get(
    "/{notebook:path}/notes",
    response_model=NotebookNotes,
    summary="A notebook's notes and fixed versions, for its users (public)",
    responses={**answers(403, 422, 429, 503), 304: {"description": "Not modified (If-None-Match)."}},
)
def get_notebook_notes(
    session: SessionDep,
    _guarded: GuardedStateDep,
    notebook: str = Path(min_length=1, max_length=MAX_NOTEBOOK),
    if_none_match: Optional[str] = Header(default=None, max_length=2000),
) -> Response:
    name = storable(notebook)
    notes = [asdict(note) for note in notebook_notes(session=session, notebook=name)]
    body = json.dumps({"notebook": name, "notes": notes}, ensure_ascii=False, separators=(",", ":")).encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
