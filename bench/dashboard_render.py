"""How long the dashboard's pages take over a notebook with 1,000,000 stored reports.

Prints, in one run (figures only, no asserts):

1. how the SQLite database was filled: the schema made by the server's own migrations, then rows
   written in bulk by ``bench/_fill.py``, consistent with what ingest would have stored:
   notebooks, sessions, issues (a Zipf-like spread of reports over them), daily counts, the
   issue-session pairs and the events themselves, with every counter matching the rows;
2. per page, the median and 95th percentile of the time to the last byte, through a real uvicorn
   server (``tests/serverside/live_server.py``) signed in through the real sign-in form, and the
   median minus that of ``GET /healthz`` measured in the same run (HTTP and process overhead).

3. the issues search (``q=``): its index is filled for the stored issues by the server's own code
   (``search_index.index_unindexed``, as migration 0004 does), then searched through the page with a
   word every issue holds, a rare one, several words and a two-letter one (no trigram: a scan of
   the index rows). The search reads one row per issue, never the reports: ``--issues`` is the size
   that matters for it.

Goal (issue 6): the issues page of the notebook with a million reports in under 200 ms; the same
for a search (issue 27).
``--quick`` stores 100,000 reports and makes 10 requests per page (a smoke run; ``--events`` and
``--requests`` still win); ``--json PATH`` also writes the headline figures there for ``bench/run_all.py``.

    .venv/bin/python bench/dashboard_render.py [--quick] [--events 1000000] [--issues 300] [--requests 40]
        [--json PATH]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import httpx
from _figures import Figures, add_json_argument, ratio
from _fill import Crowd, grow_sqlite

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

from serverside.live_server import start_server  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from notebook_error_reporter.serverside import create_db  # noqa: E402
from notebook_error_reporter.serverside.search_index import index_unindexed  # noqa: E402

BIG = "million"
SMALL = "small-notebook"
TOKEN = "bench-admin-token-0123456789abcdef"


def fill(path: Path, events: int, issues: int, sessions: int, days: int, seed: int) -> Dict[str, float]:
    """The big notebook's reports and the small one's (``_fill.py``); what was made, how long it took."""
    started = time.perf_counter()
    per_session = max(1, events // sessions)
    big = grow_sqlite(path, events, Crowd((BIG,), issues, per_session, days, seed))
    small = grow_sqlite(path, 50, Crowd((SMALL,), 1, 50, 1, seed))
    top = big.top_issue
    return {
        "seconds": time.perf_counter() - started,
        "sessions": big.sessions + small.sessions,
        "issue_days": big.issue_days + small.issue_days,
        "issue_sessions": big.issue_sessions + small.issue_sessions,
        "top_issue": top,
        "top_issue_events": big.per_issue[top],
        "bytes": path.stat().st_size,
    }


def index_for_search(url: str) -> Tuple[int, float]:
    """Fill the search index as migration 0004 does for stored issues; (issues indexed, seconds)."""
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            indexed = index_unindexed(connection)
    finally:
        engine.dispose()
    return indexed, time.perf_counter() - started


def sign_in(client: httpx.Client) -> None:
    form = client.get("/signin")
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', form.text)
    assert csrf, "no CSRF field on the sign-in page"
    answer = client.post("/signin", data={"token": TOKEN, "csrf": csrf.group(1), "next": "/issues"})
    if answer.status_code != 200 or "Sign out" not in answer.text:
        raise SystemExit(f"sign-in failed: {answer.status_code}")


def p95(times: List[float]) -> float:
    """The 95th percentile, nearest rank (as the printed table has always computed it)."""
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure(client: httpx.Client, path: str, requests: int) -> List[float]:
    headers = {"Accept": "text/html"}
    client.get(path, headers=headers)  # warm (templates compiled, pages of the file in the cache)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100,000 reports, 10 requests per page")
    parser.add_argument("--events", type=int, default=None, help="reports stored (default 1,000,000)")
    parser.add_argument("--issues", type=int, default=300)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--requests", type=int, default=None, help="requests per page (default 40)")
    parser.add_argument("--seed", type=int, default=6)
    add_json_argument(parser)
    args = parser.parse_args()
    if args.events is None:
        args.events = 100_000 if args.quick else 1_000_000
    if args.requests is None:
        args.requests = 10 if args.quick else 40
    if args.quick:
        print(f"quick run: {args.events:,} reports, {args.requests} requests per page")
    figures = Figures()

    with tempfile.TemporaryDirectory(prefix="ner-dashboard-bench-") as workdir:
        path = Path(workdir) / "dashboard.db"
        url = f"sqlite:///{path}"
        create_db(url)
        made = fill(path, args.events, args.issues, args.sessions, args.days, args.seed)
        print(
            f"filled {path.name} in {made['seconds']:.1f} s: {args.events:,} reports in notebook {BIG!r} "
            f"({args.issues} issues, {made['sessions']:,} sessions, {made['issue_days']:,} issue-days, "
            f"{made['issue_sessions']:,} issue-session pairs; the biggest issue has "
            f"{made['top_issue_events']:,} reports), {made['bytes'] / 1e6:.0f} MB"
        )
        indexed, seconds = index_for_search(url)
        print(f"search index: {indexed:,} issues indexed in {seconds:.2f} s (from each one's oldest report)")
        server = start_server(Path(workdir), database_url=url, admin_token=TOKEN)
        try:
            top = int(made["top_issue"])
            pages = [
                ("/healthz", "baseline: GET /healthz"),
                ("/", "notebooks overview"),
                (f"/issues?notebook={BIG}", "issues of the notebook (open, by last seen)"),
                (f"/issues?notebook={BIG}&status=any&sort=count", "issues of the notebook (any, by count)"),
                (f"/issues?notebook={BIG}&status=any&page=10", "issues of the notebook, page 10"),
                (f"/issues/{top}", "the biggest issue"),
                (f"/issues/{top}/reports", "its reports, page 1"),
                (f"/issues/{top}/reports?page=100", "its reports, page 100"),
                (f"/issues?notebook={BIG}&status=any&q=protein_id", "search: a word every issue has"),
                (f"/issues?status=any&q=Error{top}", "search: an error name, few issues"),
                ("/issues?status=any&q=frame.py+__getitem__+load%28", "search: three words"),
                ("/issues?status=any&q=zq", "search: a two-letter word (no index)"),
            ]
            with httpx.Client(base_url=server.base_url, timeout=60, follow_redirects=True) as client:
                sign_in(client)
                results = [(label, path, measure(client, path, args.requests)) for path, label in pages]
        finally:
            server.stop()
    baseline = statistics.median(results[0][2])
    print(f"\n{args.requests} requests each, signed in, real uvicorn on 127.0.0.1 (milliseconds):")
    print(f"{'page':46} {'median':>8} {'p95':>8} {'median - healthz':>17}")
    for label, path, times in results:
        median = statistics.median(times)
        print(f"{label:46} {median:8.1f} {p95(times):8.1f} {median - baseline:17.1f}")
        if "/issues?" in path or path == f"/issues/{top}":
            figures.add(
                f"dashboard, {label}, {args.events:,} reports",
                f"median {median:.1f} ms, p95 {p95(times):.1f} ms",
                f"`GET /healthz` median {baseline:.1f} ms",
                ratio(median, baseline, 1),
                "< 200 ms" if "/issues?" in path else "",
            )
    issues_p95 = max(p95(t) for label, p, t in results if "/issues?" in p and "q=" not in p)
    verdict = "met" if issues_p95 < 200 else "NOT met"
    print(f"\ngoal: issues page under 200 ms -> worst p95 {issues_p95:.1f} ms: {verdict}")
    searches = [t for label, p, t in results if "q=" in p]
    search_p50 = max(statistics.median(t) for t in searches)
    search_p95 = max(p95(t) for t in searches)
    verdict = "met" if search_p95 < 200 else "NOT met"
    print(
        f"search ({len(searches)} queries, {args.issues} issues, {args.events:,} reports): "
        f"worst p50 {search_p50:.1f} ms, worst p95 {search_p95:.1f} ms; goal under 200 ms: {verdict}"
    )
    figures.write(args.json)


if __name__ == "__main__":
    main()
