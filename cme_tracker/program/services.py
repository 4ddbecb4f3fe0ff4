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
from cme_tracker.members.services import LOOKUP_CHUNK, chunks
from cme_tracker.program.models import Lecture, Symposium
from cme_tracker.vocabulary import SymposiumStatus


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
    """Number a symposium's lectures 1, 2, ... in the order they start.

    Positions are unique per symposium and checked row by row, so lectures that move are parked on distinct
    negative positions first; no two ever share one on the way.
    """
    ordered = sorted(lectures, key=lecture_order)
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
        symposium.status = SymposiumStatus.CLOSED
        chain.record(session, actor=actor, action="symposium.close", target=f"symposium:{symposium.code}")
    session.flush()
    return [symposium.code for symposium in closing]
