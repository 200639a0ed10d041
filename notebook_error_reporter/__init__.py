"""notebook-error-reporter: learn what breaks when strangers run your shared notebooks.

>>> from notebook_error_reporter import ErrorServer
>>> es = ErrorServer(url="https://errors.example.org", notebook="protein-design")
>>> es.enable()

Only the error's name, a scrubbed message, a path-stripped traceback and the cell's first line are
reported. The collection server lives in ``notebook_error_reporter.serverside`` (extra ``[server]``)
and is never imported by the client.
"""

import logging

from ._version import __version__
from .backends import ErrorServer, ErrorSlack, ErrorStore
from .event import build_event
from .extension import load_ipython_extension, unload_ipython_extension
from .reporter import ErrorEvent, Reporter
from .retrieved import RetrievedErrors
from .types import EventMessageType, TracebackDetailsType

# A library's logger: without a handler Python's last-resort handler would print our own failures
# into the user's cell. Applications that want them attach a handler.
logging.getLogger("notebook_error_reporter").addHandler(logging.NullHandler())

__all__ = [
    "ErrorEvent",
    "ErrorServer",
    "ErrorSlack",
    "ErrorStore",
    "EventMessageType",
    "Reporter",
    "RetrievedErrors",
    "TracebackDetailsType",
    "__version__",
    "build_event",
    "load_ipython_extension",
    "unload_ipython_extension",
]
