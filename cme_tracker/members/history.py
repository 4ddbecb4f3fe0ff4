"""A member's change history: the audit events whose target is the member, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from cme_tracker.audit.models import AuditEvent


def member_target(member_no: str) -> str:
    """How the audit log names a member (``member:001001``)."""
    return f"member:{member_no}"


def history_statement(member_no: str) -> Select[AuditEvent]:
    """The member's events (exactly their target: ``member:0010`` is not ``member:001``), unordered."""
    return select(AuditEvent).where(AuditEvent.target == member_target(member_no))


def member_history(
    session: Session, member_no: str, *, before: int | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """The member's newest ``limit`` events (before the event ``before``, when given), newest first."""
    statement = history_statement(member_no)
    if before is not None:
        statement = statement.where(AuditEvent.sequence < before)
    return session.scalars(statement.order_by(AuditEvent.sequence.desc()).limit(limit)).all()
