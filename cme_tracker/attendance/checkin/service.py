"""Recording a scan, answering a retried one, and voiding an attendance.

Every scan at the door waits on this code, so it reads plain rows and writes single statements
(:mod:`cme_tracker.attendance.checkin.statements`) instead of loading and flushing ORM objects; a replay and a
void, rare, use the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.checkin import statements
from cme_tracker.attendance.checkin.rules import (
    DESK_UNDO_WINDOW,
    PENDING_OUT,
    Decision,
    ScanMember,
    ScanRequest,
    ScanResult,
    ScanTarget,
    Span,
    Status,
    check_time,
    decide,
    scan_time,
)
from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.errors import Conflict, DomainError, Forbidden, NotFound
from cme_tracker.members.cards import CardClaim, UnknownCard, read_card
from cme_tracker.members.models import Member
from cme_tracker.members.names import display_name, romaji_name
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import SymposiumStatus

RACE_ATTEMPTS = 3
"""Reads and writes of one scan; a lost race needs one more, as the winner's row is committed by then."""

_OPERATOR_LENGTH = 64
"""The width of ``recorded_by`` and ``voided_by``; the audit log keeps the full name of the operator."""


def record_scan(
    session: Session,
    request: ScanRequest,
    *,
    card_secret: str,
    operator: str,
    now: datetime,
    privileged: bool = False,
    before_write: Callable[[Session], None] | None = None,
) -> ScanResult:
    """Apply one scan, received at ``now``. ``privileged`` (an admin's correction) may record on any date and
    after closing.

    Raises a :class:`DomainError` (nothing written) for an unknown member or card, a target that does not fit,
    a closed symposium, a wrong date or a lecture already over. An ``out`` with nothing open is kept as a
    pending scan (status ``not_checked_in``), so that an offline ``in`` synced later is closed by it.

    ``before_write`` runs after the reads and checks, before the first write: the API passes
    :func:`cme_tracker.db.begin_write`, so that SQLite's write lock is held for the writes alone. What was
    read may be stale by then; the writes name the state they expect, and a stale decision is taken again.
    """
    claim = read_card(card_secret, request.card) if request.card else None
    card_member_no = claim.member_no if claim else None
    session.flush()  # the statements below run on the connection, which does not autoflush
    state = _read_state(session.connection(), request, card_member_no)
    if state.context.replay_id is not None:
        return _replay(session, state.context.replay_id)
    member = _member(state.context, request, claim)
    target = _target(state.context, request)
    scanned_at = scan_time(request.scanned_at, target.zone, now)
    check_time(member, target, request.direction, scanned_at, now=now, privileged=privileged)
    if before_write is not None:
        before_write(session)
    connection = session.connection()
    for _attempt in range(RACE_ATTEMPTS):
        decision = decide(request.direction, scanned_at, state.spans, state.pending)
        result = _apply(session, connection, decision, request, member, target, scanned_at, operator, now)
        if result is not None:
            return result
        state = _read_state(connection, request, card_member_no)
    raise Conflict("other desks are recording this member right now; scan again", code="busy")


def _read_state(connection: Connection, request: ScanRequest, card_member_no: str | None) -> statements.State:
    if not request.lecture_code and not request.symposium_code:
        raise DomainError("a scan needs a lecture_code or a symposium_code", code="invalid")
    return statements.read_state(
        connection,
        nonce=request.nonce,
        member_no=card_member_no or (request.member_no or "").strip(),
        lecture_code=request.lecture_code,
        symposium_code=request.symposium_code,
    )


def _member(context: Any, request: ScanRequest, claim: CardClaim | None) -> ScanMember:
    if claim is not None:
        if context.member_id is None:
            raise UnknownCard(f"no member {claim.member_no}")
        if context.card_serial != claim.serial:
            raise UnknownCard("this card was replaced by a newer one", code="card_replaced")
    elif not request.member_no:
        raise DomainError("a scan needs a card or a member number", code="invalid")
    elif context.member_id is None:
        raise NotFound(f"no member {request.member_no}", code="unknown_member")
    if context.merged_into_no is not None:
        raise Conflict(
            f"member {context.member_no} was merged into {context.merged_into_no}: check in that number",
            code="merged_member",
            details={"merged_into": context.merged_into_no},
        )
    return ScanMember(
        context.member_id,
        context.member_no,
        display_name(context.family_name, context.given_name, context.family_name_kana),
        romaji_name(context.family_name_romaji, context.given_name_romaji),
        context.profession,
        context.needs_review,
    )


def _target(context: Any, request: ScanRequest) -> ScanTarget:
    if context.symposium_id is None:
        if request.lecture_code:
            raise NotFound(f"no lecture {request.lecture_code}", code="unknown_lecture")
        raise NotFound(f"no symposium {request.symposium_code}", code="unknown_symposium")
    target = ScanTarget(
        context.symposium_id,
        context.symposium_code,
        context.timezone,
        context.held_on,
        context.status,
        context.lecture_id,
        context.lecture_code,
        context.last_entry,
    )
    if request.lecture_code and request.symposium_code and target.symposium_code != request.symposium_code:
        raise DomainError(
            f"lecture {target.lecture_code} is not part of symposium {request.symposium_code}",
            code="lecture_not_in_symposium",
        )
    return target


