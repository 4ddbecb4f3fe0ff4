"""Check-in and check-out scans: the rules the desk, the API and offline sync share.

A scan names a member (signed card or member number), a target (a lecture, or the whole symposium) and a
direction. Scans are applied in scan-time order, never twice: a retried nonce or a repeated scan answers with
the attendance that exists. Desks racing for the same member are settled by the database without locks held
across statements: the partial unique index on open attendances (``INSERT ... ON CONFLICT DO NOTHING``),
updates that name the state they expect, and the unique nonce. The loser reads the winner's row and answers
``already_checked_in``.

Every scan at the door waits on this code, so it reads plain rows and writes single statements instead of
loading and flushing ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, literal, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.members.cards import UnknownCard, read_card
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import SymposiumStatus

Direction = Literal["in", "out"]
Status = Literal["checked_in", "checked_out", "already_checked_in", "already_checked_out", "not_checked_in"]

PENDING_OUT: Final = "not_checked_in"
"""The outcome of an ``out`` that found nothing open: kept, because an offline ``in`` may still arrive."""

FUTURE_TOLERANCE = timedelta(minutes=2)
"""How far a desk's clock may run ahead of the server's before its scan time is refused."""

DESK_UNDO_WINDOW = timedelta(minutes=10)
"""How long after recording an attendance a desk may still void it; admins may at any time."""

RACE_ATTEMPTS = 3
"""Reads and writes of one scan; a lost race needs one more, as the winner's row is committed by then."""

_OPERATOR_LENGTH = 64
"""The width of ``recorded_by`` and ``voided_by``; the audit log keeps the full name of the operator."""

_ATTENDANCES = cast(Table, Attendance.__table__)
_SCANS = cast(Table, Scan.__table__)


@dataclass(frozen=True)
class ScanRequest:
    """One scan as a desk sends it; a naive ``scanned_at`` is wall-clock time in the symposium's zone."""

    direction: Direction
    card: str | None = None
    member_no: str | None = None
    lecture_code: str | None = None
    symposium_code: str | None = None
    scanned_at: datetime | None = None
    nonce: str | None = None
    desk: str | None = None
    method: str | None = None


@dataclass(frozen=True, slots=True)
class ScanMember:
    """The member a scan names, as the desk shows them."""

    id: int
    member_no: str
    name: str
    name_romaji: str
    profession: str
    needs_review: bool

    @classmethod
    def of(cls, member: Member) -> ScanMember:
        return cls(
            member.id,
            member.member_no,
            member.name,
            member.name_romaji,
            member.profession,
            member.needs_review,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "member_no": self.member_no,
            "name": self.name,
            "name_romaji": self.name_romaji,
            "profession": self.profession,
            "needs_review": self.needs_review,
        }


@dataclass(frozen=True, slots=True)
class ScanTarget:
    """A lecture, or a whole symposium (``lecture_id`` None), with what the time rules need to know."""

    symposium_id: int
    symposium_code: str
    timezone: str
    held_on: date
    status: str
    lecture_id: int | None
    lecture_code: str | None
    last_entry: datetime | None
    """Check-ins are refused from this time on: the lecture's end, or the end of the day's last lecture."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def code(self) -> str:
        return self.lecture_code or self.symposium_code


@dataclass(frozen=True, slots=True)
class Span:
    """An attendance's presence interval; ``check_out_at`` None while the member is inside."""

    id: int
    check_in_at: datetime
    check_out_at: datetime | None

    def covers(self, moment: datetime) -> bool:
        return self.check_in_at <= moment and (self.check_out_at is None or moment < self.check_out_at)


@dataclass(frozen=True, slots=True)
class PendingOut:
    """An ``out`` scan that found nothing open, waiting for an offline ``in`` before it."""

    scan_id: int
    scanned_at: datetime


