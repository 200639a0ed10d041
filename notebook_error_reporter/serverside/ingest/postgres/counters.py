"""PostgreSQL: counter bumps of session and notebook rows the one ingest statement leaves (notebooks'
new sessions, a client's dropped reports), as one set-based statement over a recordset.

The rows are locked in id order first, by a ``FOR NO KEY UPDATE`` in a CTE of the same statement
(``locked_first``): an ``UPDATE ... FROM`` alone locks rows in whatever order its join runs, and two
writers locking in different orders deadlock (see ``ingest/lock_order.py``).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Dict, Optional, Tuple

from sqlalchemy import Connection, Table, select

from ..counter_statements import bump_row, bump_row_statement, row_bump_parameters, row_bumps
from .documents import document, recordset


def locked_first(table: Table, rows: Any, key: str) -> Any:
    """A CTE that locks ``table``'s rows named by ``rows.c[key]`` in id order, giving their id.

    MATERIALIZED and sorted under its FOR NO KEY UPDATE: every row is locked by the CTE, in id order,
    before the UPDATE joined to it can touch it. NO KEY UPDATE: our own event inserts hold FOR KEY
    SHARE on these rows (the foreign key check) and so do concurrent ones; plain FOR UPDATE would
    conflict and deadlock.
    """
    c = table.c
    return (
        select(c.id)
        .where(c.id.in_(select(rows.c[key])))
        .order_by(c.id)
        .with_for_update(key_share=True)
        .cte(f"locked_{table.name}")
        .prefix_with("MATERIALIZED")
    )


@functools.lru_cache(maxsize=16)
def bump_rows_at_once(table: Table, extra: Tuple[str, ...]) -> Any:
    """``bump_row`` for all rows of a recordset at once, locked in id order first."""
    rows = recordset(row_bump_parameters(extra))
    locked = locked_first(table, rows, "b_pk")
    return bump_row_statement(table, extra, rows.c).where(table.c.id == locked.c.id)


def bump_rows(
    connection: Connection,
    table: Table,
    per_row: Dict[int, Tuple[int, Optional[datetime]]],
    extra: Dict[str, Dict[int, int]],
) -> None:
    """See ``ingest/databases.py``: for more than one row, one statement that locks them in id order."""
    if not per_row:
        return
    params = row_bumps(per_row, extra)
    columns = tuple(sorted(extra))
    if len(params) > 1:
        connection.execute(bump_rows_at_once(table, columns), {"rows": document(params)})
    else:  # one row (a notebook's) needs no lock of its own first: one UPDATE locks it
        connection.execute(bump_row(table, columns), params)
