"""pytest plugin for scripts/ipython_own_tests.py: a reporter enabled on IPython's test shell.

``NER_OWN_TESTS_METHOD`` names the capture method (empty: no reporter); at the end the
reporter's stats go to the file ``NER_OWN_TESTS_STATS`` names, as proof that it was capturing.
"""

from __future__ import annotations

import builtins
import json
import os
from typing import Any, Optional

_reporter: Optional[Any] = None


def pytest_collection_finish(session: Any) -> None:
    """IPython's conftest made the test shell (``builtins.ip``) while collecting; enable on it."""
    global _reporter
    method = os.environ.get("NER_OWN_TESTS_METHOD", "")
    shell = getattr(builtins, "ip", None)
    if not method or shell is None:
        return
    from notebook_error_reporter import ErrorStore

    _reporter = ErrorStore(notebook="ipython-own-tests", quiet=True)
    _reporter.enable(shell, method=method)


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("NER_OWN_TESTS_STATS", "")
    if not path or _reporter is None:
        return
    stats = dict(_reporter.stats.as_dict(), enabled=_reporter.enabled, method=_reporter.method)
    with open(path, "w") as handle:
        json.dump(stats, handle)
