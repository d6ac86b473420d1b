"""Statements over thousands of rows: one statement on PostgreSQL, executemany and IN-lists on SQLite.

PostgreSQL executes an executemany row by row (psycopg pipelines the rows, the server still runs
one statement each), and compiles and plans every `IN` list of N parameters anew: a cycle with
10,000 running servers spent 2.5 s there. So on PostgreSQL each column travels as one array
parameter and `unnest` makes a table of them again. SQLite runs in-process, where executemany and
IN-lists are already fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import ARRAY, Float, String, Text

CHUNK = 500
"""Bound on IN-lists, below every database's parameter limit."""


def takes_arrays(session: Session) -> bool:
    """Whether the database takes a whole column as one array parameter (PostgreSQL does)."""
    return session.get_bind().dialect.name == "postgresql"


def _array(column: ColumnElement[Any], values: list[Any]) -> ColumnElement[Any]:
    """`values` as one array parameter; psycopg needs one Python type per list (`60` in a float column)."""
    if isinstance(column.type, Float):
        values = [None if v is None else float(v) for v in values]
    # strings as text[]: a cast to varchar(n)[] would silently truncate, where storing into the
    # varchar(n) column raises on an over-long value
    element = Text() if isinstance(column.type, String) else column.type
    return bindparam(None, values, type_=ARRAY(element))


def matching(session: Session, column: ColumnElement[Any], keys: Sequence[Any]
             ) -> Iterator[ColumnElement[bool]]:
    """Conditions that together select the rows whose `column` is in `keys`, one query each."""
    if keys and takes_arrays(session):
        yield column == any_(_array(column, list(keys)))
        return
    for start in range(0, len(keys), CHUNK):
        yield column.in_(keys[start:start + CHUNK])


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys), in their order: ids grow along the list."""
    if not rows:
        return
    if not takes_arrays(session):
        session.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    source = func.unnest(*(_array(table.c[name], [row[name] for row in rows]) for name in names)
                         ).table_valued(*names, with_ordinality="position").render_derived()
    session.execute(insert(table).from_select(
        names, select(*(source.c[name] for name in names)).order_by(source.c.position)))


def update_rows(session: Session, table: Table, key: str, column: str,
                values: Sequence[tuple[Any, Any]], increment: bool = False) -> None:
    """Set `column` to the value (or, with `increment`, add the value) for each (key, value) pair.

    Keys must be unique: PostgreSQL updates a row once however many pairs match it.
    """
    if not values:
        return
    target = table.c[column]
    if takes_arrays(session):
        source = func.unnest(_array(table.c[key], [k for k, _ in values]),
                             _array(target, [v for _, v in values])
                             ).table_valued("key", "value").render_derived()
        match, value = table.c[key] == source.c.key, source.c.value
        session.execute(update(table).where(match).values({column: target + value if increment else value}))
        return
    value = bindparam("new_value")
    session.execute(update(table).where(table.c[key] == bindparam("match_key"))
                    .values({column: target + value if increment else value}),
                    [{"match_key": k, "new_value": v} for k, v in values])
