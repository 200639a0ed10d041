"""PostgreSQL: the event loop stores a group of single reports itself, when their ids are all known.

Reports whose notebook, session and issue ids are remembered (``KnownIds``) need nothing but
``statement.py``'s one statement, a transaction by itself in autocommit: the loop sends it on
psycopg's asynchronous connection and serves other requests until the answer comes. A group whose
only new ids are sessions (under a crowd, nearly every group) has them made first by one more
statement (``new_sessions.py``). Whatever this cannot settle goes back to the writer thread: a group
with a notebook or an issue to read or make, reports stored before (their issue is read there), and
any error (nothing of the group was stored); after an error the loop leaves PostgreSQL to the
writer thread for a while. Each event loop has a connection of its own, opened on first use and
closed by the loop's flusher when it ends. See docs/design.md."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ...core.db import CONNECT_TIMEOUT_S
from ...core.traffic import TRAFFIC
from ...grouping import fingerprints
from ...scrub import CleanEvent
from .. import old_copies
from ..known_ids import KnownIds
from ..planning import IngestResult, created_results, known_rows, only_sessions_missing, unique
from .new_sessions import made_sessions
from .statement import store_and_count_async

if TYPE_CHECKING:  # psycopg comes with the [postgres] extra; a SQLite server runs without it
    import psycopg

logger = logging.getLogger("notebook_error_reporter.server")

# How the loop's connections show in pg_stat_activity.
APPLICATION_NAME = "notebook-error-reporter loop"
# What the debug log says of each group the loop stored (its size is the argument).
STORED_IN_LOOP = "%d reports stored by the event loop on PostgreSQL"
# After a failure, groups go to the writer thread for this long before the loop tries again.
PAUSE_AFTER_ERROR_S = 1.0


class PostgresInLoop:
    """Groups stored by event loops, each on its own connection (see the module docstring)."""

    def __init__(self, conninfo: str, known: KnownIds) -> None:
        self.conninfo = conninfo
        self.known = known
        self._connections: Dict[asyncio.AbstractEventLoop, psycopg.AsyncConnection[Any]] = {}
        self._paused_until = 0.0

    async def store(self, events: List[CleanEvent], received: datetime) -> List[Optional[IngestResult]]:
        """Each report's result, or None for those the writer thread must take (all of them if any
        id is unknown, the statement failed, or the loop is pausing after a failure)."""
        if time.monotonic() < self._paused_until:
            return [None] * len(events)
        try:
            new = unique(events)
            prints = fingerprints(new)
            rows = known_rows(new, prints, self.known, received)
            if rows is None and await self._sessions_made(new, prints, received):
                rows = known_rows(new, prints, self.known, received)
            if rows is None:
                return [None] * len(events)
            connection = await self._connect()
            marked = await _older_copies_marked(connection, rows)
            if marked is None:
                return [None] * len(events)
            stored = await store_and_count_async(connection, marked, received)
        except Exception as error:  # nothing of the group is stored: the writer thread redoes it
            logger.info("group commit in the loop: %s; handed to the writer", type(error).__name__)
            self._paused_until = time.monotonic() + PAUSE_AFTER_ERROR_S
            await self.close()
            return [None] * len(events)
        logger.debug(STORED_IN_LOOP, len(events))
        TRAFFIC.stored += len(stored.created)  # known issues only: none is new here
        TRAFFIC.regressions += len(stored.regressed)
        return created_results(events, stored.created)  # None: stored before, its issue is read

    async def _sessions_made(
        self, new: Dict[str, CleanEvent], prints: Dict[str, str], received: datetime
    ) -> bool:
        """Make and remember the group's new sessions (``new_sessions.py``) if they are all that
        keeps it from being stored here; whether they were made."""
        notebook_of = only_sessions_missing(new, prints, self.known)
        if notebook_of is None:
            return False
        made = await made_sessions(await self._connect(), notebook_of, received)
        if made is None:
            return False
        self.known.learn({"session": made})
        return True

    async def close(self) -> None:
        """Close the running loop's connection, if it has one."""
        connection = self._connections.pop(asyncio.get_running_loop(), None)
        if connection is not None:
            try:
                await connection.close()
            except Exception:  # already broken: nothing to give back
                pass

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        import psycopg

        loop = asyncio.get_running_loop()
        connection = self._connections.get(loop)
        if connection is None or connection.closed:
            connection = self._connections[loop] = await psycopg.AsyncConnection.connect(
                self.conninfo,
                autocommit=True,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name=APPLICATION_NAME,
            )
        return connection


_FIXES = (
    "SELECT id, fixed_in_version FROM issue"
    " WHERE id = ANY(%s) AND status = 'resolved' AND fixed_in_version IS NOT NULL"
)


async def _older_copies_marked(
    connection: psycopg.AsyncConnection[Any], rows: old_copies.Rows
) -> Optional[old_copies.Rows]:
    """``old_copies.mark`` on the loop's connection: the fixes of the issues of reports with a
    version (one read, only if there are some); None if a version's first-seen order is needed
    too (rare: the writer thread decides those)."""
    issue_ids = old_copies.versioned_issue_ids(rows)
    fixes: old_copies.Fixes = {}
    if issue_ids:
        cursor = await connection.execute(_FIXES, (issue_ids,))
        fixes = {int(i): str(v) for i, v in await cursor.fetchall()}
    if fixes and old_copies.orders_needed(rows, fixes):
        return None
    return old_copies.older_copies(rows, fixes, {})
