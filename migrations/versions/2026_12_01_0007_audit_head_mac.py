"""audit head mac

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

The audit head row gains ``mac``, the audit key's HMAC over its sequence and hash, so that editing the head row
is detected. A migration has no audit key: rows of a log that already holds events keep an empty ``mac`` until
the next append keys it (``audit verify`` reports such a head as not keyed until then).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("mac")
