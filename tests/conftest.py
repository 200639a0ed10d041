"""Fixtures of every test: a real IPython shell, a guard that turns the reporter's own errors into failures,
the reporters a test made (closed after it), a Jupyter kernel's environment, and the real server."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List

import pytest
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import ErrorServer, notice, sender, spool
from notebook_error_reporter.capture import registry_for

if TYPE_CHECKING:
    from serverside.live_server import LiveServer


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def fail_on_internal_errors() -> Iterator[List[logging.LogRecord]]:
    """Like sentry's ``internal_exceptions``: an error the reporter logged about itself fails the test.

    Tests that provoke such errors on purpose read and clear the returned list.
    """
    handler = _Collect()
    logger = logging.getLogger("notebook_error_reporter")
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
    messages = [record.getMessage() for record in handler.records]
    assert not messages, f"the reporter logged its own errors: {messages}"


@pytest.fixture
def shell(monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    """The real IPython shell singleton, left as we found it (no reporter, no callbacks of ours)."""
    for variable in ("NOTEBOOK_ERROR_REPORTER_DISABLE", "DO_NOT_TRACK"):
        monkeypatch.delenv(variable, raising=False)
    instance = InteractiveShell.instance()
    callbacks_before = {name: list(cbs) for name, cbs in instance.events.callbacks.items()}
    notice._reset_for_tests()
    yield instance
    for reporter in list(registry_for(instance).enabled.values()):
        reporter.disable()
    leftover = [
        (name, cb)
        for name, cbs in instance.events.callbacks.items()
        for cb in cbs
        if cb not in callbacks_before.get(name, [])
    ]
    assert not leftover, f"callbacks left registered: {leftover}"
    assert "showtraceback" not in instance.__dict__, "showtraceback left patched"
    assert "showsyntaxerror" not in instance.__dict__, "showsyntaxerror left patched"


@pytest.fixture
def reporters() -> Iterator[List[ErrorServer]]:
    """The ``ErrorServer``s a test appends here are closed after it, their deliveries and spools done with."""
    made: List[ErrorServer] = []
    yield made
    for reporter in made:
        reporter.close()
    sender._worker.flush(10)
    spool._forget_spools_for_tests()


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> Dict[str, str]:
    """The environment of a Jupyter kernel a test starts: no opt-out, no reporter settings of this machine."""
    for variable in (
        "NOTEBOOK_ERROR_REPORTER_DISABLE",
        "DO_NOT_TRACK",
        "NOTEBOOK_ERROR_REPORTER_URL",
        "NOTEBOOK_ERROR_REPORTER_SLACK_WEBHOOK",
    ):
        monkeypatch.delenv(variable, raising=False)
    return dict(os.environ)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A real server with default settings on the suite's database (SQLite or PostgreSQL).

    Its module is imported here, not at the top: the client's tests also run in environments
    without the server's packages (``tests/test_ipython_versions.py``'s Colab stack)."""
    from serverside.live_server import server_on_fresh_database

    with server_on_fresh_database(tmp_path) as server:
        yield server
