"""gateway pre-commands

``gateway_pre_commands``: the Pre-Commands the DCC issued on Transform (models/pre_commands.py), one per
originator and counter, its state CHECKed to its enumeration as it is today.

Revision ID: 5c1e8d93a7b2
Revises: c5d8e1f3a7b2
Create Date: 2026-12-03 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db
from gbsmart.core.db import enum_condition

revision = '5c1e8d93a7b2'
down_revision = 'c5d8e1f3a7b2'
branch_labels = None
depends_on = None

PRE_COMMAND_STATE = ('issued', 'accepted')


def upgrade() -> None:
    op.create_table(
        'gateway_pre_commands',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('request_id', sa.String(length=80), nullable=False),
        sa.Column('originator', sa.String(length=23), nullable=False),
        sa.Column('target', sa.String(length=23), nullable=False),
        sa.Column('counter', sa.BigInteger(), nullable=False),
        sa.Column('service_reference', sa.String(length=8), nullable=False),
        sa.Column('srv', sa.String(length=12), nullable=False),
        sa.Column('gbcs_version', sa.String(length=8), nullable=False),
        sa.Column('payload', sa.LargeBinary(), nullable=False),
        sa.Column('xml_public_key', sa.LargeBinary(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('issued_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('command_certificate_serial', sa.String(length=50), nullable=True),
        sa.CheckConstraint(enum_condition('state', PRE_COMMAND_STATE), name=op.f('ck_gateway_pre_commands_state')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_gateway_pre_commands')),
        sa.UniqueConstraint('originator', 'counter', name='uq_gateway_pre_commands_originator_counter'),
    )


def downgrade() -> None:
    op.drop_table('gateway_pre_commands')
