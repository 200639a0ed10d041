"""PostgreSQL: many rows as one JSON document in one parameter (``json_to_recordset``).

A statement with one parameter is prepared once and sent in one round trip whatever the number of
rows, and the encoding is the json module's C code; psycopg's executemany would cost a message and
Python work per row. Timestamps travel as ISO text in UTC, days as ISO dates.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Mapping, Optional, Sequence, Tuple

from sqlalchemy import JSON, String, bindparam, cast, column, func

from ...core.types import utc_iso


def json_value(value: Any) -> Any:
    """``json.dumps``'s ``default``: a timestamp as ISO text in UTC (a naive one is refused, as
    ``UTCDateTime`` refuses it), a day as an ISO date; anything else JSON does not know is refused."""
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def document(rows: Sequence[Mapping[str, Any]], fields: Optional[Sequence[str]] = None) -> str:
    """``rows`` (only their ``fields``, if given) as one JSON array: the ``rows`` parameter."""
    if fields is not None:
        rows = [{name: row[name] for name in fields} for row in rows]
    return json.dumps(list(rows), default=json_value)


def recordset(columns: Sequence[Tuple[str, Any]]) -> Any:
    """``json_to_recordset(CAST(:rows AS JSON)) AS anon(name type, ...)`` for SQLAlchemy statements,
    whose ``rows`` parameter is a ``document``."""
    names = [column(name, type_) for name, type_ in columns]
    rows = func.json_to_recordset(cast(bindparam("rows", type_=String), JSON))
    return rows.table_valued(*names).render_derived(with_types=True)
