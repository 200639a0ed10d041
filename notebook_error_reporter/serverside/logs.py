"""The server's log format, shared with uvicorn: a dictConfig for both, as text or one JSON object a line.

Every line goes to stderr with a timestamp and a level. uvicorn's access log stays off (it would write
every client's address); our own lines never carry report contents, tokens or addresses.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Dict

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "notebook_error_reporter")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, message (and the exception's type)."""

    def format(self, record: logging.LogRecord) -> str:
        line: Dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def log_config(log_format: str, level: str) -> Dict[str, Any]:
    """The dictConfig for uvicorn's ``log_config`` (applied in the main process and in every worker)."""
    if log_format == "json":
        formatter: Dict[str, Any] = {"()": f"{__name__}.JsonFormatter"}
    else:
        formatter = {"format": TEXT_FORMAT, "datefmt": DATE_FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # uvicorn writes its use_colors choice into these two names when one is given.
        "formatters": {"default": formatter, "access": dict(formatter)},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
        },
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False} for name in LOGGERS
        },
    }
