"""Nothing lost, nothing doubled: many real IPython clients report through an unreliable proxy while
the server is killed with SIGKILL and restarted, the proxy goes down, and (on PostgreSQL) the database
is restarted; then every report made is stored once.

The proxy is unreliable all the time (``FAULTS``): it delays data (some past the clients' read
timeout), drops connections as they are accepted and mid-request, and cuts responses (the server
stored the reports, the client never heard): the clients resend, and idempotency makes that harmless.
While PostgreSQL is down the server must answer 503, never 500, and heal by itself.

Bounded for CI (``CHAOS_CLIENTS`` processes, ``CHAOS_SECONDS`` of errors); the full run is

    CHAOS_CLIENTS=40 CHAOS_SECONDS=60 .venv/bin/python -m pytest tests/serverside/test_chaos.py -s

Runs on the suite's database: SQLite, and PostgreSQL in scripts/test's postgresql part, where it sets
``NER_TEST_POSTGRES_DIR`` (the ``scripts/postgres`` directory of that server) for the restarts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

import httpx
import pytest
from sqlalchemy.engine import make_url

from .databases import is_postgres, psycopg_url, server_url
from .live_server import LiveServer, server_on_fresh_database
from .tcp_proxy import FAULT_KINDS, Faults, TcpProxy

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = int(os.environ.get("CHAOS_CLIENTS", "20"))
SECONDS = float(os.environ.get("CHAOS_SECONDS", "8"))
# Per new connection (drops at accept) or per forwarded chunk (the rest); a report's request and
# answer are a few chunks. Delays reach past the clients' 3 s read timeout now and then.
FAULTS = Faults(
    delay=0.15, delay_seconds=(0.05, 3.5), drop_at_accept=0.1, drop_mid_request=0.12, cut_mid_response=0.12
)
POSTGRES_DOWN_SECONDS = 2.5  # long enough for the clients to meet the outage, not only a reconnect
POSTGRES_RECOVERY_SECONDS = 60.0

_CLIENT = r"""
import io, json, os, random, sys, time
os.nice(10)  # a crowd of notebooks on a 2-core machine must not starve the server restarting
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
from notebook_error_reporter import ErrorServer
url, number, seconds, spool = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
shell = InteractiveShell.instance()
es = ErrorServer(url, "chaos", spool_path=spool, quiet=True, timeout=(1.0, 3.0),
                 backoff_base=0.1, backoff_cap=1.0, flush_at_exit=0)
es.enable(shell)
sys.__stdout__.write(json.dumps({"ready": True}) + "\n")
sys.__stdout__.flush()
rng = random.Random(number)
made = []
deadline = time.monotonic() + seconds
while time.monotonic() < deadline or len(made) < 3:  # 3 at least: a loaded machine is slow to raise
    marker = f"chaos-{number}-{len(made)}"
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell(f"# cell {len(made)}\nraise ValueError({marker!r})", store_history=True)
    made.append(marker)
    time.sleep(rng.uniform(0.1, 0.8))
flush_deadline = time.monotonic() + 120
while es.pending and time.monotonic() < flush_deadline:
    es.flush(2)
out = {"session": es.session_id, "made": made, "pending": es.pending, "stats": es.stats.as_dict()}
sys.__stdout__.write(json.dumps(out) + "\n")
sys.__stdout__.flush()  # now: a crash while the interpreter shuts down must not swallow the tally
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    lifted = {"rate_limit_address": "1000000/minute", "rate_limit_session": "1000000/minute"}
    with server_on_fresh_database(tmp_path, **lifted) as live:
        yield live


def stored_markers(server: LiveServer, session_id: str) -> List[str]:
    """The markers stored for one client's session (none: the server does not know the session)."""
    answer = httpx.get(
        server.url(f"/api/v1/sessions/{session_id}/events"), params={"limit": 10_000}, timeout=30
    )
    if answer.status_code == 404:  # not one report of this client arrived: counted as lost below
        return []
    assert answer.status_code == 200, answer.text
    return [event["error_message"] for event in answer.json()]


