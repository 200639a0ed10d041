"""The schema comes from the Alembic migrations, matches the models, and ships inside the package."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Optional

import tomllib
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from notebook_error_reporter.serverside import create_db, models, search_index
from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.db import Database

ROOT = Path(__file__).resolve().parents[2]


def test_create_db_builds_the_newest_schema_and_is_idempotent(database_url: str) -> None:
    create_db(database_url)
    create_db(database_url)
    database = Database(database_url)
    try:
        assert schema.current_revision(database) == schema.head_revision() == "0005"
        tables = set(inspect(database.engine).get_table_names())
        assert {
            "notebook",
            "report_session",
            "issue",
            "issue_day",
            "issue_session",
            "event",
            "server_secret",
            "alert",
            "alert_target",
            "notebook_version",
        } <= tables
    finally:
        database.dispose()


def not_the_search_index(name: Optional[str], kind: str, parents: Any) -> bool:
    """The search index (``search_index.py``: SQLite's FTS5 table and its shadow tables, or
    PostgreSQL's table) is made by migration 0004 and written by SQL of its own, not a model."""
    return not (kind == "table" and (name or "").startswith(search_index.TABLE))


def test_migrated_schema_equals_the_models(database_url: str) -> None:
    create_db(database_url)
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_name": not_the_search_index}
            )
            assert compare_metadata(context, models.SQLModel.metadata) == []
    finally:
        database.dispose()


def test_no_foreign_key_cascades_and_no_address_columns(database_url: str) -> None:
    create_db(database_url)
    database = Database(database_url)
    try:
        inspector = inspect(database.engine)
        for table in inspector.get_table_names():
            for key in inspector.get_foreign_keys(table):
                assert not key.get("options", {}).get("ondelete"), (table, key)
            for column in inspector.get_columns(table):
                assert not any(word in column["name"] for word in ("ip", "address", "host")), (table, column)
    finally:
        database.dispose()


def test_migration_files_are_package_data() -> None:
    """A wheel must carry env.py, the template and every version (pyproject's package-data globs)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["notebook_error_reporter"]
    package = ROOT / "notebook_error_reporter"
    files = [p for p in schema.MIGRATIONS_DIR.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    expected = {
        "env.py",
        "script.py.mako",
        "0001_initial_schema.py",
        "0002_alert_outbox.py",
        "0003_regroup.py",
        "0005_notes_versions.py",
    }
    assert {p.name for p in files} >= expected
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in globs), relative
