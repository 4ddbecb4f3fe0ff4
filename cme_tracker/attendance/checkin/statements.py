"""The check-in's SQL: the few statements every scan runs, built once and run on the database driver.

Every scan at the door waits on these, so they are Core statements on the tables with bound parameters, built
at import: building and caching a statement per call, and the ORM's handling of it, cost more than running
it. The reads and inserts run through :class:`cme_tracker.driver.DriverStatement` (the only use of the
driver in the check-in); the guarded updates return whether they found the row in the state they expected.
Desks racing for the same member are settled here, without locks held across statements: the partial unique
index on open attendances (``INSERT ... ON CONFLICT DO NOTHING``), updates that name the state they expect,
and the unique nonce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Select,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.dml import ReturningInsert

from cme_tracker.attendance.checkin.rules import PENDING_OUT, PendingOut, Span
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.db import conflict_insert
from cme_tracker.driver import DriverStatement
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium

_MEMBERS = cast(Table, Member.__table__)
_SYMPOSIA = cast(Table, Symposium.__table__)
_LECTURES = cast(Table, Lecture.__table__)
_ATTENDANCES = cast(Table, Attendance.__table__)
_SCANS = cast(Table, Scan.__table__)
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
"""What the context's outer joins hang on, so that an unknown member or target still gives a row."""
_REPLAY = select(_SCANS.c.id).where(_SCANS.c.nonce == bindparam("nonce")).scalar_subquery().label("replay_id")
_MERGED_INTO = _MEMBERS.alias("merged_into")
_MEMBER_COLUMNS = (
    _MEMBERS.c.id.label("member_id"),
    _MEMBERS.c.member_no,
    _MEMBERS.c.family_name,
    _MEMBERS.c.given_name,
    _MEMBERS.c.family_name_kana,
    _MEMBERS.c.family_name_romaji,
    _MEMBERS.c.given_name_romaji,
    _MEMBERS.c.profession,
    _MEMBERS.c.needs_review,
    _MEMBERS.c.card_serial,
    select(_MERGED_INTO.c.member_no)
    .where(_MERGED_INTO.c.id == _MEMBERS.c.merged_into_id)
    .scalar_subquery()
    .label("merged_into_no"),
)
_SYMPOSIUM_COLUMNS = (
    _SYMPOSIA.c.id.label("symposium_id"),
    _SYMPOSIA.c.code.label("symposium_code"),
    _SYMPOSIA.c.timezone,
    _SYMPOSIA.c.held_on,
    _SYMPOSIA.c.status,
)
_LAST_END = (
    select(func.max(_LECTURES.c.ends_at)).where(_LECTURES.c.symposium_id == _SYMPOSIA.c.id).scalar_subquery()
)


def _context_statement(whole_day: bool) -> Select[Any]:
    """An earlier scan with the nonce, the member and the target, as one row (NULLs for what is unknown)."""
    if whole_day:
        target_columns = (
            *_SYMPOSIUM_COLUMNS,
            null().label("lecture_id"),
            null().label("lecture_code"),
            _LAST_END.label("last_entry"),
        )
    else:
        target_columns = (
            *_SYMPOSIUM_COLUMNS,
            _LECTURES.c.id.label("lecture_id"),
            _LECTURES.c.code.label("lecture_code"),
            _LECTURES.c.ends_at.label("last_entry"),
        )
    statement = (
        select(_REPLAY, *_MEMBER_COLUMNS, *target_columns)
        .select_from(_ONE_ROW)
        .outerjoin(_MEMBERS, _MEMBERS.c.member_no == bindparam("member_no"))
    )
    if whole_day:
        return statement.outerjoin(_SYMPOSIA, _SYMPOSIA.c.code == bindparam("symposium_code"))
    return statement.outerjoin(_LECTURES, _LECTURES.c.code == bindparam("lecture_code")).outerjoin(
        _SYMPOSIA, _SYMPOSIA.c.id == _LECTURES.c.symposium_id
    )


def _not_indexed(column: ColumnElement[int]) -> ColumnElement[int]:
    """``column + 0``: the same value, which no index serves, so the planner looks attendances up by member.

    PostgreSQL plans a prepared statement from the statistics it has; on tables it has not analysed yet (a new
    database's first symposium) it otherwise picked the index of the symposium or lecture, and then read every
    attendance there for each scan, slower with every scan until autovacuum analysed the table.
    """
    return column + literal_column("0")


