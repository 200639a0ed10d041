"""Both capture methods on IPython 7.34 (Colab's for years), the newest IPython 9 and Colab's stack
today (IPython 7.34 on Python 3.13), each in its own venv; on Colab's stack the capture tests
themselves (a real shell and a real kernel) run too.

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
from ipython_envs import COLAB_PYTHON, ensure_env, run_with_repo  # noqa: E402

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
    "%%capture error": "KeyError",
    "%%capture success": None,
    "run_cell inside a cell": "ZeroDivisionError",
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


# IPython 7.34 predates the deprecations of Python 3.12/3.13 (sqlite3's datetime adapter...) and
# leaves its history database to the garbage collector; the suite's "warnings are errors" would
# fail every test on IPython's account, not ours.
OLD_IPYTHON_WARNINGS = (
    "-W",
    "ignore::DeprecationWarning",
    "-W",
    "ignore::ResourceWarning",
    "-W",
    "ignore::pytest.PytestUnraisableExceptionWarning",
)
# The first run makes the venvs (Colab's with a kernel and pytest): minutes on a slow machine.
pytestmark = pytest.mark.timeout(1500)
THIS_PYTHON = "{}.{}".format(*sys.version_info[:2])  # the other venvs are made with it
VERSIONS_OF = {"7.34": (THIS_PYTHON, "7.34"), "9": (THIS_PYTHON, "9"), "colab": (COLAB_PYTHON, "7.34")}


@pytest.fixture(scope="module", params=list(VERSIONS_OF))
def matrix(request: pytest.FixtureRequest) -> Dict[str, Any]:
    python = ensure_env(request.param)
    result = run_with_repo(python, "scripts/capture_matrix.py")
    data: Dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    python_version, ipython_version = VERSIONS_OF[request.param]
    assert data["ipython"].startswith(ipython_version), data["ipython"]
    assert data["python"].startswith(python_version + "."), data["python"]
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


def test_capture_tests_pass_on_colabs_stack() -> None:
    python = ensure_env("colab")
    result = run_with_repo(
        python,
        "-m",
        "pytest",
        "tests/test_capture.py",
        "tests/test_kernel.py",
        "-q",
        "-p",
        "no:cacheprovider",
        *OLD_IPYTHON_WARNINGS,
        timeout=900,
        check=False,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert re.fullmatch(r"\d+ passed in .*", summary), summary
