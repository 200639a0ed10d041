"""PostgreSQL: the sessions a group of single reports brings, made by the event loop in one statement.

Under a crowd almost every group of single reports has a report of a session not seen before (a
session sends about ten). Its notebook and issue are known, its session is not: without this the
whole group would go to the writer thread. One statement, a transaction by itself on the loop's
connection, inserts the sessions not stored yet (``ON CONFLICT DO NOTHING``: another transaction may
have made one meanwhile), adds them to their notebooks' session counts and gives every session's
row id. The sessions are then remembered (``KnownIds``) and the group is stored as a known one
(``statement.py``). A session made here whose reports then fail to store stays, with no reports, and
counted once: the writer thread finds it when it stores the group again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Mapping, Optional

if TYPE_CHECKING:
    import psycopg

# The new sessions by session id, then their notebooks' counters locked by id (lock_order.py).
MAKE_SESSIONS = """
WITH given AS (
    SELECT * FROM json_to_recordset(%(sessions)s::json) AS given(session_id varchar, notebook_id integer)
), made AS (
    INSERT INTO report_session (session_id, notebook_id, created_at, event_count)
    SELECT session_id, notebook_id, %(now)s, 0 FROM given ORDER BY session_id
    ON CONFLICT (session_id) DO NOTHING
    RETURNING session_id, id, notebook_id
), locked_notebook AS MATERIALIZED (
    SELECT id FROM notebook WHERE id IN (SELECT notebook_id FROM made) ORDER BY id FOR NO KEY UPDATE
), counted AS (
    UPDATE notebook SET session_count = notebook.session_count + made_here.sessions
    FROM locked_notebook
    JOIN (SELECT notebook_id, count(*) AS sessions FROM made GROUP BY notebook_id) AS made_here
        ON made_here.notebook_id = locked_notebook.id
    WHERE notebook.id = locked_notebook.id
)
SELECT session_id, id FROM made
UNION ALL
SELECT report_session.session_id, report_session.id FROM report_session JOIN given USING (session_id)
"""


async def made_sessions(
    connection: psycopg.AsyncConnection[Any], notebook_of: Mapping[str, int], now: datetime
) -> Optional[Dict[str, int]]:
    """``{session id: row id}`` of every session of ``notebook_of`` (``{session id: notebook id}``),
    made where missing; None if one of them could not be had here (made by a transaction that
    committed after this statement began: the writer thread finds it)."""
    sessions = [{"session_id": key, "notebook_id": value} for key, value in sorted(notebook_of.items())]
    cursor = await connection.execute(MAKE_SESSIONS, {"sessions": json.dumps(sessions), "now": now})
    ids = {str(key): int(row_id) for key, row_id in await cursor.fetchall()}
    return ids if len(ids) == len(notebook_of) else None
