"""The check-in's rules: what a scan names, what it does to a member's attendances, when it may be taken.

Pure (no database, no Flask), so that the order-of-scans logic and the time checks are plain functions over
plain values; :mod:`cme_tracker.attendance.checkin.service` reads the state they decide on and writes what
they decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

from cme_tracker.errors import Conflict, DomainError
from cme_tracker.vocabulary import SymposiumStatus

Direction = Literal["in", "out"]
Status = Literal["checked_in", "checked_out", "already_checked_in", "already_checked_out", "not_checked_in"]

PENDING_OUT: Final = "not_checked_in"
"""The outcome of an ``out`` that found nothing open: kept, because an offline ``in`` may still arrive."""

FUTURE_TOLERANCE = timedelta(minutes=2)
"""How far a desk's clock may run ahead of the server's before its scan time is refused."""

DESK_UNDO_WINDOW = timedelta(minutes=10)
"""How long after recording an attendance a desk may still void it; admins may at any time."""


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

    @property
    def scan_method(self) -> str:
        """How the desk took the scan; a card scan is ``qr`` and a typed number ``manual`` unless it says."""
        return self.method or ("qr" if self.card else "manual")


@dataclass(frozen=True, slots=True)
class ScanMember:
    """The member a scan names, as the desk shows them."""

    id: int
    member_no: str
    name: str
    name_romaji: str
    profession: str
    needs_review: bool


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


@dataclass(frozen=True, slots=True)
class Refusal:
    """The details of a scan refused for its time: the member it named (the desk shows them), the target."""

    member: ScanMember
    target: str


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


def scan_time(requested: datetime | None, zone: ZoneInfo, now: datetime) -> datetime:
    """When the scan was taken, in UTC: the desk's time (a naive one is wall-clock time in ``zone``), else
    ``now``."""
    scanned_at = requested or now
    if scanned_at.tzinfo is None:
        scanned_at = scanned_at.replace(tzinfo=zone)
    return scanned_at.astimezone(UTC)


def check_time(
    member: ScanMember,
    target: ScanTarget,
    direction: Direction,
    scanned_at: datetime,
    *,
    now: datetime,
    privileged: bool,
) -> None:
    """Desks record on the symposium's date until it is closed; admins' corrections may record any time."""
    details = Refusal(member, target.code)
    if scanned_at > now + FUTURE_TOLERANCE:
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
