"""Check-in and check-out scans: the rules the desk, the API and offline sync share.

A scan names a member (signed card or member number), a target (a lecture, or the whole symposium) and a
direction. It is applied in scan-time order, never twice: a retried nonce or a repeated scan returns the
attendance that exists. The database's partial unique index settles races between desks; the loser of a race
finds the winner's row and answers ``already_checked_in``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.members.cards import member_for_card, read_card
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import SymposiumStatus

Direction = Literal["in", "out"]
Status = Literal["checked_in", "checked_out", "already_checked_in", "already_checked_out", "not_checked_in"]

PENDING_OUT: Final = "not_checked_in"
"""The outcome of an ``out`` that found nothing open: kept, because an offline ``in`` may still arrive."""

FUTURE_TOLERANCE = timedelta(minutes=2)
"""How far a desk's clock may run ahead of the server's before its scan time is refused."""


@dataclass(frozen=True)
class ScanRequest:
    direction: Direction
    card: str | None = None
    member_no: str | None = None
    lecture_code: str | None = None
    symposium_code: str | None = None
    scanned_at: datetime | None = None
    nonce: str | None = None
    desk: str | None = None
    method: str | None = None


@dataclass(frozen=True)
class ScanResult:
    """What the desk is told. ``created`` is true when the scan opened or closed an attendance."""

    status: Status
    created: bool
    member: Member
    symposium: Symposium
    lecture: Lecture | None
    attendance: Attendance | None
    scanned_at: datetime

    def to_json(self) -> dict[str, Any]:
        member = self.member
        attendance = self.attendance
        return {
            "status": self.status,
            "member": {
                "member_no": member.member_no,
                "name": member.name,
                "name_romaji": member.name_romaji,
                "profession": member.profession,
                "needs_review": member.needs_review,
            },
            "symposium_code": self.symposium.code,
            "lecture_code": self.lecture.code if self.lecture else None,
            "scanned_at": self.scanned_at.isoformat(),
            "attendance": None
            if attendance is None
            else {
                "id": attendance.id,
                "check_in_at": attendance.check_in_at.isoformat(),
                "check_out_at": attendance.check_out_at.isoformat() if attendance.check_out_at else None,
            },
        }


def record_scan(
    session: Session, request: ScanRequest, *, card_secret: str, operator: str, privileged: bool = False
) -> ScanResult:
    """Apply one scan. ``privileged`` (an admin's correction) may record on any date and after closing.

    Raises a :class:`DomainError` (nothing written) for an unknown member or card, a target that does not fit,
    a closed symposium, a wrong date or a lecture already over. An ``out`` with nothing open is kept as a
    pending scan (status ``not_checked_in``), so that an offline ``in`` synced later is closed by it.
    """
    if request.nonce:
        replayed = _replay(session, request.nonce)
        if replayed is not None:
            return replayed
    member = _member(session, request, card_secret)
    symposium, lecture = _target(session, request)
    scanned_at = request.scanned_at or utcnow()
    _check_time(symposium, lecture, request.direction, scanned_at, privileged=privileged)
    try:
        with session.begin_nested():
            return _apply(session, request, member, symposium, lecture, scanned_at, operator)
    except IntegrityError:
        # Another desk won a race for the same nonce or the same open attendance; its row is visible now.
        if request.nonce:
            replayed = _replay(session, request.nonce)
            if replayed is not None:
                return replayed
        with session.begin_nested():
            return _apply(session, request, member, symposium, lecture, scanned_at, operator)


def _member(session: Session, request: ScanRequest, card_secret: str) -> Member:
    if request.card:
        claim = read_card(card_secret, request.card)
        found = session.scalar(select(Member).where(Member.member_no == claim.member_no))
        return member_for_card(card_secret, request.card, found)
    if request.member_no:
        member = session.scalar(select(Member).where(Member.member_no == request.member_no.strip()))
        if member is None:
            raise NotFound(f"no member {request.member_no}", code="unknown_member")
        return member
    raise DomainError("a scan needs a card or a member number", code="invalid")


def _target(session: Session, request: ScanRequest) -> tuple[Symposium, Lecture | None]:
    if request.lecture_code:
        lecture = session.scalar(select(Lecture).where(Lecture.code == request.lecture_code))
        if lecture is None:
            raise NotFound(f"no lecture {request.lecture_code}", code="unknown_lecture")
        if request.symposium_code and lecture.symposium.code != request.symposium_code:
            raise DomainError(
                f"lecture {lecture.code} is not part of symposium {request.symposium_code}",
                code="lecture_not_in_symposium",
            )
        return lecture.symposium, lecture
    if request.symposium_code:
        symposium = session.scalar(select(Symposium).where(Symposium.code == request.symposium_code))
        if symposium is None:
            raise NotFound(f"no symposium {request.symposium_code}", code="unknown_symposium")
        return symposium, None
    raise DomainError("a scan needs a lecture_code or a symposium_code", code="invalid")


def _check_time(
    symposium: Symposium,
    lecture: Lecture | None,
    direction: Direction,
    scanned_at: datetime,
    *,
    privileged: bool,
) -> None:
    if scanned_at > utcnow() + FUTURE_TOLERANCE:
        raise DomainError("scanned_at is in the future; check the desk's clock", code="invalid")
    if privileged:
        return
    if symposium.status == SymposiumStatus.CLOSED:
        raise Conflict(f"symposium {symposium.code} is closed", code="symposium_closed")
    local_day = scanned_at.astimezone(symposium.zone).date()
    if local_day != symposium.held_on:
        raise Conflict(
            f"symposium {symposium.code} is held on {symposium.held_on}, not on {local_day}",
            code="not_open",
        )
    if direction == "in":
        ends_at = lecture.ends_at if lecture else max(item.ends_at for item in symposium.lectures)
        if scanned_at >= ends_at:
            what = f"lecture {lecture.code}" if lecture else f"symposium {symposium.code}"
            raise Conflict(f"{what} was already over at the scan time", code="lecture_over")


def _open_attendance(
    session: Session, member: Member, symposium: Symposium, lecture: Lecture | None
) -> Attendance | None:
    statement = select(Attendance).where(
        Attendance.member_id == member.id,
        Attendance.check_out_at.is_(None),
        Attendance.voided_at.is_(None),
    )
    if lecture is None:
        statement = statement.where(Attendance.symposium_id == symposium.id, Attendance.lecture_id.is_(None))
    else:
        statement = statement.where(Attendance.lecture_id == lecture.id)
    return session.scalar(statement)


def _latest_closed(
    session: Session, member: Member, symposium: Symposium, lecture: Lecture | None
) -> Attendance | None:
    statement = select(Attendance).where(
        Attendance.member_id == member.id,
        Attendance.symposium_id == symposium.id,
        Attendance.check_out_at.is_not(None),
        Attendance.voided_at.is_(None),
    )
    statement = statement.where(
        Attendance.lecture_id.is_(None) if lecture is None else Attendance.lecture_id == lecture.id
    )
    return session.scalar(statement.order_by(Attendance.check_out_at.desc()).limit(1))


def _apply(
    session: Session,
    request: ScanRequest,
    member: Member,
    symposium: Symposium,
    lecture: Lecture | None,
    scanned_at: datetime,
    operator: str,
) -> ScanResult:
    open_attendance = _open_attendance(session, member, symposium, lecture)
    status: Status
    attendance: Attendance | None
    if request.direction == "in":
        if open_attendance is not None:
            status, attendance = "already_checked_in", open_attendance
            if scanned_at < open_attendance.check_in_at:
                open_attendance.check_in_at = (
                    scanned_at  # an offline scan synced late: the earliest time counts
                )
        else:
            status = "checked_in"
            attendance = Attendance(
                member=member,
                symposium=symposium,
                lecture=lecture,
                check_in_at=scanned_at,
                method=request.method or "qr",
                desk=request.desk,
                recorded_by=operator,
            )
            session.add(attendance)
            session.flush()
            _close_with_pending_out(session, attendance, member, symposium, lecture)
    elif open_attendance is not None and scanned_at >= open_attendance.check_in_at:
        status, attendance = "checked_out", open_attendance
        open_attendance.check_out_at = scanned_at
    else:
        attendance = _latest_closed(session, member, symposium, lecture)
        status = "already_checked_out" if attendance is not None else PENDING_OUT
    scan = Scan(
        nonce=request.nonce,
        member_id=member.id,
        raw_code=request.card,
        symposium_id=symposium.id,
        lecture_id=lecture.id if lecture else None,
        direction=request.direction,
        scanned_at=scanned_at,
        desk=request.desk,
        operator=operator,
        method=request.method or ("qr" if request.card else "manual"),
        outcome=status,
        attendance_id=attendance.id if attendance else None,
    )
    session.add(scan)
    session.flush()
    created = status in ("checked_in", "checked_out")
    if created:
        chain.record(
            session,
            actor=operator,
            action=f"attendance.{status.removeprefix('checked_')}",
            target=f"attendance:{attendance.id}" if attendance else None,
            details={
                "member_no": member.member_no,
                "target": lecture.code if lecture else symposium.code,
                "scanned_at": scanned_at.isoformat(),
                "desk": request.desk,
                "nonce": request.nonce,
            },
        )
    return ScanResult(status, created, member, symposium, lecture, attendance, scanned_at)


def _close_with_pending_out(
    session: Session, attendance: Attendance, member: Member, symposium: Symposium, lecture: Lecture | None
) -> None:
    """An ``in`` synced after an ``out`` with a later scan time is closed by that ``out``."""
    pending = session.scalar(
        select(Scan)
        .where(
            Scan.member_id == member.id,
            Scan.symposium_id == symposium.id,
            Scan.lecture_id.is_(None) if lecture is None else Scan.lecture_id == lecture.id,
            Scan.direction == "out",
            Scan.outcome == PENDING_OUT,
            Scan.scanned_at >= attendance.check_in_at,
        )
        .order_by(Scan.scanned_at)
        .limit(1)
    )
    if pending is not None:
        attendance.check_out_at = pending.scanned_at
        pending.outcome = "checked_out"
        pending.attendance_id = attendance.id


def _replay(session: Session, nonce: str) -> ScanResult | None:
    """The answer to a scan already received with this nonce: the same attendance, never a second one."""
    scan = session.scalar(select(Scan).where(Scan.nonce == nonce))
    if scan is None or scan.member_id is None or scan.symposium_id is None:
        return None
    member = session.get_one(Member, scan.member_id)
    symposium = session.get_one(Symposium, scan.symposium_id)
    lecture = session.get(Lecture, scan.lecture_id) if scan.lecture_id else None
    attendance = session.get(Attendance, scan.attendance_id) if scan.attendance_id else None
    status: Status
    if scan.outcome == PENDING_OUT:
        status = PENDING_OUT
    else:
        status = "already_checked_in" if scan.direction == "in" else "already_checked_out"
    return ScanResult(status, False, member, symposium, lecture, attendance, scan.scanned_at)


def void_attendance(
    session: Session, attendance: Attendance, *, reason: str, operator: str, within: timedelta | None = None
) -> Attendance:
    """Void (never delete) an attendance, audited. A desk may undo only a recent scan (``within``)."""
    if not reason.strip():
        raise DomainError("say why the scan is undone", code="reason_required")
    if attendance.voided_at is not None:
        raise Conflict("this attendance was already voided", code="already_voided")
    if within is not None and utcnow() - attendance.created_at > within:
        raise Conflict("scans can be undone at the desk only within 10 minutes", code="too_late_to_undo")
    attendance.voided_at = utcnow()
    attendance.voided_by = operator
    attendance.void_reason = reason.strip()
    session.flush()
    chain.record(
        session,
        actor=operator,
        action="attendance.void",
        target=f"attendance:{attendance.id}",
        details={"member_no": attendance.member.member_no, "reason": attendance.void_reason},
    )
    return attendance
