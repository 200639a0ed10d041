"""The spool: a real SQLite file, real processes racing for its rows, real unwritable directories."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from helpers import unprivileged

from notebook_error_reporter import cachedir, spool
from notebook_error_reporter.spool import Spool, SpoolBusy, open_spool, process_owner

TARGET = "http://127.0.0.1:9"
ROOT = Path(__file__).resolve().parent.parent


def event(n: int, session: str = "s1", size: int = 0) -> Dict[str, Any]:
    return {"event_id": f"e{n:04d}", "session_id": session, "error_name": "E", "error_message": "x" * size}


def put(s: Spool, n: int, **kwargs: Any) -> int:
    bounds = {"max_reports": 1000, "max_bytes": 10_000_000}
    bounds.update(kwargs)
    return s.put(event(n), TARGET, **bounds)


@pytest.fixture(autouse=True)
def fresh_spools() -> Iterator[None]:
    yield
    spool._forget_spools_for_tests()


@pytest.fixture
def sp(tmp_path: Path) -> Spool:
    opened = open_spool(str(tmp_path / "spool" / "spool.sqlite3"))
    assert opened.location == str(tmp_path / "spool" / "spool.sqlite3")
    return opened


# -- where the spool lives ---------------------------------------------------------------------
def test_user_cache_dir_follows_each_platforms_convention() -> None:
    assert cachedir.user_cache_dir({"HOME": "/home/ada"}, "linux") == Path("/home/ada/.cache")
    assert cachedir.user_cache_dir({"HOME": "/home/ada", "XDG_CACHE_HOME": "/fast/cache"}, "linux") == Path(
        "/fast/cache"
    )
    # A relative XDG_CACHE_HOME is to be ignored (XDG base directory spec).
    assert cachedir.user_cache_dir({"HOME": "/home/ada", "XDG_CACHE_HOME": "rel"}, "linux") == Path(
        "/home/ada/.cache"
    )
    assert cachedir.user_cache_dir({"HOME": "/Users/ada"}, "darwin") == Path("/Users/ada/Library/Caches")
    assert cachedir.user_cache_dir({"LOCALAPPDATA": "C:\\Users\\ada\\AppData\\Local"}, "win32") is not None
    assert cachedir.user_cache_dir({}, "win32") is None
    assert cachedir.user_cache_dir({"HOME": "/"}, "linux") is None


def test_candidates_end_with_a_private_temp_dir_then_memory(tmp_path: Path) -> None:
    explicit = str(tmp_path / "mine.sqlite3")
    candidates = cachedir.spool_candidates(explicit)
    assert candidates[0] == explicit
    assert candidates[-1] == cachedir.MEMORY
    assert candidates[-2].startswith(tempfile.gettempdir())
    assert "notebook-error-reporter-" in candidates[-2]
    default = cachedir.spool_candidates()
    assert default[0].endswith(os.path.join("notebook-error-reporter", "spool.sqlite3"))


def test_the_default_spool_is_in_the_user_cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    opened = open_spool()
    assert opened.location == str(tmp_path / "cache" / "notebook-error-reporter" / "spool.sqlite3")
    assert opened.durable


def test_spool_file_is_private_and_in_wal_mode(sp: Spool) -> None:
    assert stat.S_IMODE(os.stat(sp.location).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(sp.location)).st_mode) == 0o700
    with sqlite3.connect(sp.location) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_unusable_directory_falls_back_to_temp_then_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    fallback = open_spool(str(blocker / "spool.sqlite3"))
    assert fallback.location == str(cachedir.private_temp_dir() / "spool.sqlite3")
    assert put(fallback, 1) == 0
    spool._forget_spools_for_tests()
    monkeypatch.setattr(tempfile, "tempdir", str(blocker / "tmp"))
    last = open_spool(str(blocker / "spool.sqlite3"))
    assert last.location == cachedir.MEMORY and not last.durable
    assert put(last, 2) == 0
    assert [e["event_id"] for e in last.pending()] == ["e0002"]


def test_a_temp_dir_owned_by_someone_else_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(os, "getuid"):
        pytest.skip("POSIX ownership")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    me = os.getuid() + 1
    monkeypatch.setattr(os, "getuid", lambda: me)  # we are someone else than the directory's owner
    trap = cachedir.private_temp_dir()
    trap.mkdir()
    assert not cachedir.prepare_directory(str(trap / "spool.sqlite3"))
    assert not (trap / "spool.sqlite3").exists()


# -- put, claim, remove ------------------------------------------------------------------------
def test_claim_gives_the_oldest_first_and_hides_claimed_rows(sp: Spool) -> None:
    for n in range(5):
        put(sp, n)
    first = sp.claim(TARGET, limit=3, max_bytes=10**6, lease=60)
    assert [c.event_id for c in first] == ["e0000", "e0001", "e0002"]
    assert first[0].event == event(0) and first[0].attempts == 1
    second = sp.claim(TARGET, limit=10, max_bytes=10**6, lease=60)
    assert [c.event_id for c in second] == ["e0003", "e0004"]
    assert sp.claim(TARGET, limit=10, max_bytes=10**6, lease=60) == []
    assert sp.claim("http://other", limit=10, max_bytes=10**6, lease=60) == []


def test_remove_and_release(sp: Spool) -> None:
    for n in range(3):
        put(sp, n)
    claimed = sp.claim(TARGET, limit=3, max_bytes=10**6, lease=60)
    assert sp.remove([claimed[0].event_id]) == 1
    sp.release([c.event_id for c in claimed[1:]])
    again = sp.claim(TARGET, limit=3, max_bytes=10**6, lease=60)
    assert [(c.event_id, c.attempts) for c in again] == [("e0001", 2), ("e0002", 2)]
    assert sp.count(TARGET) == 2 and sp.count() == 2


def test_an_expired_lease_makes_rows_claimable_again(sp: Spool) -> None:
    put(sp, 1)
    assert len(sp.claim(TARGET, limit=1, max_bytes=10**6, lease=30)) == 1
    assert sp.claim(TARGET, limit=1, max_bytes=10**6, lease=30) == []
    now = time.time()
    sp.clock = lambda: now + 31
    assert [c.event_id for c in sp.claim(TARGET, limit=1, max_bytes=10**6, lease=30)] == ["e0001"]


def test_claim_respects_the_byte_budget_but_always_takes_one(sp: Spool) -> None:
    for n in range(3):
        sp.put(event(n, size=400), TARGET, max_reports=100, max_bytes=10**6)
    assert len(sp.claim(TARGET, limit=10, max_bytes=100, lease=60)) == 1
    assert len(sp.claim(TARGET, limit=10, max_bytes=1000, lease=60)) == 2


def test_same_event_id_is_stored_once(sp: Spool) -> None:
    put(sp, 1)
    put(sp, 1)
    assert sp.count() == 1


# -- bounds and drops --------------------------------------------------------------------------
def test_a_full_spool_drops_the_oldest_and_counts_them_per_server(sp: Spool) -> None:
    dropped = [put(sp, n, max_reports=3) for n in range(5)]
    assert dropped == [0, 0, 0, 1, 1]
    assert [e["event_id"] for e in sp.pending()] == ["e0002", "e0003", "e0004"]
    assert sp.dropped(TARGET) == 2
    sp.dropped_told(TARGET, 1)
    assert sp.dropped(TARGET) == 1
    assert sp.dropped("http://elsewhere") == 0


def test_the_byte_bound_holds_and_a_huge_report_is_dropped_alone(sp: Spool) -> None:
    for n in range(4):
        sp.put(event(n, size=300), TARGET, max_reports=100, max_bytes=1000)
    assert sum(len(json.dumps(e)) for e in sp.pending()) <= 1000
    assert sp.count() == 2 and sp.dropped(TARGET) == 2
    assert sp.put(event(9, size=5000), TARGET, max_reports=100, max_bytes=1000) == 1
    assert "e0009" not in [e["event_id"] for e in sp.pending()]
    assert sp.dropped(TARGET) == 3


def test_eviction_spares_rows_being_sent_when_it_can(sp: Spool) -> None:
    put(sp, 0)
    put(sp, 1)
    assert [c.event_id for c in sp.claim(TARGET, limit=1, max_bytes=10**6, lease=60)] == ["e0000"]
    put(sp, 2, max_reports=2)
    assert [e["event_id"] for e in sp.pending()] == ["e0000", "e0002"]


def test_corrupt_rows_are_dropped_counted_and_skipped(sp: Spool) -> None:
    put(sp, 1)
    put(sp, 2)
    with sqlite3.connect(sp.location) as other:
        other.execute("UPDATE reports SET payload = '{not json' WHERE event_id = 'e0001'")
    assert [c.event_id for c in sp.claim(TARGET, limit=10, max_bytes=10**6, lease=60)] == ["e0002"]
    assert sp.count() == 1 and sp.dropped(TARGET) == 1


def test_pending_filters_by_server_and_session(sp: Spool) -> None:
    sp.put(event(1, "s1"), TARGET, max_reports=10, max_bytes=10**6)
    sp.put(event(2, "s2"), TARGET, max_reports=10, max_bytes=10**6)
    sp.put(event(3, "s1"), "http://other", max_reports=10, max_bytes=10**6)
    assert [e["event_id"] for e in sp.pending(TARGET, "s1")] == ["e0001"]
    assert [e["event_id"] for e in sp.pending(session_id="s1")] == ["e0001", "e0003"]
    assert len(sp.pending()) == 3


def test_legacy_usage_ids_are_remembered_per_server_and_session(sp: Spool) -> None:
    assert sp.legacy_usage(TARGET, "s1") is None
    sp.remember_legacy_usage(TARGET, "s1", "u-1")
    assert sp.legacy_usage(TARGET, "s1") == "u-1"
    assert sp.legacy_usage(TARGET, "s2") is None
    assert sp.legacy_usage("http://other", "s1") is None


# -- other kernels ---------------------------------------------------------------------------
def test_a_busy_spool_raises_spool_busy_within_the_wait(sp: Spool) -> None:
    other = sqlite3.connect(sp.location, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another kernel holds the write lock
        start = time.monotonic()
        with pytest.raises(SpoolBusy):
            put(sp, 1, wait=0.1)
        assert time.monotonic() - start < 1.0
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert put(sp, 1, wait=0.1) == 0


def test_claims_of_a_dead_process_are_taken_back_at_once(sp: Spool) -> None:
    put(sp, 1)
    put(sp, 2)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    host = process_owner().rsplit(":", 2)[0]
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with sqlite3.connect(sp.location) as other:
            other.execute(
                "UPDATE reports SET claimed_by = ?, lease_until = ? WHERE event_id = 'e0001'",
                (f"{host}:{dead.stdout.strip()}:gone", time.time() + 3600),
            )
            other.execute(
                "UPDATE reports SET claimed_by = ?, lease_until = ? WHERE event_id = 'e0002'",
                (f"{host}:{alive.pid}:busy", time.time() + 3600),
            )
        claimed = sp.claim(TARGET, limit=10, max_bytes=10**6, lease=60)
    finally:
        alive.kill()
        alive.wait()
    if os.name == "posix":
        assert [c.event_id for c in claimed] == ["e0001"]
    else:  # pragma: no cover - only the lease protects on Windows
        assert claimed == []


_RACER = """
import json, sys, time
from notebook_error_reporter.spool import open_spool
sp = open_spool(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()  # start together
mine = []
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    batch = sp.claim(sys.argv[2], limit=7, max_bytes=10**6, lease=60)
    if not batch:
        break
    mine.extend(c.event_id for c in batch)
    time.sleep(0.002)  # "sending"
    sp.remove(c.event_id for c in batch)
print(json.dumps(mine))
"""


def test_two_processes_on_one_spool_take_each_report_exactly_once(sp: Spool) -> None:
    for n in range(300):
        put(sp, n)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, sp.location, TARGET],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline().strip() == "ready"
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    taken: List[List[str]] = [json.loads(r.communicate(timeout=120)[0]) for r in racers]
    assert all(r.returncode == 0 for r in racers)
    assert taken[0] and taken[1], "both processes should have worked"
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == [f"e{n:04d}" for n in range(300)]
    assert sp.count() == 0


_READ_ONLY_PROBE = """
import json, os, sys
from notebook_error_reporter.spool import open_spool
sp = open_spool(sys.argv[1])
sp.put({"event_id": "e1", "session_id": "s"}, "http://x", max_reports=10, max_bytes=10**6)
print(json.dumps({"location": sp.location, "pending": len(sp.pending())}))
"""


def test_a_read_only_spool_directory_falls_back_in_a_real_process(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    seeded = open_spool(str(locked / "spool.sqlite3"))  # an existing spool that became read-only
    put(seeded, 0)
    spool._forget_spools_for_tests()
    (locked / "spool.sqlite3").chmod(0o400)
    locked.chmod(0o500)
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(temp))
    try:
        result = subprocess.run(
            unprivileged([sys.executable, "-c", _READ_ONLY_PROBE, str(locked / "spool.sqlite3")]),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    finally:
        locked.chmod(0o700)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["location"].startswith(str(temp)) and outcome["pending"] == 1
