"""A real Jupyter kernel (nbclient) runs a real notebook whose cells fail; we read the reports back."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from jupyter_client.manager import start_new_kernel
from notebook_run import run_notebook
from slack_server import SlackServer

READ_BACK = "import json\nprint('REPORTS=' + json.dumps(reporter.retrieve_errors()))"


def reports_of(notebook: Any) -> List[Dict[str, Any]]:
    for output in notebook.cells[-1].outputs:
        text = output.get("text", "")
        if text.startswith("REPORTS="):
            return json.loads(text[len("REPORTS=") :])
    raise AssertionError(f"no reports printed: {notebook.cells[-1].outputs}")


def test_failing_cells_of_a_real_kernel_are_reported(tmp_path: Path, kernel_env: Dict[str, str]) -> None:
    notebook = run_notebook(
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
    assert reports[1]["error_message"] == "invalid syntax (<cell 3>, line 1)"
    assert reports[2]["traceback"][0]["filename"] == "<cell 5>"
    assert all("ipykernel_" not in json.dumps(r) for r in reports)
    # The kernel showed the user's own tracebacks as usual.
    assert notebook.cells[1].outputs[0]["ename"] == "FileNotFoundError"


def test_load_ext_enables_from_the_environment_and_unload_ext_stops(
    tmp_path: Path, kernel_env: Dict[str, str]
) -> None:
    kernel_env["NOTEBOOK_ERROR_REPORTER_NOTEBOOK"] = "from-env"
    notebook = run_notebook(
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


def enable_cell(method: str, **options: str) -> str:
    extra = "".join(f", {key}={value}" for key, value in options.items())
    return (
        "from notebook_error_reporter import ErrorStore\n"
        f"reporter = ErrorStore(notebook='kernel-test', quiet=True{extra})\n"
        f"reporter.enable(method={method!r})"
    )


METHODS = ["events", "showtraceback"]


@pytest.mark.parametrize("method", METHODS)
def test_only_cells_after_enable_are_reported(
    tmp_path: Path, kernel_env: Dict[str, str], method: str
) -> None:
    notebook = run_notebook(
        [
            "{}['protein_id']",
            enable_cell(method),
            "x = 1",
            "reporter.disable()",
            "int('during the pause')",
            f"reporter.enable(method={method!r})",
            "y = 2",
            "# after\n1/0",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    reports = reports_of(notebook)
    assert [(r["error_name"], r["execution_count"], r["first_line"]) for r in reports] == [
        ("ZeroDivisionError", 8, "# after")
    ]


def test_load_ext_after_a_failed_cell_reports_nothing_old(tmp_path: Path, kernel_env: Dict[str, str]) -> None:
    notebook = run_notebook(
        [
            "{}['protein_id']",
            "%load_ext notebook_error_reporter",
            "from notebook_error_reporter.extension import loaded_reporter\nreporter = loaded_reporter()",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    assert reports_of(notebook) == []


@pytest.mark.parametrize("method", METHODS)
def test_nested_cells_are_reported_once_as_the_cell_that_ran(
    tmp_path: Path, kernel_env: Dict[str, str], method: str
) -> None:
    (tmp_path / "step.py").write_text("def step():\n    raise ValueError('bad input')\n\nstep()\n")
    notebook = run_notebook(
        [
            enable_cell(method),
            "# Load the structures\n{}['protein_id']",
            "%%capture\n!pip --version",
            "%%capture\n# inside capture\n{}['chain']",
            "%%capture\nprint('quiet')",
            "%run step.py",
            "%%capture\n%run step.py",
            "x = 1",
            "# runs other code\nget_ipython().run_cell('1/0', store_history=False)",
            "# silent ones\n"
            "for cell in ['# first\\nint(\"a\")', 'z = 1', '# second\\nint(\"b\")']:\n"
            "    get_ipython().run_cell(cell, store_history=False)",
            "%%time\nw = 2",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    reports = reports_of(notebook)
    assert [(r["error_name"], r["execution_count"], r["first_line"]) for r in reports] == [
        ("KeyError", 2, "# Load the structures"),
        ("KeyError", 4, "# inside capture"),
        ("ValueError", 6, "%run step.py"),
        ("ValueError", 7, "%run step.py"),
        ("ZeroDivisionError", 9, "# runs other code"),
        ("ValueError", 10, "# silent ones"),
    ]


@pytest.mark.parametrize("method", METHODS)
def test_runs_that_store_no_history_are_reported_one_by_one(
    tmp_path: Path, kernel_env: Dict[str, str], method: str
) -> None:
    """A front end's own executions (``store_history=False``) are top-level runs without a number."""
    manager, client = start_new_kernel(kernel_name="python3", env=kernel_env, cwd=str(tmp_path))
    try:
        client.execute_interactive(enable_cell(method), timeout=60)
        client.execute_interactive("x = 1", timeout=60)
        for cell in ['# first\nint("a")', "z = 1", '# second\n{}["b"]', "1/0"]:
            client.execute_interactive(cell, store_history=False, timeout=60)
        printed: List[str] = []
        client.execute_interactive(
            READ_BACK, timeout=60, output_hook=lambda m: printed.append(m["content"].get("text", ""))
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    text = "".join(printed)
    reports = json.loads(text[text.index("REPORTS=") + len("REPORTS=") :])
    assert [(r["error_name"], r["first_line"]) for r in reports] == [
        ("ValueError", "# first"),
        ("KeyError", "# second"),
        ("ZeroDivisionError", "1/0"),
    ]
    assert {r["execution_count"] for r in reports} == {3}


@pytest.mark.parametrize("variable", ["NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"])
def test_opting_out_mid_session_stops_the_next_report(
    tmp_path: Path, kernel_env: Dict[str, str], variable: str
) -> None:
    notebook = run_notebook(
        [
            enable_cell("auto"),
            "int('reported')",
            f"%env {variable}=1",
            "1/0",
            "def broken(:\n    pass",
            f"%env {variable}=0",
            "{}['reported again']",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    reports = reports_of(notebook)
    assert [(r["error_name"], r["execution_count"]) for r in reports] == [("ValueError", 2), ("KeyError", 7)]


def test_the_notice_names_both_ways_out(tmp_path: Path, kernel_env: Dict[str, str]) -> None:
    notebook = run_notebook(
        ["from notebook_error_reporter import ErrorStore\nErrorStore(notebook='nb').enable()"],
        tmp_path,
        kernel_env,
    )
    lines = "".join(o.get("text", "") for o in notebook.cells[0].outputs).splitlines()
    assert len(lines) == 1
    assert "NOTEBOOK_ERROR_REPORTER_DISABLE=1" in lines[0] and "disable()" in lines[0]


FAILING_CELLS = [
    "1/0",
    "def broken(:\n    pass",
    "print('fine')",
    "import sys\nprint('own', file=sys.stderr)",
]


def outputs_of(notebook: Any, index: int) -> str:
    """A cell's outputs, with the kernel's process id (in IPython 7's traceback paths) taken out."""
    return re.sub(r"ipykernel_\d+", "ipykernel_<pid>", json.dumps(notebook.cells[index].outputs))


SETTLE = "settle()\nimport time\ntime.sleep(0.5)"


def test_the_reporters_own_failures_never_show_in_the_cell(
    tmp_path: Path, kernel_env: Dict[str, str]
) -> None:
    """A raising before_send, a spool that cannot be written and a Slack answering 500: logged, counted."""
    not_a_directory = tmp_path / "not-a-directory"
    not_a_directory.write_text("")
    without = run_notebook(
        ["reporters = []\ndef settle():\n    pass", *FAILING_CELLS, SETTLE, "print(1)"], tmp_path, kernel_env
    )
    with SlackServer() as slack:
        slack.reply(500, body="internal error", times=10)
        setup = (
            "import logging\n"
            "from notebook_error_reporter import ErrorServer, ErrorSlack, ErrorStore\n"
            "records = []\n"
            "def remember(record):\n"
            "    records.append(record.getMessage())\n"
            "    return True\n"
            "logging.getLogger('notebook_error_reporter').addFilter(remember)\n"
            "logging.getLogger('notebook_error_reporter').setLevel(logging.DEBUG)\n"
            "def broken(event):\n"
            "    raise RuntimeError('author bug')\n"
            "reporters = [\n"
            "    ErrorStore(notebook='nb', quiet=True, before_send=broken),\n"
            f"    ErrorSlack(notebook='nb', slack_webhook={slack.webhook!r}, retries=0, quiet=True),\n"
            f"    ErrorServer(url='http://127.0.0.1:9', notebook='nb', quiet=True,\n"
            f"                spool_path={str(not_a_directory / 'spool.sqlite3')!r}, backoff_base=0.01),\n"
            "]\n"
            "for reporter in reporters:\n"
            "    reporter.enable()\n"
            "def settle():\n"
            "    for reporter in reporters[1:]:\n"
            "        reporter.flush(2)"
        )
        read_back = (
            "import json\n"
            "print('STATS=' + json.dumps([r.stats.as_dict() for r in reporters]))\n"
            "print('RECORDS=' + json.dumps(records))"
        )
        with_reporters = run_notebook([setup, *FAILING_CELLS, SETTLE, read_back], tmp_path, kernel_env)
        posts = len(slack.posts())
    assert with_reporters.cells[0].outputs == []
    for index in range(1, len(FAILING_CELLS) + 2):
        assert outputs_of(with_reporters, index) == outputs_of(without, index), index
    printed = "".join(o.get("text", "") for o in with_reporters.cells[-1].outputs).splitlines()
    store, slack_stats, server = json.loads(printed[0][len("STATS=") :])
    records = json.loads(printed[1][len("RECORDS=") :])
    assert store["dropped"] == 2 and store["sent"] == 0
    assert posts >= 1 and slack_stats["dropped"] >= 1 and slack_stats["sent"] == 0
    assert server["sent"] == 0
    assert any("before_send raised" in r for r in records), records
    assert any("Slack did not accept" in r for r in records), records
    assert any("spool" in r.lower() for r in records), records


def test_a_function_from_an_earlier_cell_is_named_by_its_cell(
    tmp_path: Path, kernel_env: Dict[str, str]
) -> None:
    notebook = run_notebook(
        [
            "from notebook_error_reporter import ErrorStore\n"
            "reporter = ErrorStore(notebook='kernel-test', quiet=True)\nreporter.enable()",
            "def helper(x):\n    return x / 0",
            "%%capture\nprint('noise')",
            "# call the helper\nhelper(3)",
            READ_BACK,
        ],
        tmp_path,
        kernel_env,
    )
    [report] = reports_of(notebook)
    assert [(frame["filename"], frame["fun_name"]) for frame in report["traceback"]] == [
        ("<cell 4>", "<module>"),
        ("<cell 2>", "helper"),
    ]
