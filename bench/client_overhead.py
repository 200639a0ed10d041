"""What the reporter costs a notebook: per successful cell, per failing cell, per scrubbed message.

Prints figures with a baseline measured in the same run (machines here are noisy: compare ratios
within one run, not numbers across runs). Goals (issue 3): under 2 µs added per successful cell;
under 1 ms from a typical failing cell to control return with ErrorStore; under 20 ms for a
RecursionError.

    .venv/bin/python bench/client_overhead.py [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import io
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Callable, List

from _figures import Figures, add_json_argument, ratio
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import ErrorStore
from notebook_error_reporter.environment import privacy_context
from notebook_error_reporter.privacy import scrub_text


def per_call(func: Callable[[], object], number: int, repeat: int = 5) -> float:
    """Best-of-``repeat`` seconds per call (the minimum is the least noisy estimate)."""
    timings: List[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        timings.append((time.perf_counter() - start) / number)
    return min(timings)


def quietly(shell: InteractiveShell, cell: str) -> Callable[[], object]:
    def run() -> object:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            return shell.run_cell(cell, store_history=True)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for CI smoke runs)")
    add_json_argument(parser)
    args = parser.parse_args()
    figures = Figures()
    scale = 0.1 if args.quick else 1.0
    shell = InteractiveShell.instance()
    shell.history_manager.enabled = False

    # 1. Successful cells: bare run_cell, then with a reporter on each method.
    n_cells = max(50, int(2000 * scale))
    bare = per_call(quietly(shell, "x = 1"), n_cells)
    print(f"successful cell, bare run_cell:            {bare * 1e6:9.1f} µs")
    for method in ("events", "showtraceback"):
        store = ErrorStore(quiet=True)
        store.enable(shell, method=method)
        with_reporter = per_call(quietly(shell, "x = 1"), n_cells)
        store.disable()
        if method == "events":
            figures.add(
                "ErrorStore, successful cell (run_cell)",
                f"{with_reporter * 1e6:.0f} µs",
                f"bare `run_cell` {bare * 1e6:.0f} µs",
                ratio(with_reporter, bare, 3),
            )
        print(
            f"successful cell, reporter ({method:13s}):  {with_reporter * 1e6:9.1f} µs"
            f"  added {max(0.0, with_reporter - bare) * 1e6:6.2f} µs  ratio {with_reporter / bare:5.3f}"
        )

    # The exact added work of the events method on a successful cell: its two callbacks.
    store = ErrorStore(quiet=True)
    store.enable(shell, method="events")
    capture = store._capture
    result = quietly(shell, "x = 1")()
    pre, post = capture._pre_run_cell, capture._post_run_cell

    def nothing(_: object) -> None:
        return None

    def both_hooks() -> None:
        pre(None)
        post(result)

    def two_empty_calls() -> None:
        nothing(None)
        nothing(result)

    loops = int(200_000 * scale)
    hooks = per_call(both_hooks, loops) - per_call(two_empty_calls, loops)
    print(
        f"events callbacks on a successful cell:     {hooks * 1e6:9.3f} µs   (goal < 2 µs; call cost removed)"
    )
    figures.add("added per successful cell (the events callbacks)", f"{hooks * 1e6:.2f} µs", goal="< 2 µs")

    # 2. Failing cells: time from the error to control return, i.e. what the reporter adds.
    typical = per_call(
        lambda: store._handle_error(KeyError("protein_id"), "# load\n{}['protein_id']", 3), 2000
    )
    print(f"failing cell, report a typical error:      {typical * 1e3:9.3f} ms   (goal < 1 ms)")
    figures.add(
        "ErrorStore, failing cell → control back, typical error", f"{typical * 1e3:.2f} ms", goal="< 1 ms"
    )
    try:

        def dive(n: int) -> int:
            return dive(n + 1)

        dive(0)
    except RecursionError as error:
        recursion = error
    deep = per_call(lambda: store._handle_error(recursion, "dive(0)", 4), 50)
    print(f"failing cell, report a RecursionError:     {deep * 1e3:9.3f} ms   (goal < 20 ms)")
    figures.add(
        "ErrorStore, failing cell → control back, RecursionError", f"{deep * 1e3:.1f} ms", goal="< 20 ms"
    )
    store.clear()
    bare_fail = per_call(quietly(shell, "1/0"), max(20, int(300 * scale)))
    store.disable()
    no_reporter_fail = per_call(quietly(shell, "1/0"), max(20, int(300 * scale)))
    print(
        f"failing cell run_cell, with vs without:    {bare_fail * 1e3:9.3f} ms"
        f" vs {no_reporter_fail * 1e3:.3f} ms"
        f"  ratio {bare_fail / no_reporter_fail:5.3f}"
    )
    figures.add(
        "ErrorStore, failing cell (run_cell)",
        f"{bare_fail * 1e3:.2f} ms",
        f"without a reporter {no_reporter_fail * 1e3:.2f} ms",
        ratio(bare_fail, no_reporter_fail, 3),
    )

    # 3. Scrubbing throughput on realistic messages.
    context = privacy_context()
    messages = [
        "KeyError: 'protein_id'",
        f"[Errno 2] No such file or directory: '{context.home}/data/run_42/input.csv'",
        "HTTPError: 401 for url https://bob:hunter2@api.example.org/v1?token=abcdef123456",
        "could not convert string to float: 'abc'" * 20,
    ]
    size = sum(len(m) for m in messages)
    per_batch = per_call(lambda: [scrub_text(m, context) for m in messages], max(50, int(2000 * scale)))
    print(
        f"scrub_text: {per_batch / len(messages) * 1e6:7.1f} µs per message,"
        f" {size / per_batch / 1e6:6.2f} MB/s over {len(messages)} typical messages"
    )
    figures.add("scrubbing one typical message", f"{per_batch / len(messages) * 1e6:.0f} µs")
    figures.write(args.json)


if __name__ == "__main__":
    main()
