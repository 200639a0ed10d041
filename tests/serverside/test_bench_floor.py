"""The ingest floor (bench/ingest_floor.py) does all the work the server does for a batch: after it, every
counter matches the rows, as after the server's own writes."""

from __future__ import annotations

import importlib.machinery
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from notebook_error_reporter.serverside import create_db

from .databases import fresh_database, is_postgres
from .helpers import COUNTERS_MATCH_ROWS, counters_off

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import ingest_floor  # noqa: E402

# What a test module collected after this one finds as ``helpers`` (tests/helpers.py).
HELPERS_AFTER_IMPORT = importlib.machinery.PathFinder.find_spec("helpers")

# The floor's issues are made before their reports, with the batch's clock: their first seen is not a
# report's time.
UNTIMED = "issues' first and last seen"
CONSISTENT = {what: query for what, query in COUNTERS_MATCH_ROWS.items() if what != UNTIMED}


def test_the_sqlite_floor_writes_what_the_server_writes(tmp_path: Path) -> None:
    total, parts = ingest_floor.sqlite_floor(3, directory=tmp_path)
    assert total > 0 and {"event rows", "issue counters", "commit"} <= set(parts)
    with sqlite3.connect(tmp_path / "floor.db") as db:
        assert db.execute("SELECT count(*) FROM event").fetchone() == (3 * ingest_floor.BATCH,)
        assert counters_off(db, CONSISTENT) == []
        indexes = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert set(ingest_floor.COUNTER_INDEXES) <= indexes, "the floor names the issue table's real indexes"


@pytest.mark.skipif(not is_postgres(), reason="the PostgreSQL floor runs the server's own statement")
def test_the_postgresql_floor_writes_what_the_server_writes(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        create_db(url)
        wall, cpu = ingest_floor.postgres_floor(url, 3)
        assert wall > 0
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                stored = connection.execute(text("SELECT count(*) FROM event")).scalar_one()
                assert stored == 3 * ingest_floor.BATCH
                assert counters_off(connection, CONSISTENT) == []
        finally:
            engine.dispose()


def test_importing_the_bench_leaves_the_tests_own_modules_first_on_the_path() -> None:
    # bench/ once put tests/serverside first on the path for its own imports: its helpers.py then
    # shadowed tests/helpers.py for every server test collected after this file.
    found = HELPERS_AFTER_IMPORT
    assert found is not None and found.origin == str(Path(__file__).resolve().parents[1] / "helpers.py")
