"""Measure how each capture method behaves per IPython version and write experimentation.md.

Usage: ``.venv/bin/python scripts/experiment_capture.py`` (makes the venvs under .envs/ on first
use). Prints the Markdown and writes it to experimentation.md at the top of the repository.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any, Dict, List

from ipython_envs import ROOT, VERSIONS, ensure_env, run_with_repo

HEADER = """# How capture behaves, per IPython version and method (measured)

Made by `scripts/experiment_capture.py` on {day}: each IPython version runs in its own venv
(`scripts/ipython_envs.py`), a real `InteractiveShell` runs the cells of
`scripts/capture_matrix.py` once per capture method, and every report an `ErrorStore` received
is listed: the error name, whether its execution count is the cell's own (✓), and its first line.
`—` means nothing was reported (on purpose for KeyboardInterrupt, SystemExit(0) and a success).

Notes, also measured here:
* `events` reads `result.error_in_exec`/`error_before_exec`; `%run` of a failing script does not
  fail the cell (IPython catches and shows the error), so it is found through `sys.last_value`.
* `showtraceback` reads the count and source from the input history: when `showtraceback` runs,
  IPython 9 has already advanced `execution_count`, IPython 7 has not; the history is right in both.
* IPython 7.34 on Python 3.11 names a cell's top-level code `<cell line: 0>`; we report `<module>`.
* An exception whose `__str__` raises: IPython 9 replaces it (in `error_in_exec` and on screen)
  by the error its traceback formatter hit; `showtraceback` sees the original first.
* `%%capture` (like `%%time`) runs its body with `run_cell`, which fires `pre_run_cell` and
  `post_run_cell` again inside the cell; a nested run's error is reported once, as the cell's.
  The `%%capture success` row runs right after the failing `%%capture error` row.
* The last section is Colab's stack: IPython 7.34 on Python 3.13.
"""


def _cell(report_list: List[Dict[str, Any]], cell_count: int) -> str:
    if not report_list:
        return "—"
    parts = []
    for report in report_list:
        count_ok = "✓" if report["execution_count"] == cell_count else f"count {report['execution_count']}"
        parts.append(f"{report['error_name']} {count_ok} `{report['first_line']}`")
    return "<br>".join(parts)


def table(data: Dict[str, Any]) -> str:
    rows: Dict[str, Dict[str, str]] = {}
    for row in data["rows"]:
        rows.setdefault(row["cell"], {})[row["method"]] = _cell(row["reports"], row["cell_count"])
    lines = [
        f"## IPython {data['ipython']} (Python {data['python']})",
        "",
        "| cell | events | showtraceback |",
        "|---|---|---|",
    ]
    lines += [
        f"| {cell} | {m.get('events', '')} | {m.get('showtraceback', '')} |" for cell, m in rows.items()
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    sections = [HEADER.format(day=date.today().isoformat())]
    for version in [*VERSIONS, "colab"]:
        result = run_with_repo(ensure_env(version), "scripts/capture_matrix.py")
        sections.append(table(json.loads(result.stdout.strip().splitlines()[-1])))
    text = "\n".join(sections)
    (ROOT / "experimentation.md").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
