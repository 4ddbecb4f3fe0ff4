"""user versions and unset passwords

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-01

Users get a row version for the office's optimistic edits, and a login may have no password yet: a member's
login created by the office waits for the member to set one on activation.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("row_version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch.alter_column("password_hash", existing_type=sa.String(200), nullable=True)


def downgrade() -> None:
    # a login without a password keeps none that works: "!" is no argon2 hash, so it never verifies
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("password_hash", existing_type=sa.String(200), nullable=False)
        batch.drop_column("row_version")
