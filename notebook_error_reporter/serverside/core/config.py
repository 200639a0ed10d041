"""The server's settings: one typed, frozen object read from flags, environment variables and ``.env``.

Every setting has one name used everywhere: the field below, the flag ``--<name-with-dashes>``, the
environment variable ``NOTEBOOK_ERROR_REPORTER_<NAME>`` (plus the customary ``DATABASE_URL`` and
``RATELIMIT_STORAGE_URL``), and the same variable in an optional ``.env`` file in the working
directory. A flag wins over the environment, the environment over ``.env``, ``.env`` over the
default. uvicorn's worker processes rebuild the settings from the environment: ``to_env()`` and
``from_env()`` are exact inverses. The defaults are the safe choices: listen on loopback only, no
reads without the admin token, no proxy trusted.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Dict, Literal, Mapping, Optional, Tuple

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, PydanticBaseSettingsSource

from .colab_ranges import GOOGLE_PREFIXES, parse_networks, split_prefixes

PREFIX = "NOTEBOOK_ERROR_REPORTER_"
DEFAULT_DATABASE_FILE = "notebook_errors.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_FILE}"
ENV_FILE = ".env"
# Besides the prefixed names, these are read too (the usual names in deployment tooling).
ALIASES = {"database_url": "DATABASE_URL", "ratelimit_storage_url": "RATELIMIT_STORAGE_URL"}
# A list of networks: comma/space separated, or @file (see colab_ranges.py).
Networks = Annotated[Tuple[str, ...], NoDecode]


class SettingsError(ValueError):
    """A setting that cannot be used, said in one line naming its flag and variable."""


def _env(name: str, description: str, default: Any = None, **more: Any) -> Any:
    """A field read from ``NOTEBOOK_ERROR_REPORTER_<NAME>`` (and its customary alias, if any)."""
    names = [PREFIX + name.upper()] + ([ALIASES[name]] if name in ALIASES else []) + [name]
    return Field(default, description=description, validation_alias=AliasChoices(*names), **more)


class Settings(BaseSettings):
    """Everything the app, the CLI and the workers need to agree on."""

    model_config = {
        "frozen": True,
        "extra": "ignore",
        "populate_by_name": True,
        "env_file": ENV_FILE,
        "env_ignore_empty": True,  # ``SLACK_WEBHOOK_URL=`` in an env file means "not configured"
        "case_sensitive": False,
        "validate_default": True,
    }

    host: str = _env("host", "address to listen on; 127.0.0.1 is this machine only", "127.0.0.1")
    port: int = _env("port", "port to listen on", 8000, ge=1, le=65535)
    database_url: str = _env(
        "database_url",
        "SQLAlchemy URL: a SQLite file, or postgresql://user:password@host/dbname (extra [postgres])",
        DEFAULT_DATABASE_URL,
    )
    admin_token: Optional[str] = _env(
        "admin_token", "admin token (16+ characters); unset: made at first start, kept beside the database"
    )
    admin_token_file: Optional[str] = _env("admin_token_file", "read the admin token from this file")
    workers: int = _env("workers", "uvicorn worker processes", 1, ge=1)
    debug: bool = _env("debug", "FastAPI's debug mode (tracebacks in answers): never in production", False)
    max_transparency: bool = _env("max_transparency", "let anybody read all reports and the dashboard", False)
    colab_only: bool = _env("colab_only", "accept reports from Google's networks (Colab) only", False)
    colab_networks: Networks = _env(
        "colab_networks",
        "networks counted as Colab: CIDRs (comma-separated), or @goog.json or @list.txt",
        GOOGLE_PREFIXES,
    )
    trusted_proxies: Networks = _env(
        "trusted_proxies", "reverse proxies (CIDRs) whose X-Forwarded-For is believed", ()
    )
    max_body_bytes: int = _env("max_body_bytes", "largest request body accepted", 2 * 1024 * 1024, ge=1024)
    header_timeout_seconds: float = _env(
        "header_timeout_seconds",
        "a request's head must arrive within this long of connecting or of the last answer, else 408",
        10.0,
        gt=0,
        le=3600,
    )
    body_timeout_seconds: float = _env(
        "body_timeout_seconds",
        "a request's body must arrive within this long of its head, else 408",
        20.0,
        gt=0,
        le=3600,
    )
    max_connections: int = _env(
        "max_connections", "connections a worker process holds at once; past it, 503", 1000, ge=10
    )
    rate_limit_address: str = _env(
        "rate_limit_address", "reports per client address (a batch costs its reports)", "300/minute"
    )
    rate_limit_session: str = _env("rate_limit_session", "reports per notebook session", "120/minute")
    rate_limit_token_failures: str = _env(
        "rate_limit_token_failures", "wrong admin tokens per address before 429", "20/minute"
    )
    ratelimit_storage_url: str = _env(
        "ratelimit_storage_url",
        "where rate limits are counted: memory://, or redis://host (extra [redis])",
        "memory://",
    )
    retention_days: Optional[int] = _env(
        "retention_days", "days of reports to keep (purged at start); unset keeps everything", None, ge=1
    )
    migrate: bool = _env("migrate", "bring the database schema up to date when the app starts", True)
    slack_webhook_url: Optional[str] = _env(
        "slack_webhook_url", "Slack incoming webhook told about new issues and regressions"
    )
    alert_webhook_url: Optional[str] = _env("alert_webhook_url", "a URL that gets the same alerts as JSON")
    public_base_url: Optional[str] = _env(
        "public_base_url", "this server as people reach it, for links; default http://HOST:PORT"
    )
    alert_digest_seconds: float = _env(
        "alert_digest_seconds", "alerts this soon after a message go out as one digest", 60.0, ge=0
    )
    alert_poll_seconds: float = _env("alert_poll_seconds", "how often alerts are looked for", 2.0, gt=0)
    alert_retry_base_seconds: float = _env(
        "alert_retry_base_seconds", "first wait before a failed alert is retried", 2.0, gt=0
    )
    alert_retry_max_seconds: float = _env(
        "alert_retry_max_seconds", "longest wait between retries of a failed alert", 600.0, gt=0
    )
    log_level: Literal["debug", "info", "warning", "error", "critical"] = _env(
        "log_level", "least important log lines written", "info"
    )
    log_format: Literal["text", "json"] = _env(
        "log_format", "log lines as text, or one JSON object a line for machines", "text"
    )
    log_summary_seconds: float = _env(
        "log_summary_seconds", "how often a line sums up the reports stored (when there were any)", 60.0, gt=0
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:  # pydantic's message repeats the value: it may be a secret
            raise SettingsError(describe_error(error)) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> Tuple[PydanticBaseSettingsSource, ...]:
        environ = _GIVEN_ENVIRON.get()
        if environ is None:
            return init_settings, env_settings, dotenv_settings
        return init_settings, _MappingSource(settings_cls, environ)

    @field_validator("colab_networks", "trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = split_prefixes(value)
        elif isinstance(value, (list, tuple)):
            value = tuple(part for item in value for part in split_prefixes(str(item)))
        parse_networks(value)
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("rate_limit_address", "rate_limit_session", "rate_limit_token_failures")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as error:
            raise ValueError(f"not a rate limit such as '120/minute': {error}") from None
        return value

    @field_validator("slack_webhook_url", "alert_webhook_url", "public_base_url")
    @classmethod
    def _http_url(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")  # never repeat it: it may be a secret
        return value.rstrip("/") if value is not None else None

    @field_validator("admin_token")
    @classmethod
    def _token_length(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and len(value) < 16:
            raise ValueError("the admin token must be at least 16 characters")
        return value

    @model_validator(mode="before")
    @classmethod
    def _token_from_file(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        token = _first(values, "admin_token")
        path = _first(values, "admin_token_file")
        if not path:
            return values
        try:
            stored = Path(path).read_text(encoding="utf-8").strip() or None
        except OSError as error:
            named = f"admin_token_file ({flag('admin_token_file')}, {variable('admin_token_file')})"
            raise ValueError(f"{named}: cannot read {path}: {error.strerror}") from None
        if token is not None and token != stored:  # workers get the file (to_env): both must agree
            raise ValueError("admin_token and admin_token_file disagree: give one of them")
        return {**values, "admin_token": stored}

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None, **overrides: Any) -> Settings:
        """Settings from ``overrides`` (None means "not given"), then the environment, then defaults.

        Without ``environ``: the process's environment, then ``.env``. Raises SettingsError.
        """
        unknown = sorted(set(overrides) - set(cls.model_fields))
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(unknown)}")
        given = {name: value for name, value in overrides.items() if value is not None}
        if environ is None:
            check_dotenv(ENV_FILE)
        token = _GIVEN_ENVIRON.set(environ)
        try:
            return cls(**given)
        finally:
            _GIVEN_ENVIRON.reset(token)

    def to_env(self) -> Dict[str, str]:
        """The environment that makes ``from_env`` rebuild exactly these settings (for workers).

        A token read from a file travels as the file's name, not as the token.
        """
        env: Dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or (name == "admin_token" and self.admin_token_file):
                continue
            if isinstance(value, bool):
                text = "1" if value else "0"
            elif isinstance(value, tuple):
                text = ",".join(value)
            else:
                text = str(value)
            env[variable(name)] = text
        return env

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, validated like the original."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as error:
            raise SettingsError(describe_error(error)) from None


_GIVEN_ENVIRON: ContextVar[Optional[Mapping[str, str]]] = ContextVar("given_environ", default=None)


class _MappingSource(EnvSettingsSource):
    """Environment variables from a given mapping instead of the process's."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, Optional[str]]:
        # As pydantic-settings reads os.environ: names in lower case (not case-sensitive), no empty values.
        return {name.lower(): value for name, value in self._given.items() if value != ""}


