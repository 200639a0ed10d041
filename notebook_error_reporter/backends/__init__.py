"""Where reports go: the reporter's backends, each a ``Reporter`` that only says how it delivers.

``ErrorStore`` (``memory.py``) keeps them in a list, ``ErrorSlack`` (``slack.py``) posts them to a
Slack incoming webhook, ``ErrorServer`` (``server.py``) sends them to the collection server through
the spool and the background sender. See docs/design.md.
"""

from .memory import ErrorStore
from .server import ErrorServer
from .slack import ErrorSlack

__all__ = ["ErrorServer", "ErrorSlack", "ErrorStore"]
