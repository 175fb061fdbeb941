"""gateway endpoints and device responses

``gateway_endpoints``: each DCC User's registered response endpoint; ``gateway_responses``: the signed
asynchronous device responses, kept until the User's endpoint takes them (models/delivery.py).

Revision ID: c5d8e1f3a7b2
Revises: b41c7e2d9a10
Create Date: 2026-12-03 19:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'c5d8e1f3a7b2'
down_revision = 'b41c7e2d9a10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'gateway_endpoints',
        sa.Column('user_id', sa.String(length=23), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('updated_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_gateway_endpoints')),
    )
    op.create_table(
        'gateway_responses',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('request_id', sa.String(length=80), nullable=False),
        sa.Column('response_id', sa.String(length=80), nullable=False),
        sa.Column('originator', sa.String(length=23), nullable=False),
        sa.Column('counter', sa.BigInteger(), nullable=False),
        sa.Column('log_seq', sa.BigInteger(), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('completed_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=False),
        sa.Column('delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_responses')),
        sa.UniqueConstraint('originator', 'counter', name='uq_gateway_responses_originator_counter'),
    )
    op.create_index('ix_gateway_responses_log_seq', 'gateway_responses', ['log_seq'])
    op.create_index('ix_gateway_responses_undelivered', 'gateway_responses', ['delivered_at', 'originator'])


def downgrade() -> None:
    op.drop_index('ix_gateway_responses_undelivered', table_name='gateway_responses')
    op.drop_index('ix_gateway_responses_log_seq', table_name='gateway_responses')
    op.drop_table('gateway_responses')
    op.drop_table('gateway_endpoints')
