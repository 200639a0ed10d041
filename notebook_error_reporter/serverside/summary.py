"""The periodic traffic line: every period with traffic, one log line summing it up (``core/traffic.py``)."""

from __future__ import annotations

import asyncio
import logging

from .core.traffic import TRAFFIC, Traffic, summary_line

logger = logging.getLogger("notebook_error_reporter.server")


async def log_summaries(period_seconds: float) -> None:
    """Run until cancelled; at cancellation, the last partial period is logged too."""
    last = TRAFFIC.snapshot()
    try:
        while True:
            await asyncio.sleep(period_seconds)
            last = _log_since(last)
    finally:
        _log_since(last)


def _log_since(last: Traffic) -> Traffic:
    now = TRAFFIC.snapshot()
    line = summary_line(now.since(last))
    if line is not None:
        logger.info(line)
    return now
