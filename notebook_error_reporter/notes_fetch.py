"""Keeps a notebook's notes fresh in the background; a failing cell only reads a dict.

``NotesFetcher.refresh`` runs on the sender's background thread (after ``enable()``, every
``interval`` seconds from a daemon timer, and after a batch was delivered, at most once per
``min_gap``): it reads the offline copy once, asks ``GET /api/v1/notebooks/{notebook}/notes`` with
``If-None-Match``, and on a new answer swaps the dict and rewrites the offline copy. A server that
is down, slow or answering nonsense leaves the notes as they were.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Dict, Optional
from urllib.parse import quote

from . import notes_cache
from .notes import Note, parse_notes
from .transport import Timeout, Transport, TransportError

logger = logging.getLogger("notebook_error_reporter")

Submit = Callable[[Callable[[], None]], bool]
NOTES_ROUTE = "/api/v1/notebooks/{notebook}/notes"


def notes_url(url: str, notebook: str) -> str:
    return url.rstrip("/") + NOTES_ROUTE.format(notebook=quote(notebook, safe=""))


class NotesFetcher:
    """The notes of one notebook on one server, refreshed off the cell's path."""

    def __init__(
        self,
        url: str,
        notebook: str,
        *,
        transport: Transport,
        timeout: Timeout,
        submit: Submit,
        cache_directory: Callable[[], Optional[str]],
        interval: float = 300.0,
        min_gap: float = 10.0,
    ) -> None:
        self.url = url
        self.notebook = notebook
        self.transport = transport
        self.timeout = timeout
        self.interval = interval
        self.min_gap = min_gap
        self.notes: Dict[str, Note] = {}  # replaced whole, never changed in place: reads need no lock
        self.etag: Optional[str] = None
        self.clock = time.monotonic
        self._submit = submit
        self._cache_directory = cache_directory
        self._cache_path: Optional[str] = None
        self._loaded = False
        self._last_asked: Optional[float] = None
        self._lock = threading.Lock()
        self._timer: Optional[threading.Timer] = None
        self._running = False

    # -- any thread, never blocking ------------------------------------------------------------
    def start(self) -> None:
        """Refresh now in the background, then every ``interval`` seconds until ``stop()``."""
        with self._lock:
            self._running = True
        self.request_refresh(force=True)

    def stop(self) -> None:
        with self._lock:
            self._running = False
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def request_refresh(self, force: bool = False) -> None:
        """Queue a refresh on the background thread (skipped when one ran less than ``min_gap`` ago)."""
        self._submit(lambda: self.refresh(force=force))

    def note_for(self, fingerprint: str) -> Optional[Note]:
        return self.notes.get(fingerprint)

    # -- the background thread -----------------------------------------------------------------
    def refresh(self, force: bool = False) -> None:
        """Load the offline copy (once), then ask the server unless it was asked a moment ago."""
        try:
            self._load_once()
            now = self.clock()
            if not force and self._last_asked is not None and now - self._last_asked < self.min_gap:
                return
            self._last_asked = now
            self._ask()
        except Exception:
            logger.exception("notebook_error_reporter: could not refresh the notebook's notes")
        finally:
            self._schedule()

    def _load_once(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        directory = self._cache_directory()
        if directory is None:
            return
        self._cache_path = notes_cache.cache_file(directory, self.url, self.notebook)
        etag, notes = notes_cache.load(self._cache_path, self.url, self.notebook)
        if notes and not self.notes:
            self.etag, self.notes = etag, notes

    def _ask(self) -> None:
        headers = {"If-None-Match": self.etag} if self.etag else None
        try:
            answer = self.transport.request(
                "GET", notes_url(self.url, self.notebook), timeout=self.timeout, headers=headers
            )
        except TransportError as error:
            logger.info("notebook_error_reporter: notes not refreshed (%s); keeping the last ones", error)
            return
        if answer.status == 304:
            return
        notes = parse_notes(answer.data) if answer.status == 200 else None
        if notes is None:
            logger.info("notebook_error_reporter: notes not refreshed (HTTP %s)", answer.status)
            return
        etag = answer.headers.get("etag")
        self.etag, self.notes = etag, notes
        if self._cache_path is not None:
            notes_cache.save(self._cache_path, self.url, self.notebook, etag, notes)

    def _schedule(self) -> None:
        with self._lock:
            if not self._running:
                return
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(self.interval, self.request_refresh)
            timer.daemon = True
            self._timer = timer
        timer.start()


def spool_directory(location: str) -> Optional[str]:
    """The directory of a spool file, None for an in-memory spool (the notes then stay in memory)."""
    if not location or location == ":memory:":
        return None
    return os.path.dirname(location) or None
