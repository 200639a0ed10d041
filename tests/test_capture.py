"""Capture in a real IPython shell, through both methods, for every kind of failing cell."""

from __future__ import annotations

import io
import sys
import textwrap
import time
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any, Dict, List, Optional

import IPython
import pytest
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import ErrorSlack, ErrorStore
from notebook_error_reporter.capture import events_supported, resolve_method
from notebook_error_reporter.fingerprint import of_report

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")
METHODS = ["events", "showtraceback"]


def run(shell: InteractiveShell, cell: str) -> Any:
    """Run a cell as a kernel would, swallowing what IPython prints for the user."""
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()), warnings.catch_warnings():
        # IPython warns "To exit: use 'exit'..." on SystemExit; not what these tests are about.
        warnings.filterwarnings("ignore", message="To exit", category=UserWarning)
        return shell.run_cell(cell, store_history=True)


def no_color(shell: InteractiveShell) -> None:
    shell.colors = "nocolor" if IPython.version_info >= (9,) else "NoColor"


def only_event(store: ErrorStore) -> Dict[str, Any]:
    events = store.retrieve_errors()
    assert len(events) == 1, events
    return dict(events[0])


@pytest.fixture(params=METHODS)
def store(request: pytest.FixtureRequest, shell: InteractiveShell) -> ErrorStore:
    reporter = ErrorStore(notebook="capture-test", quiet=True)
    reporter.enable(shell, method=request.param)
    assert reporter.method == request.param
    return reporter


