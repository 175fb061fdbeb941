"""gateway message journal

``gateway_messages``: one row per DUIS request the gateway answered with a DUIS Response (models/gateway.py),
with its state and Target Response Time class CHECKed to their enumerations as they are today.

Revision ID: b41c7e2d9a10
Revises: e9ccc615ac55
Create Date: 2026-12-03 19:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = 'b41c7e2d9a10'
down_revision = 'e9ccc615ac55'
branch_labels = None
depends_on = None

MESSAGE_STATE = ('refused', 'answered', 'acknowledged', 'completed', 'delivered', 'undelivered', 'quarantined',
                 'released', 'deleted')
TRT_CLASS = ('transform', 'on_demand', 'future_dated', 'non_device')


def upgrade() -> None:
    op.create_table(
        'gateway_messages',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('request_id', sa.String(length=80), nullable=False),
        sa.Column('originator', sa.String(length=23), nullable=False),
        sa.Column('target', sa.String(length=23), nullable=False),
        sa.Column('counter', sa.BigInteger(), nullable=False),
        sa.Column('srv', sa.String(length=12), nullable=False),
        sa.Column('command_variant', sa.SmallInteger(), nullable=False),
        sa.Column('service', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=8), nullable=False),
        sa.Column('explanation', sa.Text(), nullable=False),
        sa.Column('trt_class', sa.String(length=16), nullable=True),
        sa.Column('received_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('due_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('completed_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('log_seq', sa.BigInteger(), nullable=True),
        sa.CheckConstraint(enum_condition('state', MESSAGE_STATE), name=op.f('ck_gateway_messages_state')),
        sa.CheckConstraint(enum_condition('trt_class', TRT_CLASS), name=op.f('ck_gateway_messages_trt_class')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_messages')),
    )
    op.create_index('ix_gateway_messages_request_id', 'gateway_messages', ['request_id'])
    op.create_index('ix_gateway_messages_originator_received', 'gateway_messages', ['originator', 'received_at'])
    op.create_index('ix_gateway_messages_target_received', 'gateway_messages', ['target', 'received_at'])
    op.create_index('ix_gateway_messages_log_seq', 'gateway_messages', ['log_seq'])


def downgrade() -> None:
    op.drop_index('ix_gateway_messages_log_seq', table_name='gateway_messages')
    op.drop_index('ix_gateway_messages_target_received', table_name='gateway_messages')
    op.drop_index('ix_gateway_messages_originator_received', table_name='gateway_messages')
    op.drop_index('ix_gateway_messages_request_id', table_name='gateway_messages')
    op.drop_table('gateway_messages')
