"""This process's traffic counters and the summary line the server logs about them.

The ingest path only adds to plain integers (no lock, no I/O); the summariser (``summary.py``)
reads the totals once a period and logs the difference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional


@dataclass
class Traffic:
    """Totals since the process started (only ever growing)."""

    stored: int = 0
    new_issues: int = 0
    regressions: int = 0
    refused: int = 0

    def since(self, earlier: Traffic) -> Traffic:
        return Traffic(
            stored=self.stored - earlier.stored,
            new_issues=self.new_issues - earlier.new_issues,
            regressions=self.regressions - earlier.regressions,
            refused=self.refused - earlier.refused,
        )

    def snapshot(self) -> Traffic:
        return replace(self)


# The one set of counters of this process.
TRAFFIC = Traffic()


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def summary_line(period: Traffic) -> Optional[str]:
    """``stored 1,204 reports (3 new issues, 1 regression, 12 refused by limits)``; None without traffic."""
    if not (period.stored or period.refused):
        return None
    return (
        f"stored {_counted(period.stored, 'report', 'reports')} "
        f"({_counted(period.new_issues, 'new issue', 'new issues')}, "
        f"{_counted(period.regressions, 'regression', 'regressions')}, "
        f"{period.refused:,} refused by limits)"
    )
