"""Importing attendance from CSV or XLSX: presence intervals at a lecture or at a whole symposium.

An attendance is matched by member, target and check-in time. The file is a log, not the register: an
empty check_out_at or method never erases what a desk recorded, and a voided attendance is never changed. At
most one attendance per member and target may stay open (checked in, not out), as the database insists too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.attendance.schemas import AttendanceSchema
from cme_tracker.attendance.services import attendances_of, in_zone, is_open
from cme_tracker.members.models import Member
from cme_tracker.members.services import members_by_number
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.program.services import lectures_by_code, symposia_by_code
from cme_tracker.tabular.loading import Counts, ImportResult, LoadedRow, load_rows, record_import, rejected
from cme_tracker.tabular.reader import Layout, RowError, Table, read_table

KIND = "attendance"
LAYOUT = Layout(
    required=("member_no", "check_in_at"),
    optional=("lecture_code", "symposium_code", "check_out_at", "method"),
)
DEFAULT_METHOD = "import"

Key = tuple[int, int, int | None, datetime]
"""member id, symposium id, lecture id (None for the whole symposium), check-in instant."""
Slot = tuple[int, str, int]
"""member id and what can be open only once: ("lecture", id) or ("symposium", id)."""


@dataclass(frozen=True)
class _Row:
    """A valid row with its member and target found and its times as instants."""

    loaded: LoadedRow
    member: Member
    symposium: Symposium
    lecture: Lecture | None
    check_in_at: datetime
    check_out_at: datetime | None
    method: str | None

    @property
    def key(self) -> Key:
        return (
            self.member.id,
            self.symposium.id,
            self.lecture.id if self.lecture else None,
            self.check_in_at,
        )

    @property
    def target(self) -> str:
        return self.lecture.code if self.lecture else self.symposium.code


@dataclass(frozen=True)
class _Plan:
    row: _Row
    attendance: Attendance | None
    changed: tuple[str, ...]


def import_attendance(
    session: Session, path: Path | str, *, actor: str, dry_run: bool = False, name: str | None = None
) -> ImportResult:
    """Add or complete the attendances of an attendance file, all or nothing.

    Members, lectures and symposia must exist. Returns the counts, or every problem (and writes nothing) when
    any row is invalid. Flushes, never commits; a database error propagates for the caller to roll back.
    """
    table = read_table(path, LAYOUT, name=name)
    if not table.rows:
        return rejected(table, KIND, table.errors)
    loaded, errors = load_rows(table, AttendanceSchema())
    errors.extend(table.errors)
    rows = list(_resolve(session, table, loaded, errors))
    errors.extend(_duplicates(table, rows))
    existing = {
        _key_of(attendance): attendance
        for attendance in attendances_of(
            session, {row.member.id for row in rows}, {row.symposium.id for row in rows}
        )
    }
    plans = [_plan(table, row, existing.get(row.key), errors) for row in rows]
    errors.extend(_open_twice(table, plans, existing.values()))
    if errors:
        return rejected(table, KIND, errors)
    result = ImportResult(
        file=table.file,
        kind=KIND,
        rows=Counts.tally((plan.attendance, plan.changed) for plan in plans),
        dry_run=dry_run,
    )
    if not dry_run and result.changed_anything:
        details = _apply(session, plans, actor)
        record_import(session, table, result, actor=actor, details=details)
    return result


def _resolve(
    session: Session, table: Table, loaded: Sequence[LoadedRow], errors: list[RowError]
) -> Iterator[_Row]:
    """Find each row's member and target, read its times in the symposium's zone, report what is amiss."""
    members = members_by_number(
        session, {item.data["member_no"] for item in loaded if "member_no" in item.data}
    )
    lectures = lectures_by_code(
        session, {item.data["lecture_code"] for item in loaded if "lecture_code" in item.data}
    )
    symposia = symposia_by_code(
        session, {item.data["symposium_code"] for item in loaded if "symposium_code" in item.data}
    )
    for item in loaded:
        data = item.data
        found = len(errors)
        member = members.get(data.get("member_no", ""))
        if "member_no" in data and member is None:
            errors.append(table.error(item.row, "member_no", f"no member {data['member_no']}"))
        lecture = lectures.get(data.get("lecture_code", ""))
        if "lecture_code" in data and lecture is None:
            errors.append(table.error(item.row, "lecture_code", f"no lecture {data['lecture_code']}"))
        symposium = lecture.symposium if lecture else symposia.get(data.get("symposium_code", ""))
        if "symposium_code" in data and symposium is None:
            errors.append(table.error(item.row, "symposium_code", f"no symposium {data['symposium_code']}"))
        if symposium is None:
            continue
        check_in = in_zone(data["check_in_at"], symposium.timezone) if "check_in_at" in data else None
        check_out = in_zone(data["check_out_at"], symposium.timezone) if "check_out_at" in data else None
        if (
            check_in is not None
            and check_in.astimezone(ZoneInfo(symposium.timezone)).date() != symposium.held_on
        ):
            errors.append(
                table.error(
                    item.row,
                    "check_in_at",
                    f"not on the day of symposium {symposium.code} "
                    f"({symposium.held_on}, {symposium.timezone})",
                )
            )
        if check_in is not None and check_out is not None and check_out < check_in:
            errors.append(table.error(item.row, "check_out_at", "before check_in_at"))
        if item.complete and member is not None and check_in is not None and len(errors) == found:
            yield _Row(item, member, symposium, lecture, check_in, check_out, data.get("method"))


def _key_of(attendance: Attendance) -> Key:
    return (attendance.member_id, attendance.symposium_id, attendance.lecture_id, attendance.check_in_at)


def _duplicates(table: Table, rows: Sequence[_Row]) -> Iterator[RowError]:
    first_line: dict[Key, int] = {}
    for row in rows:
        if row.key in first_line:
            yield table.error(
                row.loaded.row,
                "check_in_at",
                f"the same member, target and check-in as line {first_line[row.key]}",
            )
        else:
            first_line[row.key] = row.loaded.row.line


def _plan(table: Table, row: _Row, attendance: Attendance | None, errors: list[RowError]) -> _Plan:
    if attendance is None:
        return _Plan(row, None, ("check_in_at", "check_out_at", "method"))
    changed = []
    if row.check_out_at is not None and row.check_out_at != attendance.check_out_at:
        changed.append("check_out_at")
    if row.method is not None and row.method != attendance.method:
        changed.append("method")
    if changed and attendance.voided_at is not None:
        errors.append(
            table.error(
                row.loaded.row,
                changed[0],
                f"this attendance was voided on {attendance.voided_at:%Y-%m-%d}; imports leave it as it is",
            )
        )
    return _Plan(row, attendance, tuple(changed))


def _slot(member_id: int, symposium_id: int, lecture_id: int | None) -> Slot:
    return (
        (member_id, "lecture", lecture_id)
        if lecture_id is not None
        else (member_id, "symposium", symposium_id)
    )


def _open_twice(table: Table, plans: Sequence[_Plan], existing: Iterable[Attendance]) -> Iterator[RowError]:
    """Rows that would leave a member with two open attendances at one lecture (or one whole symposium)."""
    closing = {plan.attendance for plan in plans if plan.attendance is not None and plan.row.check_out_at}
    open_in_database: dict[Slot, Attendance] = {}
    for attendance in existing:
        if is_open(attendance) and attendance not in closing:
            open_in_database[_slot(attendance.member_id, attendance.symposium_id, attendance.lecture_id)] = (
                attendance
            )
    open_in_file: dict[Slot, _Row] = {}
    for plan in plans:
        row = plan.row
        if plan.attendance is not None or row.check_out_at is not None:
            continue
        slot = _slot(row.member.id, row.symposium.id, row.lecture.id if row.lecture else None)
        already = open_in_database.get(slot)
        if already is not None:
            since = already.check_in_at.astimezone(ZoneInfo(row.symposium.timezone))
            yield table.error(
                row.loaded.row,
                "check_out_at",
                f"member {row.member.member_no} is already checked in at {row.target} since {since:%H:%M} "
                "without a check-out; give this row a check_out_at",
            )
        elif slot in open_in_file:
            yield table.error(
                row.loaded.row,
                "check_out_at",
                f"member {row.member.member_no} is also checked in at {row.target} on line "
                f"{open_in_file[slot].loaded.row.line} without a check-out; only one can stay open",
            )
        else:
            open_in_file[slot] = row


def _apply(session: Session, plans: Sequence[_Plan], actor: str) -> dict[str, Any]:
    """Write the plans; returns the audit details: which attendance ids were added and changed, as ranges.

    Attendance comes by the thousand, so one event per import lists the ids rather than an event per row.
    """
    added: list[Attendance] = []
    changed: list[Attendance] = []
    fields: set[str] = set()
    for plan in plans:
        row = plan.row
        if plan.attendance is None:
            attendance = Attendance(
                member=row.member,
                symposium=row.symposium,
                lecture=row.lecture,
                check_in_at=row.check_in_at,
                check_out_at=row.check_out_at,
                method=row.method or DEFAULT_METHOD,
                recorded_by=actor[:64],
            )
            session.add(attendance)
            added.append(attendance)
        elif plan.changed:
            if "check_out_at" in plan.changed:
                plan.attendance.check_out_at = row.check_out_at
            if "method" in plan.changed and row.method is not None:
                plan.attendance.method = row.method
            changed.append(plan.attendance)
            fields.update(plan.changed)
    session.flush()
    return {
        "added_ids": _ranges(attendance.id for attendance in added),
        "changed_ids": _ranges(attendance.id for attendance in changed),
        "changed_fields": sorted(fields),
    }


def _ranges(ids: Iterable[int]) -> list[list[int]]:
    """``[1, 2, 3, 7]`` as ``[[1, 3], [7, 7]]``: ids added together are consecutive, so this stays short."""
    ranges: list[list[int]] = []
    for number in sorted(ids):
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1][1] = number
        else:
            ranges.append([number, number])
    return ranges
