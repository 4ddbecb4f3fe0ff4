"""Finding attendances. Plain functions on a Session; the caller commits."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.members.services import LOOKUP_CHUNK, chunks
from cme_tracker.program.models import Symposium


@dataclass(frozen=True, slots=True)
class LastSymposium:
    code: str
    held_on: date


def attendances_of(
    session: Session, member_ids: Collection[int], symposium_ids: Collection[int]
) -> list[Attendance]:
    """Every attendance (voided ones too) of these members at these symposia."""
    found: list[Attendance] = []
    symposia = sorted(set(symposium_ids))
    if not symposia:
        return found
    for chunk in chunks(sorted(set(member_ids)), LOOKUP_CHUNK):
        statement = select(Attendance).where(
            Attendance.member_id.in_(chunk), Attendance.symposium_id.in_(symposia)
        )
        found.extend(session.scalars(statement))
    return found


def last_symposia(session: Session, member_ids: Collection[int]) -> dict[int, LastSymposium]:
    """The latest symposium each of these members attended (voided attendances do not count), by member id;
    one query for a page of members, however many rows it shows."""
    found: dict[int, LastSymposium] = {}
    for chunk in chunks(sorted(set(member_ids)), LOOKUP_CHUNK):
        ranked = (
            select(
                Attendance.member_id,
                Symposium.code,
                Symposium.held_on,
                func.row_number()
                .over(
                    partition_by=Attendance.member_id,
                    order_by=(Symposium.held_on.desc(), Symposium.id.desc()),
                )
                .label("rank"),
            )
            .join(Symposium, Symposium.id == Attendance.symposium_id)
            .where(Attendance.member_id.in_(chunk), Attendance.voided_at.is_(None))
            .subquery()
        )
        rows = session.execute(
            select(ranked.c.member_id, ranked.c.code, ranked.c.held_on).where(ranked.c.rank == 1)
        )
        for member_id, code, held_on in rows:
            found[member_id] = LastSymposium(code, held_on)
    return found


def is_open(attendance: Attendance) -> bool:
    """Checked in, not out, not voided: a member has at most one per lecture and per whole symposium."""
    return attendance.check_out_at is None and attendance.voided_at is None


def in_zone(moment: datetime, timezone: str) -> datetime:
    """A time as UTC; a naive one is read as wall-clock time in ``timezone`` (the symposium's)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)
