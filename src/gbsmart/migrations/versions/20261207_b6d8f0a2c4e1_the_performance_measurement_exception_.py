"""the performance measurement exception list

Issue 13 point 5: ``performance_exceptions``, the events left out of a Code Performance Measure, each with a reason.

Revision ID: b6d8f0a2c4e1
Revises: a3e5c7d9b1f2
Create Date: 2026-12-07 01:54:14.077926
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import gbsmart.core.db

revision = 'b6d8f0a2c4e1'
down_revision = 'a3e5c7d9b1f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('performance_exceptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('measure', sa.String(length=8), nullable=False),
    sa.Column('ref', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', gbsmart.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_exceptions'))
    )
    with op.batch_alter_table('performance_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_performance_exceptions_measure_ref', ['measure', 'ref'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('performance_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_performance_exceptions_measure_ref')

    op.drop_table('performance_exceptions')
