"""Ingest and reads as the database grows: 0, 1,000,000 and 10,000,000 stored reports.

One database per kind (SQLite, PostgreSQL) grows in steps to each size of ``--sizes``: the reports
are written in bulk by ``bench/_fill.py`` (a crowd of strangers: sessions of about 10 reports, 8
notebooks, 300 issues each, 90 days, every counter matching the rows; the search index filled for
new issues as migration 0004 does), never refilled from scratch. At each size our server (uvicorn,
one worker, the settings of ``bench/server_ingest.py``) is started on that database and measured:

1. ingest: ``wrk`` with ``bench/ingest_load.lua``, the crowd's single reports and its batches of
   100, in short runs taking turns with a second server on an empty database (the baseline: the
   drift of a shared machine's speed falls on both alike);
2. reads: the top issues of a notebook (``GET /api/v1/issues``, by count) and the dashboard's issues
   page (signed in), median and p95 over ``--requests`` requests each, for the crowd's own notebook
   (the one wrk fills, the same size at every step) and for the biggest filled notebook;
3. the database's size on disk per million stored reports, split into data and indexes (SQLite: the
   ``dbstat`` table; PostgreSQL: ``pg_relation_size`` and ``pg_indexes_size`` of the tables).

Reads are compared with the figures at the first size (0). Goals (issue 29): ingest at most 1.5x
slower than on the empty database; top issues < 50 ms, the issues page < 200 ms (p95).

    .venv/bin/python bench/database_growth.py [--sizes 0,1000000,10000000]
        [--database sqlite|postgresql|both] [--seconds S] [--rounds N] [--requests N] [--quick] [--json PATH]

``--quick``: sizes 0 and 100,000, shorter runs (a smoke run). PostgreSQL's default sizes stop at
1,000,000.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import httpx
from _figures import Figures, add_json_argument, ratio
from _fill import Crowd, grow
from dashboard_render import index_for_search, measure, p95, sign_in
from server_ingest import (
    BATCH,
    LIFTED,
    TOKEN,
    Load,
    Wrk,
    combined,
    empty_database,
    ensure_wrk,
    postgres_server,
)
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

from serverside.live_server import start_server  # noqa: E402

from notebook_error_reporter.serverside import create_db  # noqa: E402

CROWD = Crowd(tuple(f"growth-{k}" for k in range(1, 9)), issues=300, reports_per_session=10, days=90, seed=29)
BIGGEST = CROWD.notebooks[0]
CROWD_NOTEBOOK = "ingest-bench-crowd-0"  # one of the notebooks wrk's crowd reports to
SIZES = {"sqlite": (0, 1_000_000, 10_000_000), "postgresql": (0, 1_000_000)}
QUICK_SIZES = (0, 100_000)
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
INGEST_GOAL = 1.5  # at most this many times slower than at 0 reports
TOP_GOAL_MS = 50.0
PAGE_GOAL_MS = 200.0
MODES = ("crowd", "crowd-batch")


@dataclass(frozen=True)
class Disk:
    """The database's size on disk, and how much of it is tables and how much indexes."""

    total: int
    data: int
    indexes: int


@dataclass
class Step:
    """Everything measured at one size."""

    size: int
    stored: int = 0  # reports stored when measured (the size and what wrk added before)
    fill_seconds: float = 0.0
    ingest: Dict[str, Load] = field(default_factory=dict)  # "crowd", "crowd-batch"
    empty: Dict[str, Load] = field(default_factory=dict)  # the same, on an empty database, in turns
    reads: Dict[str, List[float]] = field(default_factory=dict)  # label -> milliseconds
    disk: Optional[Disk] = None