@dataclass(frozen=True)
class ScanResult:
    """What the desk is told. ``created`` is true when the scan opened or closed an attendance."""

    status: Status
    created: bool
    member: ScanMember
    target: ScanTarget
    attendance: Span | None
    scanned_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The answer of ``POST /api/v1/checkins``; times in UTC, and ``*_local`` in the symposium's zone."""
        zone = self.target.zone
        attendance = self.attendance
        return {
            "status": self.status,
            "created": self.created,
            "member": self.member.to_json(),
            "symposium_code": self.target.symposium_code,
            "lecture_code": self.target.lecture_code,
            "timezone": self.target.timezone,
            "scanned_at": self.scanned_at.isoformat(),
            "scanned_at_local": self.scanned_at.astimezone(zone).isoformat(),
            "attendance": None
            if attendance is None
            else {
                "id": attendance.id,
                "check_in_at": attendance.check_in_at.isoformat(),
                "check_out_at": _iso(attendance.check_out_at),
                "check_in_local": attendance.check_in_at.astimezone(zone).isoformat(),
                "check_out_local": _iso(attendance.check_out_at, zone),
            },
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """What a scan does to the member's attendances at its target, decided from their current state.

    ``open``: a new attendance from the scan time; ``close_pending``: a new attendance closed by a pending
    ``out``; ``move_in``: an attendance starts earlier; ``close``: an open attendance ends; ``none``: nothing
    changes (a repeat, or an ``out`` that waits as pending when ``span`` is None).
    """

    action: Literal["open", "close_pending", "move_in", "close", "none"]
    status: Status
    span: Span | None = None
    pending: PendingOut | None = None


def decide(
    direction: Direction, moment: datetime, spans: Sequence[Span], pending: Sequence[PendingOut]
) -> Decision:
    """Apply a scan at ``moment`` in scan-time order to the member's live attendances at one target.

    An ``in`` inside a presence is a repeat. Before a presence it starts that presence earlier (the same
    member was seen inside from then on), unless a pending ``out`` lies between: then it opens a presence
    closed by that ``out``. An ``out`` closes the open presence it follows; inside a closed presence or after
    one it is a repeat (the later ``out`` stands); with nothing before it, it waits as pending.
    """
    covering = next((span for span in spans if span.covers(moment)), None)
    if direction == "in":
        if covering is not None:
            return Decision("none", "already_checked_in", covering)
        following = min(
            (span for span in spans if span.check_in_at > moment),
            key=lambda span: span.check_in_at,
            default=None,
        )
        closing = min(
            (
                out
                for out in pending
                if out.scanned_at >= moment and (following is None or out.scanned_at < following.check_in_at)
            ),
            key=lambda out: out.scanned_at,
            default=None,
        )
        if closing is not None:
            return Decision("close_pending", "checked_in", pending=closing)
        if following is not None:
            return Decision("move_in", "already_checked_in", following)
        return Decision("open", "checked_in")
    if covering is not None:
        if covering.check_out_at is None:
            return Decision("close", "checked_out", covering)
        return Decision("none", "already_checked_out", covering)
    earlier = max(
        (span for span in spans if span.check_out_at is not None and span.check_out_at <= moment),
        key=lambda span: span.check_out_at or moment,
        default=None,
    )
    if earlier is not None:
        return Decision("none", "already_checked_out", earlier)
    return Decision("none", PENDING_OUT)


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
    target = _target(session, request)
    scanned_at = request.scanned_at or utcnow()
    if scanned_at.tzinfo is None:
        scanned_at = scanned_at.replace(tzinfo=target.zone)
    scanned_at = scanned_at.astimezone(UTC)
    _check_time(member, target, request.direction, scanned_at, privileged=privileged)
    for _attempt in range(RACE_ATTEMPTS):
        result = _apply(session, request, member, target, scanned_at, operator)
        if result is not None:
            return result
    raise Conflict("other desks are recording this member right now; scan again", code="busy")


def _member(session: Session, request: ScanRequest, card_secret: str) -> ScanMember:
    if request.card:
        claim = read_card(card_secret, request.card)
        member = session.scalar(select(Member).where(Member.member_no == claim.member_no))
        if member is None:
            raise UnknownCard(f"no member {claim.member_no}")
        if member.card_serial != claim.serial:
            raise UnknownCard("this card was replaced by a newer one", code="card_replaced")
        return ScanMember.of(member)
    if request.member_no:
        member = session.scalar(select(Member).where(Member.member_no == request.member_no.strip()))
        if member is None:
            raise NotFound(f"no member {request.member_no}", code="unknown_member")
        return ScanMember.of(member)
    raise DomainError("a scan needs a card or a member number", code="invalid")


_LAST_END = select(func.max(Lecture.ends_at)).where(Lecture.symposium_id == Symposium.id).scalar_subquery()


def _target(session: Session, request: ScanRequest) -> ScanTarget:
    symposium_columns = (
        Symposium.id,
        Symposium.code,
        Symposium.timezone,
        Symposium.held_on,
        Symposium.status,
    )
    if request.lecture_code:
        row = session.execute(
            select(*symposium_columns, Lecture.id, Lecture.code, Lecture.ends_at)
            .join(Lecture.symposium)
            .where(Lecture.code == request.lecture_code)
        ).one_or_none()
        if row is None:
            raise NotFound(f"no lecture {request.lecture_code}", code="unknown_lecture")
        target = ScanTarget(*row)
        if request.symposium_code and target.symposium_code != request.symposium_code:
            raise DomainError(
                f"lecture {target.lecture_code} is not part of symposium {request.symposium_code}",
                code="lecture_not_in_symposium",
            )
        return target
    if request.symposium_code:
        day = session.execute(
            select(*symposium_columns, _LAST_END).where(Symposium.code == request.symposium_code)
        ).one_or_none()
        if day is None:
            raise NotFound(f"no symposium {request.symposium_code}", code="unknown_symposium")
        symposium_id, code, timezone, held_on, status, last_entry = day
        return ScanTarget(symposium_id, code, timezone, held_on, status, None, None, last_entry)
    raise DomainError("a scan needs a lecture_code or a symposium_code", code="invalid")


def _check_time(
    member: ScanMember, target: ScanTarget, direction: Direction, scanned_at: datetime, *, privileged: bool
) -> None:
    """Desks record on the symposium's date until it is closed; admins' corrections may record any time."""
    details = {"member": member.to_json(), "target": target.code}
    if scanned_at > utcnow() + FUTURE_TOLERANCE:
        raise DomainError("scanned_at is in the future; check the desk's clock", details=details)
    if privileged:
        return
    if target.status == SymposiumStatus.CLOSED:
        raise Conflict(
            f"symposium {target.symposium_code} is closed", code="symposium_closed", details=details
        )
    local_day = scanned_at.astimezone(target.zone).date()
    if local_day != target.held_on:
        raise Conflict(
            f"symposium {target.symposium_code} is held on {target.held_on}, not on {local_day}",
            code="not_open",
            details=details,
        )
    if direction == "in" and target.last_entry is not None and scanned_at >= target.last_entry:
        what = (
            f"lecture {target.lecture_code}" if target.lecture_code else f"symposium {target.symposium_code}"
        )
        raise Conflict(f"{what} was already over at the scan time", code="lecture_over", details=details)


def _history(session: Session, member: ScanMember, target: ScanTarget) -> tuple[list[Span], list[PendingOut]]:
    """The member's live attendances at the target and its pending ``out`` scans, in one round trip."""
    attendances = select(
        literal(True).label("is_attendance"), Attendance.id, Attendance.check_in_at, Attendance.check_out_at
    ).where(
        Attendance.member_id == member.id,
        Attendance.symposium_id == target.symposium_id,
        Attendance.lecture_id.is_(None)
        if target.lecture_id is None
        else Attendance.lecture_id == target.lecture_id,
        Attendance.voided_at.is_(None),
    )
    pending = select(literal(False), Scan.id, Scan.scanned_at, null()).where(
        Scan.member_id == member.id,
        Scan.symposium_id == target.symposium_id,
        Scan.lecture_id.is_(None) if target.lecture_id is None else Scan.lecture_id == target.lecture_id,
        Scan.direction == "out",
        Scan.outcome == PENDING_OUT,
    )
    spans: list[Span] = []
    outs: list[PendingOut] = []
    rows: Iterable[Any] = session.execute(union_all(attendances, pending))
    for row in rows:
        if row.is_attendance:
            spans.append(Span(row.id, row.check_in_at, row.check_out_at))
        else:
            outs.append(PendingOut(row.id, row.check_in_at))
    return spans, outs


def _apply(
    session: Session,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
) -> ScanResult | None:
    """Decide and write; None when another desk changed the attendances in between (nothing written)."""
    decision = decide(request.direction, scanned_at, *_history(session, member, target))
    attendance = _write(session, decision, request, member, target, scanned_at, operator)
    if attendance is False:
        return None
    scan_id = session.execute(
        _insert(session, _SCANS)
        .values(
            nonce=request.nonce,
            member_id=member.id,
            raw_code=request.card,
            symposium_id=target.symposium_id,
            lecture_id=target.lecture_id,
            direction=request.direction,
            scanned_at=scanned_at,
            received_at=utcnow(),
            desk=request.desk,
            operator=operator,
            method=_method(request),
            outcome=decision.status,
            attendance_id=attendance.id if attendance else None,
        )
        .on_conflict_do_nothing()
        .returning(_SCANS.c.id)
    ).scalar_one_or_none()
    if scan_id is None and request.nonce:
        # The same nonce arrived twice at once; the twin's row is committed now.
        if decision.action != "none":
            raise Conflict("this nonce was already used for another scan", code="nonce_reused")
        return _replay(session, request.nonce)
    if decision.action != "none":
        _audit(session, decision, request, member, target, scanned_at, operator, attendance)
    created = decision.status in ("checked_in", "checked_out")
    return ScanResult(decision.status, created, member, target, attendance, scanned_at)


def _write(
    session: Session,
    decision: Decision,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
) -> Span | Literal[False] | None:
    """The attendance after the decision's one write; False when a race made the decision stale."""
    span = decision.span
    if decision.action == "none":
        return span
    if decision.action == "close":
        assert span is not None
        closed = session.execute(
            update(_ATTENDANCES)
            .where(
                _ATTENDANCES.c.id == span.id,
                _ATTENDANCES.c.check_out_at.is_(None),
                _ATTENDANCES.c.voided_at.is_(None),
            )
            .values(check_out_at=scanned_at)
        )
        return Span(span.id, span.check_in_at, scanned_at) if closed.rowcount else False  # type: ignore[attr-defined]
    if decision.action == "move_in":
        assert span is not None
        moved = session.execute(
            update(_ATTENDANCES)
            .where(
                _ATTENDANCES.c.id == span.id,
                _ATTENDANCES.c.check_in_at == span.check_in_at,
                _ATTENDANCES.c.voided_at.is_(None),
            )
            .values(check_in_at=scanned_at)
        )
        return Span(span.id, scanned_at, span.check_out_at) if moved.rowcount else False  # type: ignore[attr-defined]
    values = {
        "member_id": member.id,
        "symposium_id": target.symposium_id,
        "lecture_id": target.lecture_id,
        "check_in_at": scanned_at,
        "method": _method(request),
        "desk": request.desk,
        "recorded_by": operator[:_OPERATOR_LENGTH],
        "created_at": utcnow(),
    }
    if decision.action == "open":
        attendance_id = session.execute(
            _insert(session, _ATTENDANCES)
            .values(values)
            .on_conflict_do_nothing()
            .returning(_ATTENDANCES.c.id)
        ).scalar_one_or_none()
        return False if attendance_id is None else Span(attendance_id, scanned_at, None)
    pending = decision.pending
    assert pending is not None
    claimed = session.execute(
        update(_SCANS)
        .where(_SCANS.c.id == pending.scan_id, _SCANS.c.outcome == PENDING_OUT)
        .values(outcome="checked_out")
    )
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    attendance_id = session.execute(
        _insert(session, _ATTENDANCES)
        .values({**values, "check_out_at": pending.scanned_at})
        .returning(_ATTENDANCES.c.id)
    ).scalar_one()
    session.execute(update(_SCANS).where(_SCANS.c.id == pending.scan_id).values(attendance_id=attendance_id))
    return Span(attendance_id, scanned_at, pending.scanned_at)


def _insert(session: Session, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can skip a row violating a unique index: both databases speak ``ON CONFLICT``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _method(request: ScanRequest) -> str:
    return request.method or ("qr" if request.card else "manual")


_ACTIONS = {"open": "attendance.in", "close_pending": "attendance.in", "move_in": "attendance.in_earlier"}


def _audit(
    session: Session,
    decision: Decision,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
    attendance: Span | None,
) -> None:
    details: dict[str, Any] = {
        "member_no": member.member_no,
        "target": target.code,
        "scanned_at": scanned_at.isoformat(),
        "desk": request.desk,
        "nonce": request.nonce,
        "method": _method(request),
    }
    if decision.action == "move_in" and decision.span is not None:
        details["previous_check_in_at"] = decision.span.check_in_at.isoformat()
    if decision.pending is not None:
        details["closed_by_scan"] = decision.pending.scan_id
    chain.record(
        session,
        actor=operator,
        action=_ACTIONS.get(decision.action, "attendance.out"),
        target=f"attendance:{attendance.id}" if attendance else None,
        details=details,
    )


def _replay(session: Session, nonce: str) -> ScanResult | None:
    """The answer to a scan already received with this nonce: the same attendance, never a second one."""
    scan = session.scalar(select(Scan).where(Scan.nonce == nonce))
    if scan is None or scan.member_id is None or scan.symposium_id is None:
        return None
    member = ScanMember.of(session.get_one(Member, scan.member_id))
    symposium = session.get_one(Symposium, scan.symposium_id)
    lecture = session.get(Lecture, scan.lecture_id) if scan.lecture_id else None
    target = ScanTarget(
        symposium.id,
        symposium.code,
        symposium.timezone,
        symposium.held_on,
        symposium.status,
        lecture.id if lecture else None,
        lecture.code if lecture else None,
        lecture.ends_at if lecture else None,
    )
    attendance = session.get(Attendance, scan.attendance_id) if scan.attendance_id else None
    span = (
        None if attendance is None else Span(attendance.id, attendance.check_in_at, attendance.check_out_at)
    )
    status: Status
    if scan.outcome == PENDING_OUT:
        status = PENDING_OUT
    else:
        status = "already_checked_in" if scan.direction == "in" else "already_checked_out"
    return ScanResult(status, False, member, target, span, scan.scanned_at)


def void_attendance(
    session: Session, attendance: Attendance, *, reason: str, operator: str, within: timedelta | None = None
) -> Attendance:
    """Void (never delete) an attendance, audited. A desk may undo only a recent scan (``within``)."""
    if not reason.strip():
        raise DomainError("say why the scan is undone", code="reason_required")
    if attendance.voided_at is not None:
        raise Conflict("this attendance was already voided", code="already_voided")
    if within is not None and utcnow() - attendance.created_at > within:
        minutes = int(within.total_seconds() // 60)
        raise Conflict(
            f"scans can be undone at the desk only within {minutes} minutes", code="too_late_to_undo"
        )
    attendance.voided_at = utcnow()
    attendance.voided_by = operator[:_OPERATOR_LENGTH]
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


def _iso(moment: datetime | None, zone: ZoneInfo | None = None) -> str | None:
    if moment is None:
        return None
    return (moment.astimezone(zone) if zone else moment).isoformat()
