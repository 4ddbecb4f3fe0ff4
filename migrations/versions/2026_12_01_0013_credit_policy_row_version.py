"""credit policy row version

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01

A policy version is edited from the office's pages and the API (enabled or disabled): ``row_version`` makes
those edits optimistic (ETag and If-Match, a hidden field of the page's form), so that two officers do not
overwrite each other's change unnoticed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credit_policies") as batch:
        batch.add_column(sa.Column("row_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("credit_policies") as batch:
        batch.drop_column("row_version")
