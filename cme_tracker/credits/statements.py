"""The credits' SQL: the year's attendances as engine rows, and the stream that reads them on the driver.

The yearly computation reads every attendance of the year; SQLAlchemy's per-row processing would cost a fifth
of reading them, so the rows are plain integers (microseconds computed by the database) streamed from the
driver's cursor (:func:`cme_tracker.driver.stream_plain_rows`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import BigInteger, Connection, Select, select
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from cme_tracker.attendance.models import Attendance
from cme_tracker.driver import stream_plain_rows

EngineRows = Select[int, int | None, int, int, int | None]
"""Member, lecture, symposium, check-in and check-out (µs since the epoch) of each attendance."""


class EpochMicros(FunctionElement[int]):
    """A UTC datetime column as whole microseconds since the epoch, computed by the database.

    Reading integers instead of datetimes spares the yearly computation a Python conversion per value, and
    stays exact (no float). On SQLite, where SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC,
    whole seconds come from ``strftime`` on the first 19 characters (it would round the fraction) and the
    microseconds from the digits after the point; on PostgreSQL ``EXTRACT(EPOCH ...)`` is an exact numeric.
    """

    type = BigInteger()
    name = "epoch_micros"
    inherit_cache = True


@compiles(EpochMicros)
def _epoch_micros_elsewhere(element: EpochMicros, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"epoch_micros is written for SQLite and PostgreSQL, not {compiler.dialect.name}")


@compiles(EpochMicros, "sqlite")
def _epoch_micros_on_sqlite(element: EpochMicros, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    # unixepoch() (SQLite 3.38) parses faster than strftime('%s'); given the fraction it would round it
    version = getattr(compiler.dialect, "server_version_info", None) or ()
    seconds = (
        f"unixepoch(substr({column}, 1, 19))"
        if version >= (3, 38)
        else f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER)"
    )
    return f"({seconds} * 1000000 + CAST(substr({column} || '000000', 21, 6) AS INTEGER))"


@compiles(EpochMicros, "postgresql")
def _epoch_micros_on_postgresql(element: EpochMicros, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"


def engine_rows(symposium_ids: list[int]) -> EngineRows:
    """The attendances at ``symposium_ids`` that count (not voided) as engine rows."""
    return select(
        Attendance.member_id,
        Attendance.lecture_id,
        Attendance.symposium_id,
        EpochMicros(Attendance.check_in_at),
        EpochMicros(Attendance.check_out_at),
    ).where(Attendance.voided_at.is_(None), Attendance.symposium_id.in_(symposium_ids))


def stream_by_member(
    connection: Connection, statement: EngineRows, batch: int
) -> Iterator[tuple[int, int | None, int, int, int | None]]:
    """The rows of ``statement`` in member order, ``batch`` at a time, as the driver returns them, inside
    ``connection``'s transaction: what :class:`cme_tracker.credits.engine.CreditEngine` reads a year from."""
    return stream_plain_rows(connection, statement.order_by(Attendance.member_id), batch)
