"""program row versions

Revision ID: 0009
Revises: 0013
Create Date: 2026-12-01

Symposia and lectures gain ``row_version``, raised by every change, so that the office's edits (pages and
API) are refused when someone else saved the record in between. Existing rows start at version 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0013"
branch_labels = None
depends_on = None

TABLES = ("symposia", "lectures")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("row_version")