def _state_statement(whole_day: bool) -> Select[Any]:
    """The context row repeated beside each live attendance of the member at the target (``kind``
    ``attendance``) and each of its pending ``out`` scans (``pending``): all a scan is decided on."""
    context = _context_statement(whole_day).cte("context")
    attendance_target = (
        _ATTENDANCES.c.lecture_id.is_(None)
        if whole_day
        else _not_indexed(_ATTENDANCES.c.lecture_id) == context.c.lecture_id
    )
    scan_target = _SCANS.c.lecture_id.is_(None) if whole_day else _SCANS.c.lecture_id == context.c.lecture_id
    attendances = select(
        context,
        literal_column("'attendance'").label("kind"),
        _ATTENDANCES.c.id.label("row_id"),
        _ATTENDANCES.c.check_in_at.label("moment"),
        _ATTENDANCES.c.check_out_at,
    ).select_from(
        context.outerjoin(
            _ATTENDANCES,
            and_(
                _ATTENDANCES.c.member_id == context.c.member_id,
                _not_indexed(_ATTENDANCES.c.symposium_id) == context.c.symposium_id,
                attendance_target,
                _ATTENDANCES.c.voided_at.is_(None),
            ),
        )
    )
    pending = select(
        context, literal_column("'pending'"), _SCANS.c.id, _SCANS.c.scanned_at, null()
    ).select_from(
        context.join(
            _SCANS,
            and_(
                _SCANS.c.member_id == context.c.member_id,
                _SCANS.c.symposium_id == context.c.symposium_id,
                scan_target,
                _SCANS.c.direction == "out",
                _SCANS.c.outcome == PENDING_OUT,
            ),
        )
    )
    return union_all(attendances, pending).subquery().select()


_STATE = {whole_day: DriverStatement(_state_statement(whole_day)) for whole_day in (False, True)}


@dataclass(frozen=True, slots=True)
class State:
    """What a scan is decided on: the context row (the nonce's earlier scan, the member and the target, NULLs
    for what is unknown), the member's live attendances at the target and its pending ``out`` scans."""

    context: Any
    spans: list[Span]
    pending: list[PendingOut]


def read_state(
    connection: Connection,
    *,
    nonce: str | None,
    member_no: str,
    lecture_code: str | None,
    symposium_code: str | None,
) -> State:
    """Everything a scan is decided on, in one round trip: see :func:`_state_statement`. Without a
    ``lecture_code`` the target is the whole symposium."""
    parameters = {
        "nonce": nonce,
        "member_no": member_no,
        "lecture_code": lecture_code,
        "symposium_code": symposium_code,
    }
    rows = _STATE[not lecture_code].rows(connection, parameters)
    spans = [
        Span(row.row_id, row.moment, row.check_out_at)
        for row in rows
        if row.kind == "attendance" and row.row_id is not None
    ]
    pending = [PendingOut(row.row_id, row.moment) for row in rows if row.kind == "pending"]
    return State(rows[0], spans, pending)


NEW_ATTENDANCE_COLUMNS = (
    "member_id",
    "symposium_id",
    "lecture_id",
    "check_in_at",
    "check_out_at",
    "method",
    "desk",
    "recorded_by",
    "created_at",
)
"""The values a new attendance is written with: the keys of ``attendance`` in :func:`open_with_scan` and
:func:`insert_attendance`."""
SCAN_COLUMNS = (
    "nonce",
    "member_id",
    "raw_code",
    "symposium_id",
    "lecture_id",
    "direction",
    "scanned_at",
    "received_at",
    "desk",
    "operator",
    "method",
    "outcome",
)
"""The values a scan is written with (and ``attendance_id`` in :func:`insert_scan`)."""


def _open_with_scan_statement() -> Select[Any]:
    """PostgreSQL: a new attendance and its scan in one statement (data-modifying CTEs), one round trip less
    for every first scan. ``attendance_id`` NULL: another desk opened it first, and no scan was written;
    ``scan_id`` NULL: the nonce was used already."""
    attendance = (
        postgresql.insert(_ATTENDANCES)
        .values({name: bindparam(f"attendance_{name}") for name in NEW_ATTENDANCE_COLUMNS})
        .on_conflict_do_nothing()
        .returning(_ATTENDANCES.c.id)
        .cte("new_attendance")
    )
    scan_values = (bindparam(f"scan_{name}", type_=_SCANS.c[name].type) for name in SCAN_COLUMNS)
    scan = (
        postgresql.insert(_SCANS)
        .from_select([*SCAN_COLUMNS, "attendance_id"], select(*scan_values, attendance.c.id))
        .on_conflict_do_nothing()
        .returning(_SCANS.c.id)
        .cte("new_scan")
    )
    return select(
        select(attendance.c.id).scalar_subquery().label("attendance_id"),
        select(scan.c.id).scalar_subquery().label("scan_id"),
    )


_OPEN_WITH_SCAN = DriverStatement(_open_with_scan_statement())


