"""How fast the collection server stores reports, against a trivial endpoint and the 0.1.1 server.

The headline load is the **crowd** (a popular notebook's strangers): every request from an address
of its own, a new session every 10 reports, 8 notebooks, varied error names, messages and cells;
single reports, and batches of 100 with one session per batch. Beside it the **kind mix** of
earlier figures: one address, 250 sessions, 20 issues of one notebook. Our servers' resident memory
is printed idle after start (on a database already migrated), and during and after
``--memory-seconds`` of the crowd.

Load comes from ``wrk`` (Debian's, installed by ``scripts/system-packages``) in its own process,
driven by ``bench/ingest_load.lua`` so that every request carries reports no earlier one carried:
closed-loop, a fixed number of connections, each sending its next request when the answer arrives.
Every server is a uvicorn process on 127.0.0.1 with one worker (but one, below); all are up at once and take
turns: after a warm-up each, ``--rounds`` rounds of one short run per server and mode, so that the
drift of a shared machine's speed falls on every server alike (the ratios come from the rates over
all rounds):

1. the trivial FastAPI endpoints of ``bench/trivial_app.py`` (parse the body, store nothing): the
   baseline for what HTTP, JSON and FastAPI cost on this machine;
2. our server (``notebook-error-server``, rate limits lifted through its settings) on SQLite and/or
   PostgreSQL 15 (started by ``scripts/postgres`` unless ``--database-url`` is given): one report per
   request (``POST /api/v1/events``) and batches of 100 (``POST /api/v1/events/batch``); one report
   per request again from 64 connections ("many", against the trivial endpoint at 64 as well): a
   report is answered only once its group's transaction is committed, so with few connections
   every client waits on the database together and the event loop idles meanwhile; and batches on
   SQLite once more from a server with ``WORKERS`` uvicorn worker processes, which take turns to
   write (``serverside/core/process_lock.py``), against the one-worker figure of the same run;
3. the 0.1.1 server from the package registry (its own venv under ``.envs/``; it only knows SQLite):
   ``POST /errors/<uuid>/``, each request to a usage of its own written beforehand, since 0.1.1
   refuses a second error on one usage within 5 s;
4. listing the top issues of a notebook with 1,000,000 stored reports (``GET /api/v1/issues``, the
   SQLite file filled as ``bench/dashboard_render.py`` fills it), against ``GET /healthz``.

After the runs the stored reports are counted: at least every acknowledged report must be there (a
few more may be, from requests in flight when wrk stopped).

Goals (issues 4 and 29): crowd single reports at >= 0.6 of the trivial endpoint's rate and >= 3x
0.1.1's POST /errors/; crowd batches >= 20,000 reports/s on SQLite and PostgreSQL; memory idle
< 100 MB, under the crowd < 200 MB and flat; the top issues at 1M reports in < 50 ms.

    .venv/bin/python bench/server_ingest.py [--database sqlite|postgresql|both] [--rounds N] [--quick]
        [--memory-seconds S] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import httpx
from _figures import Figures, add_json_argument, ratio
from _legacy import ensure_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

from serverside.databases import VARIABLE, fresh_database  # noqa: E402
from serverside.live_server import free_port, start_server  # noqa: E402

from notebook_error_reporter.serverside import create_db  # noqa: E402

LUA = ROOT / "bench" / "ingest_load.lua"
TOKEN = "bench-admin-token-0123456789abcdef"
BATCH = 100
THREADS = 2
# "many": single reports from this many connections at once (the goal figure uses --connections).
MANY_CONNECTIONS = 64
# Batches on SQLite are measured again with this many uvicorn worker processes (one per core here).
WORKERS = 2
NOTEBOOK = "ingest-bench"
# Rate limits lifted; the bench is the servers' trusted proxy, so each crowd request's X-Forwarded-For
# is its client's address (every address still counted by the limiter, as in production).
LIFTED = {
    "rate_limit_address": "100000000/minute",
    "rate_limit_session": "100000000/minute",
    "trusted_proxies": ("127.0.0.1/32",),
}
# The order the modes take turns in; crowd-batch and batch send BATCH reports a request.
MODES = ("crowd", "crowd-batch", "single", "many", "legacy", "batch")
BATCH_MODES = ("batch", "crowd-batch")
LEGACY_REQUIREMENTS = ("notebook-error-reporter[server]==0.1.1", "ipython", "requests")
LEGACY_APP = """
from notebook_error_reporter.serverside import create_db, create_app
create_db()  # ./error.db: the only database 0.1.1 knows
app = create_app(colab_only=False, max_transparency=True)
"""


@dataclass(frozen=True)
class Load:
    """One wrk run, as its ``done()`` reported it."""

    requests: int
    seconds: float
    failed: int  # non-2xx answers and socket errors
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def acknowledged(self) -> int:
        return self.requests - self.failed


# -- load --------------------------------------------------------------------------------------------
def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found:
        subprocess.run([str(ROOT / "scripts" / "system-packages"), "/usr/bin/wrk:wrk"], check=True)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and scripts/system-packages could not install it")
    return found


class Wrk:
    """Runs ``wrk`` with the Lua script; each run gets a number of its own for its event ids."""

    def __init__(self, binary: str, connections: int, seconds: float) -> None:
        self.binary = binary
        self.connections = connections
        self.seconds = seconds
        self.runs = int(time.time()) % 100_000 * 100

    def next_run(self) -> int:
        self.runs += 1
        return self.runs

    def __call__(
        self,
        base_url: str,
        mode: str,
        seconds: Optional[float] = None,
        *,
        run: int = 0,
        usages_per_thread: int = 1,
        connections: Optional[int] = None,
    ) -> Load:
        run = run or self.next_run()
        connections = connections or self.connections
        occurred_at = datetime.now(timezone.utc).isoformat()
        command = [
            self.binary,
            f"-t{min(THREADS, connections)}",
            f"-c{connections}",
            f"-d{seconds or self.seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            base_url,
            "--",
            mode,
            str(run),
            occurred_at,
            str(BATCH),
            str(usages_per_thread),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        line = [x for x in done.stdout.splitlines() if x.startswith("{")][-1]
        summary = json.loads(line)
        failed = sum(summary[k] for k in ("connect", "read", "write", "status", "timeout"))
        return Load(
            requests=summary["requests"],
            seconds=summary["duration_us"] / 1e6,
            failed=failed,
            p50_ms=summary["p50_us"] / 1e3,
            p99_ms=summary["p99_us"] / 1e3,
        )


# -- the servers that are not ours -------------------------------------------------------------------
class Uvicorn:
    """A uvicorn process serving ``app_spec``, with the settings our CLI uses (no access log...)."""

    def __init__(self, python: str, app_spec: str, app_dir: Path, cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self._log = open(log, "wb")
        self.process = subprocess.Popen(
            [
                python,
                "-m",
                "uvicorn",
                app_spec,
                "--app-dir",
                str(app_dir),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-server-header",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=str(cwd),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"{app_spec} exited:\n{log.read_text(errors='replace')}")
            try:
                httpx.get(self.base_url + "/docs", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"{app_spec} did not start:\n{log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_legacy(workdir: Path, runs: List[int], usages_per_thread: int) -> Uvicorn:
    """The 0.1.1 server on a fresh ./error.db holding a usage for every request wrk will make."""
    python = ensure_env("notebook-error-reporter-0.1.1-server", LEGACY_REQUIREMENTS)
    home = workdir / "legacy"
    home.mkdir()
    (home / "legacy_app.py").write_text(LEGACY_APP)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(
        [str(python), "-c", "import legacy_app"], cwd=home, env=env, check=True, stderr=subprocess.DEVNULL
    )  # creates the tables
    db = sqlite3.connect(home / "error.db")
    with db:
        db.executemany(
            "INSERT INTO usages (uuid, ip, notebook) VALUES (?, '127.0.0.1', 'bench-0.1.1')",
            (
                (f"{run:08x}{thread:08x}{n:016x}",)
                for run in runs
                for thread in range(1, THREADS + 1)
                for n in range(1, usages_per_thread + 1)
            ),
        )
    db.close()
    return Uvicorn(str(python), "legacy_app:app", home, home, workdir / "legacy.log")


def legacy_stored(workdir: Path) -> int:
    with contextlib.closing(sqlite3.connect(workdir / "legacy" / "error.db")) as db:
        return int(db.execute("SELECT count(*) FROM errors").fetchone()[0])


def stored(base_url: str) -> int:
    """Reports our server holds for the bench's notebooks (the kind mix's and the crowd's), through
    its own API."""
    answer = httpx.get(
        base_url + "/api/v1/notebooks", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
    )
    answer.raise_for_status()
    return sum(n["event_count"] for n in answer.json() if n["name"].startswith(NOTEBOOK))


# -- memory ------------------------------------------------------------------------------------------
def resident_mb(pid: int) -> float:
    """The process's resident memory (``VmRSS`` of ``/proc/<pid>/status``) in MB; 0 without /proc."""
    try:
        for text in Path(f"/proc/{pid}/status").read_text().splitlines():
            if text.startswith("VmRSS:"):
                return int(text.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass(frozen=True)
class Memory:
    """A server's resident memory: idle after start, once a second under the crowd, and after it."""

    idle_mb: float
    seconds: float  # of the crowd
    during_mb: List[float]
    after_mb: float

    @property
    def peak_mb(self) -> float:
        return max(self.during_mb, default=0.0)

    @property
    def growth_mb(self) -> float:
        """Growth over the second half of the crowd run: about 0 when every per-key structure is
        bounded (the first half fills the bounded caches)."""
        if len(self.during_mb) < 2:
            return 0.0
        return self.during_mb[-1] - self.during_mb[len(self.during_mb) // 2]


def crowd_memory(wrk: Wrk, target: Target, seconds: float) -> Tuple[Memory, Load]:
    """``seconds`` of the crowd's single reports against ``target``, its memory sampled each second."""
    samples: List[float] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(resident_mb(target.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        load = wrk(target.base_url, "crowd", seconds)
    finally:
        stop.set()
        sampler.join()
    time.sleep(2.0)  # the limiter's clean-up and the writer settle
    return Memory(target.idle_mb, seconds, samples, resident_mb(target.pid)), load


def memory_line(memory: Memory) -> str:
    return (
        f"   resident memory: idle after start {memory.idle_mb:.0f} MB; crowd {memory.seconds:g} s:"
        f" peak {memory.peak_mb:.0f} MB, {memory.growth_mb:+.1f} MB over its second half;"
        f" after {memory.after_mb:.0f} MB"
    )


# -- databases ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def postgres_server(given: Optional[str]) -> Iterator[Optional[str]]:
    """The URL of a PostgreSQL server: the one given, or a throw-away one (``scripts/postgres``)."""
    if given:
        yield given
        return
    parent = Path(tempfile.mkdtemp(prefix="ner-bench-pg-"))  # readable: PostgreSQL runs as its own user
    parent.chmod(0o755)
    directory = parent / "pg"
    script = str(ROOT / "scripts" / "postgres")
    url = subprocess.run([script, "start", str(directory)], capture_output=True, text=True, check=True)
    try:
        yield url.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([script, "stop", str(directory)], check=False)
        shutil.rmtree(parent, ignore_errors=True)


@contextlib.contextmanager
def empty_database(workdir: Path, kind: str, postgres_url: Optional[str]) -> Iterator[str]:
    if kind == "sqlite":
        path = workdir / f"ingest-{time.monotonic_ns()}.db"
        yield f"sqlite:///{path}"
        return
    os.environ[VARIABLE] = postgres_url or ""
    try:
        with fresh_database(workdir) as url:  # a schema of its own on that server
            yield url
    finally:
        os.environ.pop(VARIABLE, None)


# -- measuring ---------------------------------------------------------------------------------------
def line(label: str, load: Load, per_request: int = 1) -> str:
    reports = load.rate * per_request
    return (
        f"   {label:44s} {load.rate:9,.0f} req/s {reports:10,.0f} reports/s"
        f"   p50 {load.p50_ms:7.1f} ms  p99 {load.p99_ms:7.1f} ms   failed {load.failed}"
    )


def combined(loads: List[Load]) -> Load:
    """The rounds of one figure as one: requests and seconds summed (the rate over all rounds), p50
    the median of the rounds' p50s, p99 the worst round's (percentiles do not add up)."""
    return Load(
        requests=sum(x.requests for x in loads),
        seconds=sum(x.seconds for x in loads),
        failed=sum(x.failed for x in loads),
        p50_ms=statistics.median(x.p50_ms for x in loads),
        p99_ms=max(x.p99_ms for x in loads),
    )


@dataclass
class Target:
    """One server under load and every wrk run made against it, warm-ups included."""

    name: str
    base_url: str
    modes: Tuple[str, ...]  # of MODES: "many" is single over MANY_CONNECTIONS
    runs: Dict[str, List[Load]] = field(default_factory=dict)
    warmups: List[Tuple[str, Load]] = field(default_factory=list)
    legacy_runs: List[int] = field(default_factory=list)  # 0.1.1: the wrk run numbers its usages have
    legacy_usages: int = 0  # 0.1.1: usages per wrk thread and run
    pid: int = 0  # our servers: the server process, whose memory is measured
    idle_mb: float = 0.0  # our servers: resident memory idle after start

    def load(self, wrk: Wrk, mode: str, seconds: float, *, warm: bool = False) -> Load:
        kwargs: Dict[str, int] = {}
        if mode == "legacy":
            kwargs = {"run": self.legacy_runs.pop(0), "usages_per_thread": self.legacy_usages}
        if mode == "many":
            kwargs = {"connections": MANY_CONNECTIONS}
        result = wrk(self.base_url, "single" if mode == "many" else mode, seconds, **kwargs)
        if warm:
            self.warmups.append((mode, result))
        else:
            self.runs.setdefault(mode, []).append(result)
        return result

    def figure(self, mode: str) -> Load:
        return combined(self.runs[mode])

    def acknowledged_reports(self) -> int:
        every = self.warmups + [(mode, x) for mode, loads in self.runs.items() for x in loads]
        return sum(x.acknowledged * reports_per_request(mode) for mode, x in every)

    def in_flight(self, connections: int) -> int:
        """Reports that may be stored although wrk stopped before their answers came."""
        every = self.warmups + [(mode, x) for mode, loads in self.runs.items() for x in loads]
        return sum(
            MANY_CONNECTIONS if mode == "many" else connections * reports_per_request(mode)
            for mode, _ in every
        )


def reports_per_request(mode: str) -> int:
    return BATCH if mode in BATCH_MODES else 1


def run_seconds(seconds: float, rounds: int) -> int:
    """One run's length: whole seconds, as wrk's ``-d`` takes them."""
    return max(1, round(seconds / rounds))


def measure(wrk: Wrk, targets: List[Target], rounds: int, seconds: float, warm: float) -> None:
    """Warm every target, then ``rounds`` rounds of one run per target and mode, in turn.

    The machines here are shared and their speed drifts by tens of per cent within minutes; taking
    turns in short runs gives every server the same mix of fast and slow moments, so the ratios
    compare like with like (one long run each, one after the other, did not).
    """
    for target in targets:
        for mode in target.modes:
            target.load(wrk, mode, warm, warm=True)
    per_run = run_seconds(seconds, rounds)
    for number in range(1, rounds + 1):
        print(f"   round {number}/{rounds}:", end="", flush=True)
        for mode in MODES:
            for target in targets:
                if mode in target.modes:
                    result = target.load(wrk, mode, per_run)
                    print(f" {target.name} {mode} {result.rate:,.0f}/s", end=";", flush=True)
        print()


def check_stored(target: Target, held: int, connections: int) -> None:
    """Every acknowledged report must be stored (a few more may be: answers wrk never read)."""
    acknowledged, in_flight = target.acknowledged_reports(), target.in_flight(connections)
    verdict = "ok" if acknowledged <= held <= acknowledged + in_flight else "WRONG"
    print(
        f"   {target.name}: stored {held:,} reports for {acknowledged:,} acknowledged"
        f" (+ up to {in_flight:,} in flight): {verdict}"
    )
    if verdict != "ok":
        raise SystemExit(f"{target.name}: stored {held} reports, acknowledged {acknowledged}")


@contextlib.contextmanager
def our_server(workdir: Path, kind: str, postgres_url: Optional[str], workers: int = 1) -> Iterator[Target]:
    """Our server on an empty database; with ``workers`` > 1 (SQLite), for batches only.

    The schema is made first, as ``notebook-error-server migrate`` does in a deployment, so the
    server starts as it usually does: on a database at the newest revision (a first start also
    imports the migration tool, about 10 MB more)."""
    name = kind if workers == 1 else f"{kind}-{workers}-workers"
    modes = ("crowd", "crowd-batch", "single", "many", "batch") if workers == 1 else ("batch",)
    with empty_database(workdir, kind, postgres_url) as url:
        create_db(url)
        server = start_server(
            workdir / f"ours-{name}", database_url=url, admin_token=TOKEN, workers=workers, **LIFTED
        )
        try:
            time.sleep(1.0)  # started: imports done, nothing served yet but the readiness probes
            pid = server.process.pid
            yield Target(name, server.base_url, modes, pid=pid, idle_mb=resident_mb(pid))
        finally:
            server.stop()


@contextlib.contextmanager
def trivial_server(workdir: Path) -> Iterator[Target]:
    server = Uvicorn(sys.executable, "trivial_app:app", ROOT / "bench", workdir, workdir / "trivial.log")
    try:
        yield Target("trivial", server.base_url, ("crowd", "crowd-batch", "single", "many", "batch"))
    finally:
        server.stop()


@contextlib.contextmanager
def legacy_server(workdir: Path, wrk: Wrk, rounds: int, usages: int) -> Iterator[Optional[Target]]:
    """The 0.1.1 server with ``usages`` per wrk thread for a warm-up and ``rounds`` runs, or None if
    it cannot be had."""
    runs = [wrk.next_run() for _ in range(rounds + 1)]
    try:
        server = start_legacy(workdir, runs, usages)
    except (subprocess.CalledProcessError, SystemExit) as problem:  # no registry: say so and go on
        print(f"   0.1.1 server unavailable: {problem}")
        yield None
        return
    try:
        yield Target("0.1.1", server.base_url, ("legacy",), legacy_runs=runs, legacy_usages=usages)
    finally:
        server.stop()


def top_issues(workdir: Path, events: int, requests: int) -> Dict[str, float]:
    """Median and p95 ms of the top-issues listing over ``events`` stored reports, and of /healthz."""
    from dashboard_render import BIG, fill

    path = workdir / "million.db"
    url = f"sqlite:///{path}"
    create_db(url)
    made = fill(path, events, issues=300, sessions=20_000, days=90, seed=4)
    print(
        f"   filled {events:,} reports over 300 issues in {made['seconds']:.0f} s"
        f" ({made['bytes'] / 1e6:.0f} MB)"
    )
    server = start_server(workdir / "query", database_url=url, admin_token=TOKEN, **LIFTED)
    figures: Dict[str, float] = {}
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        paths = {
            "healthz": "/healthz",
            "by count": f"/api/v1/issues?notebook={BIG}&sort=count&limit=50",
            "by last seen": f"/api/v1/issues?notebook={BIG}&status=open&limit=50",
        }
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            for label, path in paths.items():
                client.get(path).raise_for_status()  # warm: the file's pages in the cache
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append((time.perf_counter() - started) * 1e3)
                ordered = sorted(times)
                figures[f"{label} median"] = statistics.median(times)
                figures[f"{label} p95"] = ordered[int(round(0.95 * (len(ordered) - 1)))]
    finally:
        server.stop()
    return figures


def crowd_figures(figures: Figures, name: str, target: Target, base: Dict[str, Load], memory: Memory) -> None:
    """The headline: the crowd's rates against the trivial endpoints', and the server's memory."""
    single, batch = target.figure("crowd"), target.figure("crowd-batch")
    vs_trivial = single.rate / base["crowd"].rate
    print(
        f"   {name}, the crowd: single reports at {vs_trivial:.2f} of the trivial endpoint (goal >= 0.6);"
        f" batches {batch.rate * BATCH:,.0f} reports/s (goal >= 20,000/s); memory idle"
        f" {memory.idle_mb:.0f} MB (goal < 100), peak {memory.peak_mb:.0f} MB (goal < 200),"
        f" {memory.growth_mb:+.1f} MB over the second half (goal: flat)"
    )
    figures.add(
        f"ingest, crowd, one report per request, {name}",
        f"{single.rate:,.0f} req/s",
        f"trivial FastAPI endpoint {base['crowd'].rate:,.0f} req/s",
        ratio(single.rate, base["crowd"].rate),
        ">= 0.6×",
    )
    figures.add(
        f"ingest latency, crowd, one report, {name} (p50 / p99)",
        f"{single.p50_ms:.1f} / {single.p99_ms:.1f} ms",
        f"trivial {base['crowd'].p50_ms:.1f} / {base['crowd'].p99_ms:.1f} ms",
    )
    figures.add(
        f"ingest, crowd, batches of {BATCH}, {name}",
        f"{batch.rate * BATCH:,.0f} reports/s",
        f"trivial batch endpoint {base['crowd-batch'].rate * BATCH:,.0f} reports/s",
        ratio(batch.rate, base["crowd-batch"].rate),
        ">= 20,000/s",
    )
    figures.add(f"server memory idle after start, {name}", f"{memory.idle_mb:.0f} MB", goal="< 100 MB")
    figures.add(
        f"server memory during / after {memory.seconds:g} s of the crowd, {name}",
        f"peak {memory.peak_mb:.0f} MB, {memory.growth_mb:+.1f} MB over the second half;"
        f" after {memory.after_mb:.0f} MB",
        goal="< 200 MB, flat",
    )


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: start one)")
    parser.add_argument(
        "--seconds",
        type=float,
        help="measured seconds per server and mode, all rounds together (default 12, quick 4)",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns the servers take; each run is seconds / rounds long"
    )
    parser.add_argument(
        "--events", type=int, help="reports stored for the query (default 1,000,000; quick 100,000)"
    )
    parser.add_argument(
        "--memory-seconds",
        type=float,
        help="the crowd run during which our servers' memory is sampled (default 60, quick 10)",
    )
    parser.add_argument("--quick", action="store_true", help="shorter runs, a smaller query database")
    add_json_argument(parser)
    args = parser.parse_args()
    seconds = args.seconds or (4.0 if args.quick else 12.0)
    warm = 1.0 if args.quick else 2.0
    memory_seconds = args.memory_seconds or (10.0 if args.quick else 60.0)
    events = args.events or (100_000 if args.quick else 1_000_000)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    wrk = Wrk(ensure_wrk(), args.connections, seconds)
    figures = Figures()

    with tempfile.TemporaryDirectory(prefix="ner-ingest-bench-") as temp:
        workdir = Path(temp)
        per_run = run_seconds(seconds, args.rounds)
        print(
            f"wrk: {THREADS} threads, {args.connections} connections; every server warmed for {warm:g} s,"
            f" then {args.rounds} rounds of {per_run} s runs, the servers taking turns;"
            f" one uvicorn worker per server; batches of {BATCH}"
        )
        print("servers: the trivial FastAPI endpoints (parse the body, store nothing), the 0.1.1 server")
        print(f"(SQLite, POST /errors/<uuid>/), ours on {' and '.join(kinds)}")
        usages = int(3000 * (per_run + warm))  # far more than 0.1.1 gets through a run
        need_pg = "postgresql" in kinds
        with contextlib.ExitStack() as stack:
            pg_url = stack.enter_context(postgres_server(args.database_url)) if need_pg else None
            trivial = stack.enter_context(trivial_server(workdir))
            legacy = stack.enter_context(legacy_server(workdir, wrk, args.rounds, usages))
            ours = {
                kind: stack.enter_context(our_server(workdir, kind, pg_url if kind == "postgresql" else None))
                for kind in kinds
            }
            # Batches on SQLite again with WORKERS processes: they take turns to write (core/process_lock.py).
            workers = (
                stack.enter_context(our_server(workdir, "sqlite", None, workers=WORKERS))
                if "sqlite" in kinds
                else None
            )
            targets = (
                [trivial]
                + ([legacy] if legacy else [])
                + list(ours.values())
                + ([workers] if workers else [])
            )
            measure(wrk, targets, args.rounds, seconds, warm)
            memory: Dict[str, Memory] = {}
            for kind, target in ours.items():
                memory[kind], flood = crowd_memory(wrk, target, memory_seconds)
                target.warmups.append(("crowd", flood))
            time.sleep(0.5)  # requests in flight when wrk stopped
            for target in list(ours.values()) + ([workers] if workers else []):
                check_stored(target, stored(target.base_url), wrk.connections)
            if legacy is not None:
                held = legacy_stored(workdir)
                print(f"   0.1.1 stored {held:,} errors for {legacy.acknowledged_reports():,} acknowledged")

        print("\n1. trivial FastAPI endpoints (parse the body, store nothing)")
        print(line("crowd: POST /api/v1/events (one report)", trivial.figure("crowd")))
        print(line(f"crowd: POST /api/v1/events/batch ({BATCH})", trivial.figure("crowd-batch"), BATCH))
        print(line("POST /api/v1/events (one report)", trivial.figure("single")))
        print(line(f"the same, {MANY_CONNECTIONS} connections", trivial.figure("many")))
        print(line(f"POST /api/v1/events/batch ({BATCH} reports)", trivial.figure("batch"), BATCH))
        print("\n2. the 0.1.1 server (SQLite), POST /errors/<uuid>/")
        if legacy is not None:
            print(line("POST /errors/<uuid>/ (one report)", legacy.figure("legacy")))
        for number, (kind, target) in enumerate(ours.items(), start=3):
            print(f"\n{number}. our server on {'SQLite (WAL)' if kind == 'sqlite' else 'PostgreSQL'}")
            print(line("crowd: POST /api/v1/events (one report)", target.figure("crowd")))
            print(line(f"crowd: POST /api/v1/events/batch ({BATCH})", target.figure("crowd-batch"), BATCH))
            print(line("POST /api/v1/events (one report)", target.figure("single")))
            print(line(f"the same, {MANY_CONNECTIONS} connections", target.figure("many")))
            print(line(f"POST /api/v1/events/batch ({BATCH} reports)", target.figure("batch"), BATCH))
            print(memory_line(memory[kind]))

        if workers is not None:
            print(f"\n{len(kinds) + 3}. our server on SQLite (WAL), {WORKERS} worker processes")
            print(line(f"POST /api/v1/events/batch ({BATCH} reports)", workers.figure("batch"), BATCH))
        query: Dict[str, float] = {}
        if "sqlite" in kinds:
            print(f"\n{len(kinds) + 4}. top issues of a notebook with {events:,} reports (SQLite)")
            query = top_issues(workdir, events, 20 if args.quick else 50)
            for label in ("healthz", "by count", "by last seen"):
                print(
                    f"   GET {label:14s} median {query[label + ' median']:6.1f} ms"
                    f"   p95 {query[label + ' p95']:6.1f} ms"
                )

    base = {mode: trivial.figure(mode) for mode in trivial.modes}
    legacy_load = legacy.figure("legacy") if legacy is not None else None
    print("\nsummary (ratios within this run):")
    for kind, target in ours.items():
        name = "SQLite" if kind == "sqlite" else "PostgreSQL"
        crowd_figures(figures, name, target, base, memory[kind])
        single, batch = target.figure("single"), target.figure("batch")
        vs_trivial = single.rate / base["single"].rate
        vs_legacy = ""
        if legacy_load is not None:
            vs_legacy = f", {single.rate / legacy_load.rate:.1f}x the 0.1.1 server (goal >= 3x)"
        print(
            f"   {name}, the kind mix: single reports at {vs_trivial:.2f} of the trivial endpoint"
            + vs_legacy
            + f"; batches {batch.rate * BATCH:,.0f} reports/s = {batch.rate / base['batch'].rate:.2f}"
            " of the trivial batch endpoint" + (" (goal >= 20,000/s)" if kind == "sqlite" else "")
        )
        figures.add(
            f"ingest, one report per request, {name}, kind mix",
            f"{single.rate:,.0f} req/s",
            f"trivial FastAPI endpoint {base['single'].rate:,.0f} req/s",
            ratio(single.rate, base["single"].rate),
        )
        if legacy_load is not None:
            figures.add(
                f"ingest, one report per request, {name}, against 0.1.1",
                f"{single.rate:,.0f} req/s",
                f"0.1.1 server POST /errors/ {legacy_load.rate:,.0f} req/s",
                ratio(single.rate, legacy_load.rate, 1),
                ">= 3×",
            )
        figures.add(
            f"ingest latency, one report, {name} (p50 / p99)",
            f"{single.p50_ms:.1f} / {single.p99_ms:.1f} ms",
            f"trivial {base['single'].p50_ms:.1f} / {base['single'].p99_ms:.1f} ms",
        )
        many = target.figure("many")
        figures.add(
            f"ingest, one report per request, {name}, {MANY_CONNECTIONS} connections",
            f"{many.rate:,.0f} req/s",
            f"trivial FastAPI endpoint {base['many'].rate:,.0f} req/s",
            ratio(many.rate, base["many"].rate),
        )
        figures.add(
            f"ingest, batches of {BATCH}, {name}, kind mix",
            f"{batch.rate * BATCH:,.0f} reports/s",
            f"trivial batch endpoint {base['batch'].rate * BATCH:,.0f} reports/s",
            ratio(batch.rate, base["batch"].rate),
        )
        figures.add(
            f"ingest latency, batch of {BATCH}, {name} (p50 / p99)",
            f"{batch.p50_ms:.1f} / {batch.p99_ms:.1f} ms",
            f"trivial {base['batch'].p50_ms:.1f} / {base['batch'].p99_ms:.1f} ms",
        )
    if workers is not None:
        many_workers, one_worker = workers.figure("batch"), ours["sqlite"].figure("batch")
        print(
            f"   SQLite, {WORKERS} worker processes: batches {many_workers.rate * BATCH:,.0f} reports/s ="
            f" {many_workers.rate / one_worker.rate:.2f} of one worker's (goal >= 20,000/s)"
        )
        figures.add(
            f"ingest, batches of {BATCH}, SQLite, {WORKERS} worker processes",
            f"{many_workers.rate * BATCH:,.0f} reports/s",
            f"one worker process {one_worker.rate * BATCH:,.0f} reports/s",
            ratio(many_workers.rate, one_worker.rate),
            ">= 20,000/s",
        )
        figures.add(
            f"ingest latency, batch of {BATCH}, SQLite, {WORKERS} worker processes (p50 / p99)",
            f"{many_workers.p50_ms:.1f} / {many_workers.p99_ms:.1f} ms",
            f"one worker process {one_worker.p50_ms:.1f} / {one_worker.p99_ms:.1f} ms",
        )
    if query:
        worst = max(query["by count p95"], query["by last seen p95"])
        print(
            f"   top issues at {events:,} reports: worst p95 {worst:.1f} ms (goal < 50 ms)"
            f" against /healthz {query['healthz median']:.1f} ms"
        )
        figures.add(
            f"top issues of a notebook with {events:,} reports, SQLite (median / p95)",
            f"{query['by count median']:.1f} / {query['by count p95']:.1f} ms",
            f"GET /healthz {query['healthz median']:.1f} ms",
            ratio(query["by count median"], query["healthz median"], 1),
            "< 50 ms",
        )
    figures.write(args.json)


if __name__ == "__main__":
    main()