def parse_sizes(value: str) -> Tuple[int, ...]:
    """``0,1000000`` (``_`` allowed within numbers): non-negative and increasing."""
    try:
        sizes = tuple(int(part.strip().replace("_", "")) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {value!r}") from None
    if not sizes or any(size < 0 for size in sizes) or list(sizes) != sorted(set(sizes)):
        raise argparse.ArgumentTypeError(f"sizes must be non-negative and increasing: {value!r}")
    return sizes


# -- the database ------------------------------------------------------------------------------------
def stored_reports(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM event")).scalar_one())
    finally:
        engine.dispose()


def sqlite_disk(path: Path) -> Disk:
    """File, WAL and shared memory; pages of tables and of indexes from ``dbstat``."""
    total = sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists())
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT s.name, m.type, SUM(s.pgsize) FROM dbstat AS s LEFT JOIN sqlite_master AS m"
            " ON m.name = s.name GROUP BY s.name"
        ).fetchall()
    indexes = sum(size for name, kind, size in rows if kind == "index" or name.startswith("sqlite_autoindex"))
    return Disk(total, total - indexes, indexes)


def postgres_disk(url: str) -> Disk:
    """The tables of the database's schema: with TOAST (data) and their indexes."""
    query = text(
        "SELECT COALESCE(SUM(pg_table_size(c.oid)), 0), COALESCE(SUM(pg_indexes_size(c.oid)), 0)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
    )
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            data, indexes = (int(x) for x in connection.execute(query).one())
    finally:
        engine.dispose()
    return Disk(data + indexes, data, indexes)


def disk_of(kind: str, url: str) -> Disk:
    return sqlite_disk(Path(url[len("sqlite:///") :])) if kind == "sqlite" else postgres_disk(url)


# -- measuring ---------------------------------------------------------------------------------------
def read_paths(has_filled: bool) -> List[Tuple[str, str]]:
    """(label, path) of the reads measured; the biggest filled notebook once it has reports."""
    books = [("crowd's notebook", CROWD_NOTEBOOK)] + ([("biggest notebook", BIGGEST)] if has_filled else [])
    paths = []
    for label, name in books:
        paths.append((f"top issues, {label}", f"/api/v1/issues?notebook={name}&sort=count&limit=50"))
        paths.append((f"issues page, {label}", f"/issues?notebook={name}"))
    return paths


@dataclass(frozen=True)
class Runs:
    """How long wrk loads each server: a warm-up, then ``rounds`` turns of ``seconds`` per mode."""

    warm: float
    seconds: float
    rounds: int


def ingest_in_turns(step: Step, grown_url: str, empty_url: str, workdir: Path, wrk: Wrk, runs: Runs) -> None:
    """Our server on the grown database and one on an empty database take turns under wrk, so
    that the drift of a shared machine's speed falls on both alike."""
    servers = {
        name: start_server(workdir / f"{name}-{step.size}", database_url=url, admin_token=TOKEN, **LIFTED)
        for name, url in (("grown", grown_url), ("empty", empty_url))
    }
    loads: Dict[Tuple[str, str], List[Load]] = {}
    try:
        for mode in MODES:
            for server in servers.values():
                wrk(server.base_url, mode, runs.warm)
        for _ in range(runs.rounds):
            for mode in MODES:
                for name, server in servers.items():
                    loads.setdefault((name, mode), []).append(wrk(server.base_url, mode, runs.seconds))
    finally:
        for server in servers.values():
            server.stop()
    step.ingest = {mode: combined(loads[("grown", mode)]) for mode in MODES}
    step.empty = {mode: combined(loads[("empty", mode)]) for mode in MODES}


def measure_step(
    step: Step, kind: str, url: str, pg_url: Optional[str], workdir: Path, wrk: Wrk, runs: Runs, requests: int
) -> None:
    """Ingest on the database (in turns with an empty one), then the reads."""
    with empty_database(workdir, kind, pg_url) as empty_url:
        create_db(empty_url)
        ingest_in_turns(step, url, empty_url, workdir, wrk, runs)
    server = start_server(workdir / f"reads-{step.size}", database_url=url, admin_token=TOKEN, **LIFTED)
    try:
        with httpx.Client(base_url=server.base_url, timeout=60, follow_redirects=True) as client:
            sign_in(client)
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            for label, path in read_paths(step.size > 0):
                step.reads[label] = measure(client, path, requests)
    finally:
        server.stop()


