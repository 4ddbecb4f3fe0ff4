"""An ImportRun: one uploaded import file, what its dry run found, and what its import did."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cme_tracker.db import Base, EnumString, JSONDocument, utcnow


class ImportKind(StrEnum):
    MEMBERS = "members"
    PROGRAM = "program"
    ATTENDANCE = "attendance"


class ImportRunStatus(StrEnum):
    CHECKING = "checking"
    """The dry run is queued as a job."""
    DRY_RUN_OK = "dry_run_ok"
    DRY_RUN_FAILED = "dry_run_failed"
    IMPORTING = "importing"
    """The import is queued as a job."""
    IMPORTED = "imported"
    FAILED = "failed"
    """The import found problems the dry run had not (the data changed meanwhile), or the database refused."""


class ImportRun(Base):
    """An upload and its results. The file itself is kept under ``stored_name`` in the instance folder.

    ``added``, ``changed`` and ``unchanged`` count the file's rows (lectures for a program, whose symposia are
    counted in ``related``): as the dry run found them, and once imported as the import did. ``errors`` are
    the problems of the last check (the first :data:`~cme_tracker.import_runs.services.MAX_KEPT_ERRORS`
    of ``error_count``), each with its line, column, reason and the command line's
    ``FILE:LINE:COLUMN: reason``.
    """

    __tablename__ = "import_runs"
    __table_args__ = (
        CheckConstraint("kind IN ('members', 'program', 'attendance')", name="kind"),
        CheckConstraint(
            "status IN ('checking', 'dry_run_ok', 'dry_run_failed', 'importing', 'imported', 'failed')",
            name="status",
        ),
        CheckConstraint(
            "size >= 0 AND added >= 0 AND changed >= 0 AND unchanged >= 0 AND error_count >= 0", name="counts"
        ),
        Index("ix_import_runs_uploaded_at", "uploaded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(EnumString(ImportKind, 16))
    file_name: Mapped[str] = mapped_column(String(120))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[ImportRunStatus] = mapped_column(EnumString(ImportRunStatus, 16))
    added: Mapped[int] = mapped_column(default=0, server_default="0")
    changed: Mapped[int] = mapped_column(default=0, server_default="0")
    unchanged: Mapped[int] = mapped_column(default=0, server_default="0")
    related: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument, default=list)
    error_count: Mapped[int] = mapped_column(default=0, server_default="0")
    summary: Mapped[str | None] = mapped_column(String(500))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_at: Mapped[datetime | None]
    imported_by: Mapped[str | None] = mapped_column(String(64))
    imported_at: Mapped[datetime | None]
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    row_version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (SQLAlchemy reads a plain dict)

    @property
    def counts(self) -> dict[str, int]:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged}

    @property
    def symposium_counts(self) -> dict[str, int] | None:
        counts: dict[str, int] | None = (self.related or {}).get("symposia")
        return counts

    @property
    def confirmable(self) -> bool:
        return self.status is ImportRunStatus.DRY_RUN_OK

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportRunStatus.CHECKING, ImportRunStatus.IMPORTING)
