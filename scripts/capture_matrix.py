"""Run a fixed set of failing cells in a real IPython shell with each capture method; print JSON.

Run it with the Python of any environment that has IPython (and this repository on PYTHONPATH):
``tests/test_ipython_versions.py`` compares its output across IPython versions and methods, and
``scripts/experiment_capture.py`` turns it into the table of ``experimentation.md``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import warnings
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Dict, List, Tuple

import IPython
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import ErrorStore

SCRIPT_DIR = tempfile.mkdtemp(prefix="capture-matrix-")
FAILING_SCRIPT = os.path.join(SCRIPT_DIR, "failing_script.py")
USER_MODULE_DIR = os.path.join(SCRIPT_DIR, "modules")

CELLS: List[Tuple[str, str]] = [
    ("exception", "# title comment\n{}['protein_id']"),
    ("syntax error", "def f(:\n    pass"),
    ("indentation error", "  x = 1\n y = 2"),
    ("line magic error", f"%run {os.path.join(SCRIPT_DIR, 'missing.py')}"),
    ("%run failing script", f"%run {FAILING_SCRIPT}"),
    ("cell magic error", "%%bash\nexit 3"),
    ("async cell", "import asyncio\nawait asyncio.sleep(0)\nraise LookupError('after await')"),
    ("KeyboardInterrupt", "raise KeyboardInterrupt"),
    ("SystemExit(0)", "raise SystemExit(0)"),
    ("SystemExit(1)", "raise SystemExit(1)"),
    ("RecursionError", "def dive(n):\n    return dive(n + 1)\ndive(0)"),
    ("error in user module", "import lab_helpers\nlab_helpers.load('abc')"),
    ("success", "x = 41 + 1"),
    ("%%capture error", "%%capture\n{}['protein_id']"),
    ("%%capture success", "%%capture\nx = 1"),
    ("run_cell inside a cell", "# runs another\nget_ipython().run_cell('1/0', store_history=False)"),
]


def _prepare_files() -> None:
    with open(FAILING_SCRIPT, "w") as handle:
        handle.write("def step():\n    raise ValueError('bad input')\n\nstep()\n")
    os.makedirs(USER_MODULE_DIR, exist_ok=True)
    with open(os.path.join(USER_MODULE_DIR, "lab_helpers.py"), "w") as handle:
        handle.write("def load(name):\n    return int(name)\n")
    sys.path.insert(0, USER_MODULE_DIR)


def run_matrix() -> Dict[str, Any]:
    _prepare_files()
    shell = InteractiveShell.instance()
    rows: List[Dict[str, Any]] = []
    for method in ("events", "showtraceback"):
        reporter = ErrorStore(notebook="matrix", quiet=True)
        reporter.enable(shell, method=method)
        for label, cell in CELLS:
            before = len(reporter.retrieve_errors())
            with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = shell.run_cell(cell, store_history=True)
            new = reporter.retrieve_errors()[before:]
            rows.append(
                {
                    "method": method,
                    "cell": label,
                    "cell_count": result.execution_count,
                    "reports": [
                        {
                            "error_name": e["error_name"],
                            "execution_count": e["execution_count"],
                            "first_line": e["first_line"],
                            "frames": [f["filename"] for f in e["traceback"]],
                        }
                        for e in new
                    ],
                }
            )
        reporter.disable()
    return {
        "ipython": ".".join(str(p) for p in IPython.version_info[:3]),
        "python": sys.version.split()[0],
        "rows": rows,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(run_matrix()) + "\n")
