"""Finding symposia and lectures, turning a symposium's local times into instants, ordering its lectures.

Plain functions on a Session; the caller commits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.audit import chain
from cme_tracker.errors import Conflict, check_version
from cme_tracker.members.services import LOOKUP_CHUNK, chunks
from cme_tracker.program.models import Lecture, LectureExclusion, Symposium
from cme_tracker.vocabulary import SymposiumStatus

Interval = tuple[datetime, datetime]


def symposia_by_code(session: Session, codes: Collection[str]) -> dict[str, Symposium]:
    """The symposia with these codes, by code, with their lectures loaded."""
    found: dict[str, Symposium] = {}
    for chunk in chunks(sorted(set(codes)), LOOKUP_CHUNK):
        statement = (
            select(Symposium).where(Symposium.code.in_(chunk)).options(selectinload(Symposium.lectures))
        )
        for symposium in session.scalars(statement):
            found[symposium.code] = symposium
    return found


def lectures_by_code(session: Session, codes: Collection[str]) -> dict[str, Lecture]:
    """The lectures with these codes, by code, with their symposium and excluded intervals loaded."""
    found: dict[str, Lecture] = {}
    for chunk in chunks(sorted(set(codes)), LOOKUP_CHUNK):
        statement = (
            select(Lecture)
            .where(Lecture.code.in_(chunk))
            .options(selectinload(Lecture.symposium), selectinload(Lecture.exclusions))
        )
        for lecture in session.scalars(statement):
            found[lecture.code] = lecture
    return found


def local_instant(day: date, clock: time, timezone: str) -> datetime:
    """A wall-clock time on a symposium's day, in its time zone, as a UTC instant."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def lecture_order(lecture: Lecture) -> tuple[datetime, datetime, str]:
    return (lecture.starts_at, lecture.ends_at, lecture.code)


def renumber_lectures(session: Session, lectures: Sequence[Lecture]) -> None:
    """Number a symposium's lectures 1, 2, ... in the order they start."""
    set_lecture_order(session, sorted(lectures, key=lecture_order))


def set_lecture_order(session: Session, ordered: Sequence[Lecture]) -> None:
    """Number a symposium's lectures 1, 2, ... in the order given (only those whose number changes).

    Positions are unique per symposium and checked row by row, so lectures that move are parked on distinct
    negative positions first; no two ever share one on the way.
    """
    moving = [(index, lecture) for index, lecture in enumerate(ordered, start=1) if lecture.position != index]
    if not moving:
        return
    parking = -len(ordered) - 1
    for index, lecture in moving:
        lecture.position = parking - index
    session.flush()
    for index, lecture in moving:
        lecture.position = index
    session.flush()


def replace_exclusions(lecture: Lecture, wanted: frozenset[Interval]) -> None:
    """Keep the intervals that stay (with their notes), drop the others, add the new ones."""
    kept: set[Interval] = set()
    for exclusion in list(lecture.exclusions):
        interval = (exclusion.starts_at.astimezone(UTC), exclusion.ends_at.astimezone(UTC))
        if interval in wanted and interval not in kept:
            kept.add(interval)
        else:
            lecture.exclusions.remove(exclusion)
    for start, end in sorted(wanted - kept):
        lecture.exclusions.append(LectureExclusion(starts_at=start, ends_at=end))


def exclusions_of(lecture: Lecture) -> frozenset[Interval]:
    return frozenset(
        (exclusion.starts_at.astimezone(UTC), exclusion.ends_at.astimezone(UTC))
        for exclusion in lecture.exclusions
    )


def close_symposium(
    session: Session, symposium: Symposium, *, actor: str, expected_version: int | None = None
) -> None:
    """Close a scheduled symposium: desks can no longer record scans for it (admins still can)."""
    _set_status(session, symposium, SymposiumStatus.CLOSED, actor, expected_version)


def open_symposium(
    session: Session, symposium: Symposium, *, actor: str, expected_version: int | None = None
) -> None:
    """Open a closed symposium again, so that desks record its scans on its day."""
    _set_status(session, symposium, SymposiumStatus.SCHEDULED, actor, expected_version)


def _set_status(
    session: Session,
    symposium: Symposium,
    status: SymposiumStatus,
    actor: str,
    expected_version: int | None,
) -> None:
    check_version(symposium.row_version, expected_version)
    if symposium.status == status:
        word = "closed" if status == SymposiumStatus.CLOSED else "open"
        raise Conflict(f"symposium {symposium.code} is already {word}", code=f"already_{word}")
    symposium.status = status
    session.flush()
    verb = "close" if status == SymposiumStatus.CLOSED else "open"
    chain.record(session, actor=actor, action=f"symposium.{verb}", target=f"symposium:{symposium.code}")


def close_past_symposia(session: Session, *, today: date, actor: str) -> list[str]:
    """Close every scheduled symposium held before ``today``: desks can no longer record scans for it.

    Returns the codes closed, each with its audit event; already closed symposia are left alone.
    """
    closing = session.scalars(
        select(Symposium)
        .where(Symposium.status == SymposiumStatus.SCHEDULED, Symposium.held_on < today)
        .order_by(Symposium.held_on)
    ).all()
    for symposium in closing:
        close_symposium(session, symposium, actor=actor)
    return [symposium.code for symposium in closing]
