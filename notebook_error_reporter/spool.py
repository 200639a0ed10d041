"""The durable offline queue: every report is written here first and leaves only when acknowledged.

One SQLite file (stdlib ``sqlite3``, WAL, a busy timeout) in the user's cache dir, shared by every
kernel of the user: a report written while offline, or by a kernel that was restarted, is sent by
whichever kernel next has a working connection. Rows are *claimed* with a lease (``claimed_by``,
``lease_until``) inside ``BEGIN IMMEDIATE`` so two kernels never send the same row at once; a
claim by a process that died on this host is taken back at once, any other after its lease.

The spool is bounded by count and bytes: the oldest unclaimed rows are evicted first, and each
eviction is counted per server so the next batch can tell it (``client_dropped``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from .cachedir import MEMORY, prepare_directory, spool_candidates

logger = logging.getLogger("notebook_error_reporter")

SCHEMA_VERSION = 1
CELL_WAIT = 0.2  # seconds a failing cell may wait for the spool before the report is held in memory
WORKER_WAIT = 5.0  # seconds the background sender may wait for another kernel's write lock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    target TEXT NOT NULL,
    session_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    size INTEGER NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reports_by_target ON reports (target, id);
CREATE INDEX IF NOT EXISTS reports_by_session ON reports (session_id);
CREATE TABLE IF NOT EXISTS totals (
    id INTEGER PRIMARY KEY CHECK (id = 1), reports INTEGER NOT NULL, bytes INTEGER NOT NULL
);
INSERT OR IGNORE INTO totals VALUES (1, 0, 0);
CREATE TRIGGER IF NOT EXISTS reports_added AFTER INSERT ON reports BEGIN
    UPDATE totals SET reports = reports + 1, bytes = bytes + NEW.size WHERE id = 1;
END;
CREATE TRIGGER IF NOT EXISTS reports_removed AFTER DELETE ON reports BEGIN
    UPDATE totals SET reports = reports - 1, bytes = bytes - OLD.size WHERE id = 1;
END;
CREATE TABLE IF NOT EXISTS dropped (target TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS legacy_sessions (
    target TEXT NOT NULL, session_id TEXT NOT NULL, usage_uuid TEXT NOT NULL,
    PRIMARY KEY (target, session_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SpoolBusy(Exception):
    """The spool could not be reached within the allowed wait (another thread or kernel holds it)."""


@dataclass(frozen=True)
class Claimed:
    """One report claimed for sending: its parsed event and where it came from."""

    event_id: str
    session_id: str
    event: Dict[str, Any]
    attempts: int


_owner_lock = threading.Lock()
_owner: Tuple[int, str] = (0, "")


def process_owner() -> str:
    """``host:pid:token`` naming this process in ``claimed_by`` (a new token after a fork)."""
    global _owner
    with _owner_lock:
        if _owner[0] != os.getpid():
            _owner = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}")
        return _owner[1]


def _owner_is_gone(owner: str) -> bool:
    """True only when ``owner`` is surely dead: a process of this host that no longer runs."""
    try:
        host, pid_text, _token = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or os.name != "posix":
        return False  # another machine sharing the file, or Windows (os.kill(pid, 0) kills there)
    if pid == os.getpid():
        return owner != process_owner()  # an earlier process that had our pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _placeholders(values: List[Any]) -> str:
    return ",".join("?" * len(values))


class Spool:
    """A spool file (or memory) with one connection guarded by one lock, shared by all threads."""

    def __init__(self, connection: sqlite3.Connection, location: str) -> None:
        self.location = location
        self._connection = connection
        self._lock = threading.Lock()
        self.clock: Callable[[], float] = time.time

    @property
    def durable(self) -> bool:
        """False for the in-memory last resort: reports then live only as long as the process."""
        return self.location != MEMORY

    # -- plumbing ------------------------------------------------------------------------------
    def _run(self, wait: float, work: Callable[[sqlite3.Connection], Any], write: bool = True) -> Any:
        if not self._lock.acquire(timeout=max(0.0, wait)):
            raise SpoolBusy(self.location)
        try:
            conn = self._connection
            conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            if not write:
                return work(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as error:
                if "locked" in str(error) or "busy" in str(error):
                    raise SpoolBusy(self.location) from error
                raise
            try:
                result = work(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result
        finally:
            self._lock.release()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    # -- the failing cell's path ---------------------------------------------------------------
    def put(
        self,
        event: Dict[str, Any],
        target: str,
        *,
        max_reports: int,
        max_bytes: int,
        wait: float = CELL_WAIT,
    ) -> int:
        """Store ``event`` for ``target``; returns how many reports were dropped to stay in bounds.

        A report larger than ``max_bytes`` on its own is not stored (and counts as one dropped).
        Raises ``SpoolBusy`` or ``sqlite3.Error`` when the spool cannot take it in time.
        """
        payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str)
        size = len(payload.encode("utf-8"))
        if size > max_bytes:
            self._run(wait, lambda conn: self._count_dropped(conn, {target: 1}))
            return 1

        def work(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT OR IGNORE INTO reports (event_id, target, session_id, payload, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (event["event_id"], target, str(event.get("session_id", "")), payload, size, self.clock()),
            )
            return self._evict(conn, max_reports, max_bytes)

        return int(self._run(wait, work))

    def _evict(self, conn: sqlite3.Connection, max_reports: int, max_bytes: int) -> int:
        count, total = conn.execute("SELECT reports, bytes FROM totals WHERE id = 1").fetchone()
        if count <= max_reports and total <= max_bytes:
            return 0
        victims: List[int] = []
        per_target: Dict[str, int] = {}
        # Oldest first, but rows another sender is sending right now only when nothing else is left.
        # Each pass walks the primary key in order (no sort) and stops as soon as we are in bounds.
        for spared in (
            "claimed_by IS NULL OR lease_until < ?",
            "claimed_by IS NOT NULL AND lease_until >= ?",
        ):
            rows = conn.execute(
                f"SELECT id, target, size FROM reports WHERE {spared} ORDER BY id", (self.clock(),)
            )
            for row_id, target, size in rows:
                if count <= max_reports and total <= max_bytes:
                    break
                victims.append(row_id)
                per_target[target] = per_target.get(target, 0) + 1
                count, total = count - 1, total - size
            rows.close()
            if count <= max_reports and total <= max_bytes:
                break
        conn.execute(f"DELETE FROM reports WHERE id IN ({_placeholders(victims)})", victims)
        self._count_dropped(conn, per_target)
        return len(victims)

    @staticmethod
    def _count_dropped(conn: sqlite3.Connection, per_target: Dict[str, int]) -> None:
        for target, amount in per_target.items():
            # Not an UPSERT: Python 3.9 may come with an SQLite older than 3.24.
            conn.execute("INSERT OR IGNORE INTO dropped (target, count) VALUES (?, 0)", (target,))
            conn.execute("UPDATE dropped SET count = count + ? WHERE target = ?", (amount, target))

    # -- the sender's side ---------------------------------------------------------------------
    def claim(
        self, target: str, *, limit: int, max_bytes: int, lease: float, wait: float = WORKER_WAIT
    ) -> List[Claimed]:
        """Claim up to ``limit`` of ``target``'s oldest unclaimed reports (at most ``max_bytes``
        of them, but always one) for ``lease`` seconds. Corrupt rows are dropped and counted."""
        owner = process_owner()

        def work(conn: sqlite3.Connection) -> List[Claimed]:
            now = self.clock()
            holders = conn.execute(
                "SELECT DISTINCT claimed_by FROM reports"
                " WHERE target = ? AND claimed_by IS NOT NULL AND lease_until >= ?",
                (target, now),
            ).fetchall()
            gone = [holder for (holder,) in holders if _owner_is_gone(holder)]
            if gone:
                conn.execute(
                    f"UPDATE reports SET claimed_by = NULL, lease_until = 0"
                    f" WHERE claimed_by IN ({_placeholders(gone)})",
                    gone,
                )
            rows = conn.execute(
                "SELECT id, event_id, session_id, payload, size, attempts FROM reports"
                " WHERE target = ? AND (claimed_by IS NULL OR lease_until < ?) ORDER BY id LIMIT ?",
                (target, now, limit),
            ).fetchall()
            claimed: List[Claimed] = []
            ids: List[int] = []
            corrupt: List[int] = []
            total = 0
            for row_id, event_id, session_id, payload, size, attempts in rows:
                if claimed and total + size > max_bytes:
                    break
                try:
                    event = json.loads(payload)
                    if not isinstance(event, dict):
                        raise ValueError("not an object")
                except ValueError:
                    corrupt.append(row_id)
                    continue
                total += size
                ids.append(row_id)
                claimed.append(Claimed(event_id, session_id, event, attempts + 1))
            if ids:
                conn.execute(
                    f"UPDATE reports SET claimed_by = ?, lease_until = ?, attempts = attempts + 1"
                    f" WHERE id IN ({_placeholders(ids)})",
                    [owner, now + lease, *ids],
                )
            if corrupt:
                logger.warning("notebook_error_reporter: dropped %d unreadable spooled reports", len(corrupt))
                conn.execute(f"DELETE FROM reports WHERE id IN ({_placeholders(corrupt)})", corrupt)
                self._count_dropped(conn, {target: len(corrupt)})
            return claimed

        return list(self._run(wait, work))

    def remove(self, event_ids: Iterable[str], wait: float = WORKER_WAIT) -> int:
        """Delete reports the server acknowledged (or refused for good); returns how many went."""
        ids = list(event_ids)
        if not ids:
            return 0
        return int(
            self._run(
                wait,
                lambda conn: (
                    conn.execute(
                        f"DELETE FROM reports WHERE event_id IN ({_placeholders(ids)})", ids
                    ).rowcount
                ),
            )
        )

    def release(self, event_ids: Iterable[str], wait: float = WORKER_WAIT) -> None:
        """Give back our claim on reports that could not be sent, so any kernel may retry them."""
        ids = list(event_ids)
        if not ids:
            return
        self._run(
            wait,
            lambda conn: conn.execute(
                f"UPDATE reports SET claimed_by = NULL, lease_until = 0"
                f" WHERE claimed_by = ? AND event_id IN ({_placeholders(ids)})",
                [process_owner(), *ids],
            ),
        )

    def dropped(self, target: str, wait: float = WORKER_WAIT) -> int:
        """Reports for ``target`` dropped by this spool that the server has not been told about."""
        row = self._run(
            wait,
            lambda conn: conn.execute("SELECT count FROM dropped WHERE target = ?", (target,)).fetchone(),
            write=False,
        )
        return int(row[0]) if row else 0

    def dropped_told(self, target: str, amount: int, wait: float = WORKER_WAIT) -> None:
        """The server was told of ``amount`` drops: subtract them (more may have happened since)."""
        if amount > 0:
            self._run(
                wait,
                lambda conn: conn.execute(
                    "UPDATE dropped SET count = MAX(0, count - ?) WHERE target = ?", (amount, target)
                ),
            )

    # -- reading -------------------------------------------------------------------------------
    def pending(
        self, target: Optional[str] = None, session_id: Optional[str] = None, wait: float = WORKER_WAIT
    ) -> List[Dict[str, Any]]:
        """Reports still waiting (for ``target`` / ``session_id`` if given), oldest first."""
        clauses, values = [], []
        for column, value in (("target", target), ("session_id", session_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._run(
            wait,
            lambda conn: conn.execute(f"SELECT payload FROM reports{where} ORDER BY id", values).fetchall(),
            write=False,
        )
        events: List[Dict[str, Any]] = []
        for (payload,) in rows:
            try:
                events.append(json.loads(payload))
            except ValueError:
                continue
        return events

    def count(self, target: Optional[str] = None, wait: float = WORKER_WAIT) -> int:
        """How many reports wait (for ``target`` if given)."""
        sql = "SELECT COUNT(*) FROM reports" + (" WHERE target = ?" if target is not None else "")
        values = (target,) if target is not None else ()
        return int(self._run(wait, lambda conn: conn.execute(sql, values).fetchone()[0], write=False))

    # -- the 0.1 fallback's session ids --------------------------------------------------------
    def legacy_usage(self, target: str, session_id: str, wait: float = WORKER_WAIT) -> Optional[str]:
        row = self._run(
            wait,
            lambda conn: conn.execute(
                "SELECT usage_uuid FROM legacy_sessions WHERE target = ? AND session_id = ?",
                (target, session_id),
            ).fetchone(),
            write=False,
        )
        return str(row[0]) if row else None

    def remember_legacy_usage(
        self, target: str, session_id: str, usage_uuid: str, wait: float = WORKER_WAIT
    ) -> None:
        self._run(
            wait,
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO legacy_sessions (target, session_id, usage_uuid) VALUES (?, ?, ?)",
                (target, session_id, usage_uuid),
            ),
        )


def _connect(location: str) -> sqlite3.Connection:
    """Open ``location`` and prove it takes a write; raises ``sqlite3.Error``/``OSError`` if not."""
    if location != MEMORY and not prepare_directory(location):
        raise OSError(f"cannot use the directory of {location}")
    conn = sqlite3.connect(location, timeout=WORKER_WAIT, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(WORKER_WAIT * 1000)}")
        if location != MEMORY:
            conn.execute("PRAGMA journal_mode = WAL")  # falls back by itself where WAL is unsupported
            conn.execute("PRAGMA synchronous = NORMAL")  # survives a killed kernel; no fsync per report
        conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        elif version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"spool schema {version} is newer than this client's")
        # A real write, so a read-only file or directory is found out now and not on a failing cell.
        conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('opened', ?)", (str(time.time()),))
    except BaseException:
        conn.close()
        raise
    return conn


_spools: Dict[Tuple[int, str], Spool] = {}
_spools_lock = threading.Lock()


def open_spool(spool_path: Optional[str] = None) -> Spool:
    """The process's spool for ``spool_path`` (default: the user cache dir), opened on first use.

    Each candidate of ``cachedir.spool_candidates`` is tried until one takes a write; the last,
    memory, always does. Never raises for an unusable location. Reopened after a fork.
    """
    pid = os.getpid()
    with _spools_lock:
        for location in spool_candidates(spool_path):
            key = (pid, location)
            if key in _spools:
                return _spools[key]
            try:
                spool = Spool(_connect(location), location)
            except (sqlite3.Error, OSError) as error:
                logger.info("notebook_error_reporter: spool %s unusable (%s)", location, error)
                continue
            _spools[key] = spool
            return spool
    raise AssertionError("unreachable: the memory spool always opens")  # pragma: no cover


def _forget_spools_for_tests() -> None:
    with _spools_lock:
        for spool in _spools.values():
            try:
                spool.close()
            except Exception:
                pass
        _spools.clear()