def test_plain_exception_reports_name_message_count_and_first_line(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    result = run(shell, "# Load the proteins\nx = 1\n{}['protein_id']")
    event = only_event(store)
    assert event["error_name"] == "KeyError"
    assert event["error_message"] == "'protein_id'"
    assert event["first_line"] == "# Load the proteins"
    assert event["execution_count"] == result.execution_count
    assert event["traceback"] == [
        {"filename": f"<cell {result.execution_count}>", "fun_name": "<module>", "lineno": 3}
    ]
    assert event["notebook"] == "capture-test"
    assert event["session_id"] == store.session_id
    assert len(event["event_id"]) == 32
    assert event["occurred_at"].endswith("+00:00")


@pytest.mark.parametrize(
    "cell, name",
    [("def f(:\n    pass", "SyntaxError"), ("  x = 1\n y = 2", "IndentationError")],
)
def test_errors_before_execution_are_reported(
    shell: InteractiveShell, store: ErrorStore, cell: str, name: str
) -> None:
    result = run(shell, cell)
    event = only_event(store)
    assert event["error_name"] == name
    assert event["execution_count"] == result.execution_count
    assert event["first_line"] == cell.strip().splitlines()[0]
    assert event["traceback"][-1]["filename"] == f"<cell {result.execution_count}>"
    assert "ipython-input" not in event["error_message"]


def test_line_magic_error_is_reported(shell: InteractiveShell, store: ErrorStore, tmp_path: Path) -> None:
    missing = tmp_path / "missing_script.py"
    run(shell, f"%run {missing}")
    event = only_event(store)
    assert event["error_name"] == "Exception"
    assert "missing_script.py" in event["error_message"]
    assert str(tmp_path) not in event["error_message"]
    assert event["first_line"].startswith("%run ")


def test_run_of_a_failing_script_is_reported(
    shell: InteractiveShell, store: ErrorStore, tmp_path: Path
) -> None:
    script = tmp_path / "analysis_step.py"
    script.write_text("def step():\n    raise ValueError('bad input')\n\nstep()\n")
    run(shell, f"%run {script}")
    event = only_event(store)
    assert event["error_name"] == "ValueError"
    assert event["error_message"] == "bad input"
    assert [f["filename"] for f in event["traceback"]] == ["analysis_step.py", "analysis_step.py"]
    assert event["traceback"][-1]["fun_name"] == "step"


def test_cell_magic_error_is_reported(shell: InteractiveShell, store: ErrorStore) -> None:
    run(shell, "%%bash\nexit 3")
    event = only_event(store)
    assert event["error_name"] == "CalledProcessError"
    assert event["first_line"] == "%%bash"


def test_top_level_await_cell_is_reported(shell: InteractiveShell, store: ErrorStore) -> None:
    result = run(shell, "import asyncio\nawait asyncio.sleep(0)\nraise LookupError('after await')")
    event = only_event(store)
    assert event["error_name"] == "LookupError"
    assert event["traceback"][0]["filename"] == f"<cell {result.execution_count}>"


def test_keyboard_interrupt_and_clean_exits_are_not_reported(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    run(shell, "raise KeyboardInterrupt")
    run(shell, "raise SystemExit(0)")
    run(shell, "raise SystemExit()")
    assert store.retrieve_errors() == []
    run(shell, "raise SystemExit(1)")
    assert only_event(store)["error_name"] == "SystemExit"


def test_exception_whose_str_fails_gets_a_placeholder(shell: InteractiveShell, store: ErrorStore) -> None:
    run(
        shell,
        textwrap.dedent(
            """
            class Cursed(Exception):
                def __str__(self):
                    raise RuntimeError("no")
            raise Cursed()
            """
        ),
    )
    event = only_event(store)
    # IPython 9 reports the error its own traceback formatter hit instead; older ones the original.
    assert (event["error_name"], event["error_message"]) in {
        ("Cursed", "<exception str() failed>"),
        ("RuntimeError", "no"),
    }


def test_recursion_error_keeps_first_and_last_frames(shell: InteractiveShell, store: ErrorStore) -> None:
    result = run(shell, "def dive(n):\n    return dive(n + 1)\ndive(0)")
    event = only_event(store)
    frames = event["traceback"]
    assert event["error_name"] == "RecursionError"
    assert len(frames) == store.max_frames + 1
    assert frames[0] == {"filename": f"<cell {result.execution_count}>", "fun_name": "<module>", "lineno": 3}
    marker = frames[store.max_frames // 2]
    assert marker["filename"] == "<omitted>"
    omitted = int(marker["fun_name"].strip("<>").split()[0])
    assert omitted > 100
    assert frames[-1]["fun_name"] == "dive"


def test_error_inside_an_imported_user_module(
    shell: InteractiveShell, store: ErrorStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "lab_helpers.py").write_text("def load(name):\n    return int(name)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = run(shell, "import lab_helpers\nlab_helpers.load('abc')")
    sys.modules.pop("lab_helpers", None)
    event = only_event(store)
    assert event["error_name"] == "ValueError"
    assert event["traceback"] == [
        {"filename": f"<cell {result.execution_count}>", "fun_name": "<module>", "lineno": 2},
        {"filename": "lab_helpers.py", "fun_name": "load", "lineno": 2},
    ]
    assert str(tmp_path) not in repr(event)


def test_successful_cells_report_nothing(shell: InteractiveShell, store: ErrorStore) -> None:
    for cell in ("x = 1", "print('hello')", "%%bash --no-raise-error\nexit 3"):
        run(shell, cell)
    assert store.retrieve_errors() == []
    assert store.stats.captured == 0


def test_ignore_is_configurable(shell: InteractiveShell) -> None:
    reporter = ErrorStore(quiet=True, ignore=(ValueError,))
    reporter.enable(shell)
    run(shell, "raise ValueError('expected')")
    run(shell, "raise KeyboardInterrupt")
    assert [e["error_name"] for e in reporter.retrieve_errors()] == ["KeyboardInterrupt"]


def _shown(shell: InteractiveShell, cell: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        shell.run_cell(cell, store_history=False)
    return out.getvalue() + err.getvalue()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cell", ["1/0", "def f(:\n pass", "raise KeyboardInterrupt"])
def test_the_users_traceback_looks_the_same(shell: InteractiveShell, method: str, cell: str) -> None:
    no_color(shell)
    without = _shown(shell, cell)
    reporter = ErrorStore(quiet=True)
    reporter.enable(shell, method=method)
    with_reporter = _shown(shell, cell)
    reporter.disable()
    assert with_reporter == without
    assert "notebook_error_reporter" not in with_reporter


@pytest.mark.parametrize("method", METHODS)
def test_enable_and_disable_are_idempotent_and_restore_the_shell(
    shell: InteractiveShell, method: str
) -> None:
    callbacks = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
    reporter = ErrorStore(quiet=True)
    reporter.enable(shell, method=method)
    reporter.enable(shell, method=method)
    run(shell, "1/0")
    assert len(reporter.retrieve_errors()) == 1
    reporter.disable()
    reporter.disable()
    assert {name: list(cbs) for name, cbs in shell.events.callbacks.items()} == callbacks
    assert "showtraceback" not in shell.__dict__
    run(shell, "1/0")
    assert len(reporter.retrieve_errors()) == 1


def test_rerunning_the_setup_cell_replaces_the_old_reporter(shell: InteractiveShell) -> None:
    first = ErrorStore(notebook="nb", quiet=True)
    first.enable(shell)
    second = ErrorStore(notebook="nb", quiet=True)
    second.enable(shell)
    run(shell, "1/0")
    assert not first.enabled
    assert first.retrieve_errors() == []
    assert len(second.retrieve_errors()) == 1


def test_switching_method_on_one_reporter_reports_once(shell: InteractiveShell) -> None:
    reporter = ErrorStore(quiet=True)
    reporter.enable(shell, method="events")
    reporter.enable(shell, method="showtraceback")
    run(shell, "1/0")
    assert reporter.method == "showtraceback"
    assert len(reporter.retrieve_errors()) == 1


def test_two_backends_report_side_by_side(shell: InteractiveShell) -> None:
    store = ErrorStore(notebook="nb", quiet=True)
    other = ErrorStore(notebook="other-nb", quiet=True)
    store.enable(shell, method="events")
    other.enable(shell, method="showtraceback")
    run(shell, "1/0")
    assert len(store.retrieve_errors()) == 1
    assert len(other.retrieve_errors()) == 1
    assert store.retrieve_errors()[0]["event_id"] != other.retrieve_errors()[0]["event_id"]


def test_a_store_and_a_slack_reporter_for_one_notebook_do_not_replace_each_other(
    shell: InteractiveShell,
) -> None:
    store = ErrorStore(notebook="nb", quiet=True)
    slack = ErrorSlack(notebook="nb", slack_webhook="http://127.0.0.1:9/hook", quiet=True)
    assert store.target_key() != slack.target_key()


def test_before_send_can_change_or_drop(shell: InteractiveShell) -> None:
    def tag_or_drop(event: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        if event["error_name"] == "ZeroDivisionError":
            return None
        event["first_line"] = "tagged"
        return event

    reporter = ErrorStore(quiet=True, before_send=tag_or_drop)  # type: ignore[arg-type]
    reporter.enable(shell)
    run(shell, "1/0")
    run(shell, "int('x')")
    events = reporter.retrieve_errors()
    assert [(e["error_name"], e["first_line"]) for e in events] == [("ValueError", "tagged")]
    assert reporter.stats.as_dict() == {"captured": 2, "dropped": 1, "sent": 1, "failed": 0}


def test_before_send_that_raises_drops_and_counts(
    shell: InteractiveShell, fail_on_internal_errors: List[Any]
) -> None:
    def broken(event: Dict[str, Any]) -> Dict[str, Any]:
        raise RuntimeError("author bug")

    reporter = ErrorStore(quiet=True, before_send=broken)  # type: ignore[arg-type]
    reporter.enable(shell)
    out = _shown(shell, "1/0")
    assert reporter.retrieve_errors() == []
    assert reporter.stats.dropped == 1
    assert "author bug" not in out  # logged to our logger, not printed into the cell
    assert any("before_send" in r.getMessage() for r in fail_on_internal_errors)
    fail_on_internal_errors.clear()


def test_a_broken_backend_never_raises_into_the_cell(
    shell: InteractiveShell, fail_on_internal_errors: List[Any]
) -> None:
    class Broken(ErrorStore):
        def _deliver(self, event: Any) -> None:
            raise OSError("disk on fire")

    reporter = Broken(quiet=True)
    reporter.enable(shell)
    result = run(shell, "1/0")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    follow_up = run(shell, "y = 2")
    assert follow_up.success
    assert reporter.stats.failed == 1
    assert fail_on_internal_errors
    fail_on_internal_errors.clear()


def test_enable_prints_one_line_saying_where_and_how_to_opt_out(shell: InteractiveShell) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        ErrorStore(notebook="protein-design").enable(shell)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "protein-design" in lines[0]
    assert "NOTEBOOK_ERROR_REPORTER_DISABLE=1" in lines[0] and "disable()" in lines[0]


def test_quiet_hides_the_line(shell: InteractiveShell) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        ErrorStore(quiet=True).enable(shell)
    assert out.getvalue() == ""


@pytest.mark.parametrize("variable", ["NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"])
def test_opt_out_variable_disables_and_says_so_once(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "1")
    out = io.StringIO()
    reporters = [ErrorStore(notebook="nb"), ErrorStore(notebook="nb2")]
    with redirect_stdout(out):
        for reporter in reporters:
            reporter.enable(shell)
    run(shell, "1/0")
    assert all(not r.enabled for r in reporters)
    assert all(r.retrieve_errors() == [] for r in reporters)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "off" in lines[0]


def test_unknown_method_is_a_clear_error(shell: InteractiveShell) -> None:
    with pytest.raises(ValueError, match="method must be one of"):
        ErrorStore(quiet=True).enable(shell, method="magic")


def test_auto_picks_events_on_a_modern_shell(shell: InteractiveShell) -> None:
    assert events_supported(shell)
    assert resolve_method(shell, "auto") == "events"


def test_auto_falls_back_when_post_run_cell_has_no_result(shell: InteractiveShell) -> None:
    class OldShell:
        """Stands in for IPython 5's shell, whose events have no post_run_cell result."""

        events = None

    assert resolve_method(OldShell(), "auto") == "showtraceback"


def test_enable_outside_ipython_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import notebook_error_reporter.reporter as reporter_module

    monkeypatch.setattr(reporter_module, "_current_shell", lambda: None)
    reporter = ErrorStore(quiet=True)
    reporter.enable()
    assert not reporter.enabled


@pytest.mark.parametrize("method", METHODS)
def test_enable_after_a_failed_cell_reports_nothing_old(shell: InteractiveShell, method: str) -> None:
    run(shell, "{}['protein_id']")
    reporter = ErrorStore(quiet=True)
    run(shell, "x = 1")
    shell.user_ns["_ner_setup"] = lambda: reporter.enable(shell, method=method)
    setup = run(shell, "# set-up cell\n_ner_setup()")
    assert setup.success
    run(shell, "y = 2")
    assert reporter.retrieve_errors() == []
    run(shell, "int('x')")
    assert [e["error_name"] for e in reporter.retrieve_errors()] == ["ValueError"]


@pytest.mark.parametrize("method", METHODS)
def test_disable_fail_enable_does_not_report_the_failure_of_the_pause(
    shell: InteractiveShell, method: str
) -> None:
    reporter = ErrorStore(quiet=True)
    shell.user_ns["_ner_reporter"] = reporter
    run(shell, f"_ner_reporter.enable(method={method!r})")
    run(shell, "_ner_reporter.disable()")
    run(shell, "1/0")
    run(shell, f"_ner_reporter.enable(method={method!r})")
    run(shell, "z = 3")
    assert reporter.retrieve_errors() == []


def test_load_ext_after_a_failed_cell_reports_nothing_old(
    shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    from notebook_error_reporter.extension import loaded_reporter, unload_ipython_extension

    monkeypatch.delenv("NOTEBOOK_ERROR_REPORTER_URL", raising=False)
    monkeypatch.delenv("NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK", raising=False)
    run(shell, "{}['protein_id']")
    run(shell, "%load_ext notebook_error_reporter")
    reporter = loaded_reporter(shell)
    try:
        assert reporter is not None and reporter.enabled
        run(shell, "x = 1")
        assert reporter.retrieve_errors() == []  # type: ignore[attr-defined]
    finally:
        unload_ipython_extension(shell)
        shell.extension_manager.loaded.discard("notebook_error_reporter")


CAPTURE_BODY_FAILS = "%%capture\n# inside capture\nx = 1\n{}['protein_id']"


def test_a_failing_capture_cell_is_reported_once_as_itself(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    result = run(shell, CAPTURE_BODY_FAILS)
    event = only_event(store)
    assert event["error_name"] == "KeyError"
    assert event["execution_count"] == result.execution_count
    assert event["first_line"] == "# inside capture"


def test_different_cells_under_one_cell_magic_are_different_issues(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    run(shell, "%%capture\n# Load the structures\n{}['protein_id']")
    run(shell, "%%capture\n# Read the config\n{}['api_url']")
    run(shell, "%%capture\n# Load the structures\n{}['chain']")
    events = store.retrieve_errors()
    first_lines = ["# Load the structures", "# Read the config", "# Load the structures"]
    assert [e["first_line"] for e in events] == first_lines
    keys = [of_report(e) for e in events]
    assert keys[0] != keys[1] and keys[0] == keys[2]


def test_a_succeeding_capture_cell_after_a_failure_reports_nothing(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    run(shell, "{}['protein_id']")
    run(shell, "%%capture\n!python --version")
    run(shell, "%%capture\nprint('installed')")
    run(shell, "%%time\nx = 1")
    run(shell, "get_ipython().run_cell('  ')")  # an empty run: post_run_cell without pre_run_cell
    assert [e["error_name"] for e in store.retrieve_errors()] == ["KeyError"]
    result = run(shell, "# then\nget_ipython().run_cell('')\nint('x')")
    events = store.retrieve_errors()
    assert [(e["error_name"], e["first_line"]) for e in events] == [
        ("KeyError", "{}['protein_id']"),
        ("ValueError", "# then"),
    ]
    assert events[-1]["execution_count"] == result.execution_count


def test_run_cell_inside_a_cell_is_reported_once_as_that_cell(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    result = run(shell, "# runs another\nget_ipython().run_cell('1/0', store_history=False)")
    event = only_event(store)
    assert (event["error_name"], event["first_line"]) == ("ZeroDivisionError", "# runs another")
    assert event["execution_count"] == result.execution_count


def test_each_run_that_stores_no_history_is_its_own_report(
    shell: InteractiveShell, store: ErrorStore
) -> None:
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell("# first\n1/0", store_history=False)
        shell.run_cell("x = 1", store_history=False)
        shell.run_cell("# second\n{}['a']", store_history=False)
        shell.run_cell("# third\nint('x')", store_history=False)
    events = store.retrieve_errors()
    assert [(e["error_name"], e["first_line"]) for e in events] == [
        ("ZeroDivisionError", "# first"),
        ("KeyError", "# second"),
        ("ValueError", "# third"),
    ]
    assert {e["execution_count"] for e in events} == {shell.execution_count}


def test_a_failing_run_of_a_script_in_a_capture_cell_is_reported_once(
    shell: InteractiveShell, store: ErrorStore, tmp_path: Path
) -> None:
    script = tmp_path / "step.py"
    script.write_text("raise ValueError('bad input')\n")
    result = run(shell, f"%%capture\n%run {script}")
    event = only_event(store)
    assert (event["error_name"], event["first_line"]) == ("ValueError", "%run step.py")
    assert event["execution_count"] == result.execution_count
    run(shell, "%%capture\nx = 1")
    assert len(store.retrieve_errors()) == 1


def _outcome_with_class_showtraceback_none(shell: InteractiveShell) -> str:
    """What a cell that sets ``InteractiveShell.showtraceback = None`` and then fails comes to."""
    original = InteractiveShell.showtraceback
    try:
        result = run(
            shell,
            "import IPython.core.interactiveshell\n"
            "IPython.core.interactiveshell.InteractiveShell.showtraceback = None\n"
            "assert False, 'fails'",
        )
        outcome = f"cell failed with {result.error_in_exec!r}"
    except Exception as error:  # IPython < 8 lets it escape run_cell
        outcome = f"run_cell raised {error!r}"
    finally:
        InteractiveShell.showtraceback = original  # type: ignore[method-assign]
    return outcome


def test_setting_the_class_showtraceback_still_takes_effect(shell: InteractiveShell) -> None:
    without = _outcome_with_class_showtraceback_none(shell)
    reporter = ErrorStore(quiet=True)
    reporter.enable(shell, method="showtraceback")
    assert _outcome_with_class_showtraceback_none(shell) == without
    assert "TypeError(\"'NoneType' object is not callable\")" in without


def test_disable_leaves_a_showtraceback_set_after_enable_alone(shell: InteractiveShell) -> None:
    reporter = ErrorStore(quiet=True)
    reporter.enable(shell, method="showtraceback")

    def users_own(*args: Any, **kwargs: Any) -> None:
        return None

    shell.showtraceback = users_own  # type: ignore[method-assign]
    reporter.disable()
    try:
        assert shell.showtraceback is users_own
    finally:
        del shell.showtraceback


@pytest.mark.parametrize("variable", ["NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"])
def test_opting_out_after_enable_stops_reports_at_once_and_cheaply(
    shell: InteractiveShell, store: ErrorStore, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, "0")  # first, so that undoing it removes what %env sets
    run(shell, f"%env {variable}=1")
    rounds = 2000
    error = ZeroDivisionError("division by zero")
    started = time.thread_time()  # this thread's CPU: the cost, whatever else the machine runs
    for _ in range(rounds):
        store._handle_error(error, "1/0", 1)
    per_report = (time.thread_time() - started) / rounds
    run(shell, "1/0")
    assert store.retrieve_errors() == []
    assert store.stats.captured == 0
    assert per_report < 50e-6, per_report  # about 5 µs; building a report costs far more