def _apply(
    session: Session,
    connection: Connection,
    decision: Decision,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
    now: datetime,
) -> ScanResult | None:
    """Write the decision and the scan; None when another desk changed the attendances since the reads."""
    scan = {
        "nonce": request.nonce,
        "member_id": member.id,
        "raw_code": request.card,
        "symposium_id": target.symposium_id,
        "lecture_id": target.lecture_id,
        "direction": request.direction,
        "scanned_at": scanned_at,
        "received_at": now,
        "desk": request.desk,
        "operator": operator,
        "method": request.scan_method,
        "outcome": decision.status,
    }
    attendance: Span | None
    if decision.action == "open" and connection.dialect.name == "postgresql":
        opened = statements.open_with_scan(
            connection, _new_attendance(request, member, target, scanned_at, operator, now), scan
        )
        if opened is None:
            return None
        attendance_id, scan_id = opened
        attendance = Span(attendance_id, scanned_at, None)
    else:
        written = _write(connection, decision, request, member, target, scanned_at, operator, now)
        if written is False:
            return None
        attendance = written
        scan["attendance_id"] = attendance.id if attendance else None
        scan_id = statements.insert_scan(connection, scan)
    if scan_id is None:
        # The same nonce arrived twice at once; the twin's row is committed now.
        if decision.action != "none":
            raise Conflict("this nonce was already used for another scan", code="nonce_reused")
        return _replay(session, statements.scan_with_nonce(connection, request.nonce))
    if decision.action != "none":
        _audit(session, decision, request, member, target, scanned_at, operator, attendance)
    created = decision.status in ("checked_in", "checked_out")
    return ScanResult(decision.status, created, member, target, attendance, scanned_at)


def _new_attendance(
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "symposium_id": target.symposium_id,
        "lecture_id": target.lecture_id,
        "check_in_at": scanned_at,
        "check_out_at": None,
        "method": request.scan_method,
        "desk": request.desk,
        "recorded_by": operator[:_OPERATOR_LENGTH],
        "created_at": now,
    }


def _write(
    connection: Connection,
    decision: Decision,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
    now: datetime,
) -> Span | Literal[False] | None:
    """The attendance after the decision's one write; False when a race made the decision stale."""
    span = decision.span
    if decision.action == "none":
        return span
    if decision.action == "close":
        assert span is not None
        closed = statements.close(connection, span.id, scanned_at)
        return Span(span.id, span.check_in_at, scanned_at) if closed else False
    if decision.action == "move_in":
        assert span is not None
        moved = statements.move_in(connection, span.id, span.check_in_at, scanned_at)
        return Span(span.id, scanned_at, span.check_out_at) if moved else False
    values = _new_attendance(request, member, target, scanned_at, operator, now)
    if decision.action == "open":
        opened = statements.insert_attendance(connection, values)
        return Span(opened, scanned_at, None) if opened is not None else False
    pending = decision.pending
    assert pending is not None
    if not statements.claim_pending(connection, pending.scan_id):
        return False
    values["check_out_at"] = pending.scanned_at
    attendance_id = statements.insert_attendance(connection, values)
    assert attendance_id is not None  # a closed attendance meets no unique index of open ones
    statements.link_pending(connection, pending.scan_id, attendance_id)
    return Span(attendance_id, scanned_at, pending.scanned_at)


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
        "method": request.scan_method,
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


def scan_member(member: Member) -> ScanMember:
    """A member as a scan names them, from the loaded model (a walk-in just registered, a replayed scan)."""
    return ScanMember(
        member.id,
        member.member_no,
        member.name,
        member.name_romaji,
        member.profession,
        member.needs_review,
    )


def _replay(session: Session, scan_id: int) -> ScanResult:
    """The answer to a scan already received with this nonce: the same attendance, never a second one."""
    scan = session.get_one(Scan, scan_id)
    assert scan.member_id is not None and scan.symposium_id is not None
    member = scan_member(session.get_one(Member, scan.member_id))
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
    session: Session,
    attendance: Attendance,
    *,
    reason: str,
    operator: str,
    now: datetime,
    privileged: bool,
) -> Attendance:
    """Void (never delete) an attendance at ``now``, audited.

    An admin (``privileged``) may void any attendance. A desk may undo only its own recent scan at an open
    symposium: ids are sequential, so anything wider would let a desk void imports and corrections.
    """
    if not reason.strip():
        raise DomainError("say why the scan is undone", code="reason_required")
    if attendance.voided_at is not None:
        raise Conflict("this attendance was already voided", code="already_voided")
    if not privileged:
        _check_desk_undo(session, attendance, operator, now)
    attendance.voided_at = now
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


_OPENED_OR_CLOSED = ("checked_in", "checked_out")
"""The outcomes of a scan that opened or closed its attendance."""


def _check_desk_undo(session: Session, attendance: Attendance, operator: str, now: datetime) -> None:
    """Refuse a desk's undo unless a scan of this operator opened or closed the attendance, lately, at an
    open symposium."""
    last_own_scan = session.scalar(
        select(func.max(Scan.received_at)).where(
            Scan.attendance_id == attendance.id,
            Scan.operator == operator,
            Scan.outcome.in_(_OPENED_OR_CLOSED),  # a repeat scan links the attendance but changed nothing
        )
    )
    if last_own_scan is None:
        raise Forbidden("a desk may undo only its own scans", code="not_own_scan")
    if attendance.symposium.status == SymposiumStatus.CLOSED:
        raise Conflict(
            "the symposium is closed; only an admin may void its attendances", code="symposium_closed"
        )
    if now - last_own_scan > DESK_UNDO_WINDOW:
        minutes = int(DESK_UNDO_WINDOW.total_seconds() // 60)
        raise Conflict(
            f"scans can be undone at the desk only within {minutes} minutes", code="too_late_to_undo"
        )
