"""`%load_ext notebook_error_reporter` picks its backend from the environment; unload undoes it."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import ErrorServer, ErrorSlack, ErrorStore
from notebook_error_reporter.extension import loaded_reporter, reporter_from_environment

pytestmark = pytest.mark.usefixtures("fail_on_internal_errors")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (
        "NOTEBOOK_ERROR_REPORTER_URL",
        "NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK",
        "NOTEBOOK_ERROR_REPORTER_NOTEBOOK",
    ):
        monkeypatch.delenv(variable, raising=False)


def test_no_configuration_gives_an_in_memory_store() -> None:
    reporter = reporter_from_environment()
    assert type(reporter) is ErrorStore
    assert reporter.notebook == "unknown"


def test_a_url_gives_an_error_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_NOTEBOOK", "protein-design")
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK", "http://127.0.0.1:9/hook")
    reporter = reporter_from_environment()
    assert isinstance(reporter, ErrorServer)
    assert reporter.notebook == "protein-design"


def test_a_webhook_alone_gives_slack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK", "http://127.0.0.1:9/hook")
    assert isinstance(reporter_from_environment(), ErrorSlack)


def test_load_and_unload_are_a_symmetric_pair(shell: InteractiveShell) -> None:
    callbacks = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
    with redirect_stdout(io.StringIO()) as out:
        shell.run_line_magic("load_ext", "notebook_error_reporter")
        shell.run_line_magic("load_ext", "notebook_error_reporter")  # already loaded: nothing more
    assert out.getvalue().count("are reported to") == 1
    reporter = loaded_reporter(shell)
    assert isinstance(reporter, ErrorStore) and reporter.enabled
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        shell.run_cell("1/0", store_history=True)
        shell.run_line_magic("unload_ext", "notebook_error_reporter")
        shell.run_cell("1/0", store_history=True)
    assert len(reporter.retrieve_errors()) == 1
    assert not reporter.enabled
    assert loaded_reporter(shell) is None
    assert {name: list(cbs) for name, cbs in shell.events.callbacks.items()} == callbacks
