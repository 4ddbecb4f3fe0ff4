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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal, cast
from zoneinfo import ZoneInfo

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
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from cme_tracker.attendance.models import Attendance, Scan
from cme_tracker.audit import chain
from cme_tracker.db import utcnow
from cme_tracker.driver import DriverStatement, unattached
from cme_tracker.errors import Conflict, DomainError, NotFound
from cme_tracker.members.cards import CardClaim, UnknownCard, read_card
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
    session: Session,
    request: ScanRequest,
    *,
    card_secret: str,
    operator: str,
    privileged: bool = False,
    before_write: Callable[[Session], None] | None = None,
) -> ScanResult:
    """Apply one scan. ``privileged`` (an admin's correction) may record on any date and after closing.

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
    scanned_at = request.scanned_at or utcnow()
    if scanned_at.tzinfo is None:
        scanned_at = scanned_at.replace(tzinfo=target.zone)
    scanned_at = scanned_at.astimezone(UTC)
    _check_time(member, target, request.direction, scanned_at, privileged=privileged)
    if before_write is not None:
        before_write(session)
    connection = session.connection()
    for _attempt in range(RACE_ATTEMPTS):
        decision = decide(request.direction, scanned_at, state.spans, state.pending)
        result = _apply(session, connection, decision, request, member, target, scanned_at, operator)
        if result is not None:
            return result
        state = _read_state(connection, request, card_member_no)
    raise Conflict("other desks are recording this member right now; scan again", code="busy")


# The statements of the hot path are built once, as Core statements on the tables with bound parameters:
# building and caching a statement per call, and the ORM's handling of it, cost more than running it.
_MEMBERS = cast(Table, Member.__table__)
_SYMPOSIA = cast(Table, Symposium.__table__)
_LECTURES = cast(Table, Lecture.__table__)
_ATTENDANCES = cast(Table, Attendance.__table__)
_SCANS = cast(Table, Scan.__table__)
_ONE_ROW = select(literal_column("1").label("one")).subquery("one_row")
"""What the context's outer joins hang on, so that an unknown member or target still gives a row."""
_REPLAY = select(_SCANS.c.id).where(_SCANS.c.nonce == bindparam("nonce")).scalar_subquery().label("replay_id")
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
class _State:
    context: Any
    spans: list[Span]
    pending: list[PendingOut]


