"""The baseline of ``bench/server_ingest.py``: FastAPI endpoints taking the same bodies, storing nothing.

They parse the JSON body as FastAPI does for any ``dict`` parameter and answer as small a JSON as our
ingest does, in sync handlers (run in the thread pool, as ours are), served by the same uvicorn
settings. What our server does beyond this (validation, scrubbing, grouping, the database) is what
the ratio measures.

    python -m uvicorn trivial_app:app --app-dir bench --host 127.0.0.1 --port 8001
"""

from __future__ import annotations

from typing import Any, Dict

from fastapi import FastAPI

app = FastAPI(title="trivial baseline")


@app.post("/api/v1/events", status_code=201)
def post_event(event: Dict[str, Any]) -> Dict[str, Any]:
    return {"event_id": event.get("event_id"), "issue_id": 1}


@app.post("/api/v1/events/batch")
def post_batch(batch: Dict[str, Any]) -> Dict[str, Any]:
    events = batch.get("events") or []
    return {"results": [{"event_id": e.get("event_id"), "issue_id": 1, "status": "created"} for e in events]}
