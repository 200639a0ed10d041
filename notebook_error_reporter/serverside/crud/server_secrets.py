"""The server's own secrets (keys it makes once and every worker shares), stored in the database."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import ServerSecret


def server_secret(*, session: Session, name: str, make: Callable[[], str]) -> str:
    """The secret called ``name``, made with ``make()`` by whichever worker asks first (committed)."""
    found = session.get(ServerSecret, name)
    if found is None:
        try:
            with session.begin_nested():
                session.execute(insert(ServerSecret).values(name=name, value=make()))
        except IntegrityError:
            pass
        session.commit()
        found = session.get(ServerSecret, name)
    else:
        session.commit()
    if found is None:  # pragma: no cover - inserted or found above
        raise RuntimeError(f"server secret {name!r} could not be stored")
    return found.value
