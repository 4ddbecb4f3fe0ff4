"""user session version

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Every user gets a session version, part of the id their session cookie carries: logging out or a new password
raises it, so a copied cookie stops working on the server. Existing sessions (which carry no version) end.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
