"""Run a notebook in a real Jupyter kernel (nbclient) cell by cell, with host-side steps between cells.

    notebook = run_notebook(["import x", server.stop, "x.go()"], tmp_path, env)

Strings are code cells; a callable runs here, after the cells before it have finished (to stop a
server between two cells, say). The executed notebook is returned with every cell's outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Union

import nbformat
from nbclient import NotebookClient

Step = Union[str, Callable[[], None]]


def run_notebook(steps: Sequence[Step], tmp_path: Path, env: Dict[str, str]) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(step) for step in steps if isinstance(step, str)]
    client = NotebookClient(
        notebook,
        timeout=60,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with client.setup_kernel(env=env):
        index = 0
        for step in steps:
            if isinstance(step, str):
                client.execute_cell(notebook.cells[index], index)
                index += 1
            else:
                step()
    return notebook


def stream_text(cell: Any) -> str:
    """Everything a cell printed (stdout and stderr)."""
    return "".join(output.get("text", "") for output in cell.outputs if output.get("output_type") == "stream")


def display_data(cell: Any) -> List[Dict[str, Any]]:
    """The rich outputs of a cell (its result and anything it displayed), as mime-type dicts."""
    kinds = ("execute_result", "display_data")
    return [dict(output["data"]) for output in cell.outputs if output.get("output_type") in kinds]


def printed(notebook: Any, prefix: str) -> Any:
    """The JSON a cell printed after ``prefix`` on a line of its own (the first such line)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(prefix):
                    return json.loads(line[len(prefix) :])
    raise AssertionError(f"nothing printed with {prefix!r}: {[c.get('outputs') for c in notebook.cells]}")
