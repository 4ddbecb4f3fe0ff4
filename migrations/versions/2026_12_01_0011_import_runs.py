"""import runs

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-01

Import files uploaded from the office's pages and the API: the file kept in the instance folder, its dry run
and its import, with counts and every problem by line and column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cme_tracker.db

revision = "0011"
down_revision = "0012"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=120), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("added", sa.Integer(), server_default="0", nullable=False),
        sa.Column("changed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("unchanged", sa.Integer(), server_default="0", nullable=False),
        sa.Column("related", _JSON, nullable=False),
        sa.Column("errors", _JSON, nullable=False),
        sa.Column("error_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("imported_by", sa.String(length=64), nullable=True),
        sa.Column("imported_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("row_version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint("kind IN ('members', 'program', 'attendance')", name=op.f("ck_import_runs_kind")),
        sa.CheckConstraint(
            "status IN ('checking', 'dry_run_ok', 'dry_run_failed', 'importing', 'imported', 'failed')",
            name=op.f("ck_import_runs_status"),
        ),
        sa.CheckConstraint(
            "size >= 0 AND added >= 0 AND changed >= 0 AND unchanged >= 0 AND error_count >= 0",
            name=op.f("ck_import_runs_counts"),
        ),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_import_runs_job_id_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_import_runs_stored_name")),
    )
    op.create_index("ix_import_runs_uploaded_at", "import_runs", ["uploaded_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_import_runs_uploaded_at", table_name="import_runs")
    op.drop_table("import_runs")
