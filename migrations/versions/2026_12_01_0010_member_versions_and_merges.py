"""member versions and merges

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Members become editable records: ``row_version`` counts their saves (the office's forms and the API's
``If-Match`` name it), and ``merged_into_id`` points from a walk-in or duplicate merged into another member to
that member.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("row_version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_members_merged_into_id_members"),
            "members",
            ["merged_into_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_check_constraint(
            op.f("ck_members_not_merged_into_itself"), "merged_into_id IS NULL OR merged_into_id <> id"
        )


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_constraint(op.f("ck_members_not_merged_into_itself"), type_="check")
        batch.drop_constraint(op.f("fk_members_merged_into_id_members"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("row_version")
