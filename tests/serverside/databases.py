"""A fresh, empty database for each test: a SQLite file, or a PostgreSQL schema of its own.

``NER_TEST_DATABASE_URL`` selects the server: unset means SQLite (a new file in the test's
``tmp_path``); a ``postgresql://`` URL means that server, where each test gets a new schema (much
cheaper than a database) reached through ``search_path``, dropped again afterwards.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

VARIABLE = "NER_TEST_DATABASE_URL"


def server_url() -> str:
    return os.environ.get(VARIABLE, "").strip()


def is_postgres() -> bool:
    return server_url().startswith(("postgres://", "postgresql"))


def psycopg_url(url: str) -> str:
    """The URL as psycopg itself takes it (no SQLAlchemy driver suffix)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


@contextmanager
def fresh_database(tmp_path: Path) -> Iterator[str]:
    """Yield the SQLAlchemy URL of an empty database; clean it up afterwards."""
    url = server_url()
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'errors.db'}"
        return
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    base = url if "+psycopg" in url else "postgresql+psycopg://" + psycopg_url(url)[len("postgresql://") :]
    try:
        yield f"{base}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with psycopg.connect(psycopg_url(url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
