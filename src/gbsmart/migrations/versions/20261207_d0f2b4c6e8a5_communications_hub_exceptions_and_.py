"""communications hub exceptions and returns

Issue 13 point 4: ``ch_exceptions`` (installation exceptions by category and CSP region) and ``ch_returns`` (hubs
returned, with what their triage found).

Revision ID: d0f2b4c6e8a5
Revises: c8e0a2b4d6f3
Create Date: 2026-12-07 02:01:40.888133
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'd0f2b4c6e8a5'
down_revision = 'c8e0a2b4d6f3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ch_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hub_id', sa.String(length=23), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('csp_region', sa.String(length=20), nullable=False),
    sa.Column('raised_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('raised_by', sa.String(length=200), nullable=False),
    sa.Column('closed_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ch_exceptions'))
    )
    with op.batch_alter_table('ch_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_ch_exceptions_raised', ['raised_at'], unique=False)

    op.create_table('ch_returns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('hub_id', sa.String(length=23), nullable=False),
    sa.Column('csp_region', sa.String(length=20), nullable=False),
    sa.Column('returned_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('triage', sa.String(length=20), nullable=False),
    sa.Column('triaged_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('triage_note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.CheckConstraint("triage IN ('pending', 'fault_found', 'no_fault_found')", name=op.f('ck_ch_returns_triage')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ch_returns'))
    )
    with op.batch_alter_table('ch_returns', schema=None) as batch_op:
        batch_op.create_index('ix_ch_returns_returned', ['returned_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ch_returns', schema=None) as batch_op:
        batch_op.drop_index('ix_ch_returns_returned')

    op.drop_table('ch_returns')
    with op.batch_alter_table('ch_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_ch_exceptions_raised')

    op.drop_table('ch_exceptions')