def postgres_to_restart() -> Tuple[Optional[Path], str]:
    """The ``scripts/postgres`` directory of the server the suite uses, or why there is none."""
    if not is_postgres():
        return None, "the suite's database is SQLite (NER_TEST_DATABASE_URL is not a PostgreSQL URL)"
    directory = os.environ.get("NER_TEST_POSTGRES_DIR", "").strip()
    if not directory:
        return None, "NER_TEST_POSTGRES_DIR is not set (scripts/test sets it: its scripts/postgres directory)"
    port_file = Path(directory) / "port"
    try:
        port = int(port_file.read_text().strip())
    except (OSError, ValueError) as error:
        return None, f"no port in {port_file} ({error}): not a scripts/postgres directory"
    if port != make_url(server_url()).port:
        return None, f"{directory} serves port {port}, not the NER_TEST_DATABASE_URL server's"
    import psycopg  # PostgreSQL runs only

    with psycopg.connect(psycopg_url(server_url()), autocommit=True) as connection:
        row = connection.execute("SHOW synchronous_commit").fetchone()
    if row is None or row[0] == "off":  # an older scripts/postgres started it so
        return None, "synchronous_commit is off there: a crash would lose commits it acknowledged, by design"
    return Path(directory), ""


@dataclass
class PostgresRestart:
    """What the server answered on /healthz (directly, not through the proxy) around one restart."""

    healthz: Counter[int] = field(default_factory=Counter)
    recovered_after: Optional[float] = None  # seconds from the restart's start to /healthz 200 again
    error: str = ""

    def __str__(self) -> str:
        answers = ", ".join(f"{status}x{count}" for status, count in sorted(self.healthz.items()))
        healed = "NOT healed"
        if self.recovered_after is not None:
            healed = f"healthy again after {self.recovered_after:.1f} s"
        return f"PostgreSQL restarted (down {POSTGRES_DOWN_SECONDS:g} s; /healthz {answers}; {healed})"


def healthz(server: LiveServer) -> int:
    try:
        return httpx.get(server.url("/healthz"), timeout=10).status_code
    except httpx.HTTPError:
        return 0  # no answer at all (counted: the server must answer, 503)


