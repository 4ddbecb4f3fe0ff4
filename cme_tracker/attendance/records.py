"""One member's attendance records of a year as an auditor reads them: every attendance, voided ones too,
with the scans that opened and closed it, and every scan received for the member, accepted or not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.society import year_period
from cme_tracker.vocabulary import YearBasis

CHECKED_OUT = "checked_out"
"""The outcome of the scan that closed an attendance (repeats of it say ``already_checked_out``)."""


@dataclass(frozen=True, slots=True)
class ScanRecord:
    scanned_at: datetime
    received_at: datetime
    direction: str
    target: str
    """The lecture code, or the symposium code for a whole-day scan."""
    desk: str | None
    operator: str | None
    method: str
    outcome: str
    attendance_id: int | None


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    id: int
    target: str
    title_ja: str | None
    title_en: str | None
    whole_day: bool
    check_in_at: datetime
    check_out_at: datetime | None
    method: str
    desk: str | None
    recorded_by: str | None
    created_at: datetime
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None
    check_out_scan: ScanRecord | None
    """The scan that closed the attendance at a desk, with its desk and operator (none for imports)."""


@dataclass(frozen=True, slots=True)
class SymposiumRecords:
    code: str
    held_on: date
    title_ja: str
    title_en: str
    timezone: str
    attendances: tuple[AttendanceRecord, ...]
    scans: tuple[ScanRecord, ...]


def member_records(
    session: Session, member: Member, year: int, basis: YearBasis
) -> tuple[SymposiumRecords, ...]:
    """The member's records at the year's symposia, by date; symposia without any record are left out."""
    first, after = year_period(year, basis)
    symposia = {
        symposium.id: symposium
        for symposium in session.scalars(
            select(Symposium).where(Symposium.held_on >= first, Symposium.held_on < after)
        )
    }
    lectures = {
        lecture_id: code
        for lecture_id, code in session.execute(
            select(Lecture.id, Lecture.code).where(Lecture.symposium_id.in_(list(symposia)))
        )
    }
    scans: dict[int, list[ScanRecord]] = defaultdict(list)
    for scan in session.scalars(
        select(Scan)
        .where(Scan.member_id == member.id, Scan.symposium_id.in_(list(symposia)))
        .order_by(Scan.scanned_at, Scan.id)
    ):
        assert scan.symposium_id is not None
        target = lectures[scan.lecture_id] if scan.lecture_id else symposia[scan.symposium_id].code
        scans[scan.symposium_id].append(_scan_record(scan, target))
    closing = {
        scan.attendance_id: scan
        for records in scans.values()
        for scan in records
        if scan.attendance_id is not None and scan.outcome == CHECKED_OUT
    }
    attendances: dict[int, list[AttendanceRecord]] = defaultdict(list)
    for attendance, lecture in session.execute(
        select(Attendance, Lecture)
        .outerjoin(Lecture, Attendance.lecture_id == Lecture.id)
        .where(Attendance.member_id == member.id, Attendance.symposium_id.in_(list(symposia)))
        .order_by(Attendance.check_in_at, Attendance.id)
    ):
        symposium = symposia[attendance.symposium_id]
        attendances[attendance.symposium_id].append(
            AttendanceRecord(
                id=attendance.id,
                target=lecture.code if lecture else symposium.code,
                title_ja=lecture.title_ja if lecture else None,
                title_en=lecture.title_en if lecture else None,
                whole_day=lecture is None,
                check_in_at=attendance.check_in_at,
                check_out_at=attendance.check_out_at,
                method=attendance.method,
                desk=attendance.desk,
                recorded_by=attendance.recorded_by,
                created_at=attendance.created_at,
                voided_at=attendance.voided_at,
                voided_by=attendance.voided_by,
                void_reason=attendance.void_reason,
                check_out_scan=closing.get(attendance.id),
            )
        )
    return tuple(
        SymposiumRecords(
            code=symposium.code,
            held_on=symposium.held_on,
            title_ja=symposium.title_ja,
            title_en=symposium.title_en,
            timezone=symposium.timezone,
            attendances=tuple(attendances[symposium.id]),
            scans=tuple(scans[symposium.id]),
        )
        for symposium in sorted(symposia.values(), key=lambda symposium: (symposium.held_on, symposium.code))
        if attendances[symposium.id] or scans[symposium.id]
    )


def _scan_record(scan: Scan, target: str) -> ScanRecord:
    return ScanRecord(
        scanned_at=scan.scanned_at,
        received_at=scan.received_at,
        direction=scan.direction,
        target=target,
        desk=scan.desk,
        operator=scan.operator,
        method=scan.method,
        outcome=scan.outcome,
        attendance_id=scan.attendance_id,
    )
