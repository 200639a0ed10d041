"""What one app instance holds for its whole life: settings, database, limiter, networks, known ids,
the write path's entry.

Kept on ``app.state.server`` so that two apps in one process (tests, a host embedding two servers)
never share anything by accident.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Dict, Tuple

from .core.colab_ranges import IPNetwork, parse_networks
from .core.config import Settings
from .core.db import Database
from .ingest import Ingestion, KnownIds
from .ratelimit import RateLimiter

ADDRESS_SECRET_NAME = "address_hash_key"
DASHBOARD_SECRET_NAME = "dashboard_signing_key"
SESSION_LABEL_SECRET_NAME = "session_label_key"


@dataclass
class ServerState:
    settings: Settings
    database: Database
    limiter: RateLimiter
    colab_networks: Tuple[IPNetwork, ...]
    trusted_proxies: Tuple[IPNetwork, ...]
    # Ids that never change (notebooks, sessions, issues), remembered between transactions.
    known_ids: KnownIds = field(default_factory=KnownIds)
    # Where reports are stored (the write path's entry, ingest/scheduling.py).
    ingestion: Ingestion = field(init=False)
    _secrets: Dict[str, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.ingestion = Ingestion(self.database, self.known_ids)

    @classmethod
    def create(cls, settings: Settings) -> ServerState:
        return cls(
            settings=settings,
            database=Database(settings.database_url),
            limiter=RateLimiter(
                settings.ratelimit_storage_url,
                per_address=settings.rate_limit_address,
                per_session=settings.rate_limit_session,
                token_failures=settings.rate_limit_token_failures,
            ),
            colab_networks=parse_networks(settings.colab_networks),
            trusted_proxies=parse_networks(settings.trusted_proxies),
        )

    def address_secret(self) -> bytes:
        """The HMAC key for addresses: made once per database, so every worker hashes alike."""
        return self._secret(ADDRESS_SECRET_NAME)

    def dashboard_secret(self) -> bytes:
        """The key that signs the dashboard's cookies and CSRF tokens (see pages/_signing.py).

        Its own key, not the address key: each secret has one use, so neither can leak the other.
        """
        return self._secret(DASHBOARD_SECRET_NAME)

    def session_label_secret(self) -> bytes:
        """The key of the session labels public reads show instead of session ids (session_labels.py)."""
        return self._secret(SESSION_LABEL_SECRET_NAME)

    def has_secret(self, name: str) -> bool:
        """Whether the secret ``name`` is read already (asking for it then never waits)."""
        return name in self._secrets

    def _secret(self, name: str) -> bytes:
        """The server secret ``name``, read (or made) once per database and cached for the app's life."""
        found = self._secrets.get(name)
        if found is None:
            with self._lock:
                found = self._secrets.get(name)
                if found is None:
                    from .crud.server_secrets import server_secret

                    with self.database.write_session() as session:
                        value = server_secret(
                            session=session, name=name, make=lambda: secrets.token_hex(32)
                        )
                    found = self._secrets[name] = bytes.fromhex(value)
        return found
