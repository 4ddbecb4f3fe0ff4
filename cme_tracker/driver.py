"""Core statements run straight on the database driver's cursor, for the few statements every scan runs.

SQLAlchemy's execution machinery (execution context, events, result objects) costs several times what SQLite
or PostgreSQL spend on a short statement. A check-in runs half a dozen of them, and on SQLite it holds the
write lock meanwhile. A :class:`DriverStatement` is compiled by SQLAlchemy once per database and run on the
connection the session already holds, inside its transaction; values still pass through the column types'
own bind and result processors, so times, booleans and JSON come back as the ORM would give them.

Only the ``statements`` modules of the features import this module, so that what runs this way stays in view.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVarTuple

from sqlalchemy import Connection, Dialect, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ReturnsRows, UpdateBase

Statement = ReturnsRows | UpdateBase
Columns = TypeVarTuple("Columns")


class DriverStatement:
    """One statement for every database, or one per database when ``per_dialect`` builds it."""

    def __init__(self, statement: Statement) -> None:
        self.build: Callable[[str], Statement] = lambda _dialect: statement
        self._prepared: dict[str, _Prepared] = {}

    @classmethod
    def per_dialect(cls, build: Callable[[str], Statement]) -> DriverStatement:
        """A statement that differs between the databases, made from the dialect's name."""
        driver_statement = cls.__new__(cls)
        driver_statement.build = build
        driver_statement._prepared = {}
        return driver_statement

    def rows(self, connection: Connection, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """Run in ``connection``'s transaction; the rows it returns, as named tuples (none without
        RETURNING)."""
        dialect = connection.dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            prepared = self._prepared[dialect.name] = _Prepared(self.build(dialect.name), dialect)
        return prepared.run(connection.connection.dbapi_connection, parameters or {})


class _Prepared:
    """One statement compiled for one dialect, with its parameters' and columns' type processors."""

    def __init__(self, statement: Statement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.escaped_bind_names:
            raise ValueError(
                f"bind parameters named so that they need escaping: {compiled.escaped_bind_names}"
            )
        self.dialect = dialect
        self.compiled = compiled
        self.sql = compiled.string
        self.positions = list(compiled.positiontup or ()) if dialect.positional else None
        self.binds = [
            (name, processor)
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        ]
        self.columns = list(statement.exported_columns)
        self.row = namedtuple("row", [column.key for column in self.columns])  # type: ignore[misc]
        self.results: list[tuple[int, Callable[[Any], Any]]] | None = None

    def run(self, dbapi_connection: Any, parameters: Mapping[str, Any]) -> list[Any]:
        values = dict(self.compiled.construct_params(parameters) or {})
        for name, processor in self.binds:
            values[name] = processor(values[name])
        arguments = values if self.positions is None else [values[name] for name in self.positions]
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, arguments)
            if not self.columns:
                return []
            fetched = cursor.fetchall()
            results = self.results
            if results is None:
                results = self.results = self._result_processors(cursor.description)
        finally:
            cursor.close()
        rows = []
        for raw in fetched:
            row = list(raw)
            for index, convert in results:
                row[index] = convert(row[index])
            rows.append(self.row(*row))
        return rows

    def _result_processors(self, description: Any) -> list[tuple[int, Callable[[Any], Any]]]:
        """Each column's processor for what the driver returns, found as SQLAlchemy would (by type code)."""
        processors = []
        for index, column in enumerate(self.columns):
            processor = column.type.dialect_impl(self.dialect).result_processor(
                self.dialect, description[index][1]
            )
            if processor is not None:
                processors.append((index, processor))
        return processors


def stream_plain_rows(
    connection: Connection, statement: Select[*Columns], batch: int
) -> Iterator[tuple[*Columns]]:
    """A SELECT's rows as the driver returns them, fetched ``batch`` at a time inside ``connection``'s
    transaction (through a server-side cursor on PostgreSQL, so memory holds one batch).

    For long streams of plain values (integers, text): SQLAlchemy's per-row processing costs a fifth of
    reading them. Its parameters are rendered into the SQL, so they must be plain values too.
    """
    dialect = connection.dialect
    for column in statement.selected_columns:
        if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None:
            raise ValueError(f"column {column} needs SQLAlchemy's processing of its values")
    sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    server_side = dialect.name == "postgresql"
    cursor = dbapi_connection.cursor(name="cme_stream") if server_side else dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()
