"""Fixtures of the server tests: a fresh database per test, in-process apps, Redis, a real browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, List

import pytest
from fastapi.testclient import TestClient

from notebook_error_reporter.serverside import create_app, create_db
from notebook_error_reporter.serverside.core.db import Database

from .browser import browser, watched  # noqa: F401  (the fixtures, for the tests here)
from .databases import fresh_database
from .helpers import ADMIN_TOKEN, MakeClient
from .redis_server import redis_url  # noqa: F401  (the fixture, for the tests here)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database for this test (SQLite file, or a PostgreSQL schema; see databases.py)."""
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """That database with the schema made by the migrations, for tests that work below the HTTP layer."""
    create_db(database_url)
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def make_client(database_url: str) -> Iterator[MakeClient]:
    """``make_client(**settings)``: a TestClient on a new app over this test's database.

    The lifespan runs (migrations included); server exceptions are raised into the test, so a
    500 fails it loudly.
    """
    opened: List[TestClient] = []

    def make(client: Any = ("127.0.0.1", 50000), **settings: Any) -> TestClient:
        settings.setdefault("admin_token", ADMIN_TOKEN)
        app = create_app(database_url, **settings)
        test_client = TestClient(app, client=client)
        test_client.__enter__()
        opened.append(test_client)
        return test_client

    yield make
    for test_client in reversed(opened):
        test_client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """The app with default (safe) settings and the test admin token."""
    return make_client()