def restart_postgres(server: LiveServer, directory: Path) -> PostgresRestart:
    """Crash and restart the database under the running server, asking /healthz all along."""
    record = PostgresRestart()
    started = time.monotonic()
    restart = subprocess.Popen(
        [str(ROOT / "scripts" / "postgres"), "restart", str(directory), str(POSTGRES_DOWN_SECONDS)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    while restart.poll() is None:
        record.healthz[healthz(server)] += 1
        time.sleep(0.1)
    _, errors = restart.communicate()
    if restart.returncode != 0:
        record.error = f"scripts/postgres restart exited {restart.returncode}: {errors}"
        return record
    while time.monotonic() - started < POSTGRES_RECOVERY_SECONDS:
        status = healthz(server)
        record.healthz[status] += 1
        if status == 200:
            record.recovered_after = time.monotonic() - started
            break
        time.sleep(0.1)
    return record


def chaos(
    server: LiveServer,
    proxy: TcpProxy,
    stop: threading.Event,
    log: List[str],
    postgres: Optional[Path],
    restarts: List[PostgresRestart],
) -> None:
    """Kill -9 and restart the server, take the proxy down and up, restart PostgreSQL (``postgres``):
    until ``stop`` and at least three kills, two proxy outages and two database restarts (a slow
    restart must not leave a run with fewer faults). The proxy's own faults run all along."""
    step = 0
    while not (stop.is_set() and step >= 5):
        time.sleep(SECONDS / 6)
        step += 1
        if step <= 2:  # each fault at least twice, early (while the clients still raise), whatever the odds
            for kind in FAULT_KINDS:
                proxy.arm(kind)
        if step % 2:
            server.kill()
            log.append("server killed (SIGKILL)")
            time.sleep(0.3)
            server.restart(timeout=120)
            log.append("server restarted")
            continue
        if postgres is not None:
            restarts.append(restart_postgres(server, postgres))
            log.append(str(restarts[-1]))
            time.sleep(SECONDS / 12)
        proxy.down()
        log.append("proxy down")
        time.sleep(0.5)
        proxy.up()
        log.append("proxy up")


def server_errors(server: LiveServer) -> List[str]:
    """Tracebacks and "unexpected error" lines (the 500 handler's) in every run's log."""
    found = []
    for log in sorted(server.workdir.glob("server-*.log")):
        text = log.read_text(errors="replace")
        if "Traceback" in text or "unexpected error" in text:
            found.append(f"{log.name}:\n{text[-3000:]}")
    return found


def test_every_report_made_is_stored_exactly_once(server: LiveServer, tmp_path: Path) -> None:
    postgres, no_restart_reason = postgres_to_restart()
    proxy = TcpProxy(("127.0.0.1", server.port), FAULTS, seed=7)
    url = f"http://127.0.0.1:{proxy.port}"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(tmp_path / "cache"))
    clients = [
        subprocess.Popen(
            [sys.executable, "-c", _CLIENT, url, str(n), str(SECONDS), str(tmp_path / f"spool-{n}.sqlite3")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in range(CLIENTS)
    ]
    stop = threading.Event()
    log: List[str] = []
    restarts: List[PostgresRestart] = []
    try:
        for client in clients:  # every shell is up before the faults begin
            assert client.stdout is not None
            assert json.loads(client.stdout.readline()) == {"ready": True}
        faults = threading.Thread(target=chaos, args=(server, proxy, stop, log, postgres, restarts))
        faults.start()
        time.sleep(SECONDS)
        stop.set()
        faults.join(600)
        outputs = [client.communicate(timeout=240) for client in clients]
    finally:
        stop.set()
        for client in clients:
            if client.poll() is None:
                client.kill()
        proxy.close()
    results: List[Dict[str, Any]] = []
    for client, (out, err) in zip(clients, outputs):
        assert "Traceback" not in err, err[-2000:]
        lines = out.strip().splitlines()
        assert lines, f"a client printed no tally (exit code {client.returncode}): {err[-2000:]!r}"
        results.append(json.loads(lines[-1]))

    made: Set[str] = set()
    stored_total = 0
    stored_unique: Set[str] = set()
    unhappy: List[str] = []  # the clients that lost or doubled reports, with their own counters
    for result in results:
        made.update(result["made"])
        markers = stored_markers(server, result["session"])
        stored_total += len(markers)
        stored_unique.update(markers)
        if sorted(markers) != sorted(result["made"]):
            missing = sorted(set(result["made"]) - set(markers))
            unhappy.append(f"session {result['session']}: {result['stats']}, missing {missing[:5]}")
    duplicates = stored_total - len(stored_unique)
    lost = len(made - stored_unique)
    answers = ", ".join(f"{status}x{count}" for status, count in sorted(proxy.statuses.items()))
    restarted = f"{len(restarts)}" if postgres else f"skipped: {no_restart_reason}"
    print(  # noqa: T201  (the figures the issue asks for)
        f"\n{CLIENTS} clients, {SECONDS:g} s, faults: {', '.join(log)}\n"
        f"proxy faults injected: {proxy.injected_summary()}\n"
        f"PostgreSQL restarts: {restarted}\n"
        f"server answers through the proxy: {answers}\n"
        f"made {len(made)}, stored {len(stored_unique)}, duplicates {duplicates}, lost {lost}"
        + "".join(f"\n  {line}" for line in unhappy)
    )
    assert sum(1 for entry in log if "killed" in entry) >= 3 and log.count("proxy down") >= 2
    assert all(proxy.injected[kind] > 0 for kind in FAULT_KINDS), proxy.injected_summary()
    if postgres is not None:
        assert len(restarts) >= 2
        assert all(not restart.error for restart in restarts), [r.error for r in restarts]
        assert all(restart.recovered_after is not None for restart in restarts), "the server must heal alone"
        assert all(set(r.healthz) <= {200, 503} for r in restarts), "PostgreSQL down: 503, not 500 or silence"
        assert all(r.healthz[503] > 0 for r in restarts), "the server must say the database is down"
    assert not [status for status in proxy.statuses if status >= 500 and status != 503], answers
    assert server_errors(server) == []
    assert all(result["pending"] == 0 for result in results)
    assert len(made) >= CLIENTS * 3
    assert (duplicates, lost) == (0, 0)
    assert stored_unique == made
