from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme_tracker.db import Base, EnumString
from cme_tracker.society import SOCIETY_ZONE_NAME
from cme_tracker.vocabulary import CmeField, SymposiumKind, SymposiumStatus, sql_in


class Symposium(Base):
    """One day of lectures, held in its own time zone."""

    __tablename__ = "symposia"
    __table_args__ = (
        CheckConstraint(f"kind IN ({sql_in(SymposiumKind)})", name="kind"),
        CheckConstraint(f"status IN ({sql_in(SymposiumStatus)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    held_on: Mapped[date]
    timezone: Mapped[str] = mapped_column(
        String(64), default=SOCIETY_ZONE_NAME, server_default=SOCIETY_ZONE_NAME
    )
    title_ja: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    venue: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[SymposiumKind] = mapped_column(
        EnumString(SymposiumKind, 16), default=SymposiumKind.REGULAR, server_default=SymposiumKind.REGULAR
    )
    status: Mapped[SymposiumStatus] = mapped_column(
        EnumString(SymposiumStatus, 16),
        default=SymposiumStatus.SCHEDULED,
        server_default=SymposiumStatus.SCHEDULED,
    )

    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    """Raised by every change; the office's edits name the version they were made against."""

    lectures: Mapped[list[Lecture]] = relationship(
        back_populates="symposium", order_by="Lecture.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Lecture(Base):
    """A lecture with exactly one CME field; its times are stored in UTC."""

    __tablename__ = "lectures"
    __table_args__ = (
        CheckConstraint(f"field IN ({sql_in(CmeField)})", name="field"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        UniqueConstraint("symposium_id", "position", name="uq_lectures_symposium_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    symposium_id: Mapped[int] = mapped_column(ForeignKey("symposia.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    field: Mapped[CmeField] = mapped_column(EnumString(CmeField, 20))
    title_ja: Mapped[str] = mapped_column(String(500))
    title_en: Mapped[str | None] = mapped_column(String(500))
    speaker: Mapped[str] = mapped_column(String(300))
    speaker_affiliation: Mapped[str | None] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(16))
    jma_cc: Mapped[str | None] = mapped_column(String(8))
    jda_code: Mapped[str | None] = mapped_column(String(16))
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    """Raised by every change of the lecture's row (its excluded intervals included, see the editor)."""

    symposium: Mapped[Symposium] = relationship(back_populates="lectures")
    exclusions: Mapped[list[LectureExclusion]] = relationship(
        back_populates="lecture", order_by="LectureExclusion.starts_at", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012


class LectureExclusion(Base):
    """A break or sponsored segment inside a lecture whose minutes earn nothing."""

    __tablename__ = "lecture_exclusions"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)

    lecture: Mapped[Lecture] = relationship(back_populates="exclusions")
