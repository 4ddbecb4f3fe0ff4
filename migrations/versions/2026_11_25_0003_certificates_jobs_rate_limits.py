"""certificates jobs rate limits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Issued certificates and transcripts (at most one valid per member and subject), jobs for long work, and the
windows of the public pages' rate limit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cme_tracker.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.Column('done', sa.Integer(), server_default='0', nullable=False),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name=op.f('ck_jobs_status')),
    sa.CheckConstraint('done >= 0 AND total >= 0', name=op.f('ck_jobs_progress_counts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_status_created', ['status', 'created_at'], unique=False)

    op.create_table('rate_limit_windows',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limit_windows'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('symposium_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('year_basis', sa.String(length=16), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('policy_versions', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_path', sa.String(length=300), nullable=False),
    sa.Column('verification_code', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revoked_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revocation_category', sa.String(length=32), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('issued_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=64), nullable=False),
    sa.CheckConstraint("(kind = 'attendance' AND symposium_id IS NOT NULL AND year IS NULL AND year_basis IS NULL) OR (kind = 'transcript' AND symposium_id IS NULL AND year IS NOT NULL AND year_basis IN ('calendar', 'fiscal'))", name=op.f('ck_certificates_subject')),
    sa.CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name=op.f('ck_certificates_revoked_when_revoked')),
    sa.CheckConstraint("replaced_by_id IS NULL OR status = 'superseded'", name=op.f('ck_certificates_successor_only_when_superseded')),
    sa.CheckConstraint("kind IN ('attendance', 'transcript')", name=op.f('ck_certificates_kind')),
    sa.CheckConstraint("status IN ('valid', 'revoked', 'superseded')", name=op.f('ck_certificates_status')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_certificates_member_id_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['certificates.id'], name=op.f('fk_certificates_replaced_by_id_certificates'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['symposium_id'], ['symposia.id'], name=op.f('fk_certificates_symposium_id_symposia'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('serial', name=op.f('uq_certificates_serial'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index('ix_certificates_member_subject', ['member_id', 'symposium_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_symposium_id'), ['symposium_id'], unique=False)
        batch_op.create_index('uq_certificates_valid_attendance', ['member_id', 'symposium_id'], unique=True, sqlite_where=sa.text("status = 'valid' AND kind = 'attendance'"), postgresql_where=sa.text("status = 'valid' AND kind = 'attendance'"))
        batch_op.create_index('uq_certificates_valid_transcript', ['member_id', 'year', 'year_basis'], unique=True, sqlite_where=sa.text("status = 'valid' AND kind = 'transcript'"), postgresql_where=sa.text("status = 'valid' AND kind = 'transcript'"))



def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_valid_transcript', sqlite_where=sa.text("status = 'valid' AND kind = 'transcript'"), postgresql_where=sa.text("status = 'valid' AND kind = 'transcript'"))
        batch_op.drop_index('uq_certificates_valid_attendance', sqlite_where=sa.text("status = 'valid' AND kind = 'attendance'"), postgresql_where=sa.text("status = 'valid' AND kind = 'attendance'"))
        batch_op.drop_index(batch_op.f('ix_certificates_symposium_id'))
        batch_op.drop_index('ix_certificates_member_subject')

    op.drop_table('certificates')
    op.drop_table('rate_limit_windows')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_status_created')

    op.drop_table('jobs')