def grow_and_measure(
    kind: str,
    url: str,
    pg_url: Optional[str],
    sizes: Sequence[int],
    workdir: Path,
    wrk: Wrk,
    runs: Runs,
    requests: int,
) -> List[Step]:
    create_db(url)
    steps = []
    for size in sizes:
        step = Step(size)
        missing = size - stored_reports(url)
        if missing > 0:
            grown = grow(url, missing, CROWD)
            indexed, search_seconds = index_for_search(url)
            step.fill_seconds = grown.seconds + search_seconds
            print(
                f"   {NAMES[kind]}: grew to {size:,} reports in {step.fill_seconds:.1f} s ({missing:,} added:"
                f" {grown.sessions:,} sessions, {grown.issue_sessions:,} issue-session pairs;"
                f" {indexed} new issues indexed for search)",
                flush=True,
            )
        step.stored = stored_reports(url)
        measure_step(step, kind, url, pg_url, workdir, wrk, runs, requests)
        step.disk = disk_of(kind, url)
        print("   " + step_line(step), flush=True)
        steps.append(step)
    return steps


# -- reporting ---------------------------------------------------------------------------------------
def mb(size: float) -> str:
    return f"{size / 1e6:,.0f} MB"


def per_million(disk: Disk, stored: int) -> str:
    if not stored:
        return "—"
    scale = 1e6 / stored
    return (
        f"{mb(disk.total * scale)} per million reports (data {mb(disk.data * scale)},"
        f" indexes {mb(disk.indexes * scale)}, {disk.indexes / max(disk.data, 1):.2f}× the data)"
    )


def step_line(step: Step) -> str:
    single, batch = step.ingest["crowd"], step.ingest["crowd-batch"]
    empty_single, empty_batch = step.empty["crowd"], step.empty["crowd-batch"]
    reads = "; ".join(
        f"{label} {statistics.median(times):.1f}/{p95(times):.1f} ms" for label, times in step.reads.items()
    )
    disk = step.disk
    size = f"{mb(disk.total)} on disk" if disk else ""
    return (
        f"{step.stored:,} stored: crowd {single.rate:,.0f} req/s (empty database, in turns:"
        f" {empty_single.rate:,.0f}), batches {batch.rate * BATCH:,.0f} reports/s"
        f" ({empty_batch.rate * BATCH:,.0f}); {reads} (median/p95); {size}"
    )


def print_table(name: str, steps: Sequence[Step]) -> None:
    print(
        f"\n{name}: figures at each size; ingest as a ratio to an empty database's in the same turns,"
        f" reads as median / p95"
    )
    labels = ["crowd single (req/s)", f"crowd batches of {BATCH} (reports/s)"] + [
        f"{label} median / p95 (ms)" for label in steps[-1].reads
    ]
    print(f"{'':48}" + "".join(f"{step.size:>22,}" for step in steps))
    for number, label in enumerate(labels):
        cells = []
        for step in steps:
            if number < 2:
                mode, per = MODES[number], (1, BATCH)[number]
                value = step.ingest[mode].rate * per
                cells.append(f"{value:,.0f} ({step.ingest[mode].rate / step.empty[mode].rate:.2f}×)")
            else:
                read = label[: -len(" median / p95 (ms)")]
                times = step.reads.get(read)
                cells.append(f"{statistics.median(times):.1f} / {p95(times):.1f}" if times else "—")
        print(f"{label:48}" + "".join(f"{cell:>22}" for cell in cells))
    for step in steps:
        if step.disk and step.stored:
            print(
                f"   at {step.stored:,} stored: {mb(step.disk.total)}, {per_million(step.disk, step.stored)}"
            )
    filled = [step for step in steps if step.fill_seconds]
    if filled:
        print("   fill: " + ", ".join(f"to {s.size:,} in {s.fill_seconds:.0f} s" for s in filled))


