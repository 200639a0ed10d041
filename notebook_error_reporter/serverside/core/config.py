"""The server's settings: one frozen dataclass, filled from arguments, then environment, then defaults.

Every setting has one environment variable, ``NOTEBOOK_ERROR_REPORTER_<NAME>`` (plus the customary
``DATABASE_URL`` and ``RATELIMIT_STORAGE_URL``), because uvicorn's worker processes rebuild the app
from the environment: ``to_env()`` and ``from_env()`` are exact inverses. The defaults are the safe
choices: listen on loopback only, no reads without the admin token, no proxy trusted.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple

from ..colab_ranges import GOOGLE_PREFIXES, parse_networks, split_prefixes

PREFIX = "NOTEBOOK_ERROR_REPORTER_"
DEFAULT_DATABASE_FILE = "notebook_errors.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_FILE}"
# Besides the prefixed names, these are read too (the usual names in deployment tooling).
ALIASES = {"database_url": "DATABASE_URL", "ratelimit_storage_url": "RATELIMIT_STORAGE_URL"}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
# An empty variable (``SLACK_WEBHOOK_URL=`` in an env file) means "not configured".
_EMPTY_IS_UNSET = {"slack_webhook_url", "alert_webhook_url", "public_base_url"}


def normalise_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` go through psycopg 3; a relative SQLite path becomes absolute.

    Absolute, so that uvicorn workers (and a later ``purge``) open the same file whatever their
    working directory.
    """
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        path = url[len("sqlite:///") :]
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
            query = "?" + query
        if path and path != ":memory:":
            return "sqlite:///" + os.path.abspath(path) + query
    return url


def sqlite_path(database_url: str) -> Optional[str]:
    """The file of a SQLite URL, or None (another database, or in memory)."""
    if not database_url.startswith("sqlite:///"):
        return None
    path = database_url[len("sqlite:///") :].split("?", 1)[0]
    return None if not path or path == ":memory:" else path


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLI and the workers need to agree on."""

    database_url: str = DEFAULT_DATABASE_URL
    admin_token: Optional[str] = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    debug: bool = False
    max_transparency: bool = False
    colab_only: bool = False
    # Where Colab reports may come from; see colab_ranges.py for the source of the default.
    colab_networks: Tuple[str, ...] = GOOGLE_PREFIXES
    # Reverse proxies whose X-Forwarded-For is believed; nobody's by default.
    trusted_proxies: Tuple[str, ...] = ()
    # The client sends batches of at most 1 MB; twice that leaves room for 0.1 clients' long messages.
    max_body_bytes: int = 2 * 1024 * 1024
    # ``limits`` notation. Counted per request (a batch is one), so a client catching up after a week
    # offline is slowed down, never locked out.
    rate_limit_address: str = "300/minute"
    rate_limit_session: str = "120/minute"
    # Wrong admin tokens (API bearer or dashboard sign-in) per address: a typo costs nothing, a
    # guesser gets 429s. The right token is never counted.
    rate_limit_token_failures: str = "20/minute"
    ratelimit_storage_url: str = "memory://"
    # Days of events to keep (purged at start-up and by the purge command); None keeps everything.
    retention_days: Optional[int] = None
    # Run the Alembic migrations when the app starts (the CLI does it once before forking workers).
    migrate: bool = True
    # Alerts (see alerts/): a Slack incoming webhook and/or a generic JSON webhook, told about new
    # issues and regressions. The URLs are secrets: they are never logged nor shown.
    slack_webhook_url: Optional[str] = None
    alert_webhook_url: Optional[str] = None
    # Where people reach this server; alert links are {public_base_url}/issues/{id}. Default:
    # http://{host}:{port}.
    public_base_url: Optional[str] = None
    # After a message, further alerts within this many seconds wait and go out as one digest.
    alert_digest_seconds: float = 60.0
    # How often the deliverer looks for pending alerts, and its retry back-off (first wait, cap).
    alert_poll_seconds: float = 2.0
    alert_retry_base_seconds: float = 2.0
    alert_retry_max_seconds: float = 600.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "database_url", normalise_database_url(self.database_url))
        parse_networks(self.colab_networks)
        parse_networks(self.trusted_proxies)
        from limits import parse

        for name in ("rate_limit_address", "rate_limit_session", "rate_limit_token_failures"):
            try:
                parse(getattr(self, name))
            except ValueError as error:
                raise ValueError(f"{name}: not a rate limit such as '120/minute': {error}") from error
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be 1-65535, not {self.port}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_body_bytes < 1024:
            raise ValueError("max_body_bytes must be at least 1024")
        if self.retention_days is not None and self.retention_days < 1:
            raise ValueError("retention_days must be at least 1 (or unset to keep everything)")
        if self.admin_token is not None and len(self.admin_token) < 16:
            raise ValueError("the admin token must be at least 16 characters")
        _check_alert_settings(self)

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> Settings:
        """Settings from ``overrides`` (None means "not given"), then the environment, then defaults."""
        env = os.environ if environ is None else environ
        values: Dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            given = overrides.pop(item.name, None)
            if given is not None:
                values[item.name] = _coerce(item.name, given, item.type)
                continue
            raw = env.get(PREFIX + item.name.upper())
            if raw is None and item.name in ALIASES:
                raw = env.get(ALIASES[item.name])
            if raw is None and item.name == "admin_token":
                raw = _read_token_file(env.get(PREFIX + "ADMIN_TOKEN_FILE"))
            if raw is not None:
                values[item.name] = _coerce(item.name, raw, item.type)
        if overrides:
            raise TypeError(f"unknown settings: {', '.join(sorted(overrides))}")
        return cls(**values)

    def to_env(self) -> Dict[str, str]:
        """The environment that makes ``from_env`` rebuild exactly these settings (for workers)."""
        env: Dict[str, str] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if isinstance(value, bool):
                text = "1" if value else "0"
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            env[PREFIX + item.name.upper()] = text
        return env

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _check_alert_settings(settings: Settings) -> None:
    """Refuse unusable alert settings by name; never repeat a webhook URL (it is a secret)."""
    for name in ("slack_webhook_url", "alert_webhook_url", "public_base_url"):
        value = getattr(settings, name)
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{name}: expected an http:// or https:// URL")
    if settings.public_base_url is not None:
        object.__setattr__(settings, "public_base_url", settings.public_base_url.rstrip("/"))
    if settings.alert_digest_seconds < 0:
        raise ValueError("alert_digest_seconds must be 0 or more")
    for name in ("alert_poll_seconds", "alert_retry_base_seconds", "alert_retry_max_seconds"):
        if not getattr(settings, name) > 0:
            raise ValueError(f"{name} must be more than 0")


def _read_token_file(path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read().strip() or None


def _coerce(name: str, value: Any, annotation: Any) -> Any:
    """Environment strings (and CLI values) to the field's type, with an error naming the setting."""
    kind = str(annotation)
    if not isinstance(value, str):
        if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if "Tuple" in kind and not isinstance(value, tuple):
            return tuple(value)
        return value
    text = value.strip()
    if kind == "bool":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(f"{PREFIX}{name.upper()}: expected 1/0, true/false, yes/no, not {value!r}")
    if kind in ("int", "Optional[int]"):
        if kind == "Optional[int]" and text == "":
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{PREFIX}{name.upper()}: expected a whole number, not {value!r}") from None
    if kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{PREFIX}{name.upper()}: expected a number, not {value!r}") from None
    if "Tuple" in kind:
        return split_prefixes(text)
    if name in _EMPTY_IS_UNSET and text == "":
        return None
    return value
