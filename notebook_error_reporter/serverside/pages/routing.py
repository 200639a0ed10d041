"""The routers of the pages: a bad query or form value is answered as an HTML page, not API JSON.

The app's own handler for ``RequestValidationError`` answers the API's way (a JSON list of errors,
see ``api/errors.py``); a person who mistyped ``?page=0`` in the address bar should get a page that
says what was wrong. ``PageRoute`` turns the validation error into a ``PageError`` (rendered by
``pages.install``) for the page routes only, so the API's answers stay as documented.
"""

from __future__ import annotations

from typing import Any, Callable, Coroutine, Dict, List

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from .deps import PageError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def describe(errors: List[Dict[str, Any]]) -> str:
    """One sentence naming each refused value by its name (never echoing the value itself)."""
    parts = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("query", "path", "body")]
        name = ".".join(loc) or "the request"
        parts.append(f"{name}: {error.get('msg', 'not valid')}")
    return "This page cannot show that: " + "; ".join(parts) + "."


class PageRoute(APIRoute):
    """An ``APIRoute`` whose validation failures become a 422 HTML page."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                raise PageError(422, describe(list(error.errors()))) from None

        return page_handler


def page_router() -> APIRouter:
    """A router for dashboard pages: out of the OpenAPI schema, HTML answers for bad values."""
    return APIRouter(include_in_schema=False, route_class=PageRoute)
