"""Fixtures of the write path's tests: what its debug log tells of the groups it stored."""

from __future__ import annotations

import logging
from typing import List

import pytest


class WriteLog:
    """The write path's debug records (``ingest/groups.py`` names its messages): how many a message
    has, and the sum of the sizes they give."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    def _records(self, message: str) -> List[logging.LogRecord]:
        return [record for record in self._caplog.records if record.msg == message]

    def count(self, message: str) -> int:
        return len(self._records(message))

    def total(self, message: str) -> int:
        return sum(int(record.args[0]) for record in self._records(message))  # type: ignore[index]


@pytest.fixture
def write_log(caplog: pytest.LogCaptureFixture) -> WriteLog:
    caplog.set_level(logging.DEBUG, logger="notebook_error_reporter.server")
    return WriteLog(caplog)
