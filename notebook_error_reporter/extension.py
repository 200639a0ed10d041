"""``%load_ext notebook_error_reporter`` / ``%unload_ext``: a reporter configured by environment.

The pair is symmetric: loading enables exactly one reporter on the shell and remembers it;
unloading disables that reporter and forgets it, leaving the shell as it was.
"""

from __future__ import annotations

import os
import weakref
from typing import Any, Optional

from .environment import NOTEBOOK_VARIABLE, SLACK_WEBHOOK_VARIABLE, URL_VARIABLE
from .reporter import Reporter

_loaded: weakref.WeakKeyDictionary[Any, Reporter] = weakref.WeakKeyDictionary()


def reporter_from_environment() -> Reporter:
    """ErrorServer if a URL is set, else ErrorSlack if a webhook is set, else ErrorStore."""
    notebook = os.environ.get(NOTEBOOK_VARIABLE, "").strip() or "unknown"
    url = os.environ.get(URL_VARIABLE, "").strip()
    webhook = os.environ.get(SLACK_WEBHOOK_VARIABLE, "").strip()
    if url:
        from .backends.server import ErrorServer

        return ErrorServer(url=url, notebook=notebook)
    if webhook:
        from .backends.slack import ErrorSlack

        return ErrorSlack(notebook=notebook, slack_webhook=webhook)
    from .backends.memory import ErrorStore

    return ErrorStore(notebook=notebook)


def load_ipython_extension(ipython: Any) -> None:
    """Enable a reporter on ``ipython``, configured from the environment (once per shell)."""
    if ipython in _loaded:
        return
    reporter = reporter_from_environment()
    reporter.enable(ipython)
    if reporter.enabled:
        _loaded[ipython] = reporter


def unload_ipython_extension(ipython: Any) -> None:
    """Disable the reporter that ``load_ipython_extension`` enabled on ``ipython``."""
    reporter = _loaded.pop(ipython, None)
    if reporter is not None:
        reporter.disable()


def loaded_reporter(ipython: Any = None) -> Optional[Reporter]:
    """The reporter the extension enabled on ``ipython`` (the current shell by default), if any."""
    if ipython is None:
        from IPython import get_ipython

        ipython = get_ipython()
    return _loaded.get(ipython) if ipython is not None else None
