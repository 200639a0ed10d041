"""The SQLite database, every file beside it and the admin token are 0600: checked on a real server
started with a permissive umask, also for the WAL files SQLite makes again after a restart, and for
an old world-readable database."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from notebook_error_reporter.serverside.cli import token_path

from .helpers import make_event
from .live_server import LiveServer, start_server

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("NER_TEST_DATABASE_URL")), reason="SQLite files; the PostgreSQL run has none"
)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


@contextlib.contextmanager
def permissive_umask() -> Iterator[None]:
    """What a server started from a login shell usually gets: new files 0644, directories 0755."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def store_a_report(server: LiveServer) -> None:
    answer = httpx.post(server.url("/api/v1/events"), json=make_event(), timeout=10)
    assert answer.status_code == 201, answer.text


def sqlite_files(database: Path) -> dict[str, str]:
    """The mode of the database and of each companion file that exists now."""
    names = [database, *(Path(f"{database}{suffix}") for suffix in ("-wal", "-shm", "-turn"))]
    return {path.name: mode(path) for path in names if path.exists()}


def test_a_new_database_its_wal_files_and_token_are_private(tmp_path: Path) -> None:
    database = tmp_path / "errors.db"
    with permissive_umask():
        server = start_server(tmp_path, database_url=f"sqlite:///{database}", admin_token=None)
    try:
        store_a_report(server)
        files = sqlite_files(database)
        assert set(files) == {"errors.db", "errors.db-wal", "errors.db-shm", "errors.db-turn"}
        assert set(files.values()) == {"0o600"}, files
        assert mode(token_path(server.database_url)) == "0o600"
        # A clean stop removes the WAL files; the next start makes them again, still private.
        server.restart()
        store_a_report(server)
        files = sqlite_files(database)
        assert {"errors.db-wal", "errors.db-shm"} <= set(files)
        assert set(files.values()) == {"0o600"}, files
    finally:
        server.stop()


def test_an_old_world_readable_database_is_narrowed_at_start(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    with permissive_umask():
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE kept (x INTEGER)")
        connection.commit()
        token = Path(token_path(f"sqlite:///{database}"))
        token.write_text("an-old-token-0123456789\n")
        assert mode(database) == "0o644" and mode(token) == "0o644"
        server = start_server(tmp_path, database_url=f"sqlite:///{database}", admin_token=None)
    try:
        connection.close()
        store_a_report(server)
        files = sqlite_files(database)
        assert set(files.values()) == {"0o600"}, files
        assert mode(token) == "0o600"
        assert server.generated_token() == "an-old-token-0123456789"
    finally:
        server.stop()
