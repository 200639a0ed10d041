"""A server starts without what it does not need: no Alembic once the database is at the newest
revision, no psycopg on SQLite (each about 10 MB of resident memory for the server's whole life).

Each start runs in a fresh Python process (its modules are the server's, not pytest's) through the
app's real lifespan, migrations included.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import List

import pytest

from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.core.revisions import single_head

from .helpers import ADMIN_TOKEN

START = """
import json, sys
from fastapi.testclient import TestClient
from notebook_error_reporter.serverside import create_app
with TestClient(create_app(sys.argv[1], admin_token=sys.argv[2])) as client:
    assert client.get("/healthz").status_code == 200
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def started_modules(database_url: str) -> List[str]:
    """The top-level modules a server process holds once started on ``database_url``."""
    done = subprocess.run(
        [sys.executable, "-c", START, database_url, ADMIN_TOKEN], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_a_server_on_an_up_to_date_database_imports_no_alembic(database_url: str) -> None:
    first = started_modules(database_url)  # a new database: the migrations run
    assert "alembic" in first
    again = started_modules(database_url)
    assert "alembic" not in again and "mako" not in again
    database = Database(database_url)
    try:
        assert schema.current_revision(database) == schema.head_revision()
    finally:
        database.dispose()


def test_a_server_on_sqlite_imports_no_psycopg(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("a PostgreSQL server needs psycopg")
    assert "psycopg" not in started_modules(database_url)


def test_the_shipped_head_read_from_the_files_is_alembics() -> None:
    assert schema.shipped_head() == schema.head_revision() is not None


def migration(revision: str, down: str) -> str:
    return f'"""A migration."""\nrevision: str = "{revision}"\ndown_revision: Union[str, None] = {down}\n'


def test_single_head_follows_the_chain_and_gives_up_on_what_it_cannot_read() -> None:
    chain = [migration("0002", '"0001"'), migration("0001", "None"), migration("0003", "'0002'")]
    assert single_head(chain) == "0003"
    branches = [migration("0001", "None"), migration("0002", '"0001"'), migration("0003", '"0001"')]
    assert single_head(branches) is None
    assert single_head([migration("0001", "None"), migration("0002", '("0001", "0000")')]) is None
    assert single_head([migration("0002", '"0001"')]) is None  # its parent is not shipped
    assert single_head(["revision = 'x'\n"]) is None
    assert single_head([]) is None
