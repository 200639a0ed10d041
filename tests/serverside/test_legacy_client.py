"""The real 0.1.1 client from PyPI, in its own venv and a real IPython shell, reporting to our server.

The venv is made on first use (see ``legacy_client.py``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict

import httpx
import pytest

from .legacy_client import legacy_python_or_fail
from .live_server import LiveServer

SCRIPT = r"""
import io, json, sys
from contextlib import redirect_stderr, redirect_stdout
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
url = sys.argv[1]
with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
    setup = shell.run_cell(
        "from notebook_error_reporter import ErrorServer\n"
        f"es = ErrorServer(url={url!r}, notebook='protein-design')\n"
        "es.enable()"
    )
    assert setup.success, setup.error_in_exec
    shell.run_cell("# Load the proteins\nproteins = {}\nproteins['protein_id']", store_history=True)
    cell = "def load(path):\n    return open(path)\nload('/home/alice/secret.csv')"
    shell.run_cell(cell, store_history=True)
es = shell.user_ns["es"]
sys.stdout.write(json.dumps({"uuid": es.uuid, "retrieved": es.retrieve_errors()}) + "\n")
"""


@pytest.mark.slow
def test_the_01_client_reports_from_ipython_to_our_server(live_server: LiveServer, tmp_path: Path) -> None:
    python = legacy_python_or_fail()
    done = subprocess.run(
        [str(python), "-c", SCRIPT, live_server.base_url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    result: Dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    retrieved = result["retrieved"]
    assert retrieved["uuid"] == result["uuid"] and retrieved["ip"] == "hidden"
    errors = retrieved["errors"]
    assert [e["error_name"] for e in errors] == ["KeyError", "FileNotFoundError"]
    key_error, not_found = errors
    assert key_error["first_line"] == "# Load the proteins"
    assert key_error["traceback"][0]["filename"].startswith("<cell"), "IPython's machinery is gone"
    assert "alice" not in json.dumps(errors), "the server scrubbed what 0.1 sent raw"
    assert "secret.csv" in not_found["error_message"]
    issues = httpx.get(live_server.url("/api/v1/issues"), headers=live_server.admin_headers).json()
    assert issues["total"] == 2 and {i["notebook"] for i in issues["items"]} == {"protein-design"}
