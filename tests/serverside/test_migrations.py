"""The schema comes from the Alembic migrations, matches the models, and ships inside the package."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Optional, Set

import tomllib
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from notebook_error_reporter.serverside import create_db, models, search_index
from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.db import Database

ROOT = Path(__file__).resolve().parents[2]


def test_create_db_builds_the_newest_schema_and_is_idempotent(database_url: str) -> None:
    create_db(database_url)
    create_db(database_url)
    database = Database(database_url)
    try:
        assert schema.current_revision(database) == schema.head_revision() == "0006"
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
            "issue_version",
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
        "0006_event_indexes.py",
    }
    assert {p.name for p in files} >= expected
    for path in files:
        relative = path.relative_to(package).as_posix()
        assert any(fnmatch(relative, pattern) for pattern in globs), relative


NOW = "2026-12-01 10:00:00+00:00"


def insert_owners(connection: Connection, issues: int) -> None:
    """A notebook (id 1), a session (id 1) and resolved ``issues`` (ids 1, 2, ...) for reports."""
    connection.exec_driver_sql(
        "INSERT INTO notebook (id, name, created_at, event_count, session_count, client_dropped)"
        f" VALUES (1, 'nb', '{NOW}', 1, 1, 0)"
    )
    connection.exec_driver_sql(
        "INSERT INTO report_session (id, session_id, notebook_id, created_at, event_count)"
        f" VALUES (1, '{'a' * 32}', 1, '{NOW}', 1)"
    )
    for issue_id in range(1, issues + 1):
        connection.exec_driver_sql(
            "INSERT INTO issue (id, notebook_id, fingerprint, error_name, message, culprit, status,"
            " regression, event_count, session_count, first_seen, last_seen)"
            f" VALUES ({issue_id}, 1, '{str(issue_id) * 64}', 'E', 'm', 'c', 'resolved', false, 1, 1,"
            f" '{NOW}', '{NOW}')"
        )


def test_0005_keeps_the_stored_reports_and_issues(database_url: str) -> None:
    """Upgrading a database with reports to 0005: they stay, without a version, not from an older
    copy; their issues have no note and no fixed version; the notebook index covers time now."""
    database = Database(database_url)
    try:
        schema.upgrade(database, "0004")  # the revision before 0005
        with database.engine.begin() as connection:
            insert_owners(connection, issues=1)
            connection.exec_driver_sql(
                "INSERT INTO event (event_id, issue_id, session_pk, notebook_id, error_name, error_message,"
                " traceback, first_line, execution_count, occurred_at, received_at, source)"
                f" VALUES ('{'e' * 32}', 1, 1, 1, 'E', 'm', '[]', 'x = 1', 3, '{NOW}', '{NOW}', 'v1')"
            )
        schema.upgrade(database, "head")
        with database.engine.connect() as connection:
            event = connection.exec_driver_sql("SELECT notebook_version, older_copy FROM event").one()
            issue = connection.exec_driver_sql(
                "SELECT note, note_url, fixed_in_version, status FROM issue"
            ).one()
        assert tuple(event) == (None, False)
        assert tuple(issue) == (None, None, None, "resolved")
        indexes = {index["name"] for index in inspect(database.engine).get_indexes("event")}
        assert "ix_event_notebook_id_occurred_at" in indexes and "ix_event_notebook_id" not in indexes
    finally:
        database.dispose()


DROPPED_IN_0006 = {"ix_event_issue_id_id", "ix_event_issue_id_notebook_version"}


def event_indexes(database: Database) -> Set[str]:
    return {str(index["name"]) for index in inspect(database.engine).get_indexes("event")}


def test_0006_keeps_the_versions_each_issue_was_reported_from_and_goes_back(database_url: str) -> None:
    """Upgrading to 0006 fills ``issue_version`` from the stored reports and drops two event
    indexes; going back to 0005 makes them again and drops the table; the reports stay."""
    database = Database(database_url)
    try:
        schema.upgrade(database, "0005")
        reports = [(1, "1.0"), (1, "1.0"), (1, None), (2, "2.0b1"), (2, "1.0")]
        with database.engine.begin() as connection:
            insert_owners(connection, issues=3)
            for number, (issue_id, version) in enumerate(reports):
                connection.execute(
                    text(
                        "INSERT INTO event (event_id, issue_id, session_pk, notebook_id, error_name,"
                        " error_message, traceback, first_line, execution_count, occurred_at, received_at,"
                        " source, notebook_version, older_copy)"
                        f" VALUES ('{number:032x}', {issue_id}, 1, 1, 'E', 'm', '[]', 'x = 1', 3, '{NOW}',"
                        f" '{NOW}', 'v1', :version, false)"
                    ),
                    {"version": version},
                )
        assert DROPPED_IN_0006 <= event_indexes(database)
        schema.upgrade(database, "head")
        with database.engine.connect() as connection:
            pairs = set(connection.exec_driver_sql("SELECT issue_id, version FROM issue_version").all())
        assert pairs == {(1, "1.0"), (2, "2.0b1"), (2, "1.0")}
        assert not DROPPED_IN_0006 & event_indexes(database)
        assert "ix_event_issue_id_occurred_at_id" in event_indexes(database)
        with database.write_engine.begin() as connection:
            config = schema.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0005")
        assert schema.current_revision(database) == "0005"
        assert DROPPED_IN_0006 <= event_indexes(database)
        assert "issue_version" not in inspect(database.engine).get_table_names()
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM event").scalar() == len(reports)
        schema.upgrade(database, "head")
        assert schema.current_revision(database) == "0006"
    finally:
        database.dispose()
