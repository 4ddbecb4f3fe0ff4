from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cme_tracker.db import Base, EnumString, utcnow
from cme_tracker.members import names
from cme_tracker.vocabulary import Profession, sql_in


class Member(Base):
    """A person who earns credits. Names come in kanji (or Latin script only), kana and romaji."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint(f"profession IN ({sql_in(Profession)})", name="profession"),
        CheckConstraint("card_serial >= 1", name="card_serial_positive"),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_merged_into_itself"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_no: Mapped[str] = mapped_column(String(32), unique=True)
    profession: Mapped[Profession] = mapped_column(EnumString(Profession, 16))
    family_name: Mapped[str] = mapped_column(String(100))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name_kana: Mapped[str | None] = mapped_column(String(100))
    given_name_kana: Mapped[str | None] = mapped_column(String(100))
    family_name_romaji: Mapped[str] = mapped_column(String(100))
    given_name_romaji: Mapped[str] = mapped_column(String(100))
    former_family_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    country: Mapped[str | None] = mapped_column(String(2))
    medical_registry_no: Mapped[str | None] = mapped_column(String(16))
    dental_registry_no: Mapped[str | None] = mapped_column(String(16))
    efn: Mapped[str | None] = mapped_column(String(15))
    search_key: Mapped[str] = mapped_column(String(600), index=True)
    card_serial: Mapped[int] = mapped_column(default=1, server_default="1")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    needs_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    """A walk-in registered at a desk, until an admin confirms who they are."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")
    """Counts the saves of the record: an edit names the version it was made against (see errors.py)."""
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="RESTRICT"))
    """The member this walk-in or duplicate was merged into: its records moved there, and it is inactive."""

    merged_into: Mapped[Member | None] = relationship(remote_side=[id])
    """A list of members loads it with ``selectinload``, not row by row."""

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    @property
    def has_japanese_name(self) -> bool:
        """Whether the name is written in kanji or kana; otherwise it exists only in Latin letters."""
        return names.has_japanese_name(self.family_name, self.family_name_kana)

    @property
    def name(self) -> str:
        """The name as shown everywhere: family name first for a Japanese name, given name first otherwise."""
        return names.display_name(self.family_name, self.given_name, self.family_name_kana)

    @property
    def name_romaji(self) -> str:
        return names.romaji_name(self.family_name_romaji, self.given_name_romaji)
