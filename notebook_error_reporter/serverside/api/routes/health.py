"""``GET /healthz``: is the server up and its database reachable (for load balancers and tests)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import StateDep

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Liveness and database reachability",
    responses={
        200: {
            "description": "Up",
            "content": {"application/json": {"example": {"status": "ok", "database": "reachable"}}},
        },
        503: {
            "description": "The database does not answer",
            "content": {
                "application/json": {"example": {"status": "unavailable", "database": "unreachable"}}
            },
        },
    },
)
def healthz(state: StateDep) -> JSONResponse:
    if state.database.ping():
        return JSONResponse({"status": "ok", "database": "reachable"})
    return JSONResponse(
        {"status": "unavailable", "database": "unreachable"}, status_code=503, headers={"Retry-After": "5"}
    )
