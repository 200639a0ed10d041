"""Re-running a notebook's set-up cell (or reloading the extension) in one kernel keeps one
session: the server counts one session and ``retrieve_errors()`` still lists the reports made
before. Real Jupyter kernel (nbclient) and real server."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import pytest
import requests
from notebook_run import display_data, run_notebook
from serverside.live_server import LiveServer

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")


def test_a_set_up_cell_run_again_keeps_the_kernels_session(
    tmp_path: Path,
    kernel_env: Dict[str, str],
    live_server: LiveServer,
) -> None:
    spool_path = tmp_path / "spool.sqlite3"
    setup = (
        "from notebook_error_reporter import ErrorServer\n"
        f"es = ErrorServer({live_server.base_url!r}, notebook='rerun', quiet=True,\n"
        f"    spool_path={str(spool_path)!r})\n"
        "es.enable()"
    )
    notebook = run_notebook(
        [
            setup,
            "# Load the structures\n{}['protein_id']",
            setup,
            "# Read the config\n{}['api_url']",
            "es.disable()\n" + setup,
            "# Plot\n[][1]",
            "assert es.flush(20), es.stats\nes.retrieve_errors()",
        ],
        tmp_path,
        kernel_env,
    )
    [table] = display_data(notebook.cells[6])
    assert table["text/plain"].startswith("3 errors in this session")
    issues = requests.get(
        live_server.url("/api/v1/issues"),
        headers=live_server.admin_headers,
        params={"notebook": "rerun"},
        timeout=10,
    ).json()["items"]
    assert len(issues) == 3 and {issue["session_count"] for issue in issues} == {1}
    notebooks = requests.get(
        live_server.url("/api/v1/notebooks"), headers=live_server.admin_headers, timeout=10
    )
    [entry] = [row for row in notebooks.json() if row["name"] == "rerun"]
    assert entry["session_count"] == 1 and entry["event_count"] == 3
