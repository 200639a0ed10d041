"""Ingest: ``POST /api/v1/events`` (one report) and ``POST /api/v1/events/batch`` (up to 100).

A batch is one transaction (it may be shared with the other batches waiting at that moment,
``ingest/scheduling.py``: all of a batch's reports are stored, or none) and every report in it is judged
on its own: a valid one is stored (``created``) or recognised (``duplicate``); an invalid one is
``rejected`` with the reason, and the rest are stored all the same. Our client deletes created,
duplicate and rejected reports from its spool (a rejected report would be rejected forever) and
keeps nothing half-way: either the whole answer arrived, or it sends the whole batch again, which
idempotency makes harmless. Reports over a rate limit are answered ``limited`` and not stored
(``batch_limits.py``); the client keeps them and sends them again after ``Retry-After``.

Both routes read their bodies themselves (``json_body.py``) and build their answers as plain JSON:
the busiest routes skip FastAPI's dependency solving and answer validation, and answer as FastAPI
would. The OpenAPI document still shows their bodies and answers (``docs.py``).
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from ...ingest import IngestResult
from ...schemas import BatchCreate, BatchResponse, EventAck, EventCreate
from ...scrub import CleanEvent, clean_event
from ...state import ServerState
from ..batch_limits import check_colab_of, limit_batch
from ..deps import guard_ingest, limit_session, run_guard
from ..docs import answers, body_of
from ..json_body import json_of, validated

router = APIRouter(prefix="/events", tags=["events"])
_event_adapter: TypeAdapter[EventCreate] = TypeAdapter(EventCreate)
_batch_adapter: TypeAdapter[BatchCreate] = TypeAdapter(BatchCreate)
# A report's entry in a batch's answer, as schemas.BatchResult describes it (built as a dict: the
# answer of 100 reports is not validated again on its way out).
Result = Dict[str, Any]


# The bodies the routes here read themselves (json_body.py), for the OpenAPI document (docs.with_schemas).
BODY_MODELS = (EventCreate, BatchCreate)
_ACK_EXAMPLE = {"event_id": "2f1c9a7e8d6b4c3a9e0f1a2b3c4d5e6f", "issue_id": 42}


@router.post(
    "",
    status_code=201,
    response_model=EventAck,
    summary="Store one report",
    responses={
        201: {"description": "Stored.", "content": {"application/json": {"example": _ACK_EXAMPLE}}},
        200: {
            "model": EventAck,
            "description": "Already stored earlier (a retry): nothing new was stored.",
            "content": {"application/json": {"example": _ACK_EXAMPLE}},
        },
        **answers(400, 403, 413, 422, 429, 503),
    },
    openapi_extra=body_of(EventCreate),
)
async def post_event(request: Request) -> JSONResponse:
    """Idempotent on `event_id`: posting the same report again answers 200 with the same issue."""
    # The body read as FastAPI reads a body parameter (json_body.py); the Colab check and the
    # address's flood limit (deps.guard_ingest) between reading and validating, as in FastAPI.
    body = await json_of(request)
    state = await run_guard(request, guard_ingest)
    event = validated(_event_adapter, body)
    # In the event loop; only a limit kept over the network goes to a thread.
    if state.limiter.in_process:
        limit_session(state, event.session_id)
    else:
        await run_in_threadpool(limit_session, state, event.session_id)
    result = await state.ingestion.store_report(clean_event(event))
    return JSONResponse(
        {"event_id": result.event_id, "issue_id": result.issue_id}, status_code=201 if result.created else 200
    )


def _sent_id(item: Any) -> Optional[str]:
    """The event id as the client wrote it (so it can match our answer to its report), if any."""
    raw = item.get("event_id") if isinstance(item, dict) else None
    return raw[:100] if isinstance(raw, str) else None


def _result(item: Any, status: str, issue_id: Optional[int] = None, detail: Optional[str] = None) -> Result:
    """One report's entry of the answer (``schemas.BatchResult``)."""
    return {"event_id": _sent_id(item), "issue_id": issue_id, "status": status, "detail": detail}


