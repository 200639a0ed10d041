"""The settings every connection to a SQLite file gets (core/db.py): WAL, a busy timeout, foreign
keys, and a WAL that is checkpointed at 8,000 pages rather than SQLite's 1,000."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import Engine, text

from notebook_error_reporter.serverside.core import db as core_db
from notebook_error_reporter.serverside.core.db import Database


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'settings.db'}")
    yield database
    database.dispose()


def pragmas(engine: Engine) -> dict:
    with engine.connect() as connection:
        return {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in (
                "journal_mode",
                "synchronous",
                "wal_autocheckpoint",
                "journal_size_limit",
                "busy_timeout",
                "foreign_keys",
            )
        }


def test_every_engine_of_a_file_gets_the_settings(database: Database) -> None:
    no_wait = database.no_wait_write_session()
    assert no_wait is not None
    engines = {"reads": database.engine, "writes": database.write_engine, "no wait": no_wait.get_bind()}
    for name, engine in engines.items():
        got = pragmas(engine)  # type: ignore[arg-type]
        assert got["journal_mode"] == "wal", name
        assert got["synchronous"] == 1, f"{name}: NORMAL"
        assert got["wal_autocheckpoint"] == core_db.SQLITE_WAL_AUTOCHECKPOINT_PAGES == 8000, name
        assert got["journal_size_limit"] == core_db.SQLITE_JOURNAL_SIZE_LIMIT_BYTES, name
        assert got["foreign_keys"] == 1, name
    assert pragmas(database.engine)["busy_timeout"] == core_db.SQLITE_BUSY_TIMEOUT_MS
    assert pragmas(no_wait.get_bind())["busy_timeout"] == 0  # type: ignore[arg-type]


def test_the_wal_grows_past_the_default_and_is_still_checkpointed(database: Database, tmp_path: Path) -> None:
    """40 MB written in 100 commits: the WAL passes SQLite's default 4 MB without a checkpoint, is
    checkpointed near 32 MB (the data reaches the database file), and never grows without bound."""
    wal = tmp_path / "settings.db-wal"
    with database.write_engine.begin() as connection:
        connection.execute(text("CREATE TABLE blob (n INTEGER PRIMARY KEY, data BLOB NOT NULL)"))
    largest = 0
    for n in range(100):
        with database.write_engine.begin() as connection:
            connection.execute(text("INSERT INTO blob (n, data) VALUES (:n, randomblob(400000))"), {"n": n})
        largest = max(largest, wal.stat().st_size)
    assert largest > 8 * 1024 * 1024, "no checkpoint at SQLite's default 1,000 pages"
    assert largest < 40 * 1024 * 1024, "checkpointed at 8,000 pages, before all 40 MB piled up"
    assert os.path.getsize(tmp_path / "settings.db") > 30 * 1024 * 1024, "the checkpoint copied the data"
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM blob")).scalar() == 100
