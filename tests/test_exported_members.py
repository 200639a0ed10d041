"""The public API is exactly what __init__ exports (see httpx's test of the same name)."""

from __future__ import annotations

import subprocess
import sys

import notebook_error_reporter


def test_all_is_sorted_and_complete() -> None:
    exported = notebook_error_reporter.__all__
    assert exported == sorted(exported)
    for name in (
        "ErrorEvent",
        "ErrorServer",
        "ErrorSlack",
        "ErrorStore",
        "Reporter",
        "EventMessageType",
        "TracebackDetailsType",
        "__version__",
        "load_ipython_extension",
        "unload_ipython_extension",
    ):
        assert name in exported
    for name in exported:
        assert hasattr(notebook_error_reporter, name), name


def test_importing_the_client_imports_no_server_code() -> None:
    code = (
        "import sys, notebook_error_reporter\n"
        "bad = [m for m in sys.modules if m.startswith(('fastapi', 'sqlmodel', 'uvicorn', 'sqlalchemy'))]\n"
        "bad += [m for m in sys.modules if m.startswith('notebook_error_reporter.serverside')]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
