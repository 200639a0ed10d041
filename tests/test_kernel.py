"""A real Jupyter kernel (nbclient) runs a real notebook whose cells fail; we read the reports back."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest
from nbclient import NotebookClient

READ_BACK = "import json\nprint('REPORTS=' + json.dumps(reporter.retrieve_errors()))"


def execute(cells: List[str], tmp_path: Path, env: Dict[str, str]) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    path = tmp_path / "shared.ipynb"
    nbformat.write(notebook, path)
    client = NotebookClient(
        nbformat.read(path, as_version=4),
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    return client.execute(env=env)


def reports_of(notebook: Any) -> List[Dict[str, Any]]:
    for output in notebook.cells[-1].outputs:
        text = output.get("text", "")
        if text.startswith("REPORTS="):
            return json.loads(text[len("REPORTS=") :])
    raise AssertionError(f"no reports printed: {notebook.cells[-1].outputs}")


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    for variable in (
        "NOTEBOOK_ERROR_REPORTER_DISABLE",
        "DO_NOT_TRACK",
        "NOTEBOOK_ERROR_REPORTER_URL",
        "NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK",
    ):
        monkeypatch.delenv(variable, raising=False)
    return dict(os.environ)


def test_failing_cells_of_a_real_kernel_are_reported(tmp_path: Path, kernel_env: Dict[str, str]) -> None:
    notebook = execute(
        [
            "from notebook_error_reporter import ErrorStore\n"
            "reporter = ErrorStore(notebook='kernel-test')\nreporter.enable()",
            "# Step 2: load the structure\nopen('/definitely/missing/alice/file.pdb')",
            "def broken(:\n    pass",
            "x = 1 + 1",
            "import asyncio\nawait asyncio.sleep(0)\n{}['protein_id']",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    setup_text = "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert "errors in notebook 'kernel-test' are reported" in setup_text
    reports = reports_of(notebook)
    assert [r["error_name"] for r in reports] == ["FileNotFoundError", "SyntaxError", "KeyError"]
    assert [r["execution_count"] for r in reports] == [2, 3, 5]
    assert reports[0]["first_line"] == "# Step 2: load the structure"
    assert reports[0]["traceback"][0] == {"filename": "<cell 2>", "fun_name": "<module>", "lineno": 2}
    assert "/definitely/missing" not in reports[0]["error_message"]
    assert "file.pdb" in reports[0]["error_message"]
    assert reports[1]["traceback"][-1]["filename"] == "<cell 3>"
    assert reports[2]["traceback"][0]["filename"] == "<cell 5>"
    assert all("ipykernel_" not in json.dumps(r) for r in reports)
    # The kernel showed the user's own tracebacks as usual.
    assert notebook.cells[1].outputs[0]["ename"] == "FileNotFoundError"


def test_load_ext_enables_from_the_environment_and_unload_ext_stops(
    tmp_path: Path, kernel_env: Dict[str, str]
) -> None:
    kernel_env["NOTEBOOK_ERROR_REPORTER_NOTEBOOK"] = "from-env"
    notebook = execute(
        [
            "%load_ext notebook_error_reporter",
            "from notebook_error_reporter.extension import loaded_reporter\nreporter = loaded_reporter()",
            "1/0",
            "%unload_ext notebook_error_reporter",
            "int('not a number')",
            "assert loaded_reporter() is None and not reporter.enabled",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    assert "'from-env' are reported" in "".join(o.get("text", "") for o in notebook.cells[0].outputs)
    assert notebook.cells[5].outputs == []  # the assertion cell passed
    reports = reports_of(notebook)
    assert [(r["notebook"], r["error_name"], r["execution_count"]) for r in reports] == [
        ("from-env", "ZeroDivisionError", 3)
    ]
