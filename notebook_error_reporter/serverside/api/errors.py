"""How failures answer: each kind of bad input gets its own status and a clear message.

* a body that is not a JSON object (unparseable, empty, an array, not labelled JSON) -> 400 with
  exactly ``Sorry, please send a valid JSON object.``;
* a field of the wrong type, missing, too long -> 422, FastAPI's list of errors, each naming the
  field by its ``loc`` (the offending input is not echoed back);
* the database unreachable or locked -> 503 with ``Retry-After`` (clients retry; nothing is lost);
* anything else unexpected -> 500, logged: a 500 is always a bug.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..core.db import UNAVAILABLE_ERRORS

logger = logging.getLogger("notebook_error_reporter.server")

NOT_JSON = "Sorry, please send a valid JSON object."
UNAVAILABLE = "The database is unavailable; please retry later."
DB_RETRY_AFTER_SECONDS = 5
# FastAPI's words when reading the body fails for a reason other than JSON syntax (e.g. bad UTF-8).
_FASTAPI_BODY_ERROR = "There was an error parsing the body"


def _is_whole_body_error(error: Dict[str, Any]) -> bool:
    loc = tuple(error.get("loc", ()))
    return error.get("type") == "json_invalid" or loc == ("body",)


def validation_errors(errors: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """FastAPI's error list without the offending input (it may be huge, or private)."""
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors
    ]


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    errors = list(exc.errors()) if isinstance(exc, RequestValidationError) else []
    if any(_is_whole_body_error(e) for e in errors):
        return JSONResponse({"detail": NOT_JSON}, status_code=400)
    return JSONResponse({"detail": validation_errors(errors)}, status_code=422)


async def http_exception_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 400 and detail == _FASTAPI_BODY_ERROR:
        detail = NOT_JSON
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    # The driver's error class only: the full text would carry the statement's parameters (reports).
    cause = getattr(exc, "orig", None) or exc
    logger.warning("database unavailable (%s): answering 503", type(cause).__name__)
    return JSONResponse(
        {"detail": UNAVAILABLE},
        status_code=503,
        headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
    )


async def unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "Internal server error (a bug: please report it)."}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)
    for kind in UNAVAILABLE_ERRORS:
        app.add_exception_handler(kind, database_unavailable_handler)
    app.add_exception_handler(Exception, unexpected_error_handler)