def open_with_scan(
    connection: Connection, attendance: dict[str, Any], scan: dict[str, Any]
) -> tuple[int, int | None] | None:
    """PostgreSQL only: the opened attendance's id and the scan's (None for a used nonce); None when another
    desk opened the attendance first."""
    (written,) = _OPEN_WITH_SCAN.rows(
        connection, _prefixed("attendance", attendance) | _prefixed("scan", scan)
    )
    if written.attendance_id is None:
        return None
    return written.attendance_id, written.scan_id


def _insert_statement(dialect: str, table: Table, columns: Sequence[str]) -> ReturningInsert[Any]:
    """An INSERT that skips a row violating a unique index (``ON CONFLICT DO NOTHING``, on both databases)
    and returns the new row's id, or nothing when it was skipped. Parameters are named ``<table>_<column>``,
    as a bind parameter may not take a column's own name."""
    values: dict[str, Any] = {name: bindparam(f"{_PREFIXES[table.name]}_{name}") for name in columns}
    return conflict_insert(dialect, table).values(values).on_conflict_do_nothing().returning(table.c.id)


_PREFIXES = {"attendances": "attendance", "scans": "scan"}
_INSERT_ATTENDANCE = DriverStatement.per_dialect(
    lambda dialect: _insert_statement(dialect, _ATTENDANCES, NEW_ATTENDANCE_COLUMNS)
)
_INSERT_SCAN = DriverStatement.per_dialect(
    lambda dialect: _insert_statement(dialect, _SCANS, (*SCAN_COLUMNS, "attendance_id"))
)


def insert_attendance(connection: Connection, attendance: dict[str, Any]) -> int | None:
    """The new attendance's id; None when the member has an open one there (another desk was first)."""
    inserted = _INSERT_ATTENDANCE.rows(connection, _prefixed("attendance", attendance))
    return inserted[0].id if inserted else None


def insert_scan(connection: Connection, scan: dict[str, Any]) -> int | None:
    """The new scan's id; None when its nonce was used already."""
    inserted = _INSERT_SCAN.rows(connection, _prefixed("scan", scan))
    return inserted[0].id if inserted else None


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in values.items()}


_REPLAY_ID = select(_SCANS.c.id).where(_SCANS.c.nonce == bindparam("nonce"))
_CLOSE = (
    update(_ATTENDANCES)
    .where(
        _ATTENDANCES.c.id == bindparam("attendance_id"),
        _ATTENDANCES.c.check_out_at.is_(None),
        _ATTENDANCES.c.voided_at.is_(None),
    )
    .values(check_out_at=bindparam("moment"))
)
_MOVE_IN = (
    update(_ATTENDANCES)
    .where(
        _ATTENDANCES.c.id == bindparam("attendance_id"),
        _ATTENDANCES.c.check_in_at == bindparam("expected_check_in_at"),
        _ATTENDANCES.c.voided_at.is_(None),
    )
    .values(check_in_at=bindparam("moment"))
)
_CLAIM_PENDING = (
    update(_SCANS)
    .where(_SCANS.c.id == bindparam("scan_id"), _SCANS.c.outcome == PENDING_OUT)
    .values(outcome="checked_out")
)
_LINK_PENDING = (
    update(_SCANS).where(_SCANS.c.id == bindparam("scan_id")).values(attendance_id=bindparam("linked_id"))
)


def scan_with_nonce(connection: Connection, nonce: str | None) -> int:
    """The id of the scan already received with ``nonce`` (a twin's, committed by now)."""
    scan_id: int = connection.execute(_REPLAY_ID, {"nonce": nonce}).scalar_one()
    return scan_id


def close(connection: Connection, attendance_id: int, moment: datetime) -> bool:
    """End an open attendance at ``moment``; False when it was closed or voided meanwhile."""
    return _changed(connection.execute(_CLOSE, {"attendance_id": attendance_id, "moment": moment}))


def move_in(
    connection: Connection, attendance_id: int, expected_check_in_at: datetime, moment: datetime
) -> bool:
    """Start an attendance earlier, at ``moment``; False when its start moved or it was voided meanwhile."""
    parameters = {
        "attendance_id": attendance_id,
        "expected_check_in_at": expected_check_in_at,
        "moment": moment,
    }
    return _changed(connection.execute(_MOVE_IN, parameters))


def claim_pending(connection: Connection, scan_id: int) -> bool:
    """Mark a pending ``out`` as closing an attendance; False when another scan claimed it first."""
    return _changed(connection.execute(_CLAIM_PENDING, {"scan_id": scan_id}))


def link_pending(connection: Connection, scan_id: int, attendance_id: int) -> None:
    """Point a claimed pending ``out`` at the attendance it closes."""
    connection.execute(_LINK_PENDING, {"scan_id": scan_id, "linked_id": attendance_id})


def _changed(result: CursorResult[Any]) -> bool:
    """Whether an UPDATE found its row in the state it expected."""
    return bool(result.rowcount)
