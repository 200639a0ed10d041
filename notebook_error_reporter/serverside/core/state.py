"""What one app instance holds for its whole life: settings, database, limiter, parsed networks.

Kept on ``app.state.server`` so that two apps in one process (tests, a host embedding two servers)
never share anything by accident.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ..colab_ranges import IPNetwork, parse_networks
from ..ratelimit import RateLimiter
from .config import Settings
from .db import Database

ADDRESS_SECRET_NAME = "address_hash_key"


@dataclass
class ServerState:
    settings: Settings
    database: Database
    limiter: RateLimiter
    colab_networks: Tuple[IPNetwork, ...]
    trusted_proxies: Tuple[IPNetwork, ...]
    _address_secret: Optional[bytes] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings) -> ServerState:
        return cls(
            settings=settings,
            database=Database(settings.database_url),
            limiter=RateLimiter(
                settings.ratelimit_storage_url,
                per_address=settings.rate_limit_address,
                per_session=settings.rate_limit_session,
            ),
            colab_networks=parse_networks(settings.colab_networks),
            trusted_proxies=parse_networks(settings.trusted_proxies),
        )

    def address_secret(self) -> bytes:
        """The HMAC key for addresses: made once per database, so every worker hashes alike."""
        if self._address_secret is None:
            with self._lock:
                if self._address_secret is None:
                    from .. import crud

                    with self.database.write_session() as session:
                        value = crud.server_secret(
                            session=session, name=ADDRESS_SECRET_NAME, make=lambda: secrets.token_hex(32)
                        )
                    self._address_secret = bytes.fromhex(value)
        return self._address_secret
