"""desk scans api clients walk-ins

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Every desk scan as it arrived, API clients with hashed bearer tokens, and the walk-in review flag.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cme_tracker.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('desk', 'auditor')", name=op.f('ck_api_clients_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('name', name=op.f('uq_api_clients_name')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_clients_token_sha256'))
    )
    op.create_table('scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('raw_code', sa.String(length=300), nullable=True),
    sa.Column('symposium_id', sa.Integer(), nullable=True),
    sa.Column('lecture_id', sa.Integer(), nullable=True),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('scanned_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('desk', sa.String(length=64), nullable=True),
    sa.Column('operator', sa.String(length=100), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('attendance_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_scans_direction')),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendances.id'], name=op.f('fk_scans_attendance_id_attendances'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lecture_id'], ['lectures.id'], name=op.f('fk_scans_lecture_id_lectures'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_scans_member_id_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['symposium_id'], ['symposia.id'], name=op.f('fk_scans_symposium_id_symposia'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans')),
    sa.UniqueConstraint('nonce', name=op.f('uq_scans_nonce'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index('ix_scans_member_symposium', ['member_id', 'symposium_id'], unique=False)

    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_review', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('needs_review')

    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index('ix_scans_member_symposium')

    op.drop_table('scans')
    op.drop_table('api_clients')
