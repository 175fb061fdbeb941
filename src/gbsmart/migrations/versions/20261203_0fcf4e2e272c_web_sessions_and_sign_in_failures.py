"""web sessions and sign-in failures

Portal sessions move to the server (issue 8, item 6; decision 0013): the cookie carries only a random id,
web_sessions holds its SHA-256 digest, the person, the CSRF token and when it ends, so sign-out, a password
change and a revocation end it at once. sign_in_failures counts wrong passwords by username and by client
address (item 9), so the sign-in throttle holds across processes and restarts.

Revision ID: 0fcf4e2e272c
Revises: 4f8ec19d6279
Create Date: 2026-12-03 10:29:35.023212
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = '0fcf4e2e272c'
down_revision = '4f8ec19d6279'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'sign_in_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('client_address', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_failures')),
    )
    op.create_index('ix_sign_in_failures_address_at', 'sign_in_failures', ['client_address', 'at'], unique=False)
    op.create_index(op.f('ix_sign_in_failures_at'), 'sign_in_failures', ['at'], unique=False)
    op.create_index('ix_sign_in_failures_username_at', 'sign_in_failures', ['username', 'at'], unique=False)
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_hash', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_because', sa.String(length=100), nullable=True),
        sa.Column('user_agent', sa.String(length=300), nullable=True),
        sa.Column('client_address', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_web_sessions_person_id_people'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('session_hash', name=op.f('uq_web_sessions_session_hash')),
    )
    op.create_index(op.f('ix_web_sessions_person_id'), 'web_sessions', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_person_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_index('ix_sign_in_failures_username_at', table_name='sign_in_failures')
    op.drop_index(op.f('ix_sign_in_failures_at'), table_name='sign_in_failures')
    op.drop_index('ix_sign_in_failures_address_at', table_name='sign_in_failures')
    op.drop_table('sign_in_failures')
