"""What the OpenAPI document (/docs) says beyond the routes' signatures: each route's error answers
(status, meaning, example), and the body of a route that reads its body itself (``json_body.py``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Type, Union

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..schemas import Detail
from .errors import NOT_JSON, UNAVAILABLE

_ANSWERS: Dict[int, Dict[str, Any]] = {
    400: {"description": "The body is not a JSON object.", "example": {"detail": NOT_JSON}},
    401: {
        "description": "No admin token was sent.",
        "example": {"detail": "The admin token is needed: send 'Authorization: Bearer <token>'."},
    },
    403: {
        "description": "Wrong admin token (or, with colab_only, not from Colab).",
        "example": {"detail": "Wrong admin token."},
    },
    404: {"description": "No such resource.", "example": {"detail": "Unknown session."}},
    413: {
        "description": "The body is over the limit (checked before it is read whole).",
        "example": {"detail": "Sorry, the request body is too large: at most 2097152 bytes."},
    },
    422: {
        "description": "A field has the wrong type, is missing or too long; `loc` names it.",
        "example": {
            "detail": [
                {
                    "loc": ["body", "occurred_at"],
                    "msg": "Value error, must carry a time zone offset",
                    "type": "value_error",
                }
            ]
        },
    },
    429: {
        "description": "Too many requests; wait for the `Retry-After` header's seconds.",
        "example": {"detail": "Too many requests from this address; please retry in 12 s."},
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
    503: {
        "description": "The database is unavailable; retry after `Retry-After` seconds.",
        "example": {"detail": UNAVAILABLE},
        "headers": {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
    },
}


def answers(*codes: int) -> Dict[Union[int, str], Dict[str, Any]]:
    """``responses=`` for a route: the listed error codes with their examples."""
    result: Dict[Union[int, str], Dict[str, Any]] = {}
    for code in codes:
        spec = _ANSWERS[code]
        entry: Dict[str, Any] = {
            "model": Detail,
            "description": spec["description"],
            "content": {"application/json": {"example": spec["example"]}},
        }
        if "headers" in spec:
            entry["headers"] = spec["headers"]
        result[code] = entry
    return result


def body_of(model: Type[BaseModel]) -> Dict[str, Any]:
    """``openapi_extra=`` for a route that reads its body itself: the body is a ``model``, required.
    The app must have the model's schema (``with_schemas``)."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def with_schemas(app: FastAPI, *models: Type[BaseModel]) -> None:
    """The OpenAPI document gains the schemas of ``models`` (and of the models they use), which no
    route's signature names."""
    build: Callable[[], Dict[str, Any]] = app.openapi

    def openapi() -> Dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # kept by the app as app.openapi_schema
            _, together = models_json_schema(
                [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
            )
            document.setdefault("components", {}).setdefault("schemas", {}).update(together["$defs"])
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]
