"""Live attendance counts of a symposium for the desks: per lecture and for the whole day.

One grouped query over the symposium's attendances; the desk polls it every few seconds while scanning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.errors import NotFound
from cme_tracker.program.models import Lecture, Symposium


@dataclass(frozen=True, slots=True)
class Counts:
    """Members who checked in (once or more, voided scans left out) and members inside right now."""

    checked_in: int = 0
    inside_now: int = 0


@dataclass(frozen=True, slots=True)
class LectureCounts:
    code: str
    title_ja: str
    title_en: str | None
    starts_at: datetime
    ends_at: datetime
    counts: Counts


@dataclass(frozen=True, slots=True)
class SymposiumCounts:
    """The counts a desk shows; ``day.inside_now`` is what a lecture's desk may expect to come in."""

    code: str
    held_on: date
    timezone: str
    status: str
    now: datetime
    day: Counts
    lectures: tuple[LectureCounts, ...]


def symposium_counts(session: Session, code: str, now: datetime) -> SymposiumCounts:
    """Counts at ``now``. A member is inside while their attendance is open and its target not over yet:
    a missing check-out means "until the lecture ends" (the last lecture, for the whole day)."""
    symposium = session.scalar(select(Symposium).where(Symposium.code == code))
    if symposium is None:
        raise NotFound(f"no symposium {code}", code="unknown_symposium")
    lectures = session.execute(
        select(
            Lecture.id, Lecture.code, Lecture.title_ja, Lecture.title_en, Lecture.starts_at, Lecture.ends_at
        )
        .where(Lecture.symposium_id == symposium.id)
        .order_by(Lecture.position)
    ).all()
    inside = and_(Attendance.check_out_at.is_(None), Attendance.check_in_at <= now)
    grouped = session.execute(
        select(
            Attendance.lecture_id,
            func.count(Attendance.member_id.distinct()),
            func.count(case((inside, Attendance.member_id)).distinct()),
        )
        .where(Attendance.symposium_id == symposium.id, Attendance.voided_at.is_(None))
        .group_by(Attendance.lecture_id)
    ).all()
    counts = {lecture_id: Counts(checked_in, inside_now) for lecture_id, checked_in, inside_now in grouped}
    day_over = bool(lectures) and now >= max(lecture.ends_at for lecture in lectures)
    return SymposiumCounts(
        code=symposium.code,
        held_on=symposium.held_on,
        timezone=symposium.timezone,
        status=symposium.status,
        now=now,
        day=_until(counts.get(None, Counts()), over=day_over),
        lectures=tuple(
            LectureCounts(
                code=lecture.code,
                title_ja=lecture.title_ja,
                title_en=lecture.title_en,
                starts_at=lecture.starts_at,
                ends_at=lecture.ends_at,
                counts=_until(counts.get(lecture.id, Counts()), over=now >= lecture.ends_at),
            )
            for lecture in lectures
        ),
    )


def _until(counts: Counts, *, over: bool) -> Counts:
    """Nobody is inside a lecture (or a day) that is over, checked out or not."""
    return Counts(counts.checked_in, 0) if over else counts
