"""What ErrorServer costs a notebook, against the 0.1.1 client from PyPI, in the situations that hurt.

Prints, in one run (no asserts; figures only):

1. time from a failing cell to control return with (a) the server up, (b) nothing listening,
   (c) a server that accepts connections and never answers — ours, then the 0.1.1 client
   (installed by this script into ``.envs/notebook-error-reporter-0.1.1``); 0.1.1 posts on the
   cell's path without a timeout, so in (c) it blocks: we stop waiting at ``--cap`` seconds;
2. reports per second the background sender delivers to a local server;
3. the added time per successful cell with ErrorServer enabled, against a bare ``run_cell``.

The server is a local process speaking the v1 API and the 0.1 routes: the real collection server
(uvicorn, SQLite; started by ``tests/serverside/live_server.py``), or, without the ``[server]``
extra, the stand-in of ``tests/delivery_servers.py``.
Goal (issue 5): under 1 ms added to a failing cell in all three situations.
With ``--json PATH`` the headline figures are also written there as rows for ``bench/run_all.py``.

    .venv/bin/python bench/client_delivery.py [--quick] [--cap 5] [--no-legacy] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from _figures import Figures, add_json_argument, ratio
from IPython.core.interactiveshell import InteractiveShell

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT / "tests"))

from _legacy import ensure_env  # noqa: E402
from delivery_servers import SilentServer, free_port  # noqa: E402

from notebook_error_reporter import ErrorServer  # noqa: E402
from notebook_error_reporter import sender as sender_module  # noqa: E402

LEGACY_ENV = ROOT / ".envs" / "notebook-error-reporter-0.1.1"
WORDING = {  # a situation's label as a figure of the report
    "(a) server up": "server up",
    "(b) nothing listening": "nothing listening",
    "(c) never answers": "server never answers",
}


# -- the local server --------------------------------------------------------------------------
class LocalServer:
    """The real server if its test helper exists, else the stand-in, in a process of its own."""

    def __init__(self, workdir: Path) -> None:
        self.kind = "stand-in (tests/delivery_servers.py)"
        self._live: Any = None
        self._process: Optional[subprocess.Popen[str]] = None
        try:
            from serverside.live_server import start_server

            self._live = start_server(workdir)
            self.url = str(self._live.base_url).rstrip("/")
            self.kind = "real collection server (uvicorn, SQLite)"
            return
        except Exception:  # the [server] extra is not installed: measure against the stand-in
            self._live = None
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self._process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "delivery_servers.py"),
                "both",
                str(port),
                str(workdir / "s.db"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self._process.stdout.readline()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            if self._process.stdout is not None:
                self._process.stdout.close()


# -- measuring ---------------------------------------------------------------------------------
def quietly(shell: InteractiveShell, cell: str) -> Callable[[], object]:
    def run() -> object:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return shell.run_cell(cell, store_history=True)

    return run


def timings(func: Callable[[], object], number: int) -> List[float]:
    out = []
    for _ in range(number):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def best_per_call(func: Callable[[], object], number: int, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def a_real_error() -> BaseException:
    empty: Dict[str, int] = {}
    try:
        empty["protein_id"]
    except KeyError as error:
        return error
    raise AssertionError("unreachable")


def spaced(func: Callable[[], object], number: int, gap: float) -> List[float]:
    """Timings of calls ``gap`` seconds apart: failing cells as a person runs them, not in a loop."""
    out = []
    for _ in range(number):
        time.sleep(gap)
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def ours(
    shell: InteractiveShell, situations: Dict[str, str], workdir: Path, n: int, gap: float
) -> Dict[str, Tuple[float, float, float]]:
    """Per situation, median ms: what the reporter adds to a failing cell, the whole run_cell with
    cells ``gap`` s apart, and the whole run_cell with cells back to back (a failing loop)."""
    results: Dict[str, Tuple[float, float, float]] = {}
    error = a_real_error()
    for label, url in situations.items():
        reporter = ErrorServer(
            url, "bench", quiet=True, spool_path=str(workdir / f"{label}.sqlite3"), flush_at_exit=0
        )
        reporter.enable(shell)
        quietly(shell, "1/0")()
        apart = statistics.median(spaced(quietly(shell, "# bench\n1/0"), max(5, n // 10), gap))
        in_a_row = statistics.median(timings(quietly(shell, "# bench\n1/0"), n))
        report = functools.partial(reporter._handle_error, error, "# bench\n{}['protein_id']", 3)
        hook = statistics.median(timings(report, n))
        reporter.close()
        results[label] = (hook * 1e3, apart * 1e3, in_a_row * 1e3)
    return results


# -- the 0.1.1 client, in its own venv ---------------------------------------------------------
_LEGACY_SCRIPT = r"""
import io, json, sys, time
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.history_manager.enabled = False
import notebook_error_reporter
shell.user_ns["notebook_error_reporter"] = notebook_error_reporter
url, bad, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def cell():
    start = time.perf_counter()
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell("# bench\n1/0", store_history=True)
    return time.perf_counter() - start
