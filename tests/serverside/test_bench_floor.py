"""The ingest floor (bench/ingest_floor.py) does all the work the server does for a batch: after it, every
counter matches the rows, as after the server's own writes."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from notebook_error_reporter.serverside import create_db

from .databases import fresh_database, is_postgres

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ingest_floor  # noqa: E402

# (what, a query giving two numbers that must be equal)
CONSISTENT = {
    "notebooks' reports": "SELECT (SELECT count(*) FROM event), (SELECT sum(event_count) FROM notebook)",
    "issues' reports": "SELECT count(*), 0 FROM issue i"
    " WHERE event_count != (SELECT count(*) FROM event e WHERE e.issue_id = i.id)",
    "issues' sessions": "SELECT count(*), 0 FROM issue i"
    " WHERE session_count != (SELECT count(*) FROM issue_session s WHERE s.issue_id = i.id)",
    "issue-session pairs": "SELECT (SELECT count(*) FROM issue_session),"
    " (SELECT count(*) FROM (SELECT DISTINCT issue_id, session_pk FROM event) AS pairs)",
    "issue days": "SELECT (SELECT sum(count) FROM issue_day), (SELECT count(*) FROM event)",
    "sessions' reports": "SELECT count(*), 0 FROM report_session r"
    " WHERE event_count != (SELECT count(*) FROM event e WHERE e.session_pk = r.id)",
}


def test_the_sqlite_floor_writes_what_the_server_writes(tmp_path: Path) -> None:
    total, parts = ingest_floor.sqlite_floor(3, directory=tmp_path)
    assert total > 0 and {"event rows", "issue counters", "commit"} <= set(parts)
    with sqlite3.connect(tmp_path / "floor.db") as db:
        assert db.execute("SELECT count(*) FROM event").fetchone() == (3 * ingest_floor.BATCH,)
        for what, query in CONSISTENT.items():
            left, right = db.execute(query).fetchone()
            assert left == right, what
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(ingest_floor.COUNTER_INDEXES) <= indexes, "the floor names the issue table's real indexes"


@pytest.mark.skipif(not is_postgres(), reason="the PostgreSQL floor runs the server's own statement")
def test_the_postgresql_floor_writes_what_the_server_writes(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        create_db(url)
        wall, cpu = ingest_floor.postgres_floor(url, 3)
        assert wall > 0
        engine = create_engine(url)
        with engine.connect() as connection:
            stored = connection.execute(text("SELECT count(*) FROM event")).scalar_one()
            assert stored == 3 * ingest_floor.BATCH
            for what, query in CONSISTENT.items():
                left, right = connection.execute(text(query)).one()
                assert left == right, what
        engine.dispose()
