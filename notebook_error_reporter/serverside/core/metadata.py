"""The metadata every table is declared on, with the naming convention its constraints follow.

Named constraints let the migrations name (and later alter) exactly what the models declare. Every
table module (``models.py``, ``alerts/models.py``) takes ``SQLModel`` from here, so the convention is
in place before the first table is declared.
"""

from __future__ import annotations

from sqlmodel import SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__all__ = ["SQLModel"]
