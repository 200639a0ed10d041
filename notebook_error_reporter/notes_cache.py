"""The last notes fetched for a notebook, kept next to the spool so they survive a restart offline.

One small JSON file per server and notebook (``notes-<hash>.json``, mode 0600) holding the notes
and the ``ETag`` they came with. Written atomically (a temp file in the same directory, then
``os.replace``), bounded (``MAX_FILE_BYTES``); a missing, unreadable or foreign file reads as empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from typing import Dict, Optional, Tuple

from .notes import Note, parse_notes

logger = logging.getLogger("notebook_error_reporter")

MAX_FILE_BYTES = 1_000_000
Cached = Tuple[Optional[str], Dict[str, Note]]


def cache_file(directory: str, url: str, notebook: str) -> str:
    """The cache file for ``notebook`` on the server at ``url``, inside ``directory``."""
    key = hashlib.sha256(json.dumps([url, notebook]).encode("utf-8")).hexdigest()[:24]
    return os.path.join(directory, f"notes-{key}.json")


def load(path: str, url: str, notebook: str) -> Cached:
    """``(etag, notes)`` from ``path``; ``(None, {})`` when there is nothing usable."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        data = json.loads(raw.decode("utf-8")) if len(raw) <= MAX_FILE_BYTES else None
    except (OSError, ValueError):
        return None, {}
    if not isinstance(data, dict) or data.get("url") != url or data.get("notebook") != notebook:
        return None, {}
    notes = parse_notes(data)
    etag = data.get("etag")
    if notes is None:
        return None, {}
    return (etag if isinstance(etag, str) else None), notes


def save(path: str, url: str, notebook: str, etag: Optional[str], notes: Dict[str, Note]) -> bool:
    """Replace ``path`` with these notes at once (readers see the old or the new file, never half)."""
    entries = [note.as_json() for note in notes.values()]
    body = json.dumps({"url": url, "notebook": notebook, "etag": etag, "notes": entries}).encode("utf-8")
    if len(body) > MAX_FILE_BYTES:
        logger.info("notebook_error_reporter: %d notes are too many to keep offline", len(entries))
        return False
    directory = os.path.dirname(path)
    try:
        handle, temporary = tempfile.mkstemp(prefix=".notes-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as error:
        logger.info("notebook_error_reporter: could not keep the notes offline: %s", error)
        return False
    return True
