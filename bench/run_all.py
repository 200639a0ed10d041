"""One report of every benchmark: each bench of ``bench/`` in its own process, one Markdown table.

Each bench prints its own report as it runs and writes its headline figures with ``--json``
(``_figures.py``); this script joins them into one table headed by the date and the machine, and
with ``--write-readme`` puts that table between the ``<!-- bench:start -->`` and
``<!-- bench:end -->`` markers of README.md. A bench file that does not exist yet is skipped with a
note; a bench that fails is reported, the others still run, and the exit status is then nonzero.

    .venv/bin/python bench/run_all.py [--quick] [--write-readme] [--skip FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from _figures import Figure, read

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
README = ROOT / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
COLUMNS = ("benchmark", "figure", "measured", "baseline (same run)", "ratio", "goal")

# (name in the table, script in bench/, its own arguments); --json and --quick are added per run.
BENCHES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("client_overhead", "client_overhead.py", ()),
    ("client_delivery", "client_delivery.py", ()),
    ("server_ingest (SQLite)", "server_ingest.py", ("--database", "sqlite")),
    ("server_ingest (PostgreSQL)", "server_ingest.py", ("--database", "postgresql")),
    ("ingest_floor", "ingest_floor.py", ()),
    ("dashboard_render", "dashboard_render.py", ()),
    ("database_growth (SQLite)", "database_growth.py", ("--database", "sqlite")),
    ("database_growth (PostgreSQL)", "database_growth.py", ("--database", "postgresql")),
)


class MarkersMissing(ValueError):
    """README.md lacks the bench markers (or has them out of order, or more than once)."""


@dataclass
class Outcome:
    """What one bench run gave: its rows, or why there are none."""

    name: str
    command: List[str]
    rows: List[Figure] = field(default_factory=list)
    skipped: str = ""  # why it did not run (its file does not exist yet)
    failure: str = ""  # why it failed (nonzero exit, no figures written)


# -- pure helpers ------------------------------------------------------------------------------
def cell(text: str) -> str:
    """A table cell: ``|`` escaped, line breaks flattened, an empty value shown as ``—``."""
    flat = " ".join(text.split())
    return flat.replace("|", "\\|") if flat else "—"


def format_table(rows: Sequence[Tuple[str, Figure]]) -> str:
    """The Markdown table of ``(benchmark, figure)`` pairs, in the given order, without a final newline."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for bench, row in rows:
        values = (bench, row.figure, row.measured, row.baseline, row.ratio, row.goal)
        lines.append("| " + " | ".join(cell(value) for value in values) + " |")
    return "\n".join(lines)


def heading(when: datetime, machine: str, quick: bool) -> str:
    """The line above the table: when (UTC), on what, and whether these were ``--quick`` runs."""
    mode = "`bench/run_all.py --quick` (smoke-sized runs)" if quick else "`bench/run_all.py`"
    moment = when.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"Figures of {mode}, {moment}, on {machine}; each baseline measured in the same run:"


def replace_between_markers(text: str, block: str, start: str = START, end: str = END) -> str:
    """``text`` with everything between the markers replaced by ``block``; the markers and all text
    outside them are kept as they were. Raises ``MarkersMissing`` unless each marker occurs exactly
    once, start before end."""
    if text.count(start) != 1 or text.count(end) != 1:
        raise MarkersMissing(
            f"README.md needs exactly one {start} and one {end} line around the figures table"
            f" (found {text.count(start)} and {text.count(end)})"
        )
    head, rest = text.split(start, 1)
    if end not in rest:
        raise MarkersMissing(f"README.md has {end} before {start}")
    _old, tail = rest.split(end, 1)
    return f"{head}{start}\n{block.strip()}\n{end}{tail}"


# -- the machine -------------------------------------------------------------------------------
def machine() -> str:
    """CPU model (``/proc/cpuinfo``), cores, RAM (``/proc/meminfo``) and Python version."""
    cpu = platform.processor() or platform.machine() or "unknown CPU"
    ram = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f", {int(line.split()[1]) / 1024**2:.1f} GiB RAM"
                break
    except (OSError, ValueError, IndexError):
        pass
    cores = os.cpu_count() or 0
    return f"{cpu} ({cores} cores{ram}), Python {platform.python_version()}"


# -- running -----------------------------------------------------------------------------------
def run(
    name: str, script: str, extra: Sequence[str], quick: bool, workdir: Path, skip: Sequence[str] = ()
) -> Outcome:
    """One bench in its own process, its report going straight to our stdout."""
    path = BENCH / script
    json_path = workdir / ("".join(c if c.isalnum() else "_" for c in name) + ".json")
    command = [sys.executable, str(path), *extra, "--json", str(json_path)] + (["--quick"] if quick else [])
    outcome = Outcome(name, command)
    if script in skip:
        outcome.skipped = f"--skip {script}"
    elif not path.exists():
        outcome.skipped = f"bench/{script} does not exist yet"
    if outcome.skipped:
        print(f"\n== {name}: skipped, {outcome.skipped}", flush=True)
        return outcome
    shown = " ".join([f"bench/{script}", *extra] + (["--quick"] if quick else []))
    print(f"\n== {name}: {shown}", flush=True)
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        outcome.failure = f"exit status {result.returncode}"
    elif not json_path.exists():
        outcome.failure = "wrote no figures (no --json file)"
    else:
        try:
            outcome.rows = read(json_path)
        except (ValueError, TypeError) as problem:
            outcome.failure = f"unreadable figures ({problem})"
    if outcome.failure:
        print(f"== {name}: FAILED, {outcome.failure}", flush=True)
    return outcome


def report(outcomes: Sequence[Outcome], when: datetime, on: str, quick: bool) -> str:
    """The heading, the table and a note per bench that was skipped or failed."""
    rows = [(outcome.name, row) for outcome in outcomes for row in outcome.rows]
    notes = [f"* {o.name}: skipped ({o.skipped})" for o in outcomes if o.skipped]
    notes += [f"* {o.name}: FAILED ({o.failure})" for o in outcomes if o.failure]
    parts = [heading(when, on, quick), "", format_table(rows)]
    if notes:
        parts += ["", *notes]
    return "\n".join(parts)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="pass --quick to every bench (smoke runs)")
    parser.add_argument(
        "--write-readme", action="store_true", help="put the table between the bench markers of README.md"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="FILE",
        choices=sorted({script for _name, script, _extra in BENCHES}),
        help="do not run this bench file (repeatable), e.g. one being written or already running",
    )
    args = parser.parse_args(argv)
    if args.write_readme:  # fail before the long runs, not after them
        replace_between_markers(README.read_text(encoding="utf-8"), "")
    when = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bench-run-all-") as workdir:
        outcomes = [
            run(name, script, extra, args.quick, Path(workdir), args.skip) for name, script, extra in BENCHES
        ]
    text = report(outcomes, when, machine(), args.quick)
    print("\n" + text)
    failed = [outcome.name for outcome in outcomes if outcome.failure]
    if args.write_readme:
        if failed:
            print(f"\nREADME.md not updated: {', '.join(failed)} failed", file=sys.stderr)
        else:
            updated = replace_between_markers(README.read_text(encoding="utf-8"), text)
            README.write_text(updated, encoding="utf-8")
            print(f"\nREADME.md updated between {START} and {END}")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except MarkersMissing as problem:
        sys.exit(f"run_all.py: {problem}")
