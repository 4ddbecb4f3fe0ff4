"""Issued certificates (per symposium) and transcripts (per year): frozen content, file and status."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme_tracker.db import Base, EnumString, JSONDocument, utcnow
from cme_tracker.members.models import Member
from cme_tracker.program.models import Symposium
from cme_tracker.vocabulary import YearBasis


class CertificateKind(StrEnum):
    ATTENDANCE = "attendance"
    TRANSCRIPT = "transcript"


class CertificateStatus(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class RevocationCategory(StrEnum):
    """Why a certificate was withdrawn, as the verify page may say it; the free-text reason stays inside."""

    ISSUED_IN_ERROR = "issued_in_error"
    ATTENDANCE_CORRECTED = "attendance_corrected"
    MISCONDUCT = "misconduct"
    OTHER = "other"


_VALID_ATTENDANCE = text("status = 'valid' AND kind = 'attendance'")
_VALID_TRANSCRIPT = text("status = 'valid' AND kind = 'transcript'")


class Certificate(Base):
    """One signed PDF: what it certifies (``content``, frozen at issue), where the file is, what it hashes to.

    Partial unique indexes keep at most one valid certificate per member and symposium, and per member and
    year, whatever crashes or concurrent runs happen. ``revision`` counts the member's certificates of the
    same subject (a reissue is the next revision).
    """

    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("kind IN ('attendance', 'transcript')", name="kind"),
        CheckConstraint("status IN ('valid', 'revoked', 'superseded')", name="status"),
        CheckConstraint(
            "(kind = 'attendance' AND symposium_id IS NOT NULL AND year IS NULL AND year_basis IS NULL)"
            " OR (kind = 'transcript' AND symposium_id IS NULL AND year IS NOT NULL"
            " AND year_basis IN ('calendar', 'fiscal'))",
            name="subject",
        ),
        CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name="revoked_when_revoked"),
        CheckConstraint(
            "replaced_by_id IS NULL OR status = 'superseded'", name="successor_only_when_superseded"
        ),
        Index(
            "uq_certificates_valid_attendance",
            "member_id",
            "symposium_id",
            unique=True,
            sqlite_where=_VALID_ATTENDANCE,
            postgresql_where=_VALID_ATTENDANCE,
        ),
        Index(
            "uq_certificates_valid_transcript",
            "member_id",
            "year",
            "year_basis",
            unique=True,
            sqlite_where=_VALID_TRANSCRIPT,
            postgresql_where=_VALID_TRANSCRIPT,
        ),
        Index("ix_certificates_member_subject", "member_id", "symposium_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[CertificateKind] = mapped_column(EnumString(CertificateKind, 16))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    symposium_id: Mapped[int | None] = mapped_column(
        ForeignKey("symposia.id", ondelete="RESTRICT"), index=True
    )
    year: Mapped[int | None]
    year_basis: Mapped[YearBasis | None] = mapped_column(EnumString(YearBasis, 16))
    revision: Mapped[int]
    content: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    policy_versions: Mapped[list[str]] = mapped_column(JSONDocument)
    sha256: Mapped[str] = mapped_column(String(64))
    file_path: Mapped[str] = mapped_column(String(300))
    """Relative to the instance folder, so a moved or restored instance keeps its files."""
    verification_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[CertificateStatus] = mapped_column(
        EnumString(CertificateStatus, 16), default=CertificateStatus.VALID
    )
    revoked_at: Mapped[datetime | None]
    revocation_category: Mapped[RevocationCategory | None] = mapped_column(EnumString(RevocationCategory, 32))
    revocation_reason: Mapped[str | None] = mapped_column(Text)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id", ondelete="RESTRICT"))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(64))

    member: Mapped[Member] = relationship()
    symposium: Mapped[Symposium | None] = relationship()
    replaced_by: Mapped[Certificate | None] = relationship(remote_side=[id])
