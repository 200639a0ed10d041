"""Shared fixtures: a real IPython shell, and a guard that turns the reporter's own errors into failures."""

from __future__ import annotations

import logging
from typing import Iterator, List

import pytest
from IPython.core.interactiveshell import InteractiveShell

from notebook_error_reporter import notice
from notebook_error_reporter.capture import registry_for


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
