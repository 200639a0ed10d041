"""The database's ``insert_new`` (``ingest/databases.py``): the report rows inserted now are told
apart from those stored before, and what is stored reads back as written (timestamps aware and in
UTC, JSON as sent)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Set

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.ingest.databases import writes_for
from notebook_error_reporter.serverside.ingest.transaction import ingest_events
from notebook_error_reporter.serverside.models import EVENT

from ..helpers import clean


def insert_keyed(session: Session, rows: List[Dict[str, Any]]) -> Set[str]:
    """The event ids of the ``rows`` inserted now."""
    inserted = writes_for(session).insert_new(session.connection(), EVENT, rows, ("event_id",), ("event_id",))
    return {str(key) for (key,) in inserted}


def test_insert_new_returns_only_the_keys_it_inserted(database: Database) -> None:
    first = clean()
    with database.write_session() as session:
        stored = ingest_events(session=session, events=[first]).results[0]
    with database.session() as session:
        row = dict(session.execute(select(EVENT).where(EVENT.c.event_id == first.event_id)).mappings().one())
    local = timezone(timedelta(hours=-5))
    fresh = dict(
        row,
        event_id="f" * 32,
        traceback=[{"filename": "<cell 2>", "fun_name": "<module>", "lineno": 4, "note": "é ✓"}],
        client={"reporter": "0.2.0", "python": "3.11"},
        occurred_at=datetime(2026, 5, 1, 7, 30, 15, 123456, tzinfo=local),
    )
    fresh.pop("id")
    frames = [{"filename": "<cell 3>", "fun_name": "<module>", "lineno": 1}, fresh["traceback"][0]]
    bare = dict(fresh, event_id="e" * 32, traceback=frames, client=None, first_line="x = 'a,b' \\ {}")
    again = dict(row)
    again.pop("id")
    with database.write_session() as session:
        rows = sorted([fresh, again, bare], key=lambda r: str(r["event_id"]))
        created = insert_keyed(session, rows)
        session.commit()
    assert created == {"f" * 32, "e" * 32}, "the report stored before is not inserted again"
    with database.session() as session:
        back = session.execute(select(EVENT).where(EVENT.c.event_id == "f" * 32)).mappings().one()
        plain = session.execute(select(EVENT).where(EVENT.c.event_id == "e" * 32)).mappings().one()
        count = len(session.execute(select(EVENT.c.id)).all())
    assert count == 3 and stored.created
    assert back["traceback"] == fresh["traceback"] and back["client"] == fresh["client"]
    assert plain["traceback"] == frames and plain["client"] is None, "a list stays a list, no client none"
    assert plain["first_line"] == bare["first_line"]
    assert back["occurred_at"] == fresh["occurred_at"] and back["occurred_at"].tzinfo is not None
    assert back["occurred_at"].utcoffset() == timedelta(0), "stored in UTC"


def test_a_naive_timestamp_is_refused_on_the_way_in(database: Database) -> None:
    row = {
        "event_id": "a" * 32,
        "issue_id": 1,
        "session_pk": 1,
        "notebook_id": 1,
        "error_name": "E",
        "error_message": "m",
        "traceback": [],
        "first_line": "",
        "execution_count": 1,
        "occurred_at": datetime(2026, 5, 1, 7, 30),
        "received_at": datetime.now(timezone.utc),
        "client": None,
        "source": "v1",
    }
    with pytest.raises(Exception, match="naive"), database.write_session() as session:
        insert_keyed(session, [row])
