"""A database as version 0.2.0 left it: the schema at revision 0002 and the rows of a fixture.

``fixtures/db_0_2_0.json`` holds every row of a SQLite database made by the 0.2.0 server (reports
sent through its API, v1 and 0.1, two issues' statuses changed, the older reports purged), as
``fixtures/make_db_0_2_0.py`` makes it with that version installed. The
rows are inserted into a database of the suite's kind, so SQLite and PostgreSQL get the same one.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

import sqlalchemy as sa
from sqlalchemy import JSON, Boolean, Date, Table, text

from notebook_error_reporter.serverside import models
from notebook_error_reporter.serverside.core import schema
from notebook_error_reporter.serverside.core.db import Database
from notebook_error_reporter.serverside.core.types import UTCDateTime

FIXTURE = Path(__file__).parent / "fixtures" / "db_0_2_0.json"


def fixture_rows() -> Dict[str, List[Dict[str, Any]]]:
    rows: Dict[str, List[Dict[str, Any]]] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return rows


def _value(table: Table, name: str, value: Any) -> Any:
    kind = table.c[name].type
    if value is None:
        return None
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    if isinstance(kind, Date):
        return date.fromisoformat(value)
    if isinstance(kind, JSON):
        return json.loads(value)
    if isinstance(kind, Boolean):
        return bool(value)
    return value


def load_0_2_0(database_url: str) -> None:
    """Make the database at ``database_url`` what 0.2.0 left (it must be empty)."""
    database = Database(database_url)
    try:
        schema.upgrade(database, "0002")
        rows = fixture_rows()
        # The tables 0.2.0 had, parents before children.
        tables = [table for table in models.SQLModel.metadata.sorted_tables if table.name in rows]
        with database.write_engine.begin() as connection:
            for table in tables:
                name = table.name
                values = [{k: _value(table, k, v) for k, v in row.items()} for row in rows[name]]
                if values:
                    # Only the columns 0.2.0 had: the models' later columns (and their defaults) do
                    # not exist yet.
                    then = sa.table(name, *(sa.column(k, table.c[k].type) for k in values[0]))
                    connection.execute(then.insert(), values)
            if connection.dialect.name == "postgresql":  # the ids above were given, not drawn
                for table in tables:
                    if "id" in table.c:
                        name = table.name
                        connection.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"
                            )
                        )
    finally:
        database.dispose()
