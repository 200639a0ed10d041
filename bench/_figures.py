"""The figures a benchmark hands to ``bench/run_all.py``: one row each, already worded for a table.

Every bench prints its own readable report; with ``--json PATH`` it also writes its headline
figures as a JSON list of rows ``{"figure", "measured", "baseline", "ratio", "goal"}`` (strings,
the baseline measured in the same run, the ratio empty when there is none). ``run_all.py`` runs
each bench in its own process and joins the rows into the README's performance table.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional

FIELDS = ("figure", "measured", "baseline", "ratio", "goal")


@dataclass(frozen=True)
class Figure:
    figure: str
    measured: str
    baseline: str = ""
    ratio: str = ""
    goal: str = ""


class Figures:
    """The rows one bench run collects; ``write`` puts them where ``--json`` asked."""

    def __init__(self) -> None:
        self.rows: List[Figure] = []

    def add(self, figure: str, measured: str, baseline: str = "", ratio: str = "", goal: str = "") -> None:
        self.rows.append(Figure(figure, measured, baseline, ratio, goal))

    def write(self, path: Optional[str]) -> None:
        if path:
            Path(path).write_text(json.dumps([asdict(row) for row in self.rows], indent=1) + "\n")


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="PATH", help="also write the headline figures here (run_all.py)")


def read(path: Path) -> List[Figure]:
    """Rows written by ``Figures.write``; a row missing a field is an error worth seeing."""
    rows = json.loads(path.read_text())
    return [Figure(**{name: str(row.get(name, "")) for name in FIELDS}) for row in rows]


def ratio(measured: float, baseline: float, digits: int = 2) -> str:
    """``measured / baseline`` as ``"0.42×"``; empty when the baseline is zero (nothing to compare)."""
    return f"{measured / baseline:.{digits}f}×" if baseline else ""
