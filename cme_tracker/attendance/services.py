"""Finding attendances. Plain functions on a Session; the caller commits."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from cme_tracker.attendance.models import Attendance
from cme_tracker.members.services import LOOKUP_CHUNK, chunks


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


def is_open(attendance: Attendance) -> bool:
    """Checked in, not out, not voided: a member has at most one per lecture and per whole symposium."""
    return attendance.check_out_at is None and attendance.voided_at is None


def in_zone(moment: datetime, timezone: str) -> datetime:
    """A time as UTC; a naive one is read as wall-clock time in ``timezone`` (the symposium's)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)
