"""The collection server (extra ``[server]``): ``create_db()`` and ``create_app()``, as in version 0.1.

>>> from notebook_error_reporter.serverside import create_db, create_app
>>> create_db("sqlite:///errors.db")
>>> app = create_app("sqlite:///errors.db", admin_token="a long random secret")

Or from a shell: ``notebook-error-server`` (see ``cli.py``). The client package never imports this.
"""

from __future__ import annotations

from typing import Any, Optional

from fastapi import FastAPI

from .app import build_app
from .core import schema
from .core.config import Settings
from .core.db import Database

__all__ = ["Settings", "create_app", "create_db"]


def create_db(database_url: Optional[str] = None) -> None:
    """Create the database schema, or upgrade it to the newest version, by running the migrations.

    Without a URL: ``DATABASE_URL`` from the environment, else ``notebook_errors.db`` here.
    """
    _check_url(database_url)
    settings = Settings.from_env(database_url=database_url)
    database = Database(settings.database_url)
    try:
        schema.upgrade(database)
    finally:
        database.dispose()


def create_app(
    database_url: Optional[str] = None,
    *,
    debug: Optional[bool] = None,
    max_transparency: Optional[bool] = None,
    colab_only: Optional[bool] = None,
    admin_token: Optional[str] = None,
    slack_webhook_url: Optional[str] = None,
    alert_webhook_url: Optional[str] = None,
    public_base_url: Optional[str] = None,
    settings: Optional[Settings] = None,
    **options: Any,
) -> FastAPI:
    """The FastAPI app. Every argument left as None comes from the environment, else the safe default:

    ``max_transparency=False`` (reads need the admin token), ``colab_only=False``, ``debug=False``,
    no admin token (then admin routes answer 403), no alerts. ``slack_webhook_url`` (and/or a generic
    JSON ``alert_webhook_url``) get a message per new issue and per regression, linking to
    ``{public_base_url}/issues/{id}``. Further settings (``trusted_proxies``,
    ``rate_limit_address``, ...) are keyword arguments too; see ``core/config.py``. The 0.1 keyword
    arguments (``debug``, ``colab_only``, ``max_transparency``) keep working.
    """
    if settings is None:
        _check_url(database_url)
        settings = Settings.from_env(
            database_url=database_url,
            debug=debug,
            max_transparency=max_transparency,
            colab_only=colab_only,
            admin_token=admin_token,
            slack_webhook_url=slack_webhook_url,
            alert_webhook_url=alert_webhook_url,
            public_base_url=public_base_url,
            **options,
        )
    return build_app(settings)


def _check_url(database_url: object) -> None:
    if database_url is not None and not isinstance(database_url, str):
        raise TypeError(
            "create_app()/create_db() take the database URL first; pass 0.1's options by name, "
            "e.g. create_app(debug=True)"
        )
