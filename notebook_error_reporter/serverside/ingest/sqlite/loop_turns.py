"""SQLite: when the event loop may write to the file itself without waiting.

The loop never waits for the database: it goes ahead only when this process's writer turn is free
and SQLite's write lock can be had at once (``Database.no_wait_write_session``, whose first
statement fails rather than wait). While another worker process (or, for batches, another thread
of this one) has the turn, the loop waits for it, serving other requests, up to ``TURN_WAIT_S``:
it then takes the turn the moment it is free, where a thread it handed the work to would wait for
the turn and then for the GIL. See docs/design.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Iterator, Optional

from sqlalchemy.orm import Session

from ...core.db import Database

# While another writer has the turn, the loop looks again this often, this long.
TURN_POLL_S = 0.0003
TURN_WAIT_S = 1.0


async def until_the_turn_looks_free(database: Database, *, also_in_this_process: bool) -> None:
    """Wait (serving other requests) while another worker process, or also a thread of this one,
    has the writer turn, up to ``TURN_WAIT_S``. A thread waiting for the turn keeps the loop from
    taking it (``WriterTurns.try_take``), so handing work over led to the next hand-over."""
    deadline = time.monotonic() + TURN_WAIT_S
    turns = database.writer_turns
    taken = (lambda: not turns.looks_free()) if also_in_this_process else turns.held_by_another_process
    while taken() and time.monotonic() < deadline:
        await asyncio.sleep(TURN_POLL_S)


@contextlib.contextmanager
def loop_turn(database: Database) -> Iterator[Optional[Session]]:
    """This process's writer turn and a no-wait write session, if the turn is free at once; else
    None. SQLite's own lock, if another process has it, fails the first statement."""
    session = database.no_wait_write_session()
    turns = database.writer_turns
    if session is None or not turns.try_take():
        yield None
        return
    try:
        with session:
            yield session
    finally:
        turns.give_back()