def verdicts(name: str, steps: Sequence[Step], figures: Figures) -> None:
    """The figures of every size after the first against the first's, and the goals."""
    base = steps[0]
    for step in steps[1:]:
        at = f"{name}, {step.size:,} reports"
        for mode, label, per in (
            ("crowd", "one report per request", 1),
            ("crowd-batch", f"batches of {BATCH}", BATCH),
        ):
            now, then = step.ingest[mode].rate * per, step.empty[mode].rate * per
            unit = "req/s" if per == 1 else "reports/s"
            slower = then / now if now else float("inf")
            verdict = "met" if slower <= INGEST_GOAL else "NOT met"
            print(
                f"   {at}: ingest, crowd, {label}: {slower:.2f}× slower than an empty database in the"
                f" same turns (goal <= {INGEST_GOAL}×): {verdict}"
            )
            figures.add(
                f"database growth: ingest, crowd, {label}, {at}",
                f"{now:,.0f} {unit}",
                f"empty database, same turns: {then:,.0f} {unit}",
                ratio(now, then),
                ">= 0.67× (at most 1.5× slower)",
            )
        for label, times in step.reads.items():
            goal = TOP_GOAL_MS if label.startswith("top issues") else PAGE_GOAL_MS
            verdict = "met" if p95(times) < goal else "NOT met"
            print(f"   {at}: {label} p95 {p95(times):.1f} ms (goal < {goal:.0f} ms): {verdict}")
            first = base.reads.get(label)
            figures.add(
                f"database growth: {label}, {at} (median / p95)",
                f"{statistics.median(times):.1f} / {p95(times):.1f} ms",
                f"at {base.size:,} reports {statistics.median(first):.1f} ms" if first else "",
                ratio(statistics.median(times), statistics.median(first)) if first else "",
                f"< {goal:.0f} ms",
            )
    last = steps[-1]
    if last.disk and last.stored:
        figures.add(
            f"database size on disk, {name}, {last.stored:,} reports", per_million(last.disk, last.stored)
        )
    filled = [step for step in steps if step.fill_seconds]
    if filled:
        figures.add(
            f"database growth: bulk fill, {name}",
            ", ".join(f"to {s.size:,} reports in {s.fill_seconds:.0f} s" for s in filled),
        )


# -- main --------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="stored reports to measure at, increasing (default 0,1000000,10000000; PostgreSQL 0,1000000)",
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--database-url", help="a PostgreSQL server to use (default: start one)")
    parser.add_argument("--seconds", type=float, help="each wrk run (default 3, quick 1)")
    parser.add_argument("--rounds", type=int, help="turns of the two servers (default 3, quick 2)")
    parser.add_argument("--requests", type=int, help="requests per read (default 30, quick 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="sizes 0 and 100,000, shorter runs")
    add_json_argument(parser)
    args = parser.parse_args()
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    runs = Runs(warm=1.0, seconds=seconds, rounds=args.rounds or (2 if args.quick else 3))
    requests = args.requests or (10 if args.quick else 30)
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    wrk = Wrk(ensure_wrk(), args.connections, seconds)
    figures = Figures()
    print(
        f"wrk: {args.connections} connections, {runs.rounds} turns of {seconds:g} s per run after"
        f" {runs.warm:g} s of warm-up, a server on the grown database and one on an empty database;"
        f" {requests} requests per read; one uvicorn worker"
    )
    with tempfile.TemporaryDirectory(prefix="ner-growth-bench-") as temp:
        workdir = Path(temp)
        with contextlib.ExitStack() as stack:
            pg_url = (
                stack.enter_context(postgres_server(args.database_url)) if "postgresql" in kinds else None
            )
            for kind in kinds:
                sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES[kind])
                print(f"\n{NAMES[kind]}: sizes {', '.join(f'{s:,}' for s in sizes)}", flush=True)
                with empty_database(workdir, kind, pg_url) as url:
                    steps = grow_and_measure(kind, url, pg_url, sizes, workdir, wrk, runs, requests)
                print_table(NAMES[kind], steps)
                verdicts(NAMES[kind], steps, figures)
    figures.write(args.json)


if __name__ == "__main__":
    main()
