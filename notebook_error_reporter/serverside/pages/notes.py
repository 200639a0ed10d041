"""The issue page's note and fix forms: ``POST /issues/{id}/note`` sets or removes the note for the
notebook's users (text and an http(s) link), ``POST /issues/{id}/fixed`` resolves the issue as
fixed in a notebook version. Both need the signed-in admin and a valid CSRF token, as the status
buttons do; a refused value answers a page naming the field, and changes nothing."""

from __future__ import annotations

from typing import Annotated, Any, Callable, Dict, Optional

from fastapi import Form
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from .. import note_rules
from ..api.deps import WriteSessionDep
from ..api.params import IssueId
from ..crud.issues import set_issue_status
from .deps import AdminFormDep, PageError
from .issue import UNKNOWN_ISSUE
from .routing import page_router

router = page_router()
# Form fields get a generous cap: the rules below give the precise message.
FormText = Annotated[str, Form(max_length=4000)]


def _checked(field: str, rule: Callable[[Optional[str]], Optional[str]], value: str) -> Optional[str]:
    try:
        return rule(value)
    except ValueError as error:
        raise PageError(422, f"This cannot be saved: {field}: {error}.") from None


def _saved(session: Any, issue_id: int, status: Optional[str], changes: Dict[str, Any]) -> Response:
    if set_issue_status(session=session, issue_id=issue_id, status=status, changes=changes) is None:
        raise PageError(404, UNKNOWN_ISSUE)
    return RedirectResponse(f"/issues/{issue_id}", status_code=303)


@router.post("/issues/{issue_id}/note")
def set_note(
    issue_id: IssueId,
    _admin: AdminFormDep,
    session: WriteSessionDep,
    note: FormText = "",
    note_url: FormText = "",
) -> Response:
    """Empty fields remove the note and its link."""
    changes = {
        "note": _checked("note", note_rules.clean_note, note),
        "note_url": _checked("note_url", note_rules.clean_note_url, note_url),
    }
    return _saved(session, issue_id, None, changes)


@router.post("/issues/{issue_id}/fixed")
def resolve_as_fixed(
    issue_id: IssueId, _admin: AdminFormDep, session: WriteSessionDep, fixed_in_version: FormText = ""
) -> Response:
    version = _checked("fixed_in_version", note_rules.clean_version, fixed_in_version)
    if version is None:
        raise PageError(422, "This cannot be saved: fixed_in_version: name the version that fixes it.")
    return _saved(session, issue_id, "resolved", {"fixed_in_version": version})