def _read_state(connection: Connection, request: ScanRequest, card_member_no: str | None) -> _State:
    """Everything a scan is decided on, in one round trip: see :func:`_state_statement`."""
    if not request.lecture_code and not request.symposium_code:
        raise DomainError("a scan needs a lecture_code or a symposium_code", code="invalid")
    parameters = {
        "nonce": request.nonce,
        "member_no": card_member_no or (request.member_no or "").strip(),
        "lecture_code": request.lecture_code,
        "symposium_code": request.symposium_code,
    }
    rows = _STATE[not request.lecture_code].rows(connection, parameters)
    spans = [
        Span(row.row_id, row.moment, row.check_out_at)
        for row in rows
        if row.kind == "attendance" and row.row_id is not None
    ]
    pending = [PendingOut(row.row_id, row.moment) for row in rows if row.kind == "pending"]
    return _State(rows[0], spans, pending)


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
    names = unattached(  # for the rules of how a name is written
        Member,
        {
            "family_name": context.family_name,
            "given_name": context.given_name,
            "family_name_kana": context.family_name_kana,
            "family_name_romaji": context.family_name_romaji,
            "given_name_romaji": context.given_name_romaji,
        },
    )
    return ScanMember(
        context.member_id,
        context.member_no,
        names.name,
        names.name_romaji,
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


def _apply(
    session: Session,
    connection: Connection,
    decision: Decision,
    request: ScanRequest,
    member: ScanMember,
    target: ScanTarget,
    scanned_at: datetime,
    operator: str,
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
        "received_at": utcnow(),
        "desk": request.desk,
        "operator": operator,
        "method": _method(request),
        "outcome": decision.status,
    }
    attendance: Span | None
    if decision.action == "open" and connection.dialect.name == "postgresql":
        opened = _open_with_scan(
            connection, _new_attendance(request, member, target, scanned_at, operator), scan
        )
        if opened is None:
            return None
        attendance, scan_id = opened
    else:
        written = _write(connection, decision, request, member, target, scanned_at, operator)
        if written is False:
            return None
        attendance = written
        scan["attendance_id"] = attendance.id if attendance else None
        inserted = _INSERT_SCAN.rows(connection, _prefixed("scan", scan))
        scan_id = inserted[0].id if inserted else None
    if scan_id is None:
        # The same nonce arrived twice at once; the twin's row is committed now.
        if decision.action != "none":
            raise Conflict("this nonce was already used for another scan", code="nonce_reused")
        return _replay(session, connection.execute(_REPLAY_ID, {"nonce": request.nonce}).scalar_one())
    if decision.action != "none":
        _audit(session, decision, request, member, target, scanned_at, operator, attendance)
    created = decision.status in ("checked_in", "checked_out")
    return ScanResult(decision.status, created, member, target, attendance, scanned_at)


def _new_attendance(
    request: ScanRequest, member: ScanMember, target: ScanTarget, scanned_at: datetime, operator: str
) -> dict[str, Any]:
    return {
        "member_id": member.id,
        "symposium_id": target.symposium_id,
        "lecture_id": target.lecture_id,
        "check_in_at": scanned_at,
        "check_out_at": None,
        "method": _method(request),
        "desk": request.desk,
        "recorded_by": operator[:_OPERATOR_LENGTH],
        "created_at": utcnow(),
    }


_NEW_ATTENDANCE_COLUMNS = (
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
_SCAN_COLUMNS = (
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


def _open_with_scan_statement() -> Select[Any]:
    """PostgreSQL: a new attendance and its scan in one statement (data-modifying CTEs), one round trip less
    for every first scan. ``attendance_id`` NULL: another desk opened it first, and no scan was written;
    ``scan_id`` NULL: the nonce was used already."""
    attendance = (
        postgresql.insert(_ATTENDANCES)
        .values({name: bindparam(f"attendance_{name}") for name in _NEW_ATTENDANCE_COLUMNS})
        .on_conflict_do_nothing()
        .returning(_ATTENDANCES.c.id)
        .cte("new_attendance")
    )
    scan_values = (bindparam(f"scan_{name}", type_=_SCANS.c[name].type) for name in _SCAN_COLUMNS)
    scan = (
        postgresql.insert(_SCANS)
        .from_select([*_SCAN_COLUMNS, "attendance_id"], select(*scan_values, attendance.c.id))
        .on_conflict_do_nothing()
        .returning(_SCANS.c.id)
        .cte("new_scan")
    )
    return select(
        select(attendance.c.id).scalar_subquery().label("attendance_id"),
        select(scan.c.id).scalar_subquery().label("scan_id"),
    )


_OPEN_WITH_SCAN = DriverStatement(_open_with_scan_statement())


def _open_with_scan(
    connection: Connection, attendance: dict[str, Any], scan: dict[str, Any]
) -> tuple[Span, int | None] | None:
    """The opened attendance and the scan's id (None for a used nonce); None when another desk was first."""
    (written,) = _OPEN_WITH_SCAN.rows(
        connection, _prefixed("attendance", attendance) | _prefixed("scan", scan)
    )
    if written.attendance_id is None:
        return None
    return Span(written.attendance_id, attendance["check_in_at"], None), written.scan_id


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


def _write(
    connection: Connection,
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
        closed = connection.execute(_CLOSE, {"attendance_id": span.id, "moment": scanned_at})
        return Span(span.id, span.check_in_at, scanned_at) if _changed(closed) else False
    if decision.action == "move_in":
        assert span is not None
        moved = connection.execute(
            _MOVE_IN,
            {"attendance_id": span.id, "expected_check_in_at": span.check_in_at, "moment": scanned_at},
        )
        return Span(span.id, scanned_at, span.check_out_at) if _changed(moved) else False
    values = _new_attendance(request, member, target, scanned_at, operator)
    if decision.action == "open":
        opened = _INSERT_ATTENDANCE.rows(connection, _prefixed("attendance", values))
        return Span(opened[0].id, scanned_at, None) if opened else False
    pending = decision.pending
    assert pending is not None
    if not _changed(connection.execute(_CLAIM_PENDING, {"scan_id": pending.scan_id})):
        return False
    values["check_out_at"] = pending.scanned_at
    attendance_id = _INSERT_ATTENDANCE.rows(connection, _prefixed("attendance", values))[0].id
    connection.execute(_LINK_PENDING, {"scan_id": pending.scan_id, "linked_id": attendance_id})
    return Span(attendance_id, scanned_at, pending.scanned_at)


def _changed(result: CursorResult[Any]) -> bool:
    """Whether an UPDATE found its row in the state it expected."""
    return bool(result.rowcount)


def _insert_statement(dialect: str, table: Table, columns: Sequence[str]) -> ReturningInsert[Any]:
    """An INSERT that skips a row violating a unique index (``ON CONFLICT DO NOTHING``, on both databases)
    and returns the new row's id, or nothing when it was skipped. Parameters are named ``<table>_<column>``,
    as a bind parameter may not take a column's own name."""
    dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {name: bindparam(f"{_PREFIXES[table.name]}_{name}") for name in columns}
    return dialect_insert(table).values(values).on_conflict_do_nothing().returning(table.c.id)


_PREFIXES = {"attendances": "attendance", "scans": "scan"}
_INSERT_ATTENDANCE = DriverStatement.per_dialect(
    lambda dialect: _insert_statement(dialect, _ATTENDANCES, _NEW_ATTENDANCE_COLUMNS)
)
_INSERT_SCAN = DriverStatement.per_dialect(
    lambda dialect: _insert_statement(dialect, _SCANS, (*_SCAN_COLUMNS, "attendance_id"))
)


def _prefixed(prefix: str, values: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in values.items()}


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


def _replay(session: Session, scan_id: int) -> ScanResult:
    """The answer to a scan already received with this nonce: the same attendance, never a second one."""
    scan = session.get_one(Scan, scan_id)
    assert scan.member_id is not None and scan.symposium_id is not None
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
