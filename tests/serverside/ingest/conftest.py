"""Fixtures of the write path's tests."""

from __future__ import annotations

import logging

import pytest

from ..helpers import WriteLog


@pytest.fixture
def write_log(caplog: pytest.LogCaptureFixture) -> WriteLog:
    """What the write path's debug log tells of the groups it stores (see ``WriteLog``)."""
    caplog.set_level(logging.DEBUG, logger="notebook_error_reporter.server")
    return WriteLog(caplog)
