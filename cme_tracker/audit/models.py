from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from cme_tracker.db import Base, JSONDocument


class AuditEvent(Base):
    """Who did what to which record, chained to the event before it."""

    __tablename__ = "audit_events"

    sequence: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    occurred_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The single row that serialises appends: updating it first takes the write lock on both databases.

    ``mac`` keys the sequence and hash with the audit key (see :func:`cme_tracker.audit.anchor.head_mac`), so
    that rolling the head back to the last kept event of a cut tail shows; it is empty only before the first
    event."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sequence: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(64))
