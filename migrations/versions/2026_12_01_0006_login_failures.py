"""login failures

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Failed logins counted per account and per client address, shared by every web process, so that the login
form locks a key for an exponentially growing time after a few failures.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cme_tracker.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_failures")),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
