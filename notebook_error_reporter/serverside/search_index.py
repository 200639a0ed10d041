"""The issues search index: one row of text per issue (``search.issue_text``), written when an issue
is born, and the condition that finds issues by it.

SQLite keeps it in an FTS5 table with the trigram tokenizer (``issue_search``, the issue id as its
rowid): a word of three characters or more is a phrase ``MATCH`` through the index, a shorter one a
``LIKE`` on the rows found (or on all of them, one per issue, when every word is short).
PostgreSQL keeps it in a plain table with a ``pg_trgm`` GIN index, which serves ``ILIKE '%word%'``.
Either way the cost follows the number of issues, never the number of reports. Migration 0004
makes the table and fills it for the issues stored before; ``regroup`` rebuilds it. No foreign key:
a row left by a deleted issue matches nothing, as the condition is on the issue table's ids.
"""

from __future__ import annotations

from typing import Dict, List

from sqlalchemy import Connection, and_, column, delete, func, insert, select, table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.sql.elements import ColumnElement

from .models import EVENT, ISSUE
from .search import SHORTEST_INDEXED_TERM, fts5_phrase, issue_text, like_pattern

TABLE = "issue_search"
# SQLite's FTS5 table (rowid = the issue id) and PostgreSQL's plain one (issue_id) share the name.
_fts5 = table(TABLE, column("rowid"), column("text"))
_pg = table(TABLE, column("issue_id"), column("text"))


def add_issues(connection: Connection, texts: Dict[int, str]) -> None:
    """Index (or index again) the issues ``texts`` names, in the caller's transaction."""
    if not texts:
        return
    if connection.dialect.name == "postgresql":
        rows = [{"issue_id": issue_id, "text": text} for issue_id, text in sorted(texts.items())]
        statement = pg_insert(_pg).values(rows)
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["issue_id"], set_={"text": statement.excluded.text}
            )
        )
        return
    ids = sorted(texts)
    connection.execute(delete(_fts5).where(_fts5.c.rowid.in_(ids)))
    connection.execute(insert(_fts5), [{"rowid": issue_id, "text": texts[issue_id]} for issue_id in ids])


def issues_matching(dialect: str, issue_id: ColumnElement, terms: List[str]) -> ColumnElement:
    """A condition on ``issue_id``: the issue's text holds every one of ``terms`` (not empty)."""
    if dialect == "postgresql":
        found = select(_pg.c.issue_id).where(
            and_(*(_pg.c.text.ilike(like_pattern(term), escape="\\") for term in terms))
        )
        return issue_id.in_(found)
    long_terms = [term for term in terms if len(term) >= SHORTEST_INDEXED_TERM]
    conditions: List[ColumnElement] = []
    if long_terms:
        conditions.append(_fts5.c.text.op("MATCH")(" AND ".join(fts5_phrase(term) for term in long_terms)))
    conditions.extend(
        _fts5.c.text.like(like_pattern(term), escape="\\")
        for term in terms
        if len(term) < SHORTEST_INDEXED_TERM
    )
    return issue_id.in_(select(_fts5.c.rowid).where(and_(*conditions)))


def rebuild(connection: Connection) -> int:
    """Index every issue afresh (after ``regroup``, which makes, merges and deletes issues); how many."""
    connection.execute(delete(_pg if connection.dialect.name == "postgresql" else _fts5))
    return index_unindexed(connection)


def index_unindexed(connection: Connection, chunk: int = 500) -> int:
    """Index every issue that has no text yet (migration 0004 for the issues stored before it), from
    the issue row and its oldest stored report; how many were indexed."""
    if connection.dialect.name == "postgresql":
        indexed = select(_pg.c.issue_id)
    else:
        indexed = select(_fts5.c.rowid)
    missing = list(
        connection.scalars(select(ISSUE.c.id).where(ISSUE.c.id.not_in(indexed)).order_by(ISSUE.c.id))
    )
    for start in range(0, len(missing), chunk):
        ids = missing[start : start + chunk]
        oldest = select(func.min(EVENT.c.id)).where(EVENT.c.issue_id.in_(ids)).group_by(EVENT.c.issue_id)
        firsts = {
            issue_id: (first_line, frames or [])
            for issue_id, first_line, frames in connection.execute(
                select(EVENT.c.issue_id, EVENT.c.first_line, EVENT.c.traceback).where(EVENT.c.id.in_(oldest))
            )
        }
        texts = {}
        for issue_id, error_name, message, culprit in connection.execute(
            select(ISSUE.c.id, ISSUE.c.error_name, ISSUE.c.message, ISSUE.c.culprit).where(
                ISSUE.c.id.in_(ids)
            )
        ):
            first_line, frames = firsts.get(issue_id, ("", []))
            texts[issue_id] = issue_text(error_name, message, first_line, frames, culprit)
        add_issues(connection, texts)
    return len(missing)
