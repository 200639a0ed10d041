"""SQLite: a Core statement compiled once, its rows handed to the sqlite3 driver as plain tuples.

A statement is compiled once (cached here) into its SQL text and, for each ``?``, which row and
column its value comes from and the bind processor of that column's type; each call makes the
driver's parameters in one pass and hands them to ``exec_driver_sql``: an executemany of one tuple
per row, or, when rows must come back (sqlite3's executemany returns none), one execute of a
multi-row ``VALUES`` list. A bind the rows do not supply must be a constant of the statement (a
column default such as ``source='v1'``); a default computed per row is refused when the statement
is compiled. docs/performance.md says why SQLAlchemy's per-row parameter work is skipped.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import Connection, Table, bindparam
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.schema import ScalarElementColumnDefault

_Processor = Optional[Callable[[Any], Any]]
# The rows of one multi-row VALUES statement: SQLite takes up to 32,766 parameters per statement.
MAX_ROWS_PER_STATEMENT = 500


@dataclass(frozen=True)
class _Slot:
    """Where one ``?`` gets its value: ``row`` and ``name`` (``row`` -1: the constant ``value``)."""

    row: int
    name: str
    process: _Processor
    value: Any = None


@dataclass(frozen=True)
class _Part:
    """Consecutive ``?`` of one row (``get`` takes their values out of it in one C call), or one
    constant (``row`` -1, ``value``); ``processed`` names the positions whose type has a processor,
    with that processor's index in the statement's ``processors``."""

    row: int
    get: Callable[[Mapping[str, Any]], Tuple[Any, ...]]
    processed: Tuple[Tuple[int, int], ...]
    value: Any = None


def _parts(slots: Sequence[_Slot], processors: List[Callable[[Any], Any]]) -> Tuple[_Part, ...]:
    """``slots`` as runs of one row each (and constants alone), so that a row's values come out of
    its mapping at once rather than one lookup and one test per ``?``."""
    parts: List[_Part] = []
    start = 0
    while start < len(slots):
        slot = slots[start]
        if slot.row < 0:
            parts.append(_Part(-1, _no_values, (), slot.value))
            start += 1
            continue
        end = start
        while end < len(slots) and slots[end].row == slot.row:
            end += 1
        run = slots[start:end]
        processed: List[Tuple[int, int]] = []
        for position, each in enumerate(run):
            if each.process is not None:
                if each.process not in processors:
                    processors.append(each.process)
                processed.append((position, processors.index(each.process)))
        names = [each.name for each in run]
        get = operator.itemgetter(*names) if len(names) > 1 else _one_tuple(names[0])
        parts.append(_Part(slot.row, get, tuple(processed)))
        start = end
    return tuple(parts)


def _no_values(_row: Mapping[str, Any]) -> Tuple[Any, ...]:
    return ()


def _one_tuple(name: str) -> Callable[[Mapping[str, Any]], Tuple[Any, ...]]:
    def get(row: Mapping[str, Any]) -> Tuple[Any, ...]:
        return (row[name],)

    return get


class DriverStatement:
    """A compiled statement: its SQL text and how to make the driver's parameters from rows."""

    def __init__(self, sql: str, slots: Tuple[_Slot, ...]) -> None:
        self.sql = sql
        self.slots = slots
        self._processors: List[Callable[[Any], Any]] = []
        self._parts = _parts(slots, self._processors)

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> Tuple[Any, ...]:
        """The values of every ``?``, in order, for a statement compiled for ``len(rows)`` rows."""
        return self._values(rows, [{} for _ in self._processors])

    def parameters_each(self, rows: Sequence[Mapping[str, Any]]) -> List[Tuple[Any, ...]]:
        """``parameters((row,))`` for every row of an executemany, objects shared between the
        rows processed once for all of them."""
        memos: List[Dict[int, Any]] = [{} for _ in self._processors]
        return [self._values((row,), memos) for row in rows]

    def _values(self, rows: Sequence[Mapping[str, Any]], memos: List[Dict[int, Any]]) -> Tuple[Any, ...]:
        # An object met again (the arrival time of every row, a shared client dict, a name bound
        # twice) is processed once: the rows keep every object alive, so an id is never reused here.
        values: List[Any] = []
        processors = self._processors
        for part in self._parts:
            if part.row < 0:
                values.append(part.value)
                continue
            got = part.get(rows[part.row])
            if not part.processed:
                values.extend(got)
                continue
            made = list(got)
            for position, which in part.processed:
                value = made[position]
                memo = memos[which]
                key = id(value)
                if key in memo:
                    made[position] = memo[key]
                else:
                    made[position] = memo[key] = processors[which](value)
            values.extend(made)
        return tuple(values)


