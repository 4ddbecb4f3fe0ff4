"""admin api tokens

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

API clients may hold the admin role (the office's automation), may expire, and note their last use.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cme_tracker.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("expires_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_used_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=True))
        batch.drop_constraint(op.f("ck_api_clients_role"), type_="check")
        batch.create_check_constraint("role", "role IN ('desk', 'auditor', 'admin')")


def downgrade() -> None:
    op.execute("DELETE FROM api_clients WHERE role = 'admin'")
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_constraint(op.f("ck_api_clients_role"), type_="check")
        batch.create_check_constraint("role", "role IN ('desk', 'auditor')")
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
