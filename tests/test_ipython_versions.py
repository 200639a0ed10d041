"""Both capture methods on IPython 7.34 (Colab's for years) and the newest IPython 9, in their own venvs.

The environments are made by ``scripts/ipython_envs.py`` on first use (cached in ``.envs/``); the
cells come from ``scripts/capture_matrix.py``, which also makes the table of experimentation.md.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from ipython_envs import ensure_env, run_with_repo  # noqa: E402

EXPECTED = {
    "exception": "KeyError",
    "syntax error": "SyntaxError",
    "indentation error": "IndentationError",
    "line magic error": "Exception",
    "%run failing script": "ValueError",
    "cell magic error": "CalledProcessError",
    "async cell": "LookupError",
    "KeyboardInterrupt": None,
    "SystemExit(0)": None,
    "SystemExit(1)": "SystemExit",
    "RecursionError": "RecursionError",
    "error in user module": "ValueError",
    "success": None,
}


def _normalised(row: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A row's reports with its own cell number taken out, to compare runs of different cells."""
    own = f"<cell {row['cell_count']}>"
    return [
        {
            **report,
            "execution_count": report["execution_count"] - row["cell_count"],
            "frames": [
                "<this cell>" if f == own else re.sub(r"<cell \d+>", "<cell ?>", f) for f in report["frames"]
            ],
        }
        for report in row["reports"]
    ]


@pytest.fixture(scope="module", params=["7.34", "9"])
def matrix(request: pytest.FixtureRequest) -> Dict[str, Any]:
    python = ensure_env(request.param)
    result = run_with_repo(python, "scripts/capture_matrix.py")
    data: Dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["ipython"].startswith(request.param), data["ipython"]
    return data


def test_each_kind_of_cell_is_reported_as_expected(matrix: Dict[str, Any]) -> None:
    for row in matrix["rows"]:
        names = [report["error_name"] for report in row["reports"]]
        expected = EXPECTED[row["cell"]]
        assert names == ([expected] if expected else []), (matrix["ipython"], row)
        for report in row["reports"]:
            assert report["execution_count"] == row["cell_count"], (matrix["ipython"], row)
            assert report["first_line"], (matrix["ipython"], row)


def test_both_methods_report_the_same_events(matrix: Dict[str, Any]) -> None:
    by_method: Dict[str, Dict[str, Any]] = {"events": {}, "showtraceback": {}}
    for row in matrix["rows"]:
        by_method[row["method"]][row["cell"]] = _normalised(row)
    assert by_method["events"] == by_method["showtraceback"]
