"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25

The audit chain starts from a head row at sequence 0 whose hash is all zeros.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sqlalchemy.dialects import postgresql

import cme_tracker.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('sequence', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('occurred_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_target'), ['target'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_audit_head_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.execute("INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '" + "0" * 64 + "')")
    op.create_table('credit_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_policies')),
    sa.UniqueConstraint('code', 'version', name='uq_credit_policies_code_version')
    )
    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_no', sa.String(length=32), nullable=False),
    sa.Column('profession', sa.String(length=16), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name_kana', sa.String(length=100), nullable=True),
    sa.Column('given_name_kana', sa.String(length=100), nullable=True),
    sa.Column('family_name_romaji', sa.String(length=100), nullable=False),
    sa.Column('given_name_romaji', sa.String(length=100), nullable=False),
    sa.Column('former_family_name', sa.String(length=100), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('medical_registry_no', sa.String(length=16), nullable=True),
    sa.Column('dental_registry_no', sa.String(length=16), nullable=True),
    sa.Column('efn', sa.String(length=15), nullable=True),
    sa.Column('search_key', sa.String(length=600), nullable=False),
    sa.Column('card_serial', sa.Integer(), server_default='1', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("profession IN ('physician', 'dentist', 'other')", name=op.f('ck_members_profession')),
    sa.CheckConstraint('card_serial >= 1', name=op.f('ck_members_card_serial_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('member_no', name=op.f('uq_members_member_no'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_search_key'), ['search_key'], unique=False)

    op.create_table('symposia',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('timezone', sa.String(length=64), server_default='Asia/Tokyo', nullable=False),
    sa.Column('title_ja', sa.String(length=300), nullable=False),
    sa.Column('title_en', sa.String(length=300), nullable=False),
    sa.Column('venue', sa.String(length=300), nullable=True),
    sa.Column('kind', sa.String(length=16), server_default='regular', nullable=False),
    sa.Column('status', sa.String(length=16), server_default='scheduled', nullable=False),
    sa.CheckConstraint("kind IN ('regular', 'special')", name=op.f('ck_symposia_kind')),
    sa.CheckConstraint("status IN ('scheduled', 'closed')", name=op.f('ck_symposia_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_symposia')),
    sa.UniqueConstraint('code', name=op.f('uq_symposia_code'))
    )
    op.create_table('lectures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('symposium_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('starts_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=False),
    sa.Column('title_ja', sa.String(length=500), nullable=False),
    sa.Column('title_en', sa.String(length=500), nullable=True),
    sa.Column('speaker', sa.String(length=300), nullable=False),
    sa.Column('speaker_affiliation', sa.String(length=300), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('jma_cc', sa.String(length=8), nullable=True),
    sa.Column('jda_code', sa.String(length=16), nullable=True),
    sa.CheckConstraint("field IN ('clinical', 'basic_medicine', 'pharmaceuticals', 'dentistry', 'discourse')", name=op.f('ck_lectures_field')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_lectures_ends_after_start')),
    sa.ForeignKeyConstraint(['symposium_id'], ['symposia.id'], name=op.f('fk_lectures_symposium_id_symposia'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lectures')),
    sa.UniqueConstraint('code', name=op.f('uq_lectures_code')),
    sa.UniqueConstraint('symposium_id', 'position', name='uq_lectures_symposium_position')
    )
    with op.batch_alter_table('lectures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lectures_symposium_id'), ['symposium_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_users_member_id_members'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('login', name=op.f('uq_users_login')),
    sa.UniqueConstraint('member_id', name=op.f('uq_users_member_id'))
    )
    op.create_table('attendances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('symposium_id', sa.Integer(), nullable=False),
    sa.Column('lecture_id', sa.Integer(), nullable=True),
    sa.Column('check_in_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('check_out_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('method', sa.String(length=16), server_default='import', nullable=False),
    sa.Column('desk', sa.String(length=64), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('voided_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('voided_by', sa.String(length=64), nullable=True),
    sa.Column('void_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('(voided_at IS NULL) = (void_reason IS NULL)', name=op.f('ck_attendances_void_reason_with_void')),
    sa.CheckConstraint('check_out_at IS NULL OR check_out_at >= check_in_at', name=op.f('ck_attendances_out_after_in')),
    sa.ForeignKeyConstraint(['lecture_id'], ['lectures.id'], name=op.f('fk_attendances_lecture_id_lectures'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_attendances_member_id_members'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['symposium_id'], ['symposia.id'], name=op.f('fk_attendances_symposium_id_symposia'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendances'))
    )
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendances_lecture_id'), ['lecture_id'], unique=False)
        batch_op.create_index('ix_attendances_member_symposium', ['member_id', 'symposium_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendances_symposium_id'), ['symposium_id'], unique=False)
        batch_op.create_index('uq_attendances_open_lecture', ['member_id', 'lecture_id'], unique=True, sqlite_where=sa.text('lecture_id IS NOT NULL AND check_out_at IS NULL AND voided_at IS NULL'), postgresql_where=sa.text('lecture_id IS NOT NULL AND check_out_at IS NULL AND voided_at IS NULL'))
        batch_op.create_index('uq_attendances_open_symposium', ['member_id', 'symposium_id'], unique=True, sqlite_where=sa.text('lecture_id IS NULL AND check_out_at IS NULL AND voided_at IS NULL'), postgresql_where=sa.text('lecture_id IS NULL AND check_out_at IS NULL AND voided_at IS NULL'))

    op.create_table('lecture_exclusions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lecture_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', cme_tracker.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_lecture_exclusions_ends_after_start')),
    sa.ForeignKeyConstraint(['lecture_id'], ['lectures.id'], name=op.f('fk_lecture_exclusions_lecture_id_lectures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lecture_exclusions'))
    )
    with op.batch_alter_table('lecture_exclusions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lecture_exclusions_lecture_id'), ['lecture_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.CheckConstraint("role IN ('admin', 'desk', 'auditor', 'member')", name=op.f('ck_user_roles_role')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )


def downgrade() -> None:
    op.drop_table('user_roles')
    with op.batch_alter_table('lecture_exclusions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lecture_exclusions_lecture_id'))

    op.drop_table('lecture_exclusions')
    with op.batch_alter_table('attendances', schema=None) as batch_op:
        batch_op.drop_index('uq_attendances_open_symposium', sqlite_where=sa.text('lecture_id IS NULL AND check_out_at IS NULL AND voided_at IS NULL'), postgresql_where=sa.text('lecture_id IS NULL AND check_out_at IS NULL AND voided_at IS NULL'))
        batch_op.drop_index('uq_attendances_open_lecture', sqlite_where=sa.text('lecture_id IS NOT NULL AND check_out_at IS NULL AND voided_at IS NULL'), postgresql_where=sa.text('lecture_id IS NOT NULL AND check_out_at IS NULL AND voided_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_attendances_symposium_id'))
        batch_op.drop_index('ix_attendances_member_symposium')
        batch_op.drop_index(batch_op.f('ix_attendances_lecture_id'))

    op.drop_table('attendances')
    op.drop_table('users')
    with op.batch_alter_table('lectures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lectures_symposium_id'))

    op.drop_table('lectures')
    op.drop_table('symposia')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_search_key'))

    op.drop_table('members')
    op.drop_table('credit_policies')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_target'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
