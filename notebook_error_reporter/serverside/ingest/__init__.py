"""The write path: a scrubbed report's way to committed rows, its counters and its alerts.

The routes call ``Ingestion`` (``scheduling.py``), which decides where each group of reports is
stored; ``ingest_events`` (``transaction.py``) is one transaction. What differs between SQLite and
PostgreSQL lives in ``sqlite/`` and ``postgres/``, picked by ``databases.py``. See docs/design.md.
"""

from .known_ids import KnownIds
from .planning import IngestResult
from .scheduling import Ingestion
from .transaction import IngestSummary, ingest_events

__all__ = ["IngestResult", "IngestSummary", "Ingestion", "KnownIds", "ingest_events"]
