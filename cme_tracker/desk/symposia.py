"""Which symposia a desk may pick: today's, each in its own time zone; an admin any, for corrections."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import SymposiumStatus


def is_held_today(symposium: Symposium, now: datetime) -> bool:
    """Whether ``now`` falls on the symposium's date where it is held (a Berlin day is not a Tokyo day)."""
    return now.astimezone(symposium.zone).date() == symposium.held_on


def desk_symposia(session: Session, now: datetime, *, any_date: bool = False) -> list[Symposium]:
    """Today's scheduled symposia with their lectures; with ``any_date`` all others follow, newest first.

    Every zone's "today" lies within a day of the UTC date, so the database narrows by date and the zone
    decides in Python.
    """
    statement = (
        select(Symposium)
        .options(selectinload(Symposium.lectures))
        .order_by(Symposium.held_on.desc(), Symposium.code)
    )
    if not any_date:
        day = now.date()
        statement = statement.where(
            Symposium.status == SymposiumStatus.SCHEDULED,
            Symposium.held_on.between(day - timedelta(days=1), day + timedelta(days=1)),
        )
    symposia = list(session.scalars(statement))
    today = [
        symposium
        for symposium in symposia
        if symposium.status == SymposiumStatus.SCHEDULED and is_held_today(symposium, now)
    ]
    if not any_date:
        return today
    return today + [symposium for symposium in symposia if symposium not in today]