def _first(values: Mapping[str, Any], name: str) -> Any:
    """A value given under the field's name or any of its aliases (in any case)."""
    names = {name, variable(name).lower(), ALIASES.get(name, "").lower()}
    for key, value in values.items():
        if key.lower() in names and value is not None:
            return value
    return None


def check_dotenv(path: str) -> None:
    """Refuse a ``.env`` file with a line that is not ``NAME=value`` (python-dotenv would skip it,
    and the setting it meant, with a bare warning); no file is fine. Raises SettingsError."""
    from dotenv.parser import parse_stream

    try:
        with open(path, encoding="utf-8") as handle:
            bad = next((binding for binding in parse_stream(handle) if binding.error), None)
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: cannot be read: {getattr(error, 'strerror', None) or error}") from None
    if bad is not None:
        raise SettingsError(f"{path}: line {bad.original.line} is not NAME=value (a quote left open?)")


def variable(name: str) -> str:
    """The environment variable of a setting."""
    return PREFIX + name.upper()


def flag(name: str) -> str:
    """The command-line flag of a setting."""
    return "--" + name.replace("_", "-")


_PLAIN_WORDS = {
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_parsing": "expected a number",
    "bool_parsing": "expected 1/0, true/false, yes/no or on/off",
}


def describe_error(error: ValidationError) -> str:
    """One line: which setting (its name, flag and variable) and what is wrong with it."""
    first = error.errors(include_url=False)[0]
    field = _field_of(str(first["loc"][0]) if first["loc"] else "")
    message = _PLAIN_WORDS.get(first["type"]) or str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in _PLAIN_WORDS and not (field and field.endswith(("token", "url"))):
        message += f", not {first['input']!r}"
    if not field:
        return message
    return f"{field} ({flag(field)}, {variable(field)}): {message}"


def _field_of(location: str) -> str:
    if not location:  # a check of several settings at once: its message names them
        return ""
    for name in Settings.model_fields:
        if location.lower() in (name, variable(name).lower(), ALIASES.get(name, "").lower()):
            return name
    return ""


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
