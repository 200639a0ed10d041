"""Version 0.1's collection protocol, as this client speaks it to a server that knows nothing newer.

A 0.1 server has no ``/api/v1`` (it answers 404 or 405 there). It stores one report per request,
``POST /errors/{usage}/`` with the historic fields only, under a *usage*: a session it made at
``POST /usages/`` (``{"notebook": ...}``, answered with its ``uuid``), which the client asks for once
per session and remembers in its spool. ``GET /usages/{usage}`` reads a usage's reports back
(``errors``). ``sender.py`` delivers this way and ``session_reports.py`` reads this way when the
server is old. See docs/design.md.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

# The 0.1 routes take one report per request: the sender claims few at a time.
BATCH = 10
USAGES_ROUTE = "/usages/"
# What a usage's page (``GET /usages/{usage}``) calls its reports.
REPORTS_FIELD = "errors"
_FIELDS = ("error_name", "error_message", "traceback", "execution_count", "first_line")


def speaks_only_01(v1_status: int) -> bool:
    """Whether the v1 batch route's answer says the server predates it."""
    return v1_status in (404, 405)


def usage_body(event: Dict[str, Any]) -> Dict[str, str]:
    """The ``POST /usages/`` body that makes a usage for ``event``'s session."""
    return {"notebook": str(event.get("notebook", "unknown"))}


def usage_uuid(answer: Any) -> Optional[str]:
    """The uuid of the usage a ``POST /usages/`` answer (its JSON) made, if it says one."""
    found = answer.get("uuid") if isinstance(answer, dict) else None
    return found if isinstance(found, str) and found else None


def report_route(usage: str) -> str:
    return f"/errors/{usage}/"


def usage_route(usage: str) -> str:
    return f"/usages/{usage}"


def report_body(event: Dict[str, Any]) -> Dict[str, Any]:
    """The ``POST /errors/{usage}/`` body: the historic fields only."""
    return {name: event.get(name) for name in _FIELDS}
