"""The append path's own statements, sent on the driver's cursor inside SQLAlchemy's transaction.

Every append runs a few small statements (the chain head, a stream's version, the insert, the
projection checkpoint, the head again). SQLAlchemy Core spends about 60 µs of CPU on each before the
driver sees it, the driver about 3 µs (measured on the 2-core development machine), so at hundreds of
commands a second the store's time went mostly to Core's per-statement machinery.

Each statement is still written as a SQLAlchemy construct and compiled once per dialect: the SQL text,
the order of its parameters and the processing of each value (dates on SQLite) are exactly what
SQLAlchemy itself would send. Only the sending is direct. Transactions and savepoints stay with
SQLAlchemy: the cursor belongs to the connection SQLAlchemy began the transaction on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


class Statement:
    """A construct compiled for one dialect, with what it takes to bind its parameters by name."""

    __slots__ = ("_fixed", "_many", "_order", "_processors", "_row", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect, *, keys: Sequence[str] = ()) -> None:
        """Compile `statement` for `dialect`; `keys` names the columns an INSERT's rows will have."""
        compiled = cast("SQLCompiler", statement.compile(dialect=dialect, column_keys=list(keys) or None))
        self.sql = str(compiled)
        binds = compiled.binds
        self._order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        # Literal values the construct holds itself (`WHERE id = 1`).
        self._fixed = {name: bind.value for name, bind in binds.items() if bind.value is not None}
        self._processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors[name] = processor
        self._row = _values_row(self.sql) if self._order is not None else None
        self._many: dict[int, str] = {}

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """Return the driver's parameters for `values` (positional or named, as the dialect wants)."""
        merged = {**self._fixed, **values}
        for name, processor in self._processors.items():
            if name in merged:
                merged[name] = processor(merged[name])
        if self._order is None:
            return merged
        return tuple(merged[name] for name in self._order)

    def rows_per_statement(self) -> int:
        """How many rows one `many` statement may carry (1: the statement takes one row at a time)."""
        if self._row is None or not self._order:
            return 1
        return max(1, MAX_PARAMETERS // len(self._order))

    def many(self, count: int) -> str:
        """Return the SQL of this INSERT with `count` rows in its VALUES (positional dialects only)."""
        sql = self._many.get(count)
        if sql is None:
            if self._row is None:
                raise ValueError(f"not a positional INSERT ... VALUES: {self.sql}")
            start, end = self._row
            rows = ", ".join([self.sql[start:end]] * count)
            sql = self._many[count] = self.sql[:start] + rows + self.sql[end:]
        return sql


#: Most parameters sent with one statement (SQLite's limit before 3.32 was 999).
MAX_PARAMETERS = 999


def _values_row(sql: str) -> tuple[int, int] | None:
    """Return where the one row of an `INSERT ... VALUES (...)` is in its SQL, or None if it has none."""
    start = sql.find(" VALUES (")
    if not sql.startswith("INSERT") or start < 0:
        return None
    start += len(" VALUES ")
    depth = 0
    for end in range(start, len(sql)):
        depth += {"(": 1, ")": -1}.get(sql[end], 0)
        if depth == 0:
            return start, end + 1
    return None


class Cursor:
    """The driver's cursor of one SQLAlchemy connection, for the length of one transaction."""

    __slots__ = ("_cursor",)

    def __init__(self, connection: Connection) -> None:
        """Open a cursor on the driver connection under `connection` (whose transaction has begun)."""
        driver = connection.connection.driver_connection
        if driver is None:
            raise RuntimeError("the connection has no driver connection")
        self._cursor = driver.cursor()

    def execute(self, statement: Statement, values: Mapping[str, Any] | None = None) -> Cursor:
        """Run one statement."""
        self._cursor.execute(statement.sql, statement.params(values or {}))
        return self

    def executemany(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run one statement for each of `rows`."""
        self._cursor.executemany(statement.sql, [statement.params(row) for row in rows])

    def insert(self, statement: Statement, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert `rows` with as few statements as the dialect allows.

        On a positional dialect (SQLite) the rows go in one `INSERT ... VALUES (..), (..)` (or a few,
        within MAX_PARAMETERS): the driver releases the GIL for every statement it runs, and a thread
        waiting to take it back behind a busy event loop waits each time. Otherwise, `executemany`.
        """
        per = statement.rows_per_statement()
        if len(rows) == 1:
            self.execute(statement, rows[0])
        elif per == 1:
            self.executemany(statement, rows)
        else:
            for first in range(0, len(rows), per):
                chunk = rows[first : first + per]
                values = [value for row in chunk for value in cast("tuple[Any, ...]", statement.params(row))]
                self._cursor.execute(statement.many(len(chunk)), values)

    def all(self) -> list[tuple[Any, ...]]:
        """Return every row of the last SELECT."""
        return [tuple(row) for row in self._cursor.fetchall()]

    def one(self) -> tuple[Any, ...]:
        """Return the only row of the last SELECT (LookupError if there is none)."""
        row = self._cursor.fetchone()
        if row is None:
            raise LookupError("no row")
        return tuple(row)

    @property
    def rowcount(self) -> int:
        """How many rows the last UPDATE changed."""
        return int(self._cursor.rowcount)

    def close(self) -> None:
        """Close the cursor."""
        self._cursor.close()
