"""The audit log a page at a time, newest first, filtered; and whether the chain is still intact.

Pages are keyed on the sequence (``before`` or ``after`` an event), not offsets, so a page of a log with
millions of events costs the same as the first, and events appended meanwhile never shift what a link shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent, AuditHead
from cme_tracker.society import SOCIETY_ZONE

VERIFY_INLINE_LIMIT = 20_000
"""Up to this many events the page verifies the chain on every visit; above, an auditor asks for it."""


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Every given criterion must hold: exact actor, action and target prefixes, days in ``zone``."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: date | None = None
    until: date | None = None
    """Inclusive: the whole day."""
    zone: ZoneInfo = SOCIETY_ZONE

    def conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.actor:
            conditions.append(AuditEvent.actor == self.actor)
        if self.action:
            conditions.append(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.target:
            conditions.append(AuditEvent.target.startswith(self.target, autoescape=True))
        if self.since:
            conditions.append(AuditEvent.occurred_at >= self._midnight(self.since))
        if self.until:
            conditions.append(AuditEvent.occurred_at < self._midnight(self.until + timedelta(days=1)))
        return conditions

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=self.zone)


@dataclass(frozen=True, slots=True)
class LogPage:
    events: tuple[AuditEvent, ...]
    newer: int | None
    """The ``after`` of the page of newer events, when there are any."""
    older: int | None
    """The ``before`` of the page of older events, when there are any."""


def log_page(
    session: Session,
    criteria: LogFilter,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int,
) -> LogPage:
    """The ``size`` matching events just before ``before`` (or just after ``after``), newest first."""
    matching = select(AuditEvent).where(*criteria.conditions())
    sequence = AuditEvent.sequence
    if after is not None:
        rows = session.scalars(matching.where(sequence > after).order_by(sequence).limit(size + 1)).all()
        events = rows[:size][::-1]
        more_newer = len(rows) > size
        more_older = bool(events) and _exists(session, matching.where(sequence < events[-1].sequence))
    else:
        page = matching if before is None else matching.where(sequence < before)
        rows = session.scalars(page.order_by(sequence.desc()).limit(size + 1)).all()
        events = rows[:size]
        more_older = len(rows) > size
        more_newer = bool(events) and _exists(session, matching.where(sequence > events[0].sequence))
    return LogPage(
        events=tuple(events),
        newer=events[0].sequence if events and more_newer else None,
        older=events[-1].sequence if events and more_older else None,
    )


def chain_length(session: Session) -> int:
    """How many events the chain's head says were appended: one read, however long the log."""
    return session.scalar(select(AuditHead.sequence).where(AuditHead.id == 1)) or 0


def _exists(session: Session, statement: Select[Any]) -> bool:
    return session.scalar(select(statement.with_only_columns(AuditEvent.sequence).limit(1).exists())) or False