def _rejection(item: Any, error: ValidationError) -> Result:
    reasons = "; ".join(
        f"{'.'.join(str(part) for part in e['loc']) or 'event'}: {e['msg']}" for e in error.errors()[:5]
    )
    return _result(item, "rejected", detail=reasons)


@router.post(
    "/batch",
    response_model=BatchResponse,
    summary="Store up to 100 reports in one transaction",
    responses={
        200: {
            "description": "One result per report, in order.",
            "content": {
                "application/json": {
                    "example": {
                        "results": [
                            {
                                "event_id": "2f1c9a7e8d6b4c3a9e0f1a2b3c4d5e6f",
                                "issue_id": 42,
                                "status": "created",
                            },
                            {
                                "event_id": "0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a",
                                "issue_id": 42,
                                "status": "duplicate",
                            },
                            {
                                "event_id": "5a4b3c2d1e0f4a9b8c7d6e5f4a3b2c1d",
                                "status": "rejected",
                                "detail": "occurred_at: Value error, must carry a time zone offset",
                            },
                        ]
                    }
                }
            },
        },
        **answers(400, 403, 413, 422, 429, 503),
    },
    openapi_extra=body_of(BatchCreate),
)
async def post_batch(request: Request) -> JSONResponse:
    """Each report is validated on its own: invalid ones are `rejected` with a reason, the rest stored.

    Each report counts against the address's and its session's limits, as if sent alone: reports
    past a limit are answered `limited` (send them again after `Retry-After` seconds); if none fits,
    the whole batch is refused with 429. `client_dropped` (reports the client's full spool had to
    drop) is added to the notebook of the first valid report.
    """
    # Read as post_event reads; the guard is the Colab check only, as the reports are counted once
    # read (batch_limits.py).
    body = await json_of(request)
    state = await run_guard(request, check_colab_of)
    batch = validated(_batch_adapter, body)
    # Judged, limited and stored where ingest/scheduling.py decides.
    slots: List[Optional[Result]] = []
    headers: Dict[str, str] = {}
    stored = await state.ingestion.store_batch(
        functools.partial(_judged, batch, slots),
        functools.partial(_admitted, batch, slots, request, headers, state),
        admit_blocks=not state.limiter.in_process,
        client_dropped=batch.client_dropped,
    )
    return JSONResponse({"results": _answer(batch, slots, stored)}, headers=headers)


def _admitted(
    batch: BatchCreate,
    slots: List[Optional[Result]],
    request: Request,
    headers: Dict[str, str],
    state: ServerState,
    valid: List[CleanEvent],
) -> List[CleanEvent]:
    """The valid reports within the limits (``batch_limits.py``); the others become ``limited``
    slots, with the wait in the answer's ``Retry-After`` (``headers``)."""
    allowance = limit_batch(request, state, [event.session_id for event in valid])
    if all(allowance.let_in):
        return valid
    headers["Retry-After"] = str(allowance.retry_after)
    detail = f"over the rate limit; send it again in {allowance.retry_after} s"
    fits = iter(allowance.let_in)
    for index, (item, slot) in enumerate(zip(batch.events, slots)):
        if slot is None and not next(fits):
            slots[index] = _result(item, "limited", detail=detail)
    return [event for event, fits in zip(valid, allowance.let_in) if fits]


def _judged(batch: BatchCreate, slots: List[Optional[Result]]) -> List[CleanEvent]:
    """Each report validated and scrubbed on its own: a slot per report in ``slots`` (its rejection,
    or None for a valid one); the valid ones, in order."""
    valid: List[CleanEvent] = []
    for item in batch.events:
        try:
            event = _event_adapter.validate_python(item)
        except ValidationError as error:
            slots.append(_rejection(item, error))
            continue
        slots.append(None)
        valid.append(clean_event(event))
    return valid


def _answer(batch: BatchCreate, slots: List[Optional[Result]], stored: List[IngestResult]) -> List[Result]:
    """The per-report answer: rejections where they were, the stored results in the other slots."""
    results: List[Result] = []
    next_valid = 0
    for item, slot in zip(batch.events, slots):
        if slot is None:
            done = stored[next_valid]
            next_valid += 1
            slot = _result(item, "created" if done.created else "duplicate", issue_id=done.issue_id)
        results.append(slot)
    return results
