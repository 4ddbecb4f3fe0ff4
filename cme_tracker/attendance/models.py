from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme_tracker.db import Base, utcnow
from cme_tracker.members.models import Member
from cme_tracker.program.models import Lecture, Symposium

_OPEN = "check_out_at IS NULL AND voided_at IS NULL"
_OPEN_LECTURE = text(f"lecture_id IS NOT NULL AND {_OPEN}")
_OPEN_SYMPOSIUM = text(f"lecture_id IS NULL AND {_OPEN}")


class Attendance(Base):
    """A presence interval of a member at one lecture, or at a whole symposium when ``lecture_id`` is null.

    Voiding keeps the row. Partial unique indexes (on SQLite as on PostgreSQL) allow at most one open
    attendance per member and lecture, and per member and whole symposium.
    """

    __tablename__ = "attendances"
    __table_args__ = (
        CheckConstraint("check_out_at IS NULL OR check_out_at >= check_in_at", name="out_after_in"),
        CheckConstraint("(voided_at IS NULL) = (void_reason IS NULL)", name="void_reason_with_void"),
        Index(
            "uq_attendances_open_lecture",
            "member_id",
            "lecture_id",
            unique=True,
            sqlite_where=_OPEN_LECTURE,
            postgresql_where=_OPEN_LECTURE,
        ),
        Index(
            "uq_attendances_open_symposium",
            "member_id",
            "symposium_id",
            unique=True,
            sqlite_where=_OPEN_SYMPOSIUM,
            postgresql_where=_OPEN_SYMPOSIUM,
        ),
        Index("ix_attendances_member_symposium", "member_id", "symposium_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    symposium_id: Mapped[int] = mapped_column(ForeignKey("symposia.id", ondelete="RESTRICT"), index=True)
    lecture_id: Mapped[int | None] = mapped_column(ForeignKey("lectures.id", ondelete="RESTRICT"), index=True)
    check_in_at: Mapped[datetime]
    check_out_at: Mapped[datetime | None]
    method: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    desk: Mapped[str | None] = mapped_column(String(64))
    recorded_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[datetime | None]
    voided_by: Mapped[str | None] = mapped_column(String(64))
    void_reason: Mapped[str | None] = mapped_column(Text)

    member: Mapped[Member] = relationship()
    symposium: Mapped[Symposium] = relationship()
    lecture: Mapped[Lecture | None] = relationship()


class Scan(Base):
    """Every check-in or check-out scan as it arrived, accepted or not.

    The nonce (unique) makes a retried or re-synced scan recognisable; the outcome is what the desk was told.
    """

    __tablename__ = "scans"
    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_scans_member_symposium", "member_id", "symposium_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str | None] = mapped_column(String(100), unique=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    raw_code: Mapped[str | None] = mapped_column(String(300))
    symposium_id: Mapped[int | None] = mapped_column(ForeignKey("symposia.id", ondelete="RESTRICT"))
    lecture_id: Mapped[int | None] = mapped_column(ForeignKey("lectures.id", ondelete="RESTRICT"))
    direction: Mapped[str] = mapped_column(String(3))
    scanned_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    desk: Mapped[str | None] = mapped_column(String(64))
    operator: Mapped[str | None] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(32))
    attendance_id: Mapped[int | None] = mapped_column(ForeignKey("attendances.id", ondelete="SET NULL"))
