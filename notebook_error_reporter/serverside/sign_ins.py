"""The dashboard's live sign-ins, kept in the database so that signing out ends a sign-in everywhere.

A sign-in cookie (``pages/_signing.py``) names a random sign-in id; the cookie counts only while
that id is listed here. Signing out deletes it, so a copy of the cookie taken before stops
working in every worker and after restarts. The ids live in the ``server_secret`` table as
``sign_in:<id>`` with their issue time (12 digits, so that text order is time order); starting a
sign-in also drops those past the cookie's max age.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from .models import ServerSecret

PREFIX = "sign_in:"


def _issued_text(issued: int) -> str:
    return f"{issued:012d}"


def start(session: Session, sign_in_id: str, issued: int, expired_before: int) -> None:
    """List a new sign-in (committed), and forget those issued before ``expired_before``."""
    session.execute(
        delete(ServerSecret).where(
            col(ServerSecret.name).startswith(PREFIX, autoescape=True),
            col(ServerSecret.value) < _issued_text(expired_before),
        )
    )
    session.execute(insert(ServerSecret).values(name=PREFIX + sign_in_id, value=_issued_text(issued)))
    session.commit()


def is_live(session: Session, sign_in_id: str) -> bool:
    found = session.execute(
        select(col(ServerSecret.name)).where(col(ServerSecret.name) == PREFIX + sign_in_id)
    ).first()
    return found is not None


def end(session: Session, sign_in_id: str) -> None:
    """Sign out (committed): the sign-in's cookie stops working everywhere."""
    session.execute(delete(ServerSecret).where(col(ServerSecret.name) == PREFIX + sign_in_id))
    session.commit()
