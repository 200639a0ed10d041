"""A route's JSON body read and validated as FastAPI reads a model parameter, for the ingest route
that takes its body itself.

FastAPI's own reading solves the route's dependencies and validates its answer against the response
model on every request; on the ingest path that costs more than the report's own checks
(docs/performance.md). The answers stay FastAPI's: a body that is empty, not labelled JSON or not
JSON fails as FastAPI's reading fails (400, ``errors.py``), and a body of the wrong shape raises
``RequestValidationError`` with FastAPI's ``body`` locations (422).
"""

from __future__ import annotations

import email.message
import json
from typing import Any, Optional, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from .errors import NOT_JSON
from .request_origin import header_values

T = TypeVar("T")


async def json_of(request: Request) -> Any:
    """The body parsed as JSON; None when empty; the raw bytes when not labelled JSON (both fail
    validation as a whole-body error, as in FastAPI). Unparseable JSON raises FastAPI's error."""
    try:
        raw = await request.body()
        if not raw:
            return None
        if not _labelled_json(next(iter(header_values(request.scope, b"content-type")), None)):
            return raw
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body", error.pos), "msg": "JSON decode error", "input": {}}]
        ) from error
    except HTTPException:
        raise  # the request limits' 408 and 413
    except Exception as error:  # e.g. bad UTF-8
        raise HTTPException(status_code=400, detail=NOT_JSON) from error


def validated(adapter: TypeAdapter[T], body: Any) -> T:
    """``body`` as ``adapter``'s type, or FastAPI's 422 naming each field under ``body``."""
    try:
        return adapter.validate_python(body, from_attributes=True)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)], body=body
        ) from None


def _labelled_json(content_type: Optional[str]) -> bool:
    """FastAPI's rule: ``application/json`` or ``application/*+json``, parameters allowed."""
    if content_type is None:
        return False
    if content_type == "application/json":
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
