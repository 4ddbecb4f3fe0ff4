"""`cme-tracker import attendance`: presence at lectures and whole symposia, one open attendance at a time."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.importer import import_attendance
from cme_tracker.attendance.models import Attendance
from cme_tracker.audit.models import AuditEvent
from cme_tracker.db import utcnow
from cme_tracker.members.importer import import_members
from cme_tracker.members.models import Member
from cme_tracker.program.importer import import_program
from cme_tracker.program.models import Lecture, Symposium
from tests.factories import attend

DATA = Path(__file__).parent.parent / "data"
HEADER = ["member_no", "lecture_code", "symposium_code", "check_in_at", "check_out_at", "method"]


@pytest.fixture
def program(session: Session) -> Session:
    """The members and program of tests/data, committed as the CLI would leave them."""
    assert import_members(session, DATA / "members.csv", actor="test").ok
    assert import_program(session, DATA / "program.csv", actor="test").ok
    session.commit()
    return session


def write_csv(path: Path, rows: list[list[str]], *, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
    return path


def attendance_file(tmp_path: Path, *rows: list[str]) -> Path:
    return write_csv(tmp_path / "attendance.csv", [HEADER, *rows])


def data_rows() -> list[list[str]]:
    text = (DATA / "attendance.csv").read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def variant(tmp_path: Path, kind: str) -> Path:
    rows = data_rows()
    if kind == "xlsx":
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        workbook.save(tmp_path / "attendance.xlsx")
        return tmp_path / "attendance.xlsx"
    if kind == "reordered":
        rows = [list(reversed(row)) for row in rows]
    return write_csv(tmp_path / "attendance.csv", rows, bom=kind != "no-bom")


def attendances(session: Session) -> list[tuple[str, str, datetime, datetime | None, str]]:
    """Every attendance as (member_no, lecture or symposium code, check-in, check-out, method)."""
    session.expire_all()
    rows = session.execute(
        select(
            Member.member_no,
            Lecture.code,
            Symposium.code,
            Attendance.check_in_at,
            Attendance.check_out_at,
            Attendance.method,
        )
        .join(Member, Attendance.member_id == Member.id)
        .join(Symposium, Attendance.symposium_id == Symposium.id)
        .outerjoin(Lecture, Attendance.lecture_id == Lecture.id)
        .order_by(Attendance.id)
    )
    return [
        (number, lecture or symposium, check_in, check_out, method)
        for number, lecture, symposium, check_in, check_out, method in rows
    ]


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model)) or 0


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["bom", "no-bom", "reordered", "xlsx"])
def test_a_good_attendance_file_imports_every_presence(
    cli: Any, program: Session, tmp_path: Path, kind: str
) -> None:
    path = variant(tmp_path, kind)
    result = cli("import", "attendance", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{path}: 5 added, 0 changed, 0 unchanged\n"
    assert attendances(program) == [
        ("001001", "2026-05-L1", utc(2026, 5, 16, 0, 55), utc(2026, 5, 16, 2, 0), "qr"),
        ("001001", "2026-05-L2", utc(2026, 5, 16, 2, 10), None, "qr"),
        ("001002", "2026-05", utc(2026, 5, 16, 0, 30), utc(2026, 5, 16, 6, 0), "search"),
        ("001004", "2026-05-L1", utc(2026, 5, 16, 1, 10), utc(2026, 5, 16, 2, 0), "manual"),
        ("001003", "2026-10-TA", utc(2026, 10, 10, 7, 50), utc(2026, 10, 10, 9, 35), "import"),
    ]


def test_importing_the_same_attendance_twice_changes_nothing(cli: Any, program: Session) -> None:
    path = DATA / "attendance.csv"
    assert cli("import", "attendance", str(path)).exit_code == 0
    before = (count(program, Attendance), count(program, AuditEvent))
    result = cli("import", "attendance", str(path))
    assert result.stdout == f"{path}: 0 added, 0 changed, 5 unchanged\n"
    assert (count(program, Attendance), count(program, AuditEvent)) == before


def test_a_later_file_with_the_check_out_completes_the_open_attendance(
    cli: Any, program: Session, tmp_path: Path
) -> None:
    assert cli("import", "attendance", str(DATA / "attendance.csv")).exit_code == 0
    path = attendance_file(tmp_path, ["001001", "2026-05-L2", "", "2026-05-16T11:10", "2026-05-16T12:40", ""])
    result = cli("import", "attendance", str(path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(": 0 added, 1 changed, 0 unchanged\n")
    assert attendances(program)[1] == (
        "001001",
        "2026-05-L2",
        utc(2026, 5, 16, 2, 10),
        utc(2026, 5, 16, 3, 40),
        "qr",
    )


def test_an_empty_check_out_never_erases_one_a_desk_recorded(
    cli: Any, program: Session, tmp_path: Path
) -> None:
    assert cli("import", "attendance", str(DATA / "attendance.csv")).exit_code == 0
    path = attendance_file(tmp_path, ["001001", "2026-05-L1", "", "2026-05-16T09:55", "", ""])
    result = cli("import", "attendance", str(path))
    assert result.stdout.endswith(": 0 added, 0 changed, 1 unchanged\n")
    assert attendances(program)[0][3] == utc(2026, 5, 16, 2, 0)


def test_two_open_attendances_of_a_member_at_one_lecture_are_a_row_error(
    cli: Any, program: Session, tmp_path: Path
) -> None:
    path = attendance_file(
        tmp_path,
        ["001001", "2026-05-L1", "", "2026-05-16T09:55", "", ""],
        ["001001", "", "2026-05", "2026-05-16T09:30", "", ""],
        ["001001", "2026-05-L1", "", "2026-05-16T10:20", "", ""],
    )
    result = cli("import", "attendance", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:4:check_out_at: member 001001 is also checked in at 2026-05-L1 on line 2 without a "
        "check-out; only one can stay open",
        f"error: {path}: rejected with 1 error; nothing was imported",
    ]
    assert count(program, Attendance) == 0


def test_an_open_attendance_in_the_database_allows_no_second_one(
    cli: Any, program: Session, tmp_path: Path
) -> None:
    member = program.scalars(select(Member).where(Member.member_no == "001002")).one()
    symposium = program.scalars(select(Symposium).where(Symposium.code == "2026-05")).one()
    attend(program, member, symposium, "09:00")
    program.commit()
    path = attendance_file(tmp_path, ["001002", "", "2026-05", "2026-05-16T09:30", "", ""])
    result = cli("import", "attendance", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"{path}:2:check_out_at: member 001002 is already checked in at 2026-05 since 09:00 without a "
        "check-out; give this row a check_out_at"
    )
    closing = attendance_file(
        tmp_path,
        ["001002", "", "2026-05", "2026-05-16T09:00", "2026-05-16T12:00", ""],
        ["001002", "", "2026-05", "2026-05-16T13:00", "", ""],
    )
    result = cli("import", "attendance", str(closing))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(": 1 added, 1 changed, 0 unchanged\n")


def test_unknown_members_and_targets_and_impossible_times_are_all_reported(
    cli: Any, program: Session, tmp_path: Path
) -> None:
    path = attendance_file(
        tmp_path,
        ["009999", "2026-05-L1", "", "2026-05-16T09:55", "", ""],
        ["001001", "2026-05-L9", "", "2026-05-16T09:55", "", ""],
        ["001001", "", "2026-06", "2026-06-20T09:55", "", ""],
        ["001001", "2026-05-L3", "", "2026-05-17T13:30", "", ""],
        ["001001", "2026-05-L3", "", "2026-05-16T13:30", "2026-05-16T13:00", ""],
        ["001001", "", "2026-05", "2026-05-16T09:30", "2026-05-16T12:00", "carrier pigeon"],
    )
    result = cli("import", "attendance", str(path))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:-1] == [
        f"{path}:2:member_no: no member 009999",
        f"{path}:3:lecture_code: no lecture 2026-05-L9",
        f"{path}:4:symposium_code: no symposium 2026-06",
        f"{path}:5:check_in_at: not on the day of symposium 2026-05 (2026-05-16, Asia/Tokyo)",
        f"{path}:6:check_out_at: before check_in_at",
        f"{path}:7:method: 'carrier pigeon' is not one of import, qr, search, manual, offline",
    ]


def test_a_time_without_offset_is_read_in_the_symposium_zone_not_tokyo(
    program: Session, tmp_path: Path
) -> None:
    path = attendance_file(
        tmp_path, ["001003", "2026-10-TA-L1", "", "2026-10-10 09:58", "2026-10-10T11:30", ""]
    )
    assert import_attendance(program, path, actor="test").ok
    assert attendances(program) == [
        ("001003", "2026-10-TA-L1", utc(2026, 10, 10, 7, 58), utc(2026, 10, 10, 9, 30), "import")
    ]


def test_a_voided_attendance_is_left_as_it_is(program: Session, tmp_path: Path) -> None:
    member = program.scalars(select(Member).where(Member.member_no == "001004")).one()
    first = program.scalars(select(Lecture).where(Lecture.code == "2026-05-L1")).one()
    voided_at = utcnow()
    attend(
        program, member, first, "10:10", voided_at=voided_at, voided_by="admin", void_reason="scanned twice"
    )
    same = attendance_file(tmp_path, ["001004", "2026-05-L1", "", "2026-05-16T10:10", "", ""])
    assert import_attendance(program, same, actor="test").rows.unchanged == 1
    different = attendance_file(
        tmp_path, ["001004", "2026-05-L1", "", "2026-05-16T10:10", "2026-05-16T11:00", ""]
    )
    result = import_attendance(program, different, actor="test", name="attendance.csv")
    assert [str(error) for error in result.errors] == [
        f"attendance.csv:2:check_out_at: this attendance was voided on {voided_at:%Y-%m-%d}; "
        "imports leave it as it is"
    ]


def test_the_same_presence_twice_in_one_file_is_reported(program: Session, tmp_path: Path) -> None:
    row = ["001001", "2026-05-L1", "", "2026-05-16T09:55", "2026-05-16T11:00", ""]
    same_instant = ["001001", "2026-05-L1", "", "2026-05-16T00:55Z", "2026-05-16T11:00", ""]
    result = import_attendance(
        program, attendance_file(tmp_path, row, same_instant), actor="test", name="a.csv"
    )
    assert [str(error) for error in result.errors] == [
        "a.csv:3:check_in_at: the same member, target and check-in as line 2"
    ]


def test_an_attendance_import_is_audited_in_one_event_naming_the_rows(
    program: Session, tmp_path: Path
) -> None:
    before = count(program, AuditEvent)
    assert import_attendance(program, DATA / "attendance.csv", actor="tester").ok
    path = attendance_file(tmp_path, ["001001", "2026-05-L2", "", "2026-05-16T11:10", "2026-05-16T12:40", ""])
    assert import_attendance(program, path, actor="tester").ok
    events = program.scalars(
        select(AuditEvent).where(AuditEvent.sequence > before).order_by(AuditEvent.sequence)
    ).all()
    assert [(event.action, event.actor, event.target) for event in events] == [
        ("import.attendance", "tester", "file:attendance.csv"),
        ("import.attendance", "tester", "file:attendance.csv"),
    ]
    ids = [attendance.id for attendance in program.scalars(select(Attendance).order_by(Attendance.id))]
    assert events[0].details["added_ids"] == [[ids[0], ids[-1]]]
    assert events[0].details["rows"] == {"added": 5, "changed": 0, "unchanged": 0}
    assert events[1].details["changed_ids"] == [[ids[1], ids[1]]]
    assert events[1].details["changed_fields"] == ["check_out_at"]
    assert events[1].details["sha256"] != events[0].details["sha256"]