def compile_statement(
    statement: Any, dialect: Dialect, rows_of: Dict[str, Tuple[int, str]]
) -> DriverStatement:
    """``statement`` as SQL text and slots; ``rows_of`` maps a bind's name to (row, column name),
    and a bind absent from it keeps its own constant value."""
    compiled = statement.compile(dialect=dialect)
    if compiled.insert_prefetch or compiled.update_prefetch:  # defaults SQLAlchemy computes per execution
        raise TypeError("the statement has column defaults that would be computed per row; supply them")
    slots: List[_Slot] = []
    # One processor per type, so that the values of one column share it (and the memo of
    # ``parameters``, keyed by processor, finds a shared object in every row).
    processors: Dict[int, _Processor] = {}
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        if id(bind.type) not in processors:
            processors[id(bind.type)] = bind.type.dialect_impl(dialect).bind_processor(dialect)
        process = processors[id(bind.type)]
        if name in rows_of:
            row, column = rows_of[name]
            slots.append(_Slot(row, column, process))
        elif bind.callable is not None or bind.required:
            raise TypeError(f"{name}: a value computed per row or required; the rows must supply it")
        else:
            value = bind.value
            slots.append(_Slot(-1, name, None, value if process is None else process(value)))
    return DriverStatement(compiled.string, tuple(slots))


@functools.lru_cache(maxsize=64)
def _each_row(statement: Any, dialect: Dialect) -> DriverStatement:
    names = statement.compile(dialect=dialect).positiontup
    return compile_statement(statement, dialect, {name: (0, name) for name in names})


def executemany(connection: Connection, statement: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """``connection.execute(statement, rows)`` for a statement whose binds are named after the rows'
    keys, with the rows as the driver's tuples."""
    if rows:
        compiled = _each_row(statement, connection.dialect)
        connection.exec_driver_sql(compiled.sql, compiled.parameters_each(rows))


@functools.lru_cache(maxsize=256)
def _insert(
    dialect: Dialect,
    table: Table,
    names: Tuple[str, ...],
    count: int,
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
) -> DriverStatement:
    """The insert of ``count`` rows: the one-row statement with its VALUES group repeated.

    Compiling a statement of N rows through SQLAlchemy costs about 0.1 ms a bind; under a crowd
    the number of new rows differs from one transaction to the next, and such compiles took a
    third of the ingest's time for batches."""
    one = _compiled_insert(dialect, table, names, 1, keys, returning)
    return one if count == 1 else repeated(one, count) or _compiled_insert(
        dialect, table, names, count, keys, returning
    )


def repeated(one: DriverStatement, count: int) -> Optional[DriverStatement]:
    """A one-row ``... VALUES (?, ...) ...`` statement as ``count`` rows, each row's ``?`` taking
    its values from its own row; None unless every ``?`` is in a VALUES group of plain ``?``."""
    start = one.sql.find(" VALUES (")
    end = one.sql.find(")", start) + 1
    if start < 0 or end <= 0:
        return None
    start += len(" VALUES ")
    group = one.sql[start:end]
    if "(" in group[1:] or group.count("?") != len(one.slots) or "?" in one.sql[end:]:
        return None
    sql = one.sql[:start] + ", ".join([group] * count) + one.sql[end:]
    slots = tuple(
        _Slot(row, slot.name, slot.process) if slot.row >= 0 else slot
        for row in range(count)
        for slot in one.slots
    )
    return DriverStatement(sql, slots)


def _compiled_insert(
    dialect: Dialect,
    table: Table,
    names: Tuple[str, ...],
    count: int,
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
) -> DriverStatement:
    rows_of: Dict[str, Tuple[int, str]] = {}
    values: List[Dict[str, Any]] = []
    defaults = {c.name: c.default for c in table.columns if c.default is not None and c.name not in names}
    for row in range(count):
        values.append({})
        for name in names:
            bind = f"r{row}_{name}"
            rows_of[bind] = (row, name)
            values[-1][name] = bindparam(bind, type_=table.c[name].type)
        for name, default in defaults.items():  # a column default: the same constant in every row
            if not isinstance(default, ScalarElementColumnDefault):
                raise TypeError(f"{table.name}.{name}: a default computed per row; the rows must supply it")
            values[-1][name] = bindparam(f"r{row}_{name}", value=default.arg, type_=table.c[name].type)
    insert = sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=list(keys))
    returning_ids = insert.returning(*(table.c[name] for name in returning))
    return compile_statement(returning_ids, dialect, rows_of)


def insert_returning(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    keys: Tuple[str, ...],
    returning: Tuple[str, ...],
) -> List[Tuple[Any, ...]]:
    """``INSERT ... VALUES (...), ... ON CONFLICT (keys) DO NOTHING RETURNING returning`` of ``rows``
    (all with the keys of the first): the ``returning`` columns of the rows inserted, as the driver
    gives them (keys and ids: no result processing)."""
    found: List[Tuple[Any, ...]] = []
    names = tuple(rows[0]) if rows else ()
    for start in range(0, len(rows), MAX_ROWS_PER_STATEMENT):
        chunk = rows[start : start + MAX_ROWS_PER_STATEMENT]
        compiled = _insert(connection.dialect, table, names, len(chunk), keys, returning)
        found.extend(
            tuple(row) for row in connection.exec_driver_sql(compiled.sql, compiled.parameters(chunk))
        )
    return found