bare = sorted(cell() for _ in range(n))[n // 2]
# As in a notebook: the set-up cell (0.1.1's enable() needs the running shell's get_ipython).
setup = shell.run_cell(f"es = notebook_error_reporter.ErrorServer({url!r}, 'bench-0.1.1')\nes.enable()")
if not setup.success:  # 0.1.1 calls the server in its constructor
    sys.exit(f"0.1.1 set-up failed: {setup.error_in_exec!r}")
if bad:
    shell.user_ns["es"].url = bad  # 0.1.1 cannot be constructed without a server: repoint it afterwards
sys.stdout.write(json.dumps({"bare": bare}) + "\n")
sys.stdout.flush()
for _ in range(n):
    sys.stdout.write(json.dumps({"cell": cell()}) + "\n")
    sys.stdout.flush()
"""


def ensure_legacy_env() -> Path:
    return ensure_env(LEGACY_ENV.name, ("notebook-error-reporter==0.1.1", "ipython", "requests"))


def legacy(
    python: Path, up: str, bad: str, n: int, cap: float
) -> Tuple[Optional[float], Optional[float], int]:
    """(median ms of a failing cell with 0.1.1, median ms bare, cells finished before the cap)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen(
        [str(python), "-c", _LEGACY_SCRIPT, up, bad, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tempfile.gettempdir(),  # so this checkout's package is not the one imported
        env=env,
    )
    lines: List[Dict[str, Any]] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(json.loads(line))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = last_progress = time.monotonic()
    seen = 0
    while process.poll() is None:
        now = time.monotonic()
        if len(lines) != seen:
            seen, last_progress = len(lines), now
        elif (lines and now - last_progress > cap) or now - started > 120:
            process.kill()  # a cell blocked longer than the cap (or the client never started)
            break
        time.sleep(0.01)
    process.wait()
    reader.join(5)
    cells = [x["cell"] for x in lines if "cell" in x]
    bare = lines[0]["bare"] if lines else None
    return (statistics.median(cells) * 1e3 if cells else None, bare * 1e3 if bare else None, len(cells))


# -- main --------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--cap", type=float, default=5.0, help="seconds to wait for a blocked 0.1.1 cell")
    parser.add_argument("--no-legacy", action="store_true", help="skip the 0.1.1 comparison")
    add_json_argument(parser)
    args = parser.parse_args()
    figures = Figures()
    n = 30 if args.quick else 200
    workdir = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    os.environ["XDG_CACHE_HOME"] = str(workdir / "cache")
    server = LocalServer(workdir)
    silent = SilentServer()
    situations = {
        "(a) server up": server.url,
        "(b) nothing listening": f"http://127.0.0.1:{free_port()}",
        "(c) never answers": silent.url,
    }
    shell = InteractiveShell.instance()
    assert shell.history_manager is not None
    shell.history_manager.enabled = False
    try:
        print(f"server: {server.kind} at {server.url}; {n} failing cells per situation")
        gap = 0.2
        bare_apart = statistics.median(spaced(quietly(shell, "# bench\n1/0"), max(5, n // 10), gap)) * 1e3
        bare_row = statistics.median(timings(quietly(shell, "# bench\n1/0"), n)) * 1e3
        print(
            "\n1. failing cell to control return; bare run_cell without a reporter:"
            f" {bare_apart:.2f} ms ({gap} s apart), {bare_row:.2f} ms (back to back)"
        )
        print(
            f"   {'situation':22s} {'ours: adds':>11s} {'run_cell, apart':>16s} {'back to back':>13s}"
            f" {'0.1.1 run_cell (+added)':>26s}"
        )
        mine = ours(shell, situations, workdir, n, gap)
        silent.stop()  # ends the request our sender had in flight to it
        sender_module._worker.flush(15)
        old: Dict[str, str] = {label: "skipped" for label in situations}
        old_added: Dict[str, Optional[float]] = {label: None for label in situations}  # ms, 0.1.1
        if not args.no_legacy:
            try:
                python = ensure_legacy_env()
                for label, url in situations.items():
                    bad = "" if url == server.url else url
                    if "never" in label:
                        silent = SilentServer()
                        bad = silent.url
                    cell, bare, done = legacy(python, server.url, bad, min(n, 50), args.cap)
                    if cell is None:
                        old[label] = f"> {args.cap:.0f} s (blocked; capped)"
                    else:
                        old[label] = f"{cell:9.2f} ms (+{cell - (bare or 0):.2f})"
                        old_added[label] = cell - (bare or 0)
            except Exception as problem:  # no registry access: say so and go on
                old = {label: f"unavailable ({type(problem).__name__})" for label in situations}
                old_added = {label: None for label in situations}
        for label, (hook, apart, in_a_row) in mine.items():
            print(f"   {label:22s} {hook:8.3f} ms {apart:13.2f} ms {in_a_row:10.2f} ms {old[label]:>26s}")
            legacy_added = old_added[label]
            figures.add(
                f"ErrorServer, failing cell, {WORDING.get(label, label)}",
                f"+{hook:.2f} ms",
                "0.1.1 client: "
                + (f"+{legacy_added:.1f} ms" if legacy_added is not None else old[label].strip()),
                ratio(hook, legacy_added, 4) if legacy_added is not None and legacy_added > 0 else "",
                "< 1 ms",
            )

        # 2. Throughput of the background sender to the local server.
        count = 300 if args.quick else 2000
        reporter = ErrorServer(
            server.url,
            "bench-throughput",
            quiet=True,
            spool_path=str(workdir / "t.sqlite3"),
            max_spool_reports=count,
            max_spool_bytes=10**8,
        )
        failure = a_real_error()
        spool = reporter.sender.spool
        for i in range(count):  # spooled without a nudge, so the clock starts with a full spool
            event = reporter.make_event(failure, f"# bench {i}\n{{}}['protein_id']", i)
            spool.put(dict(event), reporter.url, max_reports=count, max_bytes=10**8)
        start = time.perf_counter()
        delivered = reporter.flush(120)
        elapsed = time.perf_counter() - start
        print(
            f"\n2. sender throughput: {reporter.stats.sent} of {count} reports in {elapsed:.2f} s ="
            f" {reporter.stats.sent / elapsed:,.0f} reports/s (batches of 100; all delivered: {delivered})"
        )
        figures.add(
            f"ErrorServer, background sender, {count:,} reports to the local {server.kind}",
            f"{reporter.stats.sent / elapsed:,.0f} reports/s" + ("" if delivered else " (not all delivered)"),
        )
        reporter.close()

        # 3. Added time per successful cell.
        loops = 200 if args.quick else 2000
        bare = best_per_call(quietly(shell, "x = 1"), loops)
        reporter = ErrorServer(server.url, "bench-ok", quiet=True, spool_path=str(workdir / "ok.sqlite3"))
        reporter.enable(shell)
        enabled = best_per_call(quietly(shell, "x = 1"), loops)
        reporter.close()
        print(
            f"\n3. successful cell: bare {bare * 1e6:.1f} µs, with ErrorServer {enabled * 1e6:.1f} µs,"
            f" added {max(0.0, enabled - bare) * 1e6:.2f} µs (ratio {enabled / bare:.3f})"
        )
        figures.add(
            "ErrorServer, added per successful cell (ratio: with ErrorServer / bare)",
            f"+{max(0.0, enabled - bare) * 1e6:.1f} µs",
            f"bare `run_cell` {bare * 1e6:.0f} µs",
            ratio(enabled, bare, 3),
        )
        figures.write(args.json)
    finally:
        silent.stop()
        server.stop()


if __name__ == "__main__":
    main()
